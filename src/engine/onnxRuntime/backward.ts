// The backward pass as ONNX nodes, so ONNX Runtime computes gradients natively: for each operator
// between a value (a layer's output, or the image) and the explained scores, the nodes that carry
// d(score)/d(output) back to d(score)/d(input), appended to the forward graph. Only gradients with
// respect to runtime values are built (weights are constants here), which keeps each rule to the
// adjoint of its operator on its data input:
//   Conv → ConvTranspose with the same weights and attributes; ConvTranspose → Conv;
//   Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh → masks and products (Where);
//   MaxPool → its Indices output scattered back (ScatterElements with reduction "add");
//   AveragePool → a depthwise ConvTranspose of ones over the window counts; GlobalAveragePool,
//   ReduceMean, ReduceSum → Expand; Gemm, MatMul (constant right-hand side) → products with the
//   transposed weight; Add, Sub, Mul, Div → the broadcast summed back; Concat, Split, Slice, Pad →
//   each other; Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Identity → the inverse layout;
//   BatchNormalization (inference) → a per-channel scale; Softmax → y·(g − Σ g·y).
// Guided backpropagation swaps the ReLU rule (Relu and Clip(0, cap)) for one that also stops
// negative gradients, as the tfjs engine's guidedRelu.ts does. The masks follow tfjs's gradients
// (ReLU: x > 0; Clip: low ≤ x ≤ high; guided: strictly inside), so the maps equal the wasm engine's.
import type { NodeProto } from '../models/onnx/onnxProto';
import { ONNX_DTYPE } from '../models/onnx/onnxProto';
import { floatAttr, intAttr, intsAttr, stringAttr, type GraphBuilder, type GraphIndex, type ValueFacts } from './protoGraph';

/** An operator on the gradient's path that has no rule here (the request falls back to the tfjs engine). */
export class UnsupportedGradient extends Error {
  constructor(
    readonly opType: string,
    readonly nodeName: string,
    detail = '',
  ) {
    super(`no native gradient for ${opType} node "${nodeName}"${detail ? ` (${detail})` : ''}`);
  }
}

export interface BackwardSpec {
  /** The value whose weighted sum is differentiated (the explained scores, [N, K]). */
  scores: string;
  /** Weights of the scores, same shape (one-hot of the class, ±1 for a binary output's side). */
  seed: string;
  /** Values to differentiate with respect to. */
  targets: readonly string[];
  guided: boolean;
}

interface RuleContext {
  readonly b: GraphBuilder;
  readonly node: NodeProto;
  /** Gradient of each output (undefined: none reaches it). */
  readonly gys: (string | undefined)[];
  /** Whether each input needs a gradient. */
  readonly needs: boolean[];
  readonly guided: boolean;
  facts(value: string): ValueFacts;
  /** A constant input's values (from the probe), or undefined when it has none. */
  constant(value: string): number[] | undefined;
  /** The Indices output of a MaxPool node (added to the node when it has none). */
  indicesOf(node: NodeProto): string;
  fail(detail: string): never;
}

type Rule = (c: RuleContext) => (string | undefined)[];

/**
 * Appends the backward pass of `nodes` (the forward graph, in order; MaxPool nodes may get an
 * Indices output) to `b`. Returns the gradient value of each target (a zero gradient when none
 * reaches it). Throws UnsupportedGradient for an operator on the path without a rule.
 */
export function appendBackward(b: GraphBuilder, index: GraphIndex, nodes: NodeProto[], facts: (value: string) => ValueFacts | undefined, spec: BackwardSpec): Map<string, string> {
  const isFloat = (value: string): boolean => facts(value)?.elemType === ONNX_DTYPE.FLOAT;
  const reach = new Set<string>(spec.targets);
  for (const node of nodes) {
    if (node.input.some((name) => name && reach.has(name))) {
      node.output.forEach((name) => name && isFloat(name) && reach.add(name));
    }
  }
  const feedsScores = new Set<string>([spec.scores]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (nodes[i].output.some((name) => feedsScores.has(name))) {
      nodes[i].input.forEach((name) => name && feedsScores.add(name));
    }
  }
  const grads = new Map<string, string[]>([[spec.scores, [spec.seed]]]);
  const gradientOf = (value: string): string | undefined => {
    const parts = grads.get(value);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length === 1) return parts[0];
    const sum = b.one('Sum', parts);
    grads.set(value, [sum]);
    return sum;
  };
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.output.some((name) => name && feedsScores.has(name) && grads.has(name))) continue;
    const needs = node.input.map((name) => name !== '' && reach.has(name) && !spec.targets.includes(node.output[0]) && isFloat(name));
    if (!needs.some(Boolean)) continue;
    const rule = RULES[node.opType];
    const name = node.name || node.output[0];
    if (!rule || (node.domain && node.domain !== 'ai.onnx')) throw new UnsupportedGradient(node.opType, name);
    const gys = node.output.map((out) => (out ? gradientOf(out) : undefined));
    const context: RuleContext = {
      b,
      node,
      gys,
      needs,
      guided: spec.guided,
      facts: (value) => {
        const known = facts(value);
        if (!known) throw new UnsupportedGradient(node.opType, name, `no shape known for "${value}"`);
        return known;
      },
      constant: (value) => {
        const data = facts(value)?.data;
        return data && !index.runtime.has(value) ? Array.from(data, Number) : undefined;
      },
      indicesOf: (pool) => {
        if (!pool.output[1]) {
          pool.output = [pool.output[0], b.fresh('maxpool_indices')];
        }
        return pool.output[1];
      },
      fail: (detail) => {
        throw new UnsupportedGradient(node.opType, name, detail);
      },
    };
    const gxs = rule(context);
    node.input.forEach((input, k) => {
      if (needs[k] && gxs[k] !== undefined) {
        const list = grads.get(input) ?? [];
        list.push(gxs[k] as string);
        grads.set(input, list);
      }
    });
  }
  const result = new Map<string, string>();
  for (const target of spec.targets) {
    result.set(target, gradientOf(target) ?? b.zerosLike(target));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function spatialRank(c: RuleContext, value: string): number {
  return c.facts(value).dims.length - 2;
}

function repeat(value: number, n: number): number[] {
  return Array.from({ length: n }, () => value);
}

/**
 * Explicit begin/end pads of a convolution or pool for the input and output sizes the probe saw
 * (auto_pad resolved as ONNX defines it).
 */
function explicitPads(c: RuleContext, x: string, kernel: number[], strides: number[], dilations: number[]): number[] {
  const n = kernel.length;
  const autoPad = stringAttr(c.node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return intsAttr(c.node, 'pads') ?? repeat(0, 2 * n);
  if (autoPad === 'VALID') return repeat(0, 2 * n);
  const inDims = c.facts(x).dims.slice(2);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < n; i++) {
    const out = Math.ceil(inDims[i] / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inDims[i]);
    const small = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_LOWER' ? total - small : small);
    end.push(autoPad === 'SAME_LOWER' ? small : total - small);
  }
  return [...begin, ...end];
}

/** Sums `g` (the output's shape) over the axes `operand` was broadcast along, then gives it `operand`'s shape. */
function unbroadcast(c: RuleContext, g: string, operand: string, output: string): string {
  const outDims = c.facts(output).dims;
  const opDims = c.facts(operand).dims;
  const offset = outDims.length - opDims.length;
  const axes: number[] = [];
  outDims.forEach((dim, axis) => {
    const own = axis < offset ? 1 : opDims[axis - offset];
    if (own === 1 && dim !== 1) axes.push(axis);
  });
  if (axes.length === 0 && offset === 0) return g;
  const summed = axes.length > 0 ? c.b.one('ReduceSum', [g, c.b.int64s(axes)], { keepdims: 1 }) : g;
  return c.b.one('Reshape', [summed, c.b.one('Shape', [operand])]);
}

function reshapeLike(c: RuleContext, g: string, like: string): string {
  return c.b.one('Reshape', [g, c.b.one('Shape', [like])]);
}

/** Where(mask, g, 0), g with its negative part removed first in a guided pass. */
function masked(c: RuleContext, mask: string, g: string, guided: boolean): string {
  const passed = guided ? c.b.one('Relu', [g]) : g;
  return c.b.one('Where', [mask, passed, c.b.scalar(0)]);
}

function both(c: RuleContext, a: string, b: string): string {
  return c.b.one('And', [a, b]);
}

// ---------------------------------------------------------------------------------------------
// Rules

const passThrough: Rule = (c) => [c.gys[0]];
const reshapeBack: Rule = (c) => [reshapeLike(c, c.gys[0] as string, c.node.input[0])];

function convolutionAttrs(c: RuleContext, x: string, weight: string): { kernel: number[]; strides: number[]; dilations: number[]; pads: number[]; group: number } {
  const n = spatialRank(c, x);
  const kernel = intsAttr(c.node, 'kernel_shape') ?? c.facts(weight).dims.slice(2);
  const strides = intsAttr(c.node, 'strides') ?? repeat(1, n);
  const dilations = intsAttr(c.node, 'dilations') ?? repeat(1, n);
  return { kernel, strides, dilations, pads: explicitPads(c, x, kernel, strides, dilations), group: intAttr(c.node, 'group', 1) };
}

/**
 * output_padding that makes a ConvTranspose with these attributes produce `size` along each axis
 * from `from`; null when it would need to be negative or at least the stride (the caller slices).
 */
function outputPadding(size: readonly number[], from: readonly number[], kernel: number[], strides: number[], dilations: number[], pads: number[]): number[] {
  const n = kernel.length;
  return size.map((target, i) => target - ((from[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - pads[i] - pads[i + n]));
}

const conv: Rule = (c) => {
  const [x, weight] = c.node.input;
  if (c.needs[1] || c.needs[2]) c.fail('a weight or bias that depends on the image');
  const { kernel, strides, dilations, pads, group } = convolutionAttrs(c, x, weight);
  const inDims = c.facts(x).dims.slice(2);
  const outDims = c.facts(c.node.output[0]).dims.slice(2);
  const padding = outputPadding(inDims, outDims, kernel, strides, dilations, pads);
  if (padding.some((p, i) => p < 0 || (p >= strides[i] && p >= dilations[i]))) c.fail(`output padding ${padding}`);
  const gx = c.b.one('ConvTranspose', [c.gys[0] as string, weight], {
    kernel_shape: kernel,
    strides,
    dilations,
    pads,
    group,
    output_padding: padding,
  });
  return [gx];
};

const convTranspose: Rule = (c) => {
  const [x, weight] = c.node.input;
  if (c.needs[1] || c.needs[2]) c.fail('a weight or bias that depends on the image');
  if (intsAttr(c.node, 'output_shape')) c.fail('an output_shape attribute');
  if (stringAttr(c.node, 'auto_pad', 'NOTSET') !== 'NOTSET') c.fail('auto_pad');
  const n = spatialRank(c, x);
  const kernel = intsAttr(c.node, 'kernel_shape') ?? c.facts(weight).dims.slice(2);
  const attrs = {
    kernel_shape: kernel,
    strides: intsAttr(c.node, 'strides') ?? repeat(1, n),
    dilations: intsAttr(c.node, 'dilations') ?? repeat(1, n),
    pads: intsAttr(c.node, 'pads') ?? repeat(0, 2 * n),
    group: intAttr(c.node, 'group', 1),
  };
  return [c.b.one('Conv', [c.gys[0] as string, weight], attrs)];
};

const relu: Rule = (c) => {
  const x = c.node.input[0];
  return [masked(c, c.b.one('Greater', [x, c.b.scalar(0)]), c.gys[0] as string, c.guided)];
};

const clip: Rule = (c) => {
  const x = c.node.input[0];
  const bound = (slot: number, attr: string, fallback: number): number => {
    const name = c.node.input[slot];
    if (name) {
      const value = c.constant(name) ?? [];
      if (value.length !== 1) c.fail('a bound that is not a constant');
      return value[0];
    }
    return floatAttr(c.node, attr, fallback);
  };
  const low = bound(1, 'min', -Infinity);
  const high = bound(2, 'max', Infinity);
  if (c.needs[1] || c.needs[2]) c.fail('a bound that depends on the image');
  const g = c.gys[0] as string;
  if (c.guided && low === 0 && high > 0) {
    // ReLU6 in a guided pass (guidedRelu.ts): strictly inside (0, cap).
    const inside = both(c, c.b.one('Greater', [x, c.b.scalar(0)]), c.b.one('Less', [x, c.b.scalar(high)]));
    return [masked(c, high === Infinity ? c.b.one('Greater', [x, c.b.scalar(0)]) : inside, g, true)];
  }
  // tfjs: maximum then minimum, each passing the gradient where its input wins or ties.
  const conditions: string[] = [];
  if (low > -Infinity) conditions.push(c.b.one('GreaterOrEqual', [x, c.b.scalar(low)]));
  if (high < Infinity) conditions.push(c.b.one('LessOrEqual', [x, c.b.scalar(high)]));
  if (conditions.length === 0) return [g];
  return [masked(c, conditions.length === 2 ? both(c, conditions[0], conditions[1]) : conditions[0], g, false)];
};

const leakyRelu: Rule = (c) => {
  const x = c.node.input[0];
  const g = c.gys[0] as string;
  const alpha = floatAttr(c.node, 'alpha', 0.01);
  return [c.b.one('Where', [c.b.one('Greater', [x, c.b.scalar(0)]), g, c.b.one('Mul', [g, c.b.scalar(alpha)])])];
};

const sigmoid: Rule = (c) => {
  const y = c.node.output[0];
  const slope = c.b.one('Mul', [y, c.b.one('Sub', [c.b.scalar(1), y])]);
  return [c.b.one('Mul', [c.gys[0] as string, slope])];
};

const tanh: Rule = (c) => {
  const y = c.node.output[0];
  const slope = c.b.one('Sub', [c.b.scalar(1), c.b.one('Mul', [y, y])]);
  return [c.b.one('Mul', [c.gys[0] as string, slope])];
};

/** Mask where alpha·x + beta lies in [0, 1] (tfjs clipByValue's gradient), for HardSigmoid and HardSwish. */
function hardSigmoidOpen(c: RuleContext, x: string, alpha: number, beta: number): string {
  const z = c.b.one('Add', [c.b.one('Mul', [x, c.b.scalar(alpha)]), c.b.scalar(beta)]);
  return both(c, c.b.one('GreaterOrEqual', [z, c.b.scalar(0)]), c.b.one('LessOrEqual', [z, c.b.scalar(1)]));
}

const hardSigmoid: Rule = (c) => {
  const alpha = floatAttr(c.node, 'alpha', 0.2);
  const beta = floatAttr(c.node, 'beta', 0.5);
  const open = hardSigmoidOpen(c, c.node.input[0], alpha, beta);
  return [c.b.one('Where', [open, c.b.one('Mul', [c.gys[0] as string, c.b.scalar(alpha)]), c.b.scalar(0)])];
};

const hardSwish: Rule = (c) => {
  // y = x·h(x), h = clip(x/6 + 1/2, 0, 1): dy/dx = h(x) + x/6 where h is not clipped.
  const x = c.node.input[0];
  const h = c.b.one('HardSigmoid', [x], { alpha: 1 / 6, beta: 0.5 });
  const open = hardSigmoidOpen(c, x, 1 / 6, 0.5);
  const slope = c.b.one('Add', [h, c.b.one('Where', [open, c.b.one('Mul', [x, c.b.scalar(1 / 6)]), c.b.scalar(0)])]);
  return [c.b.one('Mul', [c.gys[0] as string, slope])];
};

const add: Rule = (c) => {
  const [a, bIn] = c.node.input;
  const g = c.gys[0] as string;
  const y = c.node.output[0];
  return [c.needs[0] ? unbroadcast(c, g, a, y) : undefined, c.needs[1] ? unbroadcast(c, g, bIn, y) : undefined];
};

const sub: Rule = (c) => {
  const [a, bIn] = c.node.input;
  const g = c.gys[0] as string;
  const y = c.node.output[0];
  return [c.needs[0] ? unbroadcast(c, g, a, y) : undefined, c.needs[1] ? unbroadcast(c, c.b.one('Neg', [g]), bIn, y) : undefined];
};

const mul: Rule = (c) => {
  const [a, bIn] = c.node.input;
  const g = c.gys[0] as string;
  const y = c.node.output[0];
  return [
    c.needs[0] ? unbroadcast(c, c.b.one('Mul', [g, bIn]), a, y) : undefined,
    c.needs[1] ? unbroadcast(c, c.b.one('Mul', [g, a]), bIn, y) : undefined,
  ];
};

const div: Rule = (c) => {
  const [a, bIn] = c.node.input;
  const g = c.gys[0] as string;
  const y = c.node.output[0];
  return [
    c.needs[0] ? unbroadcast(c, c.b.one('Div', [g, bIn]), a, y) : undefined,
    // d(a/b)/db = −(a/b)/b
    c.needs[1] ? unbroadcast(c, c.b.one('Neg', [c.b.one('Div', [c.b.one('Mul', [g, y]), bIn])]), bIn, y) : undefined,
  ];
};

const neg: Rule = (c) => [c.b.one('Neg', [c.gys[0] as string])];

const maxPool: Rule = (c) => {
  const x = c.node.input[0];
  if (intAttr(c.node, 'storage_order', 0) !== 0) c.fail('column-major indices');
  const indices = c.indicesOf(c.node);
  // ONNX Runtime's indices count over the whole flattened N×C×H×W tensor, so one scatter places
  // every window's gradient, adding where windows overlap and share their maximum.
  const flat = c.b.int64s([-1]);
  const zeros = c.b.zerosLike(c.b.one('Reshape', [x, flat]));
  const scattered = c.b.one('ScatterElements', [zeros, c.b.one('Reshape', [indices, flat]), c.b.one('Reshape', [c.gys[0] as string, flat])], {
    axis: 0,
    reduction: 'add',
  });
  return [reshapeLike(c, scattered, x)];
};

const averagePool: Rule = (c) => {
  const x = c.node.input[0];
  const y = c.node.output[0];
  const xDims = c.facts(x).dims;
  const n = xDims.length - 2;
  const kernel = intsAttr(c.node, 'kernel_shape') ?? c.fail('no kernel_shape');
  const strides = intsAttr(c.node, 'strides') ?? repeat(1, n);
  const dilations = intsAttr(c.node, 'dilations') ?? repeat(1, n);
  if (dilations.some((d) => d !== 1)) c.fail('dilations');
  const pads = explicitPads(c, x, kernel, strides, dilations);
  const includePad = intAttr(c.node, 'count_include_pad', 0) === 1;
  const inDims = xDims.slice(2);
  const outDims = c.facts(y).dims.slice(2);
  if (n !== 2) c.fail(`${n}-D pooling`);
  // Each output's divisor: the window's elements inside the input (and its padding, with count_include_pad).
  const counts = new Float32Array(outDims[0] * outDims[1]);
  const extent = (o: number, axis: number): number => {
    const start = o * strides[axis] - pads[axis];
    const end = start + kernel[axis];
    const low = includePad ? -pads[axis] : 0;
    const high = includePad ? inDims[axis] + pads[axis + n] : inDims[axis];
    return Math.max(0, Math.min(end, high) - Math.max(start, low));
  };
  for (let i = 0; i < outDims[0]; i++) {
    for (let j = 0; j < outDims[1]; j++) counts[i * outDims[1] + j] = 1 / Math.max(1, extent(i, 0) * extent(j, 1));
  }
  const channels = xDims[1];
  const scaled = c.b.one('Mul', [c.gys[0] as string, c.b.floats(counts, [1, 1, outDims[0], outDims[1]])]);
  const ones = c.b.floats(new Float32Array(channels * kernel[0] * kernel[1]).fill(1), [channels, 1, kernel[0], kernel[1]]);
  // A window past the input's end (ceil_mode) is cut off after the transposed convolution.
  const padding = outputPadding(inDims, outDims, kernel, strides, dilations, pads);
  const cut = padding.some((p) => p < 0);
  const spread = c.b.one('ConvTranspose', [scaled, ones], {
    kernel_shape: kernel,
    strides,
    pads,
    group: channels,
    output_padding: padding.map((p) => Math.max(p, 0)),
  });
  if (!cut) return [spread];
  return [c.b.one('Slice', [spread, c.b.int64s([0, 0]), c.b.int64s(inDims), c.b.int64s([2, 3])])];
};

const globalAveragePool: Rule = (c) => {
  const x = c.node.input[0];
  const area = c.facts(x).dims.slice(2).reduce((a, b) => a * b, 1);
  return [c.b.one('Expand', [c.b.one('Mul', [c.gys[0] as string, c.b.scalar(1 / area)]), c.b.one('Shape', [x])])];
};

function reduceAxes(c: RuleContext, rank: number, fromInputAtOpset: boolean): number[] {
  const listed = fromInputAtOpset && c.node.input[1] ? (c.constant(c.node.input[1]) ?? c.fail('axes that are not constant')) : intsAttr(c.node, 'axes');
  if (!listed || listed.length === 0) {
    if (intAttr(c.node, 'noop_with_empty_axes', 0) === 1) c.fail('noop_with_empty_axes');
    return [...Array(rank).keys()];
  }
  return listed.map((a) => (a < 0 ? a + rank : a));
}

function reduceRule(mean: boolean): Rule {
  return (c) => {
    const x = c.node.input[0];
    const dims = c.facts(x).dims;
    // Axes moved from an attribute to an input: ReduceSum at opset 13, the others at 18.
    const axes = reduceAxes(c, dims.length, c.node.input.length > 1);
    if (axes.includes(0)) c.fail('a reduction over the batch');
    let g = c.gys[0] as string;
    if (intAttr(c.node, 'keepdims', 1) === 0) g = c.b.one('Unsqueeze', [g, c.b.int64s(axes)]);
    if (mean) g = c.b.one('Mul', [g, c.b.scalar(1 / axes.reduce((p, a) => p * dims[a], 1))]);
    return [c.b.one('Expand', [g, c.b.one('Shape', [x])])];
  };
}

/**
 * ReduceMax: the gradient to every element equal to its maximum, ties included, as tfjs's max
 * gradient gives it (a MaxPool's Indices would pick one).
 */
const reduceMax: Rule = (c) => {
  const x = c.node.input[0];
  const dims = c.facts(x).dims;
  // Axes moved from an attribute to an input at opset 18.
  const axes = reduceAxes(c, dims.length, c.node.input.length > 1);
  if (axes.includes(0)) c.fail('a reduction over the batch');
  let g = c.gys[0] as string;
  let y = c.node.output[0];
  if (intAttr(c.node, 'keepdims', 1) === 0) {
    g = c.b.one('Unsqueeze', [g, c.b.int64s(axes)]);
    y = c.b.one('Unsqueeze', [y, c.b.int64s(axes)]);
  }
  const atMax = c.b.one('Cast', [c.b.one('Equal', [x, y])], { to: ONNX_DTYPE.FLOAT });
  return [c.b.one('Mul', [atMax, g])];
};

const transpose: Rule = (c) => {
  const rank = c.facts(c.node.input[0]).dims.length;
  const perm = intsAttr(c.node, 'perm') ?? [...Array(rank).keys()].reverse();
  const inverse: number[] = [];
  perm.forEach((p, i) => (inverse[p] = i));
  return [c.b.one('Transpose', [c.gys[0] as string], { perm: inverse })];
};

const gemm: Rule = (c) => {
  const [a, bIn] = c.node.input;
  if (c.needs[1] || c.needs[2]) c.fail('weights that depend on the image');
  const alpha = floatAttr(c.node, 'alpha', 1);
  const transA = intAttr(c.node, 'transA', 0);
  const transB = intAttr(c.node, 'transB', 0);
  const g = c.gys[0] as string;
  // y = α·A'·B' + β·C: dA' = α·g·B'ᵀ, and dA = dA'ᵀ when A is stored transposed.
  const gx = transA === 0 ? c.b.one('Gemm', [g, bIn], { alpha, transA: 0, transB: 1 - transB }) : c.b.one('Gemm', [bIn, g], { alpha, transA: transB, transB: 1 });
  return [gx];
};

const matMul: Rule = (c) => {
  const [, bIn] = c.node.input;
  if (c.needs[1]) c.fail('a right-hand side that depends on the image');
  const bDims = c.facts(bIn).dims;
  if (bDims.length !== 2) c.fail(`a ${bDims.length}-D right-hand side`);
  return [c.b.one('MatMul', [c.gys[0] as string, c.b.one('Transpose', [bIn], { perm: [1, 0] })])];
};

const concat: Rule = (c) => {
  const rank = c.facts(c.node.output[0]).dims.length;
  let axis = intAttr(c.node, 'axis', 0);
  if (axis < 0) axis += rank;
  if (axis === 0) c.fail('a concatenation along the batch');
  const g = c.gys[0] as string;
  let offset = 0;
  return c.node.input.map((input, k) => {
    const size = c.facts(input).dims[axis];
    const start = offset;
    offset += size;
    return c.needs[k] ? c.b.one('Slice', [g, c.b.int64s([start]), c.b.int64s([start + size]), c.b.int64s([axis])]) : undefined;
  });
};

const split: Rule = (c) => {
  const rank = c.facts(c.node.input[0]).dims.length;
  let axis = intAttr(c.node, 'axis', 0);
  if (axis < 0) axis += rank;
  if (axis === 0) c.fail('a split along the batch');
  const parts = c.node.output.map((out, k) => c.gys[k] ?? c.b.zerosLike(out));
  return [c.b.one('Concat', parts, { axis })];
};

const slice: Rule = (c) => {
  const x = c.node.input[0];
  const dims = c.facts(x).dims;
  const read = (slot: number): number[] | undefined => (c.node.input[slot] ? (c.constant(c.node.input[slot]) ?? c.fail('bounds that are not constant')) : undefined);
  const starts = read(1) ?? intsAttr(c.node, 'starts') ?? c.fail('no starts');
  const ends = read(2) ?? intsAttr(c.node, 'ends') ?? c.fail('no ends');
  const axes = (read(3) ?? intsAttr(c.node, 'axes') ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + dims.length : a));
  const steps = read(4) ?? starts.map(() => 1);
  if (steps.some((s) => s !== 1)) c.fail('steps other than 1');
  const pads = repeat(0, 2 * dims.length);
  axes.forEach((axis, i) => {
    if (axis === 0) c.fail('a slice of the batch');
    const dim = dims[axis];
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const start = clamp(starts[i]);
    const end = Math.max(clamp(ends[i]), start);
    pads[axis] = start;
    pads[axis + dims.length] = dim - end;
  });
  return [c.b.one('Pad', [c.gys[0] as string, c.b.int64s(pads)])];
};

const pad: Rule = (c) => {
  const x = c.node.input[0];
  const dims = c.facts(x).dims;
  if (stringAttr(c.node, 'mode', 'constant') !== 'constant') c.fail(`mode ${stringAttr(c.node, 'mode', '')}`);
  const pads = c.node.input[1] ? (c.constant(c.node.input[1]) ?? c.fail('pads that are not constant')) : (intsAttr(c.node, 'pads') ?? c.fail('no pads'));
  if (c.node.input[3]) c.fail('an axes input');
  if (pads.some((p) => p < 0)) c.fail('negative pads');
  const rank = dims.length;
  const starts = pads.slice(0, rank);
  const ends = starts.map((s, i) => s + dims[i]);
  if (starts[0] !== 0) c.fail('padding of the batch');
  const axes = [...Array(rank).keys()].slice(1);
  return [c.b.one('Slice', [c.gys[0] as string, c.b.int64s(axes.map((a) => starts[a])), c.b.int64s(axes.map((a) => ends[a])), c.b.int64s(axes)])];
};

const batchNorm: Rule = (c) => {
  const [x, scaleName, , , varianceName] = c.node.input;
  if (c.needs.slice(1).some(Boolean)) c.fail('statistics that depend on the image');
  if (intAttr(c.node, 'training_mode', 0) === 1) c.fail('training mode');
  const scale = c.constant(scaleName) ?? c.fail('a scale that is not constant');
  const variance = c.constant(varianceName) ?? c.fail('a variance that is not constant');
  const epsilon = floatAttr(c.node, 'epsilon', 1e-5);
  const rank = c.facts(x).dims.length;
  const factor = scale.map((s, i) => s / Math.sqrt(variance[i] + epsilon));
  const shaped = c.b.floats(factor, [factor.length, ...repeat(1, rank - 2)]);
  return [c.b.one('Mul', [c.gys[0] as string, shaped])];
};

const softmax: Rule = (c) => {
  const y = c.node.output[0];
  const rank = c.facts(y).dims.length;
  let axis = intAttr(c.node, 'axis', -1);
  if (axis < 0) axis += rank;
  const g = c.gys[0] as string;
  const dot = c.b.one('ReduceSum', [c.b.one('Mul', [g, y]), c.b.int64s([axis])], { keepdims: 1 });
  return [c.b.one('Mul', [y, c.b.one('Sub', [g, dot])])];
};

const RULES: Record<string, Rule> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Relu: relu,
  Clip: clip,
  LeakyRelu: leakyRelu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Neg: neg,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
  ReduceMax: reduceMax,
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Identity: passThrough,
  Dropout: passThrough,
  Cast: passThrough,
  Transpose: transpose,
  Gemm: gemm,
  MatMul: matMul,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  BatchNormalization: batchNorm,
  Softmax: softmax,
};

/** Operator types with a native gradient rule. */
export const NATIVE_GRADIENT_OPS = Object.keys(RULES);
