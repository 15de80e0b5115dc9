// XGrad-CAM (Fu et al., 2020), as pytorch-grad-cam computes it: w_k = sum_ij(g·A) / (sum_ij A + eps),
// the gradient averaged with the activation as its weight (chosen to satisfy the sensitivity and
// conservation axioms).
import type { ChannelWeightMethod } from '../pipeline';
import * as tf from '../../tf';

const EPS = 1e-7;

export const xGradCam: ChannelWeightMethod = {
  name: 'xgradcam',
  usesGradients: true,
  channelWeights(activations, gradients) {
    if (!gradients) {
      throw new Error('XGrad-CAM needs gradients.');
    }
    const sumActivations = tf.sum(activations, [0, 1, 2]);
    return tf.div(tf.sum(tf.mul(gradients, activations), [0, 1, 2]), tf.add(sumActivations, EPS));
  },
};
