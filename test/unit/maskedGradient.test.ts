// The one-kernel gradients of ReLU, ReLU6 and clipByValue (src/engine/kernels/gradients/maskedGradient.ts)
// against tfjs-core's own gradient functions, bit for bit (NaN, −0 and Inf included), on cpu and
// wasm; the fall-back to tfjs-core's composite on a backend without the kernel; that tf.grad through
// a MobileNetV2-style model runs the one kernel instead of GreaterEqual/LessEqual/LogicalAnd/Step.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { MaskedGrad, maskedGradCpuConfig, nextFloat32 } from '../../src/engine/kernels/gradients/maskedGradient';
import { clipByValueGradConfig as tfjsClipByValueGrad } from '@tensorflow/tfjs-core/dist/gradients/ClipByValue_grad';
import { reluGradConfig as tfjsReluGrad } from '@tensorflow/tfjs-core/dist/gradients/Relu_grad';
import { relu6GradConfig as tfjsRelu6Grad } from '@tensorflow/tfjs-core/dist/gradients/Relu6_grad';
import { buildMobileNetV2Style, buildResNetStyle } from '../fixtures/architectures';
import { seededRandom } from '../fixtures/models';

interface OpCase {
  label: string;
  forward: (x: tf.Tensor) => tf.Tensor;
  stockGrad: tf.GradConfig;
  attrs: tf.NamedAttrMap;
  /** Values the mask must treat exactly: the interval's ends. */
  bounds: number[];
}

const OPS: OpCase[] = [
  { label: 'relu', forward: (x) => tf.relu(x), stockGrad: tfjsReluGrad, attrs: {}, bounds: [0] },
  { label: 'relu6', forward: (x) => tf.relu6(x), stockGrad: tfjsRelu6Grad, attrs: {}, bounds: [0, 6] },
  ...([[0, 6], [-1.5, 2.25], [-Infinity, 0.5], [2, 2.0000002]] as const).map(([min, max]) => ({
    label: `clipByValue(${min}, ${max})`,
    forward: (x: tf.Tensor) => tf.clipByValue(x, min, max),
    stockGrad: tfjsClipByValueGrad,
    attrs: { clipValueMin: min, clipValueMax: max },
    bounds: [min, max].filter(Number.isFinite),
  })),
];

const SHAPES = [[7], [5, 9], [3, 6, 5, 4], [2, 8, 8, 3], [1, 3, 2, 5]];

/** Random values in [-8, 8) with every fifth one replaced by a bound, −0, NaN or ±Infinity. */
function values(size: number, seed: number, specials: number[]): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: size }, (_, i) => (i % 5 === 2 ? specials[((i - 2) / 5) % specials.length] : 8 * random()));
}

/** Element-wise equality that tells NaN, −0 and +0 apart (the masks must match bit for bit). */
function assertIdentical(actual: tf.Tensor, expected: tf.Tensor, label: string): void {
  assert.deepStrictEqual(actual.shape, expected.shape, `${label}: shape`);
  assert.strictEqual(actual.dtype, expected.dtype, `${label}: dtype`);
  const a = actual.dataSync();
  const e = expected.dataSync();
  for (let i = 0; i < e.length; i++) {
    assert.ok(Object.is(a[i], e[i]), `${label}: element ${i} is ${a[i]}, tfjs-core gives ${e[i]}`);
  }
}

function kernelNames(run: () => tf.Tensor): Promise<string[]> {
  return tf.profile(() => run()).then((info) => info.kernels.map((k) => k.name));
}

describe('masked gradients (ReLU, ReLU6, clipByValue)', function () {
  this.timeout(120000);
  after(async () => {
    tf.env().set('IS_TEST', false);
    await initBackend('cpu');
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`equal tfjs-core's gradients bit for bit, at the bounds, on NaN, ±0 and ±Inf, ranks 1-4 (${backend})`, async () => {
      await initBackend(backend);
      tf.env().set('IS_TEST', true); // the engine checks the kernel for leaked data ids
      const before = tf.memory().numTensors;
      OPS.forEach((op, o) => {
        SHAPES.forEach((shape, s) => {
          tf.tidy(() => {
            const size = shape.reduce((a, b) => a * b, 1);
            const label = `${op.label} [${shape}] on ${backend}`;
            const x = tf.tensor(values(size, 10 * o + s, [...op.bounds, -0, NaN, Infinity, -Infinity, 2 ** -149, -(2 ** -149), ...op.bounds.map((b) => Math.fround(b + 1e-6)), ...op.bounds.map((b) => Math.fround(b - 1e-6))]), shape);
            const dy = tf.tensor(values(size, 100 + 10 * o + s, [NaN, Infinity, -Infinity, -0, -3]), shape);
            const ours = tf.grad(op.forward)(x, dy);
            const stock = op.stockGrad.gradFunc(dy, [x], op.attrs) as Record<string, () => tf.Tensor>;
            assertIdentical(ours, stock.x(), label);
          });
        });
      });
      tf.env().set('IS_TEST', false);
      assert.strictEqual(tf.memory().numTensors, before, 'no tensors left behind');
    });

    it(`runs one kernel per gradient instead of tfjs-core's composites (${backend})`, async () => {
      await initBackend(backend);
      const x = tf.randomNormal([2, 4, 4, 3], 2, 4, 'float32', 5);
      for (const op of OPS) {
        const names = await kernelNames(() => tf.grad(op.forward)(x));
        assert.ok(names.includes(MaskedGrad), `${op.label}: ${names}`);
        for (const composite of [tf.GreaterEqual, tf.LessEqual, tf.LogicalAnd, tf.Select, tf.Step, tf.Cast]) {
          assert.ok(!names.includes(composite), `${op.label} still runs ${composite}: ${names}`);
        }
      }
      x.dispose();
    });
  }

  it('tf.grad through MobileNetV2- and ResNet-style models runs no comparison, Select or Step kernel (wasm)', async () => {
    await initBackend('wasm');
    for (const model of [buildMobileNetV2Style(), buildResNetStyle()]) {
      const input = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
      const names = await kernelNames(() => tf.grad((t: tf.Tensor) => tf.sum(model.predict(t) as tf.Tensor))(input));
      // 3 ReLU6 (clipByValue) layers in the MobileNetV2 style's stem, blocks and head; ReLUs in ResNet's.
      assert.ok(names.filter((n) => n === MaskedGrad).length >= 3, `${model.name}: ${names}`);
      for (const composite of [tf.GreaterEqual, tf.LessEqual, tf.LogicalAnd, tf.Select, tf.Step]) {
        assert.ok(!names.includes(composite), `${model.name} still runs ${composite}`);
      }
      input.dispose();
      model.dispose();
    }
  });

  it("falls back to tfjs-core's composite on a backend without the kernel, with the same values", async () => {
    await initBackend('cpu');
    const x = tf.tensor([NaN, -2, 0, 0.5, 6, 7, -0], [7]);
    const dy = tf.tensor([1, -2, -3, Infinity, 4, -1, 5], [7]);
    const withKernel = OPS.map((op) => tf.grad(op.forward)(x, dy));
    tf.unregisterKernel(MaskedGrad, 'cpu');
    try {
      for (const [i, op] of OPS.entries()) {
        const names = await kernelNames(() => tf.grad(op.forward)(x, dy));
        assert.ok(!names.includes(MaskedGrad) && names.length > 1, `${op.label} without the kernel runs tfjs-core's ops: ${names}`);
        assertIdentical(tf.grad(op.forward)(x, dy), withKernel[i], `${op.label} composite`);
      }
    } finally {
      tf.registerKernel(maskedGradCpuConfig);
    }
    tf.dispose([x, dy, ...withKernel]);
  });

  it('int32 inputs take the composite path (the kernel is float32 only)', async () => {
    await initBackend('cpu');
    const x = tf.tensor([-3, 0, 2, 6, 9], [5], 'int32');
    const dy = tf.tensor([1, 2, 3, 4, 5], [5]);
    const grads = clipByValueGradConfigFromEngine().gradFunc(dy, [x], { clipValueMin: 0, clipValueMax: 6 }) as Record<string, () => tf.Tensor>;
    const stock = tfjsClipByValueGrad.gradFunc(dy, [x], { clipValueMin: 0, clipValueMax: 6 }) as Record<string, () => tf.Tensor>;
    assertIdentical(grads.x(), stock.x(), 'int32 clipByValue');
    assert.deepStrictEqual(Array.from(grads.x().dataSync()), [0, 2, 3, 4, 0]);
  });

  it('nextFloat32 turns exclusive bounds into inclusive ones on float32 values', () => {
    assert.strictEqual(nextFloat32(0, 1), 2 ** -149);
    assert.strictEqual(nextFloat32(-0, -1), -(2 ** -149));
    assert.strictEqual(nextFloat32(1, 1), 1 + 2 ** -23);
    assert.strictEqual(nextFloat32(1, -1), 1 - 2 ** -24);
    assert.strictEqual(nextFloat32(-6, 1), -6 + 2 ** -21);
    assert.strictEqual(nextFloat32(-Infinity, 1), -Math.fround(3.4028234663852886e38));
    assert.ok(Number.isNaN(nextFloat32(Infinity, 1)), 'nothing is above +Infinity');
    assert.ok(Number.isNaN(nextFloat32(-Infinity, -1)), 'nothing is below -Infinity');
  });

  it('has a second derivative: d(dx)/d(dy) is the mask (nested tf.grad)', async () => {
    await initBackend('cpu');
    const x = tf.tensor([-1, 0, 3, 6, 8], [5]);
    const weights = tf.tensor([1, 2, 3, 4, 5], [5]);
    // f(dy) = Σ w · relu6'(x)·dy, so df/d(dy) = w · [0 < x <= 6].
    const dfdDy = tf.grad((dy: tf.Tensor) => tf.sum(tf.mul(tf.grad((t: tf.Tensor) => tf.relu6(t))(x, dy), weights)))(tf.onesLike(x));
    assert.deepStrictEqual(Array.from(dfdDy.dataSync()), [0, 0, 3, 4, 0]);
  });
});

function clipByValueGradConfigFromEngine(): tf.GradConfig {
  const config = tf.getGradient(tf.ClipByValue);
  assert.ok(config, 'a ClipByValue gradient is registered');
  return config;
}
