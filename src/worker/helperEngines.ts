// Helper engine workers for the sampling methods (see src/engine/explain/samplePool.ts for why). The
// engine worker starts them as copies of itself (same bundle, same backend) through the same
// client the extension host uses, so they get its timeouts, cancellation and crash handling.
//
// A helper loads the model when a sampling request first needs it and takes parts of batches
// only once it holds that very load of the model: the first SmoothGrad on a model runs here alone
// while the helpers load it, and a model reloaded on save is reloaded by them before they help
// again. A helper that fails is left out; its parts are computed by the requesting engine.
import type { SamplePart, SamplePool } from '../engine/explain/samplePool';
import type { BackendName, Preprocessing } from '../shared/types';
import type { PytorchSettings, SamplePassRequest, SamplePoolSpec } from '../shared/worker';
import { EngineClient } from '../workerClient/client';

/** A model as the requesting worker holds it; `load` changes each time it loads the model again. */
export interface PooledModel {
  modelPath: string;
  preprocessing?: Preprocessing;
  allowCode: boolean;
  load: number;
  /** A PyTorch model's variant at an image's own size, [channels, height, width]. */
  input?: [number, number, number];
}

/** A helper holds one model per path and variant. */
function heldKey(model: PooledModel): string {
  return model.input ? `${model.modelPath}\u0000${model.input.join('x')}` : model.modelPath;
}

interface HelperModel {
  load: number;
  state: 'loading' | 'ready' | 'failed';
  /** Settles when the load ends, either way. */
  settled: Promise<void>;
}

interface Helper {
  readonly client: EngineClient;
  readonly models: Map<string, HelperModel>;
}

export class HelperEngines {
  private readonly helpers: Helper[];
  private next = 0;

  constructor(spec: SamplePoolSpec, backend: BackendName, wasmDir: string, pytorch: PytorchSettings, private readonly log: (line: string) => void) {
    this.helpers = Array.from({ length: spec.helpers }, (_, i) => ({
      client: new EngineClient({
        workerPath: spec.workerPath,
        workerOptions: { workerData: spec.workerData, execArgv: spec.execArgv },
        wasmDir,
        // The backend the requesting worker runs, not its setting: all engines compute alike.
        backend: () => backend,
        // The same Python and export cache: a helper loads a PyTorch model from the kept export.
        pytorch: () => pytorch,
        log: (line) => log(`sample helper ${i + 1}: ${line}`),
      }),
      models: new Map(),
    }));
  }

  get size(): number {
    return this.helpers.length;
  }

  /**
   * The helpers that hold this load of the model, as a pool for one request; undefined while none
   * does (loading starts now, for the next request).
   */
  forModel(model: PooledModel): SamplePool | undefined {
    const ready = this.helpers.filter((helper) => this.holds(helper, model));
    if (ready.length === 0) {
      return undefined;
    }
    return {
      helpers: ready.length,
      run: (part, signal) => {
        // One call per share of a batch: consecutive calls go to different helpers.
        const helper = ready[this.next++ % ready.length];
        return this.runOn(helper, model, part, signal);
      },
    };
  }

  /**
   * The pool once every helper has loaded this model (or failed to): for one-off runs (the CLI,
   * the benchmark) that would otherwise never see the helpers ready.
   */
  async ready(model: PooledModel): Promise<SamplePool | undefined> {
    this.forModel(model); // starts the loading
    await Promise.all(this.helpers.map((helper) => helper.models.get(heldKey(model))?.settled));
    return this.forModel(model);
  }

  /** Frees the model (and its variants) in every helper (the requesting worker freed it). */
  forget(modelPath: string): void {
    for (const helper of this.helpers) {
      const held = [...helper.models.keys()].filter((key) => key === modelPath || key.startsWith(`${modelPath}\u0000`));
      held.forEach((key) => helper.models.delete(key));
      if (held.length > 0) {
        helper.client.disposeModel(modelPath).catch(() => undefined);
      }
    }
  }

  dispose(): void {
    for (const helper of this.helpers) {
      helper.client.dispose();
    }
  }

  /** True when the helper holds this load of the model; else starts loading it (once per load). */
  private holds(helper: Helper, model: PooledModel): boolean {
    const key = heldKey(model);
    const held = helper.models.get(key);
    if (held?.load === model.load) {
      return held.state === 'ready';
    }
    const started = Date.now();
    const entry: HelperModel = { load: model.load, state: 'loading', settled: Promise.resolve() };
    helper.models.set(key, entry);
    entry.settled = helper.client
      .call({
        type: 'loadModel',
        modelPath: model.modelPath,
        preprocessing: model.preprocessing,
        // A helper that held an earlier load (the file changed) reads it again.
        reload: held !== undefined,
        ...(model.allowCode ? { allowCode: true } : {}),
        ...(model.input ? { input: model.input } : {}),
      })
      .then(
        () => {
          entry.state = 'ready';
          this.log(`sample helper: ${model.modelPath} ready in ${Date.now() - started} ms`);
        },
        (error: unknown) => {
          entry.state = 'failed';
          this.log(`sample helper: cannot load ${model.modelPath} (${error instanceof Error ? error.message : String(error)}); sampling runs in one worker`);
        },
      );
    return false;
  }

  private async runOn(helper: Helper, model: PooledModel, part: SamplePart, signal: AbortSignal | undefined): Promise<Float32Array> {
    const message: SamplePassRequest = {
      type: 'samplePass',
      modelPath: model.modelPath,
      preprocessing: model.preprocessing,
      ...(model.allowCode ? { allowCode: true } : {}),
      ...(model.input ? { input: model.input } : {}),
      part,
    };
    try {
      return await helper.client.call(message, { signal });
    } catch (error) {
      if (!signal?.aborted) {
        // A crashed or failing helper is left out until the model loads again.
        const held = helper.models.get(heldKey(model));
        if (held?.load === model.load) {
          held.state = 'failed';
        }
        this.log(`sample helper: a pass failed (${error instanceof Error ? error.message : String(error)}); computed here instead`);
      }
      throw error;
    }
  }
}
