// Conv2D and Dense layers computed unfused while a gradient is being taken.
//
// tfjs-layers runs Conv2D as tf.fused.conv2d and Dense as tf.fused.matMul (product + bias +
// activation in one kernel). Under a gradient tape tfjs keeps the fused op when the activation is
// linear or fusable (every conv before a batch norm, as in ResNets and MobileNets; every classifier)
// and gives it a custom gradient that computes the input, the weight AND the bias gradients
// eagerly. Attribution methods differentiate activations and inputs, never weights, so the weight
// gradient is thrown away: for a conv a full convolution per layer (a fifth of a MobileNetV2
// backward pass), for MobileNetV2's 1280×1000 classifier an outer product of 10 ms, most of a
// Grad-CAM's backward pass. The same layer written as conv2d (or matMul) → add → activation records
// one tape node per op, and tfjs then computes only the gradients on the path to the input.
//
// Outside a gradient tape the layer's own (fused, faster) call is used.
import * as tf from '../tf';

/** The parts of tfjs-layers' Conv2D read here (protected members, so described structurally). */
interface Conv2DInternals {
  getClassName(): string;
  rank: number;
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number[];
  useBias: boolean;
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
  activation?: { apply(x: tf.Tensor): tf.Tensor } | null;
}

/** The parts of tfjs-layers' Dense read here. */
interface DenseInternals {
  getClassName(): string;
  useBias: boolean;
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
  activation?: { apply(x: tf.Tensor): tf.Tensor } | null;
}

/** True while tfjs records operations for a gradient (inside tf.grad / tf.variableGrads). */
export function recordingGradients(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

/**
 * Runs a 2-D convolution layer as separate ops when a gradient is being recorded; returns undefined
 * for any other layer or configuration (the caller then uses the layer's own call).
 */
export function callConv2DUnfused(layer: unknown, input: tf.Tensor): tf.Tensor | undefined {
  const conv = layer as Conv2DInternals;
  if (!recordingGradients() || conv.getClassName() !== 'Conv2D' || conv.rank !== 2 || conv.dataFormat !== 'channelsLast' || conv.padding === 'causal') {
    return undefined;
  }
  if (input.rank !== 4) {
    return undefined;
  }
  const [strideH, strideW] = conv.strides;
  const [dilationH, dilationW] = conv.dilationRate;
  let output: tf.Tensor = tf.conv2d(input as tf.Tensor4D, conv.kernel.read() as tf.Tensor4D, [strideH, strideW], conv.padding, 'NHWC', [dilationH, dilationW]);
  if (conv.useBias && conv.bias) {
    output = tf.add(output, conv.bias.read());
  }
  return conv.activation ? conv.activation.apply(output) : output;
}

/**
 * Runs a Dense layer on a batch of vectors as separate ops when a gradient is being recorded;
 * undefined otherwise (other layers, inputs of rank above 2: the layer's own call).
 */
export function callDenseUnfused(layer: unknown, input: tf.Tensor): tf.Tensor | undefined {
  const dense = layer as DenseInternals;
  if (!recordingGradients() || dense.getClassName() !== 'Dense' || input.rank !== 2) {
    return undefined;
  }
  let output: tf.Tensor = tf.matMul(input as tf.Tensor2D, dense.kernel.read() as tf.Tensor2D);
  if (dense.useBias && dense.bias) {
    output = tf.add(output, dense.bias.read());
  }
  return dense.activation ? dense.activation.apply(output) : output;
}

/** The unfused form of a Conv2D or Dense layer under a gradient tape; undefined for every other case. */
export function callUnfused(layer: unknown, input: tf.Tensor): tf.Tensor | undefined {
  return callConv2DUnfused(layer, input) ?? callDenseUnfused(layer, input);
}

/**
 * A ReLU layer with maxValue 6 (how converted Keras MobileNets write ReLU6) as the one op Relu6.
 * tfjs-layers computes it as relu then clipByValue: two passes forward, two masked gradients
 * backward (a third of a MobileNetV2 input gradient on wasm). Relu6 has exactly their values
 * and their gradient (1 where 0 < x ≤ 6, so 0 at x = 0 as relu's). Undefined for other layers.
 */
export function callReluSixAsOneOp(layer: unknown, input: tf.Tensor): tf.Tensor | undefined {
  const relu = layer as { getClassName(): string; maxValue?: number | null };
  return relu.getClassName() === 'ReLU' && relu.maxValue === 6 ? tf.relu6(input) : undefined;
}
