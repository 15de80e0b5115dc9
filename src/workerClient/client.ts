// Host side of the engine worker: starts dist/worker.js on first use, initialises the backend,
// and sends requests with a timeout, cancellation and progress. No `vscode` import (logging is a
// callback), so it is unit-tested against a real worker thread.
//
// Cancellation has a catch: tfjs ops are synchronous, so a worker in the middle of a long kernel
// cannot read the cancel message until the kernel returns. The caller's promise rejects at once;
// if the worker has not answered the cancelled request within `cancelGraceMs`, the worker is
// terminated and the next request starts a fresh one. New requests wait for cancelled ones to
// drain first, so they never queue behind work nobody wants.
import { fork, type ChildProcess } from 'child_process';
import { cancelledError, isCancelled, LensError, type ErrorCode } from '../shared/errors';
import {
  MessageChannelEndpoint,
  type Envelope,
  type ReplyOf,
} from '../shared/messaging';
import { isPytorchModelPath } from '../shared/modelFormats';
import type { ActivationChannel, ActivationPage, BackendChoice, FilterPage, LayerViews, Progress, RgbaImage } from '../shared/types';
import type {
  ActivationChannelWorkerRequest,
  ActivationPageWorkerRequest,
  FilterPageWorkerRequest,
  LayerViewsRequest,
  BackendReport,
  DisposeModelRequest,
  ExportedOverlay,
  ExportOverlayRequest,
  CompareImageRequest,
  CompareImageResult,
  EstimateCompareRequest,
  EstimateCompareResult,
  ExplainImageRequest,
  InitRequest,
  MemoryRequest,
  ExplainImageResult,
  LoadModelRequest,
  MemoryReport,
  PytorchSettings,
  WorkerEvent,
  WorkerRequest,
} from '../shared/worker';

export interface EngineClientOptions {
  /** Absolute path of the worker bundle (dist/worker.js). */
  workerPath: string;
  /** Folder with tfjs-backend-wasm's .wasm files (dist/). */
  wasmDir: string;
  /** Read on each (re)start, so a settings change applies to the next worker. */
  backend: () => BackendChoice;
  log: (line: string) => void;
  /** How long a cancelled request may keep the worker busy before it is restarted (ms). */
  cancelGraceMs?: number;
  /** Per-request-type timeouts (ms). */
  timeouts?: Partial<Record<WorkerRequest['type'], number>>;
  /** How the engine process starts: data for its entry (tests run the TypeScript entry through tsx) and Node flags. */
  workerOptions?: EngineProcessOptions;
  /**
   * Whether a model defined in code may run (the extension: only in a trusted workspace). Applied
   * to every loadModel unless the call says otherwise, so every view loads code models alike.
   */
  allowCode?: (modelPath: string) => boolean;
  /**
   * Helper workers that share sampling batches (SmoothGrad, Integrated Gradients, Score-CAM,
   * occlusion) with the engine worker; read on each (re)start. 0 or absent: none.
   */
  sampleWorkers?: () => number;
  /** Told how each loadModel ended (the extension shows a PyTorch model's code error on its line). */
  onLoaded?: (modelPath: string, error?: unknown) => void;
  /** How PyTorch models run (interpreter, export cache); read on each (re)start (may ask the Python extension). */
  pytorch?: () => PytorchSettings | Promise<PytorchSettings>;
  /** Images over this many pixels are refused before decoding; read on each (re)start. Absent: the engine's default. */
  maxImagePixels?: () => number;
}

export interface EngineProcessOptions {
  /** Given to the entry as JSON in CNN_LENS_WORKER_DATA (and as workerData where it runs as a thread). */
  workerData?: unknown;
  /** Node flags of the engine process, after its heap limit. */
  execArgv?: string[];
}

/**
 * The V8 heap the engine process may use (tensors and WebAssembly memory are outside it). A model
 * that needs more ends the engine process, not the extension host, and the engine restarts.
 */
export const ENGINE_HEAP_MB = 2048;

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  timeoutMs?: number;
}

/** Generous: the first request pays for wasm compilation and the model load. */
const DEFAULT_TIMEOUTS: Record<WorkerRequest['type'], number> = {
  init: 60_000,
  loadModel: 120_000,
  explain: 300_000,
  // All methods with metrics on a large model: minutes, not seconds; the user can cancel any time.
  compare: 1_800_000,
  // A model load (when not loaded yet) and three forward passes.
  estimateCompare: 120_000,
  disposeModel: 30_000,
  memory: 10_000,
  // Blending and encoding a 24-megapixel image takes seconds.
  exportOverlay: 120_000,
  layerViews: 120_000,
  activationPage: 300_000,
  activationChannel: 300_000,
  filterPage: 120_000,
  // A part of one sampling batch, on a helper that may first have to load the model.
  samplePass: 300_000,
};

/** The helpers the engine worker may start: copies of itself, started the same way. */
function samplePoolSpec(options: EngineClientOptions): Pick<InitRequest, 'samplePool'> {
  const helpers = Math.max(0, Math.floor(options.sampleWorkers?.() ?? 0));
  if (helpers === 0) {
    return {};
  }
  const { workerData, execArgv } = options.workerOptions ?? {};
  return { samplePool: { helpers, workerPath: options.workerPath, workerData, execArgv } };
}

/** Loading a PyTorch model runs the user's Python and exports the model: allow for large ones. */
const PYTORCH_LOAD_TIMEOUT_MS = 600_000;

export const WORKER_CRASHED: ErrorCode = 'worker-crashed';
/** The engine's answer when a request broke it (src/worker/engineWorker.ts). */
const ENGINE_BROKEN: ErrorCode = 'engine-broken';
export const WORKER_RESTARTED: ErrorCode = 'worker-restarted';

export class EngineClient {
  private session: WorkerSession | undefined;
  private disposed = false;
  private sessions = 0;

  constructor(private readonly options: EngineClientOptions) {}

  /** Starts the worker if needed and returns the backend it initialised. */
  async backendReport(signal?: AbortSignal): Promise<BackendReport> {
    return raceAbort(this.liveSession().ready, signal);
  }

  /** The backend of the running worker, without starting one. */
  get currentBackend(): BackendReport | undefined {
    return this.session?.report;
  }

  /** How many workers were started so far (the first is 1); tests and logs use it. */
  get workerStarts(): number {
    return this.sessions;
  }

  loadModel(modelPath: string, options: CallOptions & { reload?: boolean; allowCode?: boolean } = {}) {
    const allowCode = options.allowCode ?? this.options.allowCode?.(modelPath) ?? false;
    const message: LoadModelRequest = { type: 'loadModel', modelPath, reload: options.reload, ...(allowCode ? { allowCode: true } : {}) };
    // A PyTorch model is exported by the user's Python first: large ones take minutes (cancellable).
    const timeoutMs = options.timeoutMs ?? (isPytorchModelPath(modelPath) ? PYTORCH_LOAD_TIMEOUT_MS : undefined);
    const loading = this.call<LoadModelRequest>(message, { ...options, timeoutMs });
    loading.then(
      () => this.options.onLoaded?.(modelPath),
      (error: unknown) => {
        if (!isCancelled(error)) {
          this.options.onLoaded?.(modelPath, error);
        }
      },
    );
    return loading;
  }

  explain(request: Omit<ExplainImageRequest, 'type'>, options: CallOptions = {}): Promise<ExplainImageResult> {
    return this.call<ExplainImageRequest>({ type: 'explain', ...request }, options);
  }

  compare(request: Omit<CompareImageRequest, 'type'>, options: CallOptions = {}): Promise<CompareImageResult> {
    return this.call<CompareImageRequest>({ type: 'compare', ...request }, options);
  }

  estimateCompare(request: Omit<EstimateCompareRequest, 'type'>, options: CallOptions = {}): Promise<EstimateCompareResult> {
    return this.call<EstimateCompareRequest>({ type: 'estimateCompare', ...request }, options);
  }

  disposeModel(modelPath: string): Promise<void> {
    return this.call<DisposeModelRequest>({ type: 'disposeModel', modelPath });
  }

  memory(): Promise<MemoryReport> {
    return this.call<MemoryRequest>({ type: 'memory' });
  }

  /** Export: the worker blends the map over the image at its own resolution and encodes the PNG. */
  exportOverlay(request: Omit<ExportOverlayRequest, 'type'>, options: CallOptions = {}): Promise<ExportedOverlay> {
    return this.call<ExportOverlayRequest>({ type: 'exportOverlay', ...request }, options);
  }

  // Layer inspection (issue 3)

  layerViews(modelPath: string, options: CallOptions = {}): Promise<LayerViews[]> {
    return this.call<LayerViewsRequest>({ type: 'layerViews', modelPath }, options);
  }

  activationPage(request: Omit<ActivationPageWorkerRequest, 'type'>, options: CallOptions = {}): Promise<ActivationPage> {
    return this.call<ActivationPageWorkerRequest>({ type: 'activationPage', ...request }, options);
  }

  activationChannel(request: Omit<ActivationChannelWorkerRequest, 'type'>, options: CallOptions = {}): Promise<ActivationChannel> {
    return this.call<ActivationChannelWorkerRequest>({ type: 'activationChannel', ...request }, options);
  }

  filterPage(request: Omit<FilterPageWorkerRequest, 'type'>, options: CallOptions = {}): Promise<FilterPage> {
    return this.call<FilterPageWorkerRequest>({ type: 'filterPage', ...request }, options);
  }

  /** Stops the worker (e.g. the backend setting changed); the next request starts a new one. */
  restart(reason: string): void {
    if (this.session) {
      this.options.log(`engine worker: restarting (${reason})`);
      this.session.kill(new LensError(`The engine restarted: ${reason}.`, WORKER_RESTARTED));
      this.session = undefined;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.session?.kill(new LensError('CNN Lens is shutting down.', WORKER_RESTARTED));
    this.session = undefined;
  }

  /** Sends one request: waits for the worker to be ready and for cancelled work to drain. */
  async call<M extends WorkerRequest>(message: M, options: CallOptions = {}): Promise<ReplyOf<M>> {
    for (;;) {
      const session = this.liveSession();
      await raceAbort(session.ready, options.signal);
      await raceAbort(session.drained(), options.signal);
      if (session.dead) {
        continue; // killed while draining: start over on a fresh worker
      }
      return session.request(message, {
        signal: options.signal,
        onProgress: options.onProgress,
        timeoutMs: options.timeoutMs ?? this.options.timeouts?.[message.type] ?? DEFAULT_TIMEOUTS[message.type],
      });
    }
  }

  private liveSession(): WorkerSession {
    if (this.disposed) {
      throw new LensError('The CNN Lens engine was disposed.', WORKER_RESTARTED);
    }
    if (!this.session || this.session.dead) {
      this.sessions++;
      const session = new WorkerSession(this.options, this.sessions);
      this.session = session;
      // A worker that cannot initialise is useless: drop it so the next call tries again (the
      // user may have fixed the backend setting).
      session.ready.catch(() => {
        session.kill(new LensError('The engine failed to start.', WORKER_CRASHED));
        if (this.session === session) {
          this.session = undefined;
        }
      });
    }
    return this.session;
  }
}

/**
 * One engine process and its channel. Dead once the process exits; never revived. A process, not a
 * worker thread: a JavaScript heap exhausted, a WebAssembly abort or a runaway allocation ends this
 * process only, and the extension host (with every other extension) lives on.
 */
class WorkerSession {
  readonly ready: Promise<BackendReport>;
  report: BackendReport | undefined;
  dead = false;

  private readonly child: ChildProcess;
  private readonly endpoint: MessageChannelEndpoint<WorkerRequest, WorkerEvent>;
  /** Requests posted to the engine that it has not answered yet, with what they asked. */
  private readonly outstanding = new Map<number, { type: string }>();
  /** Cancelled requests the engine is still busy with, and their restart timers. */
  private readonly lingering = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly drainWaiters: Array<() => void> = [];
  private readonly progressListeners = new Map<number, (progress: Progress) => void>();
  private lastPostedId = 0;
  private lastError: string | undefined;
  /** The end of what the engine printed (a fatal out-of-memory report says so there). */
  private outputTail = '';

  constructor(
    private readonly options: EngineClientOptions,
    private readonly serial: number,
  ) {
    const started = Date.now();
    const { workerData, execArgv = [] } = options.workerOptions ?? {};
    this.child = fork(options.workerPath, [], {
      // Explicit flags: the host's own (an inspector port, a loader) must not be inherited.
      execArgv: [`--max-old-space-size=${ENGINE_HEAP_MB}`, ...execArgv],
      // ELECTRON_RUN_AS_NODE: in desktop VS Code the host's executable is Electron's.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', CNN_LENS_WORKER_DATA: JSON.stringify(workerData ?? null) },
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (chunk: Buffer) => {
      this.outputTail = (this.outputTail + chunk.toString('utf8')).slice(-8192);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.endpoint = new MessageChannelEndpoint<WorkerRequest, WorkerEvent>((envelope, transfer) => this.post(envelope, transfer), {
      requests: {}, // the engine asks the host nothing
      onEvent: (event) => this.onEvent(event),
    });
    this.child.on('message', (data: unknown) => this.receive(data));
    this.child.on('error', (error: Error) => {
      this.lastError = error.message;
      options.log(`engine #${serial}: ${error.stack ?? error.message}`);
    });
    this.child.on('exit', (code, signal) => this.onExit(code, signal));
    const backend = options.backend();
    const maxImagePixels = options.maxImagePixels?.();
    options.log(`engine #${serial}: starting (backend setting: ${backend})`);
    this.ready = Promise.resolve(options.pytorch?.())
      .then((pytorch) =>
        this.endpoint.request<InitRequest>(
          {
            type: 'init',
            backend,
            wasmDir: options.wasmDir,
            ...samplePoolSpec(options),
            ...(pytorch ? { pytorch } : {}),
            ...(maxImagePixels !== undefined ? { maxImagePixels } : {}),
          },
          { timeoutMs: options.timeouts?.init ?? DEFAULT_TIMEOUTS.init },
        ),
      )
      .then((report) => {
        this.report = report;
        options.log(`engine #${serial}: backend ${report.backend}: ${report.detail} (ready in ${Date.now() - started} ms)`);
        return report;
      });
  }

  request<M extends WorkerRequest>(
    message: M,
    options: { signal?: AbortSignal; timeoutMs?: number; onProgress?: (progress: Progress) => void },
  ): Promise<ReplyOf<M>> {
    // Nothing is transferred to the worker: callers keep their buffers (the host caches images).
    const reply = this.endpoint.request(message, { signal: options.signal, timeoutMs: options.timeoutMs });
    // endpoint.request posts synchronously, so the id it just used is the last one posted; the
    // worker tags progress events with that same id.
    const id = this.lastPostedId;
    if (options.onProgress && this.outstanding.has(id)) {
      this.progressListeners.set(id, options.onProgress);
      const forget = () => this.progressListeners.delete(id);
      reply.then(forget, forget);
    }
    return reply;
  }

  /** Resolves once no cancelled request is still running in the worker (or the worker is gone). */
  drained(): Promise<void> {
    if (this.lingering.size === 0 || this.dead) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  kill(reason: Error): void {
    if (this.dead) {
      return;
    }
    this.markDead(reason);
    this.child.kill('SIGKILL');
  }

  private post(envelope: Envelope, transfer?: ArrayBuffer[]): void {
    if (this.dead) {
      return;
    }
    if (envelope.kind === 'request') {
      this.outstanding.set(envelope.id, envelope.body);
      this.lastPostedId = envelope.id;
    } else if (envelope.kind === 'cancel' && this.outstanding.has(envelope.id)) {
      this.watchCancelled(envelope.id);
    }
    // Across processes values are copied (structured clone): nothing to transfer.
    void transfer;
    if (this.child.connected) {
      this.child.send(envelope);
    }
  }

  private watchCancelled(id: number): void {
    const grace = this.options.cancelGraceMs ?? 2_000;
    const timer = setTimeout(() => {
      if (this.outstanding.has(id) && !this.dead) {
        this.options.log(`engine worker #${this.serial}: a cancelled request did not stop within ${grace} ms; restarting the worker`);
        this.kill(new LensError('The engine was restarted to stop a cancelled computation.', WORKER_RESTARTED));
      }
    }, grace);
    this.lingering.set(id, timer);
  }

  private receive(data: unknown): void {
    const envelope = data as Envelope;
    if (envelope && envelope.kind === 'reply') {
      this.outstanding.delete(envelope.id);
      const timer = this.lingering.get(envelope.id);
      if (timer) {
        clearTimeout(timer);
        this.lingering.delete(envelope.id);
        this.releaseDrainWaiters();
      }
    }
    this.endpoint.handle(data);
    if (envelope && envelope.kind === 'reply' && !envelope.ok && envelope.error.code === ENGINE_BROKEN) {
      // Its WebAssembly module is unusable: no request may reach it again (it exits by itself too).
      this.options.log(`engine #${this.serial}: ${envelope.error.message}`);
      this.kill(new LensError(`The engine restarted after: ${envelope.error.message}`, WORKER_RESTARTED));
    }
  }

  private onEvent(event: WorkerEvent): void {
    switch (event.type) {
      case 'progress':
        this.progressListeners.get(event.requestId)?.(event.progress);
        break;
      case 'log':
        this.options.log(`engine worker #${this.serial}: ${event.message}`);
        break;
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.dead) {
      return; // we terminated it on purpose
    }
    const tail = this.outputTail.trim();
    this.options.log(`engine #${this.serial}: exited unexpectedly (code ${code}, signal ${signal})${this.lastError ? `: ${this.lastError}` : ''}${tail ? `\n${tail}` : ''}`);
    this.markDead(new LensError(describeEngineExit(code, signal, tail, [...this.outstanding.values()][0]), WORKER_CRASHED));
  }

  private markDead(reason: Error): void {
    this.dead = true;
    for (const timer of this.lingering.values()) {
      clearTimeout(timer);
    }
    this.lingering.clear();
    this.outstanding.clear();
    this.progressListeners.clear();
    this.endpoint.rejectAll(reason);
    this.releaseDrainWaiters();
  }

  private releaseDrainWaiters(): void {
    if (this.lingering.size > 0 && !this.dead) {
      return;
    }
    for (const resolve of this.drainWaiters.splice(0)) {
      resolve();
    }
  }
}

/** What a request was doing, with its files: "loading /w/model.h5", "explaining /w/a.png with /w/model.json". */
function describeRequest(body: { type: string } | undefined): string {
  const fields = (body ?? {}) as { type?: string; modelPath?: unknown; imagePath?: unknown };
  const model = typeof fields.modelPath === 'string' ? fields.modelPath : undefined;
  const image = typeof fields.imagePath === 'string' ? fields.imagePath : undefined;
  if (fields.type === 'loadModel' && model) return `loading ${model}`;
  if (image && model) return `explaining ${image} with ${model}`;
  if (model) return `working on ${model}`;
  return fields.type ? `answering "${fields.type}"` : 'starting';
}

/**
 * Why the engine process ended, for the requests it took with it: out of memory (V8's heap report,
 * or killed by the system) or another crash, naming what it was doing.
 */
export function describeEngineExit(code: number | null, signal: string | null, output: string, request: { type: string } | undefined): string {
  const doing = describeRequest(request);
  const outOfMemory = /heap out of memory|Reached heap limit|Array buffer allocation failed|Cannot allocate memory|std::bad_alloc/i.test(output) || signal === 'SIGKILL';
  if (outOfMemory) {
    return `The CNN Lens engine ran out of memory while ${doing}: the file needs more memory than the engine may use (a model or image declaring huge sizes?). The engine restarts on the next request.`;
  }
  const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
  return `The CNN Lens engine ${how} while ${doing}. It restarts on the next request; if this repeats with this file, try another "cnnLens.backend" (e.g. cpu).`;
}

/** The promise, or a cancelled LensError as soon as the signal aborts (the promise keeps running). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) {
    return promise;
  }
  if (signal.aborted) {
    return Promise.reject(cancelledError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
