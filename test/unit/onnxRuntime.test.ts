// The native engine (ONNX Runtime, src/engine/onnxRuntime/): every method's map on every fixture
// ONNX model equals the wasm engine's, its backward graphs match finite differences on a
// hand-built graph that crosses every operator it differentiates, batches equal single images,
// and an operator without a native gradient sends the request to the tfjs engine, which says so.
import * as assert from 'assert';
import { assertSameResult, DEFAULT_TOLERANCE, maxDifference } from './fixtures/sameMaps';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain, initBackend, loadModel, readImage } from '../../src/engine/index';
import { nativeEnabled } from '../../src/engine/backend';
import { decodeModelProto } from '../../src/engine/models/onnx/onnxProto';
import { NativeModel } from '../../src/engine/onnxRuntime/nativeModel';
import { loadOnnxRuntime } from '../../src/engine/onnxRuntime/runtime';
import { METHOD_NAMES, type CamResult, type MethodName, type RgbaImage } from '../../src/shared/types';
import { encode, floats, int, ints, node } from './fixtures/onnxGraph';
import { runSamplePass } from '../../src/engine/explain/samplePool';
import { engineFromSource } from './fixtures/workerFromSource';
import { loadPytorchModel } from '../../src/engine/models/pytorch/loadPytorch';
import * as tf from '../../src/engine/tf';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = ['sample_cnn', 'resnet18', 'mobilenet_v2', 'tiny_cnn', 'tiny_cnn_unfolded'].map((name) => path.join(REPO, 'test', 'fixtures', 'onnx', name, `${name}.onnx`));
/** Small sampling counts: the comparison is of the engines, not of the methods' convergence. */
const OPTIONS = { samples: 4, steps: 6 };

const available = !('failure' in loadOnnxRuntime());

describe('ONNX Runtime engine', function () {
  this.timeout(300_000);
  let image: RgbaImage;
  let folder: string;

  before(async function () {
    if (!available) {
      this.skip(); // onnxruntime-node is optional; npm ci installs it on linux, macOS and Windows (x64, arm64)
    }
    image = await readImage(path.join(REPO, 'samples', 'workspace', 'images', 'sample.png'));
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-ort-'));
  });
  after(async () => {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    await initBackend('wasm');
  });

  it('auto turns it on and reports it; wasm turns it off', async () => {
    const report = await initBackend('auto');
    assert.strictEqual(report.backend, 'onnxruntime');
    assert.match(report.detail, /^onnxruntime [\d.]+ \(cpu, \d+ threads?\) for ONNX, PyTorch, Keras and TF.js models; (wasm|node) .* for the rest/);
    assert.strictEqual(nativeEnabled(), true);
    assert.strictEqual((await initBackend('wasm')).backend, 'wasm');
    assert.strictEqual(nativeEnabled(), false);
    assert.strictEqual((await initBackend('onnxruntime')).backend, 'onnxruntime');
  });

  for (const file of FIXTURES) {
    it(`every method's map on ${path.basename(file)} equals the wasm engine's`, async () => {
      const reference = new Map<MethodName, CamResult | Error>();
      await initBackend('wasm');
      let model = await loadModel(file);
      for (const method of METHOD_NAMES) {
        try {
          reference.set(method, await explain(model, image, { method, options: OPTIONS }));
        } catch (error) {
          reference.set(method, error as Error);
        }
      }
      model.dispose();
      await initBackend('onnxruntime');
      model = await loadModel(file);
      const compared: string[] = [];
      try {
        for (const method of METHOD_NAMES) {
          const result = await explain(model, image, { method, options: OPTIONS });
          assert.strictEqual(result.details?.nativeFallback, undefined, `${method}: ${result.details?.nativeFallback}`);
          assert.strictEqual(result.backend, 'onnxruntime', method);
          const expected = reference.get(method);
          if (expected instanceof Error) {
            // tfjs has no gradient for dilated convolutions (tiny_cnn): the native engine does
            // (checked against finite differences below); nothing to compare here.
            assert.match(expected.message, /dilation/, `${method} failed on wasm: ${expected.message}`);
            continue;
          }
          assert.ok(expected);
          assertSameResult(result, expected, method);
          compared.push(method);
        }
      } finally {
        model.dispose();
      }
      // Only tiny_cnn's gradient methods may be left uncompared (its dilated convolution).
      const gradientFree = ['eigencam', 'scorecam', 'occlusion'];
      assert.ok(compared.length === METHOD_NAMES.length || (/tiny_cnn/.test(file) && gradientFree.every((m) => compared.includes(m as MethodName))), `compared ${compared}`);
    });
  }

  it('the input gradient of a graph crossing every differentiated operator matches finite differences, and a batch equals single images', async () => {
    const [c, h, w] = [3, 8, 8];
    const random = mulberry(7);
    const values = (n: number, scale: number): number[] => Array.from({ length: n }, () => (random() * 2 - 1) * scale);
    const bytes = encode({
      opset: 13,
      inputs: [{ name: 'x', dims: [1, c, h, w] }],
      outputs: [{ name: 'scores', dims: [1, 3] }],
      initializers: [
        floats('W1', [4, 3, 3, 3], values(108, 0.4)),
        floats('b1', [4], values(4, 0.1)),
        floats('bnScale', [4], [1.2, 0.8, 1.1, 0.9]),
        floats('bnBias', [4], values(4, 0.1)),
        floats('bnMean', [4], values(4, 0.1)),
        floats('bnVar', [4], [0.5, 1.5, 1.0, 0.7]),
        floats('Wd', [4, 2, 3, 3], values(72, 0.4)),
        floats('gate', [1, 4, 1, 1], [0.5, -1.2, 0.8, 1.5]),
        floats('Wt', [8, 2, 2, 2], values(64, 0.4)),
        floats('clipLow', [], [-0.5]),
        floats('clipHigh', [], [0.7]),
        floats('W2', [3, 8 * 2 * 2], values(96, 0.3)),
        floats('b2', [3], values(3, 0.1)),
      ],
      nodes: [
        node('Conv', ['x', 'W1', 'b1'], ['c1'], 'conv_s2', [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])]),
        node('BatchNormalization', ['c1', 'bnScale', 'bnBias', 'bnMean', 'bnVar'], ['bn'], 'bn'),
        node('LeakyRelu', ['bn'], ['lr'], 'leaky', [{ name: 'alpha', type: 1, f: 0.1 }]),
        node('Conv', ['lr', 'Wd'], ['dw'], 'grouped', [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), int('group', 2)]),
        node('Mul', ['dw', 'gate'], ['gated'], 'gate'),
        node('Add', ['gated', 'lr'], ['res'], 'residual'),
        node('Sigmoid', ['res'], ['sig'], 'sigmoid'),
        node('HardSwish', ['res'], ['hsw'], 'hardswish'),
        node('Concat', ['sig', 'hsw'], ['cat'], 'concat', [int('axis', 1)]),
        node('MaxPool', ['cat'], ['mp'], 'maxpool', [ints('kernel_shape', [3, 3]), ints('strides', [1, 1]), ints('pads', [1, 1, 1, 1])]),
        node('AveragePool', ['mp'], ['ap'], 'avgpool', [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])]),
        node('Clip', ['ap', 'clipLow', 'clipHigh'], ['clip'], 'clip'),
        node('Tanh', ['clip'], ['th'], 'tanh'),
        node('Flatten', ['th'], ['flat'], 'flatten'),
        node('Gemm', ['flat', 'W2', 'b2'], ['scores'], 'fc', [int('transB', 1)]),
      ],
    });
    const proto = decodeModelProto(bytes);
    await initBackend('onnxruntime');
    const native = new NativeModel(proto, { output: 0, strip: null, binary: false }, [h, w, c], new Map([['res', 'res']]));
    try {
      const size = h * w * c;
      const input = Float32Array.from(values(size, 1));
      const classIndex = 1;
      const gradient = await native.inputGradients(input, 1, classIndex, false);
      // The tfjs engine's autodiff (cpu backend) on the same graph: an independent exact reference.
      await initBackend('cpu');
      const file = path.join(folder, 'every-op.onnx');
      fs.writeFileSync(file, bytes);
      const loaded = await loadModel(file);
      const reference = runSamplePass(loaded.model, tf.tensor4d(input, [1, h, w, c]), { pass: 'inputGradients', classIndex }, 1e9);
      const exact = (await reference.data()) as Float32Array;
      tf.dispose(reference);
      loaded.dispose();
      await initBackend('onnxruntime');
      let scale = 0;
      for (const g of exact) scale = Math.max(scale, Math.abs(g));
      assert.ok(scale > 1e-3, 'the gradient is not zero everywhere');
      assert.ok(maxDifference(gradient, exact) <= 1e-5 * scale, `native and tfjs gradients differ by ${maxDifference(gradient, exact)}`);

      // Central differences of the class score at every input value, all perturbed inputs in one batch.
      const eps = 1e-3;
      const batch = new Float32Array(2 * size * size);
      for (let i = 0; i < size; i++) {
        batch.set(input, 2 * i * size);
        batch.set(input, (2 * i + 1) * size);
        batch[2 * i * size + i] += eps;
        batch[(2 * i + 1) * size + i] -= eps;
      }
      const { scores, classes } = await native.forward(batch, 2 * size);
      // A difference may straddle a kink (ReLU-family masks, a max moving in MaxPool, the Clip
      // bounds): those few positions aside, each one agrees to float32 rounding of the score.
      let off = 0;
      for (let i = 0; i < size; i++) {
        const numeric = (scores[2 * i * classes + classIndex] - scores[(2 * i + 1) * classes + classIndex]) / (2 * eps);
        if (Math.abs(numeric - gradient[i]) > 5e-3 * scale + 2e-4) off += 1;
      }
      assert.ok(off <= size * 0.02, `${off} of ${size} finite differences disagree (gradient scale ${scale})`);

      // The layer gradient from the cut graph equals the same differences taken at the layer.
      const atLayer = await native.forward(input, 1, 'res');
      const layerGradient = await native.layerGradient('res', atLayer, classIndex);
      assert.strictEqual(layerGradient.length, 4 * 4 * 4);
      assert.ok(layerGradient.some((g) => Math.abs(g) > 1e-4));

      // A batch of three equals three single images, plain and guided.
      const three = new Float32Array(3 * size);
      for (let k = 0; k < 3; k++) three.set(input.map((v, i) => v * (1 - 0.3 * k) + 0.05 * k * Math.sin(i)), k * size);
      for (const guided of [false, true]) {
        const together = await native.inputGradients(three, 3, classIndex, guided);
        for (let k = 0; k < 3; k++) {
          const alone = await native.inputGradients(three.slice(k * size, (k + 1) * size), 1, classIndex, guided);
          assert.ok(maxDifference(together.subarray(k * size, (k + 1) * size), alone) <= 1e-6, `batch item ${k}, guided ${guided}`);
        }
      }
    } finally {
      await native.dispose();
    }
  });

  it('a PyTorch model (model.py + checkpoint, exported to ONNX by the bridge) runs on ONNX Runtime with the wasm engine\'s maps', async () => {
    const modelPy = path.join(REPO, 'test', 'fixtures', 'pytorch', 'sequential', 'model.py');
    const methods: MethodName[] = ['gradcam', 'layercam', 'guided-backprop', 'smoothgrad', 'scorecam'];
    const expected = new Map<MethodName, CamResult>();
    await initBackend('wasm');
    const cacheDir = path.join(folder, 'pytorch-cache');
    let model = await loadPytorchModel(modelPy, { cacheDir, input: [3, 64, 64] });
    for (const method of methods) expected.set(method, await explain(model, image, { method, layer: 'features.4', options: OPTIONS }));
    model.dispose();
    await initBackend('auto');
    model = await loadPytorchModel(modelPy, { cacheDir, input: [3, 64, 64] });
    try {
      for (const method of methods) {
        const result = await explain(model, image, { method, layer: 'features.4', options: OPTIONS });
        assert.strictEqual(result.backend, 'onnxruntime', `${method}: ${result.details?.nativeFallback}`);
        const difference = maxDifference(result.cam.data, (expected.get(method) as CamResult).cam.data);
        assert.ok(difference <= DEFAULT_TOLERANCE, `${method}: maps differ by ${difference}`);
      }
    } finally {
      model.dispose();
    }
  });

  it('the engine worker on auto explains an ONNX model on ONNX Runtime, a second class from the kept forward pass', async () => {
    const client = engineFromSource({ backend: () => 'auto' });
    try {
      const modelPath = FIXTURES[1];
      const imagePath = path.join(REPO, 'samples', 'workspace', 'images', 'sample.png');
      const first = await client.explain({ modelPath, imagePath, request: { method: 'gradcam' } });
      assert.strictEqual(first.result.backend, 'onnxruntime');
      assert.strictEqual(client.currentBackend?.backend, 'onnxruntime');
      const other = await client.explain({ modelPath, imagePath, request: { method: 'gradcam', classIndex: (first.result.classIndex + 1) % 10 } });
      assert.strictEqual(other.result.backend, 'onnxruntime');
      assert.strictEqual(other.result.details?.forwardReused, true, 'the forward pass kept from the first request');
      assert.ok('forward (reused)' in other.result.timings);
    } finally {
      client.dispose();
    }
  });

  it('the engine worker starts no helper worker for a model ONNX Runtime runs (its batches already use every core)', async () => {
    const logs: string[] = [];
    const client = engineFromSource({ backend: () => 'auto', sampleWorkers: () => 1, log: (line) => logs.push(line) });
    try {
      const modelPath = FIXTURES[0];
      const imagePath = path.join(REPO, 'samples', 'workspace', 'images', 'sample.png');
      for (let i = 0; i < 2; i++) {
        const { result } = await client.explain({ modelPath, imagePath, request: { method: 'smoothgrad', metrics: true, options: { samples: 8, batchSize: 8 } } });
        assert.strictEqual(result.backend, 'onnxruntime');
        assert.strictEqual(result.details?.inputsElsewhere, undefined);
      }
      const compared = await client.compare({ modelPath, imagePath, methods: ['integrated-gradients'], request: { options: { steps: 6 } } });
      assert.strictEqual(compared.results[0].result.backend, 'onnxruntime');
      assert.ok(!logs.some((line) => /sample helper/.test(line)), `a helper was asked to load the model:\n${logs.filter((l) => /helper/.test(l)).join('\n')}`);
    } finally {
      client.dispose();
    }
  });

  for (const padValue of ['absent', 'initializer', 'Constant node'] as const) {
    it(`a zero Pad before a MaxPool keeps its zeros on ONNX Runtime (its PadFusion would fold them into MaxPool's padding): pad value ${padValue}`, async () => {
      const file = path.join(folder, `padmax-${padValue.replace(' ', '-')}.onnx`);
      const random = mulberry(5);
      const zero = { name: 'zero', dims: [], dataType: 1, floatData: [0] };
      const padInputs = padValue === 'absent' ? ['neg', 'pads'] : ['neg', 'pads', 'zero'];
      fs.writeFileSync(
        file,
        encode({
          inputs: [{ name: 'x', dims: [1, 3, 12, 12] }],
          outputs: [{ name: 'scores', dims: [1, 3] }],
          initializers: [
            floats('W', [4, 3, 3, 3], Array.from({ length: 108 }, () => random() - 0.5)),
            floats('shift', [], [-0.1]),
            floats('minus', [], [-1]),
            { name: 'pads', dims: [8], dataType: 7, int64Data: [0, 0, 1, 1, 0, 0, 1, 1] },
            ...(padValue === 'initializer' ? [zero] : []),
            floats('F', [3, 144], Array.from({ length: 432 }, () => random() - 0.5)),
          ],
          nodes: [
            node('Conv', ['x', 'W'], ['conv'], 'conv', [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2])]),
            // Every value below zero: a padded 0 wins each border window's max.
            node('Relu', ['conv'], ['relu'], 'relu'),
            node('Mul', ['relu', 'minus'], ['negated'], 'negate'),
            node('Add', ['negated', 'shift'], ['neg'], 'shift'),
            ...(padValue === 'Constant node' ? [node('Constant', [], ['zero'], 'zero', [{ name: 'value', type: 4, t: zero }])] : []),
            node('Pad', padInputs, ['padded'], 'pad'),
            node('MaxPool', ['padded'], ['pool'], 'pool', [ints('kernel_shape', [3, 3])]),
            node('Flatten', ['pool'], ['flat'], 'flatten'),
            node('Gemm', ['flat', 'F'], ['scores'], 'fc', [int('transB', 1)]),
          ],
        }),
      );
      await initBackend('wasm');
      let model = await loadModel(file);
      const expected = await explain(model, image, { method: 'gradcam', layer: 'relu', classIndex: 0 });
      model.dispose();
      await initBackend('onnxruntime');
      model = await loadModel(file);
      try {
        const result = await explain(model, image, { method: 'gradcam', layer: 'relu', classIndex: 0 });
        assert.strictEqual(result.backend, 'onnxruntime', result.details?.nativeFallback);
        assert.ok(Math.abs(result.score - expected.score) <= 1e-4 * Math.max(1, Math.abs(expected.score)), `score ${result.score} on ONNX Runtime, ${expected.score} on wasm`);
        assert.ok(maxDifference(result.cam.data, expected.cam.data) <= DEFAULT_TOLERANCE);
      } finally {
        model.dispose();
      }
    });
  }

  it('an operator without a native gradient runs the request on the tfjs engine, which the result says', async () => {
    const file = path.join(folder, 'globalmax.onnx');
    const random = mulberry(3);
    fs.writeFileSync(
      file,
      encode({
        inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
        outputs: [{ name: 'scores', dims: [1, 4] }],
        initializers: [floats('W', [5, 3, 3, 3], Array.from({ length: 135 }, () => random() - 0.5)), floats('F', [4, 5], Array.from({ length: 20 }, () => random() - 0.5))],
        nodes: [
          node('Conv', ['x', 'W'], ['conv'], 'conv', [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])]),
          node('Relu', ['conv'], ['relu'], 'relu'),
          node('GlobalMaxPool', ['relu'], ['pool'], 'pool'),
          node('Flatten', ['pool'], ['flat'], 'flatten'),
          node('Gemm', ['flat', 'F'], ['scores'], 'fc', [int('transB', 1)]),
        ],
      }),
    );
    await initBackend('wasm');
    let model = await loadModel(file);
    const expected = await explain(model, image, { method: 'gradcam', layer: 'relu' });
    model.dispose();
    await initBackend('auto');
    model = await loadModel(file);
    try {
      const result = await explain(model, image, { method: 'gradcam', layer: 'relu' });
      assert.strictEqual(result.backend, 'wasm');
      assert.match(result.details?.nativeFallback ?? '', /no native gradient for GlobalMaxPool node "pool"/);
      assert.ok(maxDifference(result.cam.data, expected.cam.data) <= DEFAULT_TOLERANCE);
      // A method without gradients still runs natively.
      const eigen = await explain(model, image, { method: 'eigencam', layer: 'relu' });
      assert.strictEqual(eigen.backend, 'onnxruntime');
    } finally {
      model.dispose();
    }
  });
});

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
