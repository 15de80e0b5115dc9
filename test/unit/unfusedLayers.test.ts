// Conv2D and Dense run unfused under a gradient tape (src/engine/execution/unfusedLayers.ts): the same values
// and input gradients as the layers' fused calls, and Grad-CAM no longer computes weight gradients.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, wrapModel } from '../../src/engine/index';
import { callConv2DUnfused, callDenseUnfused, callReluSixAsOneOp, recordingGradients } from '../../src/engine/execution/unfusedLayers';
import { MOBILENET_LAYERS, RESNET_LAYERS, buildMobileNetV2Style, buildResNetStyle } from '../fixtures/architectures';
import { randomInput } from '../fixtures/models';
import type { RgbaImage } from '../../src/shared/types';

function closeTo(a: tf.Tensor, b: tf.Tensor, label: string): void {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.deepStrictEqual(a.shape, b.shape, label);
  const scale = Math.max(...Array.from(y, Math.abs));
  const err = Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i])));
  assert.ok(scale > 0 && err <= 1e-5 * scale, `${label}: error ${err} of ${scale}`);
}

function image(size: number): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    data.set([(i * 37) % 256, (i * 11) % 256, (i * 5) % 256, 255], i * 4);
  }
  return { width: size, height: size, data };
}

describe('unfused Conv2D and Dense under a gradient tape', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`gives the fused layer's outputs and input gradients (${backend})`, async () => {
      await initBackend(backend);
      const configs: tf.layers.Layer[] = [
        tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }),
        tf.layers.conv2d({ filters: 2, kernelSize: 5, padding: 'same', activation: 'linear', biasInitializer: 'ones' }),
        tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'sigmoid' }),
      ];
      configs.forEach((layer, i) => {
        tf.tidy(() => {
          const x = randomInput([9, 8, 3], 40 + i);
          layer.apply(x); // builds the weights
          const weights = tf.randomUniform((layer.apply(x) as tf.Tensor).shape, -1, 1, 'float32', i);
          assert.strictEqual(callConv2DUnfused(layer, x), undefined, 'no tape: the layer call is used');
          const fused = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, weights)))(x);
          let sawTape = false;
          const unfused = tf.grad((t: tf.Tensor) => {
            sawTape = recordingGradients();
            const y = callConv2DUnfused(layer, t);
            assert.ok(y, 'under a tape Conv2D runs unfused');
            closeTo(y, layer.apply(t) as tf.Tensor, `output ${i}`);
            return tf.sum(tf.mul(y, weights));
          })(x);
          assert.ok(sawTape);
          closeTo(unfused, fused, `input gradient ${i}`);
        });
      });
    });
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`Dense: gives the fused layer's outputs and input gradients (${backend})`, async () => {
      await initBackend(backend);
      const layers = [
        tf.layers.dense({ units: 5, activation: 'relu' }),
        tf.layers.dense({ units: 4, useBias: false }),
        tf.layers.dense({ units: 3, activation: 'softmax', biasInitializer: 'ones' }),
        tf.layers.dense({ units: 2, activation: 'tanh' }),
      ];
      layers.forEach((layer, i) => {
        tf.tidy(() => {
          const x = tf.randomNormal([3, 7], 0, 1, 'float32', 60 + i);
          const weights = tf.randomUniform([3, (layer.apply(x) as tf.Tensor).shape[1] as number], -1, 1, 'float32', i);
          assert.strictEqual(callDenseUnfused(layer, x), undefined, 'no tape: the layer call is used');
          const fused = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, weights)))(x);
          const unfused = tf.grad((t: tf.Tensor) => {
            const y = callDenseUnfused(layer, t);
            assert.ok(y, 'under a tape Dense runs unfused');
            closeTo(y, layer.apply(t) as tf.Tensor, `dense output ${i}`);
            return tf.sum(tf.mul(y, weights));
          })(x);
          closeTo(unfused, fused, `dense input gradient ${i}`);
        });
      });
    });
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`ReLU(maxValue 6) as one Relu6 op: the layer's values and gradient, also at 0, 6 and NaN (${backend})`, async () => {
      await initBackend(backend);
      tf.tidy(() => {
        const layer = tf.layers.reLU({ maxValue: 6 });
        const x = tf.tensor([-1, 0, 1e-8, 3, 6, 6.0000005, 9, NaN, -0, Infinity, -Infinity]);
        const dy = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        const ours = callReluSixAsOneOp(layer, x);
        assert.ok(ours);
        const theirs = layer.apply(x) as tf.Tensor;
        assert.deepStrictEqual(Array.from(ours.dataSync()), Array.from(theirs.dataSync()));
        const grad = (f: (t: tf.Tensor) => tf.Tensor) => Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x).dataSync());
        assert.deepStrictEqual(grad((t) => callReluSixAsOneOp(layer, t) as tf.Tensor), grad((t) => layer.apply(t) as tf.Tensor));
        assert.strictEqual(callReluSixAsOneOp(tf.layers.reLU({ maxValue: 4 }), x), undefined, 'another maximum keeps the layer call');
        assert.strictEqual(callReluSixAsOneOp(tf.layers.reLU(), x), undefined);
      });
    });
  }

  it('leaves other layers (and Dense on higher-rank inputs) to their own call', () => {
    tf.tidy(() => {
      const dense = tf.layers.dense({ units: 2 });
      const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1 });
      const x = tf.ones([1, 3]);
      const image = tf.ones([1, 2, 2, 3]);
      dense.apply(x);
      conv.apply(image);
      tf.grad((t: tf.Tensor) => {
        assert.strictEqual(callConv2DUnfused(dense, t), undefined);
        assert.strictEqual(callDenseUnfused(conv, image), undefined);
        assert.strictEqual(callDenseUnfused(dense, tf.ones([1, 2, 3])), undefined, 'Dense over a sequence keeps its own call');
        return tf.sum(t);
      })(x);
    });
  });

  it('Grad-CAM on MobileNetV2- and ResNet-style models runs no filter-gradient kernel', async () => {
    await initBackend('wasm');
    for (const [build, layer] of [
      [buildMobileNetV2Style, MOBILENET_LAYERS.firstBlock],
      [buildResNetStyle, RESNET_LAYERS.stem],
    ] as const) {
      const model = wrapModel(build({ inputSize: 32 }), { path: '', labels: null, labelsSource: null, preprocessing: {}, sidecar: null });
      try {
        const profile = await tf.profile(async () => {
          await explain(model, image(32), { method: 'gradcam', layer });
        });
        const kernels = new Set(profile.kernelNames);
        assert.ok(kernels.has('Conv2DBackpropInput'), `${model.summary.name}: the backward pass went through convolutions`);
        assert.ok(!kernels.has('Conv2DBackpropFilter'), `${model.summary.name}: a filter gradient was computed`);
        assert.ok(!kernels.has('ClipByValue'), `${model.summary.name}: a ReLU(max 6) layer ran as relu then clipByValue`);
        // The classifier's weight gradient would be a product whose output has the kernel's shape.
        const classifier = model.model.layers[model.model.layers.length - 1] as unknown as { kernel: { shape: number[] } };
        const weightShaped = profile.kernels.filter((k) => k.name === 'BatchMatMul' && k.outputShapes.some((shape) => shape?.slice(-2).join() === classifier.kernel.shape.join()));
        assert.deepStrictEqual(weightShaped.map((k) => k.outputShapes), [], `${model.summary.name}: the classifier's weight gradient was computed`);
        assert.ok(profile.kernelNames.includes('BatchMatMul'), `${model.summary.name}: the backward pass went through the classifier`);
      } finally {
        model.dispose();
      }
    }
  });
});
