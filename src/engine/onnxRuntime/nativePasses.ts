// The native engine as the CAM pipeline sees it: the same passes the tfjs graph executor runs
// (forward to a layer, the class score's gradient there, sampling passes over batches), taking
// and returning tfjs tensors so every method runs unchanged on top. One per explained output of a
// loaded model (nativeFor). It keeps the last forward passes per image and layer,
// as forwardCache.ts does for the tfjs engine: another class or method at a layer costs one short
// backward pass. A model without an ONNX graph of its own (Keras, TF.js layers and graph models,
// code models) is exported to one from its layers first (exportLayers.ts; a graph model's node
// layers through exportGraphNodes.ts), once per model. Any failure here (an operator without a native gradient, a graph ONNX Runtime
// refuses) is the caller's cue to run that pass on the tfjs engine instead, and to say so.
import * as tf from '../tf';
import type { OutputHead } from '../models/outputKinds';
import { NativeModel, NativeUnsupported, type NativeForward } from './nativeModel';
import { loadOnnxRuntime } from './runtime';
import { onnxSourceOf, type OnnxSource } from './sources';
import { exportLayersModel, ExportUnsupported } from './exportLayers';

/** Forward passes kept per output (image × layer). */
const KEPT_FORWARDS = 2;

export interface NativeLayerPass {
  readonly forward: NativeForward;
  readonly layer: string;
  /** True when the forward pass came from an earlier request on the same image and layer. */
  readonly reused: boolean;
}

export class NativePasses {
  private readonly kept: { image: object; layer: string; forward: NativeForward }[] = [];

  constructor(readonly model: NativeModel) {}

  /** The layer's output and the scores for one input; from the kept pass when `image` matches. */
  async forwardAt(input: tf.Tensor4D, layer: string, image?: object): Promise<NativeLayerPass> {
    const found = image ? this.kept.find((k) => k.image === image && k.layer === layer) : undefined;
    if (found) return { forward: found.forward, layer, reused: true };
    const forward = await this.model.forward((await input.data()) as Float32Array, input.shape[0], layer);
    if (image) {
      this.kept.unshift({ image, layer, forward });
      this.kept.length = Math.min(this.kept.length, KEPT_FORWARDS);
    }
    return { forward, layer, reused: false };
  }

  /** Scores kept for an image by an earlier layer pass (any layer), if any. */
  keptScores(image: object): Float32Array | undefined {
    return this.kept.find((k) => k.image === image)?.forward.scores;
  }

  activations(pass: NativeLayerPass): tf.Tensor4D {
    const { data, shape } = pass.forward.activation as { data: Float32Array; shape: number[] };
    if (shape.length !== 4) throw new NativeUnsupported(`layer "${pass.layer}" gives a ${shape.length}-D value`);
    return tf.tensor4d(data, shape as [number, number, number, number]);
  }

  async layerGradient(pass: NativeLayerPass, classIndex: number): Promise<tf.Tensor4D> {
    const { shape } = pass.forward.activation as { shape: number[] };
    const values = await this.model.layerGradient(pass.layer, pass.forward, classIndex);
    return tf.tensor4d(values, shape as [number, number, number, number]);
  }

  /** The scores of each input of a batch, [N·K]. */
  async scoresOf(batch: tf.Tensor4D): Promise<Float32Array> {
    return (await this.model.forward((await batch.data()) as Float32Array, batch.shape[0])).scores;
  }

  /** The pipeline's sampling passes (samplePool.ts SamplePart) over a batch, as one session run. */
  async samplePass(batch: tf.Tensor4D, pass: 'inputGradients' | 'classScores' | 'logits', classIndex: number, guided = false): Promise<tf.Tensor> {
    const [size] = batch.shape;
    const values = (await batch.data()) as Float32Array;
    if (pass === 'inputGradients') {
      return tf.tensor4d(await this.model.inputGradients(values, size, classIndex, guided), batch.shape);
    }
    const { scores, classes } = await this.model.forward(values, size);
    if (pass === 'logits') return tf.tensor2d(scores, [size, classes]);
    return tf.tensor1d(Float32Array.from({ length: size }, (_, i) => scores[i * classes + classIndex]));
  }

  async dispose(): Promise<void> {
    this.kept.length = 0;
    await this.model.dispose();
  }
}

const engines = new WeakMap<tf.LayersModel, NativePasses | { failure: string }>();

/**
 * The native engine for an output's model (`network`, a view of `base` or base itself), or why
 * there is none: no ONNX graph behind the model, ONNX Runtime absent, a graph it cannot take.
 */
export function nativeFor(base: tf.LayersModel, network: tf.LayersModel, head: OutputHead): NativePasses | { failure: string } {
  let engine = engines.get(network);
  if (!engine) {
    engine = create(base, head);
    engines.set(network, engine);
  }
  return engine;
}

const exported = new WeakMap<tf.LayersModel, OnnxSource | { failure: string }>();

/**
 * The ONNX graph ONNX Runtime runs for a model: the one it was loaded from (ONNX, PyTorch), else
 * its layers exported (once per model; the model's outputs share it), or why it has none.
 */
function sourceFor(base: tf.LayersModel): OnnxSource | { failure: string } {
  const registered = onnxSourceOf(base);
  if (registered) return registered;
  let source = exported.get(base);
  if (!source) {
    try {
      source = exportLayersModel(base);
    } catch (error) {
      if (!(error instanceof ExportUnsupported)) throw error;
      source = { failure: `the model cannot be exported to ONNX: ${error.message}` };
    }
    exported.set(base, source);
  }
  return source;
}

function create(base: tf.LayersModel, head: OutputHead): NativePasses | { failure: string } {
  const runtime = loadOnnxRuntime();
  if ('failure' in runtime) return { failure: runtime.failure };
  try {
    const source = sourceFor(base);
    if ('failure' in source) return source;
    return new NativePasses(new NativeModel(source.proto, { output: head.output, strip: head.strip, binary: head.kind === 'binary' }, source.hwc, source.layerValues));
  } catch (error) {
    return { failure: error instanceof Error ? error.message : String(error) };
  }
}

/** Frees the native sessions of a model's outputs (its LoadedModel is disposed). */
export function disposeNative(networks: readonly tf.LayersModel[]): void {
  for (const network of networks) {
    const engine = engines.get(network);
    engines.delete(network);
    if (engine instanceof NativePasses) void engine.dispose().catch(() => undefined);
  }
}
