// The engine's entry (bundled to dist/worker.js), run as a child process of the extension host or
// the CLI (src/workerClient/client.ts; see enginePort.ts for why a process): tfjs work here never blocks
// the host's event loop, and nothing here can take the host down. One switch over
// WorkerRequest; models stay loaded between requests (keyed by path) so changing the class or layer
// in the panel costs one Grad-CAM, not a model load.
import * as fs from 'fs';
import { compareMethods, encodePng, estimateComparison, explain, ForwardCache, initBackend, readImage, runsNatively, type LoadedModel } from '../engine';
import { BATCH_MEMORY_BYTES } from '../engine/execution/batching';
import { LensError } from '../shared/errors';
import { runSamplePass } from '../engine/explain/samplePool';
import * as tf from '../engine/tf';
import { MessageChannelEndpoint, type HandlerContext } from '../shared/messaging';
import { workerRequest } from '../shared/messageGuards';
import type { MethodName, Preprocessing, Progress, RgbaImage } from '../shared/types';
import { downscaleForDisplay } from '../render/display';
import { indexedCam, renderOverlay } from '../render/overlay';
import { engineBreakingError } from './engineFailures';
import { enginePort } from './enginePort';
import { LayerInspection } from './inspection';
import { ModelStore } from './modelStore';
import { HelperEngines } from './helperEngines';
import type {
  BackendReport,
  InitRequest,
  PytorchSettings,
  CompareImageRequest,
  CompareImageResult,
  DisplayImage,
  EstimateCompareRequest,
  EstimateCompareResult,
  ExplainImageRequest,
  ExplainImageResult,
  ExportedOverlay,
  ExportOverlayRequest,
  SamplePassRequest,
  WorkerEvent,
  WorkerRequest,
} from '../shared/worker';

const port = enginePort();

const endpoint = new MessageChannelEndpoint<WorkerEvent, WorkerRequest>((envelope, transfer) => port.post(envelope, transfer), {
  // Every request type has its handler, bound to its reply type (src/shared/messaging.ts).
  requests: {
    init: (message) => init(message),
    loadModel: async (message, context) => {
      requireBackend();
      const model = await models.get(message.modelPath, {
        preprocessing: message.preprocessing,
        reload: message.reload === true,
        allowCode: message.allowCode === true,
        input: message.input,
        signal: context.signal,
        onProgress: (progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
      });
      return model.summary;
    },
    explain: (message, context) => explainImage(message, context),
    compare: (message, context) => compareImage(message, context),
    estimateCompare: (message, context) => estimateCompareImage(message, context),
    disposeModel: (message) => disposeModel(message.modelPath),
    memory: () => {
      const memory = tf.memory();
      return { numTensors: memory.numTensors, numBytes: memory.numBytes };
    },
    exportOverlay: (message) => exportOverlay(message),
    samplePass: (message) => samplePass(message),
    layerViews: (message, context) => (requireBackend(), inspection.layerViews(message, context)),
    activationPage: (message, context) => (requireBackend(), inspection.activationPage(message, context)),
    activationChannel: (message, context) => (requireBackend(), inspection.activationChannel(message, context)),
    filterPage: (message, context) => (requireBackend(), inspection.filterPage(message, context)),
  },
  // Requests come from another process (the host, or a sibling engine for helpers): checked, not cast.
  validate: workerRequest,
  onRequestError: (message, error) => {
    const broken = engineBreakingError(message, error);
    if (broken) {
      // Answer first (the reply names the files), then end: the client starts a fresh engine.
      setTimeout(() => process.exit(70), 200);
    }
    return broken ?? error;
  },
});
port.onMessage((data: unknown) => endpoint.handle(data));

let backend: BackendReport | undefined;
/** dist/: the .wasm binaries, and esbuild-wasm's files for models defined in code. */
let binariesDir: string | undefined;
/** How PyTorch models run: the interpreter and where exports are kept (from "init"). */
let pytorch: PytorchSettings = {};
/** Images over this are refused before decoding (from "init": the cnnLens.maxImageMegapixels setting). */
let maxImagePixels: number | undefined;

const models = new ModelStore({
  binariesDir: () => binariesDir,
  python: () => pytorch.python,
  exportCacheDir: () => pytorch.exportCacheDir,
  log,
  onForget: (model) => forwardCache.forgetModel(model.model),
});

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

/**
 * A decoded image file, keyed by its version (path, size, modification time), with its display
 * copy (src/render/display.ts) made the first time a reply needs it.
 */
interface DecodedImage {
  key: string;
  image: RgbaImage;
  display?: RgbaImage;
}

/** The last decoded image: re-running for another class or layer must not decode it again. */
let lastImage: DecodedImage | undefined;

/** Activation maps and filter grids (issue 3); models and images come from the caches above. */
const inspection = new LayerInspection({
  withModel: (modelPath, work, wait) => models.use(modelPath, wait, work),
  withModelForImage: (modelPath, image, work, wait) => models.useForImage(modelPath, async () => image, wait, work),
  image: (imagePath) => imageFor(imagePath),
  progress: (requestId, progress) => endpoint.emit({ type: 'progress', requestId, progress }),
});

/** Selects and initialises the tfjs backend (always the first request). */
async function init(message: InitRequest): Promise<BackendReport> {
  forwardCache.clear(); // its tensors belong to the backend being replaced
  backend = await initBackend(message.backend, { wasmDir: message.wasmDir });
  binariesDir = message.wasmDir;
  pytorch = message.pytorch ?? {};
  maxImagePixels = message.maxImagePixels;
  helpers?.dispose();
  helpers = message.samplePool && message.samplePool.helpers > 0 ? new HelperEngines(message.samplePool, backend.backend, message.wasmDir, pytorch, log) : undefined;
  return backend; // the client logs it
}

function requireBackend(): void {
  if (!backend) {
    throw new LensError('The engine worker was not initialised: send "init" first.', 'unsupported');
  }
}

async function disposeModel(modelPath: string): Promise<void> {
  helpers?.forget(modelPath);
  await models.dispose(modelPath);
}

async function imageFor(imagePath: string): Promise<RgbaImage> {
  return (await decodedImage(imagePath)).image;
}

async function decodedImage(imagePath: string): Promise<DecodedImage> {
  let key = imagePath;
  try {
    const stat = await fs.promises.stat(imagePath);
    key = `${imagePath}\u0000${stat.size}\u0000${stat.mtimeMs}`;
  } catch {
    // readImage reports the missing file with a clear message.
  }
  if (lastImage?.key === key) {
    return lastImage;
  }
  const image = await readImage(imagePath, maxImagePixels === undefined ? {} : { maxPixels: maxImagePixels });
  lastImage = { key, image };
  return lastImage;
}

/**
 * What a reply says about its image: the key and original size always, the display copy only when
 * the caller does not hold it (`knownImageKey`). The reply's buffers are transferred (detached
 * here), so the cached display image goes out as a copy.
 */
function displayOf(decoded: DecodedImage, knownImageKey: string | undefined): DisplayImage {
  const { width, height, data } = shownImage(decoded);
  return {
    key: decoded.key,
    originalWidth: decoded.image.width,
    originalHeight: decoded.image.height,
    ...(knownImageKey === decoded.key ? {} : { image: { width, height, data: data.slice() } }),
  };
}

/** The image at the size the panel shows it, made once per decoded file. */
function shownImage(decoded: DecodedImage): RgbaImage {
  decoded.display ??= downscaleForDisplay(decoded.image);
  return decoded.display;
}

/** Export: the map over the image at its own resolution, as PNG. */
async function exportOverlay(message: ExportOverlayRequest): Promise<ExportedOverlay> {
  const decoded = await decodedImage(message.imagePath);
  if (decoded.key !== message.imageKey) {
    throw new LensError(`${message.imagePath} changed on disk since it was explained: export again once the panel shows it explained anew.`, 'bad-request');
  }
  const overlay = renderOverlay(decoded.image, message.cam, message.colormap, message.opacity);
  return { png: await encodePng(overlay), width: overlay.width, height: overlay.height };
}

/** Load options of a request that computes on an image: its cancel and progress reach the load too. */
function loadOptionsOf(message: { preprocessing?: Preprocessing }, context: HandlerContext) {
  return {
    preprocessing: message.preprocessing,
    signal: context.signal,
    onProgress: (progress: Progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
  };
}

async function explainImage(message: ExplainImageRequest, context: HandlerContext): Promise<ExplainImageResult> {
  const t0 = Date.now();
  let t1 = t0;
  let t2 = t0;
  // The loaded model is held while the image decodes (a reload meanwhile must not free it); the image
  // then decides which variant of a PyTorch model runs (its own size, when it can).
  let decoded: DecodedImage | undefined;
  const decode = async () => {
    t1 = Date.now();
    decoded = await decodedImage(message.imagePath);
    t2 = Date.now();
    return decoded.image;
  };
  return models.useForImage(message.modelPath, decode, loadOptionsOf(message, context), async (model, image) => {
    const sampling = SAMPLING_METHODS.has(message.request.method) || message.request.metrics === true;
    const result = await explain(model, image, message.request, {
      signal: context.signal,
      forwardCache,
      samplePool: sampling ? samplePoolFor(message.modelPath, model, message.request.output) : undefined,
      onProgress: (progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
    });
    // The engine's own stages plus the worker's: model load and image decode (0 when cached), whole request.
    result.timings = { ...result.timings, modelMs: t1 - t0, imageMs: t2 - t1, requestMs: Date.now() - t0 };
    // The map once, at the display image's size; the image itself only if the caller lacks it.
    const source = decoded ?? { key: message.imagePath, image };
    const shown = shownImage(source);
    return { result, map: indexedCam(result.cam, shown.width, shown.height), display: displayOf(source, message.knownImageKey) };
  });
}

async function compareImage(message: CompareImageRequest, context: HandlerContext): Promise<CompareImageResult> {
  // Held for the whole comparison, as explainImage holds its model (a reload may come meanwhile).
  let decoded: DecodedImage | undefined;
  const decode = async () => {
    decoded = await decodedImage(message.imagePath);
    return decoded.image;
  };
  return models.useForImage(message.modelPath, decode, loadOptionsOf(message, context), async (model, image) => {
    const started = Date.now();
    const sampling = message.methods.some((m) => SAMPLING_METHODS.has(m)) || message.request.metrics === true;
    const results = await compareMethods(model, image, message.methods, message.request, {
      signal: context.signal,
      forwardCache,
      samplePool: sampling ? samplePoolFor(message.modelPath, model, message.request.output) : undefined,
      onProgress: (progress) => endpoint.emit({ type: 'progress', requestId: context.id, progress }),
    });
    log(`compare: ${results.map((r) => `${r.method} ${Math.round(r.timeMs)} ms`).join(', ')}; ${Date.now() - started} ms in all`);
    const source = decoded ?? { key: message.imagePath, image };
    const shown = shownImage(source);
    return { results, maps: results.map(({ result }) => indexedCam(result.cam, shown.width, shown.height)), display: displayOf(source, message.knownImageKey) };
  });
}

async function estimateCompareImage(message: EstimateCompareRequest, context: HandlerContext): Promise<EstimateCompareResult> {
  return models.useForImage(message.modelPath, () => imageFor(message.imagePath), loadOptionsOf(message, context), async (model, image) => {
    const sampling = message.methods.some((m) => SAMPLING_METHODS.has(m)) || message.request.metrics === true;
    // Asking for the pool starts the helpers loading, so they may help by the time the user confirms.
    const pool = sampling ? samplePoolFor(message.modelPath, model, message.request.output) : undefined;
    const answer = await estimateComparison(model, image, message.methods, message.request, { signal: context.signal, helpers: pool?.helpers ?? 0 });
    log(`compare estimate: ${Math.round(answer.estimate.totalMs)} ms (forward ${answer.estimate.forwardMs.toFixed(1)} ms, ${answer.estimate.helpers} helpers)`);
    return answer;
  });
}

/**
 * The helpers holding this load of the model, if any (asking starts their loading). None when ONNX
 * Runtime runs the output: its batches already use every core, and a helper would load the model
 * (hundreds of MB for a large one) for nothing.
 */
function samplePoolFor(modelPath: string, model: LoadedModel, output: number | string | undefined) {
  if (runsNatively(model, output)) return undefined;
  const build = model.summary.pytorch;
  return helpers?.forModel({
    modelPath,
    preprocessing: model.summary.preprocessing,
    allowCode: models.isAllowed(modelPath),
    load: models.loadNumber(model),
    // A PyTorch model running at the image's own size: the helpers load that variant too.
    ...(build?.inputSource === 'image' ? { input: build.input } : {}),
  });
}

/** A helper's side: one part of another worker's sampling batch, on this worker's copy of the model. */
async function samplePass(message: SamplePassRequest): Promise<Float32Array> {
  const options = { preprocessing: message.preprocessing, allowCode: message.allowCode === true, input: message.input };
  return models.use(message.modelPath, options, async (model) => {
    const { part } = message;
    const batch = tf.tensor4d(part.batch, part.shape);
    try {
      // The output the requesting engine explains: its view of the model (outputs.ts).
      const out = runSamplePass(model.outputModel(part.output ?? model.summary.defaultOutput), batch, part, BATCH_MEMORY_BYTES);
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
