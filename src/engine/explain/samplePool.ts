// More cores for the sampling methods. tfjs's wasm backend runs one thread in Node (its threaded
// build is switched off there), so a second core only helps as a second engine: another worker
// with the same model that takes part of each batch. SmoothGrad, Integrated Gradients, Score-CAM
// and occlusion run many independent passes over a batch, so a batch split in two runs in about
// half the time on two cores. The engine only sees this interface; src/worker/helperEngines.ts runs
// the other workers.
import { inSlices, maxInputsPerPass } from '../execution/batching';
import { classScoresOf, computeLogits, logitsOf } from '../execution/graph';
import * as tf from '../tf';
import type { SamplePart } from '../../shared/worker';
export type { SamplePart } from '../../shared/worker';

export interface SamplePool {
  /** Engines besides this one that take parts of a batch. */
  readonly helpers: number;
  /**
   * Runs one part elsewhere: d(class score)/d(input) for each input ([n, h, w, c] values), each
   * input's class score ([n]) or its logits ([n, classes]). Rejects when the helper fails; the
   * caller then computes the part itself.
   */
  run(part: SamplePart, signal?: AbortSignal): Promise<Float32Array>;
}

/**
 * One sampling pass of a batch in this engine: what a helper runs for a SamplePart, and what the
 * pipeline runs for its own part. Passes over more inputs than the memory budget allows run in
 * slices (batching.ts); `onPass` sees each slice.
 */
export function runSamplePass(
  model: tf.LayersModel,
  batch: tf.Tensor4D,
  part: Pick<SamplePart, 'pass' | 'classIndex' | 'guided' | 'output'>,
  batchMemoryBytes: number,
  onPass: (slice: tf.Tensor4D) => void = () => undefined,
): tf.Tensor {
  if (part.pass === 'logits') {
    return inSlices(batch, maxInputsPerPass(model, 'forward', batchMemoryBytes), (slice) => {
      onPass(slice);
      return computeLogits(model, slice);
    });
  }
  if (part.pass === 'classScores') {
    return inSlices(batch, maxInputsPerPass(model, 'forward', batchMemoryBytes), (slice) => {
      onPass(slice);
      return tf.tidy(() => classScoresOf(logitsOf(model, slice), part.classIndex));
    });
  }
  return inSlices(batch, maxInputsPerPass(model, 'gradient', batchMemoryBytes), (slice) => {
    onPass(slice);
    return tf.tidy(() => {
      const score = (x: tf.Tensor) => tf.sum(classScoresOf(logitsOf(model, x, { guided: part.guided }), part.classIndex));
      return tf.grad(score)(slice) as tf.Tensor4D;
    });
  });
}

/**
 * How many of a batch's inputs go to the helpers: an equal share each, this engine keeping the
 * rest (it also runs the method's own work between passes). None for a single input.
 */
export function helperShare(inputs: number, helpers: number): number[] {
  if (inputs < 2 || helpers < 1) {
    return [];
  }
  const engines = Math.min(helpers + 1, inputs);
  const each = Math.floor(inputs / engines);
  return Array.from({ length: engines - 1 }, () => each);
}
