// Grad-CAM end to end on hand-built models: known answers (quadrants, a class that reads nothing),
// the definition computed independently (weights, ReLU, scaling, half-pixel resize), softmax vs
// logit twins, graphs with skips and nesting, request errors, cancellation, leaks, and wasm = cpu.
import * as assert from 'assert';
// backend.ts before tf.ts, in the order the engine facade loads them: tf.ts's deep imports load a second
// copy of tfjs-core, and the copy loaded first owns the global Tensor class (the packaged one works).
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { LensError } from '../../src/shared/errors';
import { explain, wrapModel, type LoadedModel } from '../../src/engine/index';
import { defaultCamLayer, describeLayers, layerEntries } from '../../src/engine/execution/layers';
import { getMethod } from '../../src/engine/explain/methods';
import { computeCam, type CamRequest } from '../../src/engine/explain/pipeline';
import type { CamResult, RgbaImage } from '../../src/shared/types';
import {
  QUADRANT_SIZE,
  batchNormDropoutModel,
  chainModel,
  chainWithSoftmaxLayer,
  depthwiseModel,
  flatModel,
  nestedModel,
  quadrantInput,
  quadrantModel,
  randomInput,
  residualModel,
  seededRandom,
  splicedSequentialAndFunctional,
  twinOf,
  vectorModel,
} from '../fixtures/models';

function camRequest(model: tf.LayersModel, layer: string, classIndex?: number): CamRequest {
  const entry = layerEntries(model).find((e) => e.info.name === layer);
  assert.ok(entry, `fixture has no layer ${layer}`);
  const numClasses = model.outputs[0].shape[1] as number;
  return {
    method: getMethod('gradcam'),
    layer: { name: layer, path: entry.path },
    classIndex,
    labels: Array.from({ length: numClasses }, (_, i) => `label ${i}`),
    topK: 3,
    backend: 'cpu',
  };
}

function wrap(model: tf.LayersModel, labels: string[] | null = null): LoadedModel {
  return wrapModel(model, { path: `/memory/${model.name}/model.json`, labels, labelsSource: labels ? '/memory/labels.txt' : null, preprocessing: {}, sidecar: null });
}

function randomImage(width: number, height: number, seed: number): RgbaImage {
  const random = seededRandom(seed);
  const data = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : Math.floor(((random() + 1) / 2) * 256)));
  return { width, height, data };
}

function argMaxOf(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (values[i] > values[best]) best = i;
  }
  return best;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function assertEngineError(run: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof LensError, `expected an LensError, got ${String(error)}`);
    assert.strictEqual(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

async function assertRejectsEngineError(run: () => Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof LensError, `expected an LensError, got ${String(error)}`);
    assert.strictEqual(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

/**
 * Grad-CAM from its definition, independent of the engine: activations from a tfjs sub-model,
 * gradients by splitting the chain after the layer (valid for chains only) and tf.grad on a
 * gathered logit, then plain-JS weights, ReLU, scaling and tf.image.resizeBilinear(halfPixelCenters).
 */
function referenceGradCam(logitModel: tf.Sequential, layerIndex: number, input: tf.Tensor4D, classIndex: number): { cam: Float32Array; layerCam: Float32Array } {
  return tf.tidy(() => {
    const layer = logitModel.layers[layerIndex];
    const activations = tf.model({ inputs: logitModel.inputs, outputs: layer.output as tf.SymbolicTensor }).predict(input) as tf.Tensor4D;
    const headInput = tf.input({ shape: activations.shape.slice(1) });
    let y: tf.SymbolicTensor = headInput;
    for (const next of logitModel.layers.slice(layerIndex + 1)) {
      y = next.apply(y) as tf.SymbolicTensor;
    }
    const head = tf.model({ inputs: headInput, outputs: y });
    const gradients = tf.grad((a: tf.Tensor) => tf.gather(head.apply(a) as tf.Tensor2D, [classIndex], 1).sum())(activations);
    const [, h, w, c] = activations.shape;
    const A = activations.dataSync();
    const G = gradients.dataSync();
    const weights = new Float64Array(c);
    for (let i = 0; i < h * w; i++) {
      for (let k = 0; k < c; k++) weights[k] += G[i * c + k] / (h * w);
    }
    const layerCam = new Float32Array(h * w);
    for (let i = 0; i < h * w; i++) {
      let sum = 0;
      for (let k = 0; k < c; k++) sum += weights[k] * A[i * c + k];
      layerCam[i] = Math.max(sum, 0);
    }
    const scale = (values: Float32Array) => {
      const min = Math.min(...values);
      const shifted = values.map((v) => v - min);
      const max = Math.max(...shifted);
      return shifted.map((v) => v / (max + 1e-7));
    };
    const [, H, W] = input.shape;
    const resized = tf.image.resizeBilinear(tf.tensor4d(scale(layerCam), [1, h, w, 1]), [H, W], false, true).dataSync() as Float32Array;
    return { cam: scale(resized.map((v) => Math.max(v, 0))), layerCam };
  });
}

describe('Grad-CAM', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('puts the maximum in the quadrant the class reads, and gives an all-zero map for a class that reads nothing', async () => {
    const model = quadrantModel();
    const input = quadrantInput(1);
    const half = QUADRANT_SIZE / 2;
    for (let quadrant = 0; quadrant < 4; quadrant++) {
      const result = await computeCam(model, input, camRequest(model, 'features', quadrant));
      assert.strictEqual(result.cam.width, QUADRANT_SIZE);
      assert.strictEqual(result.layerCam.width, 8);
      const peak = argMaxOf(result.cam.data);
      const [y, x] = [Math.floor(peak / QUADRANT_SIZE), peak % QUADRANT_SIZE];
      assert.strictEqual((y < half ? 0 : 2) + (x < half ? 0 : 1), quadrant, `class ${quadrant}: peak at (${x}, ${y})`);
      // Only channel `quadrant` has weight, so away from the borders (where the resize blends
      // neighbouring cells) every pixel of the quadrant is hotter than any pixel outside it.
      const inside: number[] = [];
      const outside: number[] = [];
      result.cam.data.forEach((v, i) => {
        const [py, px] = [Math.floor(i / QUADRANT_SIZE), i % QUADRANT_SIZE];
        if (Math.abs(py + 0.5 - half) < 2 || Math.abs(px + 0.5 - half) < 2) return;
        ((py < half ? 0 : 2) + (px < half ? 0 : 1) === quadrant ? inside : outside).push(v);
      });
      assert.ok(Math.min(...inside) > 0.5 && Math.max(...outside) < 0.1, `class ${quadrant}: inside ${Math.min(...inside)}, outside ${Math.max(...outside)}`);
      assert.ok(Math.abs(Math.max(...result.cam.data) - 1) < 1e-5);
    }
    const nothing = await computeCam(model, input, camRequest(model, 'features', 4));
    assert.ok(nothing.cam.data.every((v) => v === 0), 'map of a class that reads nothing is not all zero');
    assert.ok(nothing.layerCam.data.every((v) => v === 0));
    assert.strictEqual(nothing.score, 0);
    input.dispose();
    model.dispose();
  });

  it('equals the definition computed independently (mean gradient, ReLU, scale, half-pixel resize, scale)', async () => {
    const model = chainModel('linear', 11) as tf.Sequential;
    const input = randomInput([12, 12, 3], 2);
    let nonZero = 0;
    for (const [layer, index] of [['conv2', 1], ['conv1', 0]] as const) {
      for (let classIndex = 0; classIndex < 4; classIndex++) {
        const result = await computeCam(model, input, camRequest(model, layer, classIndex));
        const reference = referenceGradCam(model, index, input, classIndex);
        nonZero += reference.layerCam.some((v) => v > 0) ? 1 : 0;
        assertClose(result.layerCam.data, reference.layerCam, 1e-5, `${layer} class ${classIndex} layerCam`);
        assertClose(result.cam.data, reference.cam, 1e-4, `${layer} class ${classIndex} cam`);
      }
    }
    assert.ok(nonZero >= 4, `only ${nonZero} of 8 reference maps are non-zero: the fixture tests too little`);
    input.dispose();
    model.dispose();
  });

  it('defaults to the top-1 class and reports top-k with softmax probabilities of the logits', async () => {
    const model = chainModel('softmax', 12);
    const input = randomInput([12, 12, 3], 3);
    const result = await computeCam(model, input, camRequest(model, 'conv2'));
    const probabilities = tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync());
    const top = argMaxOf(probabilities);
    assert.strictEqual(result.classIndex, top);
    assert.strictEqual(result.className, `label ${top}`);
    assert.strictEqual(result.predictions.length, 3);
    assert.strictEqual(result.predictions[0].index, top);
    for (const p of result.predictions) {
      assert.ok(Math.abs((p.probability as number) - probabilities[p.index]) < 1e-6, `probability of ${p.index}`);
    }
    assert.ok((result.predictions[0].probability as number) >= (result.predictions[1].probability as number));
    assert.strictEqual(result.score, result.predictions[0].score);
    input.dispose();
    model.dispose();
  });

  it('gives a softmax model and its logit twins the same CAM and layer CAM', async () => {
    const softmax = chainModel('softmax', 13);
    const twins = [
      twinOf(softmax, () => chainModel('linear', 0)),
      twinOf(softmax, () => chainWithSoftmaxLayer('softmax-layer')),
      twinOf(softmax, () => chainWithSoftmaxLayer('activation-layer')),
    ];
    const input = randomInput([12, 12, 3], 4);
    for (const classIndex of [1, 2]) {
      const expected = await computeCam(softmax, input, camRequest(softmax, 'conv1', classIndex));
      assert.ok(expected.layerCam.data.some((v) => v > 0));
      for (const twin of twins) {
        const result = await computeCam(twin, input, camRequest(twin, 'conv1', classIndex));
        assertClose(result.layerCam.data, expected.layerCam.data, 1e-6, `${twin.name} layerCam`);
        assertClose(result.cam.data, expected.cam.data, 1e-5, `${twin.name} cam`);
        assert.ok(Math.abs(result.score - expected.score) < 1e-5);
      }
    }
    // The nested-softmax-head model and its linear twin too.
    const nested = nestedModel('softmax');
    const nestedTwin = nestedModel('linear');
    const nestedInput = randomInput([10, 10, 3], 5);
    const a = await computeCam(nested, nestedInput, camRequest(nested, 'base/b_conv1', 0));
    const b = await computeCam(nestedTwin, nestedInput, camRequest(nestedTwin, 'base/b_conv1', 0));
    assertClose(a.cam.data, b.cam.data, 1e-5, 'nested cam');
    tf.dispose([input, nestedInput]);
    [softmax, ...twins, nested, nestedTwin].forEach((m) => m.dispose());
  });

  it('explains residual, concatenating, nested and BatchNorm/Dropout models, with stable results', async () => {
    const cases: [tf.LayersModel, string, string[]][] = [
      [residualModel(), 'final', ['stem', 'add', 'concat']],
      [nestedModel('softmax'), 'top_conv', ['base/b_conv1', 'base/b_bn', 'base', 'concat']],
      [batchNormDropoutModel(), 'drop2', ['bn1', 'drop1', 'act2']],
      [depthwiseModel(), 'sep', ['dw']],
    ];
    for (const [model, expectedDefault, others] of cases) {
      const loaded = wrap(model);
      assert.strictEqual(loaded.summary.defaultCamLayer, expectedDefault, model.name);
      const [h, w] = loaded.summary.inputShape;
      const image = randomImage(w + 3, h + 5, 9);
      for (const layer of [undefined, ...others]) {
        const first = await explain(loaded, image, { method: 'gradcam', layer });
        const second = await explain(loaded, image, { method: 'gradcam', layer });
        assert.strictEqual(first.layer, layer ?? expectedDefault);
        assert.deepStrictEqual(Array.from(second.cam.data), Array.from(first.cam.data), `${model.name}/${layer}: runs differ`);
        assert.ok(first.cam.data.every(Number.isFinite), `${model.name}/${layer}: NaN in the map`);
        assert.strictEqual(first.cam.width, w);
        assert.strictEqual(first.cam.height, h);
        const max = Math.max(...first.cam.data);
        assert.ok(max === 0 || Math.abs(max - 1) < 1e-5, `${model.name}/${layer}: max ${max}`);
      }
      loaded.dispose();
    }
  });

  it('describes layers: nested ones as outer/inner with depth and parent, spatial by rank', () => {
    const model = nestedModel('softmax');
    const layers = describeLayers(model);
    const inner = layers.find((l) => l.name === 'base/b_bn');
    assert.deepStrictEqual(
      { depth: inner?.depth, parent: inner?.parent, spatial: inner?.spatial, shape: inner?.outputShape, className: inner?.className },
      { depth: 1, parent: 'base', spatial: true, shape: [null, 10, 10, 6], className: 'BatchNormalization' },
    );
    assert.strictEqual(layers.find((l) => l.name === 'head/classes')?.spatial, false);
    assert.strictEqual(layers.find((l) => l.name === 'image')?.spatial, false, 'the input layer is not a CAM layer');
    assert.strictEqual(layers.find((l) => l.name === 'base')?.params, 6 * 27 + 6 + 4 * 6 + 5 * 54 + 5);

    // A base network right before the head: the default is its last 4-D layer, inside it.
    const baseInput = tf.input({ shape: [8, 8, 3] });
    const baseOut = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: 'inner_conv' }).apply(baseInput) as tf.SymbolicTensor;
    const base = tf.model({ inputs: baseInput, outputs: baseOut, name: 'backbone' });
    const input = tf.input({ shape: [8, 8, 3] });
    const pooled = tf.layers.globalMaxPooling2d({}).apply(base.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const classifier = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(pooled) as tf.SymbolicTensor });
    assert.strictEqual(defaultCamLayer(classifier), 'backbone/inner_conv');
    model.dispose();
    classifier.dispose();
  });

  it('handles a model spliced into a Sequential (Keras Sequential([base, ...])) like the same model called as a layer', async () => {
    const { spliced, functional } = splicedSequentialAndFunctional();
    const a = wrap(spliced);
    const b = wrap(functional);
    assert.strictEqual(a.summary.defaultCamLayer, 'backbone/bb_conv2');
    assert.strictEqual(b.summary.defaultCamLayer, 'backbone/bb_conv2');
    assert.deepStrictEqual(
      a.summary.layers.map((l) => l.name),
      ['backbone', 'backbone/backbone_input', 'backbone/bb_conv1', 'backbone/bb_conv2', 'gap', 'classes'],
    );
    const image = randomImage(9, 9, 4);
    let nonZero = 0;
    for (const layer of [undefined, 'backbone/bb_conv1', 'backbone']) {
      for (let classIndex = 0; classIndex < 3; classIndex++) {
        const fromSpliced = await explain(a, image, { method: 'gradcam', layer, classIndex });
        const fromFunctional = await explain(b, image, { method: 'gradcam', layer, classIndex });
        nonZero += fromFunctional.layerCam.data.some((v) => v > 0) ? 1 : 0;
        assertClose(fromSpliced.layerCam.data, fromFunctional.layerCam.data, 1e-6, `${layer} layerCam`);
        assertClose(fromSpliced.cam.data, fromFunctional.cam.data, 1e-5, `${layer} cam`);
      }
    }
    assert.ok(nonZero >= 4, `only ${nonZero} of 9 maps are non-zero: the fixture tests too little`);
    a.dispose(); // disposes the shared base too; the functional model's own weights are its head's
    functional.getLayer('classes').dispose();
  });

  it('refuses unknown layers, non-4-D layers, classes out of range and models without a 4-D layer', async () => {
    const loaded = wrap(chainModel('softmax', 14), ['a', 'b', 'c', 'd']);
    const image = randomImage(12, 12, 1);
    await assertRejectsEngineError(() => explain(loaded, image, { method: 'gradcam', layer: 'conv9' }), 'bad-request', /Layer "conv9" is not in model .*choose: "conv2", "conv1"/);
    await assertRejectsEngineError(() => explain(loaded, image, { method: 'gradcam', layer: 'gap' }), 'bad-request', /"gap" cannot be a CAM layer: its output shape \[null, 6\] is not 4-D/);
    for (const classIndex of [4, -1, 1.5]) {
      await assertRejectsEngineError(
        () => explain(loaded, image, { method: 'gradcam', classIndex }),
        'bad-request',
        new RegExp(`Class index ${classIndex} is out of range: the model has 4 classes, 0 to 3`),
      );
    }
    await assertRejectsEngineError(() => explain(loaded, image, { method: 'nope' as 'gradcam' }), 'bad-request', /Unknown method "nope"; known methods: gradcam/);
    assert.deepStrictEqual(loaded.summary.labels, ['a', 'b', 'c', 'd']);
    loaded.dispose();

    for (const model of [flatModel(), vectorModel()]) {
      assertEngineError(() => wrap(model), 'unsupported', /has no layer with a 4-D \(batch, height, width, channels\) output/);
      model.dispose();
    }
  });

  it('falls back to "class N" labels when their count does not match the classes', () => {
    const loaded = wrap(chainModel('softmax', 15), ['only', 'three', 'labels']);
    assert.deepStrictEqual(loaded.summary.labels, ['class 0', 'class 1', 'class 2', 'class 3']);
    assert.strictEqual(loaded.summary.labelsSource, null);
    assert.strictEqual(loaded.summary.outputSoftmax, true);
    assert.deepStrictEqual(loaded.summary.inputShape, [12, 12, 3]);
    assert.strictEqual(loaded.summary.numClasses, 4);
    loaded.dispose();
  });

  it('reports progress, and a cancel between stages rejects with "cancelled" and leaks nothing', async () => {
    const loaded = wrap(residualModel());
    const image = randomImage(10, 10, 2);
    const messages: string[] = [];
    await explain(loaded, image, { method: 'gradcam' }, { onProgress: (p) => messages.push(p.message) });
    assert.ok(messages.length >= 4 && messages[messages.length - 1] === 'Done', messages.join(' | '));

    const before = tf.memory().numTensors;
    for (let stage = 0; stage < 3; stage++) {
      const controller = new AbortController();
      let seen = 0;
      const onProgress = () => {
        if (seen++ === stage) controller.abort();
      };
      await assertRejectsEngineError(() => explain(loaded, image, { method: 'gradcam' }, { signal: controller.signal, onProgress }), 'cancelled', /Cancelled/);
    }
    assert.strictEqual(tf.memory().numTensors, before);
    loaded.dispose();
  });

  it('leaves no tensors behind after 20 runs', async () => {
    const loaded = wrap(nestedModel('softmax'));
    const image = randomImage(17, 13, 3);
    await explain(loaded, image, { method: 'gradcam' }); // warm-up (backend-owned constants)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      await explain(loaded, image, { method: 'gradcam', layer: i % 2 ? 'base/b_bn' : undefined, classIndex: i % 3 });
    }
    assert.strictEqual(tf.memory().numTensors, before);
    loaded.dispose();
  });

  describe('on wasm', () => {
    after(async () => {
      await initBackend('cpu');
    });

    it('gives the cpu map on a conv -> GAP -> dense chain and the quadrant model', async () => {
      const chain = chainModel('softmax', 16);
      const quadrants = quadrantModel();
      const chainInput = randomInput([12, 12, 3], 6);
      const quadrantIn = quadrantInput(2);
      const runs = async (): Promise<CamResult[]> => [
        await computeCam(chain, chainInput, camRequest(chain, 'conv2')),
        await computeCam(chain, chainInput, camRequest(chain, 'conv2', 3)),
        await computeCam(quadrants, quadrantIn, camRequest(quadrants, 'features', 2)),
      ];
      const onCpu = await runs();
      await initBackend('wasm');
      const onWasm = await runs();
      onCpu.forEach((cpu, i) => {
        assert.strictEqual(onWasm[i].classIndex, cpu.classIndex);
        assertClose(onWasm[i].layerCam.data, cpu.layerCam.data, 1e-5 * Math.max(1, ...cpu.layerCam.data), `run ${i} layerCam`);
        assertClose(onWasm[i].cam.data, cpu.cam.data, 1e-4, `run ${i} cam`);
      });
      tf.dispose([chainInput, quadrantIn]);
      chain.dispose();
      quadrants.dispose();
    });
  });
});
