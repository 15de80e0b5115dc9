// The gradient of batch normalisation, registered over tfjs-core's own (FusedBatchNorm_grad.js in
// tfjs-core 4.22). Same values; two costs removed:
// - tfjs tiles 1/sqrt(variance + eps) to the full [N, H, W, 1]... shape before multiplying, where a
//   broadcast over the channel axis gives the same numbers (the largest single cost of an input
//   gradient through MobileNetV2 on wasm: more than a third of the backward pass);
// - tfjs computes x − mean and dy·scale eagerly, full size, even when only dx is wanted (every
//   attribution method differentiates activations or the input, never the statistics).
// Each derivative is computed only when the tape asks for it.
import { add, mul, neg, reshape, rsqrt, scalar, sub, sum, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';
import { FusedBatchNorm, backend_util } from '@tensorflow/tfjs-core';

export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const grad = dy as Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    // Statistics of rank 1 broadcast along the last (channel) axis of x, as in the forward kernel;
    // otherwise they have x's shape. Either way, plain broadcasting is what the forward pass did.
    const reductionAxes = backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: Tensor) => reshape(reductionAxes.length > 0 ? sum(t, reductionAxes) : t, mean.shape);
    const invStd = () => rsqrt(add(variance, scalar(varianceEpsilon)));
    const scaled = (t: Tensor) => (scale == null ? t : mul(t, scale));
    return {
      // d/dx = dy · scale / sqrt(var + eps): one broadcast multiply by a [C] vector.
      x: () => reshape(mul(grad, scaled(invStd())), x.shape),
      mean: () => reduce(mul(grad, neg(scaled(invStd())))),
      variance: () => {
        const r = invStd();
        const minusHalfRCube = mul(mul(mul(r, r), r), scalar(-0.5));
        return reduce(mul(mul(sub(x, mean), scaled(minusHalfRCube)), grad));
      },
      scale: () => reduce(mul(grad, mul(sub(x, mean), invStd()))),
      offset: () => reduce(grad),
    };
  },
};
