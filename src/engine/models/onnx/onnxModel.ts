// An ONNX graph rebuilt as a tfjs LayersModel whose layers are the ONNX nodes (nodeGraph.ts says
// why: the pipeline, the layer list and every CAM method then run on it unchanged, gradients
// included). The node name is the layer name, the operator type its class name, so a 4-D node is a
// selectable layer exactly as it is named in the ONNX graph.
//
// Building it:
//  1. nodes whose inputs are all constants (initializers, Constant, the shape arithmetic exporters
//     emit for F.pad) are folded once here and become constants of their consumers;
//  2. each remaining node becomes a node layer over its runtime inputs (shapes inferred by running
//     on zeros, nodeGraph.ts).
import { LensError } from '../../../shared/errors';
import { checkModelInputSize, namingFile } from '../../limits';
import * as tf from '../../tf';
import { decodeModelProto, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './onnxProto';
import { Attributes, kernelOf, opFor, SUPPORTED_OPS, toLogical, toPhysical, type OpFn, type OpNode } from './ops';
import { tensorFromProto } from './tensors';
import type { NodePass } from '../../execution/guidedRelu';
import { buildNodeGraphModel, describeUnsupportedOps, nameGiver, runGuarded, type GraphNodePlan, type Slot } from '../../execution/nodeGraph';
import { notAClassifier } from '../outputs';
import { registerOnnxSource } from '../../onnxRuntime/sources';

/** An ONNX node planned as a layer. */
interface NodePlan extends GraphNodePlan {
  readonly node: NodeProto;
  readonly info: OpNode;
  readonly op: OpFn;
  readonly attrs: Attributes;
}

export interface OnnxModelInfo {
  readonly model: tf.LayersModel;
  readonly producer: string;
  readonly opset: number;
  /** Input as ONNX states it, [N, C, H, W] (N may be a name). */
  readonly onnxInputShape: (number | string)[];
  /** The graph's outputs, in order, as ONNX names and shapes them (the model's outputs are these). */
  readonly outputNames: string[];
  readonly outputShapes: (number | string)[][];
}

function runNode(plan: NodePlan, args: (tf.Tensor | undefined)[], pass?: NodePass): tf.Tensor[] {
  return runGuarded('ONNX', plan.info, () => plan.op(args, plan.attrs, plan.info, pass).slice(0, plan.outputs.length));
}

/** Decodes an ONNX file's bytes; a file that is not a model is an error naming it. */
export function decodeOnnx(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.length === 0) {
    throw new LensError(`${file}: the file is empty (0 bytes).`, 'bad-input');
  }
  let model: ModelProto;
  try {
    model = decodeModelProto(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new LensError(
      `${file}: not a readable ONNX model (${message}); the file is truncated or not an .onnx file. Export it again with torch.onnx.export.`,
      'bad-input',
    );
  }
  if (!model.graph || model.graph.node.length === 0) {
    throw new LensError(`${file}: the ONNX file has no graph (or an empty one); it is truncated or not a model.`, 'bad-input');
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
    throw new LensError(
      `${file}: the graph has control flow (${names}); gradients cannot pass through data-dependent branches or loops, ` +
        'so CNN Lens cannot explain it. Export the model in eval mode without Python control flow on tensor values (torch.onnx.export traces one path).',
      'unsupported',
    );
  }
  const missing = graph.node.flatMap((n, index) =>
    opFor(n) === undefined ? [{ opType: `${n.domain ? `${n.domain}.` : ''}${n.opType}`, name: n.name || `${n.opType}_${index}` }] : [],
  );
  if (missing.length > 0) {
    const types = new Set(missing.map((n) => n.opType)).size;
    throw new LensError(
      `${file}: CNN Lens cannot run ONNX operator${types > 1 ? 's' : ''} ${describeUnsupportedOps(missing)}. ` + `Supported: ${SUPPORTED_OPS.join(', ')}.`,
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
    throw new LensError(
      `${file}: the model has ${inputs.length} inputs (${names}); CNN Lens explains image classifiers with one image input [N, C, H, W].`,
      'unsupported',
    );
  }
  const shape = describeShape(inputs[0]);
  const [, channels, height, width] = shape;
  if (shape.length !== 4 || typeof channels !== 'number' || typeof height !== 'number' || typeof width !== 'number') {
    throw new LensError(
      `${file}: input "${inputs[0].name}" has shape [${shape.join(', ')}]; CNN Lens needs an NCHW image input of a fixed size, ` +
        'e.g. [1, 3, 224, 224]: export with a fixed-size dummy input (dynamic_axes only for the batch).',
      'unsupported',
    );
  }
  checkModelInputSize(height, width, `${file}: input "${inputs[0].name}"`);
  return { value: inputs[0], hwc: [height, width, channels] };
}

/** Parses an ONNX file's bytes and rebuilds it as a LayersModel. A backend must be set. */
export function buildOnnxModel(bytes: Uint8Array, file: string, modelName: string): OnnxModelInfo {
  return buildOnnxModelFromProto(decodeOnnx(bytes, file), file, modelName);
}

/**
 * Rebuilds a decoded ONNX model (its graph possibly rewritten, see pytorch/moduleGraph.ts) as a
 * LayersModel. Every failure names `file`: messages about a node or tensor get it in front.
 */
export function buildOnnxModelFromProto(proto: ModelProto, file: string, modelName: string): OnnxModelInfo {
  try {
    return rebuild(proto, file, modelName);
  } catch (error) {
    throw namingFile(error, file, 'cannot be rebuilt as a model');
  }
}

function rebuild(proto: ModelProto, file: string, modelName: string): OnnxModelInfo {
  const graph = proto.graph as GraphProto;
  const opset = opsetOf(proto);
  // What the model is comes first: a detector is "not a classifier", whichever operators it also lacks.
  const outputShapes = graph.output.map(describeShape);
  if (graph.output.length === 0) {
    throw new LensError(`${file}: the ONNX graph declares no output; it is damaged or not a model.`, 'bad-input');
  }
  if (outputShapes.every((shape) => shape.length > 0 && shape.length !== 2)) {
    throw notAClassifier(file, outputShapes);
  }
  checkOperators(graph, file);
  const constants = new Map<string, tf.Tensor>(); // logical layout
  const initializerNames = new Set(graph.initializer.map((t) => t.name ?? ''));
  const plans: NodePlan[] = [];
  // The input's size first: nothing is allocated for a model CNN Lens would refuse anyway.
  const input = imageInput(graph, initializerNames, file);
  try {
    for (const init of graph.initializer) {
      constants.set(init.name ?? '', tensorFromProto(init, init.name ?? ''));
    }
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
          throw new LensError(`${file}: ONNX node "${info.name}" reads "${name}", which no earlier node or initializer provides; the graph is not in order or is damaged.`, 'bad-input');
        }
      }
      const plan: NodePlan = { node, info, op, attrs, runtimeInputs: [], slots: [], outputs, run: (args) => runNode(plan, args) };
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
      const named: NodePlan = {
        ...plan,
        runtimeInputs,
        slots,
        info: { ...info, name: giveName(info.name) },
        kernel: kernelOf(node.opType, attrs),
        run: (args, pass) => runNode(named, args, pass),
      };
      plans.push(named);
      outputs.forEach((name) => runtime.add(name));
    });

    const outputNames = graph.output.map((o) => o.name);
    for (const outputName of outputNames) {
      if (!runtime.has(outputName)) {
        throw new LensError(`${file}: the output "${outputName}" does not depend on the input image.`, 'unsupported');
      }
    }
    const model = buildNodeGraphModel(plans, input.value.name, input.hwc, outputNames, modelName);
    // ONNX Runtime runs this graph itself where it loads (onnxRuntime/): it needs the graph and each layer's value.
    registerOnnxSource(model, { proto, hwc: input.hwc, layerValues: new Map(plans.map((p) => [p.info.name, p.outputs[0]])) });
    return {
      model,
      producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
      opset,
      onnxInputShape: describeShape(input.value),
      outputNames,
      outputShapes,
    };
  } catch (error) {
    // Layers own their constants only once the model exists; before that, free them here.
    plans.forEach((p) => p.slots.forEach((s) => 'constant' in s && s.constant.dispose()));
    throw error;
  } finally {
    tf.dispose([...constants.values()]);
  }
}
