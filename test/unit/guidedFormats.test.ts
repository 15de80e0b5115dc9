// Guided backpropagation on every model format. Graph models and ONNX (and so PyTorch) run their
// ReLUs inside operator nodes, not as Keras ReLU layers; these tests would have caught that those
// ReLUs ran plain (guided == saliency bit for bit):
//  - small graphs built here (a TF.js graph model with fused and standalone Relu/Relu6, an ONNX
//    graph with Relu and Clip(0, 6) / Clip(0, ∞)): the engine's guided input gradient equals a
//    guided backward pass written out with explicit tfjs ops (no tf.grad), and differs from the
//    plain gradient;
//  - the sample network in every format (LayersModel, graph model, ONNX, Keras .h5 and .keras):
//    guided backprop and guided Grad-CAM equal the LayersModel's, and differ from saliency;
//  - the PyTorch SimpleCNN sample (model.py): the guided map equals PyTorch's, computed with
//    F.relu replaced by a guided autograd function.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, loadModel, readImage, type LoadedModel } from '../../src/engine/index';
import { classScoresOf, logitsOf } from '../../src/engine/execution/graph';
import { loadPytorchModel } from '../../src/engine/models/pytorch/loadPytorch';
import { encode, floats, node } from './fixtures/onnxGraph';
import { intList, str, strList, writeGraphModel } from './fixtures/graphModel';
import { patternImage, patternInputPython, requireTorch, runTorch } from './fixtures/pytorch';
import { seededRandom } from '../fixtures/models';

const REPO = path.resolve(__dirname, '..', '..');
const IMAGE = path.join(REPO, 'samples', 'workspace', 'images', 'sample.png');

/** Seeded values in [-scale, scale). */
function values(count: number, seed: number, scale = 1): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => random() * scale);
}

/** The engine's input gradient of one class score: what guided-backprop (guided) and saliency (plain) compute. */
function engineGradient(model: tf.LayersModel, x: tf.Tensor4D, classIndex: number, guided: boolean): Float32Array {
  return tf.tidy(() => {
    const score = (input: tf.Tensor) => tf.sum(classScoresOf(logitsOf(model, input, { guided }), classIndex));
    return tf.grad(score)(x).dataSync() as Float32Array;
  });
}

/** The guided ReLU's backward step, written out: the gradient where the input was in (0, cap) and the gradient positive. */
function guidedStep(dy: tf.Tensor, z: tf.Tensor, cap = Infinity): tf.Tensor {
  const open = tf.logicalAnd(tf.greater(z, 0), tf.less(z, cap));
  return tf.where(tf.logicalAnd(open, tf.greater(dy, 0)), dy, tf.zerosLike(dy));
}

/** Counts open ReLU units whose incoming gradient is negative: what a guided ReLU stops and a plain one passes. */
function stoppedAt(dy: tf.Tensor, z: tf.Tensor): number {
  return tf.tidy(() => tf.sum(tf.cast(tf.logicalAnd(tf.greater(z, 0), tf.less(dy, 0)), 'int32')).dataSync()[0]);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1e-12, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * scale, `${what} [${i}]: ${actual[i]} vs ${expected[i]} (largest ${scale})`);
  }
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A 1×1 convolution (or dense layer) per pixel: [.., cin] × [cin, cout]. */
function perPixel(v: tf.Tensor, w: tf.Tensor2D): tf.Tensor {
  const cin = v.shape[v.rank - 1] as number;
  return tf.reshape(tf.matMul(tf.reshape(v, [-1, cin]), w), [...v.shape.slice(0, -1), w.shape[1]]);
}

describe('guided backpropagation on every format', () => {
  let folder: string;
  before(async () => {
    await initBackend('cpu');
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-guided-'));
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('a TF.js graph model: fused Relu (conv and matmul), standalone Relu, fused Relu6 (depthwise) run guided, as a hand-written guided pass', async () => {
    const [H, W, C0, C1, C2, F, K] = [4, 4, 2, 3, 3, 4, 2];
    const w1 = values(C0 * C1, 1);
    const b1 = values(C1, 2, 0.3);
    const w2 = values(C1 * C2, 3);
    const b2 = values(C2, 4, 0.3);
    const dw = [2.5, -1.5, 1.2];
    const bd = [5.8, 0.1, -0.2]; // channel 0 near the Relu6 cap: some pixels pass it, some do not
    const wf = values(C2 * F, 7);
    const bf = values(F, 8, 0.3);
    const wh = values(F * K, 9);
    const file = writeGraphModel(path.join(folder, 'graph-relus'), {
      hwc: [H, W, C0],
      consts: {
        w1: { shape: [1, 1, C0, C1], values: w1 },
        b1: { shape: [C1], values: b1 },
        w2: { shape: [1, 1, C1, C2], values: w2 },
        b2: { shape: [C2], values: b2 },
        dw: { shape: [1, 1, C2, 1], values: dw },
        bd: { shape: [C2], values: bd },
        axes: { shape: [2], values: [1, 2], dtype: 'int32' },
        wf: { shape: [C2, F], values: wf },
        bf: { shape: [F], values: bf },
        wh: { shape: [F, K], values: wh },
      },
      nodes: [
        { name: 'c1/Relu', op: '_FusedConv2D', input: ['input', 'w1', 'b1'], attr: { strides: intList([1, 1, 1, 1]), padding: str('VALID'), fused_ops: strList(['BiasAdd', 'Relu']) } },
        { name: 'c2/Conv2D', op: 'Conv2D', input: ['c1/Relu', 'w2'], attr: { strides: intList([1, 1, 1, 1]), padding: str('VALID') } },
        { name: 'c2/BiasAdd', op: 'BiasAdd', input: ['c2/Conv2D', 'b2'] },
        { name: 'c2/Relu', op: 'Relu', input: ['c2/BiasAdd'] },
        { name: 'dw/Relu6', op: 'FusedDepthwiseConv2dNative', input: ['c2/Relu', 'dw', 'bd'], attr: { strides: intList([1, 1, 1, 1]), padding: str('VALID'), fused_ops: strList(['BiasAdd', 'Relu6']) } },
        { name: 'gap/Mean', op: 'Mean', input: ['dw/Relu6', 'axes'], attr: { keep_dims: { b: false } } },
        { name: 'fc/Relu', op: '_FusedMatMul', input: ['gap/Mean', 'wf', 'bf'], attr: { fused_ops: strList(['BiasAdd', 'Relu']) } },
        { name: 'head/MatMul', op: 'MatMul', input: ['fc/Relu', 'wh'] },
      ],
    });
    const loaded = await loadModel(file);
    const x = tf.tensor4d(values(H * W * C0, 10), [1, H, W, C0]);
    try {
      for (let k = 0; k < K; k++) {
        let stopped = 0;
        let capped = 0;
        const expected = tf.tidy(() => {
          const W1 = tf.tensor2d(w1, [C0, C1]);
          const W2 = tf.tensor2d(w2, [C1, C2]);
          const Wf = tf.tensor2d(wf, [C2, F]);
          const Wh = tf.tensor2d(wh, [F, K]);
          // Forward, keeping every ReLU's input.
          const z1 = tf.add(perPixel(x, W1), b1);
          const z2 = tf.add(perPixel(tf.relu(z1), W2), b2);
          const z3 = tf.add(tf.mul(tf.relu(z2), dw), bd);
          const g = tf.mean(tf.clipByValue(z3, 0, 6), [1, 2]);
          const z4 = tf.add(tf.matMul(g as tf.Tensor2D, Wf), bf);
          // Backward from the class score, each ReLU passing only positive gradients where it was open.
          const dh4 = tf.reshape(tf.slice(tf.transpose(Wh), [k, 0], [1, F]), [1, F]);
          const dz4 = guidedStep(dh4, z4);
          const dh3 = tf.div(tf.tile(tf.reshape(tf.matMul(dz4, tf.transpose(Wf)), [1, 1, 1, C2]), [1, H, W, 1]), H * W);
          const dz3 = guidedStep(dh3, z3, 6);
          const dh2 = tf.mul(dz3, dw);
          const dz2 = guidedStep(dh2, z2);
          const dh1 = perPixel(dz2, tf.transpose(W2));
          const dz1 = guidedStep(dh1, z1);
          stopped = stoppedAt(dh4, z4) + stoppedAt(dh3, z3) + stoppedAt(dh2, z2) + stoppedAt(dh1, z1);
          capped = tf.sum(tf.cast(tf.greater(z3, 6), 'int32')).dataSync()[0];
          return perPixel(dz1, tf.transpose(W1)).dataSync() as Float32Array;
        });
        assert.ok(stopped > 0, `class ${k}: the fixture has negative gradients at open ReLUs (the test can fail)`);
        const guided = engineGradient(loaded.model, x, k, true);
        assertClose(guided, expected, 1e-5, `class ${k} guided gradient`);
        const plain = engineGradient(loaded.model, x, k, false);
        assert.ok(maxDifference(guided, plain) > 1e-3, `class ${k}: guided differs from the plain gradient`);
        if (k === 0) assert.ok(capped > 0, 'some depthwise outputs pass the Relu6 cap');
      }
    } finally {
      loaded.dispose();
      x.dispose();
    }
  });

  it('an ONNX graph: Relu, Clip(0, 6) and Clip(0, ∞) (the ReLUs PyTorch exports) run guided, as a hand-written guided pass', async () => {
    const [H, W, C0, C1, C2, C3, F, K] = [3, 3, 2, 4, 3, 4, 4, 2];
    // ONNX Conv weights are OIHW; a 1×1 kernel [o, i, 1, 1] is the per-pixel matrix transposed.
    const w1 = values(C1 * C0, 21);
    const w2 = values(C2 * C1, 22, 2);
    const w3 = values(C3 * C2, 23, 0.3);
    const b1 = values(C1, 24, 0.3);
    const b2 = [0.2, 5.7, -0.3]; // channel 1 at Clip's cap of 6: some pixels pass it
    const b3 = values(C3, 26, 0.3).map((v) => v + 0.3);
    const wf = values(F * C3, 41); // Gemm transB=1: [out, in]
    const bf = values(F, 28, 0.3).map((v) => v + 0.5); // most head units open
    const wh = values(K * F, 34);
    const file = path.join(folder, 'relus.onnx');
    fs.writeFileSync(
      file,
      encode({
        inputs: [{ name: 'x', dims: [1, C0, H, W] }],
        outputs: [{ name: 'logits', dims: [1, K] }],
        initializers: [
          floats('w1', [C1, C0, 1, 1], w1),
          floats('b1', [C1], b1),
          floats('w2', [C2, C1, 1, 1], w2),
          floats('b2', [C2], b2),
          floats('w3', [C3, C2, 1, 1], w3),
          floats('b3', [C3], b3),
          floats('zero', [], [0]),
          floats('six', [], [6]),
          floats('wf', [F, C3], wf),
          floats('bf', [F], bf),
          floats('wh', [K, F], wh),
        ],
        nodes: [
          node('Conv', ['x', 'w1', 'b1'], ['z1'], '/c1/Conv'),
          node('Relu', ['z1'], ['h1'], '/relu1/Relu'),
          node('Conv', ['h1', 'w2', 'b2'], ['z2'], '/c2/Conv'),
          node('Clip', ['z2', 'zero', 'six'], ['h2'], '/relu6/Clip'),
          node('Conv', ['h2', 'w3', 'b3'], ['z3'], '/c3/Conv'),
          node('Clip', ['z3', 'zero', ''], ['h3'], '/clamp/Clip'),
          node('GlobalAveragePool', ['h3'], ['g'], '/gap/GlobalAveragePool'),
          node('Flatten', ['g'], ['gf'], '/flatten/Flatten'),
          node('Gemm', ['gf', 'wf', 'bf'], ['z4'], '/fc/Gemm', [{ name: 'transB', type: 2, i: 1 }]),
          node('Relu', ['z4'], ['h4'], '/relu4/Relu'),
          node('Gemm', ['h4', 'wh'], ['logits'], '/head/Gemm', [{ name: 'transB', type: 2, i: 1 }]),
        ],
      }),
    );
    const loaded = await loadModel(file);
    const x = tf.tensor4d(values(H * W * C0, 30), [1, H, W, C0]); // the engine's input is NHWC
    try {
      for (let k = 0; k < K; k++) {
        let stopped = 0;
        let capped = 0;
        const expected = tf.tidy(() => {
          const W1 = tf.transpose(tf.tensor2d(w1, [C1, C0])) as tf.Tensor2D;
          const W2 = tf.transpose(tf.tensor2d(w2, [C2, C1])) as tf.Tensor2D;
          const W3 = tf.transpose(tf.tensor2d(w3, [C3, C2])) as tf.Tensor2D;
          const Wf = tf.transpose(tf.tensor2d(wf, [F, C3])) as tf.Tensor2D;
          const Wh = tf.transpose(tf.tensor2d(wh, [K, F])) as tf.Tensor2D;
          const z1 = tf.add(perPixel(x, W1), b1);
          const z2 = tf.add(perPixel(tf.relu(z1), W2), b2);
          const z3 = tf.add(perPixel(tf.clipByValue(z2, 0, 6), W3), b3);
          const g = tf.mean(tf.relu(z3), [1, 2]);
          const z4 = tf.add(tf.matMul(g as tf.Tensor2D, Wf), bf);
          const dh4 = tf.reshape(tf.slice(tf.transpose(Wh), [k, 0], [1, F]), [1, F]);
          const dz4 = guidedStep(dh4, z4);
          const dh3 = tf.div(tf.tile(tf.reshape(tf.matMul(dz4, tf.transpose(Wf)), [1, 1, 1, C3]), [1, H, W, 1]), H * W);
          const dz3 = guidedStep(dh3, z3);
          const dh2 = perPixel(dz3, tf.transpose(W3));
          const dz2 = guidedStep(dh2, z2, 6);
          const dh1 = perPixel(dz2, tf.transpose(W2));
          const dz1 = guidedStep(dh1, z1);
          stopped = stoppedAt(dh4, z4) + stoppedAt(dh3, z3) + stoppedAt(dh2, z2) + stoppedAt(dh1, z1);
          capped = tf.sum(tf.cast(tf.greater(z2, 6), 'int32')).dataSync()[0];
          return perPixel(dz1, tf.transpose(W1)).dataSync() as Float32Array;
        });
        assert.ok(stopped > 0, `class ${k}: the fixture has negative gradients at open ReLUs (the test can fail)`);
        const guided = engineGradient(loaded.model, x, k, true);
        assertClose(guided, expected, 1e-5, `class ${k} guided gradient`);
        const plain = engineGradient(loaded.model, x, k, false);
        assert.ok(maxDifference(guided, plain) > 1e-3, `class ${k}: guided differs from the plain gradient`);
        if (k === 0) assert.ok(capped > 0, 'some Clip(0, 6) inputs pass the cap');
      }
    } finally {
      loaded.dispose();
      x.dispose();
    }
  });

  describe('the sample network in every format against its LayersModel', () => {
    const TWIN = path.join(REPO, 'samples', 'workspace', 'model', 'model.json');
    const FORMATS: [string, string][] = [
      ['TF.js graph model', path.join(REPO, 'test', 'fixtures', 'graph-model', 'model.json')],
      ['ONNX', path.join(REPO, 'test', 'fixtures', 'onnx', 'sample_cnn', 'sample_cnn.onnx')],
      ['Keras .h5', path.join(REPO, 'test', 'fixtures', 'keras', 'sample_cnn.h5')],
      ['Keras .keras', path.join(REPO, 'test', 'fixtures', 'keras', 'sample_cnn.keras')],
    ];
    // The twin's conv4 in each format: where guided Grad-CAM takes its Grad-CAM.
    const CAM_LAYERS: Record<string, string> = {
      'TF.js graph model': 'StatefulPartitionedCall/fashion_scenes_cnn/conv4/Relu',
      ONNX: '/conv4/Relu',
      'Keras .h5': 'conv4',
      'Keras .keras': 'conv4',
    };
    let twin: LoadedModel;
    before(async () => {
      twin = await loadModel(TWIN);
    });
    after(() => twin?.dispose());

    for (const [format, file] of FORMATS) {
      it(`${format}: guided backprop and guided Grad-CAM are the LayersModel's, not saliency`, async () => {
        const model = await loadModel(file);
        try {
          const image = await readImage(IMAGE);
          const before = tf.memory().numTensors;
          for (const classIndex of [0, 3]) {
            const want = await explain(twin, image, { method: 'guided-backprop', classIndex });
            const got = await explain(model, image, { method: 'guided-backprop', classIndex });
            const saliency = await explain(model, image, { method: 'saliency', classIndex });
            const scale = Math.max(...want.layerCam.data);
            assert.ok(maxDifference(got.layerCam.data, want.layerCam.data) <= 2e-3 * scale, `${format} class ${classIndex}: guided map differs from the LayersModel's by ${maxDifference(got.layerCam.data, want.layerCam.data)} (largest ${scale})`);
            assert.ok(maxDifference(got.layerCam.data, saliency.layerCam.data) > 0.05 * scale, `${format} class ${classIndex}: guided differs from saliency`);
            const wantGuidedCam = await explain(twin, image, { method: 'guided-gradcam', classIndex, layer: 'conv4' });
            const gotGuidedCam = await explain(model, image, { method: 'guided-gradcam', classIndex, layer: CAM_LAYERS[format] });
            assert.ok(maxDifference(gotGuidedCam.cam.data, wantGuidedCam.cam.data) <= 5e-3, `${format} class ${classIndex}: guided Grad-CAM differs from the LayersModel's`);
          }
          assert.strictEqual(tf.memory().numTensors, before, 'no tensor leaks');
        } finally {
          model.dispose();
        }
      });
    }
  });

  describe('a PyTorch model.py', function () {
    this.timeout(300_000);
    const SAMPLE = path.join(REPO, 'samples', 'workspace', 'pytorch', 'model.py');
    let cacheDir: string;
    before(() => {
      requireTorch();
      cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-guided-torch-'));
    });
    after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

    it('SimpleCNN (F.relu): the guided map is PyTorch\'s guided backprop, not its saliency', async () => {
      const classes = [0, 7];
      // PyTorch's guided backprop: F.relu replaced by an autograd function with the guided backward.
      const reference = JSON.parse(
        runTorch(
          path.dirname(SAMPLE),
          `import json, torch
import torch.nn.functional as F
${patternInputPython(3, 32, 32)}
class Guided(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return v.clamp(min=0)
    @staticmethod
    def backward(ctx, dy):
        (v,) = ctx.saved_tensors
        return dy.clamp(min=0) * (v > 0).to(dy.dtype)
from model import SimpleCNN
model = SimpleCNN().eval()
model.load_state_dict(torch.load("simple_cnn.pth"))
plain_relu = F.relu
out = {}
for mode in ("guided", "plain"):
    F.relu = (lambda v, inplace=False: Guided.apply(v)) if mode == "guided" else plain_relu
    maps = []
    for k in ${JSON.stringify(classes)}:
        xi = x.clone().requires_grad_(True)
        model(xi)[0, k].backward()
        maps.append(xi.grad[0].abs().amax(0).flatten().tolist())
    out[mode] = maps
F.relu = plain_relu
print(json.dumps(out))`,
        ),
      ) as { guided: number[][]; plain: number[][] };
      const model = await loadPytorchModel(SAMPLE, { cacheDir });
      try {
        for (const [i, classIndex] of classes.entries()) {
          const guided = await explain(model, patternImage(32, 32), { method: 'guided-backprop', classIndex });
          const scale = Math.max(...reference.guided[i]);
          assert.ok(maxDifference(guided.layerCam.data, reference.guided[i]) <= 1e-3 * scale, `class ${classIndex}: guided map differs from PyTorch's by ${maxDifference(guided.layerCam.data, reference.guided[i])} (largest ${scale})`);
          assert.ok(maxDifference(reference.guided[i], reference.plain[i]) > 0.05 * scale, 'PyTorch\'s guided and plain maps differ (the test can fail)');
          const saliency = await explain(model, patternImage(32, 32), { method: 'saliency', classIndex });
          assert.ok(maxDifference(saliency.layerCam.data, reference.plain[i]) <= 1e-3 * Math.max(...reference.plain[i]), `class ${classIndex}: saliency is PyTorch's plain gradient`);
        }
      } finally {
        model.dispose();
      }
    });
  });
});
