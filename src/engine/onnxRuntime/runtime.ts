// ONNX Runtime (onnxruntime-node) as the engine's native executor. It is an optional dependency:
// a native addon that cannot be bundled, present in a source checkout after `npm ci` and in a
// platform VSIX beside the bundles, absent elsewhere. So it is loaded with a run-time require that
// esbuild leaves alone, and every caller copes with its absence (the tfjs engine runs instead).
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import type * as Ort from 'onnxruntime-node';

export type OrtModule = typeof Ort;

let loaded: { ort: OrtModule; threads: number } | undefined;
let failure: string | undefined;

/** Threads ONNX Runtime's intra-op pool uses: every core the process may use. */
export function ortThreads(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/**
 * Loads onnxruntime-node once. Returns undefined with the reason when it cannot be loaded (not
 * installed, no binary for this platform, a binary that does not load). A VSIX carries its
 * platform's copy in dist/onnxruntime-node (esbuild.js); sources use node_modules.
 */
export function loadOnnxRuntime(): { ort: OrtModule; threads: number } | { failure: string } {
  if (loaded) return loaded;
  if (failure !== undefined) return { failure };
  const bundled = path.join(__dirname, 'onnxruntime-node');
  const candidates = fs.existsSync(path.join(bundled, 'package.json')) ? [bundled] : [];
  // A computed name keeps esbuild from resolving (and failing on) the optional native package.
  candidates.push(['onnxruntime', 'node'].join('-'));
  const reasons: string[] = [];
  for (const candidate of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const ort = require(candidate) as OrtModule;
      if (typeof ort.InferenceSession?.create !== 'function') {
        reasons.push(`${candidate} has no InferenceSession`);
        continue;
      }
      loaded = { ort, threads: ortThreads() };
      return loaded;
    } catch (error) {
      reasons.push(error instanceof Error ? error.message.split('\n')[0] : String(error));
    }
  }
  failure = `onnxruntime-node is not installed or does not load here (${reasons.join('; ')})`;
  return { failure };
}

/** "onnxruntime 1.31.1 (cpu, 2 threads)" */
export function describeOnnxRuntime(): string {
  const runtime = loadOnnxRuntime();
  if ('failure' in runtime) return `onnxruntime unavailable: ${runtime.failure}`;
  const version = runtime.ort.env?.versions?.node;
  return `onnxruntime${version ? ` ${version}` : ''} (cpu, ${runtime.threads} thread${runtime.threads === 1 ? '' : 's'})`;
}
