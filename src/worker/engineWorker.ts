// The engine's worker_threads entry (bundled to dist/worker.js). The extension host talks to it
// through src/worker/client.ts; tfjs work here never blocks the host's event loop. One switch over
// WorkerRequest; models stay loaded between requests (keyed by path) so changing the class or layer
// in the panel costs one Grad-CAM, not a model load.
import * as fs from 'fs';
import { parentPort } from 'worker_threads';
import { compareMethods, encodePng, explain, ForwardCache, initBackend, loadModel, readImage, type LoadedModel } from '../engine';
import { BATCH_MEMORY_BYTES } from '../engine/batching';
import { isCodeModelPath, loadCodeModel } from '../engine/codeModel';
import { EngineError } from '../engine/errors';
import { runSamplePass } from '../engine/samplePool';
import * as tf from '../engine/tf';
import { MessageChannelEndpoint, type HandlerContext } from '../protocol/messaging';
import type { MethodName, Preprocessing, RgbaImage } from '../protocol/types';
import { LayerInspection } from './inspection';
import { HelperEngines } from './samplePool';
import type { BackendReport, CompareImageRequest, CompareImageResult, ExplainImageRequest, ExplainImageResult, SamplePassRequest, WorkerEvent, WorkerRequest } from '../protocol/worker';

if (!parentPort) {
  throw new Error('engineWorker must run in a worker thread (new Worker("dist/worker.js")).');
}
const port = parentPort;

const endpoint = new MessageChannelEndpoint<WorkerEvent, WorkerRequest>(
  (envelope, transfer) => port.postMessage(envelope, transfer ?? []),
  { onRequest: (message, context) => handle(message, context) },
);
port.on('message', (data: unknown) => endpoint.handle(data));

let backend: BackendReport | undefined;
/** Model code files a loadModel request allowed to run (see loadCode). */
const codeAllowed = new Set<string>();
/** dist/: the .wasm binaries, and esbuild-wasm's files for models defined in code. */
let binariesDir: string | undefined;
const models = new Map<string, Promise<LoadedModel>>();

/**
 * Models a request is computing with. Live refresh reloads a model while another request (a second
 * panel, the CodeLens summary) may still be running on the old one: its weights are freed when the
 * last such request finishes, not under it.
 */
const inUse = new Map<LoadedModel, number>();
const disposeWhenIdle = new Set<LoadedModel>();

/** Runs `work` with the model held, so a concurrent reload defers freeing it until `work` ends. */
async function usingModel<T>(model: LoadedModel, work: (model: LoadedModel) => Promise<T>): Promise<T> {
  inUse.set(model, (inUse.get(model) ?? 0) + 1);
  try {
    return await work(model);
  } finally {
    const users = (inUse.get(model) ?? 1) - 1;
    if (users > 0) {
      inUse.set(model, users);
    } else {
      inUse.delete(model);
      if (disposeWhenIdle.delete(model)) {
        // The request may have kept its forward pass after the reload forgot the model's others.
        forwardCache.forgetModel(model.model);
        model.dispose();
      }
    }
  }
}

/**
 * The last layer maps' forward passes: another class (or another CAM method) at the same layer of
 * the same model and image costs one backward pass from the layer. Keyed by the LoadedModel's
 * network and the cached image object, so a reload or an edited image never matches.
 */
const forwardCache = new ForwardCache();

/**
 * Helper workers sharing the batches of sampling methods (cnnLens.sampleWorkers), when the host
 * asked for them; a helper is itself an engine worker started without helpers.
 */
let helpers: HelperEngines | undefined;
/** Methods (and metrics) that run batches worth sharing; the others never start the helpers. */
const SAMPLING_METHODS: ReadonlySet<MethodName> = new Set<MethodName>(['smoothgrad', 'integrated-gradients', 'scorecam', 'occlusion']);
/** Which load of its file a model is: helpers reload theirs when this changes. */
const loadNumber = new WeakMap<LoadedModel, number>();
let loads = 0;

/** The last decoded image: re-running for another class or layer must not decode it again. */
let lastImage: { key: string; image: RgbaImage } | undefined;

/** Activation maps and filter grids (issue 3); models and images come from the caches above. */
const inspection = new LayerInspection({
  withModel: async (modelPath, work) => usingModel(await modelFor(modelPath, undefined, false), work),
  image: (imagePath) => imageFor(imagePath),
  progress: (requestId, progress) => endpoint.emit({ type: 'progress', requestId, progress }),
});

async function handle(message: WorkerRequest, context: HandlerContext): Promise<unknown> {
  switch (message.type) {
    case 'init':
      forwardCache.clear(); // its tensors belong to the backend being replaced
      backend = await initBackend(message.backend, { wasmDir: message.wasmDir });
      binariesDir = message.wasmDir;
      helpers?.dispose();
      helpers = message.samplePool && message.samplePool.helpers > 0 ? new HelperEngines(message.samplePool, backend.backend, message.wasmDir, log) : undefined;
      return backend; // the client logs it
    case 'loadModel':
      return (await modelFor(message.modelPath, message.preprocessing, message.reload === true, message.allowCode === true)).summary;
    case 'explain':
      return explainImage(message, context);
    case 'compare':
      return compareImage(message, context);
    case 'disposeModel':
      await disposeModel(message.modelPath);
      return undefined;
    case 'memory': {
      const memory = tf.memory();
      return { numTensors: memory.numTensors, numBytes: memory.numBytes };
    }
    case 'encodePng':
      return encodePng(message.image);
    case 'samplePass':
      return samplePass(message);
    case 'layerViews':
    case 'activationPage':
    case 'activationChannel':
    case 'filterPage':
      requireBackend();
      return inspection.handle(message, context);
  }
}

function requireBackend(): void {
  if (!backend) {
    throw new EngineError('The engine worker was not initialised: send "init" first.', 'unsupported');
  }
}

async function modelFor(modelPath: string, preprocessing: Preprocessing | undefined, reload: boolean, allowCode = false): Promise<LoadedModel> {
  requireBackend();
  if (reload) {
    await disposeModel(modelPath);
  }
  let loading = models.get(modelPath);
  if (!loading) {
    const started = Date.now();
    loading = isCodeModelPath(modelPath) ? loadCode(modelPath, preprocessing, allowCode) : loadModel(modelPath, preprocessing ? { preprocessing } : undefined);
    models.set(modelPath, loading);
    // A failed load must not stay cached: the user fixes the file and tries again.
    loading.then(
      (model) => {
        loadNumber.set(model, ++loads);
        log(`model: ${model.summary.name} (${modelPath}), ${model.summary.layers.length} layers, loaded in ${Date.now() - started} ms`);
      },
      () => models.delete(modelPath),
    );
  }
  return loading;
}

/**
 * A model defined in code runs the user's code: only when the request says the user allowed it
 * (a trusted workspace, or the CLI run by the user). A request that merely names the file (an
 * explain before any allowed load) is refused.
 */
async function loadCode(modelPath: string, preprocessing: Preprocessing | undefined, allowCode: boolean): Promise<LoadedModel> {
  // Once allowed, a file stays allowed for this worker (trust is not revoked without a reload), so
  // a request that reloads it implicitly (after a dispose) does not need to repeat the flag.
  if (allowCode) {
    codeAllowed.add(modelPath);
  } else if (!codeAllowed.has(modelPath)) {
    throw new EngineError(
      `${modelPath} is model code; CNN Lens runs it only when allowed (in VS Code: a trusted workspace). Load it with "allowCode".`,
      'unsupported',
    );
  }
  return loadCodeModel(modelPath, { esbuildDir: binariesDir, preprocessing });
}

async function disposeModel(modelPath: string): Promise<void> {
  const loading = models.get(modelPath);
  models.delete(modelPath);
  helpers?.forget(modelPath);
  if (loading) {
    let model: LoadedModel;
    try {
      model = await loading;
    } catch {
      return; // it never loaded: nothing to free
    }
    forwardCache.forgetModel(model.model);
    if (inUse.has(model)) {
      disposeWhenIdle.add(model);
    } else {
      model.dispose();
    }
  }
}

async function imageFor(imagePath: string): Promise<RgbaImage> {
  let key = imagePath;
  try {
    const stat = await fs.promises.stat(imagePath);
    key = `${imagePath}\u0000${stat.size}\u0000${stat.mtimeMs}`;
  } catch {
    // readImage reports the missing file with a clear message.
  }
  if (lastImage?.key === key) {
    return lastImage.image;
  }
  const image = await readImage(imagePath);
  lastImage = { key, image };
  return image;
}

async function explainImage(message: ExplainImageRequest, context: HandlerContext): Promise<ExplainImageResult> {
  const t0 = Date.now();
  const loaded = await modelFor(message.modelPath, message.preprocessing, false);
  // Held from here on: decoding the image awaits, and a reload arriving meanwhile must not free it.
  return usingModel(loaded, async (model) => {
    const t1 = Date.now();
    const image = await imageFor(message.imagePath);
    const t2 = Date.now();
    const sampling = SAMPLING_METHODS.has(message.request.method) || message.request.metrics === true;
    const result = await explain(model, image, message.request, {
      signal: context.signal,
      forwardCache,
      samplePool: sampling ? samplePoolFor(message.modelPath, model) : undefined,
      onProgress: (progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
    });
    // The engine's own stages plus the worker's: model load (0 when cached), image decode, whole request.
    result.timings = { ...result.timings, modelMs: t1 - t0, imageMs: t2 - t1, requestMs: Date.now() - t0 };
    // The reply's buffers are transferred (detached here), so send a copy of the cached image.
    return { result, image: { width: image.width, height: image.height, data: image.data.slice() } };
  });
}

async function compareImage(message: CompareImageRequest, context: HandlerContext): Promise<CompareImageResult> {
  const loaded = await modelFor(message.modelPath, message.preprocessing, false);
  // Held for the whole comparison, as explainImage holds its model (a reload may come meanwhile).
  return usingModel(loaded, async (model) => {
    const image = await imageFor(message.imagePath);
    const started = Date.now();
    const sampling = message.methods.some((m) => SAMPLING_METHODS.has(m)) || message.request.metrics === true;
    const results = await compareMethods(model, image, message.methods, message.request, {
      signal: context.signal,
      forwardCache,
      samplePool: sampling ? samplePoolFor(message.modelPath, model) : undefined,
      onProgress: (progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
    });
    log(`compare: ${results.map((r) => `${r.method} ${Math.round(r.timeMs)} ms`).join(', ')}; ${Date.now() - started} ms in all`);
    return { results, image: { width: image.width, height: image.height, data: image.data.slice() } };
  });
}

/** The helpers holding this load of the model, if any (asking starts their loading). */
function samplePoolFor(modelPath: string, model: LoadedModel) {
  return helpers?.forModel({ modelPath, preprocessing: model.summary.preprocessing, allowCode: codeAllowed.has(modelPath), load: loadNumber.get(model) ?? 0 });
}

/** A helper's side: one part of another worker's sampling batch, on this worker's copy of the model. */
async function samplePass(message: SamplePassRequest): Promise<Float32Array> {
  const loaded = await modelFor(message.modelPath, message.preprocessing, false, message.allowCode === true);
  return usingModel(loaded, async (model) => {
    const { part } = message;
    const batch = tf.tensor4d(part.batch, part.shape);
    try {
      const out = runSamplePass(model.model, batch, part, BATCH_MEMORY_BYTES);
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    } finally {
      batch.dispose();
    }
  });
}

function log(message: string): void {
  endpoint.emit({ type: 'log', message });
}
