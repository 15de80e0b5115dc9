// Grad-CAM (Selvaraju et al., 2017): each channel weighs by the spatial mean of the class score's
// gradient, w_k = mean_ij dS/dA_ij^k. The pipeline does the weighted sum, ReLU and scaling.
import type { ChannelWeightMethod } from '../pipeline';
import * as tf from '../../tf';

export const gradCam: ChannelWeightMethod = {
  name: 'gradcam',
  usesGradients: true,
  channelWeights(_activations, gradients) {
    if (!gradients) {
      throw new Error('Grad-CAM needs gradients.');
    }
    // NHWC: height and width are axes 1 and 2.
    return tf.mean(gradients, [0, 1, 2]);
  },
};
