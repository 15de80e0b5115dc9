// Batch norm folded into the convolution before it (src/engine/execution/batchNormFold.ts): the graph
// executor's outputs and gradients equal tfjs-layers' own layer-by-layer results; no batch norm
// kernel runs where every batch norm follows a convolution; a convolution output that is kept
// (activation maps) or cut (Grad-CAM at the convolution) is the convolution's own.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import { computeLogits, disposeCutState, forwardToCut, forwardWithTaps, planCut, prepareBatchNormFolds } from '../../src/engine/execution/graph';
import { classScoreGradient } from '../../src/engine/explain/pipeline';
import * as tf from '../../src/engine/tf';
import { buildMobileNetV2Style, buildResNetStyle } from '../fixtures/architectures';
import { randomInput, randomizeWeights } from '../fixtures/models';

function assertClose(actual: tf.Tensor, expected: tf.Tensor, tolerance: number, what: string): void {
  assert.deepStrictEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  const b = expected.dataSync();
  const scale = Math.max(...Array.from(b, Math.abs));
  let worst = 0;
  b.forEach((v, i) => (worst = Math.max(worst, Math.abs(a[i] - v))));
  assert.ok(scale > 0 && worst <= tolerance * scale, `${what}: error ${worst} of ${scale}`);
}

/** conv (bias, depth multiplier) → BN without scale or centre, and conv → BN with both, as one model. */
function mixedModel(): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 3], name: 'image' });
  let x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: true, name: 'dw' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ scale: false, center: false, epsilon: 0.01, name: 'dw_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', dilationRate: 1, name: 'conv' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'conv_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, name: 'logits' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'mixed' });
  randomizeWeights(model, 5);
  return model;
}

/**
 * tfjs-layers' own forward pass, layer by layer. tfjs 4.22 cannot differentiate its own batch norm
 * without scale and centre (it saves the missing gamma for the backward pass and throws), so the
 * mixed model's first batch norm is written out: (x − mean) / √(var + ε).
 */
function referenceLogits(model: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  if (model.name !== 'mixed') {
    return model.apply(x, { training: false }) as tf.Tensor;
  }
  const bn = model.getLayer('dw_bn') as unknown as { movingMean: { read(): tf.Tensor }; movingVariance: { read(): tf.Tensor }; epsilon: number };
  let h = model.getLayer('dw').apply(x) as tf.Tensor;
  h = tf.div(tf.sub(h, bn.movingMean.read()), tf.sqrt(tf.add(bn.movingVariance.read(), bn.epsilon)));
  h = model.getLayer('conv').apply(h) as tf.Tensor;
  h = model.getLayer('conv_bn').apply(h, { training: false }) as tf.Tensor;
  for (const name of ['relu', 'gap', 'logits']) {
    h = model.getLayer(name).apply(h) as tf.Tensor;
  }
  return h;
}

describe('batch norm folded into convolutions', function () {
  this.timeout(120_000);

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`outputs and input gradients equal tfjs-layers' own (${backend}), with no batch norm kernel left`, async () => {
      await initBackend(backend);
      const models = [
        buildMobileNetV2Style({ headActivation: 'linear' }),
        buildResNetStyle({ headActivation: 'linear' }),
        mixedModel(),
      ];
      for (const model of models) {
        const size = model.inputs[0].shape[1] as number;
        const x = randomInput([size, size, 3], 7);
        const batch = tf.concat([x, tf.mul(x, -0.5)]);
        const ours = computeLogits(model, batch);
        const theirs = referenceLogits(model, batch);
        assertClose(ours, theirs, 1e-5, `${model.name} logits`);
        const profile = await tf.profile(() => computeLogits(model, batch).dispose());
        assert.ok(!profile.kernelNames.includes('FusedBatchNorm'), `${model.name}: a batch norm ran: ${profile.kernelNames.join(', ')}`);

        const score = (f: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(f(t), tf.tensor([1, -2, 0.5, 0, 3].slice(0, ours.shape[1] as number))));
        const gradOurs = tf.grad(score((t) => computeLogits(model, t)))(batch);
        const gradTheirs = tf.grad(score((t) => referenceLogits(model, t)))(batch);
        assertClose(gradOurs, gradTheirs, 1e-4, `${model.name} input gradient`);
        tf.dispose([x, batch, ours, theirs, gradOurs, gradTheirs]);
        model.dispose();
      }
      await initBackend('cpu');
    });
  }

  it('folded filters are made once per model, made again when a weight changes, and freed with the model', async () => {
    await initBackend('cpu');
    const before = tf.memory().numTensors;
    const model = mixedModel();
    const withWeights = tf.memory().numTensors;
    prepareBatchNormFolds(model);
    assert.strictEqual(tf.memory().numTensors, withWeights + 4, 'two pairs folded: a filter and a bias each');
    const x = randomInput([9, 9, 3], 4);
    computeLogits(model, x).dispose();
    computeLogits(model, x).dispose();
    assert.strictEqual(tf.memory().numTensors, withWeights + 5, 'passes add nothing (x is the fifth)');

    randomizeWeights(model, 9); // setWeights assigns new values: the folded filters are stale
    const ours = computeLogits(model, x);
    const theirs = tf.tidy(() => referenceLogits(model, x));
    assertClose(ours, theirs, 1e-5, 'logits after new weights');
    tf.dispose([ours, theirs, x]);
    assert.strictEqual(tf.memory().numTensors, withWeights + 4, 'the stale folded filters were freed');
    model.dispose();
    assert.strictEqual(tf.memory().numTensors, before, 'the folded filters went with the model');
  });

  it('a kept or cut convolution output is the convolution\'s own, and Grad-CAM at it matches the unfolded graph', async () => {
    await initBackend('cpu');
    const model = mixedModel();
    const x = randomInput([9, 9, 3], 3);
    const convOut = tf.model({ inputs: model.inputs, outputs: model.getLayer('conv').output as tf.SymbolicTensor }).predict(x) as tf.Tensor;

    const { logits, taps } = forwardWithTaps(model, x, [['conv']]);
    assertClose(taps[0], convOut, 1e-6, 'tapped conv output');
    assert.ok(taps[0].max().dataSync()[0] !== tf.tidy(() => model.getLayer('conv_bn').apply(convOut, { training: false }) as tf.Tensor).max().dataSync()[0], 'the tap is before the batch norm');

    // Grad-CAM cut at the convolution: d(score)/d(conv output) through BN → ReLU → GAP → Dense.
    const state = forwardToCut(model, x, planCut(model, ['conv']));
    assertClose(state.activation, convOut, 1e-6, 'cut activation');
    const gradients = classScoreGradient(model, state, 1);
    const head = (a: tf.Tensor) => {
      let h = model.getLayer('conv_bn').apply(a, { training: false }) as tf.Tensor;
      for (const name of ['relu', 'gap', 'logits']) {
        h = model.getLayer(name).apply(h) as tf.Tensor;
      }
      return tf.sum(tf.mul(h, tf.tensor([[0, 1, 0]])));
    };
    assertClose(gradients, tf.grad(head)(convOut), 1e-5, 'gradient at the cut');
    disposeCutState(state);
    tf.dispose([logits, ...taps, gradients, convOut, x]);
    model.dispose();
  });
});
