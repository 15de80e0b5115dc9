// TF.js graph models (model.json with "format": "graph-model", from tensorflowjs_converter): the
// TensorFlow graph rebuilt as node layers (../nodeGraph.ts), each running its TensorFlow op with
// tfjs ops, so every node with a 4-D output is a selectable layer and gradients pass through the
// executed ops. Grappler's fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul) run
// unfused (conv, then bias, then activation), which tfjs can differentiate for every fusion.
// Control flow (Switch/Merge, loops, If/While) is refused with a message: gradients through
// data-dependent branches are not what a CAM needs, and tfjs cannot run them eagerly.
//
// Format followed: tfjs-converter's model.json for graph models (modelTopology.node with TensorFlow
// NodeDef JSON: name, op, input ["node", "node:1", "^control"], attr AttrValue JSON; weights as
// Const nodes named in weightsManifest). See scripts/fixtures/export_graph_model.py.
import * as fs from 'fs';
import * as path from 'path';
import type { Preprocessing } from '../../../shared/types';
import { LensError } from '../../../shared/errors';
import { broadcastShape, checkModelInputSize, checkTensorSize, namingFile } from '../../limits';
import { locateModelJson, readModelCompanions, readModelJsonWeights, type ModelFiles } from '../modelLoader';
import { nodeRelu, type NodePass } from '../../execution/guidedRelu';
import { buildNodeGraphModel, describeUnsupportedOps, nameGiver, runGuarded, type GraphNodePlan, type NodeKernel, type Slot } from '../../execution/nodeGraph';
import { resizeImages, type ResizeMethod } from '../../execution/resize';
import { stridedSlice, stridedSliceShape } from '../../execution/stridedSlice';
import { notAClassifier } from '../outputs';
import * as tf from '../../tf';
import { Attrs, type AttrValue } from './tfAttrs';

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

/** A TensorFlow op on its inputs; `pass` says whether its ReLUs run guided (guidedRelu.ts nodeRelu). */
type TfOp = (inputs: tf.Tensor[], attr: Attrs, node: TfNode, pass?: NodePass) => tf.Tensor[];

/** Refuses a result larger than MAX_TENSOR_ELEMENTS before computing it (ops whose output can outgrow their inputs). */
function checkSize(node: TfNode, shape: readonly number[]): void {
  checkTensorSize(shape, `graph node "${node.name}" (${node.op}) output`);
}

/** An element-wise op of two values, sized (broadcasting can multiply them) before it runs. */
function elementwise(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): (attr: Attrs, node: TfNode) => TfOp {
  return (_attr, node) =>
    ([a, b]) => {
      checkSize(node, broadcastShape((a as tf.Tensor).shape, (b as tf.Tensor).shape));
      return [fn(a as tf.Tensor, b as tf.Tensor)];
    };
}

function unsupported(node: TfNode, what: string): never {
  throw new LensError(`Graph node "${node.name}" (${node.op}): ${what} is not supported.`, 'unsupported');
}

function nhwc(attr: Attrs, node: TfNode): void {
  const format = attr.string('data_format', 'NHWC');
  if (format !== 'NHWC') {
    unsupported(node, `data_format ${format} (CNN Lens runs NHWC graphs, as the converter writes them for CPU)`);
  }
}

function padding(attr: Attrs, node: TfNode): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  const pad = attr.string('padding', 'VALID');
  if (pad === 'SAME') return 'same';
  if (pad === 'VALID') return 'valid';
  const explicit = attr.ints('explicit_paddings') ?? [];
  if (pad === 'EXPLICIT' && explicit.length === 8) {
    const p = explicit;
    return [[p[0], p[1]], [p[2], p[3]], [p[4], p[5]], [p[6], p[7]]] as [[number, number], [number, number], [number, number], [number, number]];
  }
  return unsupported(node, `padding ${pad}`);
}

function hw(values: number[] | undefined): [number, number] {
  return values && values.length === 4 ? [values[1] as number, values[2] as number] : [1, 1];
}

/** The activations Grappler fuses, applied as separate (differentiable) ops; ReLUs through nodeRelu, so they run guided in a guided pass. */
function activate(x: tf.Tensor, name: string, attr: Attrs, node: TfNode, pass: NodePass | undefined): tf.Tensor {
  switch (name) {
    case 'Relu':
      return nodeRelu(x, pass);
    case 'Relu6':
      return nodeRelu(x, pass, 6);
    case 'Elu':
      return tf.elu(x);
    case 'Sigmoid':
      return tf.sigmoid(x);
    case 'Tanh':
      return tf.tanh(x);
    case 'LeakyRelu':
      return tf.leakyRelu(x, attr.float('leakyrelu_alpha', 0.2));
    default:
      return unsupported(node, `the fused activation ${name}`);
  }
}

/**
 * _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul: the op, then fused_ops one by one, each
 * taking its operands from the extra inputs in order (BiasAdd: the bias; FusedBatchNorm: scale,
 * offset, mean, variance; Prelu, which tfjs-converter fuses after a BiasAdd: the alphas).
 */
function fused(core: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor): TfOp {
  return ([x, w, ...args], attr, node, pass) => {
    let y = core(x as tf.Tensor, w as tf.Tensor);
    let next = 0;
    const take = (count: number): tf.Tensor[] => {
      const taken = args.slice(next, next + count);
      if (taken.length !== count) unsupported(node, `fused_ops ${attr.strings('fused_ops').join(', ')} with ${args.length} extra inputs`);
      next += count;
      return taken as tf.Tensor[];
    };
    for (const op of attr.strings('fused_ops')) {
      if (op === 'BiasAdd' || op === 'Add') {
        y = tf.add(y, take(1)[0] as tf.Tensor);
      } else if (op === 'FusedBatchNorm') {
        const [scale, offset, mean, variance] = take(4);
        y = tf.batchNorm(y, mean as tf.Tensor, variance as tf.Tensor, offset, scale, attr.float('epsilon', 1e-3));
      } else if (op === 'Prelu') {
        y = tf.prelu(y, take(1)[0] as tf.Tensor);
      } else {
        y = activate(y, op, attr, node, pass);
      }
    }
    return [y];
  };
}

const conv2d = (attr: Attrs, node: TfNode) => (x: tf.Tensor, w: tf.Tensor): tf.Tensor => {
  nhwc(attr, node);
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, hw(attr.ints('strides')), padding(attr, node) as 'same', 'NHWC', hw(attr.ints('dilations')));
};
const depthwise = (attr: Attrs, node: TfNode) => (x: tf.Tensor, w: tf.Tensor): tf.Tensor => {
  nhwc(attr, node);
  return tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, hw(attr.ints('strides')), padding(attr, node) as 'same', 'NHWC', hw(attr.ints('dilations')));
};
const matMul = (attr: Attrs, node: TfNode) => (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
  const [transposeA, transposeB] = [attr.bool('transpose_a', false), attr.bool('transpose_b', false)];
  checkSize(node, [a.shape[transposeA ? 1 : 0] as number, b.shape[transposeB ? 0 : 1] as number]);
  return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transposeA, transposeB);
};

function pool(kind: 'max' | 'avg'): TfOp {
  return ([x], attr, node) => {
    nhwc(attr, node);
    const pad = padding(attr, node);
    if (Array.isArray(pad)) unsupported(node, 'explicit pooling pads');
    const f = kind === 'max' ? tf.maxPool : tf.avgPool;
    return [f(x as tf.Tensor4D, hw(attr.ints('ksize')), hw(attr.ints('strides')), pad)];
  };
}

/** Integer values of a small shape-like input (begin, axes, sizes). */
function ints(value: tf.Tensor | undefined): number[] {
  return value ? Array.from(value.dataSync(), Number) : [];
}

/** StridedSlice(input, begin, end, strides) with TensorFlow's five masks (stridedSlice.ts). */
const stridedSliceOp = (a: Attrs, n: TfNode): TfOp => ([x, begin, end, strides]) => {
  const spec = {
    begin: ints(begin),
    end: ints(end),
    strides: ints(strides),
    beginMask: a.int('begin_mask', 0),
    endMask: a.int('end_mask', 0),
    ellipsisMask: a.int('ellipsis_mask', 0),
    newAxisMask: a.int('new_axis_mask', 0),
    shrinkAxisMask: a.int('shrink_axis_mask', 0),
  };
  checkSize(n, stridedSliceShape((x as tf.Tensor).shape, spec));
  return [stridedSlice(x as tf.Tensor, spec)];
};

/** Pack (tf.stack): N values of one shape stacked along a new axis. */
const pack = (a: Attrs, n: TfNode): TfOp => (values) => {
  const first = values[0] as tf.Tensor | undefined;
  if (!first) unsupported(n, 'Pack of no values');
  const raw = a.int('axis', 0);
  const axis = raw < 0 ? raw + first.rank + 1 : raw;
  checkSize(n, [...first.shape.slice(0, axis), values.length, ...first.shape.slice(axis)]);
  return [tf.stack(values, raw)];
};

/**
 * Conv2DBackpropInput(input_sizes, filter, out_backprop): the transposed convolution Keras'
 * Conv2DTranspose converts to. input_sizes may be computed at run time (Shape → StridedSlice →
 * Pack, for a dynamic batch); the batch always follows out_backprop. The sizes must be ones the
 * forward convolution maps onto out_backprop's, as TensorFlow checks.
 */
const conv2dBackpropInput = (a: Attrs, n: TfNode): TfOp => ([sizes, filter, dy]) => {
  nhwc(a, n);
  const [dilationH, dilationW] = hw(a.ints('dilations'));
  if (dilationH !== 1 || dilationW !== 1) unsupported(n, 'a dilated Conv2DBackpropInput');
  const wanted = ints(sizes);
  const x = dy as tf.Tensor4D;
  const w = filter as tf.Tensor4D;
  if (wanted.length !== 4 || x.rank !== 4 || w.rank !== 4) {
    unsupported(n, `input_sizes [${wanted.join(', ')}] with a ${x.rank}-D out_backprop and a ${w.rank}-D filter`);
  }
  const [, height, width, channels] = wanted as [number, number, number, number];
  const strides = hw(a.ints('strides'));
  const pad = padding(a, n);
  const forward = (size: number, k: number, s: number, before: number, after: number): number =>
    pad === 'same' ? Math.ceil(size / s) : pad === 'valid' ? Math.ceil((size - k + 1) / s) : Math.floor((size + before + after - k) / s) + 1;
  const explicit = Array.isArray(pad) ? pad : [[0, 0], [0, 0], [0, 0], [0, 0]];
  const expected = [
    forward(height, w.shape[0], strides[0], explicit[1]![0], explicit[1]![1]),
    forward(width, w.shape[1], strides[1], explicit[2]![0], explicit[2]![1]),
  ];
  if (expected[0] !== x.shape[1] || expected[1] !== x.shape[2] || channels !== w.shape[2] || x.shape[3] !== w.shape[3]) {
    unsupported(
      n,
      `input_sizes [${wanted.join(', ')}] with out_backprop [${x.shape.join(', ')}] and filter [${w.shape.join(', ')}] (a convolution of that input gives ${expected.join('×')}, not ${x.shape[1]}×${x.shape[2]})`,
    );
  }
  const output: [number, number, number, number] = [x.shape[0], height, width, channels];
  checkSize(n, output);
  return [tf.conv2dTranspose(x, w, output, strides, pad)];
};

/** ResizeBilinear / ResizeNearestNeighbor(images, size) with TensorFlow's align_corners and half_pixel_centers (resize.ts). */
function resize(method: ResizeMethod): (a: Attrs, n: TfNode) => TfOp {
  return (a, n) => ([images, size]) => {
    const alignCorners = a.bool('align_corners', false);
    const halfPixelCenters = a.bool('half_pixel_centers', false);
    if (alignCorners && halfPixelCenters) unsupported(n, 'align_corners together with half_pixel_centers (TensorFlow refuses it too)');
    const x = images as tf.Tensor4D;
    const [height, width] = ints(size);
    if (x.rank !== 4 || (size as tf.Tensor).size !== 2 || !(Number.isInteger(height) && height! > 0 && Number.isInteger(width) && width! > 0)) {
      unsupported(n, `resizing a ${x.rank}-D value to [${ints(size).join(', ')}] (an NHWC image and two positive sizes)`);
    }
    checkSize(n, [x.shape[0], height as number, width as number, x.shape[3]]);
    return [resizeImages(x, [height as number, width as number], method, { alignCorners, halfPixelCenters })];
  };
}

/** A one-input op. */
function unaryOp(fn: (x: tf.Tensor) => tf.Tensor): () => TfOp {
  return () => ([x]) => [fn(x as tf.Tensor)];
}

function reduce(kind: 'mean' | 'max' | 'sum'): TfOp {
  return ([x, axes], attr) => {
    const axis = Array.from((axes as tf.Tensor).dataSync(), Number);
    const keep = attr.bool('keep_dims', false);
    const f = kind === 'mean' ? tf.mean : kind === 'max' ? tf.max : tf.sum;
    return [f(x as tf.Tensor, axis, keep)];
  };
}

const TF_OPS: Record<string, (attr: Attrs, node: TfNode) => TfOp> = {
  Conv2D: (a, n) => ([x, w]) => [conv2d(a, n)(x as tf.Tensor, w as tf.Tensor)],
  _FusedConv2D: (a, n) => fused(conv2d(a, n)),
  DepthwiseConv2dNative: (a, n) => ([x, w]) => [depthwise(a, n)(x as tf.Tensor, w as tf.Tensor)],
  FusedDepthwiseConv2dNative: (a, n) => fused(depthwise(a, n)),
  MatMul: (a, n) => ([x, w]) => [matMul(a, n)(x as tf.Tensor, w as tf.Tensor)],
  _FusedMatMul: (a, n) => fused(matMul(a, n)),
  BiasAdd: elementwise((x, b) => tf.add(x, b)),
  FusedBatchNorm: (a, n) => ([x, scale, offset, mean, variance]) => {
    nhwc(a, n);
    return [tf.batchNorm(x as tf.Tensor, mean as tf.Tensor, variance as tf.Tensor, offset, scale, a.float('epsilon', 1e-3))];
  },
  Relu: (a, n) => ([x], _attr, _node, pass) => [activate(x as tf.Tensor, 'Relu', a, n, pass)],
  Relu6: (a, n) => ([x], _attr, _node, pass) => [activate(x as tf.Tensor, 'Relu6', a, n, pass)],
  Elu: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Elu', a, n, undefined)],
  Sigmoid: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Sigmoid', a, n, undefined)],
  Tanh: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Tanh', a, n, undefined)],
  LeakyRelu: (a) => ([x]) => [tf.leakyRelu(x as tf.Tensor, a.float('alpha', 0.2))],
  MaxPool: () => pool('max'),
  AvgPool: () => pool('avg'),
  Mean: () => reduce('mean'),
  Max: () => reduce('max'),
  Sum: () => reduce('sum'),
  Reshape: () => ([x, shape]) => [tf.reshape(x as tf.Tensor, Array.from((shape as tf.Tensor).dataSync(), Number))],
  Squeeze: (a) => ([x]) => [tf.squeeze(x as tf.Tensor, a.ints('squeeze_dims'))],
  Softmax: () => ([x]) => [tf.softmax(x as tf.Tensor)],
  Identity: () => ([x]) => [tf.clone(x as tf.Tensor)],
  AddV2: elementwise((a, b) => tf.add(a, b)),
  Add: elementwise((a, b) => tf.add(a, b)),
  Sub: elementwise((a, b) => tf.sub(a, b)),
  Mul: elementwise((a, b) => tf.mul(a, b)),
  RealDiv: elementwise((a, b) => tf.div(a, b)),
  ConcatV2: (_a, n) => (inputs) => {
    const values = inputs.slice(0, -1) as tf.Tensor[];
    const rank = values[0]?.rank ?? 0;
    const raw = Number((inputs[inputs.length - 1] as tf.Tensor).dataSync()[0]);
    const axis = raw < 0 ? raw + rank : raw;
    if (values.length > 0) {
      checkSize(n, values[0].shape.map((d, i) => (i === axis ? values.reduce((sum, v) => sum + (v.shape[i] ?? 0), 0) : d)));
    }
    return [tf.concat(values, raw)];
  },
  StridedSlice: stridedSliceOp,
  ExpandDims: () => ([x, axis]) => [tf.expandDims(x as tf.Tensor, ints(axis)[0] ?? 0)],
  Pack: pack,
  // Shape arithmetic (Shape → StridedSlice → Pack → Reshape) for a dynamic batch: the values a
  // pass runs on, so a batch of n reshapes as a batch of n.
  Shape: () => ([x]) => [tf.tensor1d((x as tf.Tensor).shape, 'int32')],
  Prelu: elementwise((x, alpha) => tf.prelu(x, alpha)),
  Abs: unaryOp(tf.abs),
  Square: unaryOp(tf.square),
  Sqrt: unaryOp(tf.sqrt),
  Rsqrt: unaryOp(tf.rsqrt),
  Maximum: elementwise((a, b) => tf.maximum(a, b)),
  Minimum: elementwise((a, b) => tf.minimum(a, b)),
  Conv2DBackpropInput: conv2dBackpropInput,
  ResizeBilinear: resize('bilinear'),
  ResizeNearestNeighbor: resize('nearest'),
  Pad: (_a, n) => ([x, paddings]) => {
    const p = Array.from((paddings as tf.Tensor).dataSync(), Number);
    const pairs = Array.from({ length: p.length / 2 }, (_, i) => [p[2 * i], p[2 * i + 1]] as [number, number]);
    checkSize(n, (x as tf.Tensor).shape.map((d, i) => d + (pairs[i]?.[0] ?? 0) + (pairs[i]?.[1] ?? 0)));
    return [tf.pad(x as tf.Tensor, pairs)];
  },
};
TF_OPS.FusedBatchNormV2 = TF_OPS.FusedBatchNorm;
TF_OPS.FusedBatchNormV3 = TF_OPS.FusedBatchNorm;

/** The convolutions' filters (input 2) for the Filters view, kept as the converter wrote them: HWIO, depthwise [kh, kw, channels, multiplier]. */
const CONV: NodeKernel = { slot: 1, stored: 'HWIO', layout: 'HWIO', groups: 1 };
const DEPTHWISE: NodeKernel = { slot: 1, stored: 'HWCM', layout: 'HWIO', groups: 1 };
const TF_KERNELS = new Map<string, NodeKernel>([
  ['Conv2D', CONV],
  ['_FusedConv2D', CONV],
  ['DepthwiseConv2dNative', DEPTHWISE],
  ['FusedDepthwiseConv2dNative', DEPTHWISE],
]);

const CONTROL_FLOW = new Set(['Switch', 'Merge', 'Enter', 'Exit', 'NextIteration', 'LoopCond', 'If', 'StatelessIf', 'While', 'StatelessWhile']);

export function isGraphModelJson(parsed: unknown): boolean {
  if (!parsed || typeof parsed !== 'object') return false;
  const record = parsed as { format?: unknown; modelTopology?: unknown };
  const topology = record.modelTopology as { node?: unknown } | undefined;
  return record.format === 'graph-model' || (typeof topology === 'object' && topology !== null && Array.isArray(topology.node));
}

/**
 * The model's outputs, in order: the signature's (named by their key, shaped as it declares; -1 is
 * a batch that is not fixed), else every node no other node reads.
 */
function graphOutputs(
  signature: Record<string, { name?: string; tensorShape?: { dim?: { size?: string | number }[] } }> | undefined,
  nodes: readonly TfNode[],
): { name: string; value: string; shape: (number | null)[] | null }[] {
  const entries = Object.entries(signature ?? {});
  if (entries.length > 0) {
    return entries.map(([key, output]) => {
      const dims = output.tensorShape?.dim;
      return {
        name: key,
        value: valueName(sourceOf(output.name ?? key) as { node: string; index: number }),
        shape: dims ? dims.map((d) => (Number(d.size ?? -1) >= 0 ? Number(d.size) : null)) : null,
      };
    });
  }
  const consumed = new Set(nodes.flatMap((n) => (n.input ?? []).map((i) => sourceOf(i)?.node)));
  return nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder').map((n) => ({ name: n.name, value: n.name, shape: null }));
}

function sourceOf(input: string): { node: string; index: number } | null {
  if (input.startsWith('^')) return null; // control dependency: ordering only
  const match = /^(.*?)(?::(\d+))?$/.exec(input) as RegExpExecArray;
  return { node: match[1] as string, index: Number(match[2] ?? 0) };
}

function valueName(source: { node: string; index: number }): string {
  return source.index === 0 ? source.node : `${source.node}:${source.index}`;
}

/** Nodes in an order where every node comes after its inputs (converter output is usually ordered already). */
function topologicalOrder(nodes: readonly TfNode[], file: string): TfNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const order: TfNode[] = [];
  const visit = (node: TfNode): void => {
    if (done.has(node.name)) return;
    if (visiting.has(node.name)) {
      throw new LensError(`${file}: the graph has a cycle through "${node.name}" (a loop); CNN Lens explains feed-forward graphs.`, 'unsupported');
    }
    visiting.add(node.name);
    for (const input of node.input ?? []) {
      const source = sourceOf(input);
      const producer = source ? byName.get(source.node) : undefined;
      if (producer) visit(producer);
    }
    visiting.delete(node.name);
    done.add(node.name);
    order.push(node);
  };
  nodes.forEach(visit);
  return order;
}

export async function loadGraphModelFromDisk(modelPath: string, overrides: Preprocessing = {}): Promise<ModelFiles & { formatDetail: string }> {
  const file = await locateModelJson(modelPath);
  try {
    return await loadGraphModel(file, overrides);
  } catch (error) {
    // Node and op messages ("graph node "x" (MatMul) failed: …") get the file in front.
    throw namingFile(error, file, 'cannot be rebuilt as a model');
  }
}

async function loadGraphModel(file: string, overrides: Preprocessing): Promise<ModelFiles & { formatDetail: string }> {
  const json = JSON.parse(await fs.promises.readFile(file, 'utf8')) as {
    modelTopology?: { node?: TfNode[]; library?: { function?: unknown[] } };
    weightsManifest?: unknown;
    signature?: { outputs?: Record<string, { name?: string; tensorShape?: { dim?: { size?: string | number }[] } }> };
    convertedBy?: string;
  };
  const nodes = json.modelTopology?.node ?? [];
  const declaredOutputs = graphOutputs(json.signature?.outputs, nodes);
  // What the model is comes first: a detector is "not a classifier", whichever ops it also lacks.
  if (declaredOutputs.length > 0 && declaredOutputs.every((o) => o.shape !== null && o.shape.length !== 2)) {
    throw notAClassifier(file, declaredOutputs.map((o) => o.shape as number[]));
  }
  const control = nodes.filter((n) => CONTROL_FLOW.has(n.op));
  if (control.length > 0 || (json.modelTopology?.library?.function?.length ?? 0) > 0) {
    const names = control.slice(0, 3).map((n) => `${n.op} (node "${n.name}")`).join(', ') || 'functions in the graph library';
    throw new LensError(
      `${file}: the graph model has control flow (${names}); gradients cannot pass through it and CNN Lens cannot explain it. ` +
        'Convert the model without tf.cond/tf.while_loop in its forward pass (a plain Keras CNN converts without control flow).',
      'unsupported',
    );
  }
  const missing = nodes.filter((n) => n.op !== 'Placeholder' && n.op !== 'Const' && !Object.prototype.hasOwnProperty.call(TF_OPS, n.op));
  if (missing.length > 0) {
    const types = new Set(missing.map((n) => n.op)).size;
    throw new LensError(
      `${file}: CNN Lens cannot run graph op${types > 1 ? 's' : ''} ${describeUnsupportedOps(missing.map((n) => ({ opType: String(n.op), name: String(n.name) })))}. ` +
        `Supported: ${Object.keys(TF_OPS).sort().join(', ')}.`,
      'unsupported',
    );
  }
  const placeholders = nodes.filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1) {
    throw new LensError(
      `${file}: the graph model has ${placeholders.length} inputs (${placeholders.map((n) => `"${n.name}"`).join(', ')}); CNN Lens explains image classifiers with one image input.`,
      'unsupported',
    );
  }
  const input = placeholders[0] as TfNode;
  const dims = (input.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size ?? -1));
  const [, height, width, channels] = dims;
  if (dims.length !== 4 || !(height! > 0 && width! > 0 && channels! > 0)) {
    throw new LensError(`${file}: input "${input.name}" has shape [${dims.join(', ')}]; CNN Lens needs an NHWC image input of a fixed size [-1, height, width, channels].`, 'unsupported');
  }
  checkModelInputSize(height as number, width as number, `${file}: input "${input.name}"`);
  if (declaredOutputs.length === 0) {
    throw new LensError(`${file}: the graph model has no output (no signature outputs, and every node is read by another); it is damaged or not a model.`, 'bad-input');
  }

  const weights = await readModelJsonWeights(file, json.weightsManifest);
  const constants = new Map<string, tf.Tensor>(Object.entries(weights));
  const plans: GraphNodePlan[] = [];
  // Identity nodes (the converter names outputs with them) are aliases, not layers: the output
  // layer must be the Softmax itself for the engine to take its pre-softmax input.
  const alias = new Map<string, string>();
  const resolve = (name: string): string => alias.get(name) ?? name;
  const runtime = new Set<string>([input.name]);
  const giveName = nameGiver();
  giveName(input.name);
  try {
    for (const node of topologicalOrder(nodes, file)) {
      if (node.op === 'Placeholder') continue;
      if (node.op === 'Const') {
        if (!constants.has(node.name)) {
          throw new LensError(`${file}: Const node "${node.name}" has no weights in weightsManifest.`, 'bad-input');
        }
        continue;
      }
      const attrs = new Attrs(node.attr ?? {});
      const op = (TF_OPS[node.op] as (a: Attrs, n: TfNode) => TfOp)(attrs, node);
      const sources = (node.input ?? []).map(sourceOf).filter((s): s is { node: string; index: number } => s !== null).map(valueName).map(resolve);
      for (const name of sources) {
        if (!runtime.has(name) && !constants.has(name)) {
          throw new LensError(`${file}: graph node "${node.name}" reads "${name}", which no node provides.`, 'bad-input');
        }
      }
      if (node.op === 'Identity' && sources.length === 1 && runtime.has(sources[0] as string)) {
        alias.set(node.name, sources[0] as string);
        continue;
      }
      const info = { name: node.name, opType: node.op };
      const run = (args: (tf.Tensor | undefined)[], pass?: NodePass): tf.Tensor[] => runGuarded('Graph', info, () => op(args as tf.Tensor[], attrs, node, pass).slice(0, 1));
      if (sources.every((name) => constants.has(name))) {
        const [value] = tf.tidy(() => run(sources.map((name) => constants.get(name))));
        constants.set(node.name, value as tf.Tensor);
        continue;
      }
      const runtimeInputs: string[] = [];
      const slots: Slot[] = sources.map((name) => {
        if (runtime.has(name)) {
          const at = runtimeInputs.indexOf(name);
          if (at >= 0) return { runtime: at };
          runtimeInputs.push(name);
          return { runtime: runtimeInputs.length - 1 };
        }
        const value = constants.get(name) as tf.Tensor;
        return { constant: tf.clone(value), weight: name in weights && value.dtype === 'float32' };
      });
      plans.push({ info: { name: giveName(node.name), opType: node.op }, runtimeInputs, slots, outputs: [node.name], run, kernel: TF_KERNELS.get(node.op), attributes: node.attr ?? {} });
      runtime.add(node.name);
    }
    const outputValues = declaredOutputs.map((output) => {
      const value = resolve(output.value);
      if (!runtime.has(value)) {
        throw new LensError(`${file}: the output "${output.name}" does not depend on the input image.`, 'unsupported');
      }
      return value;
    });
    const model = buildNodeGraphModel(plans, input.name, [height as number, width as number, channels as number], outputValues, path.basename(path.dirname(file)));
    try {
      const companions = await readModelCompanions(file, model, overrides);
      return {
        model,
        modelPath: file,
        ...companions,
        outputNames: declaredOutputs.map((o) => o.name),
        outputShapes: declaredOutputs.map((o, i) => o.shape ?? model.outputs[i].shape),
        formatDetail: `converted by ${json.convertedBy ?? 'tensorflowjs_converter'}; fused ops run unfused for gradients`,
      };
    } catch (error) {
      model.dispose();
      throw error;
    }
  } catch (error) {
    // Layers own their constants once wired; disposing again after model.dispose() is harmless.
    plans.forEach((p) => p.slots.forEach((s) => 'constant' in s && s.constant.dispose()));
    throw error;
  } finally {
    tf.dispose([...constants.values()]);
  }
}
