// The panel's pure logic, kept free of `vscode` so it is unit-tested directly: how the view state
// changes when the user picks another image, model, class or layer; what the webview learns about a
// model; and the pictures it shows (downscaled for display, coloured with the engine's colormaps).
import { renderHeatmap, renderOverlay } from '../../render/overlay';
import { FORMAT_NAMES } from '../../shared/modelFormats';
import { modelNotices } from '../../shared/modelNotes';
import type { LayerChoice, OutputChoice, PanelModelInfo, PanelViewState, RenderedViews } from '../../shared/panel';
import { binarySide, describeKind, explainedOutputText, formatValue, outputShapeText } from '../../shared/outputs';
import { formatShape } from '../../shared/shapes';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, type CamResult, type ColormapName, type Map2D, type ModelSummary, type RgbaImage } from '../../shared/types';

/** Longest side of the pictures posted to the webview; exports use the original resolution. */
export const DISPLAY_MAX_SIDE = 768;

export function toModelInfo(summary: ModelSummary, fileName: string): PanelModelInfo {
  const layers: LayerChoice[] = summary.layers
    .filter((layer) => layer.spatial)
    .map((layer) => ({
      name: layer.name,
      className: layer.className,
      shape: formatShape(layer.outputShape, summary.shapeOrder),
      isDefault: layer.name === summary.defaultCamLayer,
    }));
  const outputs: OutputChoice[] = summary.outputs.map((output) => ({
    index: output.index,
    name: output.name,
    label: `${output.index}: ${output.name}`,
    description: `${describeKind(output)} · ${outputShapeText(output.shape)}`,
    kind: output.kind,
    labels: output.labels,
    defaultLayer: output.defaultCamLayer,
  }));
  return {
    path: summary.path,
    fileName,
    name: summary.name,
    labels: summary.labels,
    outputs,
    defaultOutput: summary.defaultOutput,
    layers,
    defaultLayer: summary.defaultCamLayer,
    inputShape: summary.inputShape,
    detail: FORMAT_NAMES[summary.format] + (summary.formatDetail ? `: ${summary.formatDetail}` : ''),
    ...(modelNotices(summary).length > 0 ? { notice: modelNotices(summary).join('\n') } : {}),
  };
}

/** Another image: the class goes back to "top-1" (a class chosen for one image rarely fits the next). */
export function withImage(state: PanelViewState, imagePath: string): PanelViewState {
  if (state.imagePath === imagePath) {
    return state;
  }
  const { classIndex: _dropped, ...rest } = state;
  return { ...rest, imagePath };
}

/**
 * Another model: its classes and outputs differ, so they go back to the defaults (the output the
 * user chose for that model is recalled once it loads). The layer is kept: another export of the
 * same network has the same layer names, and fitToModel drops it once the model is loaded if this
 * one has no such 4-D layer.
 */
export function withModel(state: PanelViewState, modelPath: string): PanelViewState {
  if (state.modelPath === modelPath) {
    return state;
  }
  const { classIndex: _class, output: _output, ...rest } = state;
  return { ...rest, modelPath };
}

/** Another output: its classes differ and the layer may not feed it, so both go back to the output's defaults. */
export function withOutput(state: PanelViewState, output: number | undefined): PanelViewState {
  if (state.output === output) {
    return state;
  }
  const { classIndex: _class, layer: _layer, output: _output, ...rest } = state;
  return output === undefined ? rest : { ...rest, output };
}

/** The output the state explains: its own, else the model's default. */
export function chosenOutput(state: PanelViewState, model: PanelModelInfo): OutputChoice {
  return model.outputs[state.output ?? model.defaultOutput] ?? model.outputs[model.defaultOutput];
}

/** The output chosen per model, kept in workspaceState: by name (an output keeps its name when the model is re-exported), and index. */
export type OutputMemory = Record<string, { index: number; name: string }>;

export function rememberOutput(memory: OutputMemory | undefined, modelPath: string, output: Pick<OutputChoice, 'index' | 'name'>): OutputMemory {
  return { ...(memory ?? {}), [modelPath]: { index: output.index, name: output.name } };
}

/**
 * The output remembered for a model, if it still has it: the same name first (outputs may have
 * been reordered), else the same index; never one that holds no scores.
 */
export function recallOutput(memory: unknown, modelPath: string, model: PanelModelInfo): number | undefined {
  if (typeof memory !== 'object' || memory === null) {
    return undefined;
  }
  const entry = (memory as Record<string, unknown>)[modelPath] as { index?: unknown; name?: unknown } | undefined;
  if (!entry || typeof entry !== 'object') {
    return undefined;
  }
  const explainable = model.outputs.filter((o) => o.kind !== null);
  const byName = explainable.find((o) => o.name === entry.name);
  const byIndex = explainable.find((o) => o.index === entry.index);
  return (byName ?? byIndex)?.index;
}

/**
 * Drops a class or layer the model does not have (e.g. a state restored after the model changed
 * on disk), so the engine runs with its defaults instead of failing on a stale name.
 */
export function fitToModel(state: PanelViewState, model: PanelModelInfo): PanelViewState {
  const next = { ...state };
  if (next.output !== undefined && !model.outputs.some((o) => o.index === next.output && o.kind !== null)) {
    delete next.output;
    delete next.classIndex;
  }
  if (next.layer !== undefined && !model.layers.some((layer) => layer.name === next.layer)) {
    delete next.layer;
  }
  if (next.classIndex !== undefined && next.classIndex >= chosenOutput(next, model).labels.length) {
    delete next.classIndex;
  }
  return next;
}

/**
 * The status line's account of a result: which class (a binary output's side and ±z, a
 * regression's value), where, and with several outputs which one.
 */
export function explainedLine(result: Pick<CamResult, 'method' | 'className' | 'classIndex' | 'score' | 'layer' | 'output'>): string {
  const where = INPUT_LEVEL_METHODS.includes(result.method) ? 'the input' : result.layer;
  const method = METHOD_LABELS[result.method] ?? result.method;
  let what: string;
  switch (result.output.kind) {
    case 'binary':
      what = `“${result.className}” (class ${result.classIndex}: ${binarySide(result.classIndex)}, ${result.classIndex === 1 ? '+z' : '−z'} = ${formatValue(result.score)})`;
      break;
    case 'regression':
      what = `the value ${formatValue(result.score)}${result.className === 'value' ? '' : ` (“${result.className}”)`}`;
      break;
    default:
      what = `“${result.className}” (class ${result.classIndex}, score ${result.score.toFixed(3)})`;
  }
  const output = explainedOutputText(result.output);
  return `${method} of ${what} at ${where}${output ? ` · ${output} of ${result.output.of}` : ''}`;
}

/** Box-filter downscale so the longest side is at most `maxSide`; smaller images are returned as is. */
export function downscaleForDisplay(image: RgbaImage, maxSide = DISPLAY_MAX_SIDE): RgbaImage {
  const scale = maxSide / Math.max(image.width, image.height);
  if (scale >= 1) {
    return image;
  }
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const out = new Uint8Array(width * height * 4);
  const sx = image.width / width;
  const sy = image.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * sy));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * sx));
      const sum = [0, 0, 0, 0];
      for (let yy = y0; yy < y1; yy++) {
        let i = (yy * image.width + x0) * 4;
        for (let xx = x0; xx < x1; xx++, i += 4) {
          sum[0] += image.data[i];
          sum[1] += image.data[i + 1];
          sum[2] += image.data[i + 2];
          sum[3] += image.data[i + 3];
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * width + x) * 4;
      for (let c = 0; c < 4; c++) {
        out[o + c] = Math.round(sum[c] / n);
      }
    }
  }
  return { width, height, data: out };
}

/** Heatmap and overlay at the displayed image's size. Cheap (no tensors): runs on every slider move. */
export function renderViews(display: RgbaImage, cam: Map2D, colormap: ColormapName, opacity: number): RenderedViews {
  return {
    heatmap: renderHeatmap(cam, display.width, display.height, colormap),
    overlay: renderOverlay(display, cam, colormap, opacity),
    colormap,
    opacity,
  };
}

/** "model 120 ms · image 4 ms · total 260 ms" for the status line and the output channel. */
export function describeTimings(timings: Record<string, number>): string {
  return Object.entries(timings)
    .filter(([, ms]) => Number.isFinite(ms))
    .map(([stage, ms]) => `${stage.replace(/Ms$/, '')} ${Math.round(ms)} ms`)
    .join(' · ');
}
