// The CAM pipeline every method shares (pytorch-grad-cam's BaseCAM): one forward pass capturing the
// target layer's activations, the class score's gradient at that layer when the method needs it,
// the method's map, ReLU, and the reference's normalise-then-upsample. A method only supplies what
// makes it different: per-channel weights (Grad-CAM, Grad-CAM++, XGrad-CAM...) or the whole map
// (LayerCAM, HiResCAM, Eigen-CAM, Score-CAM...). Between stages the pipeline yields to the event
// loop, so a worker can receive a cancel message, and then honours it.
import type { BackendName, CamResult, Map2D, MethodName, Progress } from '../protocol/types';
import { EngineError, throwIfCancelled } from './errors';
import { computeLogits, disposeCutState, forwardToCut, forwardWithTaps, logitsFromCut, planCut, type CutState, type LayerPath } from './graph';
import { resizeMap } from './overlay';
import { argMax, topPredictions } from './predict';
import * as tf from './tf';

/** What a method sees. Tensors belong to the pipeline: a method must not dispose them. */
export interface CamInputs {
  /** Target layer output, [1, h, w, c] (NHWC). */
  readonly activations: tf.Tensor4D;
  /** d(class score)/d(activations), [1, h, w, c]; null when the method declares no gradients. */
  readonly gradients: tf.Tensor4D | null;
  /** The model input, [1, H, W, C]. */
  readonly input: tf.Tensor4D;
  readonly classIndex: number;
  /** Pre-softmax scores of a batch of inputs (for methods that score perturbed inputs); caller disposes. */
  logits(batch: tf.Tensor4D): tf.Tensor2D;
  /** Yields to the event loop, throws EngineError 'cancelled' if asked to, reports progress. */
  step(message: string, fraction?: number): Promise<void>;
}

interface MethodBase {
  readonly name: MethodName;
  /** False for methods that never look at gradients (Eigen-CAM, Score-CAM): the backward pass is skipped. */
  readonly usesGradients: boolean;
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

export interface CamRequest {
  method: CamMethod;
  /** Listed name (for the result) and path (for the executor) of the target layer. */
  layer: { name: string; path: LayerPath };
  /** Default: the top-1 prediction. */
  classIndex?: number;
  /** One per class. */
  labels: readonly string[];
  topK: number;
  backend: BackendName;
}

export interface RunContext {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
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

export async function computeCam(model: tf.LayersModel, input: tf.Tensor4D, request: CamRequest, context: RunContext = {}): Promise<CamResult> {
  if (input.shape[0] !== 1) {
    throw new Error(`computeCam explains one image at a time; got a batch of ${input.shape[0]}.`);
  }
  const timings: Record<string, number> = {};
  const started = performance.now();
  let mark = started;
  const lap = (stage: string): void => {
    const now = performance.now();
    timings[stage] = now - mark;
    mark = now;
  };
  const step = async (message: string, fraction?: number): Promise<void> => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfCancelled(context.signal);
    context.onProgress?.({ message, fraction });
  };
  const { method, layer } = request;

  await step(`Running the model to layer "${layer.name}"`, 0);
  let state: CutState | undefined;
  let activations: tf.Tensor4D | undefined;
  let logitsTensor: tf.Tensor | undefined;
  let gradients: tf.Tensor4D | null = null;
  let camTensor: tf.Tensor | undefined;
  try {
    if (method.usesGradients) {
      state = forwardToCut(model, input, planCut(model, layer.path));
      activations = state.activation as tf.Tensor4D;
      logitsTensor = state.logits;
    } else {
      const { logits, taps } = forwardWithTaps(model, input, [layer.path]);
      logitsTensor = logits;
      activations = taps[0] as tf.Tensor4D;
    }
    checkSpatial(activations, layer.name);
    const logits = (await logitsTensor.data()) as Float32Array;
    const classIndex = request.classIndex ?? argMax(logits);
    checkClassIndex(classIndex, logits.length);
    lap('forward');

    if (state) {
      await step('Computing gradients', 0.3);
      gradients = classScoreGradient(model, state, classIndex, logits.length);
      lap('gradients');
    }

    await step(`Computing the ${method.name} map`, 0.6);
    const inputs: CamInputs = {
      activations,
      gradients,
      input,
      classIndex,
      logits: (batch) => computeLogits(model, batch) as tf.Tensor2D,
      step,
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
    timings.total = performance.now() - started;
    context.onProgress?.({ message: 'Done', fraction: 1 });

    return {
      method: method.name,
      backend: request.backend,
      layer: layer.name,
      classIndex,
      className: request.labels[classIndex] ?? `class ${classIndex}`,
      score: logits[classIndex],
      predictions: topPredictions(logits, request.labels, request.topK),
      cam,
      layerCam,
      timings,
    };
  } catch (error) {
    throw explainMissingKernel(error, layer.name);
  } finally {
    if (state) {
      disposeCutState(state);
    } else {
      tf.dispose([activations, logitsTensor] as tf.Tensor[]);
    }
    tf.dispose([gradients, camTensor].filter((t): t is tf.Tensor => t != null));
  }
}

/**
 * d(pre-softmax score of classIndex)/d(activation) through the cut executor. The score is picked
 * with a one-hot product rather than gather: gather's gradient (UnsortedSegmentSum) is missing on
 * wasm. Over a batch this sums per-example scores, whose gradients stay per example.
 */
export function classScoreGradient(model: tf.LayersModel, state: CutState, classIndex: number, numClasses: number): tf.Tensor4D {
  return tf.tidy(() => {
    const oneHot = new Float32Array(numClasses);
    oneHot[classIndex] = 1;
    const pick = tf.tensor2d(oneHot, [1, numClasses]);
    const score = (activation: tf.Tensor) => tf.sum(tf.mul(logitsFromCut(model, state, activation), pick));
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
    throw new EngineError(`Layer "${name}" produced a ${activations.rank}-D value [${activations.shape}]; a CAM needs a 4-D one.`, 'bad-request');
  }
}

export function checkClassIndex(classIndex: number, numClasses: number): void {
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= numClasses) {
    throw new EngineError(`Class index ${classIndex} is out of range: the model has ${numClasses} classes, 0 to ${numClasses - 1}.`, 'bad-request');
  }
}

/** A backend without a kernel the model needs (often a gradient kernel on wasm) is named as such. */
function explainMissingKernel(error: unknown, layer: string): unknown {
  const message = error instanceof Error ? error.message : '';
  const missing = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(message);
  if (!missing) {
    return error;
  }
  return new EngineError(
    `The ${missing[2]} backend has no "${missing[1]}" kernel, which this model needs at layer "${layer}"; ` +
      'choose another backend (cpu runs every kernel).',
    'unsupported',
  );
}
