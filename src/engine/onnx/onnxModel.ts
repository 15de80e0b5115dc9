// An ONNX graph rebuilt as a tfjs LayersModel whose layers are the ONNX nodes.
//
// Why a LayersModel: the engine's graph executor (graph.ts) already runs a LayersModel node by node,
// keeps any node's output (taps), and re-runs everything downstream of a node as a differentiable
// function of its output (cuts), which is all every CAM method needs. Giving each ONNX node a
// tfjs Layer (OnnxNodeLayer, whose call() runs the operator from ops.ts) lets the pipeline, the
// layer list and every method run on ONNX models unchanged, gradients included; the node name is
// the layer name, the operator type its class name, so a 4-D node is a selectable layer exactly
// as it is named in the ONNX graph.
//
// Building it:
//  1. nodes whose inputs are all constants (initializers, Constant, the shape arithmetic exporters
//     emit for F.pad) are folded once here and become constants of their consumers;
//  2. the rest run once on zeros, at batch 1 and batch 2, to learn every output's shape (a dim that
//     changes with the batch is the batch dim): tfjs needs shapes when layers are wired up, and
//     ONNX files seldom carry them for intermediate values;
//  3. each remaining node becomes an OnnxNodeLayer applied to its runtime inputs.
import { EngineError } from '../errors';
import * as tf from '../tf';
import { decodeModelProto, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './onnxProto';
import { Attributes, opFor, SUPPORTED_OPS, toLogical, toPhysical, type OpFn, type OpNode } from './ops';
import { tensorFromProto } from './tensors';

/** How a node's input is fed: from a runtime value (index into the layer's inputs), a constant, or omitted. */
type Slot = { runtime: number } | { constant: tf.Tensor; weight: boolean } | { absent: true };

interface NodePlan {
  readonly node: NodeProto;
  readonly info: OpNode;
  readonly op: OpFn;
  readonly attrs: Attributes;
  /** Names of the runtime values the layer takes, in order. */
  readonly runtimeInputs: string[];
  readonly slots: Slot[];
  /** Output value names the model uses (a prefix of node.output). */
  readonly outputs: string[];
}

export interface OnnxModelInfo {
  readonly model: tf.LayersModel;
  readonly producer: string;
  readonly opset: number;
  /** Input as ONNX states it, [N, C, H, W] (N may be a name). */
  readonly onnxInputShape: (number | string)[];
}

let layerClass: (new (plan: NodePlan, name: string, shapes: (number | null)[][]) => tf.layers.Layer) | undefined;

/** The Layer subclass is created on first use: tfjs-layers must be loaded (and a backend set) first. */
function nodeLayerClass(): new (plan: NodePlan, name: string, shapes: (number | null)[][]) => tf.layers.Layer {
  layerClass ??= class OnnxNodeLayer extends tf.layers.Layer {
    static readonly className = 'OnnxNode';
    private readonly plan: NodePlan;
    private readonly shapes: (number | null)[][];

    constructor(plan: NodePlan, name: string, shapes: (number | null)[][]) {
      super({ name, trainable: false });
      this.plan = plan;
      this.shapes = shapes;
    }

    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
      const runtime = Array.isArray(inputs) ? inputs : [inputs];
      const args = this.plan.slots.map((slot) =>
        'runtime' in slot ? runtime[slot.runtime] : 'constant' in slot ? slot.constant : undefined,
      );
      const outputs = runNode(this.plan, args);
      return outputs.length === 1 ? outputs[0] : outputs;
    }

    override computeOutputShape(): tf.Shape | tf.Shape[] {
      return this.shapes.length === 1 ? this.shapes[0] : this.shapes;
    }

    /** The ONNX operator type (Conv, Relu, Add...), shown as the layer's class. */
    override getClassName(): string {
      return this.plan.info.opType;
    }

    /** The initializers this node reads (weights, biases, BatchNorm statistics), not folded constants. */
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

function runNode(plan: NodePlan, args: (tf.Tensor | undefined)[]): tf.Tensor[] {
  try {
    return plan.op(args, plan.attrs, plan.info).slice(0, plan.outputs.length);
  } catch (error) {
    if (error instanceof EngineError) {
      throw error;
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new EngineError(`ONNX node "${plan.info.name}" (${plan.info.opType}) failed: ${message}`, 'unsupported');
  }
}

function decode(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.length === 0) {
    throw new EngineError(`${file}: the file is empty (0 bytes).`, 'bad-input');
  }
  let model: ModelProto;
  try {
    model = decodeModelProto(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EngineError(
      `${file}: not a readable ONNX model (${message}); the file is truncated or not an .onnx file. Export it again with torch.onnx.export.`,
      'bad-input',
    );
  }
  if (!model.graph || model.graph.node.length === 0) {
    throw new EngineError(`${file}: the ONNX file has no graph (or an empty one); it is truncated or not a model.`, 'bad-input');
  }
  return model;
}

function opsetOf(model: ModelProto): number {
  const main = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return Number(main?.version ?? 1);
}

function checkOperators(graph: GraphProto, file: string): void {
  const control = graph.node.filter((n) => new Attributes(n.attribute).hasGraph());
  if (control.length > 0) {
    const names = control.slice(0, 3).map((n) => `${n.opType} (node "${n.name ?? ''}")`).join(', ');
    throw new EngineError(
      `${file}: the graph has control flow (${names}); gradients cannot pass through data-dependent branches or loops, ` +
        'so CNN Lens cannot explain it. Export the model in eval mode without Python control flow on tensor values (torch.onnx.export traces one path).',
      'unsupported',
    );
  }
  const missing = graph.node.filter((n) => opFor(n) === undefined);
  if (missing.length > 0) {
    const described = missing.slice(0, 8).map((n) => `${n.domain ? `${n.domain}.` : ''}${n.opType} (node "${n.name ?? ''}")`);
    const more = missing.length > 8 ? `, and ${missing.length - 8} more` : '';
    throw new EngineError(
      `${file}: CNN Lens cannot run ONNX operator${missing.length > 1 ? 's' : ''} ${described.join(', ')}${more}. ` +
        `Supported: ${SUPPORTED_OPS.join(', ')}.`,
      'unsupported',
    );
  }
}

function describeShape(value: ValueInfoProto): (number | string)[] {
  return (value.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue > 0 ? Number(d.dimValue) : d.dimParam || '?'));
}

function imageInput(graph: GraphProto, initializers: ReadonlySet<string>, file: string): { value: ValueInfoProto; hwc: [number, number, number] } {
  const inputs = graph.input.filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) {
    const names = inputs.map((i) => `"${i.name}" [${describeShape(i).join(', ')}]`).join(', ');
    throw new EngineError(
      `${file}: the model has ${inputs.length} inputs (${names}); CNN Lens explains image classifiers with one image input [N, C, H, W].`,
      'unsupported',
    );
  }
  const shape = describeShape(inputs[0]);
  const [, channels, height, width] = shape;
  if (shape.length !== 4 || typeof channels !== 'number' || typeof height !== 'number' || typeof width !== 'number') {
    throw new EngineError(
      `${file}: input "${inputs[0].name}" has shape [${shape.join(', ')}]; CNN Lens needs an NCHW image input of a fixed size, ` +
        'e.g. [1, 3, 224, 224]: export with a fixed-size dummy input (dynamic_axes only for the batch).',
      'unsupported',
    );
  }
  return { value: inputs[0], hwc: [height, width, channels] };
}

/** Unique tfjs layer names: ONNX names as they are; empty or repeated ones get a suffix. */
function nameGiver(): (wanted: string) => string {
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

/** Parses an ONNX file's bytes and rebuilds it as a LayersModel. A backend must be set. */
export function buildOnnxModel(bytes: Uint8Array, file: string, modelName: string): OnnxModelInfo {
  const proto = decode(bytes, file);
  const graph = proto.graph as GraphProto;
  const opset = opsetOf(proto);
  checkOperators(graph, file);
  if (graph.output.length !== 1) {
    throw new EngineError(
      `${file}: the model has ${graph.output.length} outputs (${graph.output.map((o) => `"${o.name}"`).join(', ')}); CNN Lens explains classifiers with one output of class scores.`,
      'unsupported',
    );
  }
  const constants = new Map<string, tf.Tensor>(); // logical layout
  const initializerNames = new Set(graph.initializer.map((t) => t.name ?? ''));
  const plans: NodePlan[] = [];
  try {
    for (const init of graph.initializer) {
      constants.set(init.name ?? '', tensorFromProto(init, init.name ?? ''));
    }
    const input = imageInput(graph, new Set(constants.keys()), file);
    const used = new Set<string>([...graph.node.flatMap((n) => n.input), ...graph.output.map((o) => o.name)]);
    const runtime = new Set<string>([input.value.name]);
    const giveName = nameGiver();
    giveName(input.value.name);

    graph.node.forEach((node, index) => {
      const info: OpNode = { name: node.name || `${node.opType}_${index}`, opType: node.opType, opset };
      const op = opFor(node) as OpFn;
      const attrs = new Attributes(node.attribute);
      const lastUsed = node.output.reduce((last, name, i) => (name !== '' && used.has(name) ? i : last), -1);
      const outputs = node.output.slice(0, Math.max(1, lastUsed + 1));
      for (const name of node.input) {
        if (name !== '' && !runtime.has(name) && !constants.has(name)) {
          throw new EngineError(`${file}: ONNX node "${info.name}" reads "${name}", which no earlier node or initializer provides; the graph is not in order or is damaged.`, 'bad-input');
        }
      }
      const plan: NodePlan = { node, info, op, attrs, runtimeInputs: [], slots: [], outputs };
      if (node.input.every((name) => name === '' || constants.has(name))) {
        // Constant folding: run once on physical values, keep logical results.
        const folded = tf.tidy(() => runNode(plan, node.input.map((name) => (name === '' ? undefined : toPhysical(constants.get(name) as tf.Tensor)))).map(toLogical));
        outputs.forEach((name, i) => constants.set(name, folded[i]));
        return;
      }
      const runtimeInputs: string[] = [];
      const slots: Slot[] = node.input.map((name) => {
        if (name === '') return { absent: true };
        if (runtime.has(name)) {
          const at = runtimeInputs.indexOf(name);
          if (at >= 0) return { runtime: at };
          runtimeInputs.push(name);
          return { runtime: runtimeInputs.length - 1 };
        }
        const value = constants.get(name) as tf.Tensor;
        // A layer owns its constants: a rank-4 one is a new NHWC tensor, others a clone sharing data.
        return { constant: value.rank === 4 ? toPhysical(value) : tf.clone(value), weight: initializerNames.has(name) && value.dtype === 'float32' };
      });
      plans.push({ ...plan, runtimeInputs, slots, info: { ...info, name: giveName(info.name) } });
      outputs.forEach((name) => runtime.add(name));
    });

    const outputName = graph.output[0].name;
    if (!runtime.has(outputName)) {
      throw new EngineError(`${file}: the output "${outputName}" does not depend on the input image.`, 'unsupported');
    }
    const shapes = inferShapes(plans, input.value.name, input.hwc);
    const model = wire(plans, input.value.name, input.hwc, outputName, shapes, modelName);
    return { model, producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '), opset, onnxInputShape: describeShape(input.value) };
  } catch (error) {
    // Layers own their constants only once the model exists; before that, free them here.
    plans.forEach((p) => p.slots.forEach((s) => 'constant' in s && s.constant.dispose()));
    throw error;
  } finally {
    tf.dispose([...constants.values()]);
  }
}

/** Runs the runtime nodes on zeros at batch 1 and 2; a dim that differs between them is the batch. */
function inferShapes(plans: readonly NodePlan[], inputName: string, hwc: [number, number, number]): Map<string, (number | null)[]> {
  const run = (batch: number): Map<string, number[]> => {
    const shapes = new Map<string, number[]>();
    tf.tidy(() => {
      const values = new Map<string, tf.Tensor>([[inputName, tf.zeros([batch, ...hwc])]]);
      for (const plan of plans) {
        const args = plan.slots.map((s) => ('runtime' in s ? values.get(plan.runtimeInputs[s.runtime]) : 'constant' in s ? s.constant : undefined));
        const outputs = runNode(plan, args);
        plan.outputs.forEach((name, i) => {
          values.set(name, outputs[i]);
          shapes.set(name, outputs[i].shape);
        });
      }
    });
    return shapes;
  };
  const one = run(1);
  const two = run(2);
  const shapes = new Map<string, (number | null)[]>();
  one.forEach((shape, name) => {
    const other = two.get(name) ?? shape;
    shapes.set(name, shape.map((d, i) => (other[i] === d ? d : null)));
  });
  return shapes;
}

function tensorSafeName(name: string): string {
  const safe = name.replace(/[^-A-Za-z0-9._/]/g, '_');
  return /^[A-Za-z0-9]/.test(safe) ? safe : `n${safe}`;
}

function wire(
  plans: readonly NodePlan[],
  inputName: string,
  hwc: [number, number, number],
  outputName: string,
  shapes: ReadonlyMap<string, (number | null)[]>,
  modelName: string,
): tf.LayersModel {
  const NodeLayer = nodeLayerClass();
  const input = tf.input({ batchShape: [null, ...hwc], name: tensorSafeName(inputName) });
  const symbolic = new Map<string, tf.SymbolicTensor>([[inputName, input]]);
  for (const plan of plans) {
    const layer = new NodeLayer(plan, tensorSafeName(plan.info.name), plan.outputs.map((name) => shapes.get(name) as (number | null)[]));
    const inputs = plan.runtimeInputs.map((name) => symbolic.get(name) as tf.SymbolicTensor);
    const applied = layer.apply(inputs.length === 1 ? inputs[0] : inputs) as tf.SymbolicTensor | tf.SymbolicTensor[];
    // tfjs names the symbolic tensors after the layer and only accepts [A-Za-z0-9][-A-Za-z0-9._/]*,
    // but exporters name nodes "/layer4/layer4.1/relu_1/Relu": once wired, the layer takes the
    // ONNX name (the model, the layer list and the executor only read layer.name from here on).
    (layer as { name: string }).name = plan.info.name;
    const outputs = Array.isArray(applied) ? applied : [applied];
    plan.outputs.forEach((name, i) => symbolic.set(name, outputs[i]));
  }
  const model = tf.model({ inputs: input, outputs: symbolic.get(outputName) as tf.SymbolicTensor, name: modelName });
  // A LayersModel counts the tf.Variables of its layers; node layers hold their initializers as
  // plain tensors (no variable copies), so count those.
  model.countParams = () => model.layers.reduce((sum, layer) => sum + layer.countParams(), 0);
  return model;
}
