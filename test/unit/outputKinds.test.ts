// Output kinds and several outputs, as pytorch-grad-cam's targets define them: a one-unit sigmoid
// output is a binary classifier shown as two classes and explained with −z / +z
// (BinaryClassifierOutputTarget), a one-unit linear output is a regression explained with its value
// (RawScoresOutputTarget), and a multi-head model explains the output the request names. Every
// answer is computed by hand from the fixtures' weights (test/unit/fixtures/outputModels.ts), on
// LayersModels, ONNX graphs and TF.js graph models built in the test.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { LensError } from '../../src/shared/errors';
import { computeActivations, explain, ForwardCache, loadModel, wrapModel, type LoadedModel } from '../../src/engine/index';
import { runSamplePass, type SamplePart, type SamplePool } from '../../src/engine/explain/samplePool';
import { BATCH_MEMORY_BYTES } from '../../src/engine/execution/batching';
import type { CamResult, RgbaImage } from '../../src/shared/types';
import {
  AGE,
  RACE_CONV,
  RACE_DENSE,
  SIDE,
  SPOOF,
  ageValue,
  binaryLayersModel,
  halvesImage,
  mean,
  multiHeadLayersModel,
  onnxDetector,
  onnxHeads,
  regressionLayersModel,
  saveLayersModel,
  sigmoid,
  spoofLogit,
  trunkGradCam,
  trunkMaps,
  writeGraphModelHeads,
} from './fixtures/outputModels';
import { TORCH_PYTHON } from './fixtures/pytorch';

function wrap(model: tf.LayersModel, labels: string[] | null = null): LoadedModel {
  return wrapModel(model, { path: `/memory/${model.name}/model.json`, labels, labelsSource: labels ? '/memory/labels.txt' : null, preprocessing: {}, sidecar: null });
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

/** The race head's pre-softmax logits for an image, by hand. */
function raceLogits(image: RgbaImage): number[] {
  const [a0, a1] = trunkMaps(image);
  const r = [0, 1, 2].map((j) => mean(Array.from(a0, (v, p) => Math.max(0, v * RACE_CONV[0][j] + a1[p] * RACE_CONV[1][j]))));
  return [0, 1, 2].map((c) => r.reduce((s, v, j) => s + v * RACE_DENSE[j][c], 0));
}

async function rejects(run: () => Promise<unknown>, pattern: RegExp, code?: string): Promise<LensError> {
  const error = await run().then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof LensError, String(error));
  assert.match(error.message, pattern);
  if (code) assert.strictEqual(error.code, code);
  return error;
}

describe('output kinds and several outputs', function () {
  this.timeout(60_000);
  // Left half red (A0 = 1), right half green 0.4 (A1 = 0.4): z = 2·0.5 − 3·0.2 + 0.5 = 0.9.
  const image = halvesImage(0.4);
  let tmp: string;

  before(async () => {
    await initBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-outputs-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('a one-unit sigmoid output is a binary classifier', () => {
    let model: LoadedModel;
    before(() => {
      model = wrap(binaryLayersModel(), ['real', 'spoof']);
    });
    after(() => model.dispose());

    it('is described as binary, with two classes labelled from a two-line labels file', () => {
      const [output] = model.summary.outputs;
      assert.strictEqual(output.kind, 'binary');
      assert.strictEqual(output.activation, 'sigmoid');
      assert.strictEqual(output.kindSource, 'model');
      assert.deepStrictEqual(output.labels, ['real', 'spoof']);
      assert.strictEqual(model.summary.numClasses, 2);
      assert.deepStrictEqual(model.summary.labels, ['real', 'spoof']);
      assert.strictEqual(model.summary.outputSoftmax, false);
    });

    it('shows σ(z) and 1 − σ(z), and explains class 1 with +z (the logit, not σ(z))', async () => {
      const z = spoofLogit(image);
      assert.ok(Math.abs(z - 0.9) < 1e-6, `hand-computed z ${z}`);
      const result = await explain(model, image, { method: 'gradcam' });
      assert.strictEqual(result.classIndex, 1, 'z > 0: σ(z) is the likelier side');
      assert.strictEqual(result.className, 'spoof');
      assert.ok(Math.abs(result.score - z) < 1e-5, `score ${result.score} vs z ${z}`);
      assert.deepStrictEqual(result.output, { index: 0, name: 'spoof', kind: 'binary', of: 1 });
      assert.deepStrictEqual(
        result.predictions.map((p) => p.index),
        [1, 0],
      );
      assert.ok(Math.abs((result.predictions[0].probability as number) - sigmoid(z)) < 1e-6);
      assert.ok(Math.abs((result.predictions[1].probability as number) - (1 - sigmoid(z))) < 1e-6);
      assert.ok(Math.abs(result.predictions[1].score + z) < 1e-5, 'class 0 is scored −z');
      assertClose(result.layerCam.data, trunkGradCam(image, SPOOF.weights, 1), 1e-6, 'Grad-CAM of +z');
    });

    it('explains class 0 with −z: Grad-CAM weights are the negated gradients', async () => {
      const result = await explain(model, image, { method: 'gradcam', classIndex: 0 });
      assert.ok(Math.abs(result.score + spoofLogit(image)) < 1e-5);
      const expected = trunkGradCam(image, SPOOF.weights, -1);
      assertClose(result.layerCam.data, expected, 1e-6, 'Grad-CAM of −z');
      // +z points at the red half (weight 2 on A0), −z at the green half (weight 3 on A1).
      assert.ok(result.layerCam.data[0] === 0 && result.layerCam.data[SIDE - 1] > 0, 'class 0 lights the right half');
      const positive = await explain(model, image, { method: 'gradcam', classIndex: 1 });
      assert.ok(positive.layerCam.data[0] > 0 && positive.layerCam.data[SIDE - 1] === 0, 'class 1 lights the left half');
    });

    it('gives saliency of −z as the negated gradient of +z', async () => {
      const plus = await explain(model, image, { method: 'saliency', classIndex: 1 });
      const minus = await explain(model, image, { method: 'saliency', classIndex: 0 });
      // max over channels of |gradient|: the same for ±z, and the gradient is w_k / 64 on channel k where A_k > 0.
      assertClose(minus.layerCam.data, plus.layerCam.data, 1e-7, 'saliency ±z');
      assert.ok(Math.abs(plus.layerCam.data[0] - 2 / 64) < 1e-6, `left pixel ${plus.layerCam.data[0]}`);
      assert.ok(Math.abs(plus.layerCam.data[SIDE - 1] - 3 / 64) < 1e-6, `right pixel ${plus.layerCam.data[SIDE - 1]}`);
    });

    it('refuses class 2, saying which two classes a binary output has', async () => {
      await rejects(() => explain(model, image, { method: 'gradcam', classIndex: 2 }), /class 0 \(1 − σ\(z\), explained with −z\) or class 1 \(σ\(z\), \+z\)/, 'bad-request');
    });

    it("scores the metrics' curves with the chosen side's probability", async () => {
      const z = spoofLogit(image);
      const one = (await explain(model, image, { method: 'gradcam', classIndex: 1, metrics: true, options: { batchSize: 64 } })).metrics;
      const zero = (await explain(model, image, { method: 'gradcam', classIndex: 0, metrics: true, options: { batchSize: 64 } })).metrics;
      assert.ok(one && zero);
      assert.ok(Math.abs(one.probability - sigmoid(z)) < 1e-6, `${one.probability}`);
      assert.ok(Math.abs(zero.probability - (1 - sigmoid(z))) < 1e-6, `${zero.probability}`);
      // The curves start at the image and end at its blurred copy, the same for both sides: there the two sides add up to 1.
      const last = one.deletion.scores.length - 1;
      assert.ok(Math.abs(one.deletion.scores[0] + zero.deletion.scores[0] - 1) < 1e-6);
      assert.ok(Math.abs(one.deletion.scores[last] + zero.deletion.scores[last] - 1) < 1e-6);
      assert.strictEqual(one.scoreKind, 'probability');
      assert.ok(one.deletion.scores.every((s) => s > 0 && s < 1));
    });

    it('draws the output layer as the model computes it (σ(z)), not the score', async () => {
      const activations = await computeActivations(model, image, 'spoof');
      assert.ok(Math.abs(activations.data[0] - sigmoid(spoofLogit(image))) < 1e-6, `${activations.data[0]}`);
    });
  });

  describe('a one-unit linear output is a regression', () => {
    let model: LoadedModel;
    before(() => {
      model = wrap(regressionLayersModel());
    });
    after(() => model.dispose());

    it('is described as a regression and shown as a value, not a probability', async () => {
      assert.strictEqual(model.summary.outputs[0].kind, 'regression');
      assert.deepStrictEqual(model.summary.labels, ['value']);
      const value = ageValue(image);
      assert.ok(Math.abs(value - (3 * 0.5 + 0.2 + 20)) < 1e-9);
      const result = await explain(model, image, { method: 'gradcam' });
      assert.strictEqual(result.classIndex, 0);
      assert.ok(Math.abs(result.score - value) < 1e-4, `${result.score} vs ${value}`);
      assert.strictEqual(result.predictions.length, 1);
      assert.strictEqual(result.predictions[0].probability, undefined);
      assert.ok(Math.abs((result.predictions[0].value as number) - value) < 1e-4);
      assertClose(result.layerCam.data, trunkGradCam(image, AGE.weights, 1), 1e-6, 'Grad-CAM of the value');
    });

    it('runs the metrics on the value', async () => {
      const metrics = (await explain(model, image, { method: 'gradcam', metrics: true, options: { batchSize: 64 } })).metrics;
      assert.ok(metrics);
      assert.strictEqual(metrics.scoreKind, 'value');
      assert.ok(Math.abs(metrics.probability - ageValue(image)) < 1e-4, `${metrics.probability}`);
      // Deleting everything to the blurred copy of a uniform-halves image keeps the means, so the value stays about 21.7.
      assert.ok(metrics.deletion.scores.every((s) => s > 20 && s < 23), metrics.deletion.scores.join(', '));
    });

    it('refuses value 1 of a one-value regression', async () => {
      await rejects(() => explain(model, image, { method: 'gradcam', classIndex: 1 }), /regression of 1 value, 0\./);
    });
  });

  describe('a model with several outputs', () => {
    let model: LoadedModel;
    before(() => {
      model = wrap(multiHeadLayersModel());
    });
    after(() => model.dispose());

    it('lists every output with its kind, the first by default', () => {
      const { outputs, defaultOutput } = model.summary;
      assert.deepStrictEqual(
        outputs.map((o) => [o.index, o.name, o.kind, o.defaultCamLayer]),
        [
          [0, 'age', 'regression', 'trunk'],
          [1, 'spoof', 'binary', 'trunk'],
          [2, 'race', 'classes', 'race_conv'],
        ],
      );
      assert.strictEqual(defaultOutput, 0);
      assert.strictEqual(model.summary.defaultCamLayer, 'trunk');
    });

    it('explains the output a request names, by index or by name, as the single-output twins', async () => {
      const age = await explain(model, image, { method: 'gradcam' });
      assert.deepStrictEqual(age.output, { index: 0, name: 'age', kind: 'regression', of: 3 });
      assert.ok(Math.abs(age.score - ageValue(image)) < 1e-4);
      assertClose(age.layerCam.data, trunkGradCam(image, AGE.weights, 1), 1e-6, 'age');
      for (const output of [1, 'spoof', '1'] as const) {
        const spoof = await explain(model, image, { method: 'gradcam', output, classIndex: 0 });
        assert.deepStrictEqual(spoof.output, { index: 1, name: 'spoof', kind: 'binary', of: 3 }, String(output));
        assert.ok(Math.abs(spoof.score + spoofLogit(image)) < 1e-5);
        assertClose(spoof.layerCam.data, trunkGradCam(image, SPOOF.weights, -1), 1e-6, `spoof by ${output}`);
      }
      const race = await explain(model, image, { method: 'gradcam', output: 'race' });
      assert.strictEqual(race.layer, 'race_conv', 'the default layer of the race output is its own last 4-D layer');
      const logits = raceLogits(image);
      const top = logits.indexOf(Math.max(...logits));
      assert.strictEqual(race.classIndex, top);
      assert.ok(Math.abs(race.score - logits[top]) < 1e-5, `pre-softmax ${race.score} vs ${logits[top]}`);
      assert.ok(Math.abs(sum(race.predictions.map((p) => p.probability as number)) - 1) < 1e-6);
    });

    it('refuses an output it does not have, and a layer that does not feed the output, listing the choices', async () => {
      await rejects(() => explain(model, image, { method: 'gradcam', output: 'gender' }), /no output "gender"; its outputs: 0 "age" \(1×1, regression\), 1 "spoof" \(1×1, binary\), 2 "race" \(1×3, classes\)/);
      await rejects(() => explain(model, image, { method: 'gradcam', output: 3 }), /no output 3/);
      await rejects(() => explain(model, image, { method: 'gradcam', output: 'age', layer: 'race_conv' }), /Layer "race_conv" does not feed output 0 "age".*default: "trunk"/);
    });

    it('keeps forward passes per output: another output never reuses one', async () => {
      const cache = new ForwardCache(4);
      const context = { forwardCache: cache };
      const first = await explain(model, image, { method: 'gradcam', output: 'age' }, context);
      const other = await explain(model, image, { method: 'gradcam', output: 'spoof' }, context);
      const again = await explain(model, image, { method: 'gradcam', output: 'spoof', classIndex: 0 }, context);
      assert.strictEqual(first.details?.forwardReused, false);
      assert.strictEqual(other.details?.forwardReused, false, 'the spoof output ran its own forward pass');
      assert.strictEqual(again.details?.forwardReused, true);
      assert.ok(Math.abs(other.score - spoofLogit(image)) < 1e-5, 'scores are the output’s own');
      assert.strictEqual(cache.size, 2);
      cache.forgetModel(model.model);
      assert.strictEqual(cache.size, 0, 'forgetting the model drops every output’s passes');
    });

    it('sends the output to the sample helpers, which run that output', async () => {
      const parts: SamplePart[] = [];
      const pool: SamplePool = {
        helpers: 1,
        run: async (part) => {
          parts.push(part);
          const batch = tf.tensor4d(part.batch, part.shape);
          const out = runSamplePass(model.outputModel(part.output ?? 0), batch, part, BATCH_MEMORY_BYTES);
          const values = (await out.data()) as Float32Array;
          tf.dispose([batch, out]);
          return values;
        },
      };
      const request = { method: 'smoothgrad' as const, output: 'spoof', classIndex: 0, options: { samples: 4, batchSize: 4, noise: 0 } };
      const alone = await explain(model, image, request);
      const shared = await explain(model, image, request, { samplePool: pool });
      assert.ok(parts.length > 0 && parts.every((p) => p.output === 1), JSON.stringify(parts.map((p) => p.output)));
      assertClose(shared.layerCam.data, alone.layerCam.data, 1e-6, 'smoothgrad with helpers');
    });

    it('draws activations of any layer, whichever output they feed', async () => {
      const race = await computeActivations(model, image, 'race_conv');
      assert.strictEqual(race.channels, 3);
    });
  });

  describe('cnn-lens.json "output" and labels files', () => {
    async function saved(name: string, model: tf.LayersModel, files: Record<string, string>): Promise<string> {
      const folder = path.join(tmp, name);
      const json = await saveLayersModel(model, folder);
      model.dispose();
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(folder, file), text);
      return json;
    }

    it('sets kinds and per-output labels by name', async () => {
      const file = await saved('heads', multiHeadLayersModel(), {
        'cnn-lens.json': JSON.stringify({ output: [{ name: 'spoof', labels: 'spoof.txt' }, { name: 2, labels: 'race.txt' }, { name: 'age', kind: 'binary' }] }),
        'spoof.txt': 'real\nspoof\n',
        'race.txt': 'a\nb\nc\n',
      });
      const model = await loadModel(file);
      try {
        const [age, spoof, race] = model.summary.outputs;
        assert.deepStrictEqual(spoof.labels, ['real', 'spoof']);
        assert.strictEqual(spoof.labelsSource, path.join(path.dirname(file), 'spoof.txt'));
        assert.deepStrictEqual(race.labels, ['a', 'b', 'c']);
        // "binary" on a linear unit: its raw value is the logit z (a PyTorch model trained with BCEWithLogitsLoss).
        assert.strictEqual(age.kind, 'binary');
        assert.strictEqual(age.kindSource, 'sidecar');
        const result = await explain(model, image, { method: 'gradcam', output: 'age' });
        assert.strictEqual(result.classIndex, 1);
        assert.ok(Math.abs(result.score - ageValue(image)) < 1e-4);
        assert.ok(Math.abs((result.predictions[0].probability as number) - sigmoid(ageValue(image))) < 1e-6);
      } finally {
        model.dispose();
      }
    });

    it('makes a sigmoid output a regression when told, explained with σ(z) as its value', async () => {
      const file = await saved('as-regression', binaryLayersModel(), { 'cnn-lens.json': JSON.stringify({ output: { kind: 'regression' } }) });
      const model = await loadModel(file);
      try {
        const result = await explain(model, image, { method: 'gradcam' });
        assert.strictEqual(result.output.kind, 'regression');
        assert.ok(Math.abs(result.score - sigmoid(spoofLogit(image))) < 1e-6);
      } finally {
        model.dispose();
      }
    });

    it('uses a two-line labels.txt for a binary output', async () => {
      const file = await saved('labels-binary', binaryLayersModel(), { 'labels.txt': 'live\nspoof\n' });
      const model = await loadModel(file);
      try {
        assert.deepStrictEqual(model.summary.labels, ['live', 'spoof']);
        assert.strictEqual(model.summary.warnings, undefined);
      } finally {
        model.dispose();
      }
    });

    const refusals: [string, object, RegExp][] = [
      ['an output that does not exist', { output: { name: 'gender', kind: 'binary' } }, /cnn-lens\.json: "output" names output "gender", which the model does not have; its outputs: 0 "age" \(1×1\), 1 "spoof" \(1×1\), 2 "race" \(1×3\)/],
      ['an output index out of range', { output: [{ name: 7, kind: 'classes' }] }, /names output 7, which the model does not have/],
      ['an entry without a name on a model with several outputs', { output: { kind: 'binary' } }, /"output" must say which output it sets .* the model has 3 outputs/],
      ['an unknown kind', { output: { name: 'age', kind: 'probability' } }, /"kind" must be one of "classes", "binary", "regression", got "probability"/],
      ['"binary" on three classes', { output: { name: 'race', kind: 'binary' } }, /output 2 "race" is "binary", but it has 3 units/],
      ['an unknown key', { output: { name: 'age', type: 'binary' } }, /"output" has an unknown key "type"/],
      ['the same output twice', { output: [{ name: 'age' }, { name: 0 }] }, /sets output 0 "age" twice/],
    ];
    for (const [what, sidecar, pattern] of refusals) {
      it(`refuses ${what}, naming cnn-lens.json`, async () => {
        const file = await saved(`bad-${what.replace(/\W+/g, '-')}`, multiHeadLayersModel(), { 'cnn-lens.json': JSON.stringify(sidecar) });
        const before = tf.memory().numTensors;
        const error = await rejects(() => loadModel(file), pattern, 'bad-input');
        assert.ok(error.message.startsWith(path.join(path.dirname(file), 'cnn-lens.json')), error.message);
        assert.strictEqual(tf.memory().numTensors, before, 'the refused model is freed');
      });
    }
  });

  describe('ONNX', () => {
    function onnxFile(name: string, bytes: Uint8Array): string {
      const file = path.join(tmp, `${name}.onnx`);
      fs.writeFileSync(file, bytes);
      return file;
    }

    it('reads a Sigmoid node at the output as a binary classifier, explained with its input z', async () => {
      const model = await loadModel(onnxFile('binary', onnxHeads(['spoof'])));
      try {
        assert.strictEqual(model.summary.outputs[0].kind, 'binary');
        const result = await explain(model, image, { method: 'gradcam', layer: 'trunk', classIndex: 0 });
        assert.ok(Math.abs(result.score + spoofLogit(image)) < 1e-5, `${result.score}`);
        assertClose(result.layerCam.data, trunkGradCam(image, SPOOF.weights, -1), 1e-6, 'ONNX Grad-CAM of −z');
      } finally {
        model.dispose();
      }
    });

    it('explains each of several outputs, named as the graph names them', async () => {
      const model = await loadModel(onnxFile('heads', onnxHeads(['age', 'spoof', 'race'])));
      try {
        assert.deepStrictEqual(
          model.summary.outputs.map((o) => [o.name, o.kind, o.shape]),
          [
            ['age', 'regression', ['batch', 1]],
            ['spoof', 'binary', ['batch', 1]],
            ['race', 'classes', ['batch', 3]],
          ],
        );
        const age = await explain(model, image, { method: 'gradcam', layer: 'trunk' });
        assert.ok(Math.abs(age.score - ageValue(image)) < 1e-4);
        assertClose(age.layerCam.data, trunkGradCam(image, AGE.weights, 1), 1e-6, 'ONNX age');
        const spoof = await explain(model, image, { method: 'gradcam', layer: 'trunk', output: 'spoof' });
        assert.ok(Math.abs(spoof.score - spoofLogit(image)) < 1e-5);
        const race = await explain(model, image, { method: 'gradcam', output: 'race' });
        assert.strictEqual(race.layer, 'race_relu');
        const logits = raceLogits(image);
        assert.ok(Math.abs(race.score - Math.max(...logits)) < 1e-5);
      } finally {
        model.dispose();
      }
    });

    it('says "not a classifier" for a box output, before any operator list', async () => {
      const error = await rejects(() => loadModel(onnxFile('detector', onnxDetector())), /not a classifier: its output is 1×896×16/, 'unsupported');
      assert.doesNotMatch(error.message, /NonMaxSuppression|TopK|operator/);
      assert.ok(error.message.startsWith(path.join(tmp, 'detector.onnx')), error.message);
    });
  });

  describe('Keras .h5', () => {
    it('explains each output of a Functional model with several outputs, named by their layers', async function () {
      // A Keras 2 .h5 written by h5py (test/unit/fixtures/write_keras_h5.py) from the three-head model's own Keras JSON and weights.
      const source = multiHeadLayersModel();
      const layers: Record<string, [string, number[], number[]][]> = {};
      for (const layer of source.layers) {
        if (layer.weights.length > 0) {
          layers[layer.name] = layer.weights.map((w) => [`${w.name.replace(/_\d+\//, '/')}:0`, w.shape as number[], Array.from(w.read().dataSync())]);
        }
      }
      const spec = path.join(tmp, 'keras-spec.json');
      fs.writeFileSync(spec, JSON.stringify({ config: JSON.stringify(source.toJSON(null, false)), layers }));
      source.dispose();
      const file = path.join(tmp, 'heads.h5');
      execFileSync(TORCH_PYTHON, [path.join(__dirname, 'fixtures', 'write_keras_h5.py'), spec, file], { stdio: 'pipe' });
      const model = await loadModel(file);
      try {
        assert.strictEqual(model.summary.format, 'keras-h5');
        assert.deepStrictEqual(
          model.summary.outputs.map((o) => [o.name, o.kind]),
          [
            ['age', 'regression'],
            ['spoof', 'binary'],
            ['race', 'classes'],
          ],
        );
        const spoof = await explain(model, image, { method: 'gradcam', output: 'spoof', classIndex: 0 });
        assert.ok(Math.abs(spoof.score + spoofLogit(image)) < 1e-5);
        assertClose(spoof.layerCam.data, trunkGradCam(image, SPOOF.weights, -1), 1e-6, 'Keras −z');
        const age = await explain(model, image, { method: 'gradcam' });
        assert.ok(Math.abs(age.score - ageValue(image)) < 1e-4);
      } finally {
        model.dispose();
      }
    });
  });

  describe('TF.js graph models', () => {
    it('explains a sigmoid head and a linear head declared in the signature', async () => {
      const model = await loadModel(writeGraphModelHeads(path.join(tmp, 'graph-heads'), ['spoof', 'age']));
      try {
        assert.deepStrictEqual(
          model.summary.outputs.map((o) => [o.name, o.kind]),
          [
            ['spoof', 'binary'],
            ['age', 'regression'],
          ],
        );
        const spoof = await explain(model, image, { method: 'gradcam', layer: 'trunk/Relu', classIndex: 0 });
        assert.ok(Math.abs(spoof.score + spoofLogit(image)) < 1e-5, `${spoof.score}`);
        assertClose(spoof.layerCam.data, trunkGradCam(image, SPOOF.weights, -1), 1e-6, 'graph model −z');
        const age = await explain(model, image, { method: 'gradcam', layer: 'trunk/Relu', output: 'age' });
        assert.ok(Math.abs(age.score - ageValue(image)) < 1e-4);
      } finally {
        model.dispose();
      }
    });

    it('says "not a classifier" for a heatmap output, before any op list', async () => {
      const file = writeGraphModelHeads(path.join(tmp, 'graph-detector'), ['spoof']);
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      json.signature.outputs = { heatmap: { name: 'Identity:0', tensorShape: { dim: [{ size: '-1' }, { size: '64' }, { size: '64' }, { size: '17' }] } } };
      json.modelTopology.node.push({ name: 'nms', op: 'NonMaxSuppressionV5', input: ['trunk/Relu'] });
      fs.writeFileSync(file, JSON.stringify(json));
      const error = await rejects(() => loadModel(file), /not a classifier: its output is 1×64×64×17/, 'unsupported');
      assert.doesNotMatch(error.message, /NonMaxSuppressionV5/);
    });
  });

  it('keeps a model whose results are explained unchanged: a softmax vector is classes', async () => {
    const model = wrap(multiHeadLayersModel());
    try {
      const race = model.summary.outputs[2];
      assert.deepStrictEqual([race.kind, race.activation, race.labels], ['classes', 'softmax', ['class 0', 'class 1', 'class 2']]);
      const result: CamResult = await explain(model, image, { method: 'gradcam', output: 2, classIndex: 1 });
      assert.ok(Math.abs(result.score - raceLogits(image)[1]) < 1e-5);
    } finally {
      model.dispose();
    }
  });
});
