// Loading LayersModels from disk: round trips (plain and nested models), labels and the cnn-lens.json
// sidecar, and every way a model folder can be broken or hostile, each a clear LensError that
// leaves no tensors behind.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '../../src/engine/tf';
import { initBackend } from '../../src/engine/backend';
import { LensError } from '../../src/shared/errors';
import { loadLayersModelFromDisk } from '../../src/engine/models/modelLoader';
import type { ModelFiles } from '../../src/engine/models/modelLoader';

const SHARD = 'group1-shard1of1.bin';

interface SavedModel {
  folder: string;
  modelJson: string;
  /** The parsed model.json, for tests that rewrite it. */
  json: Record<string, unknown> & { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  weights: Uint8Array;
}

let root: string;

/** Saves `model` as model.json + one shard into a fresh folder, through a custom IOHandler. */
async function saveModel(model: tf.LayersModel, name: string): Promise<SavedModel> {
  const folder = path.join(root, name);
  fs.mkdirSync(folder, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save({
    save: async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  const saved = artifacts!;
  const weights = new Uint8Array(saved.weightData as ArrayBuffer);
  const json = {
    modelTopology: saved.modelTopology,
    format: saved.format,
    generatedBy: saved.generatedBy,
    convertedBy: saved.convertedBy,
    weightsManifest: [{ paths: [SHARD], weights: saved.weightSpecs! }],
  };
  fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(folder, SHARD), weights);
  return { folder, modelJson: path.join(folder, 'model.json'), json, weights };
}

function rewriteModelJson(saved: SavedModel, change: (json: SavedModel['json']) => void): void {
  const json = JSON.parse(JSON.stringify(saved.json)) as SavedModel['json'];
  change(json);
  fs.writeFileSync(saved.modelJson, JSON.stringify(json));
}

function smallCnn(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 3, name: 'logits' }));
  return model;
}

/** A functional classifier with a Sequential base network used as a single layer. */
function nestedCnn(): tf.LayersModel {
  const base = tf.sequential({ name: 'base' });
  base.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 5, kernelSize: 3, activation: 'relu', name: 'base_conv1' }));
  base.add(tf.layers.batchNormalization({ name: 'base_bn' }));
  base.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'base_conv2' }));
  const input = tf.input({ shape: [8, 8, 3] });
  const features = base.apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(features) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 4, activation: 'softmax', name: 'head' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'classifier' });
}

function fixedInput(): tf.Tensor4D {
  return tf.tidy(() => tf.sin(tf.range(0, 8 * 8 * 3).reshape([1, 8, 8, 3]).mul(0.37)) as tf.Tensor4D);
}

function predict(model: tf.LayersModel): Float32Array {
  return tf.tidy(() => (model.predict(fixedInput()) as tf.Tensor).dataSync() as Float32Array);
}

/** Expects the load to fail with an LensError whose message holds every fragment, leaking nothing. */
async function expectLoadError(modelPath: string, code: LensError['code'], ...fragments: string[]): Promise<void> {
  const tensorsBefore = tf.memory().numTensors;
  const error = await loadLayersModelFromDisk(modelPath).then(
    (files) => {
      files.model.dispose();
      return assert.fail(`expected ${modelPath} to be refused`);
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof LensError, `expected LensError, got ${String(error)}`);
  assert.strictEqual(error.code, code, error.message);
  for (const fragment of fragments) {
    assert.ok(error.message.includes(fragment), `"${error.message}" should mention "${fragment}"`);
  }
  assert.strictEqual(tf.memory().numTensors, tensorsBefore, 'a failed load must not leak tensors');
}

describe('modelLoader', () => {
  let original: tf.Sequential;
  let expected: Float32Array;

  before(async () => {
    await initBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-models-'));
    original = smallCnn();
    expected = predict(original);
  });

  after(() => {
    original.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe('loading', () => {
    it('loads a saved model that predicts the same numbers, from model.json or its folder', async () => {
      const saved = await saveModel(original, 'plain');
      const tensorsBefore = tf.memory().numTensors;
      for (const target of [saved.modelJson, saved.folder]) {
        const files = await loadLayersModelFromDisk(target);
        assert.strictEqual(files.modelPath, saved.modelJson);
        assert.deepStrictEqual([files.labels, files.labelsSource, files.sidecar], [null, null, null]);
        assert.deepStrictEqual(files.preprocessing, {});
        assert.deepStrictEqual([...predict(files.model)], [...expected]);
        files.model.dispose();
      }
      assert.strictEqual(tf.memory().numTensors, tensorsBefore, 'disposing the loaded model frees everything');
    });

    it('round-trips a functional model with a nested Sequential base', async () => {
      const nested = nestedCnn();
      const want = predict(nested);
      const saved = await saveModel(nested, 'nested');
      const files = await loadLayersModelFromDisk(saved.modelJson);
      try {
        assert.deepStrictEqual([...predict(files.model)], [...want]);
        const base = files.model.layers.find((layer) => layer.name === 'base') as tf.LayersModel | undefined;
        assert.ok(base && Array.isArray(base.layers), 'the base network is a nested model layer');
        assert.deepStrictEqual(
          base.layers.map((layer) => layer.name),
          ['base_conv1', 'base_bn', 'base_conv2'],
        );
      } finally {
        files.model.dispose();
        nested.dispose();
      }
    });

    it('reads weights split over several shards and accepts a link that stays inside the folder', async () => {
      const saved = await saveModel(original, 'sharded');
      const cut = 123;
      fs.writeFileSync(path.join(saved.folder, 'a.bin'), saved.weights.subarray(0, cut));
      fs.mkdirSync(path.join(saved.folder, 'parts'));
      fs.writeFileSync(path.join(saved.folder, 'parts', 'b.bin'), saved.weights.subarray(cut));
      fs.symlinkSync(path.join(saved.folder, 'parts', 'b.bin'), path.join(saved.folder, 'b-link.bin'));
      rewriteModelJson(saved, (json) => {
        json.weightsManifest[0].paths = ['a.bin', 'b-link.bin'];
      });
      const files = await loadLayersModelFromDisk(saved.modelJson);
      assert.deepStrictEqual([...predict(files.model)], [...expected]);
      files.model.dispose();
    });
  });

  describe('labels and sidecar', () => {
    async function loadWith(name: string, files: Record<string, string>): Promise<ModelFiles> {
      const saved = await saveModel(original, name);
      for (const [file, text] of Object.entries(files)) {
        fs.writeFileSync(path.join(saved.folder, file), text);
      }
      const loaded = await loadLayersModelFromDisk(saved.modelJson);
      loaded.model.dispose();
      return loaded;
    }

    it('reads labels.txt, one per line, ignoring trailing blank lines', async () => {
      const files = await loadWith('labels-txt', { 'labels.txt': 'cat\r\ndog\n bird \n\n\n' });
      assert.deepStrictEqual(files.labels, ['cat', 'dog', 'bird']);
      assert.strictEqual(files.labelsSource, path.join(root, 'labels-txt', 'labels.txt'));
    });

    it('reads labels.json and metadata.json, and prefers labels.txt', async () => {
      const json = await loadWith('labels-json', { 'labels.json': '["zero", "one", "two"]' });
      assert.deepStrictEqual(json.labels, ['zero', 'one', 'two']);
      assert.ok(json.labelsSource!.endsWith('labels.json'));
      const metadata = await loadWith('labels-metadata', { 'metadata.json': '{"modelName": "tm", "labels": ["a", "b", "c"]}' });
      assert.deepStrictEqual(metadata.labels, ['a', 'b', 'c']);
      assert.ok(metadata.labelsSource!.endsWith('metadata.json'));
      const both = await loadWith('labels-both', { 'labels.txt': 'first\n', 'labels.json': '["second"]' });
      assert.deepStrictEqual(both.labels, ['first']);
      const noLabels = await loadWith('metadata-without-labels', { 'metadata.json': '{"modelName": "x"}' });
      assert.strictEqual(noLabels.labels, null);
    });

    it('takes mean/std and the labels file name from cnn-lens.json; overrides win', async () => {
      const sidecar = JSON.stringify({ mean: [0.485, 0.456, 0.406], std: [0.229], labels: 'classes.txt' });
      const files = await loadWith('sidecar', { 'cnn-lens.json': sidecar, 'classes.txt': 'x\ny\nz', 'labels.txt': 'ignored' });
      assert.deepStrictEqual(files.labels, ['x', 'y', 'z']);
      assert.ok(files.labelsSource!.endsWith('classes.txt'));
      assert.strictEqual(files.sidecar, path.join(root, 'sidecar', 'cnn-lens.json'));
      assert.deepStrictEqual(files.preprocessing, { mean: [0.485, 0.456, 0.406], std: [0.229] });

      const overridden = await loadLayersModelFromDisk(path.join(root, 'sidecar'), { std: [0.5, 0.5, 0.5] });
      overridden.model.dispose();
      assert.deepStrictEqual(overridden.preprocessing, { mean: [0.485, 0.456, 0.406], std: [0.5, 0.5, 0.5] });
    });

    it('refuses bad sidecar values and labels, naming the file', async () => {
      const cases: [string, Record<string, string>, string[]][] = [
        ['sidecar-not-numbers', { 'cnn-lens.json': '{"mean": ["0.5"]}' }, ['cnn-lens.json', '"mean" must be a list of numbers']],
        ['sidecar-length', { 'cnn-lens.json': '{"std": [0.2, 0.3]}' }, ['cnn-lens.json', '"std" has 2 values', '3 channels']],
        ['sidecar-zero-std', { 'cnn-lens.json': '{"std": [0]}' }, ['cnn-lens.json', 'must not contain 0']],
        ['sidecar-typo', { 'cnn-lens.json': '{"means": [0.5]}' }, ['cnn-lens.json', 'unknown setting "means"']],
        ['sidecar-not-json', { 'cnn-lens.json': '{mean: 1}' }, ['cnn-lens.json', 'not valid JSON']],
        ['sidecar-missing-labels', { 'cnn-lens.json': '{"labels": "names.txt"}' }, ['cnn-lens.json', 'names.txt', 'missing']],
        ['sidecar-labels-outside', { 'cnn-lens.json': '{"labels": "../labels.txt"}' }, ['cnn-lens.json', '../labels.txt', '..']],
        ['labels-json-bad', { 'labels.json': '{"cat": 0}' }, ['labels.json', 'list of strings']],
        ['labels-empty', { 'labels.txt': '\n\n' }, ['labels.txt', 'no labels']],
      ];
      for (const [name, files, fragments] of cases) {
        const saved = await saveModel(original, name);
        for (const [file, text] of Object.entries(files)) {
          fs.writeFileSync(path.join(saved.folder, file), text);
        }
        await expectLoadError(saved.modelJson, 'bad-input', ...fragments);
      }
    });
  });

  describe('bad model files', () => {
    it('refuses a missing, empty or non-JSON model.json', async () => {
      await expectLoadError(path.join(root, 'nowhere', 'model.json'), 'bad-input', 'nowhere', 'not found');
      const saved = await saveModel(original, 'broken-json');
      fs.writeFileSync(saved.modelJson, '');
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, 'empty');
      fs.writeFileSync(saved.modelJson, '{"modelTopology": {');
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, 'not valid JSON');
      fs.writeFileSync(saved.modelJson, '[1, 2]');
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, 'not a TF.js model.json');
    });

    it('refuses graph models and JSON without a Keras topology', async () => {
      const saved = await saveModel(original, 'not-layers');
      fs.writeFileSync(saved.modelJson, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
      await expectLoadError(saved.modelJson, 'unsupported', saved.modelJson, 'graph model', 'come later');
      fs.writeFileSync(saved.modelJson, JSON.stringify({ weightsManifest: [] }));
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, 'modelTopology');
    });

    it('names a missing shard', async () => {
      const saved = await saveModel(original, 'missing-shard');
      fs.rmSync(path.join(saved.folder, SHARD));
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, SHARD, 'missing weight shard');
    });

    it('names a shard of the wrong size with expected and actual bytes', async () => {
      const saved = await saveModel(original, 'short-shard');
      const size = saved.weights.length;
      fs.writeFileSync(path.join(saved.folder, SHARD), saved.weights.subarray(0, size - 8));
      await expectLoadError(saved.modelJson, 'bad-input', SHARD, `has ${size - 8} bytes`, `expects ${size} bytes`);
      fs.writeFileSync(path.join(saved.folder, SHARD), new Uint8Array(0));
      await expectLoadError(saved.modelJson, 'bad-input', SHARD, 'has 0 bytes');
    });

    it('explains weights that do not belong to the model', async () => {
      const saved = await saveModel(original, 'weight-count');
      // Drop the last weight (logits/bias, 3 floats) from both the manifest and the shard: sizes agree,
      // the model does not.
      rewriteModelJson(saved, (json) => {
        json.weightsManifest[0].weights.pop();
      });
      fs.writeFileSync(path.join(saved.folder, SHARD), saved.weights.subarray(0, saved.weights.length - 12));
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, 'lacks 1 of the model', 'do not belong');

      // An extra weight the model has no variable for.
      rewriteModelJson(saved, (json) => {
        json.weightsManifest[0].weights.push({ name: 'stray/kernel', shape: [2], dtype: 'float32' });
      });
      fs.writeFileSync(path.join(saved.folder, SHARD), Buffer.concat([saved.weights, new Uint8Array(8)]));
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, 'stray/kernel');
    });
  });

  describe('unsupported models', () => {
    it('names a layer class TF.js does not know, after freeing the layers built so far', async () => {
      const saved = await saveModel(original, 'custom-layer');
      rewriteModelJson(saved, (json) => {
        const topology = json.modelTopology as { config: { layers: { class_name: string }[] } };
        topology.config.layers[3].class_name = 'MyFancyDense'; // conv, pool, flatten built first
      });
      await expectLoadError(saved.modelJson, 'unsupported', saved.modelJson, '"MyFancyDense"', 'custom layer');
    });
  });

  describe('weight paths must stay inside the model folder', () => {
    it('refuses a path through ".." even when the file exists', async () => {
      const saved = await saveModel(original, 'traversal');
      fs.writeFileSync(path.join(root, 'x.bin'), saved.weights);
      rewriteModelJson(saved, (json) => {
        json.weightsManifest[0].paths = ['../x.bin'];
      });
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, '"../x.bin"', '".."', 'inside the model\'s folder');
      rewriteModelJson(saved, (json) => {
        json.weightsManifest[0].paths = ['sub/../../x.bin'];
      });
      await expectLoadError(saved.modelJson, 'bad-input', '"sub/../../x.bin"');
    });

    it('refuses an absolute path even when the file exists', async () => {
      const saved = await saveModel(original, 'absolute');
      const outside = path.join(root, 'absolute.bin');
      fs.writeFileSync(outside, saved.weights);
      rewriteModelJson(saved, (json) => {
        json.weightsManifest[0].paths = [outside];
      });
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, outside, 'absolute path');
      rewriteModelJson(saved, (json) => {
        json.weightsManifest[0].paths = ['file:///etc/passwd'];
      });
      await expectLoadError(saved.modelJson, 'bad-input', 'file:///etc/passwd', 'URL');
    });

    it('refuses a symlink that leads out of the folder', async () => {
      const saved = await saveModel(original, 'symlink');
      const outside = path.join(root, 'elsewhere.bin');
      fs.writeFileSync(outside, saved.weights);
      fs.rmSync(path.join(saved.folder, SHARD));
      fs.symlinkSync(outside, path.join(saved.folder, SHARD));
      await expectLoadError(saved.modelJson, 'bad-input', saved.modelJson, SHARD, 'link leading out', outside);
    });
  });
});
