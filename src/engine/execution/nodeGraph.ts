// A graph of operator nodes (ONNX, TF.js graph model) as a tfjs LayersModel whose layers are the
// nodes. The engine's graph executor (graph.ts) already runs a LayersModel node by node, keeps any
// node's output (taps) and re-runs everything downstream of a node as a differentiable function of
// its output (cuts): that is all every CAM method needs. So each operator node becomes a NodeLayer
// whose call() runs the operator with tfjs ops, named as in the source graph, its class the
// operator type; the pipeline, the layer list and every method then run on these models
// unchanged, gradients included.
//
// tfjs needs every layer's output shape when the graph is wired. Source files seldom carry shapes
// for intermediate values, so the nodes run once on zeros (batch 1) first; a float value of rank 2
// or more leads with the batch dim (shown as null), integer values are shape arithmetic.
import type { FilterLayout } from '../../shared/types';
import { shortenLayerName } from '../../shared/layerNames';
import { LensError } from '../../shared/errors';
import { NODE_PASS_KWARG, type NodePass } from './guidedRelu';
import { checkTensorSize } from '../limits';
import * as tf from '../tf';

/** How a node's input is fed: from a runtime value (index into the layer's inputs), a constant, or omitted. */
export type Slot = { runtime: number } | { constant: tf.Tensor; weight: boolean } | { absent: true };

/**
 * Where a convolution node keeps its kernel, so the Filters view can draw it (nodeFilters.ts). Only
 * the loader knows how it stored the constant in the slot, so it says so here.
 */
export interface NodeKernel {
  /** The slot whose constant is the kernel. */
  readonly slot: number;
  /**
   * Axis order of that constant as the slot holds it: `OHWI` (ONNX's OIHW weight made physical by
   * onnx/ops.ts toPhysical), `HWIO` (TensorFlow's Conv2D filter), `HWCM` (TensorFlow's depthwise
   * filter: channel, then multiplier).
   */
  readonly stored: 'OHWI' | 'HWIO' | 'HWCM';
  /** The order the source file states it in, which the Filters view shows its shape in. */
  readonly layout: FilterLayout;
  /** Input channel groups (ONNX Conv's `group`); 1 for Conv2D. HWCM kernels are per channel by their shape. */
  readonly groups: number;
}

export interface GraphNodePlan {
  readonly info: { readonly name: string; readonly opType: string };
  /** Names of the runtime values the layer takes, in order. */
  readonly runtimeInputs: string[];
  readonly slots: Slot[];
  /** Output value names the model uses. */
  readonly outputs: string[];
  /** Set on convolution nodes whose kernel can be drawn as filters. */
  readonly kernel?: NodeKernel;
  /**
   * The source node's attributes as the file states them, for exporters that write the node again
   * (a TF.js graph model's AttrValue JSON: onnxRuntime/exportGraphNodes.ts). Absent for ONNX nodes.
   */
  readonly attributes?: Readonly<Record<string, unknown>>;
  /**
   * Runs the operator on its inputs in slot order (runtime values and constants), in the pass the
   * executor runs (guided backpropagation swaps the ReLUs' gradient; guidedRelu.ts nodeRelu).
   */
  run(args: (tf.Tensor | undefined)[], pass?: NodePass): tf.Tensor[];
}

/** Runs `fn`, turning a tfjs error into an LensError naming the node. */
export function runGuarded<T>(kind: string, info: { name: string; opType: string }, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof LensError) {
      throw error;
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new LensError(`${kind} node "${info.name}" (${info.opType}) failed: ${message}`, 'unsupported');
  }
}

/** Distinct op types listed in a refusal; the rest are counted. */
const LISTED_OP_TYPES = 12;

/**
 * The unsupported ops of a graph for a one-line refusal: each op type once, most frequent first,
 * with its count and first node: `StridedSlice ×16 (first: "model/strided_slice"), Selu (node "x")`.
 * A model often repeats one op many times (every block's slice); listing nodes would show the same
 * op eight times and hide the other types, which the user needs to see what is missing.
 */
export function describeUnsupportedOps(nodes: readonly { opType: string; name: string }[]): string {
  const byType = new Map<string, { count: number; first: string }>();
  for (const node of nodes) {
    const seen = byType.get(node.opType);
    if (seen) seen.count++;
    else byType.set(node.opType, { count: 1, first: node.name });
  }
  // Map keeps first-appearance order, and sort is stable: ties stay in graph order.
  const types = [...byType.entries()].sort((a, b) => b[1].count - a[1].count);
  const listed = types
    .slice(0, LISTED_OP_TYPES)
    .map(([type, { count, first }]) => (count === 1 ? `${inMessage(type, 40)} (node ${quoted(first)})` : `${inMessage(type, 40)} ×${count} (first: ${quoted(first)})`));
  const rest = types.slice(LISTED_OP_TYPES);
  if (rest.length > 0) {
    const restNodes = rest.reduce((sum, [, { count }]) => sum + count, 0);
    listed.push(`and ${rest.length} more op type${rest.length > 1 ? 's' : ''} (${restNodes} node${restNodes > 1 ? 's' : ''})`);
  }
  return listed.join(', ');
}

/**
 * Text from a model file as it may appear in a one-line message: control characters (a newline in
 * a node name) as spaces, and at most `max` characters, keeping the end (layerNames.ts).
 */
function inMessage(text: string, max: number): string {
  return shortenLayerName(text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' '), max);
}

/** A node name in a message: quoted, escaped, at most 80 characters. */
function quoted(name: string): string {
  return JSON.stringify(inMessage(name, 80));
}

/** Unique tfjs layer names: source names as they are; empty or repeated ones get a suffix. */
export function nameGiver(): (wanted: string) => string {
  const used = new Set<string>();
  return (wanted) => {
    let name = wanted;
    for (let i = 1; used.has(name); i++) {
      name = `${wanted}_${i}`;
    }
    used.add(name);
    return name;
  };
}

type NodeLayerClass = new (plan: GraphNodePlan, name: string, shapes: (number | null)[][]) => tf.layers.Layer;
let layerClass: NodeLayerClass | undefined;

/** The Layer subclass is created on first use: tfjs-layers must be loaded (and a backend set) first. */
function nodeLayerClass(): NodeLayerClass {
  layerClass ??= class NodeLayer extends tf.layers.Layer {
    static readonly className = 'OperatorNode';
    readonly plan: GraphNodePlan; // read by nodePlanOf
    private readonly shapes: (number | null)[][];

    constructor(plan: GraphNodePlan, name: string, shapes: (number | null)[][]) {
      super({ name, trainable: false });
      this.plan = plan;
      this.shapes = shapes;
    }

    override call(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
      const runtime = Array.isArray(inputs) ? inputs : [inputs];
      const pass = kwargs?.[NODE_PASS_KWARG] as NodePass | undefined;
      const outputs = this.plan.run(argsOf(this.plan, (i) => runtime[i]), pass);
      return outputs.length === 1 ? outputs[0] : outputs;
    }

    override computeOutputShape(): tf.Shape | tf.Shape[] {
      return this.shapes.length === 1 ? this.shapes[0] : this.shapes;
    }

    /** The operator type (Conv, Relu, _FusedConv2D...), shown as the layer's class. */
    override getClassName(): string {
      return this.plan.info.opType;
    }

    /** The weights this node reads (kernels, biases, BatchNorm statistics), not folded constants. */
    override countParams(): number {
      return this.plan.slots.reduce((sum, s) => sum + ('constant' in s && s.weight ? s.constant.size : 0), 0);
    }

    override disposeWeights(): number {
      const constants = this.plan.slots.flatMap((s) => ('constant' in s ? [s.constant] : []));
      tf.dispose(constants);
      return super.disposeWeights() + constants.length;
    }
  };
  return layerClass;
}

/** The plan a node layer runs, or undefined for any other layer (a tfjs Keras layer). */
export function nodePlanOf(layer: tf.layers.Layer): GraphNodePlan | undefined {
  return layerClass !== undefined && layer instanceof layerClass ? (layer as unknown as { plan: GraphNodePlan }).plan : undefined;
}

function argsOf(plan: GraphNodePlan, runtime: (index: number) => tf.Tensor | undefined): (tf.Tensor | undefined)[] {
  return plan.slots.map((slot) => ('runtime' in slot ? runtime(slot.runtime) : 'constant' in slot ? slot.constant : undefined));
}

/**
 * Wires the planned nodes (in execution order) into a LayersModel with one image input
 * [null, ...hwc] (NHWC) and the named outputs, in order. The layers own their constants from here on.
 */
export function buildNodeGraphModel(
  plans: readonly GraphNodePlan[],
  inputName: string,
  hwc: [number, number, number],
  outputNames: string | readonly string[],
  modelName: string,
): tf.LayersModel {
  const shapes = inferShapes(plans, inputName, hwc);
  const NodeLayer = nodeLayerClass();
  const input = tf.input({ batchShape: [null, ...hwc], name: tensorSafeName(inputName) });
  const symbolic = new Map<string, tf.SymbolicTensor>([[inputName, input]]);
  for (const plan of plans) {
    const layer = new NodeLayer(plan, tensorSafeName(plan.info.name), plan.outputs.map((name) => shapes.get(name) as (number | null)[]));
    const inputs = plan.runtimeInputs.map((name) => symbolic.get(name) as tf.SymbolicTensor);
    const applied = layer.apply(inputs.length === 1 ? inputs[0] : inputs) as tf.SymbolicTensor | tf.SymbolicTensor[];
    // tfjs names the symbolic tensors after the layer and only accepts [A-Za-z0-9][-A-Za-z0-9._/]*,
    // but exporters name nodes "/layer4/layer4.1/relu_1/Relu": once wired, the layer takes the
    // source name (the model, the layer list and the executor only read layer.name from here on).
    (layer as { name: string }).name = plan.info.name;
    const outputs = Array.isArray(applied) ? applied : [applied];
    plan.outputs.forEach((name, i) => symbolic.set(name, outputs[i]));
  }
  const outputs = (typeof outputNames === 'string' ? [outputNames] : outputNames).map((name) => symbolic.get(name) as tf.SymbolicTensor);
  const model = tf.model({ inputs: input, outputs: outputs.length === 1 ? outputs[0] : outputs, name: modelName });
  // A LayersModel counts the tf.Variables of its layers; node layers hold their weights as plain
  // tensors (no variable copies), so count those.
  model.countParams = () => model.layers.reduce((sum, layer) => sum + layer.countParams(), 0);
  return model;
}

function inferShapes(plans: readonly GraphNodePlan[], inputName: string, hwc: [number, number, number]): Map<string, (number | null)[]> {
  const shapes = new Map<string, (number | null)[]>();
  tf.tidy(() => {
    const values = new Map<string, tf.Tensor>([[inputName, tf.zeros([1, ...hwc])]]);
    for (const plan of plans) {
      const outputs = plan.run(argsOf(plan, (i) => values.get(plan.runtimeInputs[i] as string)));
      plan.outputs.forEach((name, i) => {
        const value = outputs[i] as tf.Tensor;
        // Operators that can outgrow their inputs check before computing (onnx/ops.ts); this bounds the rest.
        checkTensorSize(value.shape, `${plan.info.opType} node "${plan.info.name}" output`);
        values.set(name, value);
        // Feature maps and scores lead with the batch dim; integer values (Shape, Gather, axes)
        // are shape arithmetic without one.
        const batched = value.dtype === 'float32' && value.rank >= 2 && value.shape[0] === 1;
        shapes.set(name, value.shape.map((d, axis) => (axis === 0 && batched ? null : d)));
      });
    }
  });
  return shapes;
}

function tensorSafeName(name: string): string {
  const safe = name.replace(/[^-A-Za-z0-9._/]/g, '_');
  return /^[A-Za-z0-9]/.test(safe) ? safe : `n${safe}`;
}
