// The torchvision classification zoo through the path a user takes: a model.py whose create_model()
// returns the torchvision model (seeded weights, Debian's python3-torchvision), a cnn-lens.json
// with the input size and ImageNet's mean/std, loaded by the engine (the bridge exports ONNX, the
// engine runs it on wasm). Each model's logits must match PyTorch's within 1e-4 of the largest, and
// its Grad-CAM at the layer pytorch-grad-cam's README recommends must match pytorch-grad-cam's
// definition computed in torch (scripts/fixtures/torchvision_zoo_reference.py, run here; nothing
// is committed). The results are the README's "torchvision classification zoo" table: the test
// checks that table against them, and CNN_LENS_UPDATE_README=1 rewrites it.
import { spawn, type ChildProcess } from 'child_process';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createInterface } from 'readline';
import { initBackend } from '../../src/engine/backend';
import { explain, type LoadedModel } from '../../src/engine/index';
import { loadPytorchModel } from '../../src/engine/models/pytorch/loadPytorch';
import { stopKeptBridges } from '../../src/engine/models/pytorch/python';
import * as tf from '../../src/engine/tf';
import type { Map2D } from '../../src/shared/types';
import { modelFolder, patternImage, removeFolders, requireTorch, TORCH_PYTHON } from './fixtures/pytorch';

const REPO = path.resolve(__dirname, '..', '..');
const REFERENCE_SCRIPT = path.join(REPO, 'scripts', 'fixtures', 'torchvision_zoo_reference.py');
const README = path.join(REPO, 'README.md');
const TABLE_START = '<!-- torchvision-zoo-table: written by test/unit/torchvisionZoo.test.ts (CNN_LENS_UPDATE_README=1) -->';
const TABLE_END = '<!-- /torchvision-zoo-table -->';

/** Logits: largest |CNN Lens - PyTorch| over the largest |PyTorch logit| (the issue's bound). */
const LOGIT_TOLERANCE = 1e-4;
/** Grad-CAM in [0, 1] at the input's size, as the existing PyTorch references are held to. */
const CAM_TOLERANCE = 1e-3;

interface ZooModel {
  name: string;
  /** The torchvision constructor call model.py makes. */
  build: string;
  /** The target layer as pytorch-grad-cam's users write it (its README's list, or the same idea). */
  layer: string;
  /** Earlier layers checked too, for the same class: their gradients cross the ops after them. */
  alsoLayers?: string[];
  /** [channels, height, width]: small, not square (an H/W mix-up shows), and a target layer of 3×4 cells or more. */
  input: [number, number, number];
}

// Inputs: 96×128 gives stride-32 models a 3×4 map at the target layer (64×64 would give 2×2, a
// map that says little). AlexNet needs 128×160 for 3×4 after its last max pool; Inception v3
// needs 139×171 (at 75×75, the smallest it runs, Mixed_7c is 1×1: a constant map).
const ZOO: ZooModel[] = [
  { name: 'alexnet', build: 'alexnet()', layer: 'features[-1]', input: [3, 128, 160] },
  { name: 'vgg11_bn', build: 'vgg11_bn()', layer: 'features[-1]', input: [3, 96, 128] },
  { name: 'resnet18', build: 'resnet18()', layer: 'layer4[-1]', input: [3, 96, 128] },
  { name: 'resnext50_32x4d', build: 'resnext50_32x4d()', layer: 'layer4[-1]', input: [3, 96, 128] },
  { name: 'wide_resnet50_2', build: 'wide_resnet50_2()', layer: 'layer4[-1]', input: [3, 96, 128] },
  { name: 'densenet121', build: 'densenet121()', layer: 'features[-1]', alsoLayers: ['features.denseblock3'], input: [3, 96, 128] },
  { name: 'squeezenet1_1', build: 'squeezenet1_1()', layer: 'features[-1]', input: [3, 96, 128] },
  // Channel split (Slice) and shuffle (Reshape, Transpose) in stage4's later blocks (earlier stages'
  // maps are all zeros or 1e-7 with these weights: the gradient has vanished).
  { name: 'shufflenet_v2_x0_5', build: 'shufflenet_v2_x0_5()', layer: 'conv5', alsoLayers: ['stage4[0]'], input: [3, 96, 128] },
  { name: 'mobilenet_v2', build: 'mobilenet_v2()', layer: 'features[-1]', input: [3, 96, 128] },
  // Squeeze-excitation with HardSigmoid, and HardSwish, in features[4] on.
  { name: 'mobilenet_v3_small', build: 'mobilenet_v3_small()', layer: 'features[-1]', alsoLayers: ['features[3]'], input: [3, 96, 128] },
  { name: 'mnasnet0_5', build: 'mnasnet0_5()', layer: 'layers[-1]', input: [3, 96, 128] },
  // Squeeze-excitation with Sigmoid and Mul, SiLU.
  { name: 'efficientnet_b0', build: 'efficientnet_b0()', layer: 'features[-1]', alsoLayers: ['features[4]'], input: [3, 96, 128] },
  { name: 'regnet_y_400mf', build: 'regnet_y_400mf()', layer: 'trunk_output[-1]', alsoLayers: ['trunk_output[1]'], input: [3, 96, 128] },
  // Inception blocks: Concat, and AveragePool with count_include_pad in Inception v3.
  { name: 'googlenet', build: 'googlenet(init_weights=True)', layer: 'inception5b', alsoLayers: ['inception4e'], input: [3, 96, 128] },
  { name: 'inception_v3', build: 'inception_v3(init_weights=True)', layer: 'Mixed_7c', alsoLayers: ['Mixed_6e'], input: [3, 139, 171] },
  // LayerNorm (ReduceMean, Sub, Pow, Sqrt, Div) and GELU (Erf) in every block after stage 1.
  { name: 'convnext_tiny', build: 'convnext_tiny()', layer: 'features[-1]', alsoLayers: ['features[1]'], input: [3, 96, 128] },
];

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * model.py as a user writes it for an untrained torchvision model. Normalisation statistics are
 * drawn from a seeded generator, so none is the identity and folding or skipping one shows; and
 * ConvNeXt's layer scale (1e-6 at initialisation, which would hide every block's GELU and LayerNorm
 * behind the residual) is drawn near 1.
 */
const modelSource = (build: string): string => `import torch
import torchvision


def create_model():
    model = torchvision.models.${build}
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
            if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)) and module.weight is not None:
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.1, 0.1, generator=generator)
            if isinstance(getattr(module, "layer_scale", None), torch.nn.Parameter):
                module.layer_scale.uniform_(0.5, 1.0, generator=generator)
    return model
`;

interface ReferenceRun {
  /** The layer as pytorch-grad-cam's users write it, and its module path (CNN Lens's layer name). */
  expression: string;
  layer: string;
  layerCam: Map2D & { data: number[] };
  cam: Map2D & { data: number[] };
  /** Later code overwrote the layer's output in place (cam is the map of the module's own output). */
  overwrittenInPlace: boolean;
  /** How far pytorch-grad-cam's own map, of the overwritten values, is from cam. */
  pytorchGradCamDifference: number;
}

interface Reference {
  name: string;
  parameters: number;
  logits: number[];
  /** The top-1 class, which every run explains. */
  classIndex: number;
  /** The recommended layer first, then the earlier ones. */
  runs: ReferenceRun[];
  seconds: number;
}

interface Row {
  name: string;
  /** Each layer checked: as pytorch-grad-cam's users write it, and its module path once known. */
  layers: { expression: string; path?: string }[];
  input: [number, number, number];
  ok: boolean;
  /** What is missing or wrong, when not ok. */
  problem?: string;
  logitError?: number;
  camError?: number;
  layerCamError?: number;
  defaultLayer?: string;
  /** Said beside ✓: where pytorch-grad-cam's own map is not the layer's Grad-CAM. */
  note?: string;
  seconds?: number;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection nobody awaits (a --grep run) must not end the run.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Largest |a - b| over two maps of the same size, and the reference's largest |value|. */
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

const exp = (value: number | undefined): string => (value === undefined ? '–' : value.toExponential(1).replace('e-', 'e−'));

/** One model for the reference script: its folder, target layer (pytorch-grad-cam's expression) and input. */
interface ReferenceRequest {
  name: string;
  folder: string;
  layer: string;
  alsoLayers?: string[];
  input: [number, number, number];
  mean?: number[];
  std?: number[];
}

/**
 * Starts scripts/fixtures/torchvision_zoo_reference.py on these models: PyTorch's answers, computed
 * beside the engine's work (a core each), each model's promise settled as soon as its line arrives.
 */
function startReference(models: readonly ReferenceRequest[], dir: string): { child: ChildProcess; answers: Map<string, Promise<Reference>> } {
  const request = path.join(dir, `request-${models.map((m) => m.name).join('-').slice(0, 60)}.json`);
  fs.writeFileSync(request, JSON.stringify({ models }));
  const child = spawn(TORCH_PYTHON, [REFERENCE_SCRIPT, request], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const waiting = new Map(models.map((m) => [m.name, deferred<Reference>()]));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (line.startsWith('zoo-answer ')) {
      const answer = JSON.parse(line.slice('zoo-answer '.length)) as Reference;
      waiting.get(answer.name)?.resolve(answer);
    }
  });
  child.on('close', (code) => {
    const failure = new Error(`${REFERENCE_SCRIPT} exited with ${code} before answering: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
    waiting.forEach((d) => d.reject(failure)); // no effect on the answered ones
  });
  return { child, answers: new Map([...waiting].map(([name, d]) => [name, d.promise])) };
}

/** How far CNN Lens is from PyTorch's answer: logits over the largest; for each run, the map in [0, 1] and the layer map over its largest. */
async function compare(
  model: LoadedModel,
  reference: Reference,
  input: [number, number, number],
): Promise<{ logitError: number; runs: { run: ReferenceRun; camError: number; layerCamError: number; layerCamScale: number }[] }> {
  const [, height, width] = input;
  const largest = Math.max(...reference.logits.map(Math.abs));
  let worst = 0;
  const runs = [];
  for (const run of reference.runs) {
    const result = await explain(model, patternImage(width, height), {
      method: 'gradcam',
      layer: run.layer,
      classIndex: reference.classIndex,
      topK: reference.logits.length,
    });
    assert.strictEqual(result.predictions.length, reference.logits.length, 'every class scored');
    for (const p of result.predictions) {
      worst = Math.max(worst, Math.abs(p.score - reference.logits[p.index]));
    }
    const cam = mapError(result.cam, run.cam);
    const layerCam = mapError(result.layerCam, run.layerCam);
    runs.push({ run, camError: cam.error, layerCamError: layerCam.scale > 0 ? layerCam.error / layerCam.scale : layerCam.error, layerCamScale: layerCam.scale });
  }
  return { logitError: worst / largest, runs };
}

/** The README table of these rows (ordered as ZOO). */
function table(rows: readonly Row[]): string {
  const lines = [
    '| model | input | Grad-CAM layer (pytorch-grad-cam) = CNN Lens layer; earlier layers also checked | CNN Lens default layer | loads and matches | logits: max error / max logit | Grad-CAM: max error (map in [0, 1]) | layer map: max error / max |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const layers = row.layers.map((l) => `\`${l.expression}\` = \`${l.path ?? '?'}\``);
    const layerCell = layers.length > 1 ? `${layers[0]}; also ${layers.slice(1).join(', ')}` : layers[0];
    lines.push(
      `| ${row.name} | ${row.input.slice(1).join('×')} | ${layerCell} | \`${row.defaultLayer ?? '–'}\` | ${row.ok ? (row.note ? `✓ (${row.note})` : '✓') : `✗ ${row.problem}`} | ${exp(row.logitError)} | ${exp(row.camError)} | ${exp(row.layerCamError)} |`,
    );
  }
  return lines.join('\n');
}

/** The README's zoo table (between its markers), or undefined when the README has none. */
function readmeTable(): { text: string; start: number; end: number } | undefined {
  const readme = fs.readFileSync(README, 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  return start < 0 || end < start ? undefined : { text: readme.slice(start + TABLE_START.length, end).trim(), start, end };
}

describe('the torchvision classification zoo loads and matches PyTorch', function () {
  this.timeout(900_000);
  const folders: string[] = [];
  let cacheDir = '';
  const rows = new Map<string, Row>();
  const modelFolders = new Map<string, string>();
  let reference: ChildProcess | undefined;
  let answers = new Map<string, Promise<Reference>>();
  let startedAt = 0;

  before(async () => {
    requireTorch();
    await initBackend('wasm');
    startedAt = Date.now();
    // One export cache for the run: a model loaded twice is exported once.
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-zoo-cache-'));
    for (const model of ZOO) {
      const sidecar = { input: model.input, ...IMAGENET };
      const dir = modelFolder({ 'model.py': modelSource(model.build), 'cnn-lens.json': JSON.stringify(sidecar) });
      folders.push(dir);
      modelFolders.set(model.name, dir);
    }
    const started = startReference(
      ZOO.map((m) => ({ name: m.name, folder: modelFolders.get(m.name) as string, layer: m.layer, alsoLayers: m.alsoLayers ?? [], input: m.input, ...IMAGENET })),
      cacheDir,
    );
    reference = started.child;
    answers = started.answers;
  });

  after(async () => {
    reference?.kill();
    stopKeptBridges();
    removeFolders(folders);
    fs.rmSync(cacheDir, { recursive: true, force: true });
    const done = ZOO.map((m) => rows.get(m.name)).filter((r): r is Row => r !== undefined);
    if (done.length > 0) {
      const times = done.map((r) => `${r.name} ${r.seconds?.toFixed(1)}`).join(', ');
      console.log(`\n${table(done)}\n(${done.length} models in ${((Date.now() - startedAt) / 1000).toFixed(0)} s: ${times})`);
    }
  });

  for (const entry of ZOO) {
    it(`${entry.name}: logits within ${LOGIT_TOLERANCE} and Grad-CAM at ${entry.layer} as pytorch-grad-cam`, async () => {
      const row: Row = { name: entry.name, layers: [entry.layer, ...(entry.alsoLayers ?? [])].map((expression) => ({ expression })), input: entry.input, ok: false };
      rows.set(entry.name, row);
      const t0 = Date.now();
      let model: LoadedModel | undefined;
      const tensorsBefore = tf.memory().numTensors;
      try {
        try {
          model = await loadPytorchModel(path.join(modelFolders.get(entry.name) as string, 'model.py'), { cacheDir, keepPythonAlive: true });
        } catch (error) {
          row.problem = `does not load: ${error instanceof Error ? error.message : String(error)}`;
          throw error;
        }
        assert.deepStrictEqual(model.summary.pytorch?.input, entry.input, 'the sidecar\'s input size');
        row.defaultLayer = model.summary.defaultCamLayer;
        const reference = await (answers.get(entry.name) as Promise<Reference>);
        row.layers = reference.runs.map((run) => ({ expression: run.expression, path: run.layer }));
        assert.strictEqual(model.summary.totalParams, reference.parameters, 'parameters as PyTorch counts them');
        const errors = await compare(model, reference, entry.input);
        row.logitError = errors.logitError;
        row.camError = Math.max(...errors.runs.map((r) => r.camError));
        row.layerCamError = Math.max(...errors.runs.map((r) => r.layerCamError));
        row.note = errors.runs
          .filter(({ run }) => run.overwrittenInPlace)
          .map(({ run }) => `the map of ${run.layer}'s own output, which the model then overwrites in place; pytorch-grad-cam's map of the overwritten values is ${exp(run.pytorchGradCamDifference)} away, see below`)
          .join('; ') || undefined;
        const problems = [
          errors.logitError > LOGIT_TOLERANCE ? `logits differ by ${exp(errors.logitError)} of the largest` : '',
          ...errors.runs.flatMap(({ run, camError, layerCamError, layerCamScale }) => [
            camError > CAM_TOLERANCE ? `Grad-CAM at ${run.layer} differs by ${exp(camError)}` : '',
            layerCamError > CAM_TOLERANCE ? `the layer map at ${run.layer} differs by ${exp(layerCamError)} of its largest` : '',
            // A map that is all zeros matches anything; the chosen sizes give every model a real one.
            layerCamScale > 0 ? '' : `PyTorch's map at ${run.layer} is all zeros`,
          ]),
        ].filter(Boolean);
        if (problems.length > 0) {
          row.problem = problems.join('; ');
        }
        assert.deepStrictEqual(problems, [], `${entry.name}: ${problems.join('; ')}`);
      } finally {
        model?.dispose();
        row.seconds = (Date.now() - t0) / 1000;
      }
      assert.strictEqual(tf.memory().numTensors, tensorsBefore, `${entry.name}: every tensor is freed`);
      row.ok = true;
    });
  }

  it('the README\'s table says what this run found', function () {
    const done = ZOO.map((m) => rows.get(m.name)).filter((r): r is Row => r !== undefined);
    if (done.length < ZOO.length) {
      this.skip(); // a --grep run of some models: nothing to compare
    }
    let found = readmeTable();
    assert.ok(found, `${README}: no torchvision zoo table between ${TABLE_START} and ${TABLE_END}`);
    if (process.env.CNN_LENS_UPDATE_README === '1') {
      const readme = fs.readFileSync(README, 'utf8');
      fs.writeFileSync(README, `${readme.slice(0, found.start + TABLE_START.length)}\n${table(done)}\n${readme.slice(found.end)}`);
      found = readmeTable();
      assert.ok(found);
    }
    // Errors move in the last digit with the machine; the models and what each says may not.
    const verdicts = (text: string) =>
      text
        .split('\n')
        .slice(2)
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .map((cells) => [cells[1], cells[2], cells[3], cells[4], cells[5].startsWith('✓') ? '✓' : '✗'].join(' | '));
    assert.deepStrictEqual(verdicts(found.text), verdicts(table(done)), 'run with CNN_LENS_UPDATE_README=1 to rewrite the table');
  });
});

const POOLED_SOURCE = `import torch
from torch import nn


class Pooled(nn.Module):
    """Three adaptive pools of one 7x4 map: 3x5 (7 -> 3 shrinks unevenly, 4 -> 5 grows), 7x2 (divides) and 1x1."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.uneven = nn.AdaptiveAvgPool2d((3, 5))
        self.even = nn.AdaptiveAvgPool2d((7, 2))
        self.whole = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * (15 + 14 + 1), 6)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        pooled = [torch.flatten(pool(x), 1) for pool in (self.uneven, self.even, self.whole)]
        return self.fc(torch.cat(pooled, 1))


def create_model():
    return Pooled()
`;

describe('adaptive average pooling to any size exports and matches PyTorch (the bridge\'s symbolic)', function () {
  this.timeout(300_000);
  let dir = '';
  let cacheDir = '';

  before(async () => {
    requireTorch();
    await initBackend('wasm');
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-pool-cache-'));
    dir = modelFolder({
      'model.py': POOLED_SOURCE,
      'cnn-lens.json': JSON.stringify({ input: [3, 7, 4] }),
    });
  });

  after(() => {
    stopKeptBridges();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('AdaptiveAvgPool2d((3, 5)) of a 7×4 map: the logits, and Grad-CAM at the conv before it (gradients through the pooling)', async () => {
    const { child, answers } = startReference([{ name: 'pooled', folder: dir, layer: 'conv', input: [3, 7, 4] }], cacheDir);
    const model = await loadPytorchModel(path.join(dir, 'model.py'), { cacheDir });
    try {
      assert.deepStrictEqual(
        ['uneven', 'even', 'whole'].map((name) => model.summary.layers.find((l) => l.name === name)?.outputShape),
        [[null, 3, 5, 4], [null, 7, 2, 4], [null, 1, 1, 4]],
        'each pool\'s output (NHWC, as the engine holds it)',
      );
      const errors = await compare(model, await (answers.get('pooled') as Promise<Reference>), [3, 7, 4]);
      const [run] = errors.runs;
      assert.ok(run.layerCamScale > 0, 'a map that is not all zeros');
      assert.ok(errors.logitError <= LOGIT_TOLERANCE, `logits differ by ${errors.logitError} of the largest`);
      assert.ok(run.camError <= CAM_TOLERANCE && run.layerCamError <= CAM_TOLERANCE, `Grad-CAM differs by ${run.camError}, the layer map by ${run.layerCamError}`);
    } finally {
      model.dispose();
      child.kill();
    }
  });
});
