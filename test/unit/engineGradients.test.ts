// The engine's replacement gradients (src/engine/kernels/gradients/) against tfjs-core's own, derivative by
// derivative, and registered in the global gradient registry so tf.grad uses them.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { fusedBatchNormGradConfig } from '../../src/engine/kernels/gradients/fusedBatchNorm';
import { fusedBatchNormGradConfig as tfjsFusedBatchNormGrad } from '@tensorflow/tfjs-core/dist/gradients/FusedBatchNorm_grad';
import { seededRandom } from '../fixtures/models';

function random(shape: number[], seed: number, positive = false): tf.Tensor {
  const next = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => (positive ? 0.2 + Math.abs(next()) : next())), shape);
}

function maxRelativeError(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.deepStrictEqual(a.shape, b.shape);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < y.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]));
    err = Math.max(err, Math.abs(x[i] - y[i]));
  }
  assert.ok(scale > 0, 'reference is all zeros');
  return err / scale;
}

describe('engine gradients', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`FusedBatchNorm: every derivative equals tfjs-core's, with and without scale (${backend})`, async () => {
      await initBackend(backend);
      const cases: Array<{ x: number[]; stats: number[]; scale: boolean }> = [
        { x: [2, 5, 4, 3], stats: [3], scale: true },
        { x: [1, 7, 7, 16], stats: [16], scale: false },
        { x: [4, 6], stats: [6], scale: true },
        { x: [2, 3, 3, 2], stats: [2, 3, 3, 2], scale: true },
      ];
      cases.forEach((c, i) => {
        tf.tidy(() => {
          const x = random(c.x, 10 + i);
          const mean = random(c.stats, 20 + i);
          const variance = random(c.stats, 30 + i, true);
          const scale = c.scale ? random(c.stats, 40 + i) : (null as unknown as tf.Tensor);
          const dy = random(c.x, 50 + i);
          const attrs = { varianceEpsilon: 1e-3 };
          const ours = fusedBatchNormGradConfig.gradFunc(dy, [x, mean, variance, scale], attrs);
          const theirs = tfjsFusedBatchNormGrad.gradFunc(dy, [x, mean, variance, scale], attrs);
          for (const input of ['x', 'mean', 'variance', 'scale', 'offset']) {
            if (input === 'x' && c.x.length === 2) {
              // tfjs-core 4.22 cannot: it tiles to a rank-4 shape whatever x's rank (batch norm after
              // a dense layer). Compare with the closed form instead: dy · scale / sqrt(var + eps).
              assert.throws(() => theirs.x(), /rank of input/);
              const closedForm = tf.mul(dy, tf.div(scale, tf.sqrt(tf.add(variance, 1e-3))));
              assert.ok(maxRelativeError(ours.x(), closedForm) < 1e-5, `x of x [${c.x}]`);
              continue;
            }
            const error = maxRelativeError(ours[input](), theirs[input]());
            assert.ok(error < 1e-5, `${input} of x [${c.x}] stats [${c.stats}]: relative error ${error}`);
          }
        });
      });
    });
  }

  it('is the gradient tf.grad uses, and matches central finite differences through a batch-norm layer', async () => {
    await initBackend('cpu');
    assert.strictEqual(tf.getGradient(tf.FusedBatchNorm), fusedBatchNormGradConfig);
    const layer = tf.layers.batchNormalization({ epsilon: 1e-3 });
    layer.apply(tf.input({ shape: [3, 3, 2] }));
    layer.setWeights([random([2], 1), random([2], 2), random([2], 3), random([2], 4, true)]);
    const weights = random([1, 3, 3, 2], 5);
    const f = (x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, weights));
    const x = random([1, 3, 3, 2], 6);
    assertGradientMatchesDifferences(f, x, '');
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`AvgPool: the gradient of every padding equals central finite differences (tfjs-core's was too small at 'same' borders; ${backend})`, async () => {
      await initBackend(backend);
      const cases: Array<{ shape: [number, number, number, number]; size: number; stride: number; pad: 'same' | 'valid' }> = [
        { shape: [2, 5, 7, 3], size: 3, stride: 2, pad: 'same' },
        { shape: [1, 3, 2, 2], size: 2, stride: 1, pad: 'same' },
        { shape: [1, 6, 5, 1], size: 2, stride: 2, pad: 'valid' },
      ];
      cases.forEach((c, k) => {
        const x = random(c.shape, 20 + k) as tf.Tensor4D;
        const out = tf.avgPool(x, c.size, c.stride, c.pad);
        const weights = random(out.shape, 30 + k);
        const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, c.size, c.stride, c.pad), weights));
        assertGradientMatchesDifferences(f, x, `case ${k} `);
      });
    });
  }
});

/** tf.grad(f) at x against central differences (step 1e-2), element by element, to 1e-3 relative. */
function assertGradientMatchesDifferences(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, label: string): void {
  const grad = tf.grad(f)(x).dataSync();
  const base = x.dataSync();
  const h = 1e-2;
  for (let i = 0; i < base.length; i++) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] += h;
    minus[i] -= h;
    const numeric = (f(tf.tensor(plus, x.shape)).dataSync()[0] - f(tf.tensor(minus, x.shape)).dataSync()[0]) / (2 * h);
    assert.ok(Math.abs(numeric - grad[i]) < 1e-3 * Math.max(1, Math.abs(numeric)), `${label}element ${i}: ${grad[i]} vs ${numeric}`);
  }
}
