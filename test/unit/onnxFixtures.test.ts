// ONNX files written by torch.onnx.export (scripts/fixtures/export_onnx.py, Debian's PyTorch 1.13)
// against the numbers PyTorch computed for them (reference.json beside each file): the logits of a
// sample image preprocessed as CNN Lens does, and pytorch-grad-cam's Grad-CAM of the top-1 class
// at a named module, whose ONNX node the reference names. On cpu and wasm.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
// backend.ts before tf.ts, as the engine facade loads them (see gradcam.test.ts).
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, loadModel, readImage, type LoadedModel } from '../../src/engine/index';
import { computeLogits } from '../../src/engine/execution/graph';
import { toModelInput } from '../../src/engine/images/image';
import type { Map2D } from '../../src/shared/types';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'onnx');

/** float32 through different kernels: logits within 1e-4 of the largest one; maps in [0, 1]. */
const LOGIT_RELATIVE = 1e-4;
const CAM_ABS = 1e-3;
const LAYER_CAM_RELATIVE = 1e-3;

interface FixtureMap {
  width: number;
  height: number;
  data: number[];
}
interface Reference {
  image: string;
  inputSize: [number, number];
  sidecar: { mean: number[]; std: number[] } | null;
  logits: number[];
  gradcam: { pytorchModule: string; onnxNode: string; classIndex: number; layerCam: FixtureMap; cam: FixtureMap };
}

const NETWORKS = [
  { name: 'tiny_cnn', layers: 42, defaultLayer: '/ReduceMean', softmax: false },
  // Same network, opset 14, no constant folding or eval fusion: BatchNormalization and HardSwish nodes.
  { name: 'tiny_cnn_unfolded', layers: 42, defaultLayer: '/ReduceMean', softmax: false },
  // The trained sample CNN (samples/workspace) exported from its PyTorch definition: a real model.
  { name: 'sample_cnn', layers: 14, defaultLayer: '/conv4/Relu', softmax: false },
  { name: 'resnet18', layers: 50, defaultLayer: '/layer4/layer4.1/relu_1/Relu', softmax: false },
  { name: 'mobilenet_v2', layers: 103, defaultLayer: '/features/features.18/features.18.2/Clip', softmax: true },
];

function reference(name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'reference.json'), 'utf8')) as Reference;
}

function assertMapClose(actual: Map2D, expected: FixtureMap, tolerance: number, what: string): void {
  assert.deepStrictEqual([actual.width, actual.height], [expected.width, expected.height], `${what}: size`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const diff = Math.abs(actual.data[i] - expected.data[i]);
    if (diff > worst) [worst, at] = [diff, i];
  }
  assert.ok(worst <= tolerance, `${what}: differs by ${worst} at ${at}: ${actual.data[at]} vs PyTorch ${expected.data[at]}`);
}

describe('ONNX models exported by PyTorch, against PyTorch', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
      });
      after(async () => {
        await initBackend('cpu');
      });

      for (const network of NETWORKS) {
        describe(network.name, () => {
          const ref = reference(network.name);
          const file = path.join(FIXTURES, network.name, `${network.name}.onnx`);
          let model: LoadedModel;
          let baseline: number;
          before(async () => {
            baseline = tf.memory().numTensors;
            model = await loadModel(file);
          });
          after(() => {
            model?.dispose();
            assert.strictEqual(tf.memory().numTensors, baseline, 'dispose() frees every tensor of the model');
          });

          it('summarises the graph: input from the graph input, sidecar, every node a layer named as in ONNX', () => {
            const s = model.summary;
            assert.strictEqual(s.format, 'onnx');
            assert.match(s.formatDetail ?? '', /^opset 1[34], pytorch 1\.13/);
            assert.deepStrictEqual(s.inputShape, [ref.inputSize[0], ref.inputSize[1], 3]);
            assert.strictEqual(s.numClasses, ref.logits.length);
            assert.deepStrictEqual(s.preprocessing, ref.sidecar ?? {});
            assert.strictEqual(s.sidecar !== null, ref.sidecar !== null);
            assert.strictEqual(s.outputSoftmax, network.softmax);
            assert.strictEqual(s.layers.length, network.layers);
            assert.strictEqual(s.defaultCamLayer, network.defaultLayer);
            const camLayer = s.layers.find((l) => l.name === ref.gradcam.onnxNode);
            assert.ok(camLayer?.spatial, `${ref.gradcam.onnxNode} is a selectable 4-D layer`);
            // NHWC shape of the node, the layer resolution of PyTorch's map.
            assert.deepStrictEqual(camLayer.outputShape.slice(1, 3), [ref.gradcam.layerCam.height, ref.gradcam.layerCam.width]);
          });

          it('gives PyTorch\'s pre-softmax logits within 1e-4 (relative)', async () => {
            const image = await readImage(path.join(REPO, ref.image));
            const input = toModelInput(image, model.summary.inputShape, model.summary.preprocessing);
            const logits = computeLogits(model.model, input);
            const values = await logits.data();
            tf.dispose([input, logits]);
            const scale = Math.max(...ref.logits.map(Math.abs));
            ref.logits.forEach((expected, i) => {
              assert.ok(Math.abs(values[i] - expected) <= LOGIT_RELATIVE * scale, `logit ${i}: ${values[i]} vs PyTorch ${expected}`);
            });
          });

          it(`gives PyTorch's Grad-CAM at ${ref.gradcam.onnxNode} (module ${ref.gradcam.pytorchModule})`, async () => {
            const before = tf.memory().numTensors;
            const image = await readImage(path.join(REPO, ref.image));
            const result = await explain(model, image, { method: 'gradcam', layer: ref.gradcam.onnxNode });
            assert.strictEqual(result.classIndex, ref.gradcam.classIndex);
            const layerScale = Math.max(...ref.gradcam.layerCam.data, 1e-6);
            assertMapClose(result.layerCam, ref.gradcam.layerCam, LAYER_CAM_RELATIVE * layerScale, 'layerCam');
            assertMapClose(result.cam, ref.gradcam.cam, CAM_ABS, 'cam');
            assert.strictEqual(tf.memory().numTensors, before, 'tensors leaked');
          });
        });
      }
    });
  }
});
