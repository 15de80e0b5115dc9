// Batch normalization folded into the convolution before it. At inference a BatchNormalization
// layer is an affine map per channel, y = (x − mean)·γ/√(var + ε) + β, and a convolution with a
// linear activation is linear per output channel, so the pair is one convolution with scaled
// filters and a new bias. tfjs runs them as two kernels, and on wasm the batch norm is a separate
// pass over the activation: on MobileNetV2 it took as long as all the convolutions of a forward
// pass (29 ms against 17), and its gradient again in every backward pass. Folded, it costs one
// multiplication of the (much smaller) filters per pass.
//
// Only where nobody can see the difference: the convolution's output must feed nothing but the
// batch norm (the graph executor also checks that the pass does not keep it, e.g. for activation
// maps, and that it is not a Grad-CAM cut), the convolution has no activation of its own, and
// both work on the last (channel) axis.
import type { GraphContainer } from './graph';
import { recordingGradients } from './unfusedLayers';
import * as tf from './tf';

/** The parts of tfjs-layers' Conv2D / DepthwiseConv2D and BatchNormalization read here. */
interface ConvInternals {
  getClassName(): string;
  rank?: number;
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number[] | number;
  useBias: boolean;
  kernel?: { read(): tf.Tensor };
  depthwiseKernel?: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
  activation?: { getClassName(): string } | null;
}

interface BatchNormInternals {
  getClassName(): string;
  axis: number;
  epsilon: number;
  scale: boolean;
  center: boolean;
  gamma?: { read(): tf.Tensor } | null;
  beta?: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor };
  movingVariance: { read(): tf.Tensor };
}

interface FoldNode {
  readonly outboundLayer: unknown;
  readonly inputTensors: readonly tf.SymbolicTensor[];
  readonly outputTensors: readonly tf.SymbolicTensor[];
}

const FOLDABLE_CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);

function foldableConv(layer: unknown): layer is ConvInternals {
  const conv = layer as ConvInternals;
  return (
    FOLDABLE_CONVS.has(conv.getClassName()) &&
    conv.dataFormat === 'channelsLast' &&
    conv.padding !== 'causal' &&
    (conv.activation == null || conv.activation.getClassName() === 'linear') &&
    (conv.kernel !== undefined || conv.depthwiseKernel !== undefined)
  );
}

function foldableBatchNorm(layer: unknown): layer is BatchNormInternals {
  const bn = layer as BatchNormInternals;
  return bn.getClassName() === 'BatchNormalization' && (bn.axis === -1 || bn.axis === 3);
}

const plans = new WeakMap<GraphContainer, Map<FoldNode, FoldNode>>();

/**
 * The convolution nodes of a container whose output feeds only a batch norm node, mapped to that
 * node. Computed once per container (a loaded model's graph never changes).
 */
export function batchNormFolds(container: GraphContainer, nodes: readonly FoldNode[]): ReadonlyMap<FoldNode, FoldNode> {
  let folds = plans.get(container);
  if (folds) {
    return folds;
  }
  folds = new Map();
  const consumers = new Map<tf.SymbolicTensor, FoldNode[]>();
  for (const node of nodes) {
    for (const input of node.inputTensors) {
      consumers.set(input, [...(consumers.get(input) ?? []), node]);
    }
  }
  const outputs = new Set(container.outputs);
  for (const node of nodes) {
    if (node.outputTensors.length !== 1 || !foldableConv(node.outboundLayer)) {
      continue;
    }
    const output = node.outputTensors[0];
    const readers = consumers.get(output) ?? [];
    const reader = readers[0];
    if (readers.length === 1 && !outputs.has(output) && reader.inputTensors.length === 1 && foldableBatchNorm(reader.outboundLayer)) {
      folds.set(node, reader);
    }
  }
  plans.set(container, folds);
  return folds;
}

/**
 * The batch norm's output computed as one convolution of `x` with folded filters and bias (fused
 * outside a gradient tape; conv → add under one, so no filter gradient is computed, as in
 * unfusedLayers.ts). Must run inside tf.tidy or tf.grad: the folded filters are intermediates.
 */
export function convWithBatchNorm(convLayer: unknown, batchNormLayer: unknown, x: tf.Tensor): tf.Tensor {
  const conv = convLayer as ConvInternals;
  const bn = batchNormLayer as BatchNormInternals;
  const variance = bn.movingVariance.read();
  let scale: tf.Tensor = tf.rsqrt(tf.add(variance, bn.epsilon));
  if (bn.scale && bn.gamma) {
    scale = tf.mul(scale, bn.gamma.read());
  }
  // bias' = (bias − mean)·scale + beta
  let bias: tf.Tensor = tf.neg(bn.movingMean.read());
  if (conv.useBias && conv.bias) {
    bias = tf.add(bias, conv.bias.read());
  }
  bias = tf.mul(bias, scale);
  if (bn.center && bn.beta) {
    bias = tf.add(bias, bn.beta.read());
  }
  const strides = conv.strides as [number, number];
  const dilations = (typeof conv.dilationRate === 'number' ? [conv.dilationRate, conv.dilationRate] : conv.dilationRate) as [number, number];
  const input = x as tf.Tensor4D;
  const padding = conv.padding as 'valid' | 'same';
  const taped = recordingGradients();
  if (conv.depthwiseKernel) {
    // [kh, kw, in, multiplier]: output channel i·multiplier + m scales filter (i, m).
    const kernel = conv.depthwiseKernel.read() as tf.Tensor4D;
    const [, , inChannels, multiplier] = kernel.shape;
    const filter = tf.mul(kernel, tf.reshape(scale, [1, 1, inChannels, multiplier])) as tf.Tensor4D;
    return taped
      ? tf.add(tf.depthwiseConv2d(input, filter, strides, padding, 'NHWC', dilations), bias)
      : tf.fused.depthwiseConv2d({ x: input, filter, strides, pad: padding, dataFormat: 'NHWC', dilations, bias });
  }
  const kernel = (conv.kernel as { read(): tf.Tensor }).read() as tf.Tensor4D;
  const filter = tf.mul(kernel, scale) as tf.Tensor4D; // [kh, kw, in, out]: the last axis is the channel
  return taped
    ? tf.add(tf.conv2d(input, filter, strides, padding, 'NHWC', dilations), bias)
    : tf.fused.conv2d({ x: input, filter, strides, pad: padding, dataFormat: 'NHWC', dilations, bias });
}
