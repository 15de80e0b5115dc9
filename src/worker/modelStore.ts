// The engine worker's loaded models, keyed by path: changing the class or layer in the panel costs
// one Grad-CAM, not a model load. What it takes care of:
//  - model code and PyTorch models run the user's code: loaded only when a request says the user
//    allowed it (a trusted workspace, or the CLI), and once allowed a file stays allowed;
//  - a load is shared by the requests waiting for it; one request's cancel ends only its wait, and
//    the load itself (a PyTorch export can take many seconds) stops when every waiter cancelled;
//  - a request holds its model from the moment it finds the load (before any await), so a reload
//    arriving meanwhile frees the old model when that request ends, not under it (use);
//  - a PyTorch model that runs at any size (adaptive pooling) is fed each image at the image's own
//    size, as a PyTorch user would: one extra export per size, one such variant kept per model.
import type { LoadedModel } from '../engine';
import { loadModel } from '../engine';
import { isCodeModelPath, loadCodeModel } from '../engine/models/codeModel';
import { cancelledError, isCancelled, LensError } from '../shared/errors';
import { loadPytorchModel, ownSizeInput } from '../engine/models/pytorch/loadPytorch';
import { isPytorchModelPath } from '../shared/modelFormats';
import type { Preprocessing, Progress, PythonChoice, RgbaImage } from '../shared/types';

export interface ModelStoreOptions {
  /** dist/: esbuild-wasm's files for models defined in code. */
  binariesDir: () => string | undefined;
  python: () => PythonChoice | undefined;
  exportCacheDir: () => string | undefined;
  log: (line: string) => void;
  /** Called when a model is freed, first: forget what refers to it (forward passes). */
  onForget: (model: LoadedModel) => void;
}

export interface LoadOptions {
  preprocessing?: Preprocessing;
  reload?: boolean;
  allowCode?: boolean;
  /** A PyTorch model's variant at this input, [channels, height, width]. */
  input?: [number, number, number];
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

interface SharedLoad {
  readonly promise: Promise<LoadedModel>;
  readonly abort: AbortController;
  readonly listeners: Set<(progress: Progress) => void>;
  waiters: number;
  settled: boolean;
  /** Requests computing with this load's model: it is freed only once none is. */
  holders: number;
  /** Reloaded or dropped: freed when the last holder ends (or at once without holders). */
  disposed: boolean;
  freed: boolean;
}

export class ModelStore {
  private readonly loads = new Map<string, SharedLoad>();
  /** The one own-size variant kept per model path. */
  private readonly variants = new Map<string, string>();
  private readonly allowed = new Set<string>();
  private readonly loadNumbers = new WeakMap<LoadedModel, number>();
  private loadCount = 0;

  constructor(private readonly options: ModelStoreOptions) {}

  /** Loads (or returns the loaded) model, without holding it (for its summary). */
  get(modelPath: string, options: LoadOptions = {}): Promise<LoadedModel> {
    return this.use(modelPath, options, async (model) => model);
  }

  /**
   * Runs `work` with the model held: the hold is taken on the load as soon as it is found, before
   * anything is awaited, so a reload or a dispose that arrives meanwhile (requests come in bursts)
   * frees this model only after `work` ends.
   */
  async use<T>(modelPath: string, options: LoadOptions, work: (model: LoadedModel) => Promise<T>): Promise<T> {
    if (options.allowCode) {
      this.allowed.add(modelPath);
    }
    const key = options.input ? variantKey(modelPath, options.input) : modelPath;
    if (options.reload) {
      await this.dispose(modelPath);
    }
    if (options.input) {
      // One variant per model: a new image size replaces the last one.
      const previous = this.variants.get(modelPath);
      if (previous !== undefined && previous !== key) {
        await this.disposeKey(previous);
      }
      this.variants.set(modelPath, key);
    }
    const load = this.loads.get(key) ?? this.start(key, modelPath, options);
    load.holders++;
    try {
      return await work(await this.wait(load, options));
    } finally {
      load.holders--;
      if (load.disposed && load.holders === 0) {
        await this.freeLoad(load);
      }
    }
  }

  /**
   * Runs `work` with the model an image runs on, held: the loaded model, or for a PyTorch model that
   * takes any size and has no size set, its variant at the image's own size (within bounds; else
   * the usual size). The loaded model stays held while `image()` decodes and the variant loads.
   */
  async useForImage<T>(
    modelPath: string,
    image: () => Promise<RgbaImage>,
    options: LoadOptions,
    work: (model: LoadedModel, image: RgbaImage) => Promise<T>,
  ): Promise<T> {
    return this.use(modelPath, options, async (base) => {
      const decoded = await image();
      const input = ownSizeInput(base.summary, decoded);
      if (!input) {
        return work(base, decoded);
      }
      let variant: LoadedModel | undefined;
      try {
        return await this.use(modelPath, { ...options, input, reload: false }, async (model) => {
          variant = model;
          return work(model, decoded);
        });
      } catch (error) {
        if (variant || isCancelled(error)) {
          throw error; // the variant loaded: the failure is the work's
        }
        this.options.log(
          `model: ${modelPath} does not run at the image's size ${input.join('×')} (${error instanceof Error ? error.message : String(error)}); using ${base.summary.pytorch?.input.join('×')}`,
        );
        await this.dispose(modelPath, { variantOnly: true });
        return work(base, decoded);
      }
    });
  }

  /** Frees the model (and its variant) now, or when the last request holding it ends. */
  async dispose(modelPath: string, options: { variantOnly?: boolean } = {}): Promise<void> {
    const variant = this.variants.get(modelPath);
    this.variants.delete(modelPath);
    await Promise.all([options.variantOnly ? undefined : this.disposeKey(modelPath), variant ? this.disposeKey(variant) : undefined]);
  }

  isAllowed(modelPath: string): boolean {
    return this.allowed.has(modelPath);
  }

  /** Which load of its file a model is (helpers reload theirs when it changes). */
  loadNumber(model: LoadedModel): number {
    return this.loadNumbers.get(model) ?? 0;
  }

  private start(key: string, modelPath: string, options: LoadOptions): SharedLoad {
    const abort = new AbortController();
    const listeners = new Set<(progress: Progress) => void>();
    const started = Date.now();
    const promise = this.load(modelPath, options, abort.signal, (message) => listeners.forEach((l) => l({ message })));
    const load: SharedLoad = { promise, abort, listeners, waiters: 0, settled: false, holders: 0, disposed: false, freed: false };
    this.loads.set(key, load);
    promise.then(
      (model) => {
        load.settled = true;
        this.loadNumbers.set(model, ++this.loadCount);
        this.options.log(`model: ${model.summary.name} (${modelPath}), ${model.summary.layers.length} layers, loaded in ${Date.now() - started} ms`);
        // Problems that do not stop the model (labels that do not fit its classes) reach the log too.
        for (const warning of model.summary.warnings ?? []) {
          this.options.log(`warning: ${warning}`);
        }
      },
      () => {
        load.settled = true;
        // A failed load must not stay cached: the user fixes the file and tries again.
        if (this.loads.get(key) === load) {
          this.loads.delete(key);
        }
      },
    );
    return load;
  }

  private load(modelPath: string, options: LoadOptions, signal: AbortSignal, progress: (message: string) => void): Promise<LoadedModel> {
    const { preprocessing } = options;
    if (isPytorchModelPath(modelPath)) {
      this.requireAllowed(modelPath, 'a PyTorch model: loading it runs its Python code');
      return loadPytorchModel(modelPath, {
        python: this.options.python(),
        cacheDir: this.options.exportCacheDir(),
        preprocessing,
        input: options.input,
        keepPythonAlive: true,
        signal,
        onProgress: progress,
        log: (line) => this.options.log(line),
      });
    }
    if (isCodeModelPath(modelPath)) {
      this.requireAllowed(modelPath, 'model code');
      return loadCodeModel(modelPath, { esbuildDir: this.options.binariesDir(), preprocessing });
    }
    return loadModel(modelPath, preprocessing ? { preprocessing } : undefined);
  }

  /**
   * Code runs only when a request said the user allowed it; once allowed, a file stays allowed for
   * this worker (trust is not revoked without a reload), so a request that reloads it implicitly
   * (after a dispose) does not need to repeat the flag.
   */
  private requireAllowed(modelPath: string, what: string): void {
    if (!this.allowed.has(modelPath)) {
      throw new LensError(
        `${modelPath} is ${what}; CNN Lens runs it only when allowed (in VS Code: a trusted workspace). Load it with "allowCode".`,
        'unsupported',
      );
    }
  }

  /** Waits for a shared load; this waiter's cancel ends its wait, the last waiter's the load. */
  private wait(load: SharedLoad, options: LoadOptions): Promise<LoadedModel> {
    if (load.settled) {
      return load.promise;
    }
    load.waiters++;
    if (options.onProgress) {
      load.listeners.add(options.onProgress);
    }
    return new Promise<LoadedModel>((resolve, reject) => {
      let done = false;
      const leave = () => {
        if (done) return false;
        done = true;
        load.waiters--;
        if (options.onProgress) load.listeners.delete(options.onProgress);
        options.signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = () => {
        if (leave()) {
          if (load.waiters === 0 && !load.settled) {
            load.abort.abort();
          }
          reject(cancelledError());
        }
      };
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      load.promise.then(
        (model) => leave() && resolve(model),
        (error: unknown) => leave() && reject(error),
      );
    });
  }

  private async disposeKey(key: string): Promise<void> {
    const load = this.loads.get(key);
    this.loads.delete(key);
    if (!load) {
      return;
    }
    load.disposed = true;
    if (load.holders === 0) {
      await this.freeLoad(load);
    }
  }

  /** Frees a disposed load's model once: by the last holder, or by the dispose when none held it. */
  private async freeLoad(load: SharedLoad): Promise<void> {
    let model: LoadedModel;
    try {
      model = await load.promise;
    } catch {
      return; // it never loaded: nothing to free
    }
    if (load.freed || load.holders > 0) {
      return;
    }
    load.freed = true;
    // Forget its forward passes (a holder may have kept one after the dispose), then its weights.
    this.options.onForget(model);
    model.dispose();
  }
}

function variantKey(modelPath: string, input: readonly number[]): string {
  return `${modelPath}\u0000${input.join('x')}`;
}
