// Score-CAM (Wang et al., 2020), as pytorch-grad-cam computes it: each channel of the layer,
// upsampled to the input (bilinear, corners aligned as torch's UpsamplingBilinear2d) and min-max
// normalised, masks the input; the masked inputs are scored by forward passes in batches, and the
// channel weights are the softmax over channels of those pre-softmax class scores. No gradients:
// one forward pass per channel, so it is slow on wide layers (batchSize trades memory for speed).
import type { CamImageMethod } from '../pipeline';
import * as tf from '../../tf';

export const scoreCam: CamImageMethod = {
  name: 'scorecam',
  usesGradients: false,
  optionNames: ['batchSize'],
  async camImage(inputs) {
    const { activations, input, options } = inputs;
    const [, h, w, channels] = activations.shape;
    const [, height, width] = input.shape;
    const masks = tf.tidy(() => {
      const upsampled = tf.image.resizeBilinear(activations, [height, width], true);
      const min = tf.min(upsampled, [1, 2], true);
      const max = tf.max(upsampled, [1, 2], true);
      return tf.div(tf.sub(upsampled, min), tf.add(tf.sub(max, min), 1e-8)) as tf.Tensor4D; // [1, H, W, c]
    });
    const scores = new Float64Array(channels);
    try {
      for (let start = 0; start < channels; start += options.batchSize) {
        await inputs.step(`scoring channels ${start + 1}–${Math.min(start + options.batchSize, channels)} of ${channels}`, start / channels);
        const size = Math.min(options.batchSize, channels - start);
        const batch = tf.tidy(() => {
          const channelMasks = tf.transpose(tf.slice(masks, [0, 0, 0, start], [1, height, width, size]), [3, 1, 2, 0]); // [size, H, W, 1]
          return tf.mul(input, channelMasks) as tf.Tensor4D;
        });
        try {
          const batchScores = await inputs.classScores(batch);
          scores.set(batchScores, start);
        } finally {
          batch.dispose();
        }
      }
    } finally {
      masks.dispose();
    }
    const weights = softmax(scores);
    return tf.tidy(() => {
      const weighted = tf.mul(activations, tf.tensor4d(Float32Array.from(weights), [1, 1, 1, channels]));
      return tf.reshape(tf.sum(weighted, -1), [h, w]) as tf.Tensor2D;
    });
  },
};

function softmax(values: Float64Array): Float64Array {
  const max = Math.max(...values);
  const exp = values.map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / sum);
}
