// `npm run bench`: how fast CNN Lens is on this machine, and how that compares with PyTorch here.
// Times (median of --runs after --warmup) per model and backend: model load, first request (cold),
// forward, gradient to the input, and each attribution method the engine has; PyTorch's forward,
// input gradient and pytorch-grad-cam-style Grad-CAM on the same architectures (when Debian's
// python3-torch is installed) as ratios; the extension host's event-loop delay while the worker
// computes; tensor count and RSS over 100 mixed requests. Writes out/bench/report.json and
// out/bench/report.md and prints the table. The targets of the performance issue are checked and
// listed as met or not; the benchmark never fails on a missed target (timings are not tests).
//
// PyTorch models (when Debian's python3-torch is installed): the first open of a model.py and a save
// of it until the refreshed Grad-CAM, through the engine worker (./pytorchRefresh.ts).
//
//   npm run bench -- --runs 9 --warmup 2 --models sample,mobilenetv2,resnet18 --backends wasm,cpu
//   npm run bench -- --pytorch-only      (just the PyTorch open and save timings)
//   npm run bench -- --repaint-only      (just a colormap/opacity change and an explanation's pictures: ./repaint.ts)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { monitorEventLoopDelay } from 'perf_hooks';
import * as engine from '../../src/engine';
import * as tf from '../../src/engine/tf';
import { toModelInput } from '../../src/engine/images/image';
import { computeLogits } from '../../src/engine/execution/graph';
import { METHOD_NAMES, type BackendName, type ExplainRequest, type MethodName, type MethodOptions, type RgbaImage } from '../../src/shared/types';
import { EngineClient } from '../../src/workerClient/client';
import { HelperEngines } from '../../src/worker/helperEngines';
import { resolveSampleWorkers } from '../../src/shared/sampleWorkers';
import { buildMobileNetV2, buildResNet18 } from './architectures';
import { benchPytorchRefresh, type PytorchRefreshTimes } from './pytorchRefresh';
import { benchOnnxRuntime, exportOnnx, ortTable, type OrtRow } from './onnxRuntimeBench';
import { benchRepaint, repaintLines } from './repaint';
import { benchMetrics, metricsTable, metricsTargets, type MetricsModel } from './metricsBench';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT_DIR = path.join(ROOT, 'out', 'bench');
const SAMPLE_MODEL = path.join(ROOT, 'samples', 'workspace', 'model', 'model.json');
const SAMPLE_IMAGE = path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png');

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '2' },
    models: { type: 'string', default: 'sample,mobilenetv2,resnet18' },
    backends: { type: 'string', default: 'node,wasm,cpu' },
    'skip-torch': { type: 'boolean', default: false },
    'pytorch-only': { type: 'boolean', default: false },
    'repaint-only': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);

/** Methods timed when the engine has them, with the sample counts the performance issue names. */
const TIMED_METHODS: Array<{ key: string; request: { method: string; options?: MethodOptions; metrics?: boolean } }> = [
  { key: 'gradcam', request: { method: 'gradcam' } },
  // Grad-CAM plus its faithfulness metrics (deletion, insertion, ROAD's 18 imputations, confidence change).
  { key: 'gradcam+metrics', request: { method: 'gradcam', metrics: true } },
  { key: 'saliency', request: { method: 'saliency' } },
  { key: 'smoothgrad16', request: { method: 'smoothgrad', options: { samples: 16 } } },
  { key: 'ig32', request: { method: 'integrated-gradients', options: { steps: 32 } } },
  { key: 'scorecam', request: { method: 'scorecam' } },
];

interface ModelTimes {
  model: string;
  backend: BackendName;
  params: number;
  load: number;
  cold: number;
  forward: number;
  inputGradient: number;
  /** Grad-CAM for another class at the same layer, from the kept forward pass (the panel's class picker). */
  classChange: number;
  /** Sampling methods with helper workers sharing their batches (cnnLens.sampleWorkers), when measured. */
  withHelpers?: { helpers: number; methods: Record<string, number> };
  methods: Record<string, number>;
}

interface TorchTimes {
  torch: string;
  threads: number;
  models: Record<string, { forward: number; inputGradient: number; gradcam: number }>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timeMedian(fn: () => Promise<unknown> | unknown, runs = RUNS, warmup = WARMUP): Promise<number> {
  for (let i = 0; i < warmup; i++) {
    await fn();
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * Reads a result and frees it. Not `tf.tidy(() => t.dataSync())`: tidy walks whatever its callback
 * returns looking for tensors, element by element for a typed array (about 1 µs per element).
 */
function readAndDispose(t: tf.Tensor): void {
  t.dataSync();
  t.dispose();
}

/** Saves a built model as model.json + one weight file, the form users load. */
async function saveModel(model: tf.LayersModel, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      fs.writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
      const json = {
        format: 'layers-model',
        generatedBy: 'CNN Lens scripts/bench',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}

/** The 224×224 models, built once with seeded weights and saved to a temp folder. */
async function prepareModels(names: string[]): Promise<Record<string, string>> {
  const dir = path.join(os.tmpdir(), 'cnn-lens-bench');
  const paths: Record<string, string> = { sample: SAMPLE_MODEL };
  const builders: Record<string, () => tf.LayersModel> = { mobilenetv2: () => buildMobileNetV2(), resnet18: () => buildResNet18() };
  await engine.initBackend('cpu');
  for (const name of names.filter((n) => n in builders)) {
    const target = path.join(dir, name, 'model.json');
    if (!fs.existsSync(target)) {
      const model = builders[name]();
      await saveModel(model, path.dirname(target));
      model.dispose();
    }
    paths[name] = target;
  }
  return paths;
}

async function availableBackends(wanted: BackendName[]): Promise<BackendName[]> {
  const ok: BackendName[] = [];
  for (const backend of wanted) {
    try {
      await engine.initBackend(backend);
      ok.push(backend);
    } catch (error) {
      console.log(`bench: backend ${backend} unavailable: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return ok;
}

async function benchModel(name: string, modelPath: string, backend: BackendName, image: RgbaImage): Promise<ModelTimes> {
  await engine.initBackend(backend);
  const load = await timeMedian(async () => (await engine.loadModel(modelPath)).dispose(), Math.min(RUNS, 3), 0);
  const model = await engine.loadModel(modelPath);
  try {
    const coldStart = performance.now();
    await engine.explain(model, image, { method: 'gradcam' });
    const cold = performance.now() - coldStart;

    const input = toModelInput(image, model.summary.inputShape, model.summary.preprocessing);
    const numClasses = model.summary.numClasses;
    const oneHot = tf.oneHot([1], numClasses).asType('float32');
    // The engine's forward pass (its graph executor, as every request runs it: batch norms folded
    // into their convolutions), not tfjs-layers' predict.
    const forward = await timeMedian(() => readAndDispose(computeLogits(model.model, input)));
    // The gradient of one pre-softmax class score with respect to the input, through the engine's
    // graph executor: the backward pass every input-level method (saliency, SmoothGrad, Integrated
    // Gradients) pays.
    const gradient = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(computeLogits(model.model, x), oneHot)));
    const inputGradient = await timeMedian(() => readAndDispose(tf.tidy(() => gradient(input))));
    oneHot.dispose();
    input.dispose();

    // The class picker: the worker keeps the forward pass, so another class costs the backward pass from the layer.
    const forwardCache = new engine.ForwardCache();
    await engine.explain(model, image, { method: 'gradcam' }, { forwardCache });
    let otherClass = 0;
    const classChange = await timeMedian(async () => {
      otherClass = (otherClass + 1) % numClasses;
      const result = await engine.explain(model, image, { method: 'gradcam', classIndex: otherClass }, { forwardCache });
      if (!result.details?.forwardReused) {
        throw new Error('a class change did not reuse the forward pass');
      }
    });
    forwardCache.clear();

    const methods: Record<string, number> = {};
    for (const { key, request } of TIMED_METHODS) {
      if (!(METHOD_NAMES as readonly string[]).includes(request.method)) {
        continue;
      }
      const sampling = key !== 'gradcam' && key !== 'saliency';
      methods[key] = await timeMedian(
        () => engine.explain(model, image, { ...(request as ExplainRequest), method: request.method as MethodName }),
        // Sampling methods run many passes each: one timed run is enough. One warm-up run first,
        // as for every figure here: a process's first batch touches new memory, which costs
        // seconds on this machine (2 GB: 9 s), once per worker. Score-CAM (one forward pass per
        // channel: 1280 on MobileNetV2's last layer, minutes) runs once, its first pass's cost
        // spread over a thousand.
        sampling ? 1 : RUNS,
        key === 'scorecam' ? 0 : WARMUP,
      );
    }
    const withHelpers = name !== 'sample' ? await timeWithHelpers(model, modelPath, image) : undefined;
    return { model: name, backend, params: model.summary.totalParams, load, cold, forward, inputGradient, classChange, methods, withHelpers };
  } finally {
    model.dispose();
  }
}

/** Sampling methods whose batches helper workers share, as the extension's default sets them up. */
const SHARED_METHODS = ['smoothgrad16', 'ig32'];

async function timeWithHelpers(model: engine.LoadedModel, modelPath: string, image: RgbaImage): Promise<ModelTimes['withHelpers']> {
  const helperCount = resolveSampleWorkers(-1, os.availableParallelism());
  const backend = engine.currentBackend();
  if (helperCount === 0) {
    return undefined;
  }
  const dist = path.join(ROOT, 'dist');
  const helpers = new HelperEngines({ helpers: helperCount, workerPath: path.join(dist, 'worker.js') }, backend, dist, {}, () => undefined);
  try {
    const samplePool = await helpers.ready({ modelPath, preprocessing: model.summary.preprocessing, allowCode: false, load: 1 });
    if (!samplePool) {
      console.log('bench: the helper workers could not load the model');
      return undefined;
    }
    const methods: Record<string, number> = {};
    for (const { key, request } of TIMED_METHODS.filter((m) => SHARED_METHODS.includes(m.key))) {
      methods[key] = await timeMedian(async () => {
        const result = await engine.explain(model, image, { ...(request as ExplainRequest), method: request.method as MethodName }, { samplePool });
        if (!result.details?.inputsElsewhere) {
          throw new Error(`${key}: the helpers took no share`);
        }
      }, 1, WARMUP);
    }
    return { helpers: helperCount, methods };
  } finally {
    helpers.dispose();
  }
}

function runTorch(): TorchTimes | undefined {
  if (args['skip-torch']) {
    return undefined;
  }
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const result = spawnSync(python, [path.join(__dirname, 'torch_bench.py'), '--threads', '2', '--runs', String(Math.max(RUNS, 5))], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || '').trim().split('\n').pop();
    console.log(`bench: PyTorch anchor skipped (${python}: ${why}); install Debian's python3-torch to compare.`);
    return undefined;
  }
  return JSON.parse(result.stdout) as TorchTimes;
}

/** Event-loop delay in this (host) process while the worker bundle computes Grad-CAMs. */
async function hostResponsiveness(modelPath: string, imagePath: string): Promise<{ p50: number; p99: number; max: number; requests: number }> {
  const dist = path.join(ROOT, 'dist');
  const client = new EngineClient({ workerPath: path.join(dist, 'worker.js'), wasmDir: dist, backend: () => 'auto', log: () => undefined });
  try {
    await client.loadModel(modelPath);
    await client.explain({ modelPath, imagePath, request: { method: 'gradcam' } });
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const requests = 5;
    for (let i = 0; i < requests; i++) {
      // Saliency between the Grad-CAMs: a whole backward pass, so the worker never idles on a kept forward pass.
      await client.explain({ modelPath, imagePath, request: { method: i % 2 ? 'saliency' : 'gradcam', classIndex: i } });
    }
    histogram.disable();
    const ms = (ns: number) => ns / 1e6;
    return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), requests };
  } finally {
    client.dispose();
  }
}

/** Tensor count and RSS over 100 mixed requests (classes, layers, methods) on the sample model. */
async function memoryOverRequests(image: RgbaImage): Promise<{ requests: number; tensorsBefore: number; tensorsAfter: number; rssFirstMiB: number; rssLastMiB: number; rssPeakMiB: number }> {
  await engine.initBackend('wasm');
  const model = await engine.loadModel(SAMPLE_MODEL);
  const layers = model.summary.layers.filter((l) => l.spatial).map((l) => l.name);
  const cheap = (['gradcam', 'gradcam++', 'layercam', 'xgradcam', 'hirescam', 'saliency'] as string[]).filter((m) => (METHOD_NAMES as readonly string[]).includes(m));
  const mib = () => process.memoryUsage().rss / 2 ** 20;
  // As the worker runs requests: with a forward cache, whose entries must not accumulate either.
  const forwardCache = new engine.ForwardCache();
  try {
    const request = (i: number) =>
      engine.explain(
        model,
        image,
        { method: cheap[i % cheap.length] as MethodName, layer: layers[i % layers.length], classIndex: i % model.summary.numClasses },
        { forwardCache },
      );
    // Warm-up until the forward cache is full (it keeps two layers' passes): growth is counted from there.
    for (let i = 0; i < 10; i++) {
      await request(i);
    }
    const tensorsBefore = tf.memory().numTensors;
    const rss: number[] = [];
    const requests = 100;
    for (let i = 0; i < requests; i++) {
      await request(i);
      rss.push(mib());
    }
    const tail = (xs: number[]) => median(xs.slice(-10));
    return {
      requests,
      tensorsBefore,
      tensorsAfter: tf.memory().numTensors,
      rssFirstMiB: median(rss.slice(0, 10)),
      rssLastMiB: tail(rss),
      rssPeakMiB: Math.max(...rss),
    };
  } finally {
    forwardCache.clear();
    model.dispose();
  }
}

const f = (ms: number | undefined) => (ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}×`);

/** The PyTorch targets: first open and save → refreshed Grad-CAM, as a table and target rows. */
function pytorchSection(rows: PytorchRefreshTimes[]): { lines: string[]; targets: Array<{ target: string; measured: string; met: boolean }> } {
  const lines = ['', 'PyTorch model.py through the engine worker (ms; a save adds the 0.4 s live-refresh settle):', ''];
  lines.push('| model | first open (cold Python) | save → Grad-CAM | with settle |', '|---|---:|---:|---:|');
  const targets: Array<{ target: string; measured: string; met: boolean }> = [];
  const limits: Record<string, number> = { SimpleCNN: 1500, resnet18: 5000 };
  for (const r of rows) {
    lines.push(`| ${r.model} | ${f(r.firstOpen)} | ${f(r.save)} | ${f(r.saveWithSettle)} |`);
    targets.push({ target: `${r.model}: first open (cold Python) ≤ 6 s`, measured: `${f(r.firstOpen)} ms`, met: r.firstOpen <= 6000 });
    if (limits[r.model] !== undefined) {
      targets.push({ target: `${r.model}: save → refreshed Grad-CAM ≤ ${limits[r.model] / 1000} s`, measured: `${f(r.saveWithSettle)} ms`, met: r.saveWithSettle <= limits[r.model] });
    }
  }
  return { lines, targets };
}

async function main(): Promise<void> {
  const modelNames = args.models.split(',').filter(Boolean);
  const t0 = performance.now();
  if (!fs.existsSync(path.join(ROOT, 'dist', 'worker.js'))) {
    throw new Error('dist/worker.js is missing: run `npm run build` (npm run bench does).');
  }
  if (args['pytorch-only']) {
    const section = pytorchSection(await benchPytorchRefresh(Math.max(RUNS, 3)));
    console.log([...section.lines, '', '| target | measured | met |', '|---|---|---|', ...section.targets.map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)].join('\n'));
    return;
  }
  if (args['repaint-only']) {
    console.log(repaintLines(await benchRepaint(SAMPLE_MODEL, Math.max(RUNS, 9))).join('\n'));
    return;
  }
  const paths = await prepareModels(modelNames);
  const backends = await availableBackends(args.backends.split(',') as BackendName[]);
  const image = await engine.readImage(SAMPLE_IMAGE);

  const rows: ModelTimes[] = [];
  for (const name of modelNames) {
    for (const backend of backends) {
      if (backend === 'cpu' && name !== 'sample') {
        continue; // minutes per request on 224×224 networks: the cpu backend is for the sample only
      }
      console.log(`bench: ${name} on ${backend}…`);
      rows.push(await benchModel(name, paths[name], backend, image));
    }
  }
  console.log('bench: PyTorch anchor…');
  const torch = runTorch();
  // The same two networks exported to ONNX (needs Debian's PyTorch): the engine on wasm and on
  // ONNX Runtime, and raw ONNX Runtime as the limit (./onnxRuntimeBench.ts).
  console.log('bench: ONNX Runtime…');
  const onnxFiles = torch ? exportOnnx(path.join(OUT_DIR, 'onnx')) : undefined;
  const ortRows: OrtRow[] = onnxFiles ? await benchOnnxRuntime(onnxFiles, image, { runs: RUNS, warmup: WARMUP }) : [];
  console.log('bench: metrics and Compare…');
  const metricsModels: MetricsModel[] = [
    ...(['wasm', 'onnxruntime'] as const).map((backend) => ({ name: 'sample', file: SAMPLE_MODEL, backend, compare: true })),
    ...(paths.mobilenetv2 ? [{ name: 'mobilenetv2', file: paths.mobilenetv2, backend: 'wasm' as const }, { name: 'mobilenetv2', file: paths.mobilenetv2, backend: 'onnxruntime' as const }] : []),
    ...(onnxFiles ? Object.entries(onnxFiles).map(([name, file]) => ({ name, source: 'ONNX', file, backend: 'onnxruntime' as const })) : []),
  ];
  const metricsRows = await benchMetrics(metricsModels, image, Math.min(RUNS, 5));
  console.log('bench: PyTorch model.py open and save…');
  const pytorch = torch ? pytorchSection(await benchPytorchRefresh(Math.max(RUNS, 3))) : undefined;
  console.log('bench: host event-loop delay…');
  const largest = modelNames.includes('resnet18') ? 'resnet18' : modelNames[modelNames.length - 1];
  const responsiveness = await hostResponsiveness(paths[largest], SAMPLE_IMAGE);
  console.log('bench: repaint…');
  const repaint = await benchRepaint(SAMPLE_MODEL, RUNS);
  console.log('bench: memory over 100 requests…');
  const memory = await memoryOverRequests(image);

  const methodKeys = TIMED_METHODS.map((m) => m.key).filter((k) => rows.some((r) => k in r.methods));
  const lines: string[] = [];
  lines.push(`| model | backend | load | cold | forward | input grad | ${methodKeys.join(' | ')} | gradcam, other class |`);
  lines.push(`|---|---|---:|---:|---:|---:|${methodKeys.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) {
    lines.push(`| ${r.model} | ${r.backend} | ${f(r.load)} | ${f(r.cold)} | ${f(r.forward)} | ${f(r.inputGradient)} | ${methodKeys.map((k) => f(r.methods[k])).join(' | ')} | ${f(r.classChange)} |`);
    if (r.withHelpers) {
      const shared = r.withHelpers;
      lines.push(`| ${r.model} | ${r.backend} + ${shared.helpers} helper worker${shared.helpers > 1 ? 's' : ''} | | | | | ${methodKeys.map((k) => f(shared.methods[k])).join(' | ')} | |`);
    }
  }
  if (torch) {
    for (const [name, t] of Object.entries(torch.models)) {
      lines.push(`| ${name} | PyTorch ${torch.torch}, ${torch.threads} threads | | | ${f(t.forward)} | ${f(t.inputGradient)} | ${methodKeys.map((k) => (k === 'gradcam' ? `${f(t.gradcam)} (pytorch-grad-cam style)` : '')).join(' | ')} | |`);
    }
  }
  lines.push('', 'Median milliseconds. Ratios CNN Lens (wasm) / PyTorch:', '');
  lines.push('| model | forward | input gradient | Grad-CAM |', '|---|---:|---:|---:|');
  const targets: Array<{ target: string; measured: string; met: boolean }> = [];
  for (const name of ['mobilenetv2', 'resnet18']) {
    const wasm = rows.find((r) => r.model === name && r.backend === 'wasm');
    const t = torch?.models[name];
    if (!wasm) {
      continue;
    }
    if (t) {
      lines.push(`| ${name} | ${ratio(wasm.forward, t.forward)} | ${ratio(wasm.inputGradient, t.inputGradient)} | ${ratio(wasm.methods.gradcam, t.gradcam)} |`);
      targets.push({ target: `${name}: forward ≤ 1.5× PyTorch`, measured: ratio(wasm.forward, t.forward), met: wasm.forward <= 1.5 * t.forward });
      targets.push({ target: `${name}: input gradient ≤ 1.5× PyTorch`, measured: ratio(wasm.inputGradient, t.inputGradient), met: wasm.inputGradient <= 1.5 * t.inputGradient });
      if (wasm.methods.gradcam !== undefined) {
        targets.push({ target: `${name}: Grad-CAM faster than pytorch-grad-cam`, measured: ratio(wasm.methods.gradcam, t.gradcam), met: wasm.methods.gradcam < t.gradcam });
      }
    }
    targets.push({ target: `${name}: input gradient ≤ 3× forward`, measured: ratio(wasm.inputGradient, wasm.forward), met: wasm.inputGradient <= 3 * wasm.forward });
    if (wasm.methods.gradcam !== undefined) {
      targets.push({ target: `${name}: Grad-CAM ≤ 1.3× forward`, measured: ratio(wasm.methods.gradcam, wasm.forward), met: wasm.methods.gradcam <= 1.3 * wasm.forward });
      targets.push({
        target: `${name}: another class at the same layer reuses the forward pass`,
        measured: `${f(wasm.classChange)} ms (Grad-CAM ${f(wasm.methods.gradcam)} ms)`,
        met: wasm.classChange < wasm.forward,
      });
    }
  }
  if (ortRows.length > 0) {
    lines.push('', 'ONNX exports of the same networks: the engine on wasm and on ONNX Runtime, and raw ONNX Runtime (session: creating it, or the engine building and loading its forward, cut and gradient graphs):', '');
    lines.push(...ortTable(ortRows, torch?.models));
    for (const name of ['mobilenetv2', 'resnet18']) {
      const native = ortRows.find((r) => r.model === name && r.engine === 'onnxruntime')?.times;
      const raw = ortRows.find((r) => r.model === name && r.engine === 'raw onnxruntime')?.times;
      const t = torch?.models[name];
      if (!native || !raw) continue;
      targets.push({ target: `${name} on ONNX Runtime: forward ≤ 1.2× raw ONNX Runtime`, measured: ratio(native.forward, raw.forward), met: native.forward <= 1.2 * raw.forward });
      if (t) {
        targets.push({ target: `${name} on ONNX Runtime: forward ≤ 1.0× PyTorch`, measured: ratio(native.forward, t.forward), met: native.forward <= t.forward });
        targets.push({ target: `${name} on ONNX Runtime: input gradient ≤ 1.0× PyTorch`, measured: ratio(native.inputGradient, t.inputGradient), met: native.inputGradient <= t.inputGradient });
        targets.push({ target: `${name} on ONNX Runtime: Grad-CAM ≤ 0.5× pytorch-grad-cam`, measured: ratio(native.gradcam, t.gradcam), met: native.gradcam <= 0.5 * t.gradcam });
      }
    }
    const resnet = ortRows.find((r) => r.model === 'resnet18' && r.engine === 'onnxruntime')?.times;
    if (resnet?.smoothgrad25 !== undefined) {
      targets.push({ target: 'resnet18 on ONNX Runtime: 25-sample SmoothGrad ≤ 1.5 s', measured: `${f(resnet.smoothgrad25)} ms`, met: resnet.smoothgrad25 <= 1500 });
    }
    if (resnet?.scorecam !== undefined) {
      targets.push({ target: 'resnet18 on ONNX Runtime: Score-CAM at layer4 ≤ 15 s', measured: `${f(resnet.scorecam)} ms`, met: resnet.scorecam <= 15_000 });
    }
  }
  lines.push('', 'Faithfulness metrics of one Grad-CAM map (86 scored inputs, 18 of them ROAD imputations), and a Compare of every method with its metrics (median ms; the engine the results name):', '');
  lines.push(...metricsTable(metricsRows));
  targets.push(...metricsTargets(metricsRows));
  const resnetWasm = rows.find((r) => r.model === 'resnet18' && r.backend === 'wasm');
  if (resnetWasm?.methods.smoothgrad16 !== undefined) {
    const shared = resnetWasm.withHelpers?.methods.smoothgrad16;
    const best = Math.min(resnetWasm.methods.smoothgrad16, shared ?? Infinity);
    const estimate25 = (best * 25) / 16;
    const how = shared !== undefined && shared < resnetWasm.methods.smoothgrad16 ? `with ${resnetWasm.withHelpers?.helpers} helper worker(s)` : 'one worker';
    targets.push({ target: 'resnet18: 25-sample SmoothGrad ≤ 2 s', measured: `${f(estimate25)} ms (from 16 samples, ${how})`, met: estimate25 <= 2000 });
  }
  targets.push({ target: 'host event-loop delay p99 < 50 ms', measured: `${responsiveness.p99.toFixed(1)} ms`, met: responsiveness.p99 < 50 });
  targets.push({
    target: 'no tensor growth over 100 requests',
    measured: `${memory.tensorsBefore} → ${memory.tensorsAfter}`,
    met: memory.tensorsAfter <= memory.tensorsBefore,
  });
  targets.push({
    target: 'no RSS growth over 100 requests',
    measured: `${memory.rssFirstMiB.toFixed(0)} → ${memory.rssLastMiB.toFixed(0)} MiB (peak ${memory.rssPeakMiB.toFixed(0)})`,
    met: memory.rssLastMiB <= memory.rssFirstMiB * 1.05 + 5,
  });
  if (pytorch) {
    lines.push(...pytorch.lines);
    targets.push(...pytorch.targets);
  }
  lines.push('', `Host event-loop delay during Grad-CAM on ${largest} in the worker: p50 ${responsiveness.p50.toFixed(1)} ms, p99 ${responsiveness.p99.toFixed(1)} ms, max ${responsiveness.max.toFixed(1)} ms.`);
  lines.push('', ...repaintLines(repaint));
  targets.push({ target: 'a colormap or opacity change posts nothing to the page', measured: `${repaint.after.bytesPerChange} bytes`, met: repaint.after.bytesPerChange === 0 });
  lines.push('', '| target | measured | met |', '|---|---|---|');
  for (const t of targets) {
    lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, tfjs ${tf.version_core}`;
  lines.push('', `Machine: ${machine}. ${RUNS} runs after ${WARMUP} warm-up; total ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  const table = lines.join('\n');

  fs.mkdirSync(OUT_DIR, { recursive: true });
  const report = { date: new Date().toISOString(), machine, runs: RUNS, warmup: WARMUP, rows, torch, onnxRuntime: ortRows, metrics: metricsRows, responsiveness, repaint, memory, targets };
  fs.writeFileSync(path.join(OUT_DIR, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(OUT_DIR, 'report.md'), table + '\n');
  console.log('\n' + table + `\n\nWritten: ${path.relative(ROOT, path.join(OUT_DIR, 'report.json'))}, report.md`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exitCode = 1;
});
