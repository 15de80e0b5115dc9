// Sampling batches shared with helper engines (src/engine/explain/samplePool.ts, src/worker/helperEngines.ts):
// the maps are those of one engine alone, whatever the helpers do (compute their part, fail, or not
// exist yet); the real engine worker starts a helper worker and hands it parts once it holds the model.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { BATCH_MEMORY_BYTES } from '../../src/engine/execution/batching';
import { compareMethods, explain, readImage, type LoadedModel } from '../../src/engine/index';
import { helperShare, runSamplePass, type SamplePart, type SamplePool } from '../../src/engine/explain/samplePool';
import * as tf from '../../src/engine/tf';
import type { CamResult, ExplainRequest, MethodName } from '../../src/shared/types';
import { EngineClient } from '../../src/workerClient/client';
import { resolveSampleWorkers } from '../../src/shared/sampleWorkers';
import { randomRgbaImage, residualModel, twinOf, wrapInMemory } from '../fixtures/models';
import { engineFromSource } from './fixtures/workerFromSource';

const ROOT = path.resolve(__dirname, '..', '..');



/** A helper engine in this process: its own copy of the model (same weights), as a helper worker has. */
function twinPool(twin: tf.LayersModel, parts: SamplePart[], fail = false): SamplePool {
  return {
    helpers: 1,
    run: async (part) => {
      parts.push(part);
      await new Promise((resolve) => setImmediate(resolve));
      if (fail) {
        throw new Error('helper crashed');
      }
      const batch = tf.tensor4d(part.batch, part.shape);
      const out = runSamplePass(twin, batch, part, BATCH_MEMORY_BYTES);
      const values = out.dataSync() as Float32Array;
      tf.dispose([batch, out]);
      return values;
    },
  };
}

function assertSameMap(actual: CamResult, expected: CamResult, what: string): void {
  let worst = 0;
  actual.layerCam.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected.layerCam.data[i]) / Math.max(Math.abs(expected.layerCam.data[i]), 1e-3))));
  assert.ok(worst < 1e-5, `${what}: differs by ${worst} (relative)`);
  assert.ok(expected.layerCam.data.some((v) => v !== 0), `${what}: an all-zero map proves little`);
}

describe('sampling batches shared with helper engines', function () {
  this.timeout(180_000);

  it('splits a batch: equal shares for the helpers, the rest here; nothing for one input', () => {
    assert.deepStrictEqual(helperShare(16, 1), [8]);
    assert.deepStrictEqual(helperShare(17, 1), [8]);
    assert.deepStrictEqual(helperShare(16, 3), [4, 4, 4]);
    assert.deepStrictEqual(helperShare(5, 2), [1, 1]);
    assert.deepStrictEqual(helperShare(2, 3), [1], 'never more engines than inputs');
    assert.deepStrictEqual(helperShare(1, 3), []);
    assert.deepStrictEqual(helperShare(16, 0), []);
  });

  it('the setting: -1 is one helper per spare core (at most 3), else the number asked (at most 8)', () => {
    assert.strictEqual(resolveSampleWorkers(-1, 2), 1);
    assert.strictEqual(resolveSampleWorkers(-1, 1), 0);
    assert.strictEqual(resolveSampleWorkers(-1, 16), 3);
    assert.strictEqual(resolveSampleWorkers(0, 16), 0);
    assert.strictEqual(resolveSampleWorkers(2, 2), 2);
    assert.strictEqual(resolveSampleWorkers(50, 2), 8);
    assert.strictEqual(resolveSampleWorkers(1.5, 4), 3, 'not a whole number: the default');
  });

  describe('in the engine, with a helper in this process', () => {
    let model: LoadedModel;
    let twin: tf.LayersModel;
    const picture = randomRgbaImage(12, 12, 21);

    before(async () => {
      await initBackend('cpu');
      model = wrapInMemory(residualModel());
      twin = twinOf(model.model, () => residualModel());
    });
    after(() => {
      model.dispose();
      twin.dispose();
    });

    for (const request of [
      { method: 'smoothgrad', options: { samples: 8, batchSize: 8, noise: 0.3 } },
      { method: 'integrated-gradients', options: { steps: 7, batchSize: 7 } },
      { method: 'scorecam', layer: 'mix', classIndex: 2, options: { batchSize: 8 } },
      { method: 'occlusion', options: { patch: 4, stride: 4, batchSize: 8 } },
    ] as ExplainRequest[]) {
      it(`${request.method}: the helper's share gives the map of one engine alone; a failing helper costs nothing but time`, async () => {
        const alone = await explain(model, picture, request);
        const before = tf.memory().numTensors;
        const parts: SamplePart[] = [];
        const shared = await explain(model, picture, request, { samplePool: twinPool(twin, parts) });
        assert.ok(parts.length > 0, 'the helper got parts');
        assert.strictEqual(shared.details?.inputsElsewhere, parts.reduce((n, p) => n + p.shape[0], 0));
        assert.ok((shared.details?.inputsElsewhere ?? 0) >= 2, `${shared.details?.inputsElsewhere} inputs elsewhere`);
        assertSameMap(shared, alone, request.method);
        assert.strictEqual(shared.score, alone.score);

        const failed = await explain(model, picture, request, { samplePool: twinPool(twin, [], true) });
        assert.strictEqual(failed.details?.inputsElsewhere, undefined, 'nothing was computed elsewhere');
        assertSameMap(failed, alone, `${request.method} with a failing helper`);
        assert.strictEqual(tf.memory().numTensors, before, 'no tensor left behind');
      });
    }

    it('the helpers are asked before this engine computes its own part (they run at the same time)', async () => {
      const events: string[] = [];
      const pool: SamplePool = {
        helpers: 1,
        run: async (part) => {
          // As the worker client does: the message leaves a few promise steps after run() returns.
          await Promise.resolve();
          await Promise.resolve();
          events.push('posted');
          const batch = tf.tensor4d(part.batch, part.shape);
          const out = runSamplePass(twin, batch, part, BATCH_MEMORY_BYTES);
          const values = out.dataSync() as Float32Array;
          tf.dispose([batch, out]);
          return values;
        },
      };
      // The Add layer: convolutions run unfused under a gradient tape, not through their call().
      const first = model.model.getLayer('add') as unknown as { call: (...args: unknown[]) => unknown };
      const call = first.call;
      first.call = function (this: unknown, ...args: unknown[]) {
        events.push('local pass');
        return call.apply(this, args);
      };
      try {
        await explain(model, picture, { method: 'smoothgrad', options: { samples: 4, batchSize: 4 } }, { samplePool: pool });
      } finally {
        first.call = call;
      }
      // The first local pass is the class's forward pass; then the batch: posted, then computed here.
      const batchStart = events.indexOf('posted');
      assert.ok(batchStart >= 0, JSON.stringify(events));
      assert.deepStrictEqual(events.slice(batchStart, batchStart + 2), ['posted', 'local pass'], JSON.stringify(events));
    });

    it('the metrics: the helper scores part of the perturbed images; the curves are one engine\'s', async () => {
      const request: ExplainRequest = { method: 'gradcam', layer: 'add', metrics: true, options: { batchSize: 8 } };
      const alone = await explain(model, picture, request);
      const parts: SamplePart[] = [];
      const shared = await explain(model, picture, request, { samplePool: twinPool(twin, parts) });
      assert.ok(parts.length > 0 && parts.every((p) => p.pass === 'logits'), 'the helper computed logits');
      const curves = (r: CamResult) => [r.metrics?.deletion.scores, r.metrics?.insertion.scores, r.metrics?.roadMostRelevantFirst.scores].flat() as number[];
      const a = curves(alone);
      const b = curves(shared);
      assert.strictEqual(a.length, b.length);
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-6, `score ${i}: ${v} vs ${b[i]}`));
      assert.ok(new Set(a.map((v) => v.toFixed(4))).size > 3, 'the curves vary: comparing them proves something');
    });

    it('compareMethods shares its sampling methods and metrics with the helpers too (issue 14: it built each method\'s context without the pool)', async () => {
      const methods: MethodName[] = ['gradcam', 'smoothgrad', 'occlusion'];
      const request = { layer: 'add', metrics: true, options: { samples: 8, batchSize: 8, patch: 4, stride: 4 } };
      const alone = await compareMethods(model, picture, methods, request);
      const parts: SamplePart[] = [];
      const shared = await compareMethods(model, picture, methods, request, { samplePool: twinPool(twin, parts) });
      assert.ok(parts.length > 0, 'the helper got parts of the comparison');
      for (const [i, { method, result }] of shared.entries()) {
        if (method !== 'gradcam') {
          assert.ok((result.details?.inputsElsewhere ?? 0) > 0, `${method}: ${result.details?.inputsElsewhere} inputs on the helper`);
        }
        assert.ok(parts.some((p) => p.pass === 'logits'), 'the metrics scored part of their images on the helper');
        assertSameMap(result, alone[i].result, `${method} in a comparison with a helper`);
      }
    });

    it('a request cancelled while a helper computes rejects as cancelled (the part is not computed here)', async () => {
      const parts: SamplePart[] = [];
      const controller = new AbortController();
      const pool: SamplePool = {
        helpers: 1,
        run: (part) => {
          parts.push(part);
          controller.abort();
          return Promise.reject(new Error('cancelled'));
        },
      };
      await assert.rejects(
        explain(model, picture, { method: 'smoothgrad', options: { samples: 4, batchSize: 4 } }, { samplePool: pool, signal: controller.signal }),
        /cancel/i,
      );
      assert.strictEqual(parts.length, 1);
    });
  });

  describe('the engine worker with a helper worker', () => {
    let root: string;
    let engine: EngineClient;
    const logs: string[] = [];
    const modelPath = path.join(ROOT, 'samples', 'workspace', 'model', 'model.json');
    const imagePath = path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png');

    before(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-pool-'));
      engine = engineFromSource({ backend: () => 'wasm', sampleWorkers: () => 1, log: (line) => logs.push(line) });
    });
    after(() => {
      engine.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('shares SmoothGrad batches once the helper holds the model, with the maps of one engine', async () => {
      const request: ExplainRequest = { method: 'smoothgrad', options: { samples: 8, batchSize: 8, seed: 3 } };
      // The first sampling request starts the helper loading the model and runs alone.
      const first = await engine.explain({ modelPath, imagePath, request });
      assert.strictEqual(first.result.details?.inputsElsewhere, undefined);
      let shared = first;
      for (let attempt = 0; attempt < 60 && !shared.result.details?.inputsElsewhere; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        shared = await engine.explain({ modelPath, imagePath, request });
      }
      assert.strictEqual(shared.result.details?.inputsElsewhere, 4, `the helper never took a share: ${logs.filter((l) => /helper/.test(l)).join('\n')}`);
      assert.ok(logs.some((l) => /sample helper 1: engine #1: backend wasm/.test(l)), 'the helper runs the same backend');

      // The same request in this process, one engine, same backend.
      await initBackend('wasm');
      const { loadModel } = await import('../../src/engine/index');
      const local = await loadModel(modelPath);
      try {
        assertSameMap(shared.result, await explain(local, await readImage(imagePath), request), 'smoothgrad in two workers');
      } finally {
        local.dispose();
        await initBackend('cpu');
      }

      // Grad-CAM never involves the helper.
      const before = logs.length;
      const gradcam = await engine.explain({ modelPath, imagePath, request: { method: 'gradcam' } });
      assert.strictEqual(gradcam.result.details?.inputsElsewhere, undefined);
      assert.ok(!logs.slice(before).some((l) => /sample helper/.test(l)));
    });

    it('a comparison through the worker uses the helper, and reports each method\'s time apart from its metrics\' time', async () => {
      const request = { metrics: true, options: { samples: 8, batchSize: 8, seed: 3 } };
      const methods: MethodName[] = ['gradcam', 'smoothgrad'];
      let compared = await engine.compare({ modelPath, imagePath, methods, request });
      for (let attempt = 0; attempt < 60 && !compared.results[1].result.details?.inputsElsewhere; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        compared = await engine.compare({ modelPath, imagePath, methods, request });
      }
      assert.strictEqual(compared.results[1].result.details?.inputsElsewhere, 4, `SmoothGrad in a comparison never shared its samples: ${logs.filter((l) => /helper|compare/.test(l)).join('\n')}`);

      const started = performance.now();
      compared = await engine.compare({ modelPath, imagePath, methods, request });
      const wall = performance.now() - started;
      for (const { method, result, timeMs, metricsMs } of compared.results) {
        assert.ok(result.metrics, `${method}: metrics`);
        assert.ok(typeof metricsMs === 'number' && metricsMs >= result.metrics.timeMs, `${method}: the metrics' own time (${metricsMs} ms) covers their ${result.metrics.timeMs} ms`);
        assert.ok(timeMs > 0, `${method}: its own time ${timeMs} ms`);
      }
      // The parts do not overlap: the method times exclude the metrics (they included them before).
      const parts = compared.results.reduce((sum, r) => sum + r.timeMs + (r.metricsMs ?? 0), 0);
      assert.ok(parts <= wall, `methods and metrics ${parts.toFixed(1)} ms within the request's ${wall.toFixed(1)} ms`);
    });

    it('a reloaded model is reloaded by the helper before it helps again', async () => {
      const request: ExplainRequest = { method: 'integrated-gradients', options: { steps: 6, batchSize: 6 } };
      await engine.loadModel(modelPath, { reload: true });
      const afterReload = await engine.explain({ modelPath, imagePath, request });
      assert.strictEqual(afterReload.result.details?.inputsElsewhere, undefined, 'the helper still holds the old load');
      let shared = afterReload;
      for (let attempt = 0; attempt < 60 && !shared.result.details?.inputsElsewhere; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        shared = await engine.explain({ modelPath, imagePath, request });
      }
      assert.strictEqual(shared.result.details?.inputsElsewhere, 3);
      assert.ok(logs.filter((l) => /sample helper: .* ready in/.test(l)).length >= 2, 'loaded twice');
      assertSameMap(shared.result, afterReload.result, 'integrated gradients in two workers');
    });
  });
});
