// Live refresh: which files make up a model on disk, and when a burst of writes to them has settled.
// Saving a model writes several files at once (tfjs's `model.save` writes the weight shards, then
// model.json; an editor save fires both a file-watcher event and a save event), so listeners hear
// of a change once, after `settleMs` of quiet, with every file that changed.
//
// One hub serves the whole extension: panels and the CodeLens cache subscribe per model path, the
// folder watches are shared and reference-counted, and `takeReload` lets exactly one consumer ask
// the engine for a fresh load after a change (the others then get the reloaded model from the
// worker's cache instead of loading it again).
//
// No `vscode` import: the file events come through FileEventSource (src/host/panel/vscodeFileEvents.ts
// adapts VS Code's watchers), and the clock is injectable, so test/unit/modelWatcher.test.ts drives
// the debounce with a fake clock.
import * as path from 'path';
import { parsePytorchModelPath } from '../../shared/modelFormats';

export interface Disposable {
  dispose(): void;
}

/** Where change events come from: one callback per changed, created or deleted file in a folder. */
export interface FileEventSource {
  watchFolder(folder: string, onFileEvent: (file: string) => void): Disposable;
}

export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Quiet time after the last event before listeners run: long enough for a multi-file save. */
export const DEFAULT_SETTLE_MS = 400;

/** The files of a TF.js model folder that change what the model computes or how it is labelled. */
const MODEL_FOLDER_FILES = new Set(['cnn-lens.json', 'labels.txt', 'labels.json', 'metadata.json']);
/** Beside a PyTorch model: its checkpoints and the Python modules it may import. */
const PYTORCH_FOLDER_EXTENSIONS = new Set(['.py', '.pt', '.pth', '.ckpt']);

/**
 * True when `changedFile` belongs to the model at `modelPath`: the model file itself; beside a
 * model.json, its weight shards (`*.bin`), the cnn-lens.json sidecar and the label files; and any
 * `extraFiles` (a labels file the sidecar names, a code model's imported sources and weights).
 * Images, notes and training logs in the same folder do not trigger a reload.
 */
export function isModelFile(modelPath: string, changedFile: string, extraFiles: ReadonlySet<string> = new Set()): boolean {
  // `model.py:SimpleCNN` is the file model.py.
  const model = path.resolve(parsePytorchModelPath(modelPath)?.file ?? modelPath);
  const changed = path.resolve(changedFile);
  if (changed === model || extraFiles.has(changed)) {
    return true;
  }
  if (path.dirname(changed) !== path.dirname(model)) {
    return false;
  }
  const name = path.basename(changed);
  const extension = path.extname(name).toLowerCase();
  if (parsePytorchModelPath(modelPath)) {
    // Before a first successful load (a syntax error) nothing says which files it reads: the folder's do.
    return MODEL_FOLDER_FILES.has(name) || PYTORCH_FOLDER_EXTENSIONS.has(extension);
  }
  if (path.extname(model).toLowerCase() !== '.json') {
    return false;
  }
  return MODEL_FOLDER_FILES.has(name) || extension === '.bin';
}

/** Collects events and calls `flush` once they stop arriving for `settleMs`. */
export class Debouncer<T> {
  private pending = new Set<T>();
  private timer: unknown;
  private armed = false;

  constructor(
    private readonly settleMs: number,
    private readonly flush: (items: T[]) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  push(item: T): void {
    this.pending.add(item);
    if (this.armed) {
      this.clock.clearTimeout(this.timer);
    }
    this.armed = true;
    this.timer = this.clock.setTimeout(() => this.fire(), this.settleMs);
  }

  get waiting(): boolean {
    return this.armed;
  }

  dispose(): void {
    if (this.armed) {
      this.clock.clearTimeout(this.timer);
    }
    this.armed = false;
    this.pending.clear();
  }

  private fire(): void {
    this.armed = false;
    const items = [...this.pending];
    this.pending.clear();
    this.flush(items);
  }
}

export type ModelChangeListener = (changedFiles: string[]) => void;

interface WatchedModel {
  listeners: Set<ModelChangeListener>;
  extraFiles: Set<string>;
  debouncer: Debouncer<string>;
  /** Folders watched for this model (its own, and those of extra files elsewhere). */
  folders: Set<string>;
}

/** Per-model subscriptions over shared, reference-counted folder watches. */
export class ModelChangeHub implements Disposable {
  private readonly models = new Map<string, WatchedModel>();
  private readonly folders = new Map<string, { users: number; watch: Disposable }>();
  /** Models changed since a consumer last loaded them fresh. */
  private readonly stale = new Set<string>();

  constructor(
    private readonly source: FileEventSource,
    private readonly options: { settleMs?: number; clock?: Clock } = {},
  ) {}

  /** Calls `listener` after each settled burst of changes to the model's files. */
  watch(modelPath: string, listener: ModelChangeListener): Disposable {
    const key = path.resolve(modelPath);
    let model = this.models.get(key);
    if (!model) {
      const created: WatchedModel = {
        listeners: new Set(),
        extraFiles: new Set(),
        folders: new Set(),
        debouncer: new Debouncer<string>(this.options.settleMs ?? DEFAULT_SETTLE_MS, (files) => this.changed(key, created, files), this.options.clock),
      };
      model = created;
      this.models.set(key, model);
      this.addFolder(model, path.dirname(key));
    }
    model.listeners.add(listener);
    const watched = model;
    return {
      dispose: () => {
        watched.listeners.delete(listener);
        if (watched.listeners.size === 0 && this.models.get(key) === watched) {
          this.unwatch(key, watched);
        }
      },
    };
  }

  /**
   * Other files the model depends on: the labels file a sidecar names, or the sources and weight
   * files a code model read. Replaces the previous list (a code model's imports change as it is edited).
   */
  setExtraFiles(modelPath: string, files: readonly string[]): void {
    const key = path.resolve(modelPath);
    const model = this.models.get(key);
    if (!model) {
      return;
    }
    model.extraFiles = new Set(files.map((file) => path.resolve(file)));
    const wanted = new Set([path.dirname(key), ...[...model.extraFiles].map((file) => path.dirname(file))]);
    for (const folder of [...model.folders]) {
      if (!wanted.has(folder)) {
        this.removeFolder(model, folder);
      }
    }
    for (const folder of wanted) {
      this.addFolder(model, folder);
    }
  }

  /** A file event from elsewhere (an editor save): treated like a watcher event. */
  notify(file: string): void {
    this.onFileEvent(path.resolve(file));
  }

  /**
   * True once after the model changed: the caller loads it with `reload`, everyone after it reuses
   * that load from the worker's cache.
   */
  takeReload(modelPath: string): boolean {
    return this.stale.delete(path.resolve(modelPath));
  }

  /** Marks a model as changed without an event (e.g. a command that knows it wrote the files). */
  markStale(modelPath: string): void {
    this.stale.add(path.resolve(modelPath));
  }

  dispose(): void {
    for (const [key, model] of this.models) {
      this.unwatch(key, model);
    }
  }

  private changed(key: string, model: WatchedModel, files: string[]): void {
    this.stale.add(key);
    for (const listener of [...model.listeners]) {
      listener(files);
    }
  }

  private onFileEvent(file: string): void {
    for (const [key, model] of this.models) {
      if (isModelFile(key, file, model.extraFiles)) {
        model.debouncer.push(file);
      }
    }
  }

  private unwatch(key: string, model: WatchedModel): void {
    model.debouncer.dispose();
    for (const folder of [...model.folders]) {
      this.removeFolder(model, folder);
    }
    this.models.delete(key);
  }

  private addFolder(model: WatchedModel, folder: string): void {
    if (model.folders.has(folder)) {
      return;
    }
    model.folders.add(folder);
    const shared = this.folders.get(folder);
    if (shared) {
      shared.users++;
      return;
    }
    this.folders.set(folder, { users: 1, watch: this.source.watchFolder(folder, (file) => this.onFileEvent(path.resolve(file))) });
  }

  private removeFolder(model: WatchedModel, folder: string): void {
    if (!model.folders.delete(folder)) {
      return;
    }
    const shared = this.folders.get(folder);
    if (shared && --shared.users === 0) {
      shared.watch.dispose();
      this.folders.delete(folder);
    }
  }
}
