// Conv2DBackpropFilter for the wasm backend: the gradient of conv2d with respect to its filter.
// Grad-CAM needs it even though it differentiates activations, not weights: tfjs's fused conv2d
// (what tf.layers' Conv2D runs when no activation follows, e.g. before a batch-norm) computes
// both input and filter gradients in one custom gradient.
//
// Strategy: one forward Conv2D on the wasm backend (XNNPACK), over transposed tensors. With the
// forward stride s and top/left padding p,
//   dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh·s + kh − p, ow·s + kw − p, ci] · dy[b, oh, ow, co],
// which is a stride-1 convolution with dilation s of x viewed as [ci, H, W, b] (channels as the
// batch, the batch as channels) by dy viewed as a filter [OH, OW, b, co]. Its output
// [ci, KH, KW, co] is dW up to a transpose. Exact (only the summation order differs from the cpu
// kernel), and as fast as the backend's forward convolution.
import * as tf from '../../tf';
import { type WasmScratch, WASM, checkOutputShape, explicitPad, padInNhwcOrder, requireInputs, sizeOf, withScratch } from './wasmOps';

const conv2dBackpropFilter: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = requireInputs(tf.Conv2DBackpropFilter, inputs, ['x', 'dy']);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  return withScratch(backend, (scratch) => {
    // The wasm Conv2D is NHWC only: bring NCHW operands to NHWC first (the filter is HWIO in both).
    const channelsFirst = dataFormat === 'NCHW';
    const xNhwc = channelsFirst ? scratch.transpose(x, [0, 2, 3, 1]) : x;
    const dyNhwc = channelsFirst ? scratch.transpose(dy, [0, 2, 3, 1]) : dy;
    const padNhwc = padInNhwcOrder(pad, channelsFirst);
    return filterGradientNhwc(scratch, xNhwc, dyNhwc, filterShape, strides, padNhwc, dimRoundingMode);
  });
};

function filterGradientNhwc(
  scratch: WasmScratch,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  strides: tf.Conv2DBackpropFilterAttrs['strides'],
  pad: tf.Conv2DBackpropFilterAttrs['pad'],
  dimRoundingMode: tf.Conv2DBackpropFilterAttrs['dimRoundingMode'],
): tf.TensorInfo {
  const xShape = x.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  checkOutputShape('Conv2DBackpropFilter', dy, info.outShape);
  const [kh, kw, inChannels, outChannels] = filterShape;
  if (xShape[3] !== inChannels || dy.shape[3] !== outChannels) {
    throw new Error(`src/engine/kernels/wasm Conv2DBackpropFilter: filterShape [${filterShape}] does not fit x [${xShape}] and dy [${dy.shape}].`);
  }
  if (sizeOf(x.shape) === 0 || sizeOf(dy.shape) === 0) {
    return scratch.zeros(filterShape, 'float32'); // a sum over no positions
  }
  const [, height, width] = xShape;
  const [, outHeight, outWidth] = dy.shape;
  const { strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  // Rows of padded x that the dilated "filter" (dy) touches: exactly KH output rows, so the bottom
  // padding is whatever makes the padded height (KH - 1) + (OH - 1)·s + 1; negative means rows of x
  // that no output position reads (valid padding with a stride), which are cropped.
  const bottom = kh - 1 + (outHeight - 1) * strideHeight + 1 - height - top;
  const right = kw - 1 + (outWidth - 1) * strideWidth + 1 - width - left;

  const xAsBatch = scratch.transpose(x, [3, 1, 2, 0]); // [ci, H, W, b]
  const xCut = scratch.padOrCrop(xAsBatch, [[Math.min(top, 0), Math.min(bottom, 0)], [Math.min(left, 0), Math.min(right, 0)]]);
  const dyAsFilter = scratch.transpose(dy, [1, 2, 0, 3]); // [OH, OW, b, co]
  const gradient = scratch.run(
    tf.Conv2D,
    { x: xCut, filter: dyAsFilter },
    {
      strides: [1, 1],
      dilations: [strideHeight, strideWidth],
      pad: explicitPad([[Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)]]),
      dataFormat: 'NHWC',
    },
  ); // [ci, KH, KW, co]
  return scratch.transpose(gradient, [1, 2, 0, 3]);
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM,
  kernelFunc: conv2dBackpropFilter,
};
