// The metrics rows of `npm run bench` (issue 15's "metrics that cost milliseconds"): the
// faithfulness metrics of one Grad-CAM map (deletion, insertion, ROAD's 18 imputations, confidence
// change: 86 scored inputs) on the sample and on the 224² networks, on each engine that runs them,
// and a Compare of every method with its metrics on the sample, as the panel's Compare tab runs it.
// The engine column is the one the result names (a request ONNX Runtime does not take runs on wasm).
//
//   npx tsx scripts/bench/metricsBench.ts [--runs 5]     (standalone; bench.ts calls benchMetrics)
import * as os from 'os';
import * as path from 'path';
import * as engine from '../../src/engine';
import { METHOD_NAMES, type BackendName, type RgbaImage } from '../../src/shared/types';

const ROOT = path.resolve(__dirname, '..', '..');

export interface MetricsRow {
  model: string;
  /** Where the network came from when not the engine's own build (an ONNX export): shown, not compared. */
  source?: string;
  /** The backend the results name. */
  engine: string;
  /** Median of the metrics' own time (FaithfulnessMetrics.timeMs) for one Grad-CAM map. */
  metrics: number;
  /** Every method with its metrics, one Compare (the sample only). */
  compare?: number;
}

export interface MetricsModel {
  name: string;
  source?: string;
  file: string;
  backend: BackendName;
  /** Time a Compare of every method too (minutes on a 224² network: Score-CAM alone is). */
  compare?: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function benchMetrics(models: MetricsModel[], image: RgbaImage, runs: number): Promise<MetricsRow[]> {
  const rows: MetricsRow[] = [];
  for (const entry of models) {
    try {
      await engine.initBackend(entry.backend);
    } catch {
      continue; // the backend does not load here
    }
    const model = await engine.loadModel(entry.file);
    try {
      const times: number[] = [];
      let backend = '';
      // One warm-up: the first request builds sessions and touches new memory.
      for (let i = 0; i <= runs; i++) {
        const result = await engine.explain(model, image, { method: 'gradcam', metrics: true });
        if (!result.metrics) throw new Error(`${entry.name}: no metrics`);
        if (i > 0) times.push(result.metrics.timeMs);
        backend = result.backend;
      }
      const row: MetricsRow = { model: entry.name, ...(entry.source ? { source: entry.source } : {}), engine: backend, metrics: median(times) };
      if (entry.compare) {
        await engine.compareMethods(model, image, METHOD_NAMES, { metrics: true });
        const compares: number[] = [];
        for (let i = 0; i < Math.min(runs, 3); i++) {
          const started = performance.now();
          await engine.compareMethods(model, image, METHOD_NAMES, { metrics: true });
          compares.push(performance.now() - started);
        }
        row.compare = median(compares);
      }
      rows.push(row);
    } finally {
      model.dispose();
    }
  }
  await engine.initBackend('wasm'); // as the rest of the bench expects
  return rows;
}

const f = (ms: number | undefined): string => (ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

export function metricsTable(rows: MetricsRow[]): string[] {
  return [
    `| model | engine | metrics of one map | Compare of all ${METHOD_NAMES.length} methods with metrics |`,
    '|---|---|---:|---:|',
    ...rows.map((r) => `| ${r.model}${r.source ? ` (${r.source})` : ''} | ${r.engine} | ${f(r.metrics)} | ${f(r.compare)} |`),
  ];
}

/** The targets of issue 15, on the best engine for each. */
export function metricsTargets(rows: MetricsRow[]): Array<{ target: string; measured: string; met: boolean }> {
  const best = (model: string, key: 'metrics' | 'compare') => {
    const found = rows.filter((r) => r.model === model && r[key] !== undefined).sort((a, b) => (a[key] ?? 0) - (b[key] ?? 0))[0];
    return found ? { ms: found[key] as number, engine: found.engine } : undefined;
  };
  const targets: Array<{ target: string; measured: string; met: boolean }> = [];
  const limits: Array<[string, 'metrics' | 'compare', number, string]> = [
    ['sample', 'metrics', 200, 'sample: metrics for one map ≤ 0.2 s'],
    ['mobilenetv2', 'metrics', 3000, 'mobilenetv2: metrics for one map ≤ 3 s'],
    ['sample', 'compare', 5000, `sample: a ${METHOD_NAMES.length}-method Compare with metrics ≤ 5 s`],
  ];
  for (const [model, key, limit, target] of limits) {
    const measured = best(model, key);
    if (measured) targets.push({ target, measured: `${f(measured.ms)} ms (${measured.engine})`, met: measured.ms <= limit });
  }
  return targets;
}

if (require.main === module) {
  void (async () => {
    const at = process.argv.indexOf('--runs');
    const runs = at > 0 ? Number(process.argv[at + 1]) : 5;
    const sample = path.join(ROOT, 'samples', 'workspace', 'model', 'model.json');
    const onnx = path.join(ROOT, 'out', 'bench', 'onnx');
    const image = await engine.readImage(path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png'));
    const rows = await benchMetrics(
      [
        { name: 'sample', file: sample, backend: 'wasm', compare: true },
        { name: 'sample', file: sample, backend: 'onnxruntime', compare: true },
        ...(process.argv.includes('--layers-models') ? [{ name: 'mobilenetv2', file: path.join(os.tmpdir(), 'cnn-lens-bench', 'mobilenetv2', 'model.json'), backend: 'onnxruntime' as const }] : []),
        { name: 'mobilenetv2', source: 'ONNX', file: path.join(onnx, 'mobilenetv2.onnx'), backend: 'onnxruntime' },
        { name: 'resnet18', source: 'ONNX', file: path.join(onnx, 'resnet18.onnx'), backend: 'onnxruntime' },
      ],
      image,
      runs,
    );
    console.log([...metricsTable(rows), '', ...metricsTargets(rows).map((t) => `${t.met ? 'met' : 'NOT met'}: ${t.target}: ${t.measured}`)].join('\n'));
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
