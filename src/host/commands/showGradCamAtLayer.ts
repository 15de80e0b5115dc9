// "Grad-CAM here" (CodeLens above a layer of model.json, a code model or a PyTorch model.py):
// Grad-CAM at that layer, in the panel beside the model file, on its Grad-CAM tab; "Explain here…"
// first asks for the method and runs that instead. The image: the one the panel already shows, else the
// image open in an editor (the active tab, then any visible one), else the user picks one.
import * as vscode from 'vscode';
import { methodChoices, type GradCamAtLayerArgs } from '../lens/layerLenses';
import { isMethod } from '../../shared/panel';
import { LensPanel, type PanelServices } from '../panel/lensPanel';
import { activeImage, isSupportedImage, pickImage } from './images';
import { reportError } from '../reportError';
import { LensError } from '../../shared/errors';

export function parseGradCamAtLayerArgs(value: unknown): GradCamAtLayerArgs | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (typeof v.modelPath !== 'string' || !v.modelPath || typeof v.layer !== 'string' || !v.layer) {
    return undefined;
  }
  return isMethod(v.method) ? { modelPath: v.modelPath, layer: v.layer, method: v.method } : { modelPath: v.modelPath, layer: v.layer };
}

/** "Explain here…": asks for the method (every one, by name, with what it does), then explains at that layer with it. */
export async function explainAtLayer(services: PanelServices, value: unknown): Promise<void> {
  const args = parseGradCamAtLayerArgs(value);
  if (!args) {
    await reportError('Explain at a layer', new LensError(vscode.l10n.t('"CNN Lens: Explain at Layer" needs { modelPath, layer }; run it from the "Explain here…" CodeLens above a layer of a model file.'), 'bad-request'), { output: services.output });
    return;
  }
  const chosen = await vscode.window.showQuickPick(methodChoices(args.layer), {
    title: vscode.l10n.t('CNN Lens: Explain at {0}', args.layer),
    placeHolder: vscode.l10n.t('Select the method'),
    matchOnDescription: true,
  });
  if (chosen) {
    await showGradCamAtLayer(services, { ...args, method: chosen.method });
  }
}

export async function showGradCamAtLayer(services: PanelServices, value: unknown): Promise<void> {
  try {
    const args = parseGradCamAtLayerArgs(value);
    if (!args) {
      throw new LensError(vscode.l10n.t('"CNN Lens: Grad-CAM at Layer" needs { modelPath, layer, method? }; run it from the "Grad-CAM here" CodeLens above a layer of a model file.'), 'bad-request');
    }
    const imageUri = imageInPanel(services) ?? activeImage() ?? visibleImage() ?? (await pickImage());
    if (!imageUri) {
      return;
    }
    const modelUri = vscode.Uri.file(args.modelPath);
    const method = args.method ?? 'gradcam';
    services.output.appendLine(`[command] ${method} at ${args.layer}: ${imageUri.fsPath} with ${modelUri.fsPath}`);
    await services.discovery.remember(modelUri);
    const panel = await LensPanel.show(services, imageUri, modelUri, { layer: args.layer, method });
    panel.showGradCamTab();
  } catch (error) {
    await reportError('Grad-CAM at a layer', error, { output: services.output });
  }
}

function imageInPanel(services: PanelServices): vscode.Uri | undefined {
  const state = services.registry.active?.viewState;
  return state ? vscode.Uri.file(state.imagePath) : undefined;
}

/** An image preview that is the active tab of any editor group (the CodeLens click focuses the model file). */
function visibleImage(): vscode.Uri | undefined {
  for (const group of vscode.window.tabGroups.all) {
    const input = group.activeTab?.input;
    if (input instanceof vscode.TabInputCustom && input.viewType === 'imagePreview.previewEditor' && isSupportedImage(input.uri)) {
      return input.uri;
    }
  }
  return undefined;
}
