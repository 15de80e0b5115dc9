// HiResCAM (Draelos & Carin, 2020): sum_k g_k ⊙ A_k, element-wise, no averaging. For models whose
// head is a global average pool and a dense layer it equals the score's exact contribution of each
// position, so the map is provably faithful to the score there.
import type { CamImageMethod } from '../pipeline';
import * as tf from '../../tf';

export const hiResCam: CamImageMethod = {
  name: 'hirescam',
  usesGradients: true,
  camImage({ activations, gradients }) {
    if (!gradients) {
      throw new Error('HiResCAM needs gradients.');
    }
    const [, h, w] = activations.shape;
    return tf.tidy(() => tf.reshape(tf.sum(tf.mul(gradients, activations), -1), [h, w]) as tf.Tensor2D);
  },
};
