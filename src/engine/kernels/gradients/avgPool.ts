// The gradient of average pooling, registered over tfjs-core's (AvgPool_grad.js in 4.22). Its
// forward kernel divides each window's sum by the inputs inside the image ('same' padding leaves
// the padding out, as TensorFlow does), but its gradient divides by the whole window: at the
// borders of a 'same' pooling the gradient was too small (a 2×2 window with one row of padding got
// half its share), so the maps of every gradient method were off there. Each output's gradient is
// scaled by window / inputs-inside before AvgPoolGrad spreads it: exact for every padding, a no-op
// for 'valid' windows.
import { AvgPool, AvgPoolGrad, backend_util, engine, mul, tensor4d, type GradConfig, type NamedAttrMap, type Tensor, type Tensor4D } from '@tensorflow/tfjs-core';

interface AvgPoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** window size / inputs inside, per output position ([1, outH, outW, 1]); null when every window is inside. */
export function windowShares(shape: [number, number, number, number], attrs: AvgPoolAttrs): Tensor4D | null {
  const info = backend_util.computePool2DInfo(shape, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const inside = (out: number, stride: number, pad: number, filter: number, size: number): number => {
    const start = out * stride - pad;
    return Math.min(size, start + filter) - Math.max(0, start);
  };
  const shares = new Float32Array(info.outHeight * info.outWidth);
  let partial = false;
  for (let i = 0; i < info.outHeight; i++) {
    const rows = inside(i, info.strideHeight, info.padInfo.top, info.filterHeight, info.inHeight);
    for (let j = 0; j < info.outWidth; j++) {
      const count = rows * inside(j, info.strideWidth, info.padInfo.left, info.filterWidth, info.inWidth);
      const share = count > 0 ? (info.filterHeight * info.filterWidth) / count : 0;
      partial ||= share !== 1;
      shares[i * info.outWidth + j] = share;
    }
  }
  return partial ? tensor4d(shares, [1, info.outHeight, info.outWidth, 1]) : null;
}

export const avgPoolGradConfig: GradConfig = {
  kernelName: AvgPool,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor4D];
    const pool = attrs as unknown as AvgPoolAttrs;
    return {
      x: () => {
        const shares = windowShares(x.shape, pool);
        const scaled = shares ? mul(dy as Tensor, shares) : (dy as Tensor);
        return engine().runKernel(AvgPoolGrad, { dy: scaled, input: x }, { filterSize: pool.filterSize, strides: pool.strides, pad: pool.pad } as unknown as NamedAttrMap) as Tensor;
      },
    };
  },
};
