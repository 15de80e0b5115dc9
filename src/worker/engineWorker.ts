// The engine's worker_threads entry (bundled to dist/worker.js). The extension host talks to it
// through src/worker/client.ts; tfjs work here never blocks the host's event loop. One switch over
// WorkerRequest; models stay loaded between requests (keyed by path) so changing the class or layer
// in the panel costs one Grad-CAM, not a model load.
import * as fs from 'fs';
import { parentPort } from 'worker_threads';
import { compareMethods, encodePng, explain, initBackend, loadModel, readImage, type LoadedModel } from '../engine';
import { EngineError } from '../engine/errors';
import * as tf from '../engine/tf';
import { MessageChannelEndpoint, type HandlerContext } from '../protocol/messaging';
import type { Preprocessing, RgbaImage } from '../protocol/types';
import type { BackendReport, CompareImageRequest, CompareImageResult, ExplainImageRequest, ExplainImageResult, WorkerEvent, WorkerRequest } from '../protocol/worker';

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
const models = new Map<string, Promise<LoadedModel>>();

/** The last decoded image: re-running for another class or layer must not decode it again. */
let lastImage: { key: string; image: RgbaImage } | undefined;

async function handle(message: WorkerRequest, context: HandlerContext): Promise<unknown> {
  switch (message.type) {
    case 'init':
      backend = await initBackend(message.backend, { wasmDir: message.wasmDir });
      return backend; // the client logs it
    case 'loadModel':
      return (await modelFor(message.modelPath, message.preprocessing, message.reload === true)).summary;
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
  }
}

function requireBackend(): void {
  if (!backend) {
    throw new EngineError('The engine worker was not initialised: send "init" first.', 'unsupported');
  }
}

async function modelFor(modelPath: string, preprocessing: Preprocessing | undefined, reload: boolean): Promise<LoadedModel> {
  requireBackend();
  if (reload) {
    await disposeModel(modelPath);
  }
  let loading = models.get(modelPath);
  if (!loading) {
    const started = Date.now();
    loading = loadModel(modelPath, preprocessing ? { preprocessing } : undefined);
    models.set(modelPath, loading);
    // A failed load must not stay cached: the user fixes the file and tries again.
    loading.then(
      (model) => log(`model: ${model.summary.name} (${modelPath}), ${model.summary.layers.length} layers, loaded in ${Date.now() - started} ms`),
      () => models.delete(modelPath),
    );
  }
  return loading;
}

async function disposeModel(modelPath: string): Promise<void> {
  const loading = models.get(modelPath);
  models.delete(modelPath);
  if (loading) {
    try {
      (await loading).dispose();
    } catch {
      // It never loaded: nothing to free.
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
  const model = await modelFor(message.modelPath, message.preprocessing, false);
  const t1 = Date.now();
  const image = await imageFor(message.imagePath);
  const t2 = Date.now();
  const result = await explain(model, image, message.request, {
    signal: context.signal,
    onProgress: (progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
  });
  // The engine's own stages plus the worker's: model load (0 when cached), image decode, whole request.
  result.timings = { ...result.timings, modelMs: t1 - t0, imageMs: t2 - t1, requestMs: Date.now() - t0 };
  // The reply's buffers are transferred (detached here), so send a copy of the cached image.
  return { result, image: { width: image.width, height: image.height, data: image.data.slice() } };
}

async function compareImage(message: CompareImageRequest, context: HandlerContext): Promise<CompareImageResult> {
  const model = await modelFor(message.modelPath, message.preprocessing, false);
  const image = await imageFor(message.imagePath);
  const started = Date.now();
  const results = await compareMethods(model, image, message.methods, message.request, {
    signal: context.signal,
    onProgress: (progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
  });
  log(`compare: ${results.map((r) => `${r.method} ${Math.round(r.timeMs)} ms`).join(', ')}; ${Date.now() - started} ms in all`);
  return { results, image: { width: image.width, height: image.height, data: image.data.slice() } };
}

function log(message: string): void {
  endpoint.emit({ type: 'log', message });
}
