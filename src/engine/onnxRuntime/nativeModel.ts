// An ONNX model run by ONNX Runtime for the passes the CAM pipeline needs, each one session run on
// every core:
//  - forward: the explained scores and, for a layer, its output and the upstream values the layers
//    after it read (the "feeds");
//  - layer gradient: from the layer's output and the feeds to d(score)/d(layer), through only the
//    nodes after the layer (a cut graph, as graph.ts cuts the tfjs model), so another class or
//    method at that layer costs a short backward pass;
//  - input gradient (plain or guided): the whole graph forward and back to the image, for a batch.
// Each graph is the model's own ONNX with the passes' outputs added and its backward pass
// appended as ONNX nodes (backward.ts). Inputs and outputs are channels-last (NHWC) like the
// tfjs engine's tensors: the graphs transpose at their edges.
import type * as Ort from 'onnxruntime-node';
import type { ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../models/onnx/onnxProto';
import { encodeInitializers, encodeModelWithInitializers, ONNX_DTYPE } from '../models/onnx/onnxProto';
import { initializerValues } from '../models/onnx/tensors';
import { appendBackward, UnsupportedGradient } from './backward';
import { withPadsKeptBeforeMaxPools } from './padFusion';
import { ELEM_TYPE_OF, GraphBuilder, GraphIndex, type ValueFacts } from './protoGraph';
import { loadOnnxRuntime, type OrtModule } from './runtime';

/** The opset the rewritten graphs declare at least (ScatterElements' reduction "add" is from 16). */
const MIN_OPSET = 16;
/** Models older than this read axes from attributes where the rules write inputs: not rewritten. */
const OLDEST_OPSET = 13;
/** Probe values kept whole (shape arithmetic, Clip bounds, batch-norm statistics). */
const SMALL_VALUE = 8192;
/** Sessions kept per model (each layer has a forward and a cut graph). */
const MAX_SESSIONS = 6;
const PREFIX = 'cnnlens';
const INPUT_NHWC = `${PREFIX}/input_nhwc`;
const SEED = `${PREFIX}/seed`;

/** How the explained output is read: its value, and whether it is a binary classifier's logit. */
export interface NativeHead {
  /** Name of the graph output explained (its index in the ONNX graph's outputs). */
  readonly output: number;
  /** Leave out a final Softmax or Sigmoid node: the score is its input. */
  readonly strip: 'softmax' | 'sigmoid' | null;
  readonly binary: boolean;
}

/** A model ONNX Runtime cannot take (the tfjs engine runs it): why. */
export class NativeUnsupported extends Error {}

export interface NativeForward {
  /** Scores as the pipeline sees them ([N, K]; a binary output's [−z, +z]). */
  readonly scores: Float32Array;
  readonly classes: number;
  /** The layer's output, channels-last, and its shape. */
  readonly activation?: { data: Float32Array; shape: number[] };
  /** What the layer's cut graph reads besides the layer (held for its gradient). */
  readonly feeds: Record<string, Ort.Tensor>;
  readonly batch: number;
}

type Session = Ort.InferenceSession;

export class NativeModel {
  private readonly ort: OrtModule;
  private readonly threads: number;
  private readonly nodes: NodeProto[];
  private readonly index: GraphIndex;
  private readonly inputName: string;
  private readonly hwc: [number, number, number];
  private readonly scoresValue: string;
  private readonly opset: number;
  private facts?: Map<string, ValueFacts>;
  private readonly sessions = new Map<string, Promise<Session>>();
  private batchable = true;

  private readonly proto: ModelProto;
  /** The model's initializers as encoded bytes, shared by every graph built from it (encode). */
  private weightBytes?: Uint8Array;

  constructor(
    model: ModelProto,
    readonly head: NativeHead,
    hwc: [number, number, number],
    private readonly layerValues: ReadonlyMap<string, string>,
  ) {
    const proto = withPadsKeptBeforeMaxPools(model);
    this.proto = proto;
    const runtime = loadOnnxRuntime();
    if ('failure' in runtime) throw new NativeUnsupported(runtime.failure);
    this.ort = runtime.ort;
    this.threads = runtime.threads;
    const graph = proto.graph;
    if (!graph) throw new NativeUnsupported('the model has no graph');
    const version = Number(proto.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 1);
    if (version < OLDEST_OPSET) throw new NativeUnsupported(`opset ${version} is older than ${OLDEST_OPSET}`);
    // Exporters may import other domains without using them (PyTorch's module-function domains): the nodes decide.
    const foreign = proto.graph?.node.find((n) => n.domain && n.domain !== 'ai.onnx');
    if (foreign) throw new NativeUnsupported(`operator ${foreign.domain}.${foreign.opType} is outside the ONNX domain`);
    this.opset = Math.max(version, MIN_OPSET);
    const initializers = new Set(graph.initializer.map((t) => t.name ?? ''));
    const inputs = graph.input.filter((i) => !initializers.has(i.name));
    if (inputs.length !== 1) throw new NativeUnsupported(`${inputs.length} inputs`);
    this.inputName = inputs[0].name;
    this.hwc = hwc;
    this.nodes = graph.node.map((node) => ({ ...node, output: [...node.output], input: [...node.input] }));
    this.index = new GraphIndex(this.nodes, this.inputName);
    const outputName = graph.output[head.output]?.name;
    if (!outputName) throw new NativeUnsupported(`no output ${head.output}`);
    let scores = outputName;
    if (head.strip) {
      const producer = this.index.producer.get(outputName)?.node;
      const expected = head.strip === 'softmax' ? 'Softmax' : 'Sigmoid';
      if (!producer || producer.opType !== expected) throw new NativeUnsupported(`the ${head.strip} at the output is not a ${expected} node`);
      scores = producer.input[0];
    }
    this.scoresValue = scores;
  }

  /** The ONNX value a layer (a node) outputs: the node's first output. */
  layerValue(layer: string): string {
    const value = this.layerValues.get(layer);
    if (!value) throw new NativeUnsupported(`no ONNX value for layer "${layer}"`);
    return value;
  }

  /** Scores (and a layer's output with its feeds) for a batch of NHWC inputs. */
  async forward(batch: Float32Array, size: number, layer?: string): Promise<NativeForward> {
    const plan = layer === undefined ? undefined : await this.cutPlan(layer);
    const key = `forward:${layer ?? ''}`;
    const results = await this.runBatched(key, () => this.forwardGraph(plan), batch, size, {}, [`${PREFIX}/scores`, ...(plan ? [plan.activationOut] : [])]);
    const raw = results[`${PREFIX}/scores`];
    const scores = this.pipelineScores(raw.data as Float32Array, size);
    const forward: NativeForward = {
      scores,
      classes: scores.length / size,
      batch: size,
      feeds: plan ? Object.fromEntries(plan.feeds.map((name) => [name, results[name]])) : {},
      ...(plan ? { activation: { data: results[plan.activationOut].data as Float32Array, shape: [...results[plan.activationOut].dims] } } : {}),
    };
    return forward;
  }

  /** d(score of classIndex)/d(layer output), channels-last, from a forward pass at that layer (batch of 1). */
  async layerGradient(layer: string, forward: NativeForward, classIndex: number): Promise<Float32Array> {
    const plan = await this.cutPlan(layer);
    if (!forward.activation) throw new Error('layerGradient needs a forward pass at the layer');
    const session = await this.session(`cut:${layer}`, () => this.cutGraph(plan));
    const feeds: Record<string, Ort.Tensor> = {
      ...forward.feeds,
      [`${PREFIX}/layer_nhwc`]: new this.ort.Tensor('float32', forward.activation.data, forward.activation.shape),
      [SEED]: this.seed(classIndex, forward.batch),
    };
    const result = await session.run(feeds);
    return result[`${PREFIX}/layer_grad`].data as Float32Array;
  }

  /** d(score of classIndex)/d(input) for each NHWC input of a batch; guided through ReLUs when asked. */
  async inputGradients(batch: Float32Array, size: number, classIndex: number, guided: boolean): Promise<Float32Array> {
    const key = `input:${guided ? 'guided' : 'plain'}`;
    const result = await this.runBatched(key, () => this.inputGradientGraph(guided), batch, size, { classIndex }, [`${PREFIX}/input_grad`]);
    return result[`${PREFIX}/input_grad`].data as Float32Array;
  }

  /** Builds every graph a request at this layer needs now, so an unsupported operator is known before any pass. */
  async prepare(layer: string | undefined, gradients: { layer?: boolean; input?: boolean; guided?: boolean }): Promise<void> {
    const plan = layer === undefined ? undefined : await this.cutPlan(layer);
    await this.session(`forward:${layer ?? ''}`, () => this.forwardGraph(plan));
    if (plan && gradients.layer) {
      await this.session(`cut:${layer}`, () => this.cutGraph(plan));
    }
    if (gradients.input) await this.session('input:plain', () => this.inputGradientGraph(false));
    if (gradients.guided) await this.session('input:guided', () => this.inputGradientGraph(true));
  }

  async dispose(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s.catch(() => undefined))?.release()));
  }

  // -------------------------------------------------------------------------------------------

  private pipelineScores(raw: Float32Array, size: number): Float32Array {
    if (!this.head.binary) return raw;
    const scores = new Float32Array(size * 2);
    for (let i = 0; i < size; i++) {
      scores[2 * i] = -raw[i];
      scores[2 * i + 1] = raw[i];
    }
    return scores;
  }

  /** The scores' weights for a class: one-hot, or ±1 on a binary output's logit. */
  private seed(classIndex: number, size: number): Ort.Tensor {
    const units = this.head.binary ? 1 : (this.facts?.get(this.scoresValue)?.dims[1] ?? 0);
    const data = new Float32Array(size * units);
    for (let i = 0; i < size; i++) {
      if (this.head.binary) data[i] = classIndex === 1 ? 1 : -1;
      else data[i * units + classIndex] = 1;
    }
    return new this.ort.Tensor('float32', data, [size, units]);
  }

  private async runBatched(key: string, build: () => Promise<ModelProto>, batch: Float32Array, size: number, options: { classIndex?: number }, outputs: string[]): Promise<Record<string, Ort.Tensor>> {
    const session = await this.session(key, build);
    const [h, w, c] = this.hwc;
    const run = async (data: Float32Array, n: number): Promise<Record<string, Ort.Tensor>> => {
      const feeds: Record<string, Ort.Tensor> = { [INPUT_NHWC]: new this.ort.Tensor('float32', data, [n, h, w, c]) };
      if (options.classIndex !== undefined) feeds[SEED] = this.seed(options.classIndex, n);
      const result = await session.run(feeds);
      for (const name of outputs) {
        if (result[name].dims[0] !== n) throw new Error(`batch of ${n} gave "${name}" of shape [${result[name].dims}]`);
      }
      return result;
    };
    if (size === 1 || !this.batchable) {
      if (size === 1) return run(batch, 1);
    } else {
      try {
        return await run(batch, size);
      } catch {
        // A graph with the batch of one written into it (a Reshape to [1, -1]) runs one image at a time.
        this.batchable = false;
      }
    }
    const each = h * w * c;
    const parts = [];
    for (let i = 0; i < size; i++) parts.push(await run(batch.subarray(i * each, (i + 1) * each), 1));
    const joined: Record<string, Ort.Tensor> = {};
    for (const name of outputs) {
      const first = parts[0][name];
      const data = new Float32Array((first.data as Float32Array).length * size);
      parts.forEach((p, i) => data.set(p[name].data as Float32Array, i * (first.data as Float32Array).length));
      joined[name] = new this.ort.Tensor('float32', data, [size, ...first.dims.slice(1)]);
    }
    return joined;
  }

  private session(key: string, build: () => Promise<ModelProto>): Promise<Session> {
    let session = this.sessions.get(key);
    if (!session) {
      session = build().then((model) =>
        this.ort.InferenceSession.create(this.encode(model), {
          intraOpNumThreads: this.threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          logSeverityLevel: 3,
        }),
      );
      // A failed build is not kept: the next request says why again.
      session.catch(() => this.sessions.delete(key));
      this.sessions.set(key, session);
      if (this.sessions.size > MAX_SESSIONS) {
        const oldest = this.sessions.keys().next().value as string;
        const evicted = this.sessions.get(oldest);
        this.sessions.delete(oldest);
        void evicted?.then((s) => s.release()).catch(() => undefined);
      }
    }
    return session;
  }

  /** Shapes, types and small values of every value, from one run on zeros. */
  private async probe(): Promise<Map<string, ValueFacts>> {
    if (this.facts) return this.facts;
    const names = this.nodes.flatMap((n) => n.output.filter(Boolean));
    const model = this.model([], this.nodes, [this.inputEdge()], names.map((name) => ({ name })), [this.nhwcInput()]);
    const session = await this.ort.InferenceSession.create(this.encode(model), { intraOpNumThreads: this.threads, graphOptimizationLevel: 'basic', logSeverityLevel: 3 });
    try {
      const [h, w, c] = this.hwc;
      const result = await session.run({ [INPUT_NHWC]: new this.ort.Tensor('float32', new Float32Array(h * w * c), [1, h, w, c]) });
      const facts = new Map<string, ValueFacts>();
      for (const [name, tensor] of Object.entries(result)) {
        const elemType = ELEM_TYPE_OF[tensor.type] ?? 0;
        const small = tensor.size <= SMALL_VALUE && ['float32', 'int64', 'int32', 'bool', 'uint8'].includes(tensor.type);
        facts.set(name, { elemType, dims: [...tensor.dims], ...(small ? { data: tensor.data as ValueFacts['data'] } : {}) });
      }
      facts.set(this.inputName, { elemType: ONNX_DTYPE.FLOAT, dims: [1, c, h, w] });
      for (const init of this.proto.graph?.initializer ?? []) {
        const dims = init.dims.map(Number);
        const size = dims.reduce((a, b) => a * b, 1);
        facts.set(init.name ?? '', { elemType: init.dataType ?? 0, dims, ...(size <= SMALL_VALUE ? { data: initializerValues(init) } : {}) });
      }
      this.facts = facts;
      return facts;
    } finally {
      await session.release();
    }
  }

  private cutPlans = new Map<string, Promise<CutPlan>>();

  private cutPlan(layer: string): Promise<CutPlan> {
    let plan = this.cutPlans.get(layer);
    if (!plan) {
      plan = this.makeCutPlan(layer);
      plan.catch(() => this.cutPlans.delete(layer));
      this.cutPlans.set(layer, plan);
    }
    return plan;
  }

  private async makeCutPlan(layer: string): Promise<CutPlan> {
    const facts = await this.probe();
    const value = this.layerValue(layer);
    const downstream = this.index.downstreamOf(value);
    if (!downstream.has(this.scoresValue)) throw new NativeUnsupported(`the scores do not depend on "${layer}"`);
    const needed = this.index.nodesFeeding([this.scoresValue]);
    const nodes = needed.filter((node) => !node.output.some((o) => this.index.runtime.has(o)) || node.input.some((i) => i && downstream.has(i)));
    const produced = new Set(nodes.flatMap((n) => n.output));
    const feeds = new Set<string>();
    for (const node of nodes) {
      for (const input of node.input) {
        if (input && input !== value && this.index.runtime.has(input) && !produced.has(input)) feeds.add(input);
      }
    }
    const rank = facts.get(value)?.dims.length ?? 0;
    return { value, layer, nodes, feeds: [...feeds], rank, activationOut: `${PREFIX}/layer_out` };
  }

  /** Graph input of NHWC images and the Transpose that gives the model its NCHW input. */
  private nhwcInput(): ValueInfoProto {
    const [h, w, c] = this.hwc;
    return tensorInfo(INPUT_NHWC, ONNX_DTYPE.FLOAT, ['N', h, w, c]);
  }

  private inputEdge(): NodeProto {
    return { name: `${PREFIX}/to_nchw`, opType: 'Transpose', input: [INPUT_NHWC], output: [this.inputName], attribute: [permAttr([0, 3, 1, 2])] };
  }

  private async forwardGraph(plan: CutPlan | undefined): Promise<ModelProto> {
    await this.probe();
    const edges: NodeProto[] = [{ name: `${PREFIX}/scores/identity`, opType: 'Identity', input: [this.scoresValue], output: [`${PREFIX}/scores`], attribute: [] }];
    const named: ValueInfoProto[] = [{ name: `${PREFIX}/scores` }];
    if (plan) {
      edges.push(this.toLayout(plan.value, plan.activationOut, plan.rank, 'nhwc'));
      named.push({ name: plan.activationOut }, ...plan.feeds.map((name) => ({ name })));
    }
    const nodes = this.index.nodesFeeding([this.scoresValue, ...(plan ? [plan.value, ...plan.feeds] : [])]);
    return this.model([], [...nodes, ...edges], [this.inputEdge()], named, [this.nhwcInput()]);
  }

  private async cutGraph(plan: CutPlan): Promise<ModelProto> {
    const facts = await this.probe();
    const nodes = plan.nodes.map((node) => ({ ...node, output: [...node.output] }));
    const b = new GraphBuilder(`${PREFIX}/bw`);
    const gradients = this.backward(b, nodes, facts, [plan.value], false);
    const edges = [this.toLayout(`${PREFIX}/layer_nhwc`, plan.value, plan.rank, 'nchw'), this.toLayout(gradients.get(plan.value) as string, `${PREFIX}/layer_grad`, plan.rank, 'nhwc')];
    const inputs = [
      this.layerInput(plan, facts),
      ...plan.feeds.map((name) => tensorInfo(name, facts.get(name)?.elemType ?? ONNX_DTYPE.FLOAT)),
      tensorInfo(SEED, ONNX_DTYPE.FLOAT, ['N', this.seedWidth(facts)]),
    ];
    return this.model(b.initializers, [edges[0], ...nodes, ...b.nodes, edges[1]], [], [{ name: `${PREFIX}/layer_grad` }], inputs);
  }

  private async inputGradientGraph(guided: boolean): Promise<ModelProto> {
    const facts = await this.probe();
    const nodes = this.index.nodesFeeding([this.scoresValue]).map((node) => ({ ...node, output: [...node.output] }));
    const b = new GraphBuilder(`${PREFIX}/bw`);
    const gradients = this.backward(b, nodes, facts, [this.inputName], guided);
    const edge = this.toLayout(gradients.get(this.inputName) as string, `${PREFIX}/input_grad`, 4, 'nhwc');
    return this.model(b.initializers, [this.inputEdge(), ...nodes, ...b.nodes, edge], [], [{ name: `${PREFIX}/input_grad` }], [
      this.nhwcInput(),
      tensorInfo(SEED, ONNX_DTYPE.FLOAT, ['N', this.seedWidth(facts)]),
    ]);
  }

  private backward(b: GraphBuilder, nodes: NodeProto[], facts: Map<string, ValueFacts>, targets: string[], guided: boolean): Map<string, string> {
    try {
      return appendBackward(b, this.index, nodes, (v) => facts.get(v), { scores: this.scoresValue, seed: SEED, targets, guided });
    } catch (error) {
      if (error instanceof UnsupportedGradient) throw new NativeUnsupported(error.message);
      throw error;
    }
  }

  private seedWidth(facts: Map<string, ValueFacts>): number {
    const dims = facts.get(this.scoresValue)?.dims ?? [];
    if (dims.length !== 2) throw new NativeUnsupported(`the scores have shape [${dims}], not [N, K]`);
    return dims[1];
  }

  private layerInput(plan: CutPlan, facts: Map<string, ValueFacts>): ValueInfoProto {
    const dims = facts.get(plan.value)?.dims ?? [];
    const shown = plan.rank === 4 ? [dims[0], dims[2], dims[3], dims[1]] : [...dims];
    return tensorInfo(`${PREFIX}/layer_nhwc`, ONNX_DTYPE.FLOAT, ['N', ...shown.slice(1)]);
  }

  /** Transpose between the model's NCHW and the engine's NHWC for rank-4 values; Identity otherwise. */
  private toLayout(from: string, to: string, rank: number, layout: 'nhwc' | 'nchw'): NodeProto {
    if (rank !== 4) return { name: `${to}/identity`, opType: 'Identity', input: [from], output: [to], attribute: [] };
    return { name: `${to}/transpose`, opType: 'Transpose', input: [from], output: [to], attribute: [permAttr(layout === 'nhwc' ? [0, 2, 3, 1] : [0, 3, 1, 2])] };
  }

  /** A derived graph's bytes: its nodes and extra initializers, then the model's weights encoded once. */
  private encode(model: ModelProto): Uint8Array {
    this.weightBytes ??= encodeInitializers(this.proto.graph?.initializer ?? []);
    return encodeModelWithInitializers(model, this.weightBytes);
  }

  private model(extraInitializers: TensorProto[], nodes: NodeProto[], prefix: NodeProto[], outputs: ValueInfoProto[], inputs: ValueInfoProto[]): ModelProto {
    const graph = this.proto.graph as NonNullable<ModelProto['graph']>;
    return {
      irVersion: Math.max(Number(this.proto.irVersion ?? 0), 8),
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: 'cnn-lens',
      graph: {
        name: graph.name ?? 'model',
        node: [...prefix, ...nodes],
        // The model's own initializers are added when it is encoded (encode), as bytes made once.
        initializer: extraInitializers,
        input: inputs,
        output: outputs,
        valueInfo: [],
      },
    };
  }
}

interface CutPlan {
  /** The layer's ONNX value. */
  readonly value: string;
  readonly layer: string;
  /** The nodes after the layer that the scores need, with the constant nodes they read. */
  readonly nodes: NodeProto[];
  /** Values the cut graph reads that the forward pass computes before the layer. */
  readonly feeds: string[];
  readonly rank: number;
  /** Name of the forward graph's NHWC copy of the layer's output. */
  readonly activationOut: string;
}

function permAttr(perm: number[]): NodeProto['attribute'][number] {
  return { name: 'perm', type: 7, ints: perm, floats: [], strings: [], graphs: [] };
}

function tensorInfo(name: string, elemType: number, dims?: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}),
      },
    },
  };
}
