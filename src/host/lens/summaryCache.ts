// Model summaries for CodeLens and hover, loaded lazily (when a model file is first shown), kept
// per path, and dropped when live refresh reports that the model's files changed, so the lenses
// and hovers follow the file as it is saved. A model that fails to load stays failed (with its
// error) until its files change: lenses do not retry a broken file on every keystroke.
// No `vscode` import; the load function is the engine client's (see src/host/lens/register.ts).
import type { ModelSummary } from '../../shared/types';
import type { Disposable, ModelChangeHub } from '../panel/modelWatcher';

export type SummaryLoader = (modelPath: string, options: { reload: boolean }) => Promise<ModelSummary>;

interface Entry {
  summary: Promise<ModelSummary> | undefined;
  settled: { summary?: ModelSummary; error?: unknown } | undefined;
  watch: Disposable;
}

export class ModelSummaryCache implements Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(modelPath: string) => void>();

  constructor(
    private readonly load: SummaryLoader,
    private readonly changes: ModelChangeHub,
  ) {}

  /** The model's summary, loading it on first use and after each change to its files. */
  get(modelPath: string): Promise<ModelSummary> {
    let entry = this.entries.get(modelPath);
    if (!entry) {
      const created: Entry = {
        summary: undefined,
        settled: undefined,
        watch: this.changes.watch(modelPath, () => this.invalidate(modelPath)),
      };
      entry = created;
      this.entries.set(modelPath, entry);
    }
    if (entry.summary) {
      return entry.summary;
    }
    const current = entry;
    const loading = this.load(modelPath, { reload: this.changes.takeReload(modelPath) });
    current.summary = loading;
    loading.then(
      (summary) => {
        if (current.summary === loading) {
          current.settled = { summary };
          // Follow what the model read outside its own folder's model files (a code model's
          // imports and weights, a labels file the sidecar names), also when no panel shows it.
          this.changes.setExtraFiles(
            modelPath,
            [summary.labelsSource, summary.sidecar, ...(summary.sourceFiles ?? [])].filter((file): file is string => !!file),
          );
        }
      },
      (error: unknown) => {
        if (current.summary === loading) {
          current.settled = { error };
        }
      },
    );
    return loading;
  }

  /** The last loaded summary, without loading (undefined while loading or after a failure). */
  peek(modelPath: string): ModelSummary | undefined {
    return this.entries.get(modelPath)?.settled?.summary;
  }

  /** Called with the model path whenever a cached summary is dropped because its files changed. */
  onDidChange(listener: (modelPath: string) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Stops following a model (its editor closed). */
  forget(modelPath: string): void {
    this.entries.get(modelPath)?.watch.dispose();
    this.entries.delete(modelPath);
  }

  dispose(): void {
    for (const path of [...this.entries.keys()]) {
      this.forget(path);
    }
    this.listeners.clear();
  }

  private invalidate(modelPath: string): void {
    const entry = this.entries.get(modelPath);
    if (entry) {
      entry.summary = undefined;
      entry.settled = undefined;
    }
    for (const listener of [...this.listeners]) {
      listener(modelPath);
    }
  }
}
