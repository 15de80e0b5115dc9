// What the CodeLens above a layer offers and what the hover on its name says, from where the layer
// is written (model.json entry or tf.layers call) and, once the engine has loaded the model, its
// ModelSummary. Pure data in, pure data out: src/host/lens/register.ts turns it into VS Code objects.
import { DEFAULT_LAYER_MARK } from '../../shared/layerNames';
import { formatShape, shapeNotation } from '../../shared/shapes';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, type LayerInfo, type MethodName, type ModelSummary } from '../../shared/types';

/** The argument of `cnnLens.visualizeLayer` (implemented with the layer views). */
export interface VisualizeLayerArgs {
  modelPath: string;
  layer: string;
  view: 'activations' | 'filters';
}

/** The argument of `cnnLens.showGradCamAtLayer` (Grad-CAM unless `method` says) and `cnnLens.explainAtLayer` (asks for the method). */
export interface GradCamAtLayerArgs {
  modelPath: string;
  layer: string;
  method?: MethodName;
}

export const VISUALIZE_LAYER_COMMAND = 'cnnLens.visualizeLayer';
export const GRADCAM_AT_LAYER_COMMAND = 'cnnLens.showGradCamAtLayer';
export const EXPLAIN_AT_LAYER_COMMAND = 'cnnLens.explainAtLayer';

export interface LensSpec {
  /** Offset in the document of the line the lens sits above. */
  offset: number;
  title: string;
  tooltip: string;
  command?: string;
  arguments?: unknown[];
}

/** A layer as written in a file: its name and where it is. */
export interface WrittenLayer {
  name: string;
  className: string;
  offset: number;
}

/** Layers whose weights are images of something: convolution kernels, drawn as filter grids. */
const FILTER_CLASSES = new Set(['conv2d', 'depthwiseconv2d', 'separableconv2d', 'conv2dtranspose']);

/** By Keras class name, or by tf.layers factory name before a code model has loaded (`conv2d`). */
export function hasDrawableWeights(className: string, params?: number): boolean {
  return FILTER_CLASSES.has(className.toLowerCase()) && (params === undefined || params > 0);
}

/**
 * Lenses per layer: first its name and output shape ("conv2 · 16×16×32", a label), so the line
 * says which layer the actions open; "Activations" for every layer with an output of its own (not the input);
 * "Filters" where the weights can be drawn; "Grad-CAM here" and "Explain here…" (which asks for the
 * method) where the output is 4-D. Before the
 * summary is known (or when the model does not load) only what the file itself tells is offered,
 * and Grad-CAM, which needs the output shape, waits. Layers the loaded model does not have (a name
 * typed but not saved yet) get no lens.
 */
export function layerLenses(modelPath: string, layers: readonly WrittenLayer[], summary: ModelSummary | undefined): LensSpec[] {
  const lenses: LensSpec[] = [];
  const byName = new Map(summary?.layers.map((layer) => [layer.name, layer]));
  for (const written of layers) {
    const info = byName.get(written.name);
    if (summary && !info) {
      continue;
    }
    const className = info?.className ?? written.className;
    if (className === 'InputLayer') {
      continue;
    }
    const visualize = (view: VisualizeLayerArgs['view']): unknown[] => [{ modelPath, layer: written.name, view } satisfies VisualizeLayerArgs];
    lenses.push(
      info && summary
        ? {
            offset: written.offset,
            title: `${written.name} · ${formatShape(info.outputShape, summary.shapeOrder)}`,
            tooltip: `${written.name}: ${info.className}, output ${formatShape(info.outputShape, summary.shapeOrder)} (${shapeNotation(summary.shapeOrder)}), ${info.params.toLocaleString('en-US')} parameters`,
          }
        : { offset: written.offset, title: written.name, tooltip: `${written.name}: ${className} (its shape once the model loads)` },
    );
    lenses.push({
      offset: written.offset,
      title: 'Activations',
      tooltip: `Show every channel of ${written.name}'s output for an image`,
      command: VISUALIZE_LAYER_COMMAND,
      arguments: visualize('activations'),
    });
    if (hasDrawableWeights(className, info?.params)) {
      lenses.push({
        offset: written.offset,
        title: 'Filters',
        tooltip: `Show ${written.name}'s kernels as a filter grid`,
        command: VISUALIZE_LAYER_COMMAND,
        arguments: visualize('filters'),
      });
    }
    if (info?.spatial) {
      const atLayer: GradCamAtLayerArgs = { modelPath, layer: written.name };
      lenses.push(
        {
          offset: written.offset,
          title: `Grad-CAM here${info.name === summary?.defaultCamLayer ? DEFAULT_LAYER_MARK : ''}`,
          tooltip: `Explain an image with Grad-CAM at ${written.name}`,
          command: GRADCAM_AT_LAYER_COMMAND,
          arguments: [atLayer],
        },
        {
          offset: written.offset,
          title: 'Explain here…',
          tooltip: `Choose a method (Score-CAM, LayerCAM, …) and explain an image with it at ${written.name}`,
          command: EXPLAIN_AT_LAYER_COMMAND,
          arguments: [atLayer],
        },
      );
    }
  }
  return lenses;
}

/** What each method does, in a few words, for the "Explain here…" quick pick. */
const METHOD_GIST: Readonly<Record<MethodName, string>> = {
  gradcam: 'channel weights from the mean gradient',
  'gradcam++': 'weights from higher-order gradients; several objects of a class',
  xgradcam: 'gradients scaled by the activations',
  layercam: 'positive gradients × activations at each position',
  hirescam: 'gradients × activations at each position, no averaging',
  scorecam: 'no gradients: a forward pass per channel (slow on wide layers)',
  eigencam: 'principal component of the activations; the same for every class',
  saliency: 'the gradient of the score at each input pixel',
  smoothgrad: 'input gradients averaged over noisy copies of the image',
  'integrated-gradients': 'gradients along the path from a black image',
  'guided-backprop': 'input gradients through positive ReLU paths only',
  'guided-gradcam': 'Guided Backprop × Grad-CAM',
  occlusion: 'how much the score drops when a patch is covered',
};

/** The "Explain here…" quick pick: every method by its name, what it does, and whether it uses the layer. */
export function methodChoices(layer: string): Array<{ method: MethodName; label: string; description: string }> {
  return METHOD_NAMES.map((method) => ({
    method,
    label: METHOD_LABELS[method],
    description: INPUT_LEVEL_METHODS.includes(method) ? `${METHOD_GIST[method]} · at the input, not ${layer}` : METHOD_GIST[method],
  }));
}

/** A lens above the first layer saying why the model does not load (no command: it is a label). */
export function loadErrorLens(offset: number, message: string): LensSpec {
  const firstLine = message.split('\n')[0];
  const short = firstLine.length > 140 ? `${firstLine.slice(0, 137)}…` : firstLine;
  return { offset, title: `CNN Lens: the model does not load: ${short}`, tooltip: message };
}

/** Markdown-safe text: layer, model and class names come from the model file, which anyone may have written. */
export function escapeMarkdown(text: string): string {
  // Dots and dashes matter only at the start of a line, where these names never are.
  return text.replace(/[\\`*_{}[\]()#+!|<>]/g, '\\$&');
}

/** Text inside a Markdown code span: it cannot contain a backtick, so none can end it early. */
export function codeSpan(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** The hover on a layer's name, as Markdown. */
export function layerHoverMarkdown(info: LayerInfo, summary: ModelSummary): string {
  const lines = [`**${escapeMarkdown(info.name)}** · ${codeSpan(info.className)}`, ''];
  lines.push(`Output shape: ${formatShape(info.outputShape, summary.shapeOrder)} (${shapeNotation(summary.shapeOrder)})  `);
  lines.push(`Parameters: ${info.params.toLocaleString('en-US')}${info.params > 0 ? (info.trainable ? ' (trainable)' : ' (frozen)') : ''}  `);
  if (info.name === summary.defaultCamLayer) {
    lines.push('The default layer (Grad-CAM explains it unless another is chosen)  ');
  }
  lines.push('', `_${escapeMarkdown(summary.name)}: ${summary.totalParams.toLocaleString('en-US')} parameters in all_`);
  return lines.join('\n');
}
