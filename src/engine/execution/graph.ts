// An eager executor over a tfjs LayersModel's graph. tfjs can only run a model whole (predict) or
// build sub-models from symbolic tensors, which splits cleanly only for chains (the trick of
// tfjs-examples' visualize-convnet). CAM methods need more: the activation of any layer, and the
// pre-softmax output as a differentiable function of that activation, in graphs with residual
// adds, concatenations and models nested as layers. So this file walks the layers' inbound nodes
// itself, the way tfjs's Container.runInternalGraph does, calling each layer eagerly with its
// node's call kwargs and `training: false` (Dropout off, BatchNorm on moving statistics).
//
// Two kinds of pass share one walk:
//  - forward: computes everything, keeps the values a caller asked for (taps) and those a later
//    cut pass will need;
//  - cut: given a value for one layer's output, recomputes only the nodes downstream of it and
//    takes every other input from the forward pass's cache, so tf.grad sees exactly the function
//    "layer activation -> pre-softmax scores".
// Values are keyed by call site (the chain of nested-model calls) plus symbolic tensor id, so a
// tensor inside a nested model is told apart from the same tensor in another call of that model.
import * as tf from '../tf';
import { LensError } from '../../shared/errors';
import { batchNormFolds, convWithBatchNorm, foldedWeights } from './batchNormFold';
import { callReluSixAsOneOp, callUnfused } from './unfusedLayers';
import { applyGuidedRelu, NODE_PASS_KWARG, reluCapOf, type NodePass } from './guidedRelu';
import { detectKind, stripFor, type FinalActivation, type OutputHead } from '../models/outputKinds';
import type { ActivationFn, GraphContainer, GraphLayer, GraphNode, Kwargs } from './graphInternals';
export type { GraphContainer, GraphLayer } from './graphInternals';

/** Layer names from the top model inward: ['base', 'block_16_project'] is `base/block_16_project`. */
export type LayerPath = readonly string[];

/** The graph a model-used-as-a-layer runs; null for an ordinary layer. Sequential keeps it in `.model`. */
export function innerGraph(layer: unknown): GraphContainer | null {
  if (layer instanceof tf.Sequential) {
    // Sequential runs a LayersModel it keeps in a private field, created when it is built; a
    // Sequential made in code is built on first use, so build it from its own input shape.
    const wrapped = (): GraphContainer | undefined => (layer as unknown as { model?: GraphContainer }).model;
    if (!layer.built || !wrapped()) {
      layer.build(layer.inputs[0].shape);
    }
    return wrapped() ?? null;
  }
  if (layer instanceof tf.LayersModel) {
    return layer as unknown as GraphContainer;
  }
  return null;
}

/** True when `container`'s graph has a node applying `layer` itself. */
export function appliesLayer(container: GraphContainer, layer: unknown): boolean {
  return nodesInOrder(container).some((node) => node.outboundLayer === layer);
}

function nodesInOrder(container: GraphContainer): GraphNode[] {
  // Deeper nodes are closer to the inputs (tfjs counts depth from the outputs).
  const depths = Object.keys(container.nodesByDepth)
    .map(Number)
    .sort((a, b) => b - a);
  return depths.flatMap((depth) => container.nodesByDepth[depth]);
}

function tensorKey(scope: string, tensor: tf.SymbolicTensor): string {
  return `${scope}${tensor.id}`;
}

function nestedScope(scope: string, node: GraphNode): string {
  return `${scope}${node.outboundLayer.name}#${node.outboundLayer.inboundNodes.indexOf(node)}/`;
}

/** The node of `container` that produces its output number `index`. */
function outputNode(container: GraphContainer, index = 0): GraphNode {
  const output = container.outputs[index];
  const node = nodesInOrder(container).find((n) => n.outputTensors.some((t) => t.id === output.id));
  if (!node) {
    throw new Error(`Model "${container.name}": no node produces its output.`);
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// The output explained, and the softmax or sigmoid at its end

const LINEAR: ActivationFn = { apply: (x) => x, getClassName: () => 'linear' };

/**
 * The softmax or sigmoid that produces a container's output `index`, if one does: a Softmax or
 * Sigmoid layer (ONNX and graph-model nodes are named by their operator), a layer with that
 * activation, or a nested model whose own output ends in one.
 */
function finalActivationOf(container: GraphContainer, index: number): FinalActivation | null {
  const node = outputNode(container, index);
  const layer = node.outboundLayer;
  const className = layer.getClassName();
  if (className === 'Softmax') return 'softmax';
  if (className === 'Sigmoid') return 'sigmoid';
  const activation = layer.activation?.getClassName();
  if (activation === 'softmax' || activation === 'sigmoid') return activation;
  const inner = innerGraph(layer);
  if (!inner) return null;
  const at = node.outputTensors.findIndex((t) => t.id === container.outputs[index].id);
  return at >= 0 && at < inner.outputs.length ? finalActivationOf(inner, at) : null;
}

/** The final activation of the model's output `index` (see finalActivationOf). */
export function finalActivation(model: tf.LayersModel, index = 0): FinalActivation | null {
  return finalActivationOf(topContainer(model), index);
}

/** True when the model's (first) output is a softmax, so its pre-softmax input is the class score. */
export function outputAppliesSoftmax(model: tf.LayersModel): boolean {
  return finalActivation(model, 0) === 'softmax';
}

const heads = new WeakMap<tf.LayersModel, OutputHead>();

/**
 * Which output a model's passes return, and how (outputs.ts registers one per output view of a
 * loaded model). A model nobody registered (built in a test or a tool) returns its first output
 * that holds scores, its kind read from its size and final activation.
 */
export function headOf(model: tf.LayersModel): OutputHead {
  let head = heads.get(model);
  if (!head) {
    const top = topContainer(model);
    const found = top.outputs.findIndex((t) => t.shape.length === 2);
    const index = found >= 0 ? found : 0;
    const activation = finalActivationOf(top, index);
    const kind = detectKind(top.outputs[index].shape[1] ?? 0, activation);
    head = { index, output: index, kind, strip: stripFor(kind, activation) };
    heads.set(model, head);
  }
  return head;
}

/** Sets which output `model`'s passes return and how; fixed for the model's life (outputs.ts). */
export function registerHead(model: tf.LayersModel, head: OutputHead): void {
  heads.set(model, head);
}

/**
 * The scores the pipeline sees from the output's value (its final activation already left out):
 * a binary output's z becomes the two sides [−z, +z] (outputKinds.ts); other kinds pass as they are.
 */
function scoresOf(value: tf.Tensor, head: OutputHead): tf.Tensor {
  if (head.kind !== 'binary') {
    return value;
  }
  const z = tf.reshape(value, [value.shape[0] as number, 1]);
  return tf.concat([tf.neg(z), z], 1);
}

/**
 * Calls a layer eagerly, like runInternalGraph: the node's own kwargs, never training mode.
 * With `strip`, a softmax or sigmoid the layer applies is left out (the caller knows this layer
 * produces the output explained).
 */
function callLayer(node: GraphNode, inputs: tf.Tensor[], strip: FinalActivation | null, guided = false): tf.Tensor[] {
  const layer = node.outboundLayer;
  const kwargs: Kwargs = { ...(node.callArgs ?? {}), training: false };
  if (guided) {
    // Operator nodes (graph models, ONNX; nodeGraph.ts) apply their ReLUs inside their own call:
    // they read the pass from this kwarg and run guidedRelu.ts's nodeRelu. Keras layers ignore it.
    kwargs[NODE_PASS_KWARG] = { guided: true } satisfies NodePass;
  }
  const argument = inputs.length === 1 ? inputs[0] : inputs;
  if (guided) {
    const replaced = callWithGuidedRelu(layer, argument, kwargs);
    if (replaced) {
      return replaced;
    }
  }
  if (strip && layer.getClassName() === (strip === 'softmax' ? 'Softmax' : 'Sigmoid')) {
    return inputs;
  }
  if (strip && layer.activation?.getClassName() === strip) {
    // Dense/Conv/Activation with softmax or sigmoid: run the layer with a linear activation for this call.
    const final = layer.activation;
    layer.activation = LINEAR;
    try {
      return toList(callOne(layer, argument, kwargs));
    } finally {
      layer.activation = final;
    }
  }
  return toList(callOne(layer, argument, kwargs));
}

/** The layer's own call, except Conv2D and Dense under a gradient tape and ReLU(max 6) (see unfusedLayers.ts). */
function callOne(layer: GraphLayer, argument: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
  if (Array.isArray(argument)) {
    return layer.call(argument, kwargs);
  }
  return callUnfused(layer, argument) ?? callReluSixAsOneOp(layer, argument) ?? layer.call(argument, kwargs);
}

/**
 * Guided backpropagation (guidedRelu.ts): a ReLU layer, or a layer whose activation is relu/relu6,
 * runs with its ReLU replaced by the guided one. Null when the layer applies no ReLU.
 */
function callWithGuidedRelu(layer: GraphLayer, argument: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor[] | null {
  if (layer.getClassName() === 'ReLU' && !Array.isArray(argument)) {
    const maxValue = (layer as unknown as { maxValue?: number | null }).maxValue ?? undefined;
    return [applyGuidedRelu(argument, maxValue)];
  }
  const cap = reluCapOf(layer.activation?.getClassName());
  if (cap === null || !layer.activation) {
    return null;
  }
  const relu = layer.activation;
  layer.activation = LINEAR;
  try {
    return toList(callOne(layer, argument, kwargs)).map((out) => applyGuidedRelu(out, cap));
  } finally {
    layer.activation = relu;
  }
}

function toList(value: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(value) ? value : [value];
}

// ---------------------------------------------------------------------------------------------
// Cut plans: which tensors are downstream of a layer, and which upstream values feed them

export interface CutPlan {
  readonly path: LayerPath;
  /** Key of the cut layer's output (its value is the activation). */
  readonly cutKey: string;
  /** Keys recomputed in a cut pass (downstream of the cut, the cut itself included). */
  readonly dirty: ReadonlySet<string>;
  /** Keys a cut pass reads from the forward pass's cache. */
  readonly needed: ReadonlySet<string>;
}

/** A walk position: the container, its call-site scope, and how deep in the cut path it is. */
interface Frame {
  container: GraphContainer;
  scope: string;
  /** Index in the cut path of the layer to look for in this container, or -1 when off the path. */
  level: number;
}

/** The node of `container` that applies the layer named `name`; it must be applied exactly once. */
function findPathNode(container: GraphContainer, name: string, path: LayerPath): GraphNode {
  const nodes = nodesInOrder(container).filter((n) => n.outboundLayer.name === name);
  const where = path.join('/');
  if (nodes.length === 0) {
    throw new LensError(`Layer "${where}": no layer "${name}" in model "${container.name}".`, 'bad-request');
  }
  if (nodes.length > 1) {
    throw new LensError(
      `Layer "${where}" is applied ${nodes.length} times (a shared layer), so its activation is ambiguous; choose another layer.`,
      'unsupported',
    );
  }
  return nodes[0];
}

export function planCut(model: tf.LayersModel, path: LayerPath): CutPlan {
  if (path.length === 0) {
    throw new LensError('No layer given for the cut.', 'bad-request');
  }
  const top = topContainer(model);
  const dirty = new Set<string>();
  const needed = new Set<string>();
  let cutKey: string | undefined;

  const walk = (frame: Frame): void => {
    const target = frame.level >= 0 ? findPathNode(frame.container, path[frame.level], path) : undefined;
    for (const node of nodesInOrder(frame.container)) {
      if (node.inputTensors.length === 0) {
        continue; // an InputLayer: its value is the container's input
      }
      const inKeys = node.inputTensors.map((t) => tensorKey(frame.scope, t));
      const outKeys = node.outputTensors.map((t) => tensorKey(frame.scope, t));
      if (node === target && frame.level === path.length - 1) {
        if (outKeys.length !== 1) {
          throw new LensError(`Layer "${path.join('/')}" has ${outKeys.length} outputs; a CAM needs a layer with one.`, 'unsupported');
        }
        cutKey = outKeys[0];
        dirty.add(cutKey);
        continue;
      }
      const inner = innerGraph(node.outboundLayer);
      const onPath = node === target;
      if (onPath && !inner) {
        const outer = path.slice(0, frame.level + 1).join('/');
        throw new LensError(`Layer "${outer}" is not a nested model, so "${path.join('/')}" does not exist.`, 'bad-request');
      }
      const inputsDirty = inKeys.some((k) => dirty.has(k));
      if (!onPath && !inputsDirty) {
        continue; // upstream of (or beside) the cut: its outputs come from the cache
      }
      if (inner) {
        // Recurse: the inner graph decides which of its tensors are recomputed.
        const scope = nestedScope(frame.scope, node);
        inner.inputs.forEach((t, i) => {
          const innerKey = tensorKey(scope, t);
          if (dirty.has(inKeys[i])) {
            dirty.add(innerKey);
          }
        });
        walk({ container: inner, scope, level: onPath ? frame.level + 1 : -1 });
        inner.outputs.forEach((t, i) => {
          const innerKey = tensorKey(scope, t);
          if (dirty.has(innerKey)) {
            dirty.add(outKeys[i]);
          } else {
            needed.add(outKeys[i]);
          }
        });
      } else {
        inKeys.filter((k) => !dirty.has(k)).forEach((k) => needed.add(k));
        outKeys.forEach((k) => dirty.add(k));
      }
    }
  };
  walk({ container: top, scope: '', level: 0 });

  const outputKey = tensorKey('', top.outputs[headOf(model).index]);
  if (cutKey === undefined) {
    throw new LensError(`Layer "${path.join('/')}" is not reached when the model runs.`, 'bad-request');
  }
  if (!dirty.has(outputKey)) {
    const which = top.outputs.length > 1 ? `output ${headOf(model).index} ("${top.outputs[headOf(model).index].sourceLayer.name}")` : "the model's output";
    throw new LensError(`Layer "${path.join('/')}" does not feed ${which}, so the score explained does not depend on it; choose a layer before it.`, 'bad-request');
  }
  return { path, cutKey, dirty, needed };
}

// ---------------------------------------------------------------------------------------------
// Passes

interface PassOptions {
  /** Forward: keys whose values are returned. */
  keep?: ReadonlySet<string>;
  /** Cut: the plan, the cache of upstream values and the value substituted at the cut. */
  cut?: { plan: CutPlan; cache: Readonly<Record<string, tf.Tensor>>; activation: tf.Tensor };
  /** Guided backpropagation: ReLUs pass only positive gradients (guidedRelu.ts). */
  guided?: boolean;
  /** The output as the model computes it (its softmax or sigmoid kept), for activation maps. */
  asIs?: boolean;
}

/**
 * Runs one pass and returns the explained output's scores (headOf: pre-softmax class scores, a
 * binary output's [−z, +z], a regression's values) plus kept values. A cut pass has no
 * input (everything upstream of the cut is cached). Must run inside
 * tf.tidy (or tf.grad): intermediate tensors are left for the caller's scope to release.
 */
function runPass(model: tf.LayersModel, input: tf.Tensor | null, options: PassOptions): { logits: tf.Tensor; kept: Record<string, tf.Tensor> } {
  const top = topContainer(model);
  const head = headOf(model);
  const values = new Map<string, tf.Tensor>();
  const kept: Record<string, tf.Tensor> = {};
  const cut = options.cut;

  const read = (key: string): tf.Tensor => {
    const value = values.get(key) ?? cut?.cache[key];
    if (value === undefined) {
      throw new Error(`Graph executor: no value for tensor ${key} (a node ran before its inputs).`);
    }
    return value;
  };
  const store = (key: string, value: tf.Tensor): void => {
    values.set(key, value);
    if (options.keep?.has(key)) {
      kept[key] = value;
    }
  };

  /** `explained`: which output of this container is the one explained, and the activation it leaves out. */
  const walk = (container: GraphContainer, scope: string, explained: { index: number; strip: FinalActivation | null } | null): void => {
    const last = explained?.strip ? outputNode(container, explained.index) : undefined;
    const nodes = nodesInOrder(container);
    const folds = batchNormFolds(container, nodes);
    /** Batch norm nodes this pass computed with their convolution (batchNormFold.ts). */
    const folded = new Set<unknown>();
    for (const node of nodes) {
      if (node.inputTensors.length === 0 || folded.has(node)) {
        continue;
      }
      const outKeys = node.outputTensors.map((t) => tensorKey(scope, t));
      if (cut && !outKeys.some((k) => cut.plan.dirty.has(k))) {
        continue; // not downstream of the cut: consumers read it from the cache
      }
      if (cut && outKeys[0] === cut.plan.cutKey) {
        store(outKeys[0], cut.activation);
        continue;
      }
      const inKeys = node.inputTensors.map((t) => tensorKey(scope, t));
      const inner = innerGraph(node.outboundLayer);
      if (inner) {
        // Hand over only the values this pass has; in a cut pass the inner graph reads the
        // others (upstream of the cut) from the cache under its own keys, as planned.
        const innerScope = nestedScope(scope, node);
        inner.inputs.forEach((t, i) => {
          const value = values.get(inKeys[i]);
          if (value) {
            store(tensorKey(innerScope, t), value);
          }
        });
        const at = node === last ? node.outputTensors.findIndex((t) => t.id === container.outputs[(explained as { index: number }).index].id) : -1;
        walk(inner, innerScope, at >= 0 ? { index: at, strip: explained?.strip ?? null } : null);
        inner.outputs.forEach((t, i) => {
          const value = values.get(tensorKey(innerScope, t));
          if (value) {
            store(outKeys[i], value);
          }
        });
      } else {
        const batchNorm = folds.get(node) as GraphNode | undefined;
        // The convolution's own output must not be wanted: kept (activation maps, a cut's cache)
        // or substituted (the cut itself is handled above).
        if (batchNorm && !options.keep?.has(outKeys[0])) {
          store(tensorKey(scope, batchNorm.outputTensors[0]), convWithBatchNorm(node.outboundLayer, batchNorm.outboundLayer, read(inKeys[0])));
          folded.add(batchNorm);
          continue;
        }
        const outputs = callLayer(node, inKeys.map(read), node === last ? (explained?.strip ?? null) : null, options.guided === true);
        outKeys.forEach((k, i) => store(k, outputs[i]));
      }
    }
  };

  if (input) {
    // A clone, so a kept input can be disposed with the other kept values without freeing the caller's tensor.
    store(tensorKey('', top.inputs[0]), tf.clone(input));
  }
  const outputKey = tensorKey('', top.outputs[head.index]);
  if (options.asIs) {
    walk(top, '', null);
    return { logits: read(outputKey), kept };
  }
  walk(top, '', { index: head.index, strip: head.strip });
  return { logits: scoresOf(read(outputKey), head), kept };
}

function topContainer(model: tf.LayersModel): GraphContainer {
  const top = innerGraph(model);
  if (!top) {
    throw new Error('Graph executor: not a LayersModel.');
  }
  if (top.inputs.length !== 1) {
    throw new LensError(
      `Model "${model.name}" has ${top.inputs.length} inputs; CNN Lens explains image models with one image input.`,
      'unsupported',
    );
  }
  return top;
}

/**
 * Makes the folded filters of every convolution → batch norm pair now (batchNormFold.ts), so a
 * loaded model's tensors are all there from the start: the first request is not slower, and
 * tensor counts taken after loading stay put.
 */
export function prepareBatchNormFolds(model: tf.LayersModel): void {
  const visit = (container: GraphContainer): void => {
    const nodes = nodesInOrder(container);
    for (const [conv, batchNorm] of batchNormFolds(container, nodes)) {
      foldedWeights(conv.outboundLayer, batchNorm.outboundLayer);
    }
    for (const node of nodes) {
      const inner = innerGraph(node.outboundLayer);
      if (inner) {
        visit(inner);
      }
    }
  };
  visit(topContainer(model));
}

/**
 * Each example's pre-softmax score of one class, [n], from logits [n, classes]: a product with a
 * one-hot row rather than gather, whose gradient (UnsortedSegmentSum) wasm lacks. Summed over a
 * batch, the examples' gradients stay their own. Differentiable; run inside tf.tidy or tf.grad.
 */
export function classScoresOf(logits: tf.Tensor, classIndex: number): tf.Tensor {
  const numClasses = logits.shape[logits.rank - 1];
  const oneHot = new Float32Array(numClasses);
  oneHot[classIndex] = 1;
  return tf.sum(tf.mul(logits, tf.tensor2d(oneHot, [1, numClasses])), 1);
}

/** Pre-softmax output of a batch. Caller disposes the result. */
export function computeLogits(model: tf.LayersModel, input: tf.Tensor): tf.Tensor {
  return tf.tidy(() => runPass(model, input, {}).logits);
}

/**
 * Pre-softmax output of a batch as a differentiable function of the input (call inside tf.grad or
 * tf.tidy). With `guided`, ReLUs backpropagate as guided backpropagation defines (guidedRelu.ts).
 */
export function logitsOf(model: tf.LayersModel, input: tf.Tensor, options: { guided?: boolean } = {}): tf.Tensor {
  return runPass(model, input, { guided: options.guided }).logits;
}

/** Key under which forward passes keep a layer's output (the path must name a layer used once). */
export function layerOutputKey(model: tf.LayersModel, path: LayerPath): string {
  let container = topContainer(model);
  let scope = '';
  for (let level = 0; level < path.length; level++) {
    const node = findPathNode(container, path[level], path);
    if (level === path.length - 1) {
      return tensorKey(scope, node.outputTensors[0]);
    }
    const inner = innerGraph(node.outboundLayer);
    if (!inner) {
      throw new LensError(`Layer "${path.slice(0, level + 1).join('/')}" is not a nested model, so "${path.join('/')}" does not exist.`, 'bad-request');
    }
    scope = nestedScope(scope, node);
    container = inner;
  }
  throw new LensError('No layer given.', 'bad-request');
}

/**
 * One forward pass returning the explained output's scores and the outputs of the given layers
 * (same order as `paths`). With `asIs`, nothing is left out: the output is the model's own (its
 * softmax or sigmoid applied), and so is every tap. Caller disposes all returned tensors (a tap may
 * be the output tensor itself).
 */
export function forwardWithTaps(
  model: tf.LayersModel,
  input: tf.Tensor,
  paths: readonly LayerPath[],
  options: { asIs?: boolean } = {},
): { logits: tf.Tensor; taps: tf.Tensor[] } {
  const keys = paths.map((p) => layerOutputKey(model, p));
  return tf.tidy(() => {
    const { logits, kept } = runPass(model, input, { keep: new Set(keys), asIs: options.asIs });
    return { logits, taps: keys.map((k) => kept[k]) };
  });
}

/** What a forward pass leaves for gradients at a cut. Dispose with disposeCutState. */
export interface CutState {
  readonly plan: CutPlan;
  readonly logits: tf.Tensor;
  readonly activation: tf.Tensor;
  readonly cache: Readonly<Record<string, tf.Tensor>>;
}

/** Forward pass that keeps the cut layer's activation and the upstream values a cut pass reads. */
export function forwardToCut(model: tf.LayersModel, input: tf.Tensor, plan: CutPlan): CutState {
  const keep = new Set([plan.cutKey, ...plan.needed]);
  const { logits, kept } = tf.tidy(() => runPass(model, input, { keep }));
  const { [plan.cutKey]: activation, ...cache } = kept;
  return { plan, logits, activation, cache };
}

/**
 * The pre-softmax output as a function of the cut layer's activation: only nodes downstream of
 * the cut run; the rest comes from the cache. Differentiable (call it inside tf.grad).
 */
export function logitsFromCut(model: tf.LayersModel, state: CutState, activation: tf.Tensor): tf.Tensor {
  return runPass(model, null, { cut: { plan: state.plan, cache: state.cache, activation } }).logits;
}

export function disposeCutState(state: CutState): void {
  // Several keys may share one tensor (a nested model's output is also its caller's); dispose is idempotent.
  tf.dispose([state.logits, state.activation, ...Object.values(state.cache)]);
}
