// LayerCAM (Jiang et al., 2021): sum_k relu(g_k) ⊙ A_k, element-wise. Each position keeps its own
// positive gradient instead of a channel-wide weight, so maps from early layers stay sharp.
import type { CamImageMethod } from '../pipeline';
import * as tf from '../../tf';

export const layerCam: CamImageMethod = {
  name: 'layercam',
  usesGradients: true,
  camImage({ activations, gradients }) {
    if (!gradients) {
      throw new Error('LayerCAM needs gradients.');
    }
    const [, h, w] = activations.shape;
    return tf.tidy(() => tf.reshape(tf.sum(tf.mul(tf.relu(gradients), activations), -1), [h, w]) as tf.Tensor2D);
  },
};
