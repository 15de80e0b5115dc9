// Keras files (.h5: Keras 2 HDF5; .keras: Keras 3 zip) written by scripts/fixtures/export_keras.py
// from the sample LayersModel, to the layouts Keras writes: loading each must give the LayersModel
// twin's logits and Grad-CAM; bad files must give clear messages naming the file.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync, zipSync } from 'fflate';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, loadModel, readImage, type LoadedModel } from '../../src/engine/index';
import { LensError } from '../../src/shared/errors';
import { computeLogits } from '../../src/engine/execution/graph';
import { keras3ToKeras2 } from '../../src/engine/models/keras/keras3Config';
import { randomInput } from '../fixtures/models';

const REPO = path.resolve(__dirname, '..', '..');
const TWIN = path.join(REPO, 'samples', 'workspace', 'model', 'model.json');
const KERAS_DIR = path.join(REPO, 'test', 'fixtures', 'keras');
const IMAGE = path.join(REPO, 'samples', 'workspace', 'images', 'sample.png');

async function loadError(file: string): Promise<LensError> {
  const before = tf.memory().numTensors;
  try {
    (await loadModel(file)).dispose();
  } catch (error) {
    assert.ok(error instanceof LensError, `an LensError, got ${String(error)}`);
    assert.strictEqual(tf.memory().numTensors, before, 'a failed load leaves no tensor behind');
    return error;
  }
  throw new assert.AssertionError({ message: `${file} loaded, but should not have` });
}

describe('Keras .h5 and .keras files', () => {
  let twin: LoadedModel;
  let tmp: string;
  before(async () => {
    await initBackend('cpu');
    twin = await loadModel(TWIN);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-keras-'));
  });
  after(() => {
    twin?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const [file, format, detail] of [
    ['sample_cnn.h5', 'keras-h5', /^Keras 2\.15\.0 HDF5/],
    ['sample_cnn.keras', 'keras', /^Keras 3\.3\.3/],
  ] as const) {
    describe(file, () => {
      let model: LoadedModel;
      before(async () => {
        model = await loadModel(path.join(KERAS_DIR, file));
      });
      after(() => model?.dispose());

      it('has the twin\'s layers, input, classes and parameters', () => {
        assert.strictEqual(model.summary.format, format);
        assert.match(model.summary.formatDetail ?? '', detail);
        assert.deepStrictEqual(model.summary.layers, twin.summary.layers);
        assert.deepStrictEqual(model.summary.inputShape, twin.summary.inputShape);
        assert.strictEqual(model.summary.totalParams, twin.summary.totalParams);
        assert.strictEqual(model.summary.outputSoftmax, true);
      });

      it('gives the LayersModel twin\'s logits and Grad-CAM', async () => {
        const input = randomInput([64, 64, 3], 7);
        const [a, b] = [computeLogits(model.model, input), computeLogits(twin.model, input)];
        const [mine, theirs] = [await a.data(), await b.data()];
        tf.dispose([input, a, b]);
        theirs.forEach((v, i) => assert.ok(Math.abs(mine[i] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `logit ${i}: ${mine[i]} vs ${v}`));
        const image = await readImage(IMAGE);
        const [camA, camB] = [await explain(model, image, { method: 'gradcam' }), await explain(twin, image, { method: 'gradcam' })];
        assert.strictEqual(camA.classIndex, camB.classIndex);
        camB.cam.data.forEach((v, i) => assert.ok(Math.abs(camA.cam.data[i] - v) < 1e-5, `cam ${i}`));
      });
    });
  }

  it('a truncated .h5 or .keras file is reported as damaged, naming the file', async () => {
    for (const name of ['sample_cnn.h5', 'sample_cnn.keras']) {
      const bytes = fs.readFileSync(path.join(KERAS_DIR, name));
      const cut = path.join(tmp, `cut-${name}`);
      fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const error = await loadError(cut);
      assert.strictEqual(error.code, 'bad-input', error.message);
      assert.ok(error.message.includes(cut), error.message);
      assert.match(error.message, /truncated|damaged/, error.message);
    }
  });

  it('a .keras archive without weights, and an .h5 of weights only, say what to save instead', async () => {
    const entries = unzipSync(fs.readFileSync(path.join(KERAS_DIR, 'sample_cnn.keras')));
    const noWeights = path.join(tmp, 'no-weights.keras');
    fs.writeFileSync(noWeights, zipSync({ 'config.json': entries['config.json'], 'metadata.json': entries['metadata.json'] }));
    assert.match((await loadError(noWeights)).message, /has no model\.weights\.h5; save the model with model\.save\("model\.keras"\)/);
    const weightsOnly = path.join(tmp, 'weights-only.h5');
    fs.writeFileSync(weightsOnly, entries['model.weights.h5']);
    assert.match((await loadError(weightsOnly)).message, /not a Keras model saved with model\.save\("model\.h5"\)|holds weights only/);
  });

  it('names an unsupported layer by name and type', async () => {
    const entries = unzipSync(fs.readFileSync(path.join(KERAS_DIR, 'sample_cnn.keras')));
    const config = JSON.parse(new TextDecoder().decode(entries['config.json']));
    config.config.layers[4].class_name = 'MyAttention'; // [0] is the InputLayer: conv1, pool1, conv2, bn2
    const custom = path.join(tmp, 'custom.keras');
    fs.writeFileSync(custom, zipSync({ ...entries, 'config.json': new TextEncoder().encode(JSON.stringify(config)) }));
    const error = await loadError(custom);
    assert.strictEqual(error.code, 'unsupported');
    assert.match(error.message, /"MyAttention" \(layer "bn2"\) is not a layer type TF\.js provides/);
  });

  it('converts a Keras 3 Functional config (keras_history inbound nodes) into a graph tfjs builds', async () => {
    const tensor = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 4, 4, 2], dtype: 'float32', keras_history: [layer, 0, 0] } });
    const dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
    const layer = (name: string, className: string, config: object, args: unknown[]) => ({
      module: 'keras.layers', class_name: className, config: { name, dtype, ...config }, registered_name: null, name,
      inbound_nodes: args.length ? [{ args, kwargs: {} }] : [],
    });
    const functional = {
      module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
      config: {
        name: 'branches',
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 4, 4, 2], dtype: 'float32', sparse: false, name: 'image' }, registered_name: null, name: 'image', inbound_nodes: [] },
          layer('left', 'Conv2D', { filters: 2, kernel_size: [1, 1], activation: 'relu' }, [tensor('image')]),
          layer('right', 'Conv2D', { filters: 2, kernel_size: [3, 3], padding: 'same' }, [tensor('image')]),
          layer('sum', 'Add', {}, [[tensor('left'), tensor('right')]]),
          layer('gap', 'GlobalAveragePooling2D', {}, [tensor('sum')]),
          layer('head', 'Dense', { units: 3 }, [tensor('gap')]),
        ],
        input_layers: ['image', 0, 0],
        output_layers: ['head', 0, 0],
      },
    };
    const converted = keras3ToKeras2(functional as never, 'x.keras');
    const sum = (converted.config as { layers: { name: string; inbound_nodes: unknown }[] }).layers[3];
    assert.deepStrictEqual(sum.inbound_nodes, [[['left', 0, 0, {}], ['right', 0, 0, {}]]]);
    const model = await tf.models.modelFromJSON({ modelTopology: converted } as unknown as tf.io.ModelJSON);
    assert.deepStrictEqual(model.layers.map((l) => l.name), ['image', 'left', 'right', 'sum', 'gap', 'head']);
    assert.deepStrictEqual(model.outputs[0].shape, [null, 3]);
    model.dispose();
  });
});
