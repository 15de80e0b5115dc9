// The ONNX Runtime rows of `npm run bench`: MobileNetV2 and ResNet-18 (torch_bench.py's
// definitions, exported to ONNX by export_onnx.py with Debian's python3-torch), 224×224, through
// the engine on wasm and on ONNX Runtime, and raw ONNX Runtime's own forward pass on the same
// graph (the limit on this machine). Median milliseconds of `runs` after `warmup`; the slow wasm
// sampling rows (already in the main table) are left out.
//
//   npx tsx scripts/bench/onnxRuntimeBench.ts [--runs 5]     (standalone; bench.ts calls benchOnnxRuntime)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as engine from '../../src/engine';
import * as tf from '../../src/engine/tf';
import { toModelInput } from '../../src/engine/images/image';
import { computeLogits, headOf } from '../../src/engine/execution/graph';
import { runSamplePass } from '../../src/engine/explain/samplePool';
import { nativeFor, NativePasses } from '../../src/engine/onnxRuntime/nativePasses';
import { loadOnnxRuntime } from '../../src/engine/onnxRuntime/runtime';
import type { ExplainRequest, RgbaImage } from '../../src/shared/types';

const ROOT = path.resolve(__dirname, '..', '..');

export interface OrtRow {
  model: string;
  engine: 'wasm' | 'onnxruntime' | 'raw onnxruntime';
  times: Record<string, number>;
}

const COLUMNS = ['session', 'forward', 'inputGradient', 'gradcam', 'gradcam (kept forward, other class)', 'saliency', 'smoothgrad25', 'scorecam', 'gradcam+metrics'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeMedian(fn: () => Promise<unknown>, runs: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Exports the two networks to ONNX with Debian's PyTorch; undefined when it is not installed. */
export function exportOnnx(dir: string): Record<string, string> | undefined {
  const run = spawnSync('/usr/bin/python3', [path.join(ROOT, 'scripts', 'bench', 'export_onnx.py'), dir], { encoding: 'utf8' });
  if (run.status !== 0) return undefined;
  return { mobilenetv2: path.join(dir, 'mobilenetv2.onnx'), resnet18: path.join(dir, 'resnet18.onnx') };
}

export async function benchOnnxRuntime(files: Record<string, string>, image: RgbaImage, options: { runs: number; warmup: number }): Promise<OrtRow[]> {
  const runtime = loadOnnxRuntime();
  if ('failure' in runtime) return [];
  const rows: OrtRow[] = [];
  const { runs, warmup } = options;
  for (const [name, file] of Object.entries(files)) {
    // Raw ONNX Runtime on the exported graph: the anchor.
    const started = performance.now();
    const session = await runtime.ort.InferenceSession.create(fs.readFileSync(file), { intraOpNumThreads: runtime.threads, graphOptimizationLevel: 'all' });
    const sessionMs = performance.now() - started;
    const nchw = new runtime.ort.Tensor('float32', new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)), [1, 3, 224, 224]);
    const raw = await timeMedian(() => session.run({ [session.inputNames[0]]: nchw }), runs, warmup);
    await session.release();
    rows.push({ model: name, engine: 'raw onnxruntime', times: { session: sessionMs, forward: raw } });

    for (const backend of ['wasm', 'onnxruntime'] as const) {
      await engine.initBackend(backend);
      const model = await engine.loadModel(file);
      const input = toModelInput(image, model.summary.inputShape, model.summary.preprocessing);
      const times: Record<string, number> = {};
      const explain = (request: ExplainRequest, context = {}) => engine.explain(model, image, request, context);
      const native = backend === 'onnxruntime' ? nativeFor(model.model, model.model, headOf(model.model)) : undefined;
      if (native && !(native instanceof NativePasses)) throw new Error(`${name}: ONNX Runtime does not take it: ${native.failure}`);
      if (native) {
        // Building and loading the forward, cut and gradient graphs: once per model and layer.
        const begun = performance.now();
        await native.model.prepare(model.summary.defaultCamLayer, { layer: true, input: true });
        times.session = performance.now() - begun;
        times.forward = await timeMedian(() => native.scoresOf(input), runs, warmup);
        times.inputGradient = await timeMedian(async () => tf.dispose(await native.samplePass(input, 'inputGradients', 0)), runs, warmup);
      } else {
        times.forward = await timeMedian(async () => tf.dispose(computeLogits(model.model, input)), runs, warmup);
        times.inputGradient = await timeMedian(async () => tf.dispose(runSamplePass(model.model, input, { pass: 'inputGradients', classIndex: 0 }, 512 * 2 ** 20)), runs, warmup);
      }
      times.gradcam = await timeMedian(() => explain({ method: 'gradcam' }), runs, warmup);
      const cache = new engine.ForwardCache(2);
      await explain({ method: 'gradcam', classIndex: 0 }, { forwardCache: cache });
      let other = 1;
      times['gradcam (kept forward, other class)'] = await timeMedian(() => explain({ method: 'gradcam', classIndex: other++ }, { forwardCache: cache }), runs, warmup);
      times.saliency = await timeMedian(() => explain({ method: 'saliency' }), runs, warmup);
      if (native) {
        // The wasm engine's sampling times are the main table's (minutes for Score-CAM).
        times.smoothgrad25 = await timeMedian(() => explain({ method: 'smoothgrad', options: { samples: 25 } }), Math.min(runs, 3), 1);
        times.scorecam = await timeMedian(() => explain({ method: 'scorecam' }), 1, 1);
        times['gradcam+metrics'] = await timeMedian(() => explain({ method: 'gradcam', metrics: true }), Math.min(runs, 3), 1);
      }
      input.dispose();
      model.dispose();
      rows.push({ model: name, engine: backend, times });
    }
  }
  await engine.initBackend('wasm'); // as the rest of the bench expects
  return rows;
}

const f = (ms: number | undefined): string => (ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** The rows as a markdown table, with each native time's ratio to raw ONNX Runtime's forward and to the wasm engine. */
export function ortTable(rows: OrtRow[], torch?: Record<string, { forward?: number; inputGradient?: number; gradcam?: number }>): string[] {
  const lines = [`| model | engine | ${COLUMNS.join(' | ')} |`, `|---|---|${COLUMNS.map(() => '---:').join('|')}|`];
  for (const row of rows) {
    lines.push(`| ${row.model} | ${row.engine} | ${COLUMNS.map((c) => f(row.times[c])).join(' | ')} |`);
  }
  for (const model of new Set(rows.map((r) => r.model))) {
    const native = rows.find((r) => r.model === model && r.engine === 'onnxruntime')?.times;
    const wasm = rows.find((r) => r.model === model && r.engine === 'wasm')?.times;
    const raw = rows.find((r) => r.model === model && r.engine === 'raw onnxruntime')?.times;
    if (!native || !raw) continue;
    const parts = [`forward ${(native.forward / raw.forward).toFixed(2)}× raw ONNX Runtime`];
    if (wasm) parts.push(`forward ${(wasm.forward / native.forward).toFixed(1)}×, input gradient ${(wasm.inputGradient / native.inputGradient).toFixed(1)}×, Grad-CAM ${(wasm.gradcam / native.gradcam).toFixed(1)}× faster than the wasm engine`);
    const t = torch?.[model];
    if (t?.forward) parts.push(`forward ${(native.forward / t.forward).toFixed(2)}× PyTorch`);
    if (t?.inputGradient) parts.push(`input gradient ${(native.inputGradient / t.inputGradient).toFixed(2)}× PyTorch`);
    if (t?.gradcam) parts.push(`Grad-CAM ${(native.gradcam / t.gradcam).toFixed(2)}× pytorch-grad-cam`);
    lines.push('', `${model} on ONNX Runtime: ${parts.join('; ')}.`);
  }
  return lines;
}

if (require.main === module) {
  void (async () => {
    const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 5);
    const dir = path.join(ROOT, 'out', 'bench', 'onnx');
    const files = exportOnnx(dir);
    if (!files) throw new Error('Debian python3-torch is needed to export the models (scripts/test/setup-pytorch.sh)');
    const image = await engine.readImage(path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png'));
    const rows = await benchOnnxRuntime(files, image, { runs: process.argv.includes('--runs') ? runs : 5, warmup: 2 });
    console.log(ortTable(rows).join('\n'));
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
