// The engine facade: what the worker and the CLI call. Everything here takes files, images and
// requests and returns protocol types; tensors stay inside the engine (pipeline.ts works on them).
import type { CamResult, ExplainRequest, MethodName, ModelFormat, ModelSummary, Preprocessing, RgbaImage } from '../protocol/types';
import { currentBackend } from './backend';
import { EngineError, throwIfCancelled } from './errors';
import { ForwardCache } from './forwardCache';
import { outputAppliesSoftmax, prepareBatchNormFolds } from './graph';
import { readImageFile, toModelInput } from './image';
import { defaultCamLayer, describeLayers, resolveCamLayer } from './layers';
import { computeMetrics } from './metrics';
import { getMethod } from './methods';
import { loadModelFromDisk } from './formats';
import { resolveOptions } from './methodOptions';
import { checkClassIndex, computeCam, isInputLevel, sharedLogits, type RunContext } from './pipeline';
import { labelsFor } from './predict';
import type * as tf from './tf';

export { initBackend, currentBackend, currentBackendReport, defaultWasmDir } from './backend';
export { applyColormap } from './colormap';
export { renderOverlay, renderHeatmap, resizeMap } from './overlay';
export { encodePng, decodeImage } from './image';
export { describeLayers, defaultCamLayer } from './layers';
export { renderCompareGrid, type CompareTile } from './compareGrid';
export type { RunContext } from './pipeline';
export { ForwardCache };

export interface LoadedModel {
  readonly summary: ModelSummary;
  readonly model: tf.LayersModel;
  dispose(): void;
}

/** Where a model came from, as modelLoader reports it. */
export interface ModelSource {
  path: string;
  labels: readonly string[] | null;
  labelsSource: string | null;
  preprocessing: Preprocessing;
  sidecar: string | null;
  /** Default 'layers-model'. */
  format?: ModelFormat;
  formatDetail?: string;
}

const DEFAULT_TOP_K = 5;

/** Loads model.json (or its folder), .onnx, ... (see formats.ts) with labels and the cnn-lens.json sidecar. */
export async function loadModel(modelPath: string, options: { preprocessing?: Preprocessing } = {}): Promise<LoadedModel> {
  const files = await loadModelFromDisk(modelPath, options.preprocessing);
  try {
    return wrapModel(files.model, {
      path: files.modelPath,
      labels: files.labels,
      labelsSource: files.labelsSource,
      preprocessing: files.preprocessing,
      sidecar: files.sidecar,
      format: files.format,
      ...(files.formatDetail ? { formatDetail: files.formatDetail } : {}),
    });
  } catch (error) {
    files.model.dispose();
    throw error;
  }
}

/**
 * Checks that a model can be explained and describes it. Used by loadModel, and by tests and
 * tools that build a model in memory. The LoadedModel owns the model: dispose() frees its weights.
 */
export function wrapModel(model: tf.LayersModel, source: ModelSource): LoadedModel {
  const where = source.path || model.name;
  const camLayer = defaultCamLayer(model);
  const inputShape = model.inputs.length === 1 ? model.inputs[0].shape : [];
  const [, height, width, channels] = inputShape;
  if (inputShape.length !== 4 || typeof height !== 'number' || typeof width !== 'number' || typeof channels !== 'number') {
    throw new EngineError(
      `${where}: the model input has shape [${inputShape.map((d) => d ?? 'null')}]; CNN Lens needs one image input of a fixed size [null, height, width, channels].`,
      'unsupported',
    );
  }
  const outputShape = model.outputs.length === 1 ? model.outputs[0].shape : [];
  const numClasses = outputShape[1];
  if (outputShape.length !== 2 || typeof numClasses !== 'number') {
    throw new EngineError(
      `${where}: the model output has shape [${outputShape.map((d) => d ?? 'null')}]; CNN Lens explains classifiers with one output of shape [null, classes].`,
      'unsupported',
    );
  }
  // Labels that do not match the class count would name the wrong classes: fall back to "class N".
  const labelsMatch = source.labels !== null && source.labels.length === numClasses;
  const summary: ModelSummary = {
    path: source.path,
    format: source.format ?? 'layers-model',
    ...(source.formatDetail ? { formatDetail: source.formatDetail } : {}),
    name: model.name,
    inputShape: [height, width, channels],
    layers: describeLayers(model),
    labels: labelsFor(numClasses, source.labels),
    labelsSource: labelsMatch ? source.labelsSource : null,
    preprocessing: source.preprocessing,
    sidecar: source.sidecar,
    defaultCamLayer: camLayer,
    outputSoftmax: outputAppliesSoftmax(model),
    totalParams: model.countParams(),
    numClasses,
  };
  prepareBatchNormFolds(model);
  return { summary, model, dispose: () => model.dispose() };
}

/** Decodes an image file (PNG, JPEG, BMP, GIF, WebP) to RGBA. */
export async function readImage(imagePath: string): Promise<RgbaImage> {
  return readImageFile(imagePath);
}

/**
 * Explains the image's class (default: top-1) with a method at a layer (default: the last 4-D one;
 * input-level methods other than Guided Grad-CAM ignore the layer). With `metrics`, also scores the
 * map's faithfulness (metrics/).
 */
export async function explain(model: LoadedModel, image: RgbaImage, request: ExplainRequest, context: RunContext = {}): Promise<CamResult> {
  const { summary } = model;
  const method = getMethod(request.method);
  const needsLayer = !isInputLevel(method) || method.usesLayer;
  const layer = needsLayer
    ? resolveCamLayer(model.model, request.layer ?? summary.defaultCamLayer)
    : { info: { name: inputName(model.model) }, path: [] as string[] };
  if (request.classIndex !== undefined) {
    checkClassIndex(request.classIndex, summary.numClasses);
  }
  const topK = request.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(topK) || topK < 1) {
    throw new EngineError(`topK must be a whole number of at least 1, got ${topK}.`, 'bad-request');
  }
  const [height, width] = summary.inputShape;
  const options = resolveOptions(request.options ?? {}, height, width);
  throwIfCancelled(context.signal);
  const input = toModelInput(image, summary.inputShape, summary.preprocessing);
  try {
    const methodContext: RunContext = request.metrics ? { ...context, onProgress: (p) => context.onProgress?.({ ...p, fraction: p.fraction === undefined ? undefined : p.fraction * 0.7 }) } : context;
    const result = await computeCam(
      model.model,
      input,
      {
        method,
        layer: { name: layer.info.name, path: layer.path },
        classIndex: request.classIndex,
        labels: summary.labels,
        topK,
        backend: currentBackend(),
        options: request.options,
        preprocessing: summary.preprocessing,
      },
      methodContext,
      context.forwardCache ? { cache: context.forwardCache, image } : undefined,
    );
    if (request.metrics) {
      result.metrics = await computeMetrics(input, result.cam, result.classIndex, {
        logits: sharedLogits(model.model, summary.numClasses, context),
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
  } finally {
    input.dispose();
  }
}

// Layer inspection (issue 3): activation maps, filter grids, and which layers offer them.
export { ActivationCache, activationChannel, activationPage, computeActivations, type LayerActivations } from './activations';
export { filterPage, filterWeights, readFilterBank, type FilterBank } from './filters';
export { describeLayerViews } from './layerViews';
export { renderBars, renderGrid, type BarEntry, type GridTile } from './grid';
export { colormapLut, divergingLut } from './colormap';
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

/** One method's result in a comparison, with the wall time it took (metrics included when asked). */
export interface ComparedMethod {
  method: MethodName;
  result: CamResult;
  timeMs: number;
}

/**
 * Runs several methods on one image, the same class (the first method's, default top-1) and layer,
 * one after the other (tfjs runs one kernel at a time anyway), with progress over the whole run.
 */
export async function compareMethods(
  model: LoadedModel,
  image: RgbaImage,
  methods: readonly MethodName[],
  request: Omit<ExplainRequest, 'method'>,
  context: RunContext = {},
): Promise<ComparedMethod[]> {
  if (methods.length === 0) {
    throw new EngineError('No methods to compare.', 'bad-request');
  }
  methods.forEach((name) => getMethod(name)); // unknown names fail before any work
  const compared: ComparedMethod[] = [];
  let classIndex = request.classIndex;
  // Without the caller's cache, one for this comparison: its CAM methods share the layer's forward pass.
  const forwardCache = context.forwardCache ?? new ForwardCache(1);
  try {
    for (const [i, method] of methods.entries()) {
      const started = performance.now();
      const result = await explain(model, image, { ...request, method, classIndex }, {
        signal: context.signal,
        // Methods at one layer share its forward pass (Grad-CAM, Grad-CAM++, LayerCAM... differ after it).
        forwardCache,
        onProgress: (p) =>
          context.onProgress?.({
            message: `${method} (${i + 1}/${methods.length}): ${p.message}`,
            fraction: (i + (p.fraction ?? 0)) / methods.length,
          }),
      });
      classIndex = result.classIndex;
      compared.push({ method, result, timeMs: performance.now() - started });
    }
  } finally {
    if (forwardCache !== context.forwardCache) {
      forwardCache.clear();
    }
  }
  return compared;
}
