// The CAM pipeline every method shares (pytorch-grad-cam's BaseCAM): one forward pass capturing the
// target layer's activations, the class score's gradient at that layer when the method needs it,
// the method's map, ReLU, and the reference's normalise-then-upsample. A method only supplies what
// makes it different: per-channel weights (Grad-CAM, Grad-CAM++, XGrad-CAM...) or the whole map
// (LayerCAM, HiResCAM, Eigen-CAM, Score-CAM...). Between stages the pipeline yields to the event
// loop, so a worker can receive a cancel message, and then honours it.
import type { BackendName, CamResult, ExplainedOutput, Map2D, MethodDetails, MethodName, MethodOptions, OutputKind, Preprocessing, Progress } from '../../shared/types';
import { BATCH_MEMORY_BYTES, inSlices, maxInputsPerPass } from '../execution/batching';
import { helperShare, runSamplePass, type SamplePart, type SamplePool } from './samplePool';
import { LensError, throwIfCancelled } from '../../shared/errors';
import type { CutLease, ForwardCache } from '../execution/forwardCache';
import { classScoresOf, computeLogits, disposeCutState, forwardToCut, forwardWithTaps, headOf, logitsFromCut, planCut, type CutState, type LayerPath } from '../execution/graph';
import { resolveOptions, type ResolvedOptions } from './methodOptions';
import { resizeMap } from '../../render/overlay';
import { argMax, checkFiniteScores, topPredictions } from '../execution/predict';
import * as tf from '../tf';
import type { NativeLayerPass, NativePasses } from '../onnxRuntime/nativePasses';

/** Helpers every method may use; the pipeline counts the passes they run. */
export interface MethodServices {
  readonly input: tf.Tensor4D;
  readonly classIndex: number;
  /** Options with defaults filled in (methodOptions.ts). */
  readonly options: ResolvedOptions;
  /** Pre-softmax scores of a batch of inputs (for methods that score perturbed inputs); caller disposes. */
  logits(batch: tf.Tensor4D): tf.Tensor2D;
  /** The explained class's pre-softmax score for each input of a batch (one forward pass). */
  classScores(batch: tf.Tensor4D): Promise<Float32Array>;
  /** d(class score)/d(input) for each input of a batch (forward+backward passes, shared with helpers when there are); caller disposes. */
  inputGradients(batch: tf.Tensor4D, mode?: { guided?: boolean }): Promise<tf.Tensor4D>;
  /** An image of uniform grey level (0 = black, 1 = white) in the model's input space, [1, 1, 1, C]; caller disposes. */
  greyLevel(level: number): tf.Tensor4D;
  /** Yields to the event loop, throws LensError 'cancelled' if asked to, reports progress (fraction of the method's own work). */
  step(message: string, fraction?: number): Promise<void>;
}

/** What a CAM method sees. Tensors belong to the pipeline: a method must not dispose them. */
export interface CamInputs extends MethodServices {
  /** Target layer output, [1, h, w, c] (NHWC). */
  readonly activations: tf.Tensor4D;
  /** d(class score)/d(activations), [1, h, w, c]; null when the method declares no gradients. */
  readonly gradients: tf.Tensor4D | null;
}

/** What an input-level method sees. */
export interface AttributionInputs extends MethodServices {
  /** Pre-softmax score of the class on the input. */
  readonly score: number;
  /** Runs a CAM method at the request's layer through this pipeline (Guided Grad-CAM uses Grad-CAM). */
  camAtLayer(method: CamMethod): Promise<CamResult>;
  /** Adds to the result's details (e.g. Integrated Gradients' completeness check). */
  report(details: Partial<MethodDetails>): void;
}

interface MethodBase {
  readonly name: MethodName;
  /** False for methods that never look at gradients (Eigen-CAM, Score-CAM): the backward pass is skipped. */
  readonly usesGradients: boolean;
  /** The options this method reads (reported in the result's details). */
  readonly optionNames?: readonly (keyof MethodOptions)[];
}

/** A method defined by per-channel weights; the pipeline computes ReLU(sum_k w_k A_k). */
export interface ChannelWeightMethod extends MethodBase {
  /** Weights of shape [c] (or any shape holding c values). Runs inside tf.tidy. */
  channelWeights(activations: tf.Tensor4D, gradients: tf.Tensor4D | null): tf.Tensor;
}

/** A method that computes the map itself, [h, w] before ReLU. The caller disposes the result. */
export interface CamImageMethod extends MethodBase {
  camImage(inputs: CamInputs): tf.Tensor2D | Promise<tf.Tensor2D>;
}

export type CamMethod = ChannelWeightMethod | CamImageMethod;

/**
 * A method whose map lives at the input (the gradient family, occlusion). It returns an attribution
 * of the input's shape, [1, H, W, C] (or [1, H, W, 1] for one value per pixel); the pipeline reduces
 * it over channels as `reduce` says and normalises it (no resizing: it is already at input size).
 */
export interface InputAttributionMethod extends MethodBase {
  /** True when the method also needs the target layer (Guided Grad-CAM). */
  readonly usesLayer: boolean;
  /** 'max-abs': max over channels of |value| (Simonyan et al.'s saliency map); 'positive': the value clamped at 0. */
  readonly reduce: 'max-abs' | 'positive';
  attribute(inputs: AttributionInputs): Promise<tf.Tensor4D>;
}

export type Method = CamMethod | InputAttributionMethod;

export function isInputLevel(method: Method): method is InputAttributionMethod {
  return 'attribute' in method;
}

export interface CamRequest {
  method: Method;
  /** Listed name (for the result) and path (for the executor) of the target layer; for an input-level method that uses none, the input's name and an empty path. */
  layer: { name: string; path: LayerPath };
  /** Default: the top-1 prediction (a regression's first value). */
  classIndex?: number;
  /**
   * The output explained, for the result; default: the model's own (graph.ts headOf, the output
   * `model` returns, named "output N").
   */
  output?: ExplainedOutput;
  /** One per entry of the output (classes; a binary output's two sides; a regression's values). */
  labels: readonly string[];
  topK: number;
  backend: BackendName;
  options?: MethodOptions;
  /** The model's preprocessing, to express image grey levels (black, fills) in its input space. */
  preprocessing?: Preprocessing;
  /** Memory one pass over a batch may use (batching.ts); larger batches run in slices. Default BATCH_MEMORY_BYTES. */
  batchMemoryBytes?: number;
}

export interface RunContext {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /**
   * Where layer maps keep their forward pass for the next request on the same model, image and
   * layer (forwardCache.ts); without one, every request runs its own forward pass.
   */
  forwardCache?: ForwardCache;
  /** Other engines with this model that take parts of sampling batches (samplePool.ts). */
  samplePool?: SamplePool;
  /**
   * ONNX Runtime for this model's output (onnxRuntime/nativePasses.ts): its passes run there, all
   * cores, batches as one session run; a pass it cannot take runs here and the result says why.
   */
  native?: NativePasses;
}

/** The cache a request may reuse forward passes from, and the image (by identity) its input was made from. */
export interface ForwardReuse {
  cache: ForwardCache;
  image: object;
}

/** pytorch-grad-cam's scale_cam_image: subtract the min, divide by (max + 1e-7). All zeros stay zeros. */
export function scaleCam(values: Float32Array): Float32Array {
  let min = Infinity;
  for (const v of values) {
    min = Math.min(min, v);
  }
  let max = -Infinity;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = values[i] - min;
    max = Math.max(max, out[i]);
  }
  const scale = 1e-7 + max;
  for (let i = 0; i < out.length; i++) {
    out[i] /= scale;
  }
  return out;
}

/**
 * The reference's post-processing of one layer's ReLU map: scale at the layer's resolution,
 * resize (bilinear, half-pixel centres, as cv2.resize), then — as its aggregate_multi_layers does
 * even for a single layer — clamp at 0 and scale again, so the map spans [0, 1) at input size.
 */
export function postprocessCam(layerCam: Map2D, width: number, height: number): Map2D {
  const scaled = { width: layerCam.width, height: layerCam.height, data: scaleCam(layerCam.data) };
  const resized = resizeMap(scaled, width, height);
  const clamped = resized.data.map((v) => Math.max(v, 0));
  return { width, height, data: scaleCam(clamped) };
}

export async function computeCam(
  model: tf.LayersModel,
  input: tf.Tensor4D,
  request: CamRequest,
  context: RunContext = {},
  reuse?: ForwardReuse,
): Promise<CamResult> {
  if (input.shape[0] !== 1) {
    throw new Error(`computeCam explains one image at a time; got a batch of ${input.shape[0]}.`);
  }
  const [, inputHeight, inputWidth] = input.shape;
  // Options are checked before any pass runs: a bad value is the request's fault, reported at once.
  const options = resolveOptions(request.options ?? {}, inputHeight, inputWidth);
  const run = new PassCounter();
  return isInputLevel(request.method)
    ? computeInputAttribution(model, input, request, request.method, options, run, context, reuse)
    : computeLayerCam(model, input, request, request.method, options, run, context, reuse);
}

/** Counts the passes methods run (reported in details; tests check batching with it). */
class PassCounter {
  passes = 0;
  inputsScored = 0;
  /** Inputs of sampling passes that helper engines computed (samplePool.ts). */
  inputsElsewhere = 0;
  /** Passes ONNX Runtime ran, and why one could not run there (the rest of the request then runs on tfjs). */
  nativePasses = 0;
  nativeFallback?: string;

  /** Runs a pass on ONNX Runtime unless it failed earlier in this request; undefined when it cannot. */
  async tryNative<T>(native: NativePasses | undefined, pass: (native: NativePasses) => Promise<T>): Promise<T | undefined> {
    if (!native || this.nativeFallback !== undefined) {
      return undefined;
    }
    try {
      const value = await pass(native);
      this.nativePasses += 1;
      return value;
    } catch (error) {
      this.nativeFallback = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }
  count(batch: tf.Tensor): void {
    this.passes += 1;
    this.inputsScored += batch.shape[0] ?? 1;
  }
}

/** Stage timer and cancellable progress, shared by both kinds of method. */
function stages(context: RunContext): {
  timings: Record<string, number>;
  lap(stage: string): void;
  step(message: string, fraction?: number): Promise<void>;
  finish(): void;
} {
  const timings: Record<string, number> = {};
  const started = performance.now();
  let mark = started;
  return {
    timings,
    lap(stage) {
      const now = performance.now();
      timings[stage] = now - mark;
      mark = now;
    },
    async step(message, fraction) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfCancelled(context.signal);
      context.onProgress?.({ message, fraction });
    },
    finish() {
      timings.total = performance.now() - started;
      context.onProgress?.({ message: 'Done', fraction: 1 });
    },
  };
}

/** Where a request's sampling passes run: this engine, within a memory budget, and helpers if any. */
interface PassEnvironment {
  run: PassCounter;
  batchMemoryBytes: number;
  samplePool?: SamplePool;
  signal?: AbortSignal;
  native?: NativePasses;
}

function services(
  model: tf.LayersModel,
  input: tf.Tensor4D,
  classIndex: number,
  numClasses: number,
  options: ResolvedOptions,
  preprocessing: Preprocessing | undefined,
  passes: PassEnvironment,
  step: (message: string, fraction?: number) => Promise<void>,
  range: [number, number],
  method: MethodName,
): MethodServices {
  const { run, batchMemoryBytes } = passes;
  const samplePass = (pass: SamplePart['pass'], batch: tf.Tensor4D, guided?: boolean): Promise<tf.Tensor> =>
    splitSamplePass(model, batch, { pass, classIndex, guided, output: headOf(model).output }, numClasses, passes);
  return {
    input,
    classIndex,
    options,
    logits(batch) {
      // A method's batch runs as one pass when it fits the memory budget, else in slices that do.
      return inSlices(batch, maxInputsPerPass(model, 'forward', batchMemoryBytes), (slice) => {
        run.count(slice);
        return computeLogits(model, slice) as tf.Tensor2D;
      });
    },
    async classScores(batch) {
      const scores = await samplePass('classScores', batch);
      try {
        return (await scores.data()) as Float32Array;
      } finally {
        scores.dispose();
      }
    },
    async inputGradients(batch, mode = {}) {
      return (await samplePass('inputGradients', batch, mode.guided)) as tf.Tensor4D;
    },
    greyLevel(level) {
      const channels = input.shape[3];
      return tf.tensor4d(greyInModelSpace(level, channels, preprocessing), [1, 1, 1, channels]);
    },
    step(message, fraction) {
      const overall = fraction === undefined ? undefined : range[0] + (range[1] - range[0]) * Math.min(Math.max(fraction, 0), 1);
      return step(`${method}: ${message}`, overall);
    },
  };
}

/**
 * A sampling pass over a batch, its last inputs sent to the helpers (samplePool.ts) before this
 * engine computes its own first ones, so all run at once. A helper that fails (it crashed, or
 * could not load the model) costs time, not the result: its part is computed here.
 */
async function splitSamplePass(
  model: tf.LayersModel,
  batch: tf.Tensor4D,
  part: Pick<SamplePart, 'pass' | 'classIndex' | 'guided' | 'output'>,
  numClasses: number,
  passes: PassEnvironment,
): Promise<tf.Tensor> {
  const { run, batchMemoryBytes, samplePool, signal } = passes;
  // On ONNX Runtime a batch is one session run on every core: no slices, no helpers.
  const nativeResult = await run.tryNative(passes.native, (engine) => engine.samplePass(batch, part.pass, part.classIndex, part.guided));
  if (nativeResult) {
    run.count(batch);
    return nativeResult;
  }
  const here = (inputs: tf.Tensor4D): tf.Tensor => runSamplePass(model, inputs, part, batchMemoryBytes, (slice) => run.count(slice));
  const shares = samplePool ? helperShare(batch.shape[0], samplePool.helpers) : [];
  if (!samplePool || shares.length === 0) {
    return here(batch);
  }
  const [size, height, width, channels] = batch.shape;
  const ownInputs = size - shares.reduce((a, b) => a + b, 0);
  let start = ownInputs;
  const away = shares.map((count) => {
    const slice = tf.slice(batch, [start, 0, 0, 0], [count, -1, -1, -1]);
    const values = slice.dataSync() as Float32Array;
    slice.dispose();
    start += count;
    const shape: SamplePart['shape'] = [count, height, width, channels];
    return { count, values, shape, result: samplePool.run({ ...part, batch: values, shape }, signal) };
  });
  // Settled handlers now, so a helper failing while this engine computes is not an unhandled rejection.
  away.forEach(({ result }) => result.catch(() => undefined));
  // A pool may post its message a few promise steps after run() returns (the worker client awaits
  // its worker's readiness first), and this engine's own part is synchronous: without a turn of
  // the event loop here the helpers would only be asked once it is done, one after the other.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const parts: tf.Tensor[] = [];
  try {
    const own = tf.slice(batch, [0, 0, 0, 0], [ownInputs, -1, -1, -1]) as tf.Tensor4D;
    parts.push(here(own));
    own.dispose();
    for (const { count, values, shape, result } of away) {
      let computed: Float32Array | undefined;
      try {
        computed = await result;
        run.inputsElsewhere += count;
      } catch {
        throwIfCancelled(signal);
      }
      if (computed) {
        const shapes = { classScores: [count], logits: [count, numClasses], inputGradients: shape };
        parts.push(tf.tensor(computed, shapes[part.pass]));
      } else {
        const inputs = tf.tensor4d(values, shape);
        parts.push(here(inputs));
        inputs.dispose();
      }
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}

/**
 * Logits of batches (the faithfulness metrics' perturbed images), shared with the helpers when
 * there are, within the memory budget. The metrics count their passes themselves.
 */
export function sharedLogits(model: tf.LayersModel, numClasses: number, context: RunContext): (batch: tf.Tensor4D) => Promise<tf.Tensor2D> {
  const passes: PassEnvironment = { run: new PassCounter(), batchMemoryBytes: BATCH_MEMORY_BYTES, samplePool: context.samplePool, signal: context.signal, native: context.native };
  return async (batch) => (await splitSamplePass(model, batch, { pass: 'logits', classIndex: 0, output: headOf(model).output }, numClasses, passes)) as tf.Tensor2D;
}

function passEnvironment(run: PassCounter, request: CamRequest, context: RunContext): PassEnvironment {
  return { run, batchMemoryBytes: request.batchMemoryBytes ?? BATCH_MEMORY_BYTES, samplePool: context.samplePool, signal: context.signal, native: context.native };
}

/** A grey level of the image (0 black .. 1 white) as the model sees it after its mean/std normalisation. */
export function greyInModelSpace(level: number, channels: number, preprocessing: Preprocessing | undefined): number[] {
  const pick = (values: number[] | undefined, c: number, fallback: number): number =>
    values && values.length > 0 ? values[values.length === 1 ? 0 : c] : fallback;
  return Array.from({ length: channels }, (_, c) => (level - pick(preprocessing?.mean, c, 0)) / pick(preprocessing?.std, c, 1));
}

function detailsFor(method: Method, options: ResolvedOptions, run: PassCounter, forwardReused = false): MethodDetails {
  const used: MethodOptions = {};
  for (const name of method.optionNames ?? []) {
    (used as Record<string, unknown>)[name] = options[name];
  }
  return {
    options: used,
    passes: run.passes,
    inputsScored: run.inputsScored,
    forwardReused,
    ...(run.inputsElsewhere > 0 ? { inputsElsewhere: run.inputsElsewhere } : {}),
    ...(run.nativeFallback !== undefined ? { nativeFallback: run.nativeFallback } : {}),
  };
}

/** The backend that ran the request: ONNX Runtime when it ran every pass, else the tfjs backend. */
function backendOf(run: PassCounter, request: CamRequest): BackendName {
  return run.nativePasses > 0 && run.nativeFallback === undefined ? 'onnxruntime' : request.backend;
}

async function computeLayerCam(
  model: tf.LayersModel,
  input: tf.Tensor4D,
  request: CamRequest,
  method: CamMethod,
  options: ResolvedOptions,
  run: PassCounter,
  context: RunContext,
  reuse: ForwardReuse | undefined,
): Promise<CamResult> {
  const { timings, lap, step, finish } = stages(context);
  const { layer } = request;

  await step(`Running the model to layer "${layer.name}"`, 0);
  let lease: CutLease | undefined;
  let state: CutState | undefined;
  let activations: tf.Tensor4D | undefined;
  let logitsTensor: tf.Tensor | undefined;
  let gradients: tf.Tensor4D | null = null;
  let camTensor: tf.Tensor | undefined;
  const native = context.native;
  let nativePass: NativeLayerPass | undefined;
  try {
    nativePass = await run.tryNative(native, async (engine) => {
      const pass = await engine.forwardAt(input, layer.name, reuse?.image);
      if (method.usesGradients) {
        await engine.model.prepare(layer.name, { layer: true }); // an unsupported operator after the layer shows now
      }
      return pass;
    });
    if (nativePass && native) {
      activations = native.activations(nativePass);
      logitsTensor = tf.tensor(nativePass.forward.scores);
      if (!nativePass.reused) {
        run.count(input);
      }
    } else if (reuse) {
      // Every layer method reads the activations and the logits; with a cache, from its forward pass.
      lease = reuse.cache.acquire(model, reuse.image, input, planCut(model, layer.path));
      state = lease.state;
      activations = state.activation as tf.Tensor4D;
      logitsTensor = state.logits;
      if (!lease.reused) {
        run.count(input);
      }
    } else if (method.usesGradients) {
      run.count(input);
      state = forwardToCut(model, input, planCut(model, layer.path));
      activations = state.activation as tf.Tensor4D;
      logitsTensor = state.logits;
    } else {
      run.count(input);
      const { logits, taps } = forwardWithTaps(model, input, [layer.path]);
      logitsTensor = logits;
      activations = taps[0] as tf.Tensor4D;
    }
    checkSpatial(activations, layer.name);
    const logits = (await logitsTensor.data()) as Float32Array;
    checkFiniteScores(logits);
    const output = explainedOutput(model, request);
    const classIndex = request.classIndex ?? defaultClass(logits, output.kind);
    checkClassIndex(classIndex, logits.length, output.kind);
    // The panel's status line lists these stages: say when the forward pass came from the last request.
    const forwardReused = lease?.reused === true || nativePass?.reused === true;
    lap(forwardReused ? 'forward (reused)' : 'forward');

    if (nativePass && method.usesGradients) {
      await step('Computing gradients', 0.3);
      const pass = nativePass;
      gradients = (await run.tryNative(native, (engine) => engine.layerGradient(pass, classIndex))) ?? null;
      if (!gradients) {
        // The forward pass ran natively, the gradient cannot: the tfjs engine runs both.
        run.count(input);
        const cut = forwardToCut(model, input, planCut(model, layer.path));
        try {
          gradients = classScoreGradient(model, cut, classIndex);
        } finally {
          disposeCutState(cut);
        }
      }
      lap('gradients');
    } else if (state && method.usesGradients) {
      await step('Computing gradients', 0.3);
      gradients = classScoreGradient(model, state, classIndex);
      lap('gradients');
    }

    await step(`Computing the ${method.name} map`, 0.4);
    const inputs: CamInputs = {
      ...services(model, input, classIndex, logits.length, options, request.preprocessing, passEnvironment(run, request, context), step, [0.4, 0.9], method.name),
      activations,
      gradients,
    };
    camTensor = 'channelWeights' in method ? weightedSum(method, activations, gradients) : await method.camImage(inputs);
    const [, h, w] = activations.shape;
    if (camTensor.size !== h * w) {
      throw new Error(`Method ${method.name} returned a map of shape [${camTensor.shape}] for a ${h}x${w} layer.`);
    }
    const relu = tf.tidy(() => tf.relu(camTensor as tf.Tensor));
    const layerCam: Map2D = { width: w, height: h, data: (await relu.data()) as Float32Array };
    relu.dispose();
    lap('cam');

    await step('Scaling the map', 0.9);
    const [, inputHeight, inputWidth] = input.shape;
    const cam = postprocessCam(layerCam, inputWidth, inputHeight);
    lap('postprocess');
    finish();

    return {
      method: method.name,
      backend: backendOf(run, request),
      layer: layer.name,
      classIndex,
      className: request.labels[classIndex] ?? `class ${classIndex}`,
      score: logits[classIndex],
      output,
      predictions: topPredictions(logits, request.labels, request.topK, output.kind),
      cam,
      layerCam,
      timings,
      details: detailsFor(method, options, run, forwardReused),
    };
  } catch (error) {
    throw explainMissingKernel(error, layer.name);
  } finally {
    if (nativePass) {
      tf.dispose([activations, logitsTensor] as tf.Tensor[]);
    } else if (lease) {
      lease.release(); // the cache owns the state
    } else if (state) {
      disposeCutState(state);
    } else {
      tf.dispose([activations, logitsTensor] as tf.Tensor[]);
    }
    tf.dispose([gradients, camTensor].filter((t): t is tf.Tensor => t != null));
  }
}

async function computeInputAttribution(
  model: tf.LayersModel,
  input: tf.Tensor4D,
  request: CamRequest,
  method: InputAttributionMethod,
  options: ResolvedOptions,
  run: PassCounter,
  context: RunContext,
  reuse: ForwardReuse | undefined,
): Promise<CamResult> {
  const { timings, lap, step, finish } = stages(context);
  await step('Running the model', 0);
  let attribution: tf.Tensor4D | undefined;
  const extra: Partial<MethodDetails> = {};
  try {
    let logits = reuse ? (context.native?.keptScores(reuse.image) ?? reuse.cache.logits(model, reuse.image)) : undefined;
    const forwardReused = logits !== undefined;
    if (!logits) {
      run.count(input);
      logits = await run.tryNative(context.native, (engine) => engine.scoresOf(input));
    }
    if (!logits) {
      const logitsTensor = computeLogits(model, input);
      logits = (await logitsTensor.data()) as Float32Array;
      logitsTensor.dispose();
    }
    checkFiniteScores(logits);
    const output = explainedOutput(model, request);
    const classIndex = request.classIndex ?? defaultClass(logits, output.kind);
    checkClassIndex(classIndex, logits.length, output.kind);
    lap(forwardReused ? 'forward (reused)' : 'forward');

    const inputs: AttributionInputs = {
      ...services(model, input, classIndex, logits.length, options, request.preprocessing, passEnvironment(run, request, context), step, [0.05, 0.9], method.name),
      score: logits[classIndex],
      camAtLayer: async (camMethod) => {
        const result = await computeLayerCam(model, input, { ...request, method: camMethod, classIndex }, camMethod, options, run, { signal: context.signal, native: context.native }, reuse);
        return result;
      },
      report: (details) => Object.assign(extra, details),
    };
    attribution = await method.attribute(inputs);
    const [, inputHeight, inputWidth] = input.shape;
    if (attribution.rank !== 4 || attribution.shape[1] !== inputHeight || attribution.shape[2] !== inputWidth) {
      throw new Error(`Method ${method.name} returned an attribution of shape [${attribution.shape}] for a ${inputHeight}x${inputWidth} input.`);
    }
    lap('attribution');

    await step('Scaling the map', 0.9);
    const reduced = tf.tidy(() => {
      const values = attribution as tf.Tensor4D;
      return method.reduce === 'max-abs' ? tf.max(tf.abs(values), [0, 3]) : tf.relu(tf.max(values, [0, 3]));
    });
    const raw: Map2D = { width: inputWidth, height: inputHeight, data: (await reduced.data()) as Float32Array };
    reduced.dispose();
    const cam: Map2D = { width: inputWidth, height: inputHeight, data: scaleCam(raw.data) };
    lap('postprocess');
    finish();

    return {
      method: method.name,
      backend: backendOf(run, request),
      layer: request.layer.name,
      classIndex,
      className: request.labels[classIndex] ?? `class ${classIndex}`,
      score: logits[classIndex],
      output,
      predictions: topPredictions(logits, request.labels, request.topK, output.kind),
      cam,
      layerCam: raw,
      timings,
      details: {
        ...detailsFor(method, options, run, forwardReused),
        ...extra,
        layerCamNote:
          method.reduce === 'max-abs'
            ? 'input-size map before normalisation: max over channels of |attribution|'
            : 'input-size map before normalisation: the attribution clamped at 0',
      },
    };
  } catch (error) {
    throw explainMissingKernel(error, request.layer.name);
  } finally {
    attribution?.dispose();
  }
}

/** d(pre-softmax score of classIndex)/d(activation) through the cut executor (per example over a batch). */
export function classScoreGradient(model: tf.LayersModel, state: CutState, classIndex: number): tf.Tensor4D {
  return tf.tidy(() => {
    const score = (activation: tf.Tensor) => tf.sum(classScoresOf(logitsFromCut(model, state, activation), classIndex));
    return tf.grad(score)(state.activation) as tf.Tensor4D;
  });
}

function weightedSum(method: ChannelWeightMethod, activations: tf.Tensor4D, gradients: tf.Tensor4D | null): tf.Tensor {
  return tf.tidy(() => {
    const channels = activations.shape[3];
    const weights = method.channelWeights(activations, gradients);
    if (weights.size !== channels) {
      throw new Error(`Method ${method.name} returned ${weights.size} weights for a layer with ${channels} channels.`);
    }
    const [, h, w] = activations.shape;
    return tf.reshape(tf.sum(tf.mul(activations, tf.reshape(weights, [1, 1, 1, channels])), -1), [h, w]);
  });
}

function checkSpatial(activations: tf.Tensor, name: string): void {
  if (activations.rank !== 4) {
    throw new LensError(`Layer "${name}" produced a ${activations.rank}-D value [${activations.shape}]; a CAM needs a 4-D one.`, 'bad-request');
  }
}

export function checkClassIndex(classIndex: number, numClasses: number, kind: OutputKind = 'classes'): void {
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= numClasses) {
    const has =
      kind === 'binary'
        ? 'the output is a binary classifier: class 0 (1 − σ(z), explained with −z) or class 1 (σ(z), +z)'
        : kind === 'regression'
          ? `the output is a regression of ${numClasses} value${numClasses === 1 ? '' : 's'}, 0${numClasses > 1 ? ` to ${numClasses - 1}` : ''}`
          : `the model has ${numClasses} classes, 0 to ${numClasses - 1}`;
    throw new LensError(`Class index ${classIndex} is out of range: ${has}.`, 'bad-request');
  }
}

/** The entry explained when none is asked for: the top class (a binary output's likelier side), a regression's first value. */
function defaultClass(scores: ArrayLike<number>, kind: OutputKind): number {
  return kind === 'regression' ? 0 : argMax(scores);
}

/** The output a result reports: the request's, else the one the model's passes return. */
function explainedOutput(model: tf.LayersModel, request: CamRequest): ExplainedOutput {
  if (request.output) {
    return request.output;
  }
  const head = headOf(model);
  return { index: head.output, name: `output ${head.output}`, kind: head.kind, of: model.outputs.length };
}

/** A backend without a kernel the model needs (often a gradient kernel on wasm) is named as such. */
function explainMissingKernel(error: unknown, layer: string): unknown {
  const message = error instanceof Error ? error.message : '';
  const missing = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(message);
  if (!missing) {
    return error;
  }
  return new LensError(
    `The ${missing[2]} backend has no "${missing[1]}" kernel, which this model needs at layer "${layer}"; ` +
      'choose another backend (cpu runs every kernel).',
    'unsupported',
  );
}
