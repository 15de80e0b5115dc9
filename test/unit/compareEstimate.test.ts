// The comparison's estimate (src/shared/compareEstimate.ts, src/engine/explain/passCost.ts) and the time
// split of compareMethods: passes counted per method as the methods run them, the measured cost of
// one forward pass, the confirmation's threshold and words, and each method's time apart from its
// metrics'.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import { compareMethods, estimateComparison, explain } from '../../src/engine/index';
import { patchStarts } from '../../src/engine/explain/methods/occlusion';
import { defaultPatch as engineDefaultPatch } from '../../src/engine/explain/methodOptions';
import {
  CONFIRM_ABOVE_MS,
  GRADIENT_PASS_COST,
  METRIC_IMAGES,
  defaultPatch,
  describeEstimate,
  estimateCompare,
  formatDuration,
  methodPasses,
  needsConfirmation,
  patchCount,
  type CompareEstimateInput,
} from '../../src/shared/compareEstimate';
import { DELETION_STEPS, ROAD_FRACTIONS } from '../../src/engine/explain/metrics';
import { METHOD_NAMES, type MethodName } from '../../src/shared/types';
import { buildMobileNetV2Style, MOBILENET_LAYERS } from '../fixtures/architectures';
import { randomRgbaImage, residualModel, wrapInMemory } from '../fixtures/models';

const base: CompareEstimateInput = {
  methods: ['gradcam'],
  metrics: false,
  forwardMs: 30,
  imputationMsPerPixel: 0.002,
  channels: 1280,
  height: 224,
  width: 224,
  helpers: 0,
};

describe('comparison estimate', function () {
  this.timeout(120_000);

  it('counts occlusion patches as the engine places them, for every size, patch and stride', () => {
    for (let size = 1; size <= 40; size++) {
      for (let patch = 1; patch <= size; patch++) {
        for (let stride = 1; stride <= patch + 2; stride++) {
          assert.strictEqual(patchCount(size, patch, stride), patchStarts(size, patch, stride).length, `size ${size}, patch ${patch}, stride ${stride}`);
        }
      }
      assert.strictEqual(defaultPatch(size, size + 3), engineDefaultPatch(size, size + 3));
    }
  });

  it('counts the metrics\' images as computeMetrics scores them', () => {
    assert.strictEqual(METRIC_IMAGES, 2 * (DELETION_STEPS + 1) + 2 * ROAD_FRACTIONS.length + 2);
  });

  it('Score-CAM on MobileNetV2\'s last layer (1280 channels at ~31 ms a pass) is about 40 s and asks first; Grad-CAM does not', () => {
    const scorecam = estimateCompare({ ...base, methods: ['scorecam'], forwardMs: 31 });
    assert.strictEqual(scorecam.methods[0].passes, 1281);
    assert.ok(Math.abs(scorecam.totalMs - 1281 * 31) < 1e-6);
    assert.strictEqual(formatDuration(scorecam.totalMs), 'about 40 s');
    assert.ok(needsConfirmation(scorecam));
    const gradcam = estimateCompare({ ...base, forwardMs: 31 });
    assert.strictEqual(gradcam.totalMs, GRADIENT_PASS_COST * 31);
    assert.ok(!needsConfirmation(gradcam));
    assert.ok(needsConfirmation({ ...gradcam, totalMs: CONFIRM_ABOVE_MS + 1 }) && !needsConfirmation({ ...gradcam, totalMs: CONFIRM_ABOVE_MS }));
  });

  it('every method has a count; the sampling ones follow their options', () => {
    for (const method of METHOD_NAMES) {
      const { passes } = methodPasses(method, base);
      assert.ok(Number.isFinite(passes) && passes >= 1, method);
    }
    assert.strictEqual(methodPasses('smoothgrad', { ...base, options: { samples: 10 } }).passes, 1 + 10 * GRADIENT_PASS_COST);
    assert.strictEqual(methodPasses('integrated-gradients', { ...base, options: { steps: 7 } }).passes, 1 + 7 * GRADIENT_PASS_COST);
    // 224 / 8 = 28-pixel patches every 14 pixels: 15 positions a side.
    assert.strictEqual(methodPasses('occlusion', base).passes, 1 + 15 * 15);
    assert.strictEqual(methodPasses('scorecam', { ...base, channels: 64 }).passes, 65);
  });

  it('metrics cost their images and imputations per map; helpers divide the sampling batches only', () => {
    const without = estimateCompare({ ...base, methods: ['gradcam', 'scorecam'] });
    const withMetrics = estimateCompare({ ...base, methods: ['gradcam', 'scorecam'], metrics: true });
    const perMap = METRIC_IMAGES * base.forwardMs + 18 * 224 * 224 * base.imputationMsPerPixel;
    assert.ok(Math.abs(withMetrics.metricsMs - 2 * perMap) < 1e-6);
    assert.ok(Math.abs(withMetrics.totalMs - without.totalMs - 2 * perMap) < 1e-6);
    const helped = estimateCompare({ ...base, methods: ['gradcam', 'scorecam'], helpers: 1 });
    assert.strictEqual(helped.methods[0].ms, without.methods[0].ms, 'Grad-CAM runs no shared batch');
    assert.ok(Math.abs(helped.methods[1].ms - (1 + 1280 / 2) * base.forwardMs) < 1e-6, 'Score-CAM\'s channels are split with the helper');
  });

  it('the confirmation names the total, the forward pass, and what makes it long', () => {
    const estimate = estimateCompare({ ...base, methods: ['gradcam', 'scorecam', 'saliency'], metrics: true, forwardMs: 31 });
    const { headline, details } = describeEstimate(estimate, 'out_relu');
    assert.match(headline, /^This comparison will take about \d+ s \(one forward pass of this model takes 31 ms\)\.$/);
    assert.match(details[0], /^Score-CAM: about 40 s \(one forward pass for each of out_relu's 1280 channels\)$/);
    assert.ok(details.some((d) => /^Faithfulness metrics: about \d+ s \(86 perturbed images scored for each of the 3 maps\)$/.test(d)), details.join('\n'));
    assert.ok(!details.some((d) => d.startsWith('Saliency')), 'a method that costs little is not listed');
    assert.strictEqual(formatDuration(400), 'under a second');
    assert.strictEqual(formatDuration(150_000), 'about 3 min');
  });

  describe('in the engine', () => {
    before(async () => {
      await initBackend('cpu');
    });

    it('measures one forward pass and predicts Score-CAM\'s time within a factor of 3', async () => {
      const model = wrapInMemory(buildMobileNetV2Style({ inputSize: 64, width: 16 }));
      try {
        const picture = randomRgbaImage(64, 64, 3);
        const request = { layer: MOBILENET_LAYERS.last, options: { batchSize: 1 } };
        const { estimate, layer } = await estimateComparison(model, picture, ['scorecam'], request);
        assert.strictEqual(layer, MOBILENET_LAYERS.last);
        assert.strictEqual(estimate.methods[0].passes, 1 + 64, 'the head has 4 × 16 channels');
        assert.ok(estimate.forwardMs > 0);
        const started = performance.now();
        await explain(model, picture, { method: 'scorecam', ...request });
        const actual = performance.now() - started;
        const ratio = estimate.totalMs / actual;
        assert.ok(ratio > 1 / 3 && ratio < 3, `estimated ${estimate.totalMs.toFixed(0)} ms, took ${actual.toFixed(0)} ms`);
      } finally {
        model.dispose();
      }
    });

    it('input-level methods alone need no layer; metrics add their imputations', async () => {
      const model = wrapInMemory(residualModel());
      try {
        const picture = randomRgbaImage(12, 12, 4);
        const plain = await estimateComparison(model, picture, ['saliency'], {});
        assert.strictEqual(plain.layer, undefined);
        const measured = await estimateComparison(model, picture, ['saliency'], { metrics: true });
        assert.ok(measured.estimate.metricsMs > METRIC_IMAGES * measured.estimate.forwardMs * 0.5, 'the metrics are counted');
      } finally {
        model.dispose();
      }
    });

    it('compareMethods times each method apart from its metrics: the parts never add up to more than the run', async () => {
      const model = wrapInMemory(residualModel());
      try {
        const picture = randomRgbaImage(12, 12, 5);
        const methods: MethodName[] = ['gradcam', 'saliency', 'eigencam'];
        await explain(model, picture, { method: 'gradcam' }); // warm-up
        const started = performance.now();
        const compared = await compareMethods(model, picture, methods, { layer: 'add', metrics: true });
        const wall = performance.now() - started;
        let parts = 0;
        for (const { method, result, timeMs, metricsMs } of compared) {
          assert.ok(result.metrics && metricsMs !== undefined, `${method}: metrics and their time`);
          assert.ok(metricsMs >= result.metrics.timeMs, `${method}: ${metricsMs} ms covers the metrics' own ${result.metrics.timeMs} ms`);
          parts += timeMs + metricsMs;
        }
        // Before, each method's time included its metrics: time + metrics overran the whole run.
        assert.ok(parts <= wall, `the parts (${parts.toFixed(1)} ms) within the run (${wall.toFixed(1)} ms)`);
        const plain = await compareMethods(model, picture, ['gradcam'], { layer: 'add' });
        assert.strictEqual(plain[0].metricsMs, undefined, 'no metrics asked, no metrics time');
      } finally {
        model.dispose();
      }
    });

    it('progress names each step: method i of n, its map, then its metrics', async () => {
      const model = wrapInMemory(residualModel());
      try {
        const steps: string[] = [];
        await compareMethods(model, randomRgbaImage(12, 12, 6), ['gradcam', 'saliency'], { layer: 'add', metrics: true }, {
          onProgress: (p) => {
            const s = p.step;
            assert.ok(s, `a step on "${p.message}"`);
            const key = `${s.method} ${s.index + 1}/${s.of} ${s.phase}`;
            if (steps[steps.length - 1] !== key) steps.push(key);
          },
        });
        assert.deepStrictEqual(steps, ['gradcam 1/2 method', 'gradcam 1/2 metrics', 'saliency 2/2 method', 'saliency 2/2 metrics']);
      } finally {
        model.dispose();
      }
    });
  });
});
