// SmoothGrad (Smilkov et al., 2017), as Captum's NoiseTunnel over Saliency computes it: the mean of
// |gradient| over `samples` copies of the input with Gaussian noise of standard deviation
// noise × (max − min of the input) added; batched. Averaging removes the high-frequency noise of
// the plain gradient. With noise 0 it is exactly Saliency.
import { gaussianArray, gaussianRandom } from '../random';
import type { InputAttributionMethod } from '../pipeline';
import * as tf from '../../tf';

export const smoothGrad: InputAttributionMethod = {
  name: 'smoothgrad',
  usesGradients: true,
  usesLayer: false,
  reduce: 'max-abs',
  optionNames: ['samples', 'noise', 'batchSize', 'seed'],
  async attribute(inputs) {
    const { input, options } = inputs;
    const [, height, width, channels] = input.shape;
    const values = (await input.data()) as Float32Array;
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const sigma = options.noise * (max - min);
    const random = gaussianRandom(options.seed);
    const pixels = height * width * channels;
    let total = tf.zeros([1, height, width, channels]) as tf.Tensor4D;
    for (let start = 0; start < options.samples; start += options.batchSize) {
      await inputs.step(`samples ${start + 1}–${Math.min(start + options.batchSize, options.samples)} of ${options.samples}`, start / options.samples);
      const size = Math.min(options.batchSize, options.samples - start);
      const batch = tf.tidy(() => {
        const noise = tf.tensor4d(gaussianArray(size * pixels, random), [size, height, width, channels]);
        return tf.add(input, tf.mul(noise, sigma)) as tf.Tensor4D;
      });
      const gradients = await inputs.inputGradients(batch);
      const next = tf.tidy(() => tf.add(total, tf.sum(tf.abs(gradients), 0, true)) as tf.Tensor4D);
      tf.dispose([batch, gradients, total]);
      total = next;
    }
    const mean = tf.div(total, options.samples) as tf.Tensor4D;
    total.dispose();
    return mean;
  },
};
