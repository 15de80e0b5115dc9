// Hand-built ONNX graphs (encoded with the same protobuf schema the loader decodes): operators with
// answers computed here independently, and every kind of bad file a user can hand CNN Lens, each of
// which must give a clear message naming the file and what to do, and leave no tensor behind.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { loadModel } from '../../src/engine/index';
import { LensError } from '../../src/shared/errors';
import { computeLogits } from '../../src/engine/execution/graph';
import { encode, floats, int, ints, node, valueInfo } from './fixtures/onnxGraph';

const REPO = path.resolve(__dirname, '..', '..');
const RESNET = path.join(REPO, 'test', 'fixtures', 'onnx', 'resnet18', 'resnet18.onnx');

let folder: string;
function writeModel(name: string, bytes: Uint8Array): string {
  const file = path.join(folder, name);
  fs.writeFileSync(file, bytes);
  return file;
}

async function loadError(file: string): Promise<LensError> {
  const before = tf.memory().numTensors;
  try {
    const model = await loadModel(file);
    model.dispose();
  } catch (error) {
    assert.ok(error instanceof LensError, `an LensError, got ${String(error)}`);
    assert.strictEqual(tf.memory().numTensors, before, 'a failed load leaves no tensor behind');
    return error;
  }
  throw new assert.AssertionError({ message: `${file} loaded, but should not have` });
}

describe('ONNX graphs built by hand', () => {
  before(async () => {
    await initBackend('cpu');
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-onnx-'));
  });
  after(() => {
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('BatchNormalization -> HardSwish -> GlobalAveragePool -> Flatten -> Gemm -> Softmax gives hand-computed logits', async () => {
    const [c, h, w] = [2, 3, 3];
    const scale = [1.5, 0.5];
    const bias = [0.1, -0.2];
    const mean = [0.3, -0.1];
    const variance = [0.8, 2.0];
    const weights = [0.7, -1.1, 0.4, 0.9, -0.3, 0.2]; // Gemm B [3 classes, 2 channels], transB=1
    const gemmBias = [0.05, -0.05, 0.5];
    const file = writeModel(
      'head.onnx',
      encode({
        inputs: [{ name: 'x', dims: ['batch', c, h, w] }],
        outputs: [{ name: 'probs', dims: ['batch', 3] }],
        initializers: [
          floats('scale', [2], scale),
          floats('bias', [2], bias),
          floats('mean', [2], mean),
          floats('var', [2], variance),
          floats('W', [3, 2], weights),
          floats('b', [3], gemmBias),
        ],
        nodes: [
          node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], ['bn'], 'bn', [{ name: 'epsilon', type: 1, f: 1e-3 }]),
          node('HardSwish', ['bn'], ['hs'], 'hswish'),
          node('GlobalAveragePool', ['hs'], ['gap'], 'gap'),
          node('Flatten', ['gap'], ['flat'], 'flatten'),
          node('Gemm', ['flat', 'W', 'b'], ['logits'], 'fc', [int('transB', 1)]),
          node('Softmax', ['logits'], ['probs'], 'softmax'),
        ],
      }),
    );
    const model = await loadModel(file);
    try {
      assert.strictEqual(model.summary.outputSoftmax, true);
      assert.deepStrictEqual(model.summary.inputShape, [h, w, c]);
      assert.deepStrictEqual(
        model.summary.layers.map((l) => [l.name, l.className, l.outputShape.join(',')]),
        [
          ['x', 'InputLayer', ',3,3,2'],
          ['bn', 'BatchNormalization', ',3,3,2'],
          ['hswish', 'HardSwish', ',3,3,2'],
          ['gap', 'GlobalAveragePool', ',1,1,2'],
          ['flatten', 'Flatten', ',2'],
          ['fc', 'Gemm', ',3'],
          ['softmax', 'Softmax', ',3'],
        ],
      );
      assert.strictEqual(model.summary.defaultCamLayer, 'hswish', 'the last 4-D layer with more than one cell');
      assert.strictEqual(model.summary.totalParams, 4 * 2 + 6 + 3);
      // NCHW values; the engine takes NHWC.
      const nchw = Array.from({ length: c * h * w }, (_, i) => Math.sin(i * 1.3) * 2);
      const pooled = [0, 1].map((ch) => {
        let sum = 0;
        for (let i = 0; i < h * w; i++) {
          const bn = ((nchw[ch * h * w + i] - mean[ch]) / Math.sqrt(variance[ch] + 1e-3)) * scale[ch] + bias[ch];
          sum += bn * Math.min(Math.max(bn / 6 + 0.5, 0), 1);
        }
        return sum / (h * w);
      });
      const expected = [0, 1, 2].map((k) => pooled[0] * weights[k * 2] + pooled[1] * weights[k * 2 + 1] + gemmBias[k]);
      const input = tf.transpose(tf.tensor4d(nchw, [1, c, h, w]), [0, 2, 3, 1]);
      const logits = computeLogits(model.model, input);
      const actual = await logits.data();
      tf.dispose([input, logits]);
      expected.forEach((e, k) => assert.ok(Math.abs(actual[k] - e) < 1e-5, `logit ${k}: ${actual[k]} vs ${e}`));
    } finally {
      model.dispose();
    }
  });

  it('reads a truncated .onnx file as damaged, naming the file', async () => {
    const bytes = fs.readFileSync(RESNET);
    const file = writeModel('truncated.onnx', bytes.subarray(0, Math.floor(bytes.length / 2)));
    const error = await loadError(file);
    assert.strictEqual(error.code, 'bad-input');
    assert.ok(error.message.startsWith(file), error.message);
    assert.match(error.message, /not a readable ONNX model .*truncated or not an \.onnx file/);
  });

  it('refuses a file that is not ONNX at all, and an empty one', async () => {
    const png = writeModel('image.onnx', fs.readFileSync(path.join(REPO, 'samples', 'workspace', 'images', 'sample.png')));
    assert.match((await loadError(png)).message, /not a readable ONNX model|has no graph/);
    const empty = writeModel('empty.onnx', new Uint8Array(0));
    assert.match((await loadError(empty)).message, /empty \(0 bytes\)/);
  });

  it('names every unsupported operator with its node', async () => {
    const file = writeModel(
      'unsupported.onnx',
      encode({
        inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
        outputs: [{ name: 'y', dims: [1, 3] }],
        nodes: [
          node('Einsum', ['x'], ['e'], '/attn/Einsum'),
          node('Resize', ['e'], ['r'], '/up/Resize'),
          node('GlobalAveragePool', ['r'], ['g'], 'gap'),
          node('Flatten', ['g'], ['y'], 'flatten'),
        ],
      }),
    );
    const error = await loadError(file);
    assert.strictEqual(error.code, 'unsupported');
    assert.match(error.message, /cannot run ONNX operators Einsum \(node "\/attn\/Einsum"\), Resize \(node "\/up\/Resize"\)\. Supported: .*Conv/);
  });

  it('explains that control flow (If, Loop) stops gradients', async () => {
    const branch = { name: 'then', node: [], initializer: [], input: [], output: [valueInfo('x', [1, 3, 8, 8])] };
    const file = writeModel(
      'control.onnx',
      encode({
        inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
        outputs: [{ name: 'scores', dims: [1, 3] }],
        nodes: [
          node('If', ['x'], ['y'], 'branch', [{ name: 'then_branch', type: 5, g: branch }, { name: 'else_branch', type: 5, g: branch }]),
          node('GlobalAveragePool', ['y'], ['g'], 'gap'),
          node('Flatten', ['g'], ['scores'], 'flatten'),
        ],
      }),
    );
    assert.match((await loadError(file)).message, /control flow \(If \(node "branch"\)\); gradients cannot pass/);
  });

  it('refuses a model with two inputs, naming them', async () => {
    const file = writeModel(
      'two-inputs.onnx',
      encode({
        inputs: [
          { name: 'image', dims: [1, 3, 8, 8] },
          { name: 'mask', dims: [1, 3, 8, 8] },
        ],
        outputs: [{ name: 'y', dims: [1, 3] }],
        nodes: [node('Add', ['image', 'mask'], ['s'], 'add'), node('GlobalAveragePool', ['s'], ['g'], 'gap'), node('Flatten', ['g'], ['y'], 'flatten')],
      }),
    );
    const error = await loadError(file);
    assert.strictEqual(error.code, 'unsupported');
    assert.match(error.message, /has 2 inputs \("image" \[1, 3, 8, 8\], "mask" \[1, 3, 8, 8\]\); CNN Lens explains image classifiers with one image input/);
  });

  it('refuses an input without a fixed height and width', async () => {
    const file = writeModel(
      'dynamic.onnx',
      encode({
        inputs: [{ name: 'x', dims: ['N', 3, 'H', 'W'] }],
        outputs: [{ name: 'y', dims: ['N', 3] }],
        nodes: [node('GlobalAveragePool', ['x'], ['g'], 'gap'), node('Flatten', ['g'], ['y'], 'flatten')],
      }),
    );
    assert.match((await loadError(file)).message, /input "x" has shape \[N, 3, H, W\]; CNN Lens needs an NCHW image input of a fixed size/);
  });

  it('refuses a model whose output is not a class vector: "not a classifier", with the shape as the file states it', async () => {
    const file = writeModel(
      'segmenter.onnx',
      encode({
        inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
        outputs: [{ name: 'y', dims: [1, 2, 8, 8] }],
        initializers: [floats('k', [2, 3, 1, 1], [1, 0, 0, 0, 1, 0])],
        nodes: [node('Conv', ['x', 'k'], ['y'], 'conv', [ints('kernel_shape', [1, 1])])],
      }),
    );
    const error = await loadError(file);
    assert.strictEqual(error.code, 'unsupported');
    assert.match(error.message, /segmenter\.onnx: not a classifier: its output is 1×2×8×8; CNN Lens explains outputs of class scores/);
  });
});
