// PyTorch models through the engine give PyTorch's numbers: the bundled SimpleCNN sample
// (samples/workspace/pytorch, trained here) and a Sequential-built net (test/fixtures/pytorch)
// against references computed by PyTorch with pytorch-grad-cam's definition of Grad-CAM
// (scripts/sample/simple_cnn_reference.py, scripts/fixtures/export_pytorch_fixtures.py), on the
// wasm and cpu backends; filters are the checkpoint's own weights; and the default CAM layer of
// torchvision's resnet18, mobilenet_v2, vgg11 and densenet121 is the one the field uses, with
// PyTorch's logits.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { explain, filterWeights, readFilterBank, readImage, type LoadedModel } from '../../src/engine/index';
import { loadPytorchModel } from '../../src/engine/models/pytorch/loadPytorch';
import type { Map2D } from '../../src/shared/types';
import { modelFolder, patternImage, patternInputPython, removeFolders, requireTorch, runTorch } from './fixtures/pytorch';

const REPO = path.resolve(__dirname, '..', '..');
const SAMPLE = path.join(REPO, 'samples', 'workspace', 'pytorch', 'model.py');
const SEQUENTIAL = path.join(REPO, 'test', 'fixtures', 'pytorch', 'sequential', 'model.py');

interface ReferenceRun {
  layer: string;
  classIndex: number;
  score: number;
  cam: { width: number; height: number; data: number[] };
  layerCam: { width: number; height: number; data: number[] };
}
interface Reference {
  labels: string[] | null;
  images: { file: string; label?: string; labelIndex?: number; inputSize: [number, number]; logits: number[]; runs: ReferenceRun[] }[];
}

const readReference = (name: string): Reference => JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'reference', name), 'utf8')) as Reference;

/** Largest |a - b| over a map, and the map's largest |value|. */
function mapError(actual: Map2D, expected: ReferenceRun['cam']): { error: number; scale: number } {
  assert.deepStrictEqual([actual.width, actual.height], [expected.width, expected.height], 'map size');
  let error = 0;
  let scale = 0;
  expected.data.forEach((value, i) => {
    error = Math.max(error, Math.abs(actual.data[i] - value));
    scale = Math.max(scale, Math.abs(value));
  });
  return { error, scale };
}

/** Checks one model against its reference: logits, and every stored Grad-CAM run. */
async function checkAgainstReference(model: LoadedModel, reference: Reference): Promise<void> {
  for (const image of reference.images) {
    const decoded = await readImage(path.join(REPO, image.file));
    for (const run of image.runs) {
      const result = await explain(model, decoded, { method: 'gradcam', layer: run.layer, classIndex: run.classIndex, topK: model.summary.numClasses });
      const where = `${path.basename(image.file)} ${run.layer} class ${run.classIndex}`;
      const scale = Math.max(1, ...image.logits.map(Math.abs));
      for (const p of result.predictions) {
        assert.ok(Math.abs(p.score - image.logits[p.index]) <= 1e-4 * scale, `${where}: logit ${p.index} ${p.score} vs PyTorch ${image.logits[p.index]}`);
      }
      assert.ok(Math.abs(result.score - run.score) <= 1e-4 * scale, `${where}: score`);
      const cam = mapError(result.cam, run.cam);
      assert.ok(cam.error <= 1e-3, `${where}: cam differs by ${cam.error}`);
      const layerCam = mapError(result.layerCam, run.layerCam);
      assert.ok(layerCam.error <= 1e-3 * layerCam.scale, `${where}: layerCam differs by ${layerCam.error} (max ${layerCam.scale})`);
    }
  }
}

describe('PyTorch models give PyTorch\'s numbers', function () {
  this.timeout(600_000);
  const folders: string[] = [];
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-torch-models-cache-'));

  before(() => requireTorch());
  after(() => {
    removeFolders(folders);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
      });

      it('the SimpleCNN sample: conv1, pool, conv2, pool (call 2), fc1 as written; logits and Grad-CAM of pytorch-grad-cam', async () => {
        const model = await loadPytorchModel(SAMPLE, { cacheDir });
        try {
          const { summary } = model;
          assert.deepStrictEqual(
            summary.layers.map((l) => l.name),
            ['input', 'conv1', 'relu after conv1', 'pool', 'conv2', 'relu after conv2', 'pool (call 2)', 'reshape after pool (call 2)', 'fc1'],
          );
          assert.strictEqual(summary.defaultCamLayer, 'conv2');
          assert.strictEqual(summary.totalParams, 25_578);
          assert.deepStrictEqual(summary.labels.slice(0, 2), ['T-shirt/top', 'Trouser']);
          assert.match(summary.formatDetail ?? '', /^SimpleCNN\(\) from model\.py, weights simple_cnn\.pth \(a state_dict\); input 3×32×32/);
          const reference = readReference('pytorch-simple-cnn.json');
          await checkAgainstReference(model, reference);
          // The sample knows its images: the top-1 is the garment shown.
          for (const image of reference.images) {
            const result = await explain(model, await readImage(path.join(REPO, image.file)), { method: 'gradcam' });
            assert.strictEqual(result.className, image.label, image.file);
          }
        } finally {
          model.dispose();
        }
      });

      it('a Sequential-built net: features.4 and the features container, at the image\'s size', async () => {
        // The worker runs a model that takes any size at each image's own size; the reference is at 64×64.
        const model = await loadPytorchModel(SEQUENTIAL, { cacheDir, input: [3, 64, 64] });
        try {
          assert.strictEqual(model.summary.defaultCamLayer, 'features');
          assert.strictEqual(model.summary.pytorch?.checkpoint?.path, path.join(path.dirname(SEQUENTIAL), 'sequential.pth'), 'the only checkpoint in the folder');
          await checkAgainstReference(model, readReference('pytorch-sequential.json'));
        } finally {
          model.dispose();
        }
      });
    });
  }

  it('filters are the checkpoint\'s weights, as PyTorch stores them (out, in, kh, kw)', async () => {
    await initBackend('cpu');
    const weights = JSON.parse(
      runTorch(path.dirname(SAMPLE), 'import json, torch\nsd = torch.load("simple_cnn.pth")\nprint(json.dumps({k: sd[k].tolist() for k in ("conv1.weight", "conv2.weight")}))'),
    ) as Record<string, number[][][][]>;
    const model = await loadPytorchModel(SAMPLE, { cacheDir });
    try {
      for (const layer of ['conv1', 'conv2']) {
        const bank = readFilterBank(model.model, layer);
        const expected = weights[`${layer}.weight`];
        assert.strictEqual(bank.layout, 'OIHW');
        assert.deepStrictEqual([bank.count, bank.inputs, bank.kernelHeight, bank.kernelWidth], [expected.length, expected[0].length, 3, 3]);
        for (const o of [0, expected.length - 1]) {
          const filter = filterWeights(bank, o);
          assert.deepStrictEqual(Array.from(filter), expected[o].flat(2).map(Math.fround), `${layer} filter ${o}`);
        }
      }
    } finally {
      model.dispose();
    }
  });

  it('torchvision resnet18, mobilenet_v2, vgg11 and densenet121 (seeded): the field\'s default layer and PyTorch\'s logits', async () => {
    await initBackend('wasm');
    const nets: [string, string][] = [
      ['resnet18', 'layer4'],
      ['mobilenet_v2', 'features'],
      ['vgg11', 'features'],
      ['densenet121', 'features'],
    ];
    // Seeded weights with batch-norm statistics that are not the identity, so every layer counts.
    const source = (net: string) => `import torch
import torchvision


def create_model():
    model = torchvision.models.${net}()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.1, 0.1, generator=generator)
    return model
`;
    const dirs = nets.map(([net]) => {
      const dir = modelFolder({ 'model.py': source(net) });
      folders.push(dir);
      return dir;
    });
    // PyTorch's logits for the test image, each model built as the bridge builds it (seed 0).
    const logits = JSON.parse(
      runTorch(
        dirs[0],
        `import importlib.util, json, torch
${patternInputPython(3, 224, 224)}
out = []
for folder in ${JSON.stringify(dirs)}:
    spec = importlib.util.spec_from_file_location("m", folder + "/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    model = module.create_model().eval()
    with torch.no_grad():
        out.append(model(x)[0].tolist())
print(json.dumps(out))`,
      ),
    ) as number[][];
    for (const [index, [net, layer]] of nets.entries()) {
      const model = await loadPytorchModel(path.join(dirs[index], 'model.py'), { cacheDir });
      try {
        assert.strictEqual(model.summary.defaultCamLayer, layer, net);
        assert.deepStrictEqual(model.summary.pytorch?.input, [3, 224, 224], `${net}: found by trial`);
        const result = await explain(model, patternImage(224, 224), { method: 'gradcam', topK: 1000 });
        const scale = Math.max(...logits[index].map(Math.abs));
        let worst = 0;
        result.predictions.forEach((p) => (worst = Math.max(worst, Math.abs(p.score - logits[index][p.index]))));
        assert.ok(worst <= 1e-4 * scale, `${net}: logits differ from PyTorch's by ${worst} (largest ${scale})`);
        assert.strictEqual(result.layer, layer);
        assert.ok(result.cam.data.some((v) => v > 0.5), `${net}: an empty map`);
      } finally {
        model.dispose();
      }
    }
  });
});
