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
import type { Preprocessing } from '../../protocol/types';
import { EngineError } from '../errors';
import { broadcastShape, checkModelInputSize, checkTensorSize, namingFile } from '../limits';
import { locateModelJson, readModelCompanions, readModelJsonWeights, type ModelFiles } from '../modelLoader';
import { buildNodeGraphModel, nameGiver, runGuarded, type GraphNodePlan, type NodeKernel, type Slot } from '../nodeGraph';
import { notAClassifier } from '../outputs';
import * as tf from '../tf';

interface AttrValue {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  tensor?: unknown;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

type TfOp = (inputs: tf.Tensor[], attr: Attrs, node: TfNode) => tf.Tensor[];

class Attrs {
  constructor(private readonly attr: Record<string, AttrValue>) {}
  int(name: string, fallback: number): number {
    const v = this.attr[name]?.i;
    return v === undefined ? fallback : Number(v);
  }
  float(name: string, fallback: number): number {
    return this.attr[name]?.f ?? fallback;
  }
  bool(name: string, fallback: boolean): boolean {
    return this.attr[name]?.b ?? fallback;
  }
  string(name: string, fallback: string): string {
    const v = this.attr[name]?.s;
    return v === undefined ? fallback : Buffer.from(v, 'base64').toString('utf8');
  }
  ints(name: string): number[] | undefined {
    return this.attr[name]?.list?.i?.map(Number);
  }
  strings(name: string): string[] {
    return (this.attr[name]?.list?.s ?? []).map((v) => Buffer.from(v, 'base64').toString('utf8'));
  }
}

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
  throw new EngineError(`Graph node "${node.name}" (${node.op}): ${what} is not supported.`, 'unsupported');
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

/** The activations Grappler fuses, applied as separate (differentiable) ops. */
function activate(x: tf.Tensor, name: string, attr: Attrs, node: TfNode): tf.Tensor {
  switch (name) {
    case 'Relu':
      return tf.relu(x);
    case 'Relu6':
      return tf.relu6(x);
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

/** _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul: the op, then fused_ops one by one. */
function fused(core: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor): TfOp {
  return ([x, w, ...args], attr, node) => {
    let y = core(x as tf.Tensor, w as tf.Tensor);
    for (const op of attr.strings('fused_ops')) {
      if (op === 'BiasAdd' || op === 'Add') {
        y = tf.add(y, args[0] as tf.Tensor);
      } else if (op === 'FusedBatchNorm') {
        const [scale, offset, mean, variance] = args as tf.Tensor[];
        y = tf.batchNorm(y, mean as tf.Tensor, variance as tf.Tensor, offset, scale, attr.float('epsilon', 1e-3));
      } else {
        y = activate(y, op, attr, node);
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
  Relu: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Relu', a, n)],
  Relu6: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Relu6', a, n)],
  Elu: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Elu', a, n)],
  Sigmoid: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Sigmoid', a, n)],
  Tanh: (a, n) => ([x]) => [activate(x as tf.Tensor, 'Tanh', a, n)],
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
      throw new EngineError(`${file}: the graph has a cycle through "${node.name}" (a loop); CNN Lens explains feed-forward graphs.`, 'unsupported');
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
    throw new EngineError(
      `${file}: the graph model has control flow (${names}); gradients cannot pass through it and CNN Lens cannot explain it. ` +
        'Convert the model without tf.cond/tf.while_loop in its forward pass (a plain Keras CNN converts without control flow).',
      'unsupported',
    );
  }
  const missing = nodes.filter((n) => n.op !== 'Placeholder' && n.op !== 'Const' && !(n.op in TF_OPS));
  if (missing.length > 0) {
    const listed = missing.slice(0, 8).map((n) => `${n.op} (node "${n.name}")`).join(', ');
    throw new EngineError(
      `${file}: CNN Lens cannot run graph op${missing.length > 1 ? 's' : ''} ${listed}${missing.length > 8 ? `, and ${missing.length - 8} more` : ''}. ` +
        `Supported: ${Object.keys(TF_OPS).sort().join(', ')}.`,
      'unsupported',
    );
  }
  const placeholders = nodes.filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1) {
    throw new EngineError(
      `${file}: the graph model has ${placeholders.length} inputs (${placeholders.map((n) => `"${n.name}"`).join(', ')}); CNN Lens explains image classifiers with one image input.`,
      'unsupported',
    );
  }
  const input = placeholders[0] as TfNode;
  const dims = (input.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size ?? -1));
  const [, height, width, channels] = dims;
  if (dims.length !== 4 || !(height! > 0 && width! > 0 && channels! > 0)) {
    throw new EngineError(`${file}: input "${input.name}" has shape [${dims.join(', ')}]; CNN Lens needs an NHWC image input of a fixed size [-1, height, width, channels].`, 'unsupported');
  }
  checkModelInputSize(height as number, width as number, `${file}: input "${input.name}"`);
  if (declaredOutputs.length === 0) {
    throw new EngineError(`${file}: the graph model has no output (no signature outputs, and every node is read by another); it is damaged or not a model.`, 'bad-input');
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
          throw new EngineError(`${file}: Const node "${node.name}" has no weights in weightsManifest.`, 'bad-input');
        }
        continue;
      }
      const attrs = new Attrs(node.attr ?? {});
      const op = (TF_OPS[node.op] as (a: Attrs, n: TfNode) => TfOp)(attrs, node);
      const sources = (node.input ?? []).map(sourceOf).filter((s): s is { node: string; index: number } => s !== null).map(valueName).map(resolve);
      for (const name of sources) {
        if (!runtime.has(name) && !constants.has(name)) {
          throw new EngineError(`${file}: graph node "${node.name}" reads "${name}", which no node provides.`, 'bad-input');
        }
      }
      if (node.op === 'Identity' && sources.length === 1 && runtime.has(sources[0] as string)) {
        alias.set(node.name, sources[0] as string);
        continue;
      }
      const info = { name: node.name, opType: node.op };
      const run = (args: (tf.Tensor | undefined)[]): tf.Tensor[] => runGuarded('Graph', info, () => op(args as tf.Tensor[], attrs, node).slice(0, 1));
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
      plans.push({ info: { name: giveName(node.name), opType: node.op }, runtimeInputs, slots, outputs: [node.name], run, kernel: TF_KERNELS.get(node.op) });
      runtime.add(node.name);
    }
    const outputValues = declaredOutputs.map((output) => {
      const value = resolve(output.value);
      if (!runtime.has(value)) {
        throw new EngineError(`${file}: the output "${output.name}" does not depend on the input image.`, 'unsupported');
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
