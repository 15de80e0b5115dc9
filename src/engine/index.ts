// The engine facade: what the worker and the CLI call. Everything here takes files, images and
// requests and returns protocol types; tensors stay inside the engine (pipeline.ts works on them).
import type { CamResult, CompareStep, ExplainRequest, MethodName, ModelFormat, ModelSummary, Preprocessing, RgbaImage } from '../shared/types';
import { currentTfjsBackend, nativeEnabled } from './backend';
import { disposeNative, nativeFor, NativePasses } from './onnxRuntime/nativePasses';
import { headOf } from './execution/graph';
import { LensError, NonFiniteScoresError, throwIfCancelled } from '../shared/errors';
import { ForwardCache } from './execution/forwardCache';
import { prepareBatchNormFolds } from './execution/graph';
import { readImageFile, toModelInput, type ImageReadOptions } from './images/image';
import { checkLayerOutputs } from './execution/layerOutputs';
import { checkModelInputSize, namingFile } from './limits';
import { defaultCamLayer, describeLayers, resolveCamLayer } from './execution/layers';
import { computeMetrics } from './explain/metrics';
import { getMethod } from './explain/methods';
import { loadModelFromDisk } from './models/formats';
import { resolveOptions } from './explain/methodOptions';
import { checkClassIndex, computeCam, isInputLevel, sharedLogits, type RunContext } from './explain/pipeline';
import { describeOutputs, formatOutputShape, layerFeeds, resolveOutput } from './models/outputs';
import type { OutputSetting } from './models/modelLoader';
import type * as tf from './tf';
import { estimateCompare, type CompareEstimate } from '../shared/compareEstimate';
import { measureForwardMs, measureImputationMsPerPixel } from './explain/passCost';

export { initBackend, currentBackend, currentBackendReport, defaultWasmDir } from './backend';
export { applyColormap } from '../render/colormap';
export { renderOverlay, renderHeatmap, resizeMap } from '../render/overlay';
export { encodePng, decodeImage, type ImageReadOptions } from './images/image';
export { DEFAULT_MAX_IMAGE_PIXELS, MAX_MODEL_INPUT_PIXELS, MAX_MODEL_INPUT_SIDE, MAX_TENSOR_ELEMENTS, MAX_WEIGHT_BYTES } from './limits';
export { describeLayers, defaultCamLayer } from './execution/layers';
export { baseOf, formatOutputShape, resolveOutput } from './models/outputs';
export { renderCompareGrid, type CaptionLine, type CompareTile } from '../render/compareGrid';
export type { RunContext } from './explain/pipeline';
export { ForwardCache };

export type { LoadedModel, ModelSource } from './models/loadedModel';
import type { LoadedModel, ModelSource } from './models/loadedModel';

const DEFAULT_TOP_K = 5;

/** Loads model.json (or its folder), .onnx, ... (see formats.ts) with labels and the cnn-lens.json sidecar. */
export async function loadModel(modelPath: string, options: { preprocessing?: Preprocessing } = {}): Promise<LoadedModel> {
  let files: Awaited<ReturnType<typeof loadModelFromDisk>>;
  try {
    files = await loadModelFromDisk(modelPath, options.preprocessing);
  } catch (error) {
    // The loaders' own errors name the file; a raw JavaScript or tfjs one gets it here.
    throw error instanceof LensError ? error : namingFile(error, modelPath, 'cannot be loaded');
  }
  try {
    return wrapModel(files.model, {
      path: files.modelPath,
      labels: files.labels,
      labelsSource: files.labelsSource,
      preprocessing: files.preprocessing,
      sidecar: files.sidecar,
      outputSettings: files.outputSettings,
      ...(files.outputNames ? { outputNames: files.outputNames } : {}),
      ...(files.outputShapes ? { outputShapes: files.outputShapes } : {}),
      format: files.format,
      ...(files.formatDetail ? { formatDetail: files.formatDetail } : {}),
    });
  } catch (error) {
    files.model.dispose();
    throw error instanceof LensError ? error : namingFile(error, files.modelPath, 'cannot be loaded');
  }
}

/**
 * Checks that a model can be explained and describes it. Used by loadModel, and by tests and
 * tools that build a model in memory. The LoadedModel owns the model: dispose() frees its weights.
 */
export function wrapModel(model: tf.LayersModel, source: ModelSource): LoadedModel {
  const where = source.path || model.name;
  // What the outputs are comes first: a detector is "not a classifier", whatever else it lacks.
  const described = describeOutputs(model, {
    where,
    labels: source.labels,
    labelsSource: source.labelsSource,
    outputSettings: source.outputSettings,
    outputNames: source.outputNames,
    outputShapes: source.outputShapes,
  });
  const camLayer = defaultCamLayer(model);
  const inputShape = model.inputs.length === 1 ? model.inputs[0].shape : [];
  const [, height, width, channels] = inputShape;
  if (inputShape.length !== 4 || typeof height !== 'number' || typeof width !== 'number' || typeof channels !== 'number') {
    throw new LensError(
      `${where}: the model input has shape [${inputShape.map((d) => d ?? 'null')}]; CNN Lens needs one image input of a fixed size [null, height, width, channels].`,
      'unsupported',
    );
  }
  // Checked here for every format (loaders check what their files declare earlier, before building).
  checkModelInputSize(height, width, where);
  checkLayerOutputs(model, where);
  // Labels that do not match an output's entries would name the wrong classes: outputs.ts falls
  // back to "class N" and says so (a label file for another model, or one with a header line, is easy to miss).
  const warnings = described.warnings;
  const shown = described.outputs[described.defaultOutput];
  const summary: ModelSummary = {
    path: source.path,
    format: source.format ?? 'layers-model',
    ...(source.formatDetail ? { formatDetail: source.formatDetail } : {}),
    // An ONNX file's image input is NCHW (its loader requires it; PyTorch wrote most of them): its
    // users read shapes as N×C×H×W, as PyTorch prints them, though the engine runs it channels-last.
    ...(source.format === 'onnx' ? { shapeOrder: 'NCHW' as const } : {}),
    name: model.name,
    inputShape: [height, width, channels],
    layers: describeLayers(model),
    labels: [...shown.labels],
    labelsSource: shown.labelsSource,
    preprocessing: source.preprocessing,
    sidecar: source.sidecar,
    // The default output's: with several outputs, the whole model's last 4-D layer may feed another head.
    defaultCamLayer: described.outputs.length > 1 ? shown.defaultCamLayer : camLayer,
    outputSoftmax: shown.activation === 'softmax' && shown.kind === 'classes',
    totalParams: model.countParams(),
    numClasses: shown.labels.length,
    outputs: described.outputs,
    defaultOutput: described.defaultOutput,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  prepareBatchNormFolds(model);
  const outputModel = (index: number): tf.LayersModel => {
    const view = described.views[index];
    if (!view) {
      const output = described.outputs[index];
      throw new LensError(
        output ? `Output ${index} "${output.name}" is ${formatOutputShape(output.shape)}, not scores, so it cannot be explained.` : `The model has no output ${index}.`,
        'bad-request',
      );
    }
    return view;
  };
  const dispose = (): void => {
    disposeNative([model, ...described.views.filter((view): view is tf.LayersModel => view != null)]);
    model.dispose();
  };
  return { summary, model, outputModel, dispose };
}

/**
 * Decodes an image file (PNG, JPEG, BMP, GIF, WebP, TIFF) to RGBA. Images over `maxPixels` (default
 * DEFAULT_MAX_IMAGE_PIXELS) are refused from their header, before decoding.
 */
export async function readImage(imagePath: string, options: ImageReadOptions = {}): Promise<RgbaImage> {
  return readImageFile(imagePath, options);
}

/**
 * Explains the image's class (default: top-1) with a method at a layer (default: the last 4-D one;
 * input-level methods other than Guided Grad-CAM ignore the layer). With `metrics`, also scores the
 * map's faithfulness (metrics/).
 */
export async function explain(model: LoadedModel, image: RgbaImage, request: ExplainRequest, context: ExplainContext = {}): Promise<CamResult> {
  const { summary } = model;
  const method = getMethod(request.method);
  const output = resolveOutput(summary.outputs, summary.defaultOutput, request.output);
  const network = model.outputModel(output.index);
  const needsLayer = !isInputLevel(method) || method.usesLayer;
  const layer = needsLayer
    ? resolveCamLayer(model.model, request.layer ?? output.defaultCamLayer)
    : { info: { name: inputName(model.model) }, path: [] as string[] };
  if (needsLayer && !layerFeeds(network, layer.info.name)) {
    throw new LensError(
      `Layer "${layer.info.name}" does not feed output ${output.index} "${output.name}", so its score does not depend on it; choose a layer before that output (its default: "${output.defaultCamLayer}").`,
      'bad-request',
    );
  }
  if (request.classIndex !== undefined) {
    checkClassIndex(request.classIndex, output.labels.length, output.kind ?? 'classes');
  }
  const topK = request.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(topK) || topK < 1) {
    throw new LensError(`topK must be a whole number of at least 1, got ${topK}.`, 'bad-request');
  }
  const [height, width] = summary.inputShape;
  const options = resolveOptions(request.options ?? {}, height, width);
  throwIfCancelled(context.signal);
  let input: tf.Tensor4D;
  try {
    input = toModelInput(image, summary.inputShape, summary.preprocessing);
  } catch (error) {
    throw explainFailure(error, summary, image);
  }
  // ONNX Runtime runs this output's passes where it is on and takes the model (onnxRuntime/).
  const native = nativeEnabled() ? nativeFor(model.model, network, headOf(network)) : undefined;
  const nativeContext: ExplainContext = native instanceof NativePasses ? { ...context, native } : context;
  try {
    const methodContext: RunContext = request.metrics ? { ...nativeContext, onProgress: (p) => context.onProgress?.({ ...p, fraction: p.fraction === undefined ? undefined : p.fraction * 0.7 }) } : nativeContext;
    const result = await computeCam(
      network,
      input,
      {
        method,
        layer: { name: layer.info.name, path: layer.path },
        classIndex: request.classIndex,
        output: { index: output.index, name: output.name, kind: output.kind ?? 'classes', of: summary.outputs.length },
        labels: output.labels,
        topK,
        backend: currentTfjsBackend(),
        options: request.options,
        preprocessing: summary.preprocessing,
      },
      methodContext,
      context.forwardCache ? { cache: context.forwardCache, image } : undefined,
    );
    if (native && !(native instanceof NativePasses) && result.details) {
      result.details.nativeFallback = native.failure;
    }
    if (request.metrics) {
      context.onMetricsStart?.();
      result.metrics = await computeMetrics(input, result.cam, result.classIndex, {
        logits: sharedLogits(network, output.labels.length, nativeContext),
        kind: output.kind ?? 'classes',
        step: async (message, fraction) => {
          await new Promise<void>((resolve) => setImmediate(resolve));
          throwIfCancelled(context.signal);
          context.onProgress?.({ message, fraction: fraction === undefined ? undefined : 0.7 + 0.3 * fraction });
        },
        batchSize: options.batchSize,
        seed: options.seed,
      });
      result.timings.metrics = result.metrics.timeMs;
    }
    return result;
  } catch (error) {
    throw explainFailure(error, summary, image);
  } finally {
    input.dispose();
  }
}

/** An error while explaining, as one line naming the model (and the image, when it is about the image). */
function explainFailure(error: unknown, summary: ModelSummary, image: RgbaImage): unknown {
  const shown = image.source ?? `the ${image.width}×${image.height} image`;
  if (error instanceof NonFiniteScoresError) {
    return new LensError(
      `${summary.path}: for ${shown}, ${error.message}; the model's weights or the preprocessing (mean/std) make it overflow or compute NaN, so there is nothing to explain.`,
      'bad-input',
    );
  }
  return error instanceof LensError ? error : namingFile(error, summary.path, `explaining ${shown} failed`);
}

/**
 * Whether ONNX Runtime runs the passes of the output a request explains (on, and the model has a
 * graph it takes). Its sampling batches are then one session run on every core, so the worker does
 * not load the model into helper workers that would never get a share.
 */
export function runsNatively(model: LoadedModel, outputRef?: number | string): boolean {
  if (!nativeEnabled()) return false;
  const output = resolveOutput(model.summary.outputs, model.summary.defaultOutput, outputRef);
  const network = model.outputModel(output.index);
  return nativeFor(model.model, network, headOf(network)) instanceof NativePasses;
}

// Layer inspection (issue 3): activation maps, filter grids, and which layers offer them.
export { ActivationCache, activationChannel, activationPage, computeActivations, type LayerActivations } from './inspect/activations';
export { filterPage, filterWeights, readFilterBank, type FilterBank } from './inspect/filters';
export { describeLayerViews } from './inspect/layerViews';
export { renderBars, renderGrid, type BarEntry, type GridTile } from '../render/grid';
export { colormapLut, divergingLut } from '../render/colormap';
/**
 * The class users know a layer by: the summary's (a PyTorch module's class, Conv2d) rather than the
 * engine layer's (the ONNX operator it runs, Conv), for pages and reports about one layer.
 */
export function shownClassName(summary: ModelSummary, layer: string, engineClassName: string): string {
  return summary.layers.find((info) => info.name === layer)?.className ?? engineClassName;
}

/** The name input-level results report as their "layer": the model's input layer. */
function inputName(model: tf.LayersModel): string {
  return model.inputLayers?.[0]?.name ?? 'input';
}

/** What `explain` may be told besides the run context: when its metrics start (a comparison times them apart). */
export interface ExplainContext extends RunContext {
  /** Called once the map is done and the faithfulness metrics begin (only with `metrics`). */
  onMetricsStart?: () => void;
}

/** One method's result in a comparison: the method's own wall time, and its metrics' apart. */
export interface ComparedMethod {
  method: MethodName;
  result: CamResult;
  /** The method alone: the map and its predictions, without the metrics. */
  timeMs: number;
  /** The faithfulness metrics of this method's map, when asked (scoring ~86 perturbed images). */
  metricsMs?: number;
}

/**
 * Runs several methods on one image, the same class (the first method's, default top-1) and layer,
 * one after the other (tfjs runs one kernel at a time anyway), with progress over the whole run.
 * Each progress report names its step (method i of n, map or metrics) for the panel.
 */
export async function compareMethods(
  model: LoadedModel,
  image: RgbaImage,
  methods: readonly MethodName[],
  request: Omit<ExplainRequest, 'method'>,
  context: RunContext = {},
): Promise<ComparedMethod[]> {
  if (methods.length === 0) {
    throw new LensError('No methods to compare.', 'bad-request');
  }
  methods.forEach((name) => getMethod(name)); // unknown names fail before any work
  const compared: ComparedMethod[] = [];
  let classIndex = request.classIndex;
  // Without the caller's cache, one for this comparison: its CAM methods share the layer's forward pass.
  const forwardCache = context.forwardCache ?? new ForwardCache(1);
  try {
    for (const [i, method] of methods.entries()) {
      const started = performance.now();
      let metricsStarted: number | undefined;
      const step = (phase: CompareStep['phase']): CompareStep => ({ index: i, of: methods.length, method, phase });
      context.onProgress?.({ message: `${method} (${i + 1}/${methods.length})`, fraction: i / methods.length, step: step('method') });
      const result = await explain(model, image, { ...request, method, classIndex }, {
        signal: context.signal,
        // Methods at one layer share its forward pass (Grad-CAM, Grad-CAM++, LayerCAM... differ after it).
        forwardCache,
        // SmoothGrad, Integrated Gradients, Score-CAM, occlusion and the metrics share their batches
        // with the helper engines, as a single explain does.
        samplePool: context.samplePool,
        onMetricsStart: () => {
          metricsStarted = performance.now();
        },
        onProgress: (p) =>
          context.onProgress?.({
            message: `${method} (${i + 1}/${methods.length}): ${p.message}`,
            fraction: (i + (p.fraction ?? 0)) / methods.length,
            step: step(metricsStarted === undefined ? 'method' : 'metrics'),
          }),
      });
      const ended = performance.now();
      classIndex = result.classIndex;
      compared.push(
        metricsStarted === undefined
          ? { method, result, timeMs: ended - started }
          : { method, result, timeMs: metricsStarted - started, metricsMs: ended - metricsStarted },
      );
    }
  } finally {
    if (forwardCache !== context.forwardCache) {
      forwardCache.clear();
    }
  }
  return compared;
}

/**
 * How long `compareMethods` will take with these methods (protocol/compareEstimate.ts), from one
 * forward pass of this model measured now and the passes each method and the metrics run.
 * `helpers`: the helper engines holding the model now (they share the sampling batches).
 */
export async function estimateComparison(
  model: LoadedModel,
  image: RgbaImage,
  methods: readonly MethodName[],
  request: Omit<ExplainRequest, 'method'>,
  context: { signal?: AbortSignal; helpers?: number } = {},
): Promise<{ estimate: CompareEstimate; layer?: string }> {
  methods.forEach((name) => getMethod(name));
  const { summary } = model;
  const output = resolveOutput(summary.outputs, summary.defaultOutput, request.output);
  const usesLayer = methods.some((name) => {
    const method = getMethod(name);
    return !isInputLevel(method) || method.usesLayer;
  });
  const layerName = usesLayer ? resolveCamLayer(model.model, request.layer ?? output.defaultCamLayer).info.name : undefined;
  const shape = layerName ? summary.layers.find((layer) => layer.name === layerName)?.outputShape : undefined;
  const channels = shape && shape.length === 4 ? (shape[3] ?? 0) : 0;
  const [height, width, inputChannels] = summary.inputShape;
  const network = model.outputModel(output.index);
  const native = nativeEnabled() ? nativeFor(model.model, network, headOf(network)) : undefined;
  const forwardMs = await measureForwardMs(network, output.labels.length, image, summary.inputShape, summary.preprocessing, {
    signal: context.signal,
    ...(native instanceof NativePasses ? { native } : {}),
  });
  const estimate = estimateCompare({
    methods,
    metrics: request.metrics === true,
    forwardMs,
    imputationMsPerPixel: request.metrics ? measureImputationMsPerPixel(height, width, inputChannels) : 0,
    channels,
    height,
    width,
    options: request.options,
    helpers: context.helpers ?? 0,
  });
  return { estimate, ...(layerName ? { layer: layerName } : {}) };
}
