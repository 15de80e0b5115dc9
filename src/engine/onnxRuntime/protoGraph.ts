// What the native engine needs to know about an ONNX graph before it rewrites it: who produces and
// reads each value, which values depend on the image (the rest are constants: initializers,
// Constant nodes, shape arithmetic on them), and a way to add nodes and small constants with
// names that cannot clash with the model's own.
import type { AttributeProto, NodeProto, TensorProto } from '../models/onnx/onnxProto';
import { ATTRIBUTE_TYPE, ONNX_DTYPE } from '../models/onnx/onnxProto';

/** Static facts about one value, measured by running the graph once on a batch of one (probe.ts). */
export interface ValueFacts {
  /** ONNX element type (TensorProto.DataType). */
  readonly elemType: number;
  /** Dims at batch 1. */
  readonly dims: readonly number[];
  /** The values themselves for small tensors (shape arithmetic, Clip bounds, batch-norm statistics). */
  readonly data?: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export class GraphIndex {
  readonly producer = new Map<string, { node: NodeProto; index: number }>();
  readonly consumers = new Map<string, NodeProto[]>();
  /** Values computed from the image input (directly or not). */
  readonly runtime = new Set<string>();

  constructor(
    readonly nodes: readonly NodeProto[],
    readonly input: string,
  ) {
    this.runtime.add(input);
    for (const node of nodes) {
      node.output.forEach((name, index) => name && this.producer.set(name, { node, index }));
      for (const name of node.input) {
        if (!name) continue;
        const list = this.consumers.get(name) ?? [];
        list.push(node);
        this.consumers.set(name, list);
      }
      if (node.input.some((name) => name && this.runtime.has(name))) {
        node.output.forEach((name) => name && this.runtime.add(name));
      }
    }
  }

  /** Values reachable downstream of `from` (itself included). */
  downstreamOf(from: string): Set<string> {
    const reached = new Set<string>([from]);
    for (const node of this.nodes) {
      if (node.input.some((name) => name && reached.has(name))) {
        node.output.forEach((name) => name && reached.add(name));
      }
    }
    return reached;
  }

  /** Nodes `to` depends on, in graph order. */
  nodesFeeding(to: readonly string[]): NodeProto[] {
    const needed = new Set<string>(to);
    const kept = new Set<NodeProto>();
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      if (node.output.some((name) => name && needed.has(name))) {
        kept.add(node);
        node.input.forEach((name) => name && needed.add(name));
      }
    }
    return this.nodes.filter((node) => kept.has(node));
  }
}

export function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a === undefined ? fallback : Number(a.i ?? 0);
}

export function floatAttr(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a === undefined ? fallback : (a.f ?? 0);
}

export function intsAttr(node: NodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a && (a.type === ATTRIBUTE_TYPE.INTS || a.ints.length > 0) ? a.ints.map(Number) : undefined;
}

export function stringAttr(node: NodeProto, name: string, fallback: string): string {
  const a = attribute(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

type AttrValue = number | number[] | string | { tensor: TensorProto };

function toAttribute(name: string, value: AttrValue, float: boolean): AttributeProto {
  const base = { name, floats: [], ints: [], strings: [], graphs: [] };
  if (typeof value === 'string') return { ...base, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { ...base, type: ATTRIBUTE_TYPE.INTS, ints: value };
  if (typeof value === 'number') return float ? { ...base, type: ATTRIBUTE_TYPE.FLOAT, f: value } : { ...base, type: ATTRIBUTE_TYPE.INT, i: value };
  return { ...base, type: ATTRIBUTE_TYPE.TENSOR, t: value.tensor };
}

/** Attributes whose number is a float (ONNX types them; everything else the builder writes is an int). */
const FLOAT_ATTRIBUTES = new Set(['alpha', 'beta', 'epsilon']);

/** Adds nodes and constants to a graph under a private prefix. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;

  constructor(private readonly prefix: string) {}

  fresh(hint: string): string {
    this.count += 1;
    return `${this.prefix}/${hint}_${this.count}`;
  }

  /** Adds a node; returns its output names (`outputs` of them). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push({
      name: this.fresh(`${opType}_node`),
      opType,
      input: [...inputs],
      output: names,
      attribute: Object.entries(attrs).map(([name, value]) => toAttribute(name, value, FLOAT_ATTRIBUTES.has(name))),
    });
    return names;
  }

  /** One-output node. */
  one(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(opType, inputs, attrs)[0];
  }

  floats(values: ArrayLike<number>, dims: readonly number[]): string {
    const name = this.fresh('const');
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DTYPE.FLOAT, floatData: Array.from(values), int32Data: [], int64Data: [], doubleData: [], externalData: [] });
    return name;
  }

  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh('const');
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DTYPE.INT64, floatData: [], int32Data: [], int64Data: [...values], doubleData: [], externalData: [] });
    return name;
  }

  scalar(value: number): string {
    return this.floats([value], []);
  }

  /** A float tensor of zeros shaped like `like` (any shape, known at run time). */
  zerosLike(like: string): string {
    const zero: TensorProto = { dims: [1], dataType: ONNX_DTYPE.FLOAT, floatData: [0], int32Data: [], int64Data: [], doubleData: [], externalData: [] };
    return this.one('ConstantOfShape', [this.one('Shape', [like])], { value: { tensor: zero } });
  }
}

/** ONNX element types by the name onnxruntime-node gives tensor types. */
export const ELEM_TYPE_OF: Record<string, number> = {
  float32: ONNX_DTYPE.FLOAT,
  uint8: ONNX_DTYPE.UINT8,
  int8: ONNX_DTYPE.INT8,
  int32: ONNX_DTYPE.INT32,
  int64: ONNX_DTYPE.INT64,
  bool: ONNX_DTYPE.BOOL,
  float16: ONNX_DTYPE.FLOAT16,
  float64: ONNX_DTYPE.DOUBLE,
};
