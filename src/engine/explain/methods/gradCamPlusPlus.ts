// Grad-CAM++ (Chattopadhay et al., 2018), as pytorch-grad-cam computes it: per position
// alpha = g² / (2g² + sum_ij(A)·g³ + eps), 0 where g = 0, and w_k = sum_ij relu(g)·alpha.
// It weighs channels by where the gradient is positive rather than by its mean, which helps when
// several instances of a class are in the image.
import type { ChannelWeightMethod } from '../pipeline';
import * as tf from '../../tf';

const EPS = 1e-6;

export const gradCamPlusPlus: ChannelWeightMethod = {
  name: 'gradcam++',
  usesGradients: true,
  channelWeights(activations, gradients) {
    if (!gradients) {
      throw new Error('Grad-CAM++ needs gradients.');
    }
    const g2 = tf.square(gradients);
    const g3 = tf.mul(g2, gradients);
    const sumActivations = tf.sum(activations, [1, 2], true); // [1, 1, 1, c]
    const alpha = tf.div(g2, tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumActivations, g3)), EPS));
    const defined = tf.where(tf.notEqual(gradients, 0), alpha, tf.zerosLike(alpha));
    return tf.sum(tf.mul(tf.relu(gradients), defined), [0, 1, 2]);
  },
};
