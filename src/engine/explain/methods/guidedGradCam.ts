// Guided Grad-CAM (Selvaraju et al., 2017): guided backpropagation multiplied pixel by pixel by the
// Grad-CAM map of the chosen layer, normalised and upsampled to the input as the pipeline does
// (pytorch-grad-cam's example multiplies the same way; Captum's GuidedGradCam upsamples the raw
// layer map instead, which changes only the scale of the result before normalisation).
// High-resolution like guided backprop, class-discriminative like Grad-CAM.
import type { InputAttributionMethod } from '../pipeline';
import * as tf from '../../tf';
import { gradCam } from './gradCam';

export const guidedGradCam: InputAttributionMethod = {
  name: 'guided-gradcam',
  usesGradients: true,
  usesLayer: true,
  reduce: 'max-abs',
  async attribute(inputs) {
    const { input } = inputs;
    const [, height, width] = input.shape;
    const cam = await inputs.camAtLayer(gradCam);
    await inputs.step('guided backpropagation', 0.5);
    const guided = await inputs.inputGradients(input, { guided: true });
    try {
      return tf.tidy(() => tf.mul(guided, tf.tensor4d(cam.cam.data, [1, height, width, 1])) as tf.Tensor4D);
    } finally {
      guided.dispose();
    }
  },
};
