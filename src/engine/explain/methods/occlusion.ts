// Occlusion (Zeiler & Fergus, 2014; Captum's Occlusion): a square patch of a uniform grey slides
// over the input; each pixel's value is the mean, over the patches covering it, of the drop in the
// pre-softmax class score when that patch is hidden. Occluded inputs are scored in batches. The map
// keeps the positive drops (evidence for the class). The last row and column of patches are moved
// flush with the border, so every pixel is covered. Model-agnostic and easy to trust; slow, and
// coarse at the patch's scale.
import type { InputAttributionMethod } from '../pipeline';
import * as tf from '../../tf';

/** Patch starts along one side: 0, stride, 2·stride, … and one flush with the end. */
export function patchStarts(size: number, patch: number, stride: number): number[] {
  const starts: number[] = [];
  for (let start = 0; start + patch <= size; start += stride) {
    starts.push(start);
  }
  if (starts[starts.length - 1] !== size - patch) {
    starts.push(size - patch);
  }
  return starts;
}

export const occlusion: InputAttributionMethod = {
  name: 'occlusion',
  usesGradients: false,
  usesLayer: false,
  reduce: 'positive',
  optionNames: ['patch', 'stride', 'fill', 'batchSize'],
  async attribute(inputs) {
    const { input, options } = inputs;
    const [, height, width] = input.shape;
    const patch = options.patch;
    const windows = patchStarts(height, patch, options.stride).flatMap((y) => patchStarts(width, patch, options.stride).map((x) => ({ x, y })));
    const total = new Float64Array(height * width);
    const count = new Float64Array(height * width);
    const grey = inputs.greyLevel(options.fill);
    try {
      for (let start = 0; start < windows.length; start += options.batchSize) {
        await inputs.step(`patches ${start + 1}–${Math.min(start + options.batchSize, windows.length)} of ${windows.length}`, start / windows.length);
        const chunk = windows.slice(start, start + options.batchSize);
        const mask = new Float32Array(chunk.length * height * width);
        chunk.forEach(({ x, y }, b) => {
          for (let row = y; row < y + patch; row++) {
            mask.fill(1, b * height * width + row * width + x, b * height * width + row * width + x + patch);
          }
        });
        const batch = tf.tidy(() => {
          const hidden = tf.tensor4d(mask, [chunk.length, height, width, 1]);
          return tf.add(tf.mul(input, tf.sub(1, hidden)), tf.mul(grey, hidden)) as tf.Tensor4D;
        });
        let scores: Float32Array;
        try {
          scores = await inputs.classScores(batch);
        } finally {
          batch.dispose();
        }
        chunk.forEach(({ x, y }, b) => {
          const drop = inputs.score - scores[b];
          for (let row = y; row < y + patch; row++) {
            for (let col = x; col < x + patch; col++) {
              total[row * width + col] += drop;
              count[row * width + col] += 1;
            }
          }
        });
      }
    } finally {
      grey.dispose();
    }
    const map = Float32Array.from(total, (sum, i) => sum / count[i]);
    return tf.tensor4d(map, [1, height, width, 1]);
  },
};
