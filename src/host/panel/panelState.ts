// The panel's pure logic, kept free of `vscode` so it is unit-tested directly: how the view state
// changes when the user picks another image, model, class or layer; what the webview learns about a
// model. (Its pictures come from the worker at display size and are coloured in the page.)
import { t } from '../../shared/l10n';
import { FORMAT_NAMES } from '../../shared/modelFormats';
import { modelNotices, pytorchInputNote } from '../../shared/modelNotes';
import type { LayerChoice, OutputChoice, PanelModelInfo, PanelResult, PanelViewState } from '../../shared/panel';
import { explanationStatus } from '../../shared/statusLine';
import type { ExplainImageResult } from '../../shared/worker';
import { binarySide, describeKind, explainedOutputText, formatValue, outputShapeText } from '../../shared/outputs';
import { formatShape } from '../../shared/shapes';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, type CamResult, type ModelSummary } from '../../shared/types';

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
  const method = METHOD_LABELS[result.method] ?? result.method;
  let what: string;
  switch (result.output.kind) {
    case 'binary':
      what = t('“{0}” (class {1}: {2}, {3} = {4})', result.className, result.classIndex, binarySide(result.classIndex), result.classIndex === 1 ? '+z' : '−z', formatValue(result.score));
      break;
    case 'regression':
      what = result.className === 'value' ? t('the value {0}', formatValue(result.score)) : t('the value {0} (“{1}”)', formatValue(result.score), result.className);
      break;
    default:
      what = t('“{0}” (class {1}, score {2})', result.className, result.classIndex, result.score.toFixed(3));
  }
  const line = INPUT_LEVEL_METHODS.includes(result.method) ? t('{0} of {1} at the input', method, what) : t('{0} of {1} at {2}', method, what, result.layer);
  const output = explainedOutputText(result.output);
  return `${line}${output ? ` · ${t('{0} of {1}', output, result.output.of)}` : ''}`;
}

/** "model 120 ms · image 4 ms · total 260 ms" for the status line and the output channel. */
export function describeTimings(timings: Record<string, number>): string {
  return Object.entries(timings)
    .filter(([, ms]) => Number.isFinite(ms))
    .map(([stage, ms]) => `${stage.replace(/Ms$/, '')} ${Math.round(ms)} ms`)
    .join(' · ');
}

/**
 * What the page shows of one explanation: the engine's answer for the panel's state, with the
 * status line and its facts (the backend detail is the engine's, e.g. "wasm (SIMD, 1 thread)").
 */
export function panelResultOf(answer: ExplainImageResult, summary: ModelSummary, state: Pick<PanelViewState, 'imagePath' | 'modelPath'>, backendDetail: string): PanelResult {
  const { result, map, display } = answer;
  const facts = {
    method: result.method,
    layer: result.layer,
    classIndex: result.classIndex,
    className: result.className,
    output: result.output,
    explained: explainedLine(result),
    backend: result.backend,
    backendDetail,
    timings: result.timings,
    originalWidth: display.originalWidth,
    originalHeight: display.originalHeight,
    inputsElsewhere: result.details?.inputsElsewhere,
    input: pytorchInputNote(summary, result.cam.width, result.cam.height),
  };
  return {
    ...facts,
    imagePath: state.imagePath,
    modelPath: state.modelPath,
    score: result.score,
    predictions: result.predictions,
    imageKey: display.key,
    map,
    status: explanationStatus(facts),
  };
}

/** The output channel's line for an explanation. */
export function explanationLogLine(result: CamResult, summary: ModelSummary, state: Pick<PanelViewState, 'imagePath' | 'modelPath'>, imageName: string): string {
  const explainedOutput = result.output.of > 1 ? ` · output ${result.output.index} "${result.output.name}" (${result.output.kind})` : '';
  return `[gradcam] ${imageName} · model ${summary.name} (${state.modelPath})${explainedOutput} · layer ${result.layer} · class ${result.classIndex} "${result.className}" · backend ${result.backend} · ${describeTimings(result.timings)}`;
}
