// "CNN Lens: Visualize Layer…": a quick pick of the model's layers (name, type, output shape,
// parameters; nested models' layers indented), then Activations or Filters (Filters only where the
// layer has drawable weights), shown in the panel beside the model file. Other features call it
// with answers already known, e.g. a CodeLens: executeCommand('cnnLens.visualizeLayer',
// { modelPath, layer, view }); only the missing questions are asked.
import * as path from 'path';
import * as vscode from 'vscode';
import { LensPanel, type PanelServices } from '../panel/lensPanel';
import { INSPECT_VIEWS, type InspectView } from '../../shared/inspectPanel';
import { parsePytorchModelPath } from '../../shared/modelFormats';
import { formatShape, type ShapeOrder } from '../../shared/shapes';
import type { LayerInfo, LayerViews } from '../../shared/types';
import { activeImage, pickImage } from './images';
import { reportError } from '../reportError';
import { selectModelCommand } from './selectModel';
import { LensError } from '../../shared/errors';

export interface VisualizeLayerArgs {
  modelPath?: string;
  layer?: string;
  view?: InspectView;
  /** Offer only these layers (a CodeLens on a line that made several). */
  layers?: string[];
}

/**
 * Accepts the documented argument object, or the Uri of a PyTorch model source (the editor title of
 * model.py), and nothing else.
 */
export function parseVisualizeArgs(value: unknown): VisualizeLayerArgs {
  if (value instanceof vscode.Uri) {
    return value.scheme === 'file' && parsePytorchModelPath(value.fsPath) ? { modelPath: value.fsPath } : {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {};
  }
  const v = value as Record<string, unknown>;
  const args: VisualizeLayerArgs = {};
  if (typeof v.modelPath === 'string' && v.modelPath) {
    args.modelPath = v.modelPath;
  }
  if (Array.isArray(v.layers) && v.layers.length > 0 && v.layers.every((l) => typeof l === 'string')) {
    args.layers = v.layers as string[];
  }
  if (typeof v.layer === 'string' && v.layer) {
    args.layer = v.layer;
  }
  if (typeof v.view === 'string') {
    if (!(INSPECT_VIEWS as readonly string[]).includes(v.view)) {
      throw new LensError(vscode.l10n.t('"{0}" is not a view of Visualize Layer; use {1}.', v.view, INSPECT_VIEWS.join(', ')), 'bad-request');
    }
    args.view = v.view as InspectView;
  }
  return args;
}

export async function visualizeLayer(services: PanelServices, rawArgs?: unknown): Promise<void> {
  try {
    const args = parseVisualizeArgs(rawArgs);
    const panel = services.registry.active;
    const modelUri = args.modelPath
      ? vscode.Uri.file(path.resolve(workspaceRoot(), args.modelPath))
      : panel
        ? vscode.Uri.file(panel.viewState.modelPath)
        : await services.discovery.resolve(activeImage());
    if (!modelUri) {
      return;
    }
    let view = args.view;
    let layer = args.layer;
    if (view !== 'summary') {
      const { layers, views, defaultCamLayer, shapeOrder } = await describeModel(services, modelUri);
      if (layer === undefined) {
        const offered = args.layers ? layers.filter((l) => args.layers?.includes(l.name)) : layers;
        layer = await pickLayer(offered, views, modelUri, defaultCamLayer, shapeOrder);
        if (layer === undefined) {
          return;
        }
      }
      const offers = views.find((v) => v.name === layer);
      if (!offers) {
        throw new LensError(vscode.l10n.t('Layer "{0}" is not in {1}.', layer, vscode.workspace.asRelativePath(modelUri)), 'bad-request');
      }
      view ??= await pickView(layers.find((l) => l.name === layer) as LayerInfo, offers, shapeOrder);
      if (view === undefined) {
        return;
      }
      if (view === 'filters' && !offers.filters) {
        throw new LensError(
          vscode.l10n.t(
            'Layer "{0}" has no filters to draw; filters exist for Conv2D, DepthwiseConv2D, SeparableConv2D, ONNX Conv and TF.js graph Conv2D/DepthwiseConv2dNative nodes, and a first Dense layer over the image.',
            layer,
          ),
          'bad-request',
        );
      }
      if (view === 'activations' && !offers.activations) {
        throw new LensError(vscode.l10n.t('Layer "{0}" has no activations to draw (its output is neither 4-D nor 2-D).', layer), 'bad-request');
      }
    }
    // Activations need an image: the panel's, else the active image editor's, else one the user picks.
    // The panel shows an image on its Grad-CAM tab in any case, so Filters and Model ask the same way.
    const imageUri = panel
      ? vscode.Uri.file(panel.viewState.imagePath)
      : (activeImage() ??
        (await pickImage({
          title: vscode.l10n.t('CNN Lens: Visualize Layer'),
          placeHolder: view === 'activations' ? vscode.l10n.t('The image whose activations at {0} to show', layer ?? '') : vscode.l10n.t('An image for the panel (its activations and Grad-CAM)'),
        })));
    if (!imageUri) {
      return;
    }
    services.output.appendLine(`[command] Visualize Layer: ${view}${layer ? ` of ${layer}` : ''} in ${modelUri.fsPath} (image ${imageUri.fsPath})`);
    // The panel already shows these files: switch its tab only (showing files again reruns Grad-CAM).
    const same = panel && panel.viewState.modelPath === modelUri.fsPath && panel.viewState.imagePath === imageUri.fsPath;
    const lens = same ? panel : await LensPanel.show(services, imageUri, modelUri);
    await lens.showInspect(view as InspectView, layer);
  } catch (error) {
    await reportError('Visualize Layer', error, { output: services.output, selectModel: () => selectModelCommand(services) });
  }
}

function workspaceRoot(): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
}

async function describeModel(
  services: PanelServices,
  modelUri: vscode.Uri,
): Promise<{ layers: LayerInfo[]; views: LayerViews[]; defaultCamLayer: string; shapeOrder: ShapeOrder }> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('CNN Lens: reading {0}', `${path.basename(path.dirname(modelUri.fsPath))}/${path.basename(modelUri.fsPath)}`) },
    async () => {
      const summary = await services.engine.loadModel(modelUri.fsPath);
      const views = await services.engine.layerViews(modelUri.fsPath);
      return { layers: summary.layers, views, defaultCamLayer: summary.defaultCamLayer, shapeOrder: summary.shapeOrder };
    },
  );
}

/** Name, type, output shape, params; nested layers indented under their model. */
async function pickLayer(layers: LayerInfo[], views: LayerViews[], modelUri: vscode.Uri, defaultCamLayer: string, order: ShapeOrder): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { layer: string };
  const items: Item[] = [];
  for (const info of layers) {
    const offers = views.find((v) => v.name === info.name);
    if (!offers || (!offers.activations && !offers.filters)) {
      continue; // the input, a Flatten of odd rank...: nothing to draw
    }
    const what = [offers.activations ? vscode.l10n.t('activations') : '', offers.filters ? vscode.l10n.t('filters') : '', info.name === defaultCamLayer ? vscode.l10n.t('Grad-CAM default layer') : '']
      .filter(Boolean)
      .join(' · ');
    items.push({
      // Em spaces survive the quick pick's whitespace collapsing; the name stays searchable.
      label: `${'\u2003'.repeat(info.depth)}${info.depth > 0 ? '↳ ' : ''}${info.name}`,
      description: `${info.className} · ${formatShape(info.outputShape, order)} · ${vscode.l10n.t('{0} params', info.params.toLocaleString('en-US'))}`,
      detail: `${'\u2003'.repeat(info.depth)}${what}`,
      layer: info.name,
    });
  }
  const chosen = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('CNN Lens: Visualize Layer of {0}', vscode.workspace.asRelativePath(modelUri)),
    placeHolder: vscode.l10n.t('Select a layer'),
    matchOnDescription: true,
  });
  return chosen?.layer;
}

async function pickView(info: LayerInfo, offers: LayerViews, order: ShapeOrder): Promise<InspectView | undefined> {
  const choices: Array<vscode.QuickPickItem & { view: InspectView }> = [];
  if (offers.activations) {
    choices.push({
      label: `$(symbol-array) ${vscode.l10n.t('Activations')}`,
      description:
        offers.activations === 'maps'
          ? vscode.l10n.t('every channel of {0} for an image', formatShape(info.outputShape, order))
          : vscode.l10n.t('the {0} unit values for an image', formatShape(info.outputShape, order)),
      view: 'activations',
    });
  }
  if (offers.filters) {
    choices.push({ label: `$(symbol-color) ${vscode.l10n.t('Filters')}`, description: vscode.l10n.t('the learned weights of {0}', info.name), view: 'filters' });
  }
  if (choices.length === 1) {
    return choices[0].view;
  }
  const chosen = await vscode.window.showQuickPick(choices, { title: vscode.l10n.t('CNN Lens: Visualize {0}', info.name), placeHolder: vscode.l10n.t('What to show') });
  return chosen?.view;
}
