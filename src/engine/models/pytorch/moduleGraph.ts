// Layer names as the PyTorch user wrote them. The bridge (python/cnn_lens_torch.py) exports the
// model with every submodule's inputs and output passed through identity nodes of the "cnnlens"
// domain: ModuleInput / ModuleOutput, each naming the module's path in named_modules() and which
// call of it this is. This module reads those marks and drops them:
//  - a module's output produced by an operator node of its own (conv1's Conv, fc1's Gemm) names
//    that node: the layer "conv1" is the Conv node, so nothing is added to the graph;
//  - a module whose output is already someone's (a container such as layer4 or features, whose
//    output is its last child's; a Dropout that passes its input through in eval) becomes an
//    Identity node of that name, so it is a layer of its own that a CAM can cut at;
//  - the second call of a module is "pool (call 2)";
//  - nodes of no module (a functional F.relu, x.view) are named by what they do and where:
//    "relu after conv1", "reshape after pool (call 2)".
// Telling "the module computed this" from "the module passed its input through" is why inputs are
// marked too: an output whose producer is one of the module's input marks was not computed there.
//
// A TorchScript model cannot take hooks, so its export has no marks: there a node with a weight
// is named after the weight's module (`layer1.0.conv1.weight` → layer1.0.conv1), another node after
// the innermost scope the exporter wrote into its name (`/pool/MaxPool` → pool), and the rest as
// functional nodes. Containers are then not layers of their own.
import { LensError } from '../../../shared/errors';
import type { GraphProto, NodeProto } from '../onnx/onnxProto';

export const MARK_DOMAIN = 'cnnlens';

/** Which module call a layer is. */
export interface ModuleCall {
  readonly module: string;
  readonly call: number;
}

export interface ModuleNamedGraph {
  readonly graph: GraphProto;
  /** Layers named after a module call, by layer name; functional nodes are not in it. */
  readonly modules: ReadonlyMap<string, ModuleCall>;
}

/** The ONNX operator as PyTorch users call it, for functional nodes' names. */
const OPERATOR_WORDS: Readonly<Record<string, string>> = {
  Relu: 'relu',
  Gemm: 'linear',
  MatMul: 'matmul',
  Conv: 'conv2d',
  ConvTranspose: 'conv_transpose2d',
  MaxPool: 'max_pool2d',
  AveragePool: 'avg_pool2d',
  GlobalAveragePool: 'adaptive_avg_pool2d',
  GlobalMaxPool: 'adaptive_max_pool2d',
  Concat: 'cat',
  Clip: 'clamp',
  BatchNormalization: 'batch_norm',
  LeakyRelu: 'leaky_relu',
  HardSigmoid: 'hardsigmoid',
  HardSwish: 'hardswish',
  ReduceMean: 'mean',
  ReduceSum: 'sum',
  ReduceMax: 'amax',
  Transpose: 'permute',
};

export function isMark(node: NodeProto): boolean {
  return node.domain === MARK_DOMAIN;
}

/** "pool", or "pool (call 2)" for the second call of a reused module. */
export function moduleLayerName(module: string, call: number): string {
  return call > 1 ? `${module} (call ${call})` : module;
}

function markAttributes(node: NodeProto, file: string): ModuleCall {
  let module: string | undefined;
  let call = 1;
  for (const attribute of node.attribute) {
    if (attribute.name === 'module' && attribute.s) {
      module = new TextDecoder().decode(attribute.s);
    } else if (attribute.name === 'call') {
      call = Number(attribute.i ?? 0);
    }
  }
  if (!module || !Number.isInteger(call) || call < 1) {
    throw new LensError(`${file}: a ${node.opType} mark without its module name or call; export the model again.`, 'bad-input');
  }
  return { module, call };
}

/**
 * The graph with its nodes named after the modules that compute them and the marks removed. The
 * input graph is not changed.
 */
export function nameNodesByModule(graph: GraphProto, file: string): ModuleNamedGraph {
  if (!graph.node.some(isMark)) {
    return nameNodesByScope(graph);
  }
  const producers = new Map<string, NodeProto>();
  graph.node.forEach((node) => node.output.forEach((value) => producers.set(value, node)));
  const alias = new Map<string, string>();
  const resolve = (value: string): string => {
    let current = value;
    for (let next = alias.get(current); next !== undefined; next = alias.get(current)) {
      current = next;
    }
    return current;
  };

  const kept: NodeProto[] = [];
  const copies = new Map<NodeProto, NodeProto>();
  const names = new Map<NodeProto, string>();
  const modules = new Map<string, ModuleCall>();

  for (const node of graph.node) {
    if (!isMark(node)) {
      const copy: NodeProto = { ...node, input: node.input.map((v) => (v === '' ? v : resolve(v))) };
      copies.set(node, copy);
      kept.push(copy);
      continue;
    }
    const [input] = node.input;
    const [output] = node.output;
    if (input === undefined || output === undefined) {
      throw new LensError(`${file}: a ${node.opType} mark without its input or output; export the model again.`, 'bad-input');
    }
    if (node.opType === 'ModuleInput') {
      alias.set(output, input);
      continue;
    }
    if (node.opType !== 'ModuleOutput') {
      throw new LensError(`${file}: unknown ${MARK_DOMAIN} node ${node.opType}; the file was exported by a newer CNN Lens.`, 'unsupported');
    }
    const call = markAttributes(node, file);
    const name = moduleLayerName(call.module, call.call);
    const producer = producers.get(input);
    const computedHere = producer !== undefined && !isMark(producer) && copies.has(producer) && !names.has(copies.get(producer) as NodeProto);
    if (computedHere) {
      const copy = copies.get(producer) as NodeProto;
      names.set(copy, name);
      alias.set(output, input);
    } else {
      const identity: NodeProto = { name, opType: 'Identity', domain: '', input: [resolve(input)], output: [output], attribute: [] } as unknown as NodeProto;
      names.set(identity, name);
      kept.push(identity);
    }
    modules.set(name, call);
  }

  nameFunctionalNodes(kept, names);
  for (const node of kept) {
    node.name = names.get(node) as string;
  }
  const output = graph.output.map((value) => ({ ...value, name: resolve(value.name) }));
  return { graph: { ...graph, node: kept, output }, modules };
}

/** Names for an export without marks (TorchScript): weights' modules, then the exporter's scopes. */
function nameNodesByScope(graph: GraphProto): ModuleNamedGraph {
  const initializers = new Set(graph.initializer.map((t) => t.name ?? ''));
  const names = new Map<NodeProto, string>();
  const modules = new Map<string, ModuleCall>();
  const nodes = graph.node.map((node) => ({ ...node }));
  for (const node of nodes) {
    const weight = node.input.find((value) => initializers.has(value) && /\.(weight|bias)$/.test(value));
    const scope = /^\/(?:.*\/)?([^/]+)\/[^/]+$/.exec(node.name ?? '')?.[1];
    const module = weight ? weight.replace(/\.(weight|bias)$/, '') : scope;
    if (module && !modules.has(module)) {
      names.set(node, module);
      modules.set(module, { module, call: 1 });
    }
  }
  nameFunctionalNodes(nodes, names);
  for (const node of nodes) {
    node.name = names.get(node) as string;
  }
  return { graph: { ...graph, node: nodes }, modules };
}

/**
 * Names the nodes no module claimed: "<operator> after <nearest module layer upstream>" (through
 * other functional nodes), with " (2)", " (3)"… when a name repeats. Module names are unique
 * already (path and call).
 */
function nameFunctionalNodes(nodes: readonly NodeProto[], names: Map<NodeProto, string>): void {
  const used = new Set(names.values());
  const producerOf = new Map<string, NodeProto>();
  /** The module layer a functional node follows. */
  const anchorOf = new Map<NodeProto, string>();
  for (const node of nodes) {
    if (!names.has(node)) {
      const upstream = node.input.map((value) => producerOf.get(value)).find((p): p is NodeProto => p !== undefined);
      const anchor = upstream === undefined ? 'input' : (anchorOf.get(upstream) ?? (names.get(upstream) as string));
      const word = OPERATOR_WORDS[node.opType] ?? node.opType.toLowerCase();
      const wanted = node.input.some((v) => v !== '') ? `${word} after ${anchor}` : word;
      let name = wanted;
      for (let n = 2; used.has(name); n++) {
        name = `${wanted} (${n})`;
      }
      used.add(name);
      names.set(node, name);
      anchorOf.set(node, anchor);
    }
    node.output.forEach((value) => producerOf.set(value, node));
  }
}
