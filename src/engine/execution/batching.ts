// How many inputs one pass may take. Sampling methods (SmoothGrad, Integrated Gradients, Score-CAM,
// occlusion, the metrics) ask for batches of `batchSize`; a batch's memory grows with the model's
// activations, and a gradient pass keeps every intermediate value of the forward pass until the
// backward pass has used it. Measured with wasm's heap on this project's machine: a MobileNetV2
// (224×224) gradient pass takes about 250 MB per image, so 16 images would need 4 GB; and on wasm
// a batch is no faster per image than one image at a time (XNNPACK runs one thread), while every
// new page of memory costs time when first touched (2 GB: 9 s here). So passes are split to stay
// under a memory budget: small models keep whole batches, large ones run a few images at a time.
import { describeLayers } from './layers';
import * as tf from '../tf';

/** Memory a single pass may use for its activations (the weights are not counted). */
export const BATCH_MEMORY_BYTES = 512 * 2 ** 20;

/**
 * Bytes a pass holds per input, as multiples of the sum of every layer's output: measured on wasm
 * (MobileNetV2, ResNet-18) as the heap's growth per image, 3 to 3.5 with a gradient (the tape keeps
 * each layer's output and the intermediate values of its ops: batch-norm, activation, padding), 1.5
 * without one (the graph executor frees a layer's values at the end of the pass, not earlier).
 */
const GRADIENT_PASS_FACTOR = 3.5;
const FORWARD_PASS_FACTOR = 1.5;

const activationBytesCache = new WeakMap<tf.LayersModel, number>();

/** Sum of every layer's output size for one input, in bytes (float32); nested models count their layers. */
export function activationBytesPerInput(model: tf.LayersModel): number {
  const cached = activationBytesCache.get(model);
  if (cached !== undefined) {
    return cached;
  }
  let elements = 0;
  for (const layer of describeLayers(model)) {
    // A nested model's output is its last layer's, and its input layer's is its caller's value: both already counted.
    const container = layer.className === 'Functional' || layer.className === 'Sequential' || layer.className === 'Model';
    if (container || (layer.className === 'InputLayer' && layer.depth > 0)) {
      continue;
    }
    elements += layer.outputShape.slice(1).reduce<number>((product, d) => product * (d ?? 1), 1);
  }
  const bytes = elements * 4;
  activationBytesCache.set(model, bytes);
  return bytes;
}

/** Most inputs one pass of this model may take within the budget (at least 1). */
export function maxInputsPerPass(model: tf.LayersModel, kind: 'gradient' | 'forward', budgetBytes = BATCH_MEMORY_BYTES): number {
  const perInput = activationBytesPerInput(model) * (kind === 'gradient' ? GRADIENT_PASS_FACTOR : FORWARD_PASS_FACTOR);
  return perInput > 0 ? Math.max(1, Math.floor(budgetBytes / perInput)) : Number.MAX_SAFE_INTEGER;
}

/**
 * Runs `pass` over a batch in consecutive slices of at most `maxInputs` inputs and concatenates the
 * results along the batch axis; one call when the batch fits. `pass` must return a tensor whose
 * first axis is the slice's inputs. The caller disposes the result.
 */
export function inSlices<T extends tf.Tensor>(batch: tf.Tensor4D, maxInputs: number, pass: (slice: tf.Tensor4D) => T): T {
  const size = batch.shape[0];
  if (size <= maxInputs) {
    return pass(batch);
  }
  const parts: T[] = [];
  try {
    for (let start = 0; start < size; start += maxInputs) {
      const slice = tf.slice(batch, [start, 0, 0, 0], [Math.min(maxInputs, size - start), -1, -1, -1]) as tf.Tensor4D;
      try {
        parts.push(pass(slice));
      } finally {
        slice.dispose();
      }
    }
    return tf.concat(parts, 0) as T;
  } finally {
    tf.dispose(parts);
  }
}
