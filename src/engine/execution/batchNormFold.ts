// Batch normalization folded into the convolution before it. At inference a BatchNormalization
// layer is an affine map per channel, y = (x − mean)·γ/√(var + ε) + β, and a convolution with a
// linear activation is linear per output channel, so the pair is one convolution with scaled
// filters and a new bias. tfjs runs them as two kernels, and on wasm the batch norm is a separate
// pass over the activation: on MobileNetV2 it took as long as all the convolutions of a forward
// pass (29 ms against 17), and its gradient again in every backward pass. Folded, it costs
// nothing per pass: the folded filters are made once per model.
//
// Only where nobody can see the difference: the convolution's output must feed nothing but the
// batch norm (the graph executor also checks that the pass does not keep it, e.g. for activation
// maps, and that it is not a Grad-CAM cut), the convolution has no activation of its own, and
// both work on the last (channel) axis.
import type { GraphContainer } from './graphInternals';
import { recordingGradients } from './unfusedLayers';
import * as tf from '../tf';

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

interface FoldedWeights {
  readonly batchNorm: unknown;
  /** The data ids the folding read: a weight assigned since (a new data id) refolds. */
  readonly sources: readonly tf.DataId[];
  readonly filter: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
}

const foldedByConv = new WeakMap<object, FoldedWeights>();

/**
 * The folded filter and bias of a convolution and its batch norm, made once per model and kept:
 * wasm caches its XNNPACK operators (packed weights) and this engine its flipped gradient filters
 * by the filter's data id, so a filter made anew each pass would repack everything every time
 * (it made ResNet-18's forward pass twice as slow). Computed in JS from the weights' values, so
 * no op is recorded on a gradient tape; freed with the convolution layer.
 */
export function foldedWeights(convLayer: unknown, batchNormLayer: unknown): FoldedWeights {
  const conv = convLayer as ConvInternals;
  const bn = batchNormLayer as BatchNormInternals;
  const kernel = (conv.depthwiseKernel ?? conv.kernel) as { read(): tf.Tensor };
  const variables = [kernel, conv.useBias ? conv.bias : null, bn.scale ? bn.gamma : null, bn.center ? bn.beta : null, bn.movingMean, bn.movingVariance];
  const sources = variables.map((v) => (v ? v.read().dataId : null)).filter((id): id is tf.DataId => id !== null);
  const cached = foldedByConv.get(conv);
  if (cached && cached.batchNorm === bn && cached.sources.length === sources.length && cached.sources.every((id, i) => id === sources[i])) {
    return cached;
  }
  if (cached) {
    tf.dispose([cached.filter, cached.bias]);
  } else {
    freeWithLayer(conv);
  }
  const values = (v: { read(): tf.Tensor } | null | undefined): Float32Array | null => (v ? (v.read().dataSync() as Float32Array) : null);
  const mean = values(bn.movingMean) as Float32Array;
  const variance = values(bn.movingVariance) as Float32Array;
  const gamma = bn.scale ? values(bn.gamma) : null;
  const beta = bn.center ? values(bn.beta) : null;
  const convBias = conv.useBias ? values(conv.bias) : null;
  const channels = mean.length;
  const scale = new Float32Array(channels);
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + bn.epsilon);
    bias[c] = ((convBias ? convBias[c] : 0) - mean[c]) * scale[c] + (beta ? beta[c] : 0);
  }
  // The channel is the last axis of a Conv2D filter [kh, kw, in, out], and the last two of a
  // depthwise filter [kh, kw, in, multiplier] (channel in·multiplier + m): either way the flat
  // index modulo the channel count.
  const weights = kernel.read();
  const data = (weights.dataSync() as Float32Array).slice();
  for (let i = 0; i < data.length; i++) {
    data[i] *= scale[i % channels];
  }
  const folded: FoldedWeights = {
    batchNorm: bn,
    sources,
    filter: tf.keep(tf.tensor4d(data, weights.shape as [number, number, number, number])),
    bias: tf.keep(tf.tensor1d(bias)),
  };
  foldedByConv.set(conv, folded);
  return folded;
}

/** Frees the layer's folded weights when the layer itself is disposed (with its model). */
function freeWithLayer(conv: object): void {
  const layer = conv as { dispose(): unknown };
  const dispose = layer.dispose.bind(layer);
  layer.dispose = () => {
    const folded = foldedByConv.get(conv);
    if (folded) {
      tf.dispose([folded.filter, folded.bias]);
      foldedByConv.delete(conv);
    }
    return dispose();
  };
}

/**
 * The batch norm's output computed as one convolution of `x` with the folded filter and bias
 * (fused outside a gradient tape; conv → add under one, so no filter gradient is computed, as in
 * unfusedLayers.ts).
 */
export function convWithBatchNorm(convLayer: unknown, batchNormLayer: unknown, x: tf.Tensor): tf.Tensor {
  const conv = convLayer as ConvInternals;
  const { filter, bias } = foldedWeights(conv, batchNormLayer);
  const strides = conv.strides as [number, number];
  const dilations = (typeof conv.dilationRate === 'number' ? [conv.dilationRate, conv.dilationRate] : conv.dilationRate) as [number, number];
  const input = x as tf.Tensor4D;
  const padding = conv.padding as 'valid' | 'same';
  const taped = recordingGradients();
  if (conv.depthwiseKernel) {
    return taped
      ? tf.add(tf.depthwiseConv2d(input, filter, strides, padding, 'NHWC', dilations), bias)
      : tf.fused.depthwiseConv2d({ x: input, filter, strides, pad: padding, dataFormat: 'NHWC', dilations, bias });
  }
  return taped
    ? tf.add(tf.conv2d(input, filter, strides, padding, 'NHWC', dilations), bias)
    : tf.fused.conv2d({ x: input, filter, strides, pad: padding, dataFormat: 'NHWC', dilations, bias });
}
