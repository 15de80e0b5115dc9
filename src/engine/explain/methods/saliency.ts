// Saliency (Simonyan et al., 2014; Captum's Saliency): the gradient of the pre-softmax class score
// with respect to the input pixels; the map is max over channels of |gradient|. One backward pass:
// fast, sharp and noisy; it shows what the score is locally sensitive to, not what it relies on.
import type { InputAttributionMethod } from '../pipeline';

export const saliency: InputAttributionMethod = {
  name: 'saliency',
  usesGradients: true,
  usesLayer: false,
  reduce: 'max-abs',
  async attribute({ input, inputGradients }) {
    return inputGradients(input);
  },
};
