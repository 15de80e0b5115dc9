// ONNX operators as tfjs ops, differentiable so tf.grad runs through them (every CAM method).
//
// Layout: ONNX feature maps are NCHW, tfjs's convolutions and pools (and CNN Lens's pipeline) are
// NHWC. The rule everywhere in this file: a value of rank 4 flowing between operators is stored
// NHWC ("physical"); every other rank is stored as ONNX describes it ("logical"). An operator
// reads its ONNX-level axes through that rule (channel axis 1 is physical axis 3), and operators
// whose meaning depends on element order (Reshape, Flatten, Transpose, Gather, Squeeze, a
// keepdims=0 reduction) convert to NCHW first, so x.view(n, -1) in PyTorch flattens in PyTorch's
// order. Constant inputs (initializers) enter through the same rule (see toPhysical), which also
// turns a Conv weight OIHW into OHWI; each operator then builds the filter layout tfjs wants.
import { LensError } from '../../../shared/errors';
import { nodeRelu, type NodePass } from '../../execution/guidedRelu';
import { broadcastShape, checkTensorSize } from '../../limits';
import type { NodeKernel } from '../../execution/nodeGraph';
import * as tf from '../../tf';
import type { AttributeProto, NodeProto, TensorProto } from './onnxProto';
import { ATTRIBUTE_TYPE } from './onnxProto';
import { tensorFromProto } from './tensors';

/**
 * An operator: physical inputs (undefined for an omitted optional input) to physical outputs.
 * `pass` says whether ReLU-family operators run guided (guidedRelu.ts nodeRelu); others ignore it.
 */
export type OpFn = (inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode, pass?: NodePass) => tf.Tensor[];

/** What an operator knows about its node: names for messages, and the model's opset. */
export interface OpNode {
  readonly name: string;
  readonly opType: string;
  readonly opset: number;
}

// ---------------------------------------------------------------------------------------------
// Layout helpers

/** NCHW -> NHWC for rank 4; other ranks are unchanged. */
export function toPhysical(logical: tf.Tensor): tf.Tensor {
  return logical.rank === 4 ? tf.transpose(logical, [0, 2, 3, 1]) : logical;
}

/** NHWC -> NCHW for rank 4; other ranks are unchanged. */
export function toLogical(physical: tf.Tensor): tf.Tensor {
  return physical.rank === 4 ? tf.transpose(physical, [0, 3, 1, 2]) : physical;
}

/** Logical shape of a physical value (what ONNX's Shape would report). */
function logicalShape(physical: tf.Tensor): number[] {
  const s = physical.shape as number[];
  return physical.rank === 4 ? [s[0], s[3], s[1], s[2]] : [...s];
}

/** Physical axis of ONNX axis `axis` (may be negative) in a value of rank `rank`. */
function physicalAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 4 ? [0, 3, 1, 2][a] : a;
}

/** For broadcasting against a rank-4 value: a lower-rank logical value padded to rank 4, then NHWC. */
function alignForBroadcast(a: tf.Tensor, b: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const lift = (low: tf.Tensor): tf.Tensor => {
    if (low.rank === 0 || low.rank === 4 || low.size === 1) {
      return low;
    }
    const shape = [...Array(4 - low.rank).fill(1), ...low.shape];
    return tf.transpose(tf.reshape(low, shape), [0, 2, 3, 1]);
  };
  if (a.rank === 4 && b.rank < 4) return [a, lift(b)];
  if (b.rank === 4 && a.rank < 4) return [lift(a), b];
  return [a, b];
}

function required(inputs: (tf.Tensor | undefined)[], index: number, node: OpNode): tf.Tensor {
  const value = inputs[index];
  if (!value) {
    throw new LensError(`ONNX node "${node.name}" (${node.opType}) has no input ${index + 1}, which it needs.`, 'bad-input');
  }
  return value;
}

/** Integer values of a small constant-like input (shapes, axes, pads). */
function intValues(value: tf.Tensor | undefined): number[] | undefined {
  return value ? Array.from(value.dataSync(), (v) => Number(v)) : undefined;
}

/**
 * Refuses a result larger than MAX_TENSOR_ELEMENTS before computing it. Operators whose output can
 * outgrow their inputs call it: a ConstantOfShape's dims, a Pad's pads, broadcasting, a product.
 */
function checkSize(node: OpNode, shape: readonly number[], what = 'output'): void {
  checkTensorSize(shape, `ONNX node "${node.name}" (${node.opType}) ${what}`);
}

function unsupported(node: OpNode, what: string): never {
  throw new LensError(`ONNX node "${node.name}" (${node.opType}): ${what} is not supported.`, 'unsupported');
}

// ---------------------------------------------------------------------------------------------
// Attributes

export class Attributes {
  private readonly byName = new Map<string, AttributeProto>();

  constructor(attributes: readonly AttributeProto[]) {
    attributes.forEach((a) => this.byName.set(a.name, a));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  // An attribute that is present but decodes without its value holds 0: protobuf leaves zero
  // scalars out of the decoded object (keepdims=0, transA=0, alpha=0 are real values).
  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a === undefined ? fallback : Number(a.i ?? 0);
  }

  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a === undefined ? fallback : (a.f ?? 0);
  }

  ints(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a && (a.type === ATTRIBUTE_TYPE.INTS || a.ints.length > 0) ? a.ints.map(Number) : undefined;
  }

  floats(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a && (a.type === ATTRIBUTE_TYPE.FLOATS || a.floats.length > 0) ? a.floats : undefined;
  }

  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  tensor(name: string): TensorProto | undefined {
    return this.byName.get(name)?.t;
  }

  /** True when any attribute holds a subgraph (If, Loop, Scan bodies). */
  hasGraph(): boolean {
    return [...this.byName.values()].some((a) => a.g !== undefined || a.graphs.length > 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Convolutions and pools

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [top, left, bottom, right] */
  pads: number[];
}

function windowOf(attrs: Attributes, node: OpNode, kernel: number[], inputHW: number[]): Window {
  const strides = attrs.ints('strides') ?? [1, 1];
  const dilations = attrs.ints('dilations') ?? [1, 1];
  let pads = attrs.ints('pads') ?? [0, 0, 0, 0];
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const out = Math.ceil(inputHW[i] / strides[i]);
      const extent = (kernel[i] - 1) * dilations[i] + 1;
      const total = Math.max(0, (out - 1) * strides[i] + extent - inputHW[i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + 2] = total - pads[i];
    }
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  }
  if (kernel.length !== 2 || strides.length !== 2 || pads.length !== 4) {
    unsupported(node, `a ${kernel.length}-D window (CNN Lens runs 2-D convolutions and pools on NCHW images)`);
  }
  return { kernel, strides, dilations, pads };
}

/** The input padded by [top, left, bottom, right] must fit too (pads are attributes: any size). */
function checkPadded(node: OpNode, x: tf.Tensor, pads: number[], extra = [0, 0]): void {
  const [n, h, w, c] = x.shape;
  checkSize(node, [n, h + pads[0] + pads[2] + extra[0], w + pads[1] + pads[3] + extra[1], c], 'padded input');
}

function padSpatial(x: tf.Tensor4D, pads: number[], value = 0): tf.Tensor4D {
  if (pads.every((p) => p === 0)) {
    return x;
  }
  const [top, left, bottom, right] = pads;
  return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], value);
}

function conv(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const x = required(inputs, 0, node);
  const weight = required(inputs, 1, node); // physical OHWI (ONNX OIHW through toPhysical)
  if (x.rank !== 4 || weight.rank !== 4) {
    unsupported(node, `a ${x.rank - 2}-D convolution`);
  }
  const [outChannels, kh, kw, inPerGroup] = weight.shape;
  const window = windowOf(attrs, node, attrs.ints('kernel_shape') ?? [kh as number, kw as number], [x.shape[1] as number, x.shape[2] as number]);
  const group = attrs.int('group', 1);
  checkPadded(node, x, window.pads);
  const padded = padSpatial(x as tf.Tensor4D, window.pads);
  const strides = window.strides as [number, number];
  const dilations = window.dilations as [number, number];
  const hwio = tf.transpose(weight, [1, 2, 3, 0]) as tf.Tensor4D; // [kh, kw, in/group, out]
  const inChannels = x.shape[3];
  let y: tf.Tensor4D;
  if (group === 1) {
    y = tf.conv2d(padded, hwio, strides, 'valid', 'NHWC', dilations);
  } else if (group === inChannels && inPerGroup === 1) {
    // Depthwise: output channel c*m + j reads input channel c.
    const filter = tf.reshape(hwio, [kh, kw, inChannels, outChannels / inChannels]) as tf.Tensor4D;
    y = tf.depthwiseConv2d(padded, filter, strides, 'valid', 'NHWC', dilations);
  } else {
    const xs = tf.split(padded, group, 3);
    const ws = tf.split(hwio, group, 3);
    y = tf.concat(
      xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, ws[i] as tf.Tensor4D, strides, 'valid', 'NHWC', dilations)),
      3,
    );
  }
  const bias = inputs[2];
  return [bias ? tf.add(y, bias) : y];
}

/**
 * Where a node's kernel is, for the Filters view: a Conv's weight is input 2, OIHW in the file and
 * OHWI in its slot (toPhysical, as conv() reads it). ConvTranspose has none: its weight
 * [in, out/group, kh, kw] spreads each input over the output rather than filtering the input, so
 * it is not a bank of filters (tfjs's Conv2DTranspose is not drawn either).
 */
export function kernelOf(opType: string, attrs: Attributes): NodeKernel | undefined {
  return opType === 'Conv' ? { slot: 1, stored: 'OHWI', layout: 'OIHW', groups: attrs.int('group', 1) } : undefined;
}

function convTranspose(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const x = required(inputs, 0, node) as tf.Tensor4D;
  const weight = required(inputs, 1, node); // physical [in, kh, kw, out/group] (ONNX [in, out/group, kh, kw])
  if (x.rank !== 4 || weight.rank !== 4) {
    unsupported(node, `a ${x.rank - 2}-D transposed convolution`);
  }
  if (attrs.int('group', 1) !== 1) {
    unsupported(node, 'a grouped transposed convolution');
  }
  if ((attrs.ints('dilations') ?? [1, 1]).some((d) => d !== 1)) {
    unsupported(node, 'a dilated transposed convolution');
  }
  if (attrs.has('output_shape') || !['NOTSET', 'VALID'].includes(attrs.string('auto_pad', 'NOTSET'))) {
    unsupported(node, 'output_shape or auto_pad (export with explicit pads)');
  }
  const [, kh, kw, outChannels] = weight.shape;
  const [sh, sw] = attrs.ints('strides') ?? [1, 1];
  const [top, left, bottom, right] = attrs.ints('pads') ?? [0, 0, 0, 0];
  const [extraH, extraW] = attrs.ints('output_padding') ?? [0, 0];
  const [n, h, w] = x.shape;
  const fullH = (h - 1) * sh + kh;
  const fullW = (w - 1) * sw + kw;
  checkSize(node, [n, fullH + extraH, fullW + extraW, outChannels]);
  const filter = tf.transpose(weight, [1, 2, 3, 0]) as tf.Tensor4D; // [kh, kw, out, in]
  let y: tf.Tensor4D = tf.conv2dTranspose(x, filter, [n, fullH, fullW, outChannels], [sh, sw], 'valid');
  // output_padding adds rows/columns at the end (no input reaches them); pads crop the full output.
  y = tf.pad(y, [[0, 0], [0, extraH], [0, extraW], [0, 0]]);
  y = tf.slice(y, [0, top, left, 0], [n, fullH + extraH - top - bottom, fullW + extraW - left - right, outChannels]);
  const bias = inputs[2];
  return [bias ? tf.add(y, bias) : y];
}

/** Extra end padding that ceil_mode adds so the last partial window counts. */
function ceilExtra(size: number, kernel: number, stride: number, padBegin: number, padEnd: number): number {
  const span = size + padBegin + padEnd - kernel;
  const out = Math.ceil(span / stride) + 1;
  // PyTorch (and ONNX) drop a last window that would start inside the end padding.
  const last = (out - 1) * stride >= size + padBegin ? out - 1 : out;
  return Math.max(0, (last - 1) * stride + kernel - (size + padBegin + padEnd));
}

function poolWindow(x: tf.Tensor, attrs: Attributes, node: OpNode): { window: Window; extra: number[] } {
  if (x.rank !== 4) {
    unsupported(node, `pooling a ${x.rank}-D value`);
  }
  const kernel = attrs.ints('kernel_shape');
  if (!kernel) {
    throw new LensError(`ONNX node "${node.name}" (${node.opType}) has no kernel_shape.`, 'bad-input');
  }
  const window = windowOf(attrs, node, kernel, [x.shape[1] as number, x.shape[2] as number]);
  if (window.dilations.some((d) => d !== 1)) {
    unsupported(node, 'a dilated pooling window');
  }
  const extra = [0, 0];
  if (attrs.int('ceil_mode', 0) === 1) {
    for (let i = 0; i < 2; i++) {
      extra[i] = ceilExtra(x.shape[i + 1] as number, kernel[i] as number, window.strides[i] as number, window.pads[i] as number, window.pads[i + 2] as number);
    }
  }
  checkPadded(node, x, window.pads, extra);
  return { window, extra };
}

function maxPool(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode, outputs: number): tf.Tensor[] {
  const x = required(inputs, 0, node) as tf.Tensor4D;
  if (outputs > 1) {
    unsupported(node, 'the Indices output of MaxPool');
  }
  const { window, extra } = poolWindow(x, attrs, node);
  const [top, left, bottom, right] = window.pads;
  // Padding never wins a max: pad with the lowest float (gradients flow to the real cells only).
  const padded = padSpatial(x, [top, left, bottom + extra[0], right + extra[1]], -3.4e38);
  return [tf.maxPool(padded, window.kernel as [number, number], window.strides as [number, number], 'valid')];
}

function averagePool(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const x = required(inputs, 0, node) as tf.Tensor4D;
  const { window, extra } = poolWindow(x, attrs, node);
  const [top, left, bottom, right] = window.pads;
  const kernel = window.kernel as [number, number];
  const strides = window.strides as [number, number];
  const allPads = [top, left, bottom + extra[0], right + extra[1]];
  const sum = tf.avgPool(padSpatial(x, allPads), kernel, strides, 'valid');
  if (allPads.every((p) => p === 0)) {
    return [sum];
  }
  // Divide by the cells that count: real cells, plus explicit pads when count_include_pad=1
  // (never the ceil_mode extension, as in PyTorch).
  const [, h, w] = x.shape;
  const includePad = attrs.int('count_include_pad', 0) === 1 ? 1 : 0;
  const ones = tf.ones([1, h, w, 1]) as tf.Tensor4D;
  let mask = padSpatial(ones, window.pads, includePad);
  mask = padSpatial(mask, [0, 0, extra[0], extra[1]], 0);
  const share = tf.avgPool(mask, kernel, strides, 'valid');
  return [tf.div(sum, share)];
}

// ---------------------------------------------------------------------------------------------
// Shape operators (they read and write logical values)

function reshape(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = toLogical(required(inputs, 0, node));
  const target = intValues(required(inputs, 1, node)) as number[];
  const allowZero = attrs.int('allowzero', 0) === 1;
  const shape = target.map((d, i) => (d === 0 && !allowZero ? data.shape[i] : d));
  // Exporters often bake batch 1 into a flatten's shape ([1, -1]); keep the batch a batch.
  if (shape[0] === 1 && data.rank > 0 && data.shape[0] > 1 && shape.length >= 2 && shape.slice(1).every((d) => d !== -1)) {
    shape[0] = -1;
  } else if (shape[0] === 1 && data.rank > 0 && data.shape[0] > 1 && shape.includes(-1)) {
    shape[0] = data.shape[0];
  }
  return [toPhysical(tf.reshape(data, shape))];
}

function flatten(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = toLogical(required(inputs, 0, node));
  let axis = attrs.int('axis', 1);
  axis = axis < 0 ? axis + data.rank : axis;
  const outer = data.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return [tf.reshape(data, [outer, data.size / outer])];
}

function transpose(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = toLogical(required(inputs, 0, node));
  const perm = attrs.ints('perm');
  return [toPhysical(tf.transpose(data, perm))];
}

function axesInput(inputs: (tf.Tensor | undefined)[], attrs: Attributes): number[] | undefined {
  return attrs.ints('axes') ?? intValues(inputs[1]);
}

function squeeze(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = toLogical(required(inputs, 0, node));
  const axes = axesInput(inputs, attrs)?.map((a) => (a < 0 ? a + data.rank : a));
  return [toPhysical(tf.squeeze(data, axes))];
}

function unsqueeze(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = toLogical(required(inputs, 0, node));
  const axes = axesInput(inputs, attrs) ?? [];
  const rank = data.rank + axes.length;
  const inserted = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const shape: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) {
    shape.push(inserted.has(i) ? 1 : data.shape[next++]);
  }
  return [toPhysical(tf.reshape(data, shape))];
}

function concat(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const values = inputs.filter((v): v is tf.Tensor => v !== undefined && v.size > 0);
  if (values.length === 0) {
    throw new LensError(`ONNX node "${node.name}" (Concat) has no inputs.`, 'bad-input');
  }
  const rank = values[0].rank;
  const axis = physicalAxis(attrs.int('axis', 0), rank);
  const shape = [...values[0].shape];
  shape[axis] = values.reduce((sum, v) => sum + (v.shape[axis] ?? 0), 0);
  checkSize(node, shape);
  return [tf.concat(values, axis)];
}

function shape(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const dims = logicalShape(required(inputs, 0, node));
  const start = attrs.int('start', 0);
  const end = attrs.has('end') ? attrs.int('end', dims.length) : dims.length;
  return [tf.tensor1d(dims.slice(start, end), 'int32')];
}

function gather(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = toLogical(required(inputs, 0, node));
  let axis = attrs.int('axis', 0);
  axis = axis < 0 ? axis + data.rank : axis;
  const rawIndices = required(inputs, 1, node);
  checkSize(node, [...data.shape.slice(0, axis), ...rawIndices.shape, ...data.shape.slice(axis + 1)]);
  const size = data.shape[axis];
  const indices = tf.tensor(
    Array.from(rawIndices.dataSync(), (i) => (i < 0 ? i + size : i)),
    rawIndices.shape,
    'int32',
  );
  return [toPhysical(tf.gather(data, indices, axis))];
}

function slice(inputs: (tf.Tensor | undefined)[], _attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = toLogical(required(inputs, 0, node));
  const starts = intValues(required(inputs, 1, node)) as number[];
  const ends = intValues(required(inputs, 2, node)) as number[];
  const axes = intValues(inputs[3]) ?? starts.map((_, i) => i);
  const steps = intValues(inputs[4]) ?? starts.map(() => 1);
  const begin = data.shape.map(() => 0);
  const end = [...data.shape];
  const strides = data.shape.map(() => 1);
  let endMask = 0;
  axes.forEach((rawAxis, i) => {
    const axis = rawAxis < 0 ? rawAxis + data.rank : rawAxis;
    const dim = data.shape[axis];
    const step = steps[i];
    if (dim === undefined || step === 0 || step === undefined || starts[i] === undefined || ends[i] === undefined) {
      // A zero step would never reach its end; ONNX forbids it, as an axis outside the value.
      throw new LensError(
        `ONNX node "${node.name}" (Slice) has axis ${rawAxis}, step ${step ?? 'none'} or bounds missing for a ${data.rank}-D value; the file is damaged.`,
        'bad-input',
      );
    }
    const clampIndex = (v: number, low: number, high: number): number => Math.min(Math.max(v < 0 ? v + dim : v, low), high);
    strides[axis] = step;
    if (step > 0) {
      begin[axis] = clampIndex(starts[i], 0, dim);
      end[axis] = clampIndex(ends[i], 0, dim);
    } else {
      begin[axis] = clampIndex(starts[i], -1, dim - 1);
      const stop = ends[i] < -dim ? -1 : clampIndex(ends[i], -1, dim - 1);
      if (stop < 0) {
        endMask |= 1 << axis; // run to the start of the axis
      }
      end[axis] = stop;
    }
  });
  const picks = slicePicks(data.shape, begin, end, strides, endMask);
  if (data.dtype === 'int32') {
    // tfjs-backend-wasm 4.22's StridedSlice reads int32 data as float32 (garbage values), and
    // integer slices are shape arithmetic on a handful of values: slice them here.
    return [sliceIntegers(data, picks)];
  }
  // tfjs's StridedSlice has no gradient, and a Slice can sit between a CAM layer and the scores
  // (VGG's and AlexNet's adaptive pooling, exported as Slice + ReduceMean) or before any layer
  // (ShuffleNet's channel split, on the input gradient's way): Slice for the axes read as one
  // ascending run, Gather for strided or reversed ones, both differentiable.
  const run = (indices: number[]) => indices.every((v, i) => v === indices[0] + i);
  let y = tf.slice(
    data,
    picks.map((indices) => (run(indices) && indices.length > 0 ? indices[0] : 0)),
    picks.map((indices, axis) => (run(indices) ? indices.length : data.shape[axis])),
  );
  picks.forEach((indices, axis) => {
    if (!run(indices)) y = tf.gather(y, tf.tensor1d(indices, 'int32'), axis);
  });
  return [toPhysical(y)];
}

/** The indices a strided slice reads along each axis, in order (StridedSlice's meaning of the bounds). */
function slicePicks(shape: readonly number[], begin: number[], end: number[], strides: number[], endMask: number): number[][] {
  return shape.map((dim, axis) => {
    const indices: number[] = [];
    const step = strides[axis] as number;
    const stop = endMask & (1 << axis) ? -1 : (end[axis] as number);
    for (let i = begin[axis] as number; step > 0 ? i < stop : i > stop; i += step) {
      if (i >= 0 && i < dim) indices.push(i);
    }
    return indices;
  });
}

function sliceIntegers(data: tf.Tensor, picks: number[][]): tf.Tensor {
  const values = data.dataSync();
  const outShape = picks.map((p) => p.length);
  const out = new Int32Array(outShape.reduce((a, b) => a * b, 1));
  const strideOf = data.shape.map((_, axis) => data.shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  out.forEach((_, flat) => {
    let rest = flat;
    let source = 0;
    for (let axis = outShape.length - 1; axis >= 0; axis--) {
      const size = outShape[axis] as number;
      source += (picks[axis] as number[])[rest % size] * (strideOf[axis] as number);
      rest = Math.floor(rest / size);
    }
    out[flat] = values[source] as number;
  });
  return tf.tensor(out, outShape, 'int32');
}

function pad(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const data = required(inputs, 0, node);
  const pads = attrs.ints('pads') ?? intValues(required(inputs, 1, node)) ?? [];
  const value = inputs[2] ? inputs[2].dataSync()[0] : attrs.float('value', 0);
  const mode = attrs.string('mode', 'constant');
  const rank = data.rank;
  if (inputs[3]) {
    unsupported(node, 'Pad with an axes input');
  }
  const pairs: [number, number][] = Array.from({ length: rank }, () => [0, 0]);
  for (let axis = 0; axis < rank; axis++) {
    pairs[physicalAxis(axis, rank)] = [pads[axis] ?? 0, pads[axis + rank] ?? 0];
  }
  if (pairs.some(([a, b]) => a < 0 || b < 0)) {
    unsupported(node, 'negative padding');
  }
  checkSize(node, data.shape.map((d, axis) => d + pairs[axis][0] + pairs[axis][1]));
  if (mode === 'constant') {
    return [tf.pad(data, pairs, Number(value))];
  }
  if (mode === 'reflect') {
    return [tf.mirrorPad(data, pairs, 'reflect')];
  }
  return unsupported(node, `padding mode "${mode}"`);
}

function reduce(kind: 'mean' | 'sum' | 'max') {
  return (inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] => {
    const physical = required(inputs, 0, node);
    const keepDims = attrs.int('keepdims', 1) === 1;
    const given = axesInput(inputs, attrs);
    const noop = attrs.int('noop_with_empty_axes', 0) === 1;
    if (given !== undefined && given.length === 0 && noop) {
      return [physical];
    }
    const rank = physical.rank;
    const run = (x: tf.Tensor, axes: number[] | undefined): tf.Tensor =>
      kind === 'mean' ? tf.mean(x, axes, keepDims) : kind === 'sum' ? tf.sum(x, axes, keepDims) : tf.max(x, axes, keepDims);
    if (keepDims) {
      return [run(physical, given?.map((a) => physicalAxis(a, rank)))];
    }
    // Dropping axes: reduce in ONNX order so the remaining axes keep their order.
    const logical = toLogical(physical);
    return [toPhysical(run(logical, given?.map((a) => (a < 0 ? a + rank : a))))];
  };
}

// ---------------------------------------------------------------------------------------------
// Element-wise, matrix and the rest

function binary(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpFn {
  return (inputs, _attrs, node) => {
    const [a, b] = alignForBroadcast(required(inputs, 0, node), required(inputs, 1, node));
    checkSize(node, broadcastShape(a.shape, b.shape));
    return [fn(a, b)];
  };
}

function unary(fn: (x: tf.Tensor, attrs: Attributes) => tf.Tensor): OpFn {
  return (inputs, attrs, node) => [fn(required(inputs, 0, node), attrs)];
}

function hardSigmoid(x: tf.Tensor, alpha: number, beta: number): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

/**
 * Pow(X, Y) with broadcasting. LayerNorm at opset 13 (convnext) squares x - mean with Pow(·, 2):
 * tf.pow's gradient wrt the base is y·x^(y-1), exact for y = 2 and finite for a negative base (its
 * gradient wrt the exponent takes log only where x > 0, and is not asked for a constant exponent).
 */
function pow(inputs: (tf.Tensor | undefined)[], _attrs: Attributes, node: OpNode): tf.Tensor[] {
  const [base, exponent] = alignForBroadcast(required(inputs, 0, node), required(inputs, 1, node));
  checkSize(node, broadcastShape(base.shape, exponent.shape));
  // Computed in float (an integer base with a float exponent included); ONNX's output has the
  // base's type, so an integer base (shape arithmetic) comes back as integers.
  const asFloat = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
  const y = tf.pow(asFloat(base), asFloat(exponent));
  return [base.dtype === 'float32' ? y : tf.cast(y, base.dtype)];
}

/**
 * LayerNormalization (opset 17): normalizes over axes axis..rank-1 of the ONNX value, then scale and
 * bias broadcast over those axes. torch.onnx.export writes it from opset 17 on (earlier opsets spell
 * it ReduceMean, Sub, Pow, Sqrt, Div, Mul, Add, which run as those ops).
 */
function layerNormalization(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode, outputs: number): tf.Tensor[] {
  if (outputs > 1) {
    unsupported(node, 'the Mean and InvStdDev outputs of LayerNormalization');
  }
  const x = toLogical(required(inputs, 0, node));
  const rank = x.rank;
  const first = attrs.int('axis', -1);
  const axis = first < 0 ? first + rank : first;
  if (axis < 0 || axis >= rank) {
    throw new LensError(`ONNX node "${node.name}" (LayerNormalization) has axis ${first}, outside a ${rank}-D value.`, 'bad-input');
  }
  // Scale and bias are [x.shape[axis..]], logical (toPhysical leaves them alone below rank 4, and a
  // rank-4 one is turned back here); they broadcast against the trailing axes as they are, and may
  // not make the value larger (a file's [1000, 1000] scale would).
  const affine = [required(inputs, 1, node), inputs[2]].filter((t): t is tf.Tensor => t !== undefined).map(toLogical);
  for (const t of affine) {
    if (broadcastShape(x.shape, t.shape).join() !== x.shape.join()) {
      throw new LensError(
        `ONNX node "${node.name}" (LayerNormalization): scale or bias of shape [${t.shape.join(', ')}] does not fit the normalized axes [${x.shape.slice(axis).join(', ')}]; the file is damaged.`,
        'bad-input',
      );
    }
  }
  const axes = [...Array(rank).keys()].slice(axis);
  const mean = tf.mean(x, axes, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axes, true);
  let y = tf.div(centred, tf.sqrt(tf.add(variance, attrs.float('epsilon', 1e-5))));
  y = tf.mul(y, affine[0]);
  if (affine[1]) y = tf.add(y, affine[1]);
  return [toPhysical(y)];
}

function clip(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode, pass?: NodePass): tf.Tensor[] {
  const x = required(inputs, 0, node);
  const low = inputs[1] ? inputs[1].dataSync()[0] : attrs.float('min', -Infinity);
  const high = inputs[2] ? inputs[2].dataSync()[0] : attrs.float('max', Infinity);
  // Clip(0, cap) is how PyTorch exports ReLU6 (and hardtanh(0, cap)): a ReLU, so guided in a guided pass.
  if (pass?.guided === true && Number(low) === 0 && Number(high) > 0) {
    return [nodeRelu(x, pass, Number(high))];
  }
  // tf.clipByValue's gradient passes inside [low, high] and stops outside, as PyTorch's ReLU6.
  let y = x;
  if (low > -Infinity) y = tf.maximum(y, Number(low));
  if (high < Infinity) y = tf.minimum(y, Number(high));
  return [y === x ? tf.clone(x) : y];
}

function gemm(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const a = required(inputs, 0, node);
  const b = required(inputs, 1, node);
  if (a.rank !== 2 || b.rank !== 2) {
    unsupported(node, `Gemm of ${a.rank}-D and ${b.rank}-D values`);
  }
  checkSize(node, [a.shape[attrs.int('transA', 0) === 1 ? 1 : 0] as number, b.shape[attrs.int('transB', 0) === 1 ? 0 : 1] as number]);
  let y = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, attrs.int('transA', 0) === 1, attrs.int('transB', 0) === 1) as tf.Tensor;
  const alpha = attrs.float('alpha', 1);
  if (alpha !== 1) y = tf.mul(y, alpha);
  const c = inputs[2];
  if (c) {
    const beta = attrs.float('beta', 1);
    y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
  }
  return [y];
}

function matMul(inputs: (tf.Tensor | undefined)[], _attrs: Attributes, node: OpNode): tf.Tensor[] {
  const a = toLogical(required(inputs, 0, node));
  const b = toLogical(required(inputs, 1, node));
  if (a.rank === 1 || b.rank === 1) {
    unsupported(node, 'MatMul with a 1-D operand');
  }
  checkSize(node, [...broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), a.shape[a.rank - 2] as number, b.shape[b.rank - 1] as number]);
  return [toPhysical(tf.matMul(a, b))];
}

function softmax(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const x = required(inputs, 0, node);
  const axis = attrs.int('axis', node.opset >= 13 ? -1 : 1);
  const normalized = axis < 0 ? axis + x.rank : axis;
  if (node.opset < 13 && normalized !== x.rank - 1) {
    unsupported(node, `Softmax (opset ${node.opset}) over axes ${normalized}.. of a ${x.rank}-D value`);
  }
  const physical = physicalAxis(normalized, x.rank);
  if (physical === x.rank - 1) {
    return [tf.softmax(x)];
  }
  const moved = tf.transpose(x, moveToEnd(x.rank, physical));
  return [tf.transpose(tf.softmax(moved), moveToEnd(x.rank, physical).map((_, i, perm) => perm.indexOf(i)))];
}

function moveToEnd(rank: number, axis: number): number[] {
  return [...Array(rank).keys()].filter((a) => a !== axis).concat(axis);
}

function batchNormalization(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const x = required(inputs, 0, node);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => required(inputs, i, node));
  if (x.rank !== 4 && x.rank !== 2) {
    unsupported(node, `BatchNormalization of a ${x.rank}-D value`);
  }
  // Channels are last in both supported layouts (NHWC, or [N, C]).
  return [tf.batchNorm(x, mean, variance, bias, scale, attrs.float('epsilon', 1e-5))];
}

function cast(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const x = required(inputs, 0, node);
  const to = attrs.int('to', 1);
  const dtype: tf.DataType = to === 1 || to === 10 || to === 11 ? 'float32' : to === 9 ? 'bool' : 'int32';
  return [x.dtype === dtype ? tf.clone(x) : tf.cast(x, dtype)];
}

function constant(_inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const t = attrs.tensor('value');
  if (t) return [toPhysical(tensorFromProto(t, node.name))];
  if (attrs.has('value_float')) return [tf.scalar(attrs.float('value_float', 0))];
  if (attrs.has('value_floats')) return [tf.tensor1d(attrs.floats('value_floats') ?? [])];
  if (attrs.has('value_int')) return [tf.scalar(attrs.int('value_int', 0), 'int32')];
  if (attrs.has('value_ints')) return [tf.tensor1d(attrs.ints('value_ints') ?? [], 'int32')];
  return unsupported(node, 'a Constant without a tensor, float or int value');
}

function constantOfShape(inputs: (tf.Tensor | undefined)[], attrs: Attributes, node: OpNode): tf.Tensor[] {
  const dims = intValues(required(inputs, 0, node)) as number[];
  checkSize(node, dims);
  const t = attrs.tensor('value');
  const value = t ? tensorFromProto(t, node.name) : tf.scalar(0);
  const [fill] = value.dataSync();
  const dtype = value.dtype;
  value.dispose();
  return [toPhysical(tf.fill(dims, Number(fill), dtype))];
}

const identity: OpFn = (inputs, _attrs, node) => [tf.clone(required(inputs, 0, node))];

/** Every operator CNN Lens runs. Keep in step with the formats table of docs/formats.md. */
const OPS: Record<string, OpFn> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  BatchNormalization: batchNormalization,
  Relu: (inputs, _attrs, node, pass) => [nodeRelu(required(inputs, 0, node), pass)],
  LeakyRelu: unary((x, a) => tf.leakyRelu(x, a.float('alpha', 0.01))),
  Clip: clip,
  Sigmoid: unary((x) => tf.sigmoid(x)),
  HardSigmoid: unary((x, a) => hardSigmoid(x, a.float('alpha', 0.2), a.float('beta', 0.5))),
  HardSwish: unary((x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  Tanh: unary((x) => tf.tanh(x)),
  Erf: unary((x) => tf.erf(x)),
  Sqrt: unary((x) => tf.sqrt(x)),
  Pow: pow,
  LayerNormalization: (inputs, attrs, node) => layerNormalization(inputs, attrs, node, 1),
  Mul: binary((a, b) => tf.mul(a, b)),
  Add: binary((a, b) => tf.add(a, b)),
  Sub: binary((a, b) => tf.sub(a, b)),
  Div: binary((a, b) => tf.div(a, b)),
  Concat: concat,
  MaxPool: (inputs, attrs, node) => maxPool(inputs, attrs, node, 1),
  AveragePool: averagePool,
  GlobalAveragePool: unary((x) => tf.mean(x, [1, 2], true)),
  GlobalMaxPool: unary((x) => tf.max(x, [1, 2], true)),
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Gemm: gemm,
  MatMul: matMul,
  Softmax: softmax,
  Dropout: identity,
  Identity: identity,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Shape: shape,
  Gather: gather,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Slice: slice,
  Cast: cast,
  Pad: pad,
  ReduceMean: reduce('mean'),
  ReduceSum: reduce('sum'),
  ReduceMax: reduce('max'),
};

export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();

/** The operator for a node, or undefined when CNN Lens does not run it. */
export function opFor(node: NodeProto): OpFn | undefined {
  const domain = node.domain ?? '';
  if (domain !== '' && domain !== 'ai.onnx') {
    return undefined;
  }
  if (node.opType === 'MaxPool' && node.output.filter((o) => o !== '').length > 1) {
    return (inputs, attrs, n) => maxPool(inputs, attrs, n, 2);
  }
  if (node.opType === 'LayerNormalization' && node.output.filter((o) => o !== '').length > 1) {
    return (inputs, attrs, n) => layerNormalization(inputs, attrs, n, 2);
  }
  return Object.prototype.hasOwnProperty.call(OPS, node.opType) ? OPS[node.opType] : undefined;
}
