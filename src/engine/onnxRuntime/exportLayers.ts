// A tfjs LayersModel of standard layers (what Keras .h5/.keras files, TF.js layers models and most
// code models load into) written as an ONNX graph, so ONNX Runtime runs its passes as it runs an
// ONNX model's: the same conventions as onnx/onnxModel.ts registers (sources.ts) — one NCHW image
// input, every 4-D value NCHW (the native engine transposes at the graph's edges), and each listed
// layer's name mapped to the ONNX value it outputs.
//
// The export reads the model and never changes it: weights are copied out (transposed to ONNX's
// layouts in plain arrays, no tfjs ops), nothing is disposed. Each layer becomes the ONNX operators
// that compute exactly what the layer's call computes in the tfjs engine, including the masks its
// gradient uses at the kinks, so the native engine's maps equal the wasm engine's:
//   - ReLU with a maximum is Relu then Clip(0, max) (tfjs: relu then clipByValue, or relu6: both
//     pass the gradient where 0 < x ≤ max), and guided, both stop it where x ≥ max as
//     guidedRelu.ts does;
//   - 'same' padding is explicit begin/end pads with the extra one at the end, as TensorFlow pads;
//     average pooling leaves the padding out of its counts (count_include_pad 0);
//   - Keras flattens and reshapes channels-last: the NCHW value is transposed to NHWC first;
//   - a Dense layer on a 4-D input mixes channels per pixel: a 1×1 Conv; GlobalMaxPooling2D is a
//     ReduceMax over height and width, whose gradient reaches every tied maximum as tfjs's does.
// A TF.js graph model's node layers are written by exportGraphNodes.ts, each op in TensorFlow's
// layout between the same NCHW edges. A layer with no ONNX form here (or a non-standard class: a
// custom layer; a graph-model op without an export) fails the export with its name and class; the
// tfjs engine then runs the model and the result says why (nativePasses.ts).
import type { ModelProto } from '../models/onnx/onnxProto';
import { ONNX_DTYPE } from '../models/onnx/onnxProto';
import { layerEntries } from '../execution/layers';
import { innerGraph } from '../execution/graph';
import type { GraphContainer, GraphLayer, GraphNode } from '../execution/graphInternals';
import { nodePlanOf } from '../execution/nodeGraph';
import * as tf from '../tf';
import { GraphBuilder } from './protoGraph';
import { convKernel, denseAsConvKernel, depthwiseKernel, weightInit } from './exportWeights';
import { exportGraphNode } from './exportGraphNodes';
import type { OnnxSource } from './sources';

/** The opset the exported graph declares (the native engine raises it to 16 for its rewrites). */
const EXPORT_OPSET = 13;
const INPUT = 'input';

/** A model (or one of its layers) that has no ONNX form here: why, naming the layer and its class. */
export class ExportUnsupported extends Error {}

/** An exported value: its ONNX name and its tfjs shape (batch first, channels last for 4-D). */
interface Value {
  readonly name: string;
  /** The shape the tfjs engine gives it ([null, H, W, C] for 4-D; the ONNX value is then NCHW). */
  readonly shape: readonly (number | null)[];
}

/** tfjs-layers internals read here (not public API, so described structurally). */
interface Weight {
  read(): tf.Tensor;
}
type Activation = { getClassName(): string } | null | undefined;

interface LayerAny extends GraphLayer {
  [key: string]: unknown;
}

/** The stored (NCHW) axis of a tfjs (NHWC) axis of a 4-D value. */
const STORED_AXIS_OF_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

/**
 * The model as an ONNX graph with each listed layer's value. Throws ExportUnsupported naming the
 * first layer it cannot write.
 */
export function exportLayersModel(model: tf.LayersModel): OnnxSource {
  const top = innerGraph(model);
  if (!top) throw new ExportUnsupported('the model is not a layers graph');
  if (top.inputs.length !== 1) throw new ExportUnsupported(`the model has ${top.inputs.length} inputs`);
  const inputShape = top.inputs[0].shape;
  const [, h, w, c] = inputShape;
  if (inputShape.length !== 4 || typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
    throw new ExportUnsupported(`the input has shape [${inputShape.map((d) => d ?? 'null').join(', ')}], not a fixed-size image [null, H, W, C]`);
  }
  const exporter = new LayersExporter(model);
  const outputs = exporter.run(top, { name: INPUT, shape: inputShape });
  const proto: ModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    producerName: 'cnn-lens-export',
    graph: {
      name: model.name,
      node: exporter.b.nodes,
      initializer: exporter.b.initializers,
      input: [{ name: INPUT, type: { tensorType: { elemType: ONNX_DTYPE.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: c }, { dimValue: h }, { dimValue: w }] } } } }],
      output: outputs.map((value) => ({ name: value.name })),
      valueInfo: [],
    },
  };
  return { proto, hwc: [h, w, c], layerValues: exporter.layerValues() };
}

class LayersExporter {
  readonly b = new GraphBuilder('export');
  /** Listed layer names by the graph path that runs them (a spliced model shares its last layer's). */
  private readonly namesByPath = new Map<string, string[]>();
  /** Listed name → value; null once a layer is seen twice (a shared layer has no one value). */
  private readonly values = new Map<string, string | null>();

  constructor(model: tf.LayersModel) {
    for (const entry of layerEntries(model)) {
      const key = entry.path.join('/');
      this.namesByPath.set(key, [...(this.namesByPath.get(key) ?? []), entry.info.name]);
    }
  }

  layerValues(): Map<string, string> {
    return new Map([...this.values].filter((e): e is [string, string] => e[1] !== null));
  }

  /** Exports a container's nodes given its input values; returns its output values. */
  run(container: GraphContainer, ...inputs: Value[]): Value[] {
    return this.container(container, '', [], inputs);
  }

  private container(container: GraphContainer, scope: string, graphPath: string[], inputs: Value[]): Value[] {
    const values = new Map<string, Value>();
    container.inputs.forEach((t, i) => values.set(`${scope}${t.id}`, inputs[i]));
    for (const node of nodesInOrder(container)) {
      if (node.inputTensors.length === 0) continue; // an InputLayer: its value is the container's input
      const args = node.inputTensors.map((t) => {
        const value = values.get(`${scope}${t.id}`);
        if (!value) throw new ExportUnsupported(`layer "${node.outboundLayer.name}" reads a value that no earlier layer gives`);
        return value;
      });
      const layer = node.outboundLayer as LayerAny;
      const path = [...graphPath, layer.name];
      const inner = innerGraph(layer);
      let outs: Value[];
      if (inner) {
        const callScope = `${scope}${layer.name}#${layer.inboundNodes.indexOf(node)}/`;
        outs = this.container(inner, callScope, path, args);
      } else {
        outs = this.layer(layer, args, node);
      }
      node.outputTensors.forEach((t, i) => values.set(`${scope}${t.id}`, outs[i]));
      if (outs.length === 1) this.register(path, outs[0].name);
    }
    return container.outputs.map((t) => {
      const value = values.get(`${scope}${t.id}`);
      if (!value) throw new ExportUnsupported(`model "${container.name}": no layer gives its output`);
      return value;
    });
  }

  private register(path: string[], value: string): void {
    for (const name of this.namesByPath.get(path.join('/')) ?? []) {
      this.values.set(name, this.values.has(name) ? null : value);
    }
  }

  // -----------------------------------------------------------------------------------------

  private layer(layer: LayerAny, args: Value[], node: GraphNode): Value[] {
    const className = layer.getClassName();
    const fail = (why: string): never => {
      throw new ExportUnsupported(`layer "${layer.name}" (${className}) ${why}`);
    };
    const outShapes = node.outputTensors.map((t) => t.shape);
    const plan = nodePlanOf(layer as unknown as tf.layers.Layer);
    if (plan) {
      // A TF.js graph model's operator node (ONNX models never get here: they bring their own graph).
      if (outShapes.length !== 1) fail(`gives ${outShapes.length} outputs`);
      return [{ name: exportGraphNode(this.b, plan, args, outShapes[0], fail), shape: outShapes[0] }];
    }
    const write = WRITERS[className];
    if (!write) fail('has no ONNX export');
    if (!isStandardLayer(layer, className)) fail('is a custom class, not the tfjs-layers one');
    const exported = (write as Writer)({ b: this.b, layer, args, outShapes, fail });
    return exported.map((name, i) => ({ name, shape: outShapes[i] }));
  }
}

interface WriteContext {
  readonly b: GraphBuilder;
  readonly layer: LayerAny;
  readonly args: Value[];
  readonly outShapes: readonly (readonly (number | null)[])[];
  fail(why: string): never;
}

/** Writes a layer's operators; returns its output value names. */
type Writer = (c: WriteContext) => string[];

function nodesInOrder(container: GraphContainer): GraphNode[] {
  // Deeper nodes are closer to the inputs (tfjs counts depth from the outputs), as graph.ts walks.
  const depths = Object.keys(container.nodesByDepth)
    .map(Number)
    .sort((a, b) => b - a);
  return depths.flatMap((depth) => container.nodesByDepth[depth]);
}

/** True when the layer is an instance of the class tfjs-layers registers under its class name (not a user's subclass). */
function isStandardLayer(layer: LayerAny, className: string): boolean {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[className]?.[0] as unknown;
  return typeof registered === 'function' && Object.getPrototypeOf(layer) === (registered as { prototype: object }).prototype;
}

// ---------------------------------------------------------------------------------------------
// Weights

function valuesOf(weight: Weight | null | undefined, what: string, c: WriteContext): Float32Array {
  if (!weight) c.fail(`has no ${what} (the layer is not built)`);
  const tensor = (weight as Weight).read();
  if (tensor.dtype !== 'float32') c.fail(`has a ${tensor.dtype} ${what}`);
  return tensor.dataSync() as Float32Array;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

function pair(value: unknown, what: string, c: WriteContext): [number, number] {
  const list = typeof value === 'number' ? [value, value] : Array.isArray(value) ? value.map(Number) : [];
  if (list.length !== 2 || list.some((v) => !Number.isInteger(v) || v < 1)) c.fail(`has ${what} ${JSON.stringify(value)}`);
  return [list[0], list[1]];
}

function spatialInput(c: WriteContext): Value {
  if (c.args.length !== 1) c.fail(`takes ${c.args.length} inputs`);
  const x = c.args[0];
  if (x.shape.length !== 4) c.fail(`gets a ${x.shape.length}-D input; its export takes 4-D images`);
  if (c.layer.dataFormat !== undefined && c.layer.dataFormat !== 'channelsLast') c.fail(`uses data format ${String(c.layer.dataFormat)}`);
  return x;
}

/**
 * begin/end pads of a window over a 4-D value ([top, left, bottom, right]): none for 'valid';
 * for 'same', TensorFlow's: out = ⌈in/stride⌉ and the total the window needs, the odd one at the end.
 */
function windowPads(c: WriteContext, x: Value, kernel: number[], strides: number[], dilations: number[]): number[] {
  const padding = c.layer.padding;
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') c.fail(`uses padding ${String(padding)}`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let axis = 0; axis < 2; axis++) {
    const size = x.shape[1 + axis] as number;
    const out = Math.ceil(size / strides[axis]);
    const extent = (kernel[axis] - 1) * dilations[axis] + 1;
    const total = Math.max(0, (out - 1) * strides[axis] + extent - size);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

/**
 * The tfjs activation a layer applies after its computation (the function's class name), as ONNX
 * operators on `x` of rank `rank`; x itself for linear.
 */
function activate(c: WriteContext, x: string, activation: Activation, rank: number): string {
  const name = activation?.getClassName() ?? 'linear';
  const b = c.b;
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return b.one('Relu', [x]);
    case 'relu6':
      return clipped(b, b.one('Relu', [x]), 6);
    case 'sigmoid':
      return b.one('Sigmoid', [x]);
    case 'tanh':
      return b.one('Tanh', [x]);
    case 'softmax':
      // tfjs's softmax is over the last axis: the channels of a 4-D value (axis 1 in NCHW).
      return b.one('Softmax', [x], { axis: rank === 4 ? 1 : rank - 1 });
    case 'hardSigmoid':
      // tfjs-layers: clip(0.2·x + 0.5, 0, 1).
      return b.one('HardSigmoid', [x], { alpha: 0.2, beta: 0.5 });
    case 'swish':
      return b.one('Mul', [x, b.one('Sigmoid', [x])]);
    default:
      return c.fail(`uses activation "${name}", which has no ONNX export (linear, relu, relu6, sigmoid, tanh, softmax, hardSigmoid and swish do)`);
  }
}

/** Clip(x, 0, max) after a Relu: its gradient mask is then tfjs's relu-then-clip mask (see the header). */
function clipped(b: GraphBuilder, relu: string, max: number): string {
  return b.one('Clip', [relu, b.scalar(0), b.scalar(max)]);
}

function toNhwc(b: GraphBuilder, x: Value): string {
  return x.shape.length === 4 ? b.one('Transpose', [x.name], { perm: NCHW_TO_NHWC }) : x.name;
}

// ---------------------------------------------------------------------------------------------
// Layers

const identity: Writer = (c) => {
  if (c.args.length !== 1) c.fail(`takes ${c.args.length} inputs`);
  return [c.args[0].name];
};

const conv2d: Writer = (c) => {
  const x = spatialInput(c);
  const { layer, b } = c;
  if (layer.rank !== undefined && layer.rank !== 2) c.fail(`is a ${String(layer.rank)}-D convolution`);
  const kernel = (layer.kernel as Weight | null)?.read().shape ?? c.fail('has no kernel (the layer is not built)');
  const strides = pair(layer.strides, 'strides', c);
  const dilations = pair(layer.dilationRate, 'dilation rate', c);
  const weight = weightInit(b, convKernel(valuesOf(layer.kernel as Weight, 'kernel', c), kernel), [kernel[3], kernel[2], kernel[0], kernel[1]]);
  const inputs = [x.name, weight];
  if (layer.useBias && layer.bias) inputs.push(weightInit(b, valuesOf(layer.bias as Weight, 'bias', c), [kernel[3]]));
  const y = b.one('Conv', inputs, { kernel_shape: [kernel[0], kernel[1]], strides, dilations, pads: windowPads(c, x, [kernel[0], kernel[1]], strides, dilations), group: 1 });
  return [activate(c, y, layer.activation as Activation, 4)];
};

/** The depthwise step of DepthwiseConv2D and SeparableConv2D: a Conv with one group per input channel. */
function depthwise(c: WriteContext, x: Value, weight: Weight, dilations: [number, number], bias?: Weight): string {
  const shape = weight.read().shape;
  const [kh, kw, channels, multiplier] = shape;
  const strides = pair(c.layer.strides, 'strides', c);
  const inputs = [x.name, weightInit(c.b, depthwiseKernel(valuesOf(weight, 'depthwise kernel', c), shape), [channels * multiplier, 1, kh, kw])];
  if (bias) inputs.push(weightInit(c.b, valuesOf(bias, 'bias', c), [channels * multiplier]));
  return c.b.one('Conv', inputs, { kernel_shape: [kh, kw], strides, dilations, pads: windowPads(c, x, [kh, kw], strides, dilations), group: channels });
}

const depthwiseConv2d: Writer = (c) => {
  const x = spatialInput(c);
  const { layer } = c;
  // tfjs-layers' DepthwiseConv2D.call ignores its dilation rate (it passes none), while the folded
  // batch norm would use it: with no one meaning to copy, such a layer is not exported.
  if (pair(layer.dilationRate, 'dilation rate', c).some((d) => d !== 1)) c.fail('has a dilation rate, which tfjs-layers ignores');
  const kernel = (layer.depthwiseKernel as Weight | null) ?? c.fail('has no depthwise kernel (the layer is not built)');
  const y = depthwise(c, x, kernel, [1, 1], layer.useBias && layer.bias ? (layer.bias as Weight) : undefined);
  return [activate(c, y, layer.activation as Activation, 4)];
};

const separableConv2d: Writer = (c) => {
  const x = spatialInput(c);
  const { layer, b } = c;
  const dilations = pair(layer.dilationRate, 'dilation rate', c);
  const dw = depthwise(c, x, (layer.depthwiseKernel as Weight | null) ?? c.fail('has no depthwise kernel (the layer is not built)'), dilations);
  const pointwise = (layer.pointwiseKernel as Weight).read().shape as number[];
  const weight = weightInit(b, convKernel(valuesOf(layer.pointwiseKernel as Weight, 'pointwise kernel', c), pointwise), [pointwise[3], pointwise[2], 1, 1]);
  const inputs = [dw, weight];
  if (layer.useBias && layer.bias) inputs.push(weightInit(b, valuesOf(layer.bias as Weight, 'bias', c), [pointwise[3]]));
  const y = b.one('Conv', inputs, { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 });
  return [activate(c, y, layer.activation as Activation, 4)];
};

const dense: Writer = (c) => {
  if (c.args.length !== 1) c.fail(`takes ${c.args.length} inputs`);
  const x = c.args[0];
  const { layer, b } = c;
  const [cin, cout] = (layer.kernel as Weight | null)?.read().shape ?? c.fail('has no kernel (the layer is not built)');
  const kernel = valuesOf(layer.kernel as Weight, 'kernel', c);
  const bias = layer.useBias && layer.bias ? valuesOf(layer.bias as Weight, 'bias', c) : undefined;
  const rank = x.shape.length;
  let y: string;
  if (rank === 2) {
    y = b.one('Gemm', [x.name, weightInit(b, kernel, [cin, cout]), ...(bias ? [weightInit(b, bias, [cout])] : [])]);
  } else if (rank === 4) {
    // On an image, Dense mixes the channels of each pixel (its last axis): a 1×1 convolution.
    const inputs = [x.name, weightInit(b, denseAsConvKernel(kernel, cin, cout), [cout, cin, 1, 1])];
    if (bias) inputs.push(weightInit(b, bias, [cout]));
    y = b.one('Conv', inputs, { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 });
  } else if (rank === 3) {
    y = b.one('MatMul', [x.name, weightInit(b, kernel, [cin, cout])]);
    if (bias) y = b.one('Add', [y, weightInit(b, bias, [cout])]);
  } else {
    return c.fail(`gets a ${rank}-D input`);
  }
  return [activate(c, y, layer.activation as Activation, rank)];
};

const batchNormalization: Writer = (c) => {
  if (c.args.length !== 1) c.fail(`takes ${c.args.length} inputs`);
  const x = c.args[0];
  const { layer, b } = c;
  const rank = x.shape.length;
  const listed = Array.isArray(layer.axis) ? (layer.axis as number[]) : [layer.axis as number];
  const axis = listed.length === 1 ? (listed[0] < 0 ? listed[0] + rank : listed[0]) : -1;
  // ONNX normalises axis 1: the channels of an NCHW image, the features of a [N, F] vector.
  if (!((rank === 4 && axis === 3) || (rank === 2 && axis === 1))) c.fail(`normalises axis ${JSON.stringify(layer.axis)} of a ${rank}-D value; its export takes the channel axis`);
  const mean = valuesOf(layer.movingMean as Weight, 'moving mean', c);
  const channels = mean.length;
  const scale = layer.scale && layer.gamma ? valuesOf(layer.gamma as Weight, 'gamma', c) : new Float32Array(channels).fill(1);
  const offset = layer.center && layer.beta ? valuesOf(layer.beta as Weight, 'beta', c) : new Float32Array(channels);
  const variance = valuesOf(layer.movingVariance as Weight, 'moving variance', c);
  const inputs = [x.name, ...[scale, offset, mean, variance].map((v) => weightInit(b, v, [channels]))];
  return [b.one('BatchNormalization', inputs, { epsilon: Number(layer.epsilon) })];
};

const activationLayer: Writer = (c) => [activate(c, identity(c)[0], c.layer.activation as Activation, c.args[0].shape.length)];

const reluLayer: Writer = (c) => {
  const x = identity(c)[0];
  const relu = c.b.one('Relu', [x]);
  const max = c.layer.maxValue;
  return [max === null || max === undefined ? relu : clipped(c.b, relu, Number(max))];
};

const leakyRelu: Writer = (c) => [c.b.one('LeakyRelu', [identity(c)[0]], { alpha: Number(c.layer.alpha) })];

const softmaxLayer: Writer = (c) => {
  const x = identity(c)[0];
  const rank = c.args[0].shape.length;
  const listed = Array.isArray(c.layer.axis) ? (c.layer.axis as number[]) : [c.layer.axis as number];
  const axis = listed.length === 1 ? (listed[0] < 0 ? listed[0] + rank : listed[0]) : -1;
  // tfjs computes a softmax over the last axis only.
  if (axis !== rank - 1) c.fail(`is a softmax over axis ${JSON.stringify(c.layer.axis)} of a ${rank}-D value, not its last`);
  return [c.b.one('Softmax', [x], { axis: rank === 4 ? 1 : rank - 1 })];
};

function pooling(opType: 'MaxPool' | 'AveragePool'): Writer {
  return (c) => {
    const x = spatialInput(c);
    const kernel = pair(c.layer.poolSize, 'pool size', c);
    const strides = pair(c.layer.strides, 'strides', c);
    const attrs: Record<string, number | number[]> = { kernel_shape: kernel, strides, pads: windowPads(c, x, kernel, strides, [1, 1]) };
    // TensorFlow's 'same' average leaves the padding out of each window's count.
    if (opType === 'AveragePool') attrs.count_include_pad = 0;
    return [c.b.one(opType, [x.name], attrs)];
  };
}

function globalPooling(max: boolean): Writer {
  return (c) => {
    const x = spatialInput(c);
    // tfjs's max over height and width gives the gradient to every tied maximum (a channel
    // saturated at a ReLU6's cap): ReduceMax's rule does too, a whole-map MaxPool's picks one.
    if (max) return [c.b.one('ReduceMax', [x.name], { axes: [2, 3], keepdims: 0 })];
    return [c.b.one('Flatten', [c.b.one('GlobalAveragePool', [x.name])], { axis: 1 })];
  };
}

const flatten: Writer = (c) => {
  const x = c.args.length === 1 ? c.args[0] : c.fail(`takes ${c.args.length} inputs`);
  const rank = x.shape.length;
  if (rank <= 2) return [x.name];
  let value = toNhwc(c.b, x);
  if (c.layer.dataFormat === 'channelsFirst') {
    // tfjs moves axis 1 last before flattening: [0, 2, …, rank−1, 1] of the tfjs (NHWC) value.
    const perm = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
    value = c.b.one('Transpose', [value], { perm });
  }
  return [c.b.one('Flatten', [value], { axis: 1 })];
};

const reshape: Writer = (c) => {
  const x = c.args.length === 1 ? c.args[0] : c.fail(`takes ${c.args.length} inputs`);
  const target = c.outShapes[0].slice(1);
  if (target.some((d) => typeof d !== 'number')) c.fail(`has an output shape [${c.outShapes[0].map((d) => d ?? 'null')}] that is not fixed`);
  const y = c.b.one('Reshape', [toNhwc(c.b, x), c.b.int64s([-1, ...(target as number[])])]);
  return [target.length === 3 ? c.b.one('Transpose', [y], { perm: NHWC_TO_NCHW }) : y];
};

function elementwise(opType: 'Add' | 'Mul'): Writer {
  return (c) => {
    if (c.args.length < 2) c.fail(`takes ${c.args.length} input`);
    const rank = c.args[0].shape.length;
    // tfjs inserts axes into inputs of lower rank; exported only when every input has the same rank.
    if (c.args.some((a) => a.shape.length !== rank)) c.fail(`merges inputs of ranks ${c.args.map((a) => a.shape.length).join(', ')}`);
    let y = c.args[0].name;
    for (const arg of c.args.slice(1)) y = c.b.one(opType, [y, arg.name]);
    return [y];
  };
}

const concatenate: Writer = (c) => {
  const rank = c.args[0].shape.length;
  if (c.args.some((a) => a.shape.length !== rank)) c.fail(`joins inputs of ranks ${c.args.map((a) => a.shape.length).join(', ')}`);
  let axis = Number(c.layer.axis);
  if (axis < 0) axis += rank;
  if (!(axis > 0 && axis < rank)) c.fail(`joins along axis ${String(c.layer.axis)}`);
  return [c.b.one('Concat', c.args.map((a) => a.name), { axis: rank === 4 ? STORED_AXIS_OF_NHWC[axis] : axis })];
};

const zeroPadding2d: Writer = (c) => {
  const x = spatialInput(c);
  const padding = c.layer.padding as number[][];
  const [[top, bottom], [left, right]] = padding;
  return [c.b.one('Pad', [x.name, c.b.int64s([0, 0, top, left, 0, 0, bottom, right])], { mode: 'constant' })];
};

const rescaling: Writer = (c) => {
  const x = identity(c)[0];
  const { scale, offset } = c.layer;
  if (typeof scale !== 'number' || typeof offset !== 'number') c.fail('scales by something other than one number');
  return [c.b.one('Add', [c.b.one('Mul', [x, c.b.scalar(scale as number)]), c.b.scalar(offset as number)])];
};

/** Standard tfjs-layers classes with an ONNX form, by class name. */
const WRITERS: Record<string, Writer> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Dense: dense,
  BatchNormalization: batchNormalization,
  Activation: activationLayer,
  ReLU: reluLayer,
  LeakyReLU: leakyRelu,
  Softmax: softmaxLayer,
  MaxPooling2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  GlobalAveragePooling2D: globalPooling(false),
  GlobalMaxPooling2D: globalPooling(true),
  Flatten: flatten,
  Reshape: reshape,
  Add: elementwise('Add'),
  Multiply: elementwise('Mul'),
  Concatenate: concatenate,
  ZeroPadding2D: zeroPadding2d,
  Rescaling: rescaling,
  // A nested model's InputLayer passes its caller's value on.
  InputLayer: identity,
  // Identity at inference (the engine never runs in training mode).
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
};
