// The operator nodes of a TF.js graph model (loadGraphModel.ts) written as ONNX, one node at a time
// inside the layers export (exportLayers.ts), so ONNX Runtime runs graph models too.
//
// TensorFlow's ops are written in TensorFlow's own layout (NHWC), where their axes (Reshape,
// Concat, Mean, Softmax, Squeeze, ExpandDims) mean what they mean in the graph; only the
// layout-sensitive ones (convolutions, pools, batch norm, 4-D Pad) run on NCHW values. The
// export's convention is kept at every node's edge: each 4-D node output is NCHW (the value the
// layer is listed with), and a node that wants NHWC transposes its input itself. So a cut graph,
// which feeds a layer's value, feeds exactly what every later node reads; the Transpose pairs this
// leaves between nodes are removed by ONNX Runtime's transpose optimizer.
//
// Each op computes what loadGraphModel.ts's tfjs op computes, with the same gradient masks:
// fused ops run in the order fused_ops lists them; Relu6 is Relu then Clip(0, 6) (relu6's mask,
// and guided, the strict (0, 6) of guidedRelu.ts); 'SAME' pads as TensorFlow pads, the odd one at
// the end, and average pools leave the padding out of their counts. The shape arithmetic a
// converted Keras Flatten writes for a dynamic batch (Shape → StridedSlice → Pack → Reshape) is
// written as ONNX's own (int64, computed at run time, so every batch size reshapes as in tfjs);
// gradients never flow through it. An op not written here fails the export with the node's name
// and op: the tfjs engine then runs the model and says why.
import { Attrs, type AttrValue } from '../models/graphModel/tfAttrs';
import type { GraphNodePlan } from '../execution/nodeGraph';
import type * as tf from '../tf';
import type { GraphBuilder } from './protoGraph';
import { convKernel, depthwiseKernel, weightInit } from './exportWeights';

/** A value of the exported graph: its ONNX name and its tfjs shape (4-D values are stored NCHW). */
export interface ExportedValue {
  readonly name: string;
  readonly shape: readonly (number | null)[];
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

/** What a writer gives: a value name and the layout it is in (a 4-D value either NCHW or TensorFlow's NHWC). */
interface Written {
  readonly name: string;
  readonly nchw: boolean;
  /** An int64 value of shape arithmetic (never 4-D, never differentiated). */
  readonly shape?: boolean;
}

type NodeWriter = (c: NodeContext) => Written;

/** The int64 values written for TensorFlow's integer shape arithmetic, per exported graph. */
const shapeValues = new WeakMap<GraphBuilder, Set<string>>();

function shapeValuesOf(b: GraphBuilder): Set<string> {
  let values = shapeValues.get(b);
  if (!values) {
    values = new Set();
    shapeValues.set(b, values);
  }
  return values;
}

/** Bounds past either end of any shape vector, for ONNX Slice's open starts and ends. */
const PAST_END = 2 ** 31 - 1;
const PAST_START = -(2 ** 31);

/**
 * The node's output as the export stores it (NCHW when 4-D), given its runtime inputs in the
 * layer's order. Calls `fail` (which throws) for an op or attribute without an ONNX form here.
 */
export function exportGraphNode(b: GraphBuilder, plan: GraphNodePlan, args: readonly ExportedValue[], outShape: readonly (number | null)[], fail: (why: string) => never): string {
  const write = NODE_WRITERS[plan.info.opType];
  if (!write || !plan.attributes) {
    return fail(`is an operator of a TF.js graph model without an ONNX export (exported: ${Object.keys(NODE_WRITERS).sort().join(', ')})`);
  }
  const c = new NodeContext(b, plan, args, new Attrs(plan.attributes as Record<string, AttrValue>), fail);
  const out = write(c);
  if (out.shape) {
    shapeValuesOf(b).add(out.name);
    return out.name;
  }
  if (outShape.length === 4) return out.nchw ? out.name : b.one('Transpose', [out.name], { perm: NHWC_TO_NCHW });
  if (out.nchw) fail(`gives a ${outShape.length}-D value from an NCHW image`);
  return out.name;
}

class NodeContext {
  private readonly inNhwc = new Map<number, string>();

  constructor(
    readonly b: GraphBuilder,
    readonly plan: GraphNodePlan,
    private readonly args: readonly ExportedValue[],
    readonly attrs: Attrs,
    readonly fail: (why: string) => never,
  ) {}

  get slots(): number {
    return this.plan.slots.length;
  }

  /** The runtime input in slot i, or undefined when the slot holds a constant; refused when it is shape arithmetic. */
  private runtime(slot: number): ExportedValue | undefined {
    const value = this.anyRuntime(slot);
    if (value && this.isShape(slot)) this.fail(`computes with a shape value (input ${slot}); only Shape, StridedSlice, Pack and Reshape's shape are exported for those`);
    return value;
  }

  private anyRuntime(slot: number): ExportedValue | undefined {
    const s = this.plan.slots[slot] ?? this.fail(`has no input ${slot}`);
    if ('absent' in s) return this.fail(`has no input ${slot}`);
    return 'runtime' in s ? (this.args[s.runtime] ?? this.fail(`reads runtime input ${s.runtime}, which it is not given`)) : undefined;
  }

  /** True when input `slot` is a runtime int64 value of shape arithmetic. */
  isShape(slot: number): boolean {
    const value = this.anyRuntime(slot);
    return value !== undefined && shapeValuesOf(this.b).has(value.name);
  }

  /** Input `slot` as an int64 shape vector: shape arithmetic as computed, or an integer constant. */
  shapeInput(slot: number): string {
    if (this.isShape(slot)) return (this.anyRuntime(slot) as ExportedValue).name;
    const value = this.constant(slot);
    if (value.dtype !== 'int32') this.fail(`takes a ${value.dtype} value as input ${slot}, where it takes integers`);
    return this.b.int64s(this.ints(slot), value.shape);
  }

  constant(slot: number): tf.Tensor {
    const s = this.plan.slots[slot];
    if (!s || !('constant' in s)) return this.fail(`reads input ${slot} from the image where it takes a constant`);
    return s.constant;
  }

  floats(slot: number): Float32Array {
    const value = this.constant(slot);
    if (value.dtype !== 'float32') this.fail(`has a ${value.dtype} input ${slot}`);
    return value.dataSync() as Float32Array;
  }

  ints(slot: number): number[] {
    return Array.from(this.constant(slot).dataSync(), Number);
  }

  rank(slot: number): number {
    return this.runtime(slot)?.shape.length ?? this.constant(slot).rank;
  }

  /** The tfjs shape of a runtime input. */
  shape(slot: number): readonly (number | null)[] {
    return (this.runtime(slot) ?? this.fail(`takes a constant input ${slot}`)).shape;
  }

  /** Input `slot` in TensorFlow's layout (NHWC when 4-D); a constant as a float initializer. */
  tf(slot: number): string {
    const value = this.runtime(slot);
    if (!value) return weightInit(this.b, this.floats(slot), this.constant(slot).shape);
    if (value.shape.length !== 4) return value.name;
    let name = this.inNhwc.get(slot);
    if (!name) {
      name = this.b.one('Transpose', [value.name], { perm: NCHW_TO_NHWC });
      this.inNhwc.set(slot, name);
    }
    return name;
  }

  /** A 4-D runtime input as stored (NCHW). */
  nchw(slot: number): string {
    const value = this.runtime(slot) ?? this.fail(`takes a constant input ${slot} where it takes an image`);
    if (value.shape.length !== 4) this.fail(`gets a ${value.shape.length}-D input; its export takes 4-D images`);
    return value.name;
  }

  /** A runtime input as stored, for element-wise ops that do not care about the layout. */
  stored(slot: number): Written {
    const value = this.runtime(slot) ?? this.fail(`takes a constant input ${slot}`);
    return { name: value.name, nchw: value.shape.length === 4 };
  }

  nhwcFormat(): void {
    const format = this.attrs.string('data_format', 'NHWC');
    if (format !== 'NHWC') this.fail(`uses data_format ${format}`);
  }

  /** [top, left, bottom, right] pads of a window over the NHWC input in slot 0 (TensorFlow's 'SAME', 'VALID', or 'EXPLICIT'). */
  windowPads(kernel: number[], strides: number[], dilations: number[], explicitAllowed: boolean): number[] {
    const padding = this.attrs.string('padding', 'VALID');
    if (padding === 'VALID') return [0, 0, 0, 0];
    if (padding === 'EXPLICIT' && explicitAllowed) {
      const p = this.attrs.ints('explicit_paddings') ?? [];
      if (p.length !== 8) this.fail(`has explicit_paddings [${p.join(', ')}]`);
      if (p[0] || p[1] || p[6] || p[7]) this.fail('pads the batch or the channels');
      return [p[2], p[4], p[3], p[5]];
    }
    if (padding !== 'SAME') this.fail(`uses padding ${padding}`);
    const shape = this.shape(0);
    const begin: number[] = [];
    const end: number[] = [];
    for (let axis = 0; axis < 2; axis++) {
      const size = shape[1 + axis] as number;
      const out = Math.ceil(size / strides[axis]);
      const total = Math.max(0, (out - 1) * strides[axis] + (kernel[axis] - 1) * dilations[axis] + 1 - size);
      begin.push(Math.floor(total / 2));
      end.push(total - Math.floor(total / 2));
    }
    return [...begin, ...end];
  }

  /** The H and W entries of an NHWC attribute list (strides, ksize, dilations); 1, 1 when absent. */
  hw(name: string): [number, number] {
    const values = this.attrs.ints(name);
    if (!values) return [1, 1];
    if (values.length !== 4 || values[0] !== 1 || values[3] !== 1) this.fail(`has ${name} [${values.join(', ')}]`);
    return [values[1], values[2]];
  }
}

// ---------------------------------------------------------------------------------------------
// Activations and the fused ops

/** An activation on a value in any layout (it is element-wise); `alphaAttr` names LeakyRelu's alpha. */
function activation(c: NodeContext, x: string, op: string, alphaAttr: string): string {
  const b = c.b;
  switch (op) {
    case 'Relu':
      return b.one('Relu', [x]);
    case 'Relu6':
      return b.one('Clip', [b.one('Relu', [x]), b.scalar(0), b.scalar(6)]);
    case 'Sigmoid':
      return b.one('Sigmoid', [x]);
    case 'Tanh':
      return b.one('Tanh', [x]);
    case 'LeakyRelu':
      return b.one('LeakyRelu', [x], { alpha: c.attrs.float(alphaAttr, 0.2) });
    default:
      return c.fail(`applies ${op}, which has no ONNX export here (Relu, Relu6, Sigmoid, Tanh and LeakyRelu do)`);
  }
}

/**
 * The fused_ops after a convolution (NCHW) or a MatMul ([N, K]), each taking its operands from the
 * constants after the op's two inputs, in order. A leading BiasAdd is given to `withBias` (the
 * Conv's or Gemm's own bias input) when it takes one.
 */
function applyFused(c: NodeContext, withBias: (bias: string | undefined) => string, channelsFirst: boolean): string {
  const ops = c.attrs.strings('fused_ops');
  let next = 2;
  const take = (): Float32Array => {
    if (next >= c.slots) c.fail(`has fused_ops ${ops.join(', ')} with ${c.slots - 2} extra inputs`);
    return c.floats(next++);
  };
  const perChannel = (values: Float32Array): string => weightInit(c.b, values, channelsFirst ? [values.length, 1, 1] : [values.length]);
  let index = 0;
  let y: string;
  if (ops[0] === 'BiasAdd' || ops[0] === 'Add') {
    const bias = take();
    y = withBias(weightInit(c.b, bias, [bias.length]));
    index = 1;
  } else {
    y = withBias(undefined);
  }
  for (const op of ops.slice(index)) {
    if (op === 'BiasAdd' || op === 'Add') {
      y = c.b.one('Add', [y, perChannel(take())]);
    } else if (op === 'FusedBatchNorm') {
      if (!channelsFirst) c.fail('fuses a batch norm after a MatMul');
      const [scale, offset, mean, variance] = [take(), take(), take(), take()];
      y = c.b.one('BatchNormalization', [y, ...[scale, offset, mean, variance].map((v) => weightInit(c.b, v, [v.length]))], { epsilon: c.attrs.float('epsilon', 1e-3) });
    } else {
      y = activation(c, y, op, 'leakyrelu_alpha');
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Ops

function convolution(depthwise: boolean, fusedOps: boolean): NodeWriter {
  return (c) => {
    c.nhwcFormat();
    const x = c.nchw(0);
    const kernel = c.constant(1);
    if (kernel.rank !== 4) c.fail(`has a ${kernel.rank}-D filter`);
    const [kh, kw, cin, cout] = kernel.shape;
    const strides = c.hw('strides');
    const dilations = c.hw('dilations');
    const pads = c.windowPads([kh, kw], strides, dilations, true);
    const weight = depthwise ? weightInit(c.b, depthwiseKernel(c.floats(1), kernel.shape), [cin * cout, 1, kh, kw]) : weightInit(c.b, convKernel(c.floats(1), kernel.shape), [cout, cin, kh, kw]);
    const attrs = { kernel_shape: [kh, kw], strides, dilations, pads, group: depthwise ? cin : 1 };
    const conv = (bias: string | undefined): string => c.b.one('Conv', bias ? [x, weight, bias] : [x, weight], attrs);
    return { name: fusedOps ? applyFused(c, conv, true) : conv(undefined), nchw: true };
  };
}

function matMul(fusedOps: boolean): NodeWriter {
  return (c) => {
    if (c.rank(0) !== 2 || c.rank(1) !== 2) c.fail(`multiplies ${c.rank(0)}-D by ${c.rank(1)}-D values; its export takes 2-D ones`);
    // Gemm's gradient flows to A only: the weights must be the graph's constant.
    c.constant(1);
    const a = c.tf(0);
    const weights = c.tf(1);
    const attrs = { transA: c.attrs.bool('transpose_a', false) ? 1 : 0, transB: c.attrs.bool('transpose_b', false) ? 1 : 0 };
    const gemm = (bias: string | undefined): string => c.b.one('Gemm', bias ? [a, weights, bias] : [a, weights], attrs);
    return { name: fusedOps ? applyFused(c, gemm, false) : gemm(undefined), nchw: false };
  };
}

function binary(opType: 'Add' | 'Sub' | 'Mul' | 'Div'): NodeWriter {
  return (c) => {
    if (c.slots !== 2) c.fail(`takes ${c.slots} inputs`);
    return { name: c.b.one(opType, [c.tf(0), c.tf(1)]), nchw: false };
  };
}

const biasAdd: NodeWriter = (c) => {
  c.nhwcFormat();
  return binary('Add')(c);
};

function unary(op: string, alphaAttr = 'alpha'): NodeWriter {
  return (c) => {
    const x = c.stored(0);
    return { name: activation(c, x.name, op, alphaAttr), nchw: x.nchw };
  };
}

const identity: NodeWriter = (c) => c.stored(0);

const batchNorm: NodeWriter = (c) => {
  c.nhwcFormat();
  const params = [1, 2, 3, 4].map((slot) => c.floats(slot));
  const [scale, offset, mean, variance] = params;
  const inputs = [c.nchw(0), ...[scale, offset, mean, variance].map((v) => weightInit(c.b, v, [v.length]))];
  return { name: c.b.one('BatchNormalization', inputs, { epsilon: c.attrs.float('epsilon', 1e-3) }), nchw: true };
};

function pool(opType: 'MaxPool' | 'AveragePool'): NodeWriter {
  return (c) => {
    c.nhwcFormat();
    const x = c.nchw(0);
    const kernel = c.hw('ksize');
    const strides = c.hw('strides');
    const attrs: Record<string, number | number[]> = { kernel_shape: kernel, strides, pads: c.windowPads(kernel, strides, [1, 1], false) };
    // TensorFlow's 'SAME' average leaves the padding out of each window's count.
    if (opType === 'AveragePool') attrs.count_include_pad = 0;
    return { name: c.b.one(opType, [x], attrs), nchw: true };
  };
}

/** The constant axes of a reduction, as non-negative axes of the input. */
function reductionAxes(c: NodeContext): number[] {
  const rank = c.rank(0);
  const axes = c.ints(1).map((a) => (a < 0 ? a + rank : a));
  if (axes.some((a) => a < 0 || a >= rank)) c.fail(`reduces axes [${c.ints(1).join(', ')}] of a ${rank}-D value`);
  return axes;
}

function reduce(kind: 'mean' | 'max' | 'sum'): NodeWriter {
  return (c) => {
    const axes = reductionAxes(c);
    if (axes.includes(0)) c.fail('reduces over the batch');
    const keepdims = c.attrs.bool('keep_dims', false) ? 1 : 0;
    // Opset 13: ReduceSum takes its axes as an input, ReduceMean and ReduceMax still as an attribute.
    // ReduceMax, not a MaxPool over the map: its gradient goes to every tied maximum, as tfjs's does.
    const x = c.tf(0);
    const name = kind === 'sum' ? c.b.one('ReduceSum', [x, c.b.int64s(axes)], { keepdims }) : c.b.one(kind === 'mean' ? 'ReduceMean' : 'ReduceMax', [x], { axes, keepdims });
    return { name, nchw: false };
  };
}

const reshape: NodeWriter = (c) => ({ name: c.b.one('Reshape', [c.tf(0), c.shapeInput(1)]), nchw: false });

// Shape arithmetic: int64 vectors and scalars, as TensorFlow's int32 ones (a Flatten's [batch, -1]).

const shapeOf: NodeWriter = (c) => ({ name: c.b.one('Shape', [c.tf(0)]), nchw: false, shape: true });

/** StridedSlice of a 1-D shape vector: begin, end and stride with the begin, end and shrink masks. */
const sliceShape: NodeWriter = (c) => {
  if (!c.isShape(0)) c.fail('slices a value that is not shape arithmetic (StridedSlice is exported for shapes only)');
  const [begin, end, stride] = [c.ints(1), c.ints(2), c.ints(3)];
  if (begin.length !== 1 || end.length !== 1 || stride.length !== 1 || stride[0] === 0) c.fail(`slices [${begin}]:[${end}]:[${stride}] of a shape; its export takes one axis`);
  if (c.attrs.int('ellipsis_mask', 0) !== 0 || c.attrs.int('new_axis_mask', 0) !== 0) c.fail('uses an ellipsis or new axis mask');
  const shrink = (c.attrs.int('shrink_axis_mask', 0) & 1) === 1;
  const step = stride[0];
  let start = (c.attrs.int('begin_mask', 0) & 1) === 1 ? (step > 0 ? 0 : PAST_END) : begin[0];
  let stop = (c.attrs.int('end_mask', 0) & 1) === 1 ? (step > 0 ? PAST_END : PAST_START) : end[0];
  if (shrink) {
    // One element, begin's (TensorFlow ignores the masks and the end for a shrunk axis).
    start = begin[0];
    stop = start === -1 ? PAST_END : start + 1;
  }
  const x = c.shapeInput(0);
  const sliced = c.b.one('Slice', [x, c.b.int64s([start]), c.b.int64s([stop]), c.b.int64s([0]), c.b.int64s([shrink ? 1 : step])]);
  return { name: shrink ? c.b.one('Squeeze', [sliced, c.b.int64s([0])]) : sliced, nchw: false, shape: true };
};

/** Pack of integer scalars along axis 0 (a shape vector such as [batch, -1]). */
const packShape: NodeWriter = (c) => {
  if (c.attrs.int('axis', 0) !== 0) c.fail(`packs along axis ${c.attrs.int('axis', 0)}`);
  const parts = Array.from({ length: c.slots }, (_, slot) => {
    if (c.isShape(slot)) return c.b.one('Unsqueeze', [c.shapeInput(slot), c.b.int64s([0])]);
    const value = c.constant(slot);
    if (value.dtype !== 'int32' || value.rank !== 0) c.fail('packs values that are not integer scalars (Pack is exported for shapes only)');
    return c.b.int64s(c.ints(slot));
  });
  if (!Array.from({ length: c.slots }, (_, slot) => c.isShape(slot)).some(Boolean)) c.fail('packs only constants');
  return { name: c.b.one('Concat', parts, { axis: 0 }), nchw: false, shape: true };
};

const squeeze: NodeWriter = (c) => {
  const shape = c.shape(0);
  const listed = c.attrs.ints('squeeze_dims') ?? [];
  // No axes: every axis of size 1 (not the batch, which the graph leaves open).
  const axes = listed.length > 0 ? listed.map((a) => (a < 0 ? a + shape.length : a)) : shape.flatMap((d, i) => (i > 0 && d === 1 ? [i] : []));
  if (axes.includes(0)) c.fail('squeezes the batch axis');
  return { name: c.b.one('Squeeze', [c.tf(0), c.b.int64s(axes)]), nchw: false };
};

const expandDims: NodeWriter = (c) => {
  const rank = c.rank(0);
  const [raw] = c.ints(1);
  const axis = raw < 0 ? raw + rank + 1 : raw;
  if (!(axis > 0 && axis <= rank)) c.fail(`inserts axis ${raw} into a ${rank}-D value`);
  return { name: c.b.one('Unsqueeze', [c.tf(0), c.b.int64s([axis])]), nchw: false };
};

const softmax: NodeWriter = (c) => ({ name: c.b.one('Softmax', [c.tf(0)], { axis: c.rank(0) - 1 }), nchw: false });

const concat: NodeWriter = (c) => {
  const count = c.slots - 1;
  const rank = c.rank(0);
  const [raw] = c.ints(count);
  const axis = raw < 0 ? raw + rank : raw;
  if (!(axis > 0 && axis < rank)) c.fail(`joins along axis ${raw} of ${rank}-D values`);
  const inputs = Array.from({ length: count }, (_, slot) => c.tf(slot));
  return { name: c.b.one('Concat', inputs, { axis }), nchw: false };
};

const pad: NodeWriter = (c) => {
  const rank = c.rank(0);
  const p = c.ints(1);
  if (p.length !== 2 * rank || p.some((v) => v < 0)) c.fail(`has paddings [${p.join(', ')}] for a ${rank}-D value`);
  // A 4-D Pad runs on the stored NCHW value, so padFusion.ts sees a Pad that feeds a MaxPool.
  const order = rank === 4 ? [0, 3, 1, 2] : [...Array(rank).keys()];
  const pads = [...order.map((axis) => p[2 * axis]), ...order.map((axis) => p[2 * axis + 1])];
  const x = rank === 4 ? c.nchw(0) : c.tf(0);
  return { name: c.b.one('Pad', [x, c.b.int64s(pads)], { mode: 'constant' }), nchw: rank === 4 };
};

/** TF.js graph-model ops with an ONNX form, by op name. */
const NODE_WRITERS: Record<string, NodeWriter> = {
  Conv2D: convolution(false, false),
  _FusedConv2D: convolution(false, true),
  DepthwiseConv2dNative: convolution(true, false),
  FusedDepthwiseConv2dNative: convolution(true, true),
  MatMul: matMul(false),
  _FusedMatMul: matMul(true),
  BiasAdd: biasAdd,
  FusedBatchNorm: batchNorm,
  FusedBatchNormV2: batchNorm,
  FusedBatchNormV3: batchNorm,
  Relu: unary('Relu'),
  Relu6: unary('Relu6'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  LeakyRelu: unary('LeakyRelu'),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Mean: reduce('mean'),
  Sum: reduce('sum'),
  Max: reduce('max'),
  Reshape: reshape,
  Shape: shapeOf,
  StridedSlice: sliceShape,
  Pack: packShape,
  Squeeze: squeeze,
  ExpandDims: expandDims,
  Softmax: softmax,
  Identity: identity,
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  ConcatV2: concat,
  Pad: pad,
};
