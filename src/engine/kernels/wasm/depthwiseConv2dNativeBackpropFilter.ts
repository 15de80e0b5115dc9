// DepthwiseConv2dNativeBackpropFilter for the wasm backend: the gradient of a depthwise conv with
// respect to its filter. Grad-CAM reaches it through tfjs's fused depthwise conv, whose custom
// gradient computes input and filter gradients together.
//
// Strategy: one forward DepthwiseConv2dNative on the wasm backend over reshaped tensors. With
// stride s, dilation d, top/left padding p and channel multiplier M,
//   dW[kh, kw, c, q] = Σ_{b, oh, ow} x[b, oh·s + kh·d − p, ow·s + kw·d − p, c] · dy[b, oh, ow, c·M + q].
// Viewing x as one image [1, H, W, b·C] (each (b, c) pair a channel) and dy as a depthwise filter
// [OH, OW, b·C, M], a depthwise conv with dilation s and stride d yields, for each (b, c, q), the
// sum over (oh, ow) at every (kh, kw); a Sum over b finishes it. Exact up to summation order.
// (The cpu kernel ignores dilations here; this one honours them, tested against the definition.)
import * as tf from '../../tf';
import { WASM, checkOutputShape, explicitPad, requireInputs, sizeOf, withScratch } from './wasmOps';

const depthwiseConv2dNativeBackpropFilter: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = requireInputs(tf.DepthwiseConv2dNativeBackpropFilter, inputs, ['x', 'dy']);
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const xShape = x.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  checkOutputShape(tf.DepthwiseConv2dNativeBackpropFilter, dy, info.outShape);
  const [kh, kw, channels, multiplier] = filterShape;
  if (xShape[3] !== channels) {
    throw new Error(`src/engine/kernels/wasm DepthwiseConv2dNativeBackpropFilter: filterShape [${filterShape}] does not fit x [${xShape}].`);
  }

  return withScratch(backend, (scratch) => {
    if (sizeOf(x.shape) === 0 || sizeOf(dy.shape) === 0) {
      return scratch.zeros([...filterShape], 'float32'); // a sum over no positions
    }
    const [batch, height, width] = xShape;
    const [, outHeight, outWidth] = dy.shape;
    const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
    const { top, left } = info.padInfo;
    // Padded x must hold exactly the rows read: (KH − 1)·d + (OH − 1)·s + 1. Negative bottom/right
    // padding crops rows that no output position reads (valid padding with a stride).
    const bottom = (kh - 1) * dilationHeight + (outHeight - 1) * strideHeight + 1 - height - top;
    const right = (kw - 1) * dilationWidth + (outWidth - 1) * strideWidth + 1 - width - left;

    const xChannels = scratch.transpose(x, [1, 2, 0, 3]); // [H, W, b, C]
    const xImage = scratch.reshape(xChannels, [1, height, width, batch * channels]);
    const xCut = scratch.padOrCrop(xImage, [[Math.min(top, 0), Math.min(bottom, 0)], [Math.min(left, 0), Math.min(right, 0)]]);
    const dyChannels = scratch.transpose(dy, [1, 2, 0, 3]); // [OH, OW, b, C·M]
    const dyFilter = scratch.reshape(dyChannels, [outHeight, outWidth, batch * channels, multiplier]);
    // The forward conv's stride becomes the dilation of dy-as-filter and its dilation the stride.
    const perImage = scratch.run(
      tf.DepthwiseConv2dNative,
      { x: xCut, filter: dyFilter },
      {
        strides: [dilationHeight, dilationWidth],
        dilations: [strideHeight, strideWidth],
        pad: explicitPad([[Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)]]),
      },
    ); // [1, KH, KW, b·C·M]
    if (batch === 1) {
      return scratch.reshape(perImage, [kh, kw, channels, multiplier]);
    }
    const byBatch = scratch.reshape(perImage, [kh, kw, batch, channels * multiplier]);
    const summed = scratch.sum(byBatch, [2]);
    return scratch.reshape(summed, [kh, kw, channels, multiplier]);
  });
};

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: WASM,
  kernelFunc: depthwiseConv2dNativeBackpropFilter,
};
