// Models defined in code: a .ts/.js file whose exported `createModel()` (or default export) returns
// a tf.LayersModel, optionally async, optionally after loading weights with
// `tf.loadLayersModel(new URL('./model.json', import.meta.url).href)`. The file is bundled
// (./bundle.ts), run in this thread with the engine's own tf given to its tfjs imports, and the
// model it returns is wrapped like one loaded from model.json. This executes the user's code: the
// extension allows it only in a trusted workspace (src/host/codeModels/trust.ts) and the worker only
// when the request says so.
import { AsyncLocalStorage } from 'async_hooks';
import { createRequire, builtinModules } from 'module';
import * as path from 'path';
import { fileURLToPath } from 'url';
import * as vm from 'vm';
import type { Preprocessing } from '../../../shared/types';
import { LensError } from '../../../shared/errors';
import { checkFiniteModelWeights } from '../finiteWeights';
import { wrapModel, type LoadedModel } from '../../index';
import { readModelArtifactsFromDisk, readModelCompanions } from '../modelLoader';
import * as tf from '../../tf';
import { bundleCodeModel, TF_MODULES, type CodeBundle } from './bundle';
import { SourceMapLookup } from './sourceMap';

/** File names CNN Lens treats as model code (the rest of the rule, `*.model.*`, is discovery's). */
const CODE_MODEL_EXTENSION = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/i;

export function isCodeModelPath(modelPath: string): boolean {
  return CODE_MODEL_EXTENSION.test(modelPath);
}

export interface CodeModelOptions {
  /** Folder with esbuild-wasm's run-time files (dist/); node_modules when absent. */
  esbuildDir?: string;
  preprocessing?: Preprocessing;
}

/** Bundles, runs and wraps a code model; every failure names the user's file, line and column. */
export async function loadCodeModel(entry: string, options: CodeModelOptions = {}): Promise<LoadedModel> {
  const file = path.resolve(entry);
  const bundle = await bundleCodeModel(file, { esbuildDir: options.esbuildDir });
  const weightFiles = new Set<string>();
  const model = await runCodeModel(file, bundle, weightFiles);
  try {
    // Weights the code made or loaded: no format check has seen them.
    checkFiniteModelWeights(model, file);
    // Labels and cnn-lens.json beside the code file, checked against the model's input channels.
    const companions = await readModelCompanions(file, model, options.preprocessing);
    const loaded = wrapModel(model, { path: file, ...companions });
    loaded.summary.sourceFiles = [...bundle.sources, ...weightFiles];
    return loaded;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** What the bundle's tfjs imports get: the engine's tf, as an ES module namespace. */
let tfForUserCode: Record<string, unknown> | undefined;
function engineTf(): Record<string, unknown> {
  tfForUserCode ??= Object.freeze({ ...tf, default: tf, __esModule: true });
  return tfForUserCode;
}

/** Weight files a code model loads through `file://`, per run (runs may overlap). */
const loadedFiles = new AsyncLocalStorage<Set<string>>();
let fileRouterRegistered = false;

/**
 * Lets `tf.loadLayersModel('file://…/model.json')` work in the engine, with the same checked reading
 * as model.json panels (weights inside the model's folder, sizes checked). Not registered when a
 * file:// handler exists already (tfjs-node brings its own).
 */
function registerFileRouter(): void {
  if (fileRouterRegistered) {
    return;
  }
  fileRouterRegistered = true;
  if (tf.io.getLoadHandlers('file:///model.json').length > 0) {
    return;
  }
  const router = (url: string | string[]): tf.io.IOHandler | null => {
    if (typeof url !== 'string' || !url.startsWith('file://')) {
      return null;
    }
    return {
      load: async () => {
        const { artifacts, files } = await readModelArtifactsFromDisk(fileURLToPath(url));
        files.forEach((file) => loadedFiles.getStore()?.add(file));
        return artifacts;
      },
    };
  };
  // tfjs's IORouter type says it never returns null, but getLoadHandlers skips routers that do.
  tf.io.registerLoadRouter(router as Parameters<typeof tf.io.registerLoadRouter>[0]);
}

export async function runCodeModel(entry: string, bundle: CodeBundle, weightFiles: Set<string>): Promise<tf.LayersModel> {
  registerFileRouter();
  const lookup = new SourceMapLookup(bundle.map);
  const variablesBefore = new Set(Object.keys(tf.engine().registeredVariables));
  const backendBefore = tf.getBackend();
  const nodeRequire = createRequire(entry);
  const requireForBundle = (id: string): unknown => {
    if ((TF_MODULES as readonly string[]).includes(id)) {
      return engineTf();
    }
    if (id.startsWith('node:') || builtinModules.includes(id)) {
      return nodeRequire(id);
    }
    throw new Error(`Cannot require "${id}" from the bundled model code.`);
  };
  try {
    return await loadedFiles.run(weightFiles, async () => {
      const factory = evaluate(entry, bundle, lookup, requireForBundle);
      let result: unknown;
      try {
        result = await factory();
      } catch (error) {
        throw userCodeError(entry, bundle, lookup, error, `${factory.displayName}() threw`);
      }
      if (tf.getBackend() !== backendBefore) {
        const switched = tf.getBackend();
        await tf.setBackend(backendBefore);
        if (result instanceof tf.LayersModel) {
          result.dispose();
        }
        throw new LensError(
          `${entry}: ${factory.displayName}() switched the tfjs backend to "${switched}"; remove tf.setBackend(): CNN Lens chooses the backend ("cnnLens.backend", --backend).`,
          'bad-input',
        );
      }
      if (!(result instanceof tf.LayersModel)) {
        throw new LensError(
          `${entry}: ${factory.displayName}() returned ${describeValue(result)}, not a tf.LayersModel. Return the model, e.g. tf.sequential({…}), tf.model({inputs, outputs}) or await tf.loadLayersModel(…).`,
          'bad-input',
        );
      }
      return result;
    });
  } catch (error) {
    // A run that fails half way leaves the variables of the layers it built: free them.
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!variablesBefore.has(name)) {
        variable.dispose();
      }
    }
    throw error;
  }
}

type Factory = (() => unknown) & { displayName: string };

function evaluate(entry: string, bundle: CodeBundle, lookup: SourceMapLookup, requireForBundle: (id: string) => unknown): Factory {
  // The wrapper sits on its own line and lineOffset -1 cancels it: stack lines are bundle lines.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${bundle.code}\n})`, {
    filename: bundle.fileName,
    lineOffset: -1,
  });
  const module = { exports: {} as Record<string, unknown> };
  try {
    (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, requireForBundle, module, entry, path.dirname(entry));
  } catch (error) {
    throw userCodeError(entry, bundle, lookup, error, 'running the module threw');
  }
  const exported = module.exports;
  const createModel = exported.createModel;
  if (typeof createModel === 'function') {
    return Object.assign(() => (createModel as () => unknown)(), { displayName: 'createModel' });
  }
  const fallback = exported.default;
  if (typeof fallback === 'function') {
    return Object.assign(() => (fallback as () => unknown)(), { displayName: 'the default export' });
  }
  if (fallback instanceof tf.LayersModel) {
    return Object.assign(() => fallback, { displayName: 'the default export' });
  }
  const names = Object.keys(exported).filter((name) => name !== '__esModule');
  throw new LensError(
    `${entry}: exports no createModel function and no default export (it exports ${names.length ? names.join(', ') : 'nothing'}). ` +
      'Add `export async function createModel() { … return model; }`.',
    'bad-input',
  );
}

/** "file:line:column: what threw: message", at the first frame in the user's files. */
function userCodeError(entry: string, bundle: CodeBundle, lookup: SourceMapLookup, error: unknown, what: string): LensError {
  if (error instanceof LensError) {
    return error; // already says which file (e.g. a weight file that does not load)
  }
  const message = error instanceof Error ? error.message : String(error);
  const where = userFrame(bundle, lookup, error instanceof Error ? error.stack : undefined);
  const location = where ? `${where.source}:${where.line}:${where.column}` : entry;
  return new LensError(`${location}: ${what}: ${message}`, 'bad-input');
}

function userFrame(bundle: CodeBundle, lookup: SourceMapLookup, stack: string | undefined) {
  if (!stack) {
    return undefined;
  }
  const escaped = bundle.fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const frame = new RegExp(`${escaped}:(\\d+):(\\d+)`, 'g');
  for (const match of stack.matchAll(frame)) {
    const position = lookup.find(Number(match[1]), Number(match[2]));
    if (position && bundle.sources.includes(position.source)) {
      return position;
    }
  }
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `a ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}
