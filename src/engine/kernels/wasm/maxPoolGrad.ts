// MaxPoolGrad for the wasm backend. wasm 4.22's own kernel (and its MaxPoolWithArgmax) start the
// running maximum at FLT_MIN, the smallest positive float, so windows of zeros or negatives (every
// window after a ReLU that is all zeros) route the gradient to the wrong element. The cpu kernel is
// right but slow (450 ms for ResNet-18's stem pool, through generic buffer accessors and copies).
//
// This is the cpu kernel's definition as one tight loop over the wasm heap: each output window
// sends its dy to the window's first maximum in scan order (strict >, starting from -Infinity,
// padding never chosen), and overlapping windows add up.
import * as tf from '../../tf';
import { WASM, type WasmBackend, requireInputs } from './wasmOps';

const maxPoolGrad: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input } = requireInputs(tf.MaxPoolGrad, inputs, ['dy', 'input']);
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const [batch, outHeight, outWidth, channels] = info.outShape;
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== info.outShape[i])) {
    throw new Error(`src/engine/kernels/wasm MaxPoolGrad: dy has shape [${dy.shape}], the pool's output is [${info.outShape}].`);
  }
  const wasm = backend as WasmBackend;
  const out = wasm.makeOutput(input.shape, 'float32');
  // Views after makeOutput: an allocation may grow (and move) the wasm memory.
  const x = wasm.typedArrayFromHeap(input) as Float32Array;
  const grad = wasm.typedArrayFromHeap(dy) as Float32Array;
  const dx = wasm.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const { inHeight, inWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const { top, left } = info.padInfo;
  const rowStride = inWidth * channels;
  const batchStride = inHeight * rowStride;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - top;
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * strideWidth - left;
        for (let c = 0; c < channels; c++, o++) {
          let best = -Infinity;
          let bestIndex = -1;
          for (let fy = 0; fy < effectiveFilterHeight; fy += dilationHeight) {
            const y = y0 + fy;
            if (y < 0 || y >= inHeight) continue;
            const rowBase = b * batchStride + y * rowStride + c;
            for (let fx = 0; fx < effectiveFilterWidth; fx += dilationWidth) {
              const xx = x0 + fx;
              if (xx < 0 || xx >= inWidth) continue;
              const index = rowBase + xx * channels;
              if (x[index] > best) {
                best = x[index];
                bestIndex = index;
              }
            }
          }
          if (bestIndex >= 0) {
            dx[bestIndex] += grad[o];
          }
        }
      }
    }
  }
  return out;
};

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: WASM,
  kernelFunc: maxPoolGrad,
};
