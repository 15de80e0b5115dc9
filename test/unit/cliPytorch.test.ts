// `cnn-lens` on a PyTorch model.py as its users run it: the bundled CLI on the SimpleCNN sample
// (Grad-CAM at conv2 by default, layers with their module names and PyTorch shapes, filters in
// PyTorch's order), a class picked with model.py:ClassName, --checkpoint, and a broken model.py
// reported as file:line with exit code 1. Exports are kept in a temporary cache (XDG_CACHE_HOME).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureCliBuilt, REPO_ROOT, runCli } from './fixtures/cliRun';
import { modelFolder, removeFolders, requireTorch } from './fixtures/pytorch';

const SAMPLE_DIR = path.join(REPO_ROOT, 'samples', 'workspace', 'pytorch');
const MODEL = path.join(SAMPLE_DIR, 'model.py');
const IMAGE = path.join(SAMPLE_DIR, 'images', 'sneaker.png');

describe('cnn-lens on a PyTorch model.py', function () {
  this.timeout(180_000);
  const folders: string[] = [];
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-cli-torch-'));
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  const cli = (args: string[]) => runCli(args, env, 120_000);

  before(() => {
    requireTorch();
    ensureCliBuilt();
  });
  after(() => {
    removeFolders(folders);
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('gradcam: conv2 by default, the label from labels.txt, the input size it found', () => {
    const run = cli(['gradcam', IMAGE, '--model', MODEL, '--json', '-', '--out', path.join(cache, 'o.png')]);
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { layer: string; className: string; cam: { width: number; height: number } };
    assert.equal(json.layer, 'conv2');
    assert.equal(json.className, 'Sneaker');
    assert.deepEqual([json.cam.width, json.cam.height], [32, 32]);
    const text = cli(['gradcam', IMAGE, '--model', MODEL, '--layer', 'pool (call 2)', '--out', path.join(cache, 'o.png')]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^PyTorch: SimpleCNN\(\), input 3×32×32 \(found by trial; set "input" in cnn-lens\.json to choose it\)$/m);
    assert.match(text.stdout, /gradcam of "Sneaker" \(class 7, score [\d.]+\) at layer "pool \(call 2\)"/);
  });

  it('layers: module names, PyTorch shapes and parameter counts, the weights and the input in the format line', () => {
    const run = cli(['layers', '--model', MODEL]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\* conv2\s+Conv2d\s+1×32×16×16\s+4,640$/m);
    assert.match(run.stdout, /^ {2}pool \(call 2\)\s+MaxPool2d\s+1×32×8×8\s+0$/m);
    assert.match(run.stdout, /^ {2}fc1\s+Linear\s+1×10\s+20,490$/m);
    assert.match(run.stdout, /9 layers, 25,578 parameters, input 1×3×32×32, 10 classes/);
    assert.match(run.stdout, /^Format: PyTorch \(SimpleCNN\(\) from model\.py, weights simple_cnn\.pth \(a state_dict\); input 3×32×32/m);
  });

  it('filters: conv1 in PyTorch\'s (out, in, kh, kw) order', () => {
    const run = cli(['filters', '--model', MODEL, '--layer', 'conv1', '--json', '-', '--out', path.join(cache, 'f.png')]);
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { layout: string; shape: number[]; filters: unknown[] };
    assert.equal(json.layout, 'OIHW');
    assert.deepEqual(json.shape, [16, 3, 3, 3]);
    assert.equal(json.filters.length, 16);
  });

  it('model.py:ClassName picks a class, --checkpoint gives the weights, and an untrained model says so', () => {
    const dir = modelFolder({
      'nets.py': fs.readFileSync(MODEL, 'utf8') + '\n\nclass Unused(nn.Module):\n    pass\n',
      'labels.txt': fs.readFileSync(path.join(SAMPLE_DIR, 'labels.txt'), 'utf8'),
    });
    folders.push(dir);
    const ambiguous = cli(['layers', '--model', path.join(dir, 'nets.py')]);
    assert.equal(ambiguous.status, 1);
    assert.match(ambiguous.stderr, /defines 2 nn\.Module classes \(SimpleCNN, Unused\); say which one is the model/);
    const untrained = cli(['layers', '--model', `${path.join(dir, 'nets.py')}:SimpleCNN`]);
    assert.equal(untrained.status, 0, untrained.stderr);
    assert.match(untrained.stdout, /^Untrained weights: no checkpoint was found for nets\.py/m);
    const trained = cli(['gradcam', IMAGE, '--model', `${path.join(dir, 'nets.py')}:SimpleCNN`, '--checkpoint', path.join(SAMPLE_DIR, 'simple_cnn.pth'), '--json', '-', '--out', path.join(cache, 'o.png')]);
    assert.equal(trained.status, 0, trained.stderr);
    assert.equal((JSON.parse(trained.stdout) as { className: string }).className, 'Sneaker');
  });

  it('a broken model.py: exit 1 with file:line, and --checkpoint on other formats is refused', () => {
    const dir = modelFolder({ 'model.py': 'import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 4, kernel=3)\n' });
    folders.push(dir);
    const run = cli(['layers', '--model', path.join(dir, 'model.py')]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, new RegExp(`^cnn-lens: ${path.join(dir, 'model.py').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7: TypeError: .*kernel`, 'm'));
    const onnx = cli(['layers', '--model', path.join(REPO_ROOT, 'test', 'fixtures', 'onnx', 'tiny_cnn', 'tiny_cnn.onnx'), '--checkpoint', 'x.pth']);
    assert.equal(onnx.status, 1);
    assert.match(onnx.stderr, /--checkpoint applies to PyTorch models/);
  });
});
