// The eager graph executor: forward values equal tfjs's own predict, a cut pass recomputes only what
// is downstream of the cut, and the gradient it gives equals central finite differences computed
// through tfjs's own executor (model.predict with the layer's output perturbed), on residual,
// concatenating, nested, BatchNorm and Dropout graphs.
import * as assert from 'assert';
// backend.ts before tf.ts, in the order the engine facade loads them: tf.ts's deep imports load a second
// copy of tfjs-core, and the copy loaded first owns the global Tensor class (the packaged one works).
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import {
  computeLogits,
  disposeCutState,
  forwardToCut,
  forwardWithTaps,
  logitsFromCut,
  outputAppliesSoftmax,
  planCut,
  type LayerPath,
} from '../../src/engine/execution/graph';
import { classScoreGradient } from '../../src/engine/explain/pipeline';
import { batchNormDropoutModel, chainModel, chainWithSoftmaxLayer, nestedModel, randomInput, residualModel, seededRandom, twinOf } from '../fixtures/models';

interface CallableLayer {
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

function findLayer(model: tf.LayersModel, path: LayerPath): CallableLayer {
  let container: tf.LayersModel = model;
  for (let i = 0; i < path.length - 1; i++) {
    container = container.getLayer(path[i]) as unknown as tf.LayersModel;
  }
  return container.getLayer(path[path.length - 1]) as unknown as CallableLayer;
}

/** The model's output with `delta` added to one layer's output, run by tfjs itself (model.predict). */
function predictWithPerturbation(model: tf.LayersModel, input: tf.Tensor, path: LayerPath, delta: tf.Tensor): Float32Array {
  const layer = findLayer(model, path);
  const original = layer.call;
  layer.call = (inputs, kwargs) => {
    const output = original.call(layer, inputs, kwargs);
    // A nested model's call returns a list of outputs.
    return Array.isArray(output) ? [tf.add(output[0], delta)] : tf.add(output, delta);
  };
  try {
    return tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync() as Float32Array);
  } finally {
    layer.call = original;
  }
}

/**
 * Checks the engine's d(logit[c])/d(activation) against central differences, where the logits are
 * the output of `logitModel` (the engine may run a softmax twin, `engineModel`).
 */
function checkGradient(engineModel: tf.LayersModel, logitModel: tf.LayersModel, input: tf.Tensor4D, path: LayerPath, classIndex: number): void {
  const state = forwardToCut(engineModel, input, planCut(engineModel, path));
  try {
    const gradient = classScoreGradient(engineModel, state, classIndex);
    const grad = gradient.dataSync() as Float32Array;
    const shape = gradient.shape;
    gradient.dispose();
    const maxAbs = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(maxAbs > 1e-3, `gradient at ${path.join('/')} is (nearly) zero: ${maxAbs}`);

    // The largest entries plus seeded random ones.
    const random = seededRandom(classIndex + 17);
    const byMagnitude = Array.from(grad.keys()).sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a]));
    const positions = [...byMagnitude.slice(0, 4), ...Array.from({ length: 6 }, () => Math.floor(((random() + 1) / 2) * grad.length))];
    const eps = 1e-2;
    for (const position of positions) {
      const bump = (sign: number) => {
        const delta = tf.buffer(shape);
        delta.values[position] = sign * eps;
        const tensor = delta.toTensor();
        try {
          return predictWithPerturbation(logitModel, input, path, tensor)[classIndex];
        } finally {
          tensor.dispose();
        }
      };
      const numeric = (bump(1) - bump(-1)) / (2 * eps);
      const tolerance = 1e-3 + 0.02 * Math.abs(numeric);
      assert.ok(
        Math.abs(numeric - grad[position]) <= tolerance,
        `${path.join('/')}[${position}]: engine gradient ${grad[position]} vs finite difference ${numeric}`,
      );
    }
  } finally {
    disposeCutState(state);
  }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('graph executor', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('computes the pre-softmax output: softmax of it equals predict, and it equals the logit twin', () => {
    const softmaxModel = chainModel('softmax', 7);
    const logitModel = twinOf(softmaxModel, () => chainModel('linear', 99));
    const input = randomInput([12, 12, 3], 1);
    tf.tidy(() => {
      const logits = computeLogits(softmaxModel, input);
      assertClose(tf.softmax(logits).dataSync(), (softmaxModel.predict(input) as tf.Tensor).dataSync(), 1e-6, 'probabilities');
      assertClose(logits.dataSync(), (logitModel.predict(input) as tf.Tensor).dataSync(), 1e-5, 'logits');
    });
    for (const kind of ['softmax-layer', 'activation-layer'] as const) {
      const model = twinOf(logitModel, () => chainWithSoftmaxLayer(kind));
      assert.strictEqual(outputAppliesSoftmax(model), true, kind);
      tf.tidy(() => assertClose(computeLogits(model, input).dataSync(), (logitModel.predict(input) as tf.Tensor).dataSync(), 1e-5, kind));
      model.dispose();
    }
    assert.strictEqual(outputAppliesSoftmax(softmaxModel), true);
    assert.strictEqual(outputAppliesSoftmax(logitModel), false);
    tf.dispose([input]);
    softmaxModel.dispose();
    logitModel.dispose();
  });

  it('sees through a nested Sequential head ending in softmax', () => {
    const model = nestedModel('softmax');
    const twin = nestedModel('linear');
    const input = randomInput([10, 10, 3], 2);
    assert.strictEqual(outputAppliesSoftmax(model), true);
    assert.strictEqual(outputAppliesSoftmax(twin), false);
    tf.tidy(() => assertClose(computeLogits(model, input).dataSync(), (twin.predict(input) as tf.Tensor).dataSync(), 1e-5, 'nested logits'));
    input.dispose();
    model.dispose();
    twin.dispose();
  });

  it('taps intermediate layers in the same pass, with the values tfjs computes', () => {
    const model = residualModel();
    const input = randomInput([10, 10, 3], 3);
    const { logits, taps } = forwardWithTaps(model, input, [['add'], ['concat']]);
    tf.tidy(() => {
      const reference = tf.model({ inputs: model.inputs, outputs: [model.getLayer('add').output as tf.SymbolicTensor, model.getLayer('concat').output as tf.SymbolicTensor] });
      const [add, concat] = reference.predict(input) as tf.Tensor[];
      assertClose(taps[0].dataSync(), add.dataSync(), 1e-6, 'add');
      assertClose(taps[1].dataSync(), concat.dataSync(), 1e-6, 'concat');
      assertClose(logits.dataSync(), (model.predict(input) as tf.Tensor).dataSync(), 1e-6, 'logits');
    });
    tf.dispose([logits, ...taps, input]);
    model.dispose();
  });

  it('runs from a cut without re-running layers upstream of it, and reproduces the output', () => {
    const model = residualModel();
    const input = randomInput([10, 10, 3], 4);
    const state = forwardToCut(model, input, planCut(model, ['branch']));
    const stem = model.getLayer('stem') as unknown as CallableLayer;
    const original = stem.call;
    let stemCalls = 0;
    stem.call = (inputs, kwargs) => {
      stemCalls++;
      return original.call(stem, inputs, kwargs);
    };
    try {
      tf.tidy(() => assertClose(logitsFromCut(model, state, state.activation).dataSync(), state.logits.dataSync(), 1e-6, 'logits from cut'));
    } finally {
      stem.call = original;
    }
    assert.strictEqual(stemCalls, 0, 'the stem (upstream of the cut) ran again');
    disposeCutState(state);
    input.dispose();
    model.dispose();
  });

  it('gradient equals finite differences through a residual add and a concatenation', () => {
    const model = residualModel();
    const input = randomInput([10, 10, 3], 5);
    for (const layer of ['stem', 'branch', 'add', 'mix']) {
      checkGradient(model, model, input, [layer], 1);
    }
    input.dispose();
    model.dispose();
  });

  it('gradient equals finite differences inside a nested model (softmax engine model, logit twin reference)', () => {
    const model = nestedModel('softmax');
    const twin = nestedModel('linear');
    const input = randomInput([10, 10, 3], 6);
    for (const path of [['base', 'b_conv1'], ['base', 'b_bn'], ['base'], ['top_conv']]) {
      checkGradient(model, twin, input, path, 2);
    }
    input.dispose();
    model.dispose();
    twin.dispose();
  });

  it('runs BatchNorm and Dropout in inference mode', () => {
    const model = batchNormDropoutModel();
    const input = randomInput([8, 8, 3], 7);
    tf.tidy(() => {
      const first = computeLogits(model, input).dataSync();
      const second = computeLogits(model, input).dataSync();
      assert.deepStrictEqual(Array.from(first), Array.from(second), 'two runs differ: Dropout in training mode?');
      // predict is inference; training-mode BatchNorm would use the batch's own statistics instead.
      assertClose(tf.softmax(tf.tensor(first)).dataSync(), (model.predict(input) as tf.Tensor).dataSync(), 1e-6, 'probabilities');
    });
    const twin = twinOf(model, () => {
      const linear = batchNormDropoutModel();
      (linear.getLayer('classes') as unknown as { activation: unknown }).activation = (chainModel('linear').getLayer('logits') as unknown as { activation: unknown }).activation;
      return linear;
    });
    checkGradient(model, twin, input, ['conv1'], 0);
    checkGradient(model, twin, input, ['bn2'], 2);
    input.dispose();
    model.dispose();
    twin.dispose();
  });

  it('refuses cuts that cannot work, naming the layer', () => {
    const model = residualModel();
    assert.throws(() => planCut(model, ['nope']), /no layer "nope"/);
    assert.throws(() => planCut(model, ['stem', 'inner']), /"stem" is not a nested model/);
    model.dispose();
  });

  it('leaves no tensors behind', () => {
    const model = nestedModel('softmax');
    const input = randomInput([10, 10, 3], 8);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const state = forwardToCut(model, input, planCut(model, ['base', 'b_bn']));
      classScoreGradient(model, state, 1).dispose();
      disposeCutState(state);
      computeLogits(model, input).dispose();
      const { logits, taps } = forwardWithTaps(model, input, [['concat'], ['base', 'b_conv2']]);
      tf.dispose([logits, ...taps]);
    }
    assert.strictEqual(tf.memory().numTensors, before);
    input.dispose();
    model.dispose();
  });
});
