// The bundled sample (samples/workspace): a CNN trained by scripts/sample/train_sample.py on
// Fashion-MNIST scenes and exported to TF.js by hand. Checked against PyTorch numbers in
// test/fixtures/reference/gradcam-sample.json (scripts/sample/gradcam_reference.py, which follows
// pytorch-grad-cam's definition): the converted weights give PyTorch's logits, and the engine's
// Grad-CAM gives PyTorch's maps on cpu and wasm; the map of the predicted class peaks on the garment.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
// backend.ts before tf.ts, as the engine facade loads them (see gradcam.test.ts).
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, loadModel, readImage, type LoadedModel } from '../../src/engine/index';
import { loadLayersModelFromDisk } from '../../src/engine/models/modelLoader';
import type { CamResult, Map2D } from '../../src/shared/types';

const REPO = path.resolve(__dirname, '..', '..');
const MODEL = path.join(REPO, 'samples', 'workspace', 'model', 'model.json');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'reference', 'gradcam-sample.json');

/** Tolerances: float32 on different kernels; maps are in [0,1]; logits are about 1-20 in size. */
const LOGIT_RELATIVE = 1e-4;
const CAM_ABS = 1e-3;
const LAYER_CAM_RELATIVE = 1e-3;
/**
 * Pixels a Grad-CAM peak may lie outside the garment's tight box: conv4 is 8x8, one cell per 8 input
 * pixels, so a peak on the garment's edge cell can land a pixel or two beyond its last bright pixel.
 */
const PEAK_MARGIN = 2;

interface FixtureMap {
  width: number;
  height: number;
  data: number[];
}
interface FixtureRun {
  layer: string;
  classIndex: number;
  score: number;
  camPeak: [number, number];
  cam: FixtureMap;
  layerCam: FixtureMap;
}
interface Fixture {
  labels: string[];
  layers: string[];
  samples: { file: string; label: string; labelIndex: number; box: [number, number, number, number] }[];
  images: { file: string; label: string; inputSize: [number, number]; logits: number[]; runs: FixtureRun[] }[];
  probes: { label: string; rgbBase64: string; logits: number[] }[];
}

const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture;

function assertLogitsClose(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: ${actual.length} logits, expected ${expected.length}`);
  const scale = Math.max(1, ...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= LOGIT_RELATIVE * scale, `${what}: logit ${i} is ${actual[i]}, PyTorch ${expected[i]}`);
  }
}

function assertMapClose(actual: Map2D, expected: FixtureMap, tolerance: number, what: string): void {
  assert.deepStrictEqual([actual.width, actual.height], [expected.width, expected.height], `${what}: size`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const diff = Math.abs(actual.data[i] - expected.data[i]);
    if (diff > worst) [worst, at] = [diff, i];
  }
  assert.ok(worst <= tolerance, `${what}: differs by ${worst} at (${at % expected.width}, ${Math.floor(at / expected.width)}): ${actual.data[at]} vs PyTorch ${expected.data[at]}`);
}

/** (x, y) of the first maximum in row-major order, as numpy's argmax picks it. */
function peakOf(map: Map2D): [number, number] {
  let best = 0;
  for (let i = 1; i < map.data.length; i++) {
    if (map.data[i] > map.data[best]) best = i;
  }
  return [best % map.width, Math.floor(best / map.width)];
}

/** All logits from a result: predictions with topK = number of classes carry every score. */
function logitsOf(result: CamResult, numClasses: number): Float32Array {
  assert.strictEqual(result.predictions.length, numClasses);
  const logits = new Float32Array(numClasses);
  for (const p of result.predictions) logits[p.index] = p.score;
  return logits;
}

describe('sample model (samples/workspace) against the PyTorch reference', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('loads with its labels, input size and the layers the reference names', async () => {
    const files = await loadLayersModelFromDisk(MODEL);
    try {
      assert.deepStrictEqual(files.labels, fixture.labels);
      assert.deepStrictEqual(files.model.inputs[0].shape, [null, ...fixture.images[0].inputSize, 3]);
      const names = files.model.layers.map((layer) => layer.name);
      for (const layer of fixture.layers) assert.ok(names.includes(layer), `model.json has no layer ${layer}`);
      assert.deepStrictEqual(files.preprocessing, {}, 'the sample is trained on [0,1] inputs, without mean/std');
    } finally {
      files.model.dispose();
    }
  });

  it('gives PyTorch logits on raw test scenes (the weight conversion, without image decoding)', async () => {
    const { model } = await loadLayersModelFromDisk(MODEL);
    const before = tf.memory().numTensors;
    // Logits = the dense head applied to the pooled features, read before the model's softmax.
    const dense = model.getLayer('predictions');
    const features = tf.model({ inputs: model.inputs, outputs: model.getLayer('gap').output as tf.SymbolicTensor });
    const [kernel, bias] = dense.getWeights();
    for (const probe of fixture.probes) {
      const [h, w] = fixture.images[0].inputSize;
      const pixels = Uint8Array.from(Buffer.from(probe.rgbBase64, 'base64'));
      const logits = tf.tidy(() => {
        const input = tf.div(tf.tensor4d(Float32Array.from(pixels), [1, h, w, 3]), 255);
        return tf.add(tf.matMul(features.predict(input) as tf.Tensor2D, kernel), bias).dataSync();
      });
      assertLogitsClose(logits, probe.logits, `probe (${probe.label})`);
      const probabilities = tf.tidy(() => (model.predict(tf.div(tf.tensor4d(Float32Array.from(pixels), [1, h, w, 3]), 255)) as tf.Tensor).dataSync());
      const expected = tf.tidy(() => tf.softmax(tf.tensor1d(probe.logits)).dataSync());
      probabilities.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-5, `probe (${probe.label}): softmax output ${i}`));
    }
    assert.strictEqual(tf.memory().numTensors, before);
    model.dispose();
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`Grad-CAM on ${backend}`, () => {
      let model: LoadedModel;
      before(async () => {
        await initBackend(backend);
        model = await loadModel(MODEL);
      });
      after(async () => {
        model?.dispose();
        await initBackend('cpu');
      });

      it('matches PyTorch: logits, CAM at input size and raw layer CAM, for each image, layer and class', async () => {
        assert.strictEqual(model.summary.defaultCamLayer, 'conv4');
        const numClasses = fixture.labels.length;
        const before = tf.memory().numTensors;
        for (const image of fixture.images) {
          const pixels = await readImage(path.join(REPO, image.file));
          for (const run of image.runs) {
            const what = `${path.basename(image.file)} ${run.layer} class ${run.classIndex} (${backend})`;
            const result = await explain(model, pixels, { method: 'gradcam', layer: run.layer, classIndex: run.classIndex, topK: numClasses });
            assert.strictEqual(result.backend, backend);
            assert.strictEqual(result.layer, run.layer);
            assertLogitsClose(logitsOf(result, numClasses), image.logits, what);
            assert.ok(Math.abs(result.score - run.score) <= LOGIT_RELATIVE * Math.max(1, Math.abs(run.score)), `${what}: score`);
            const layerScale = Math.max(...run.layerCam.data);
            assertMapClose(result.layerCam, run.layerCam, LAYER_CAM_RELATIVE * Math.max(layerScale, 1e-6), `${what}: layerCam`);
            assertMapClose(result.cam, run.cam, CAM_ABS, `${what}: cam`);
          }
        }
        assert.strictEqual(tf.memory().numTensors, before, 'tensors leaked');
      });

      it('predicts each sample image\'s garment and puts the default Grad-CAM peak inside its box', async () => {
        for (const sample of fixture.samples) {
          const result = await explain(model, await readImage(path.join(REPO, sample.file)), { method: 'gradcam' });
          const name = path.basename(sample.file);
          assert.strictEqual(result.className, sample.label, `${name}: predicted ${result.className}`);
          assert.strictEqual(result.layer, 'conv4');
          const [x, y] = peakOf(result.cam);
          const [x0, y0, x1, y1] = sample.box;
          const m = PEAK_MARGIN;
          assert.ok(x >= x0 - m && x < x1 + m && y >= y0 - m && y < y1 + m, `${name}: peak (${x}, ${y}) outside the garment box [${sample.box}] (margin ${m})`);
          // Not a flat map: the garment is hot, the far corners of the canvas are not.
          assert.ok(Math.min(...result.cam.data) < 0.05 && Math.max(...result.cam.data) > 0.95, `${name}: map is flat`);
        }
      });
    });
  }
});
