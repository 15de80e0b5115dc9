// Faithfulness metrics: the pieces against hand computations (imputation of affine images, AUC,
// ranking) and the whole on the sample model, where a map pointing at the garment must beat a
// random map on deletion and insertion.
import * as assert from 'assert';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, loadModel, readImage } from '../../src/engine/index';
import { computeLogits } from '../../src/engine/execution/graph';
import { toModelInput } from '../../src/engine/images/image';
import { computeMetrics, DELETION_STEPS, rankPixels, ROAD_FRACTIONS, trapezoidAuc } from '../../src/engine/explain/metrics';
import { noisyLinearImpute } from '../../src/engine/explain/metrics/imputation';
import { postprocessCam } from '../../src/engine/explain/pipeline';
import type { Map2D } from '../../src/shared/types';
import { seededRandom } from '../fixtures/models';

const root = path.resolve(__dirname, '..', '..');

describe('faithfulness metrics', function () {
  this.timeout(120_000);

  it('noisy linear imputation: without noise it reproduces an affine image in removed interior regions; noise has the given std', () => {
    const height = 12;
    const width = 10;
    const channels = 3;
    const values = new Float32Array(height * width * channels);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) values[(y * width + x) * channels + c] = 0.1 * x - 0.05 * y + c;
    const removed = new Uint8Array(height * width);
    for (let y = 2; y < 9; y++) for (let x = 3; x < 8; x++) removed[y * width + x] = 1; // a 7×5 hole away from the border
    removed[5 * width + 1] = 1;
    const filled = noisyLinearImpute(values, height, width, channels, removed, { noise: 0 });
    for (let i = 0; i < values.length; i++) assert.ok(Math.abs(filled[i] - values[i]) < 1e-5, `pixel value ${i}: ${filled[i]} vs ${values[i]}`);
    // A removed region takes values from its neighbours, not zeros: fill a hole in a constant image.
    const constant = new Float32Array(height * width).fill(0.7);
    const noisy = noisyLinearImpute(constant, height, width, 1, removed, { noise: 0.01, seed: 3 });
    const deviations = Array.from(noisy).filter((_, p) => removed[p]).map((v) => v - 0.7);
    const std = Math.sqrt(deviations.reduce((s, d) => s + d * d, 0) / deviations.length);
    assert.ok(std > 0.006 && std < 0.014, `noise std ${std}`);
    assert.ok(Array.from(noisy).every((v, p) => removed[p] || v === constant[p]), 'kept pixels are untouched');
  });

  it('ranks pixels by decreasing value (ties in raster order) and integrates by the trapezoid rule', () => {
    const map: Map2D = { width: 3, height: 2, data: Float32Array.from([0.2, 0.9, 0.2, 0, 1, 0.5]) };
    assert.deepStrictEqual(Array.from(rankPixels(map)), [4, 1, 5, 0, 2, 3]);
    assert.ok(Math.abs(trapezoidAuc([0, 0.5, 1], [1, 0.5, 0]) - 0.5) < 1e-12);
    assert.ok(Math.abs(trapezoidAuc([0, 0.25, 1], [0, 1, 1]) - 0.875) < 1e-12);
  });

  describe('on the sample model (wasm)', () => {
    before(async () => {
      await initBackend('wasm');
    });
    after(async () => {
      await initBackend('cpu');
    });

    it('a map that points at the class evidence has lower deletion and higher insertion AUC than random maps; batched; no leaks', async () => {
      const model = await loadModel(path.join(root, 'samples', 'workspace', 'model', 'model.json'));
      try {
        const image = await readImage(path.join(root, 'samples', 'workspace', 'images', 'sample.png'));
        const explained = await explain(model, image, { method: 'gradcam' });
        const input = toModelInput(image, model.summary.inputShape, model.summary.preprocessing);
        let passes = 0;
        const context = {
          logits: (batch: tf.Tensor4D) => {
            passes += 1;
            return computeLogits(model.model, batch) as tf.Tensor2D;
          },
          step: async () => undefined,
          batchSize: 16,
          seed: 1,
        };
        try {
          const before = tf.memory().numTensors;
          const evidence = await computeMetrics(input, explained.cam, explained.classIndex, context);
          assert.strictEqual(tf.memory().numTensors, before, 'no tensor growth');
          const images = 1 + 2 * (DELETION_STEPS + 1) + 2 * ROAD_FRACTIONS.length + 1;
          assert.deepStrictEqual([evidence.passes, evidence.inputsScored, passes], [Math.ceil(images / 16), images, Math.ceil(images / 16)]);
          // The curves start where they must: nothing deleted = the image; everything deleted = black.
          assert.ok(Math.abs(evidence.deletion.scores[0] - evidence.probability) < 1e-6);
          assert.ok(Math.abs(evidence.insertion.scores[DELETION_STEPS] - evidence.probability) < 1e-6);
          assert.ok(Math.abs(evidence.probability - (explained.predictions[0].probability as number)) < 1e-5);
          // Random maps of two kinds: pixel noise, and maps as smooth as a CAM (random values at the
          // layer's 8×8, post-processed like a CAM, as pytorch-grad-cam's RandomCAM baseline).
          for (const seed of [1, 2, 3, 4]) {
            const random = seededRandom(seed);
            const noise: Map2D =
              seed % 2 === 0
                ? { width: 64, height: 64, data: Float32Array.from({ length: 64 * 64 }, () => (random() + 1) / 2) }
                : postprocessCam({ width: 8, height: 8, data: Float32Array.from({ length: 64 }, () => (random() + 1) / 2) }, 64, 64);
            const baseline = await computeMetrics(input, noise, explained.classIndex, context);
            assert.ok(evidence.deletion.auc < baseline.deletion.auc, `deletion: Grad-CAM ${evidence.deletion.auc} vs random ${baseline.deletion.auc}`);
            assert.ok(evidence.insertion.auc > baseline.insertion.auc, `insertion: Grad-CAM ${evidence.insertion.auc} vs random ${baseline.insertion.auc}`);
          }
          // A map of ones leaves the input unchanged: confidence change 0.
          const ones = await computeMetrics(input, { width: 64, height: 64, data: new Float32Array(64 * 64).fill(1) }, explained.classIndex, context);
          assert.ok(Math.abs(ones.confidenceChange) < 1e-6);
        } finally {
          input.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  });
});
