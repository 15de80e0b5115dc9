// Chooses and initialises the tfjs backend. `auto` prefers tfjs-node (native libtensorflow) when
// the user has it installed, else wasm (SIMD; threads are off in Node), else the pure-JS cpu backend.
// Above it, `auto` and `onnxruntime` switch on ONNX Runtime (onnxRuntime/) where it loads: it runs
// the passes of ONNX and PyTorch models and of Keras and TF.js models (their layers, or a graph
// model's nodes, exported to ONNX), the tfjs backend everything else (a layer or op without an
// ONNX export, each request it cannot take: the result says which).
// tfjs-node is an optional dependency: it cannot be bundled (native addon) and may be absent, so it
// is loaded with a plain run-time require that esbuild leaves alone.
import * as path from 'path';
import * as fs from 'fs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from './tf';
import type { BackendChoice, BackendName } from '../shared/types';
import type { BackendReport } from '../shared/worker';
import { registerWasmGradientKernels } from './kernels/wasm';
import { describeOnnxRuntime, loadOnnxRuntime } from './onnxRuntime/runtime';

type TfjsBackendName = Exclude<BackendName, 'onnxruntime'>;
const TFJS_BACKEND: Record<TfjsBackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

let active: BackendReport | undefined;
let tfjsActive: TfjsBackendName | undefined;
let nativeOn = false;

/** Folder with tfjs-backend-wasm's .wasm files when running from sources (tests, tsx). */
export function defaultWasmDir(): string {
  const bundled = __dirname; // dist/ when bundled: esbuild.js copies the .wasm files there
  if (fs.existsSync(path.join(bundled, 'tfjs-backend-wasm-simd.wasm'))) {
    return bundled;
  }
  // Only reached from sources, where node_modules exists; a computed name keeps esbuild from
  // treating it as a bundled module.
  const wasmPackage = ['@tensorflow', 'tfjs-backend-wasm'].join('/');
  const entry = require.resolve(wasmPackage);
  // The package's main file lives in dist/, next to the .wasm binaries.
  return path.dirname(entry);
}

/** Selects the backend; safe to call again (a different choice switches backends). */
export async function initBackend(choice: BackendChoice, options: { wasmDir?: string } = {}): Promise<BackendReport> {
  // PROD silences tfjs's console advice ("install tfjs-node") and skips debug-only checks.
  tf.env().set('PROD', true);
  const skipped: string[] = [];
  let native = false;
  if (choice === 'auto' || choice === 'onnxruntime') {
    const runtime = loadOnnxRuntime();
    if ('failure' in runtime) {
      if (choice === 'onnxruntime') {
        throw new Error(`The onnxruntime backend cannot be used: ${runtime.failure}. Install onnxruntime-node (npm) or choose "auto".`);
      }
      skipped.push(`onnxruntime: ${runtime.failure}`);
    } else {
      native = true;
    }
  }
  const order: TfjsBackendName[] = choice === 'auto' || choice === 'onnxruntime' ? ['node', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    const failure = await tryBackend(name, options.wasmDir ?? defaultWasmDir());
    if (failure === undefined) {
      tfjsActive = name;
      nativeOn = native;
      const running = native ? `${describeOnnxRuntime()} for ONNX, PyTorch, Keras and TF.js models; ${describe(name)} for the rest` : describe(name);
      const detail = running + (skipped.length ? ` (skipped: ${skipped.join('; ')})` : '');
      active = { backend: native ? 'onnxruntime' : name, detail, ...(native ? { tfjs: name } : {}) };
      return active;
    }
    skipped.push(`${name}: ${failure}`);
  }
  throw new Error(`No usable tfjs backend for "${choice}": ${skipped.join('; ')}`);
}

/** True when ONNX Runtime runs the passes of the models it can take (backend auto or onnxruntime, and it loads). */
export function nativeEnabled(): boolean {
  return nativeOn;
}

/** The tfjs backend in use (what runs every pass ONNX Runtime does not). */
export function currentTfjsBackend(): TfjsBackendName {
  if (!tfjsActive) {
    throw new Error('The engine backend is not initialised: call initBackend() first.');
  }
  return tfjsActive;
}

export function currentBackend(): BackendName {
  if (!active) {
    throw new Error('The engine backend is not initialised: call initBackend() first.');
  }
  return active.backend;
}

export function currentBackendReport(): BackendReport | undefined {
  return active;
}

/** Returns undefined on success, else why the backend cannot be used. */
async function tryBackend(name: TfjsBackendName, wasmDir: string): Promise<string | undefined> {
  try {
    if (name === 'node') {
      const failure = loadTfjsNode();
      if (failure) {
        return failure;
      }
    }
    if (name === 'wasm') {
      setWasmPaths(wasmDir.endsWith(path.sep) ? wasmDir : wasmDir + path.sep);
      registerWasmGradientKernels();
    }
    const ok = await tf.setBackend(TFJS_BACKEND[name]);
    if (!ok) {
      return 'initialisation failed';
    }
    await tf.ready();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function loadTfjsNode(): string | undefined {
  if (tf.findBackend('tensorflow')) {
    return undefined;
  }
  try {
    // A computed name keeps bundlers from resolving (and failing on) the optional native package.
    const moduleName = ['@tensorflow', 'tfjs-node'].join('/');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(moduleName);
    return tf.findBackend('tensorflow') ? undefined : 'tfjs-node loaded but registered no backend';
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `@tensorflow/tfjs-node is not installed (${message})`;
  }
}

function describe(name: TfjsBackendName): string {
  switch (name) {
    case 'node':
      return 'node (tfjs-node, native libtensorflow)';
    case 'wasm': {
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
      return `wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)`;
    }
    case 'cpu':
      return 'cpu (pure JavaScript, slow)';
  }
}
