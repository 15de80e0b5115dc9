// The extension's engine client against real worker threads: the real engine worker
// (src/worker/engineWorker.ts under tsx) for results, caching and error codes, and a scripted
// worker (fixtures/fakeEngineWorker.ts, same protocol) for the timing cases: cancel, a cancel the
// worker cannot see (synchronous work), a crash, a timeout, progress, a failed init.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodePng, explain, initBackend, loadModel, readImage } from '../../src/engine';
import { indexedCam, renderOverlay } from '../../src/render/overlay';
import * as tf from '../../src/engine/tf';
import { LensError, isCancelled } from '../../src/shared/errors';
import type { BackendChoice, Progress } from '../../src/shared/types';
import { EngineClient, WORKER_CRASHED, type EngineClientOptions } from '../../src/workerClient/client';
import { ENGINE_WORKER_SOURCE, WASM_DIR, engineFromSource } from './fixtures/workerFromSource';

const FAKE_ENTRY = path.join(__dirname, 'fixtures', 'fakeEngineWorker.ts');
const REAL_ENTRY = ENGINE_WORKER_SOURCE;

function client(entry: string, overrides: Partial<EngineClientOptions> & { backendChoice?: () => BackendChoice } = {}) {
  const logs: string[] = [];
  const engine = engineFromSource({ backend: overrides.backendChoice ?? (() => 'cpu'), log: (line) => logs.push(line), ...overrides }, entry);
  return { engine, logs };
}

async function rejection(promise: Promise<unknown>): Promise<LensError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LensError, `expected a LensError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

describe('worker client: scripted worker (cancel, crash, timeout, progress)', function () {
  let engine: EngineClient;
  let logs: string[];

  beforeEach(function () {
    ({ engine, logs } = client(FAKE_ENTRY, { cancelGraceMs: 300 }));
  });
  afterEach(function () {
    engine.dispose();
  });

  const explainPath = (imagePath: string, options = {}) =>
    engine.explain({ modelPath: 'm', imagePath, request: { method: 'gradcam' } }, options);

  it('starts lazily, initialises with the backend setting and wasm folder, and answers', async function () {
    assert.strictEqual(engine.workerStarts, 0, 'no worker before the first request');
    const report = await engine.backendReport();
    assert.strictEqual(report.backend, 'cpu');
    assert.strictEqual(report.detail, `fake cpu (wasmDir ${WASM_DIR})`);
    assert.deepStrictEqual(await explainPath('a.png'), { echo: 'a.png' });
    assert.strictEqual(engine.workerStarts, 1);
    assert.ok(logs.some((line) => /backend cpu/.test(line)), `no backend line in ${JSON.stringify(logs)}`);
  });

  it('a cooperative cancel rejects at once and keeps the worker', async function () {
    await engine.backendReport();
    const controller = new AbortController();
    const pending = explainPath('wait', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(pending);
    assert.ok(isCancelled(error));
    assert.deepStrictEqual(await explainPath('after'), { echo: 'after' });
    assert.strictEqual(engine.workerStarts, 1, 'the worker stopped by itself: no restart needed');
  });

  it('a cancel the worker cannot see (synchronous work) restarts the worker after the grace period', async function () {
    await engine.backendReport();
    const controller = new AbortController();
    const started = Date.now();
    const pending = explainPath('spin:5000', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    assert.ok(isCancelled(await rejection(pending)));
    const cancelledAfter = Date.now() - started;
    assert.ok(cancelledAfter < 1000, `the caller waited ${cancelledAfter} ms for its cancel`);
    // The next request waits for the stuck one to drain (it cannot) and runs on a fresh worker.
    assert.deepStrictEqual(await explainPath('next'), { echo: 'next' });
    const total = Date.now() - started;
    assert.ok(total < 3000, `the next request took ${total} ms: it queued behind the 5 s loop`);
    assert.strictEqual(engine.workerStarts, 2);
    assert.ok(logs.some((line) => /did not stop within 300 ms/.test(line)), JSON.stringify(logs));
  });

  it('a crash rejects the request with a clear error and the next request starts a new worker', async function () {
    const error = await rejection(explainPath('crash'));
    assert.strictEqual(error.code, WORKER_CRASHED);
    // It names what the engine was doing, with its files (the fake's model is "m").
    assert.match(error.message, /^The CNN Lens engine exited with code 7 while explaining crash with m\. It restarts on the next request/);
    assert.deepStrictEqual(await explainPath('again'), { echo: 'again' });
    assert.strictEqual(engine.workerStarts, 2);
  });

  it('an engine that runs out of memory ends its own process only: the error names the files, the next request gets a fresh engine', async function () {
    engine.dispose();
    // A small heap, so V8 gives up quickly.
    ({ engine, logs } = client(FAKE_ENTRY, { workerOptions: { workerData: { entry: FAKE_ENTRY }, execArgv: ['--max-old-space-size=64'] } }));
    const error = await rejection(explainPath('oom'));
    assert.strictEqual(error.code, WORKER_CRASHED);
    assert.match(error.message, /^The CNN Lens engine ran out of memory while explaining oom with m: the file needs more memory than the engine may use/);
    assert.ok(logs.some((line) => /heap/i.test(line)), `V8's report is logged: ${JSON.stringify(logs.slice(-3))}`);
    assert.deepStrictEqual(await explainPath('again'), { echo: 'again' });
    assert.strictEqual(engine.workerStarts, 2);
  });

  it('an engine that reports itself broken is replaced before the next request', async function () {
    const error = await rejection(explainPath('broken'));
    assert.strictEqual(error.code, 'engine-broken');
    assert.match(error.message, /^broken with m: the engine's WebAssembly memory failed/);
    assert.deepStrictEqual(await explainPath('next'), { echo: 'next' });
    assert.strictEqual(engine.workerStarts, 2, 'the broken engine took no further request');
  });

  it('errors keep their message and code across the thread boundary', async function () {
    const error = await rejection(explainPath('fail'));
    assert.strictEqual(error.code, 'bad-input');
    assert.match(error.message, /^fail: not a PNG/);
  });

  it('times out with code "timeout"', async function () {
    const error = await rejection(explainPath('wait', { timeoutMs: 150 }));
    assert.strictEqual(error.code, 'timeout');
    assert.deepStrictEqual(await explainPath('ok'), { echo: 'ok' });
  });

  it('routes progress events to the request that caused them', async function () {
    const seen: Progress[] = [];
    const other: Progress[] = [];
    await Promise.all([explainPath('progress', { onProgress: (p: Progress) => seen.push(p) }), explainPath('x', { onProgress: (p: Progress) => other.push(p) })]);
    assert.deepStrictEqual(
      seen.map((p) => p.fraction),
      [0.25, 0.5, 1],
    );
    assert.strictEqual(other.length, 0);
  });

  it('a failed init is reported, and the next request retries with the current setting', async function () {
    engine.dispose();
    let choice: BackendChoice = 'node';
    ({ engine, logs } = client(FAKE_ENTRY, { backendChoice: () => choice }));
    const error = await rejection(engine.backendReport());
    assert.strictEqual(error.code, 'unsupported');
    assert.match(error.message, /tfjs-node is not installed/);
    choice = 'cpu';
    assert.strictEqual((await engine.backendReport()).backend, 'cpu');
    assert.strictEqual(engine.workerStarts, 2);
  });

  it('restart() and dispose() stop the worker; calls after dispose fail clearly', async function () {
    await engine.backendReport();
    engine.restart('backend setting changed');
    assert.deepStrictEqual(await explainPath('b'), { echo: 'b' });
    assert.strictEqual(engine.workerStarts, 2);
    engine.dispose();
    await assert.rejects(explainPath('c'), /disposed/);
  });
});

describe('worker client: the real engine worker', function () {
  let root: string;
  let modelPath: string;
  let imagePath: string;
  let engine: EngineClient;
  let logs: string[];

  before(async function () {
    await initBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-client-'));
    modelPath = await saveTinyModel(path.join(root, 'model'));
    imagePath = path.join(root, 'image.png');
    fs.writeFileSync(imagePath, await encodePng(gradientImage(20, 14)));
    fs.writeFileSync(path.join(root, 'not-an-image.png'), 'hello');
    ({ engine, logs } = client(REAL_ENTRY));
  });
  after(function () {
    engine?.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('loads the model and explains the image exactly as the engine does in-process', async function () {
    const summary = await engine.loadModel(modelPath);
    assert.deepStrictEqual(summary.labels, ['cat', 'dog', 'bird']);
    assert.strictEqual(summary.defaultCamLayer, 'conv2');

    const progress: Progress[] = [];
    const { result, map, display } = await engine.explain(
      { modelPath, imagePath, request: { method: 'gradcam', layer: 'conv1', classIndex: 0, topK: 3 } },
      { onProgress: (p) => progress.push(p) },
    );
    assert.strictEqual(result.backend, 'cpu');
    assert.strictEqual(result.layer, 'conv1');
    assert.strictEqual(result.classIndex, 0);
    assert.strictEqual(result.className, 'cat');
    assert.deepStrictEqual([display.image?.width, display.image?.height, display.originalWidth, display.originalHeight], [20, 14, 20, 14], 'a small image is shown at its own size');
    assert.deepStrictEqual([map.width, map.height, map.low, map.high], [20, 14, 0, 1], 'the map comes at the display size, 8-bit, 0..1');
    assert.deepStrictEqual([result.cam.width, result.cam.height], [16, 16], 'the CAM comes at the model input size');
    assert.deepStrictEqual([result.layerCam.width, result.layerCam.height], [14, 14], 'conv1 (3x3, valid) is 14x14');
    assert.ok(progress.length > 0 && progress[progress.length - 1].fraction === 1, `progress: ${JSON.stringify(progress)}`);
    for (const key of ['modelMs', 'imageMs', 'requestMs']) {
      assert.ok(Number.isFinite(result.timings[key]), `timings.${key} missing: ${JSON.stringify(result.timings)}`);
    }

    // Reference: the same calls in this process, same backend.
    const local = await loadModel(modelPath);
    try {
      const expected = await explain(local, await readImage(imagePath), { method: 'gradcam', layer: 'conv1', classIndex: 0, topK: 3 });
      assert.deepStrictEqual(
        result.predictions.map((p) => [p.index, p.label, p.probability?.toFixed(6)]),
        expected.predictions.map((p) => [p.index, p.label, p.probability?.toFixed(6)]),
      );
      assert.deepStrictEqual(Array.from(result.cam.data), Array.from(expected.cam.data));
      assert.deepStrictEqual(Array.from(map.data), Array.from(indexedCam(expected.cam, 20, 14).data));
      assert.ok(Math.max(...result.cam.data) > 0, 'the CAM is all zero: the comparison above proves little');
    } finally {
      local.dispose();
    }
  });

  it('keeps the model loaded between requests, reloads on request, and leaks no tensors', async function () {
    const loads = () => logs.filter((line) => /loaded in/.test(line)).length;
    const request = { modelPath, imagePath, request: { method: 'gradcam' as const } };
    // From a reload on: the worker then holds one forward pass of this model (the last request's).
    await engine.loadModel(modelPath, { reload: true });
    const before = loads();
    const first = await engine.explain(request);
    const memory = await engine.memory();
    const otherClass = await engine.explain({ ...request, request: { method: 'gradcam', classIndex: 1 } });
    assert.strictEqual(otherClass.result.details?.forwardReused, true, 'another class at the same layer reuses the forward pass');
    assert.deepStrictEqual(otherClass.result.predictions, first.result.predictions);
    await engine.explain(request);
    assert.strictEqual(loads(), before, 'a cached model was loaded again');
    assert.strictEqual((await engine.memory()).numTensors, memory.numTensors, 'tensors grew across requests');
    await engine.loadModel(modelPath, { reload: true });
    assert.strictEqual(loads(), before + 1);
    const reloaded = await engine.explain(request);
    assert.strictEqual(reloaded.result.details?.forwardReused, false, 'a reloaded model runs its own forward pass');
    assert.strictEqual((await engine.memory()).numTensors, memory.numTensors, 'the reload leaked the old weights or their kept forward pass');
  });

  it('reports engine errors with their code and the file they concern', async function () {
    const badImage = path.join(root, 'not-an-image.png');
    let error = await rejection(engine.explain({ modelPath, imagePath: badImage, request: { method: 'gradcam' } }));
    assert.strictEqual(error.code, 'bad-input');
    assert.ok(error.message.includes(badImage), error.message);

    error = await rejection(engine.explain({ modelPath, imagePath, request: { method: 'gradcam', layer: 'nope' } }));
    assert.strictEqual(error.code, 'bad-request');
    assert.match(error.message, /nope/);

    const missing = path.join(root, 'missing', 'model.json');
    error = await rejection(engine.loadModel(missing));
    assert.strictEqual(error.code, 'bad-input');
    assert.ok(error.message.includes(missing), error.message);
  });

  it('refuses images over the limit it was started with (cnnLens.maxImageMegapixels); a restart takes a new limit', async function () {
    let limit = 20 * 14 - 1;
    const limited = client(REAL_ENTRY, { maxImagePixels: () => limit }).engine;
    try {
      const error = await rejection(limited.explain({ modelPath, imagePath, request: { method: 'gradcam' } }));
      assert.strictEqual(error.code, 'bad-input');
      assert.ok(error.message.includes(imagePath) && error.message.includes('20×14') && error.message.includes('cnnLens.maxImageMegapixels'), error.message);
      limit = 20 * 14;
      limited.restart('the setting changed');
      const { display } = await limited.explain({ modelPath, imagePath, request: { method: 'gradcam' } });
      assert.deepStrictEqual([display.originalWidth, display.originalHeight], [20, 14]);
    } finally {
      limited.dispose();
    }
  });

  it('sends a large image once, at display size, with every map at that size; another class sends only the map', async function () {
    const largePath = path.join(root, 'large.png');
    fs.writeFileSync(largePath, await encodePng(gradientImage(1000, 700)));
    const request = { modelPath, imagePath: largePath, request: { method: 'gradcam' as const, classIndex: 0 } };
    const first = await engine.explain(request);
    assert.ok(first.display.image, 'the first answer brings the image');
    assert.deepStrictEqual([first.display.image.width, first.display.image.height], [768, 538], 'longest side DISPLAY_MAX_SIDE');
    assert.deepStrictEqual([first.display.originalWidth, first.display.originalHeight], [1000, 700]);
    assert.deepStrictEqual([first.map.width, first.map.height, first.map.data.length], [768, 538, 768 * 538]);
    const again = await engine.explain({ ...request, request: { method: 'gradcam', classIndex: 1 }, knownImageKey: first.display.key });
    assert.strictEqual(again.display.key, first.display.key);
    assert.strictEqual(again.display.image, undefined, 'the caller holds it: not sent again');
    assert.deepStrictEqual([again.map.width, again.map.height], [768, 538]);
    // A caller holding another image (or none) gets it.
    const other = await engine.explain({ ...request, knownImageKey: 'something else' });
    assert.deepStrictEqual([other.display.image?.width, other.display.image?.height], [768, 538]);
  });

  it('exports in one request: the overlay blended at the image\'s own resolution and encoded, no pixels sent to it', async function () {
    const largePath = path.join(root, 'export.png');
    const original = gradientImage(1000, 700);
    fs.writeFileSync(largePath, await encodePng(original));
    const { result, display } = await engine.explain({ modelPath, imagePath: largePath, request: { method: 'gradcam', classIndex: 2 } });
    const exported = await engine.exportOverlay({ imagePath: largePath, imageKey: display.key, cam: result.cam, colormap: 'viridis', opacity: 0.3 });
    assert.deepStrictEqual([exported.width, exported.height], [1000, 700]);
    assert.deepStrictEqual(Array.from(exported.png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG');
    const written = path.join(root, 'exported.png');
    fs.writeFileSync(written, exported.png);
    const decoded = await readImage(written);
    assert.deepStrictEqual([decoded.width, decoded.height], [1000, 700], 'at full resolution, not the display size');
    const expected = renderOverlay(await readImage(largePath), result.cam, 'viridis', 0.3);
    assert.ok(Buffer.from(decoded.data).equals(Buffer.from(expected.data)), 'the same pixels as the CLI renders');
    // The file changed since it was explained: refused rather than blended with a map of its old self.
    fs.writeFileSync(largePath, await encodePng(gradientImage(999, 700)));
    const error = await rejection(engine.exportOverlay({ imagePath: largePath, imageKey: display.key, cam: result.cam, colormap: 'jet', opacity: 0.5 }));
    assert.strictEqual(error.code, 'bad-request');
    assert.match(error.message, /changed on disk since it was explained/);
  });
});

function gradientImage(width: number, height: number) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data.set([(x * 255) / width, (y * 255) / height, ((x + y) * 97) % 256, 255], i);
    }
  }
  return { width, height, data };
}

/** A 16x16x3 CNN with two conv layers and three labelled classes, saved as model.json + shard. */
async function saveTinyModel(folder: string): Promise<string> {
  fs.mkdirSync(folder, { recursive: true });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'conv1', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }));
  model.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'conv2', kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'head', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }));
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save({
    save: async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  model.dispose();
  const shard = 'weights.bin';
  fs.writeFileSync(
    path.join(folder, 'model.json'),
    JSON.stringify({ modelTopology: artifacts!.modelTopology, format: 'layers-model', weightsManifest: [{ paths: [shard], weights: artifacts!.weightSpecs }] }),
  );
  fs.writeFileSync(path.join(folder, shard), new Uint8Array(artifacts!.weightData as ArrayBuffer));
  fs.writeFileSync(path.join(folder, 'labels.txt'), 'cat\ndog\nbird\n');
  return path.join(folder, 'model.json');
}
