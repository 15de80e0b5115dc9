// Eigen-CAM (Bany Muhammad & Yeasin, 2020), as pytorch-grad-cam's get_2d_projection computes it:
// the activations as an (h·w)×c matrix, each channel centred over the positions, projected on
// their first principal component (first right singular vector). Class-agnostic: no gradients,
// the same map for every class.
//
// The sign of a singular vector is arbitrary, and the reference leaves it so (its map can come out
// inverted, then the ReLU keeps the background). CNN Lens fixes it: the projection is flipped when
// it correlates negatively with the activations' mean over channels, so the map highlights where
// the layer is most active.
import { firstPrincipalProjection } from '../linalg';
import type { CamImageMethod } from '../pipeline';
import * as tf from '../../tf';

/** The signed projection, [h·w] row-major; exported for tests. */
export function eigenProjection(values: Float32Array, positions: number, channels: number): Float64Array {
  const x = new Float64Array(positions * channels);
  for (let k = 0; k < channels; k++) {
    let mean = 0;
    for (let r = 0; r < positions; r++) {
      const v = values[r * channels + k];
      mean += Number.isNaN(v) ? 0 : v;
    }
    mean /= positions;
    for (let r = 0; r < positions; r++) {
      const v = values[r * channels + k];
      x[r * channels + k] = (Number.isNaN(v) ? 0 : v) - mean;
    }
  }
  const projection = firstPrincipalProjection(x, positions, channels);
  // Correlation with the per-position mean activation (the projection has zero mean already).
  let correlation = 0;
  for (let r = 0; r < positions; r++) {
    let sum = 0;
    for (let k = 0; k < channels; k++) {
      sum += x[r * channels + k];
    }
    correlation += projection[r] * sum;
  }
  if (correlation < 0) {
    projection.forEach((v, i) => (projection[i] = -v));
  }
  return projection;
}

export const eigenCam: CamImageMethod = {
  name: 'eigencam',
  usesGradients: false,
  async camImage({ activations }) {
    const [, h, w, c] = activations.shape;
    const values = (await activations.data()) as Float32Array;
    return tf.tensor2d(Float32Array.from(eigenProjection(values, h * w, c)), [h, w]);
  },
};
