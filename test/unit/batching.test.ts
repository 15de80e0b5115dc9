// Memory-capped batches (src/engine/execution/batching.ts): the per-input estimate from the layers' output
// shapes, the cap, and passes split into slices giving the same maps as whole batches.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import { activationBytesPerInput, inSlices, maxInputsPerPass } from '../../src/engine/execution/batching';
import { layerEntries } from '../../src/engine/execution/layers';
import { getMethod } from '../../src/engine/explain/methods';
import { computeCam, type CamRequest } from '../../src/engine/explain/pipeline';
import * as tf from '../../src/engine/tf';
import type { MethodName, MethodOptions } from '../../src/shared/types';
import { nestedModel, randomInput, residualModel } from '../fixtures/models';

function request(model: tf.LayersModel, method: MethodName, layer: string, options: MethodOptions, batchMemoryBytes?: number): CamRequest {
  const entry = layerEntries(model).find((e) => e.info.name === layer);
  assert.ok(entry);
  return { method: getMethod(method), layer: { name: layer, path: entry.path }, classIndex: 1, labels: ['a', 'b', 'c'], topK: 3, backend: 'cpu', options, batchMemoryBytes };
}

describe('memory-capped batches', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend('cpu');
  });

  it('estimates a pass from every layer output, nested models counted once', () => {
    const model = residualModel();
    // image 10x10x3, stem 10x10x6, branch 10x10x6, add 10x10x6, mix 10x10x5, concat 10x10x11,
    // final 10x10x4, gap 4, logits 3: float32.
    const elements = 300 + 600 + 600 + 600 + 500 + 1100 + 400 + 4 + 3;
    assert.strictEqual(activationBytesPerInput(model), elements * 4);
    // 3.5x that per input with a gradient, 1.5x without.
    assert.strictEqual(maxInputsPerPass(model, 'gradient', elements * 4 * 3.5 * 7 + 1), 7);
    assert.strictEqual(maxInputsPerPass(model, 'forward', elements * 4 * 1.5 * 7 + 1), 7);
    assert.strictEqual(maxInputsPerPass(model, 'gradient', 1), 1, 'at least one input, however small the budget');
    model.dispose();

    const nested = nestedModel('linear');
    // image 10x10x3; in the nested base (its input layer is the image again): conv 10x10x6, BN
    // 10x10x6, conv 5x5x5; side 5x5x2, concat 5x5x7, top_conv 5x5x4; in the nested head: gap 4, dense 3.
    assert.strictEqual(activationBytesPerInput(nested), (300 + 600 + 600 + 125 + 50 + 175 + 100 + 4 + 3) * 4);
    nested.dispose();
  });

  it('inSlices runs a batch in order, in slices no larger than asked, and keeps no tensor', () => {
    const batch = tf.tensor4d(Float32Array.from({ length: 7 * 2 }, (_, i) => i), [7, 1, 1, 2]);
    const before = tf.memory().numTensors;
    const sizes: number[] = [];
    const doubled = inSlices(batch, 3, (slice) => {
      sizes.push(slice.shape[0]);
      return tf.mul(slice, 2) as tf.Tensor4D;
    });
    assert.deepStrictEqual(sizes, [3, 3, 1]);
    assert.deepStrictEqual(Array.from(doubled.dataSync()), Array.from({ length: 14 }, (_, i) => 2 * i));
    doubled.dispose();
    assert.strictEqual(tf.memory().numTensors, before);
    batch.dispose();
  });

  it('SmoothGrad, Integrated Gradients and Score-CAM under a small budget: more passes, the same maps', async () => {
    const model = residualModel();
    const input = randomInput([10, 10, 3], 4);
    const threeGradients = activationBytesPerInput(model) * 3.5 * 3 + 1;
    const twoForwards = activationBytesPerInput(model) * 1.5 * 2 + 1;
    for (const [method, options, budget, wholePasses, slicedPasses] of [
      // 1 forward + one pass of 8 samples, or 1 + ceil(8 / 3).
      ['smoothgrad', { samples: 8, batchSize: 8, noise: 0.2 }, threeGradients, 2, 4],
      // 1 forward + 8 steps + 1 baseline score, or 1 + ceil(8 / 3) + 1.
      ['integrated-gradients', { steps: 8, batchSize: 8 }, threeGradients, 3, 5],
      // 1 forward + the 5 channels of "mix" masked in one pass, or 1 + ceil(5 / 2).
      ['scorecam', { batchSize: 8 }, twoForwards, 2, 4],
    ] as const) {
      const whole = await computeCam(model, input, request(model, method, 'mix', options));
      const sliced = await computeCam(model, input, request(model, method, 'mix', options, budget));
      assert.strictEqual(whole.details?.passes, wholePasses, `${method}: passes of whole batches`);
      assert.strictEqual(sliced.details?.passes, slicedPasses, `${method}: passes within the budget`);
      let worst = 0;
      whole.layerCam.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - sliced.layerCam.data[i]) / Math.max(Math.abs(v), 1e-6))));
      assert.ok(worst < 1e-5, `${method}: sliced differs by ${worst} (relative)`);
      assert.ok(whole.layerCam.data.some((v) => v !== 0), `${method}: an all-zero map proves little`);
    }
    input.dispose();
    model.dispose();
  });
});
