// DepthwiseConv2dNativeBackpropInput for the wasm backend: the gradient of a depthwise conv with
// respect to its input, which every Grad-CAM through a MobileNet-style block needs.
//
// Strategy: the transposed convolution written as a forward one on the wasm backend. With stride s,
// dilation d, top/left padding p, channel multiplier M and effective kernel size K = (k−1)·d + 1,
//   dx[b, h, w, c] = Σ_{oh, ow, kh, kw, q} dy[b, oh, ow, c·M + q] · f[kh, kw, c, q],  h = oh·s + kh·d − p.
// Spreading dy (s − 1 zeros between rows and columns), padding it by K − 1 − p on the top/left and
// correlating with the spatially flipped filter (dilation d, stride 1) gives the inner sum for each
// of the C·M channels: a DepthwiseConv2dNative with multiplier 1 over the [k, k, C·M, 1] filter.
// The Σ over q then sums groups of M adjacent channels (a reshape and a Sum; skipped when M = 1,
// the MobileNet case). Exact up to summation order, and runs on XNNPACK's depthwise convolution.
import * as tf from '../../tf';
import { WASM, checkOutputShape, explicitPad, requireInputs, sizeOf, withScratch } from './wasmOps';

const depthwiseConv2dNativeBackpropInput: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = requireInputs(tf.DepthwiseConv2dNativeBackpropInput, inputs, ['dy', 'filter']);
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  checkOutputShape(tf.DepthwiseConv2dNativeBackpropInput, dy, info.outShape);
  const [kh, kw, channels, multiplier] = filterShape;
  if (inputShape[3] !== channels) {
    throw new Error(`src/engine/kernels/wasm DepthwiseConv2dNativeBackpropInput: filter [${filterShape}] does not fit inputShape [${inputShape}].`);
  }

  return withScratch(backend, (scratch) => {
    if (sizeOf(dy.shape) === 0 || sizeOf(filterShape) === 0 || sizeOf(inputShape) === 0) {
      return scratch.zeros([...inputShape], 'float32'); // no output position reads any input
    }
    const [batch, height, width] = inputShape;
    const { strideHeight, strideWidth, dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
    const { top, left } = info.padInfo;

    const { spread, extraRows, extraCols } = scratch.spread(dy, strideHeight, strideWidth);
    const spreadHeight = spread.shape[1] - extraRows; // (OH − 1)·s + 1 rows that matter
    const spreadWidth = spread.shape[2] - extraCols;
    const padTop = effectiveFilterHeight - 1 - top;
    const padLeft = effectiveFilterWidth - 1 - left;
    // Bottom/right padding that makes the "valid" correlation exactly H × W; the extra zero rows that
    // spread() appended count against it.
    const padBottom = height + effectiveFilterHeight - 1 - spreadHeight - padTop - extraRows;
    const padRight = width + effectiveFilterWidth - 1 - spreadWidth - padLeft - extraCols;
    const cropped = scratch.padOrCrop(spread, [[Math.min(padTop, 0), Math.min(padBottom, 0)], [Math.min(padLeft, 0), Math.min(padRight, 0)]]);

    const flipped = scratch.reverse(filter, [0, 1]);
    const perChannel = scratch.reshape(flipped, [kh, kw, channels * multiplier, 1]);
    const partial = scratch.run(
      tf.DepthwiseConv2dNative,
      { x: cropped, filter: perChannel },
      {
        strides: [1, 1],
        dilations: [dilationHeight, dilationWidth],
        pad: explicitPad([[Math.max(padTop, 0), Math.max(padBottom, 0)], [Math.max(padLeft, 0), Math.max(padRight, 0)]]),
      },
    ); // [b, H, W, C·M]
    if (multiplier === 1) {
      return partial;
    }
    const grouped = scratch.reshape(partial, [batch * height * width * channels, multiplier]);
    const summed = scratch.sum(grouped, [1]);
    return scratch.reshape(summed, [batch, height, width, channels]);
  });
};

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: WASM,
  kernelFunc: depthwiseConv2dNativeBackpropInput,
};
