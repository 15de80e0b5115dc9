// Guided Backpropagation (Springenberg et al., 2015; Captum's GuidedBackprop): the input gradient
// with every ReLU passing back only positive gradients where its input was positive (guidedRelu.ts).
// Crisp edges of what excites the network; it is largely class-insensitive, so use it with
// Grad-CAM (guided-gradcam) to make it class-discriminative.
import type { InputAttributionMethod } from '../pipeline';

export const guidedBackprop: InputAttributionMethod = {
  name: 'guided-backprop',
  usesGradients: true,
  usesLayer: false,
  reduce: 'max-abs',
  async attribute({ input, inputGradients }) {
    return inputGradients(input, { guided: true });
  },
};
