// The bridge to the user's PyTorch (python/cnn_lens_torch.py + src/engine/models/pytorch/), run for real
// with Debian's python3-torch on model.py files written here: every checkpoint form gives PyTorch's
// own logits, mismatched checkpoints and broken sources are errors naming the layers or the file
// and line, the model class and input size are found as documented, and the interpreter search
// skips a Python without torch.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { explain, type LoadedModel } from '../../src/engine/index';
import { loadPytorchModel, type PytorchLoadOptions } from '../../src/engine/models/pytorch/loadPytorch';
import { pythonCandidates, runBridge } from '../../src/engine/models/pytorch/python';
import * as tf from '../../src/engine/tf';
import { untrainedNotice } from '../../src/shared/modelNotes';
import { modelFolder, patternImage, patternInputPython, removeFolders, requireTorch, runTorch, TORCH_PYTHON } from './fixtures/pytorch';

/** A small classifier as tutorials write it: conv, batch norm, F.relu, a pool, x.view and a linear head. */
const TINY = `import torch
import torch.nn as nn
import torch.nn.functional as F


class Tiny(nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 16 * 16, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.fc(x.view(-1, 4 * 16 * 16))
`;

/** Builds Tiny with seeded weights and batch-norm statistics, writes PyTorch's logits for the test image. */
const SAVE_TINY = (save: string) => `
import json, torch
from model import Tiny
torch.manual_seed(3)
model = Tiny()
with torch.no_grad():
    model.bn.running_mean.uniform_(-0.5, 0.5)
    model.bn.running_var.uniform_(0.5, 2.0)
    model.bn.weight.uniform_(0.5, 1.5)
    model.bn.bias.uniform_(-0.2, 0.2)
model.eval()
${patternInputPython(3, 32, 32)}
json.dump(model(x)[0].tolist(), open("logits.json", "w"))
sd = model.state_dict()
${save}
`;

const folders: string[] = [];
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-torch-cache-'));
const options: PytorchLoadOptions = { cacheDir };

/** The engine's pre-softmax score per class for the test image. */
async function engineLogits(model: LoadedModel): Promise<number[]> {
  const [height, width] = model.summary.inputShape;
  const result = await explain(model, patternImage(width, height), { method: 'gradcam', topK: model.summary.numClasses });
  const scores: number[] = [];
  result.predictions.forEach((p) => (scores[p.index] = p.score));
  return scores;
}

function assertClose(actual: number[], expected: number[], what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: class count`);
  const scale = Math.max(1, ...expected.map(Math.abs));
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) <= 1e-4 * scale, `${what}: class ${i}: ${value} vs PyTorch ${expected[i]}`));
}

async function rejects(load: Promise<LoadedModel>, pattern: RegExp): Promise<void> {
  await assert.rejects(load, (error: Error) => {
    assert.match(error.message, pattern);
    return true;
  });
}

describe('PyTorch bridge: model.py + checkpoint through the user\'s Python', function () {
  this.timeout(180_000);

  before(async () => {
    requireTorch();
    await initBackend('cpu');
  });
  after(() => {
    removeFolders(folders);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  const tinyWith = (save: string): string => {
    const dir = modelFolder({ 'model.py': TINY });
    folders.push(dir);
    runTorch(dir, SAVE_TINY(save));
    return dir;
  };

  const forms: [string, string, RegExp][] = [
    ['a plain state_dict beside model.py (same stem)', 'torch.save(sd, "model.pth")', /^a state_dict$/],
    ['{"state_dict": …} (Lightning-style), the only .ckpt in the folder', 'torch.save({"state_dict": sd, "epoch": 4}, "last.ckpt")', /^a state_dict under "state_dict"$/],
    ['{"model_state_dict": …, "optimizer_state_dict": …}', 'torch.save({"model_state_dict": sd, "optimizer_state_dict": {"state": {}, "param_groups": []}, "epoch": 9}, "run.pt")', /under "model_state_dict"/],
    ['{"model": …}', 'torch.save({"model": sd}, "weights.pth")', /under "model"/],
    ['DataParallel keys (module.)', 'torch.save({"module." + k: v for k, v in sd.items()}, "dp.pth")', /a state_dict, prefix module\. removed/],
    ['a whole pickled model (torch.save(model))', 'torch.save(model, "whole.pt")', /whole pickled model/],
  ];
  for (const [what, save, form] of forms) {
    it(`loads ${what} and gives PyTorch's logits`, async () => {
      const dir = tinyWith(save);
      const model = await loadPytorchModel(path.join(dir, 'model.py'), options);
      try {
        assert.match(model.summary.pytorch?.checkpoint?.form ?? '', form);
        assertClose(await engineLogits(model), JSON.parse(fs.readFileSync(path.join(dir, 'logits.json'), 'utf8')), what);
        assert.strictEqual(model.summary.format, 'pytorch');
        assert.strictEqual(untrainedNotice(model.summary), undefined);
      } finally {
        model.dispose();
      }
    });
  }

  it('names the layers as written, counts parameters as PyTorch does, and reports the size it found', async () => {
    const dir = tinyWith('torch.save(sd, "model.pth")');
    const model = await loadPytorchModel(path.join(dir, 'model.py'), options);
    try {
      const { summary } = model;
      assert.deepStrictEqual(
        summary.layers.map((l) => `${l.name}:${l.className}:${l.params}`),
        ['input:InputLayer:0', 'conv:Conv2d:112', 'bn:BatchNorm2d:8', 'relu after bn:Relu:0', 'pool:MaxPool2d:0', 'reshape after pool:Reshape:0', 'fc:Linear:5125'],
      );
      // conv 4·3·3·3 + 4, bn 4 + 4 (running statistics are buffers), fc 1024·5 + 5.
      assert.strictEqual(summary.totalParams, 112 + 8 + 5125);
      assert.strictEqual(summary.defaultCamLayer, 'conv');
      assert.strictEqual(summary.shapeOrder, 'NCHW');
      assert.deepStrictEqual(summary.pytorch?.input, [3, 32, 32]);
      assert.strictEqual(summary.pytorch?.inputSource, 'trial');
      assert.strictEqual(summary.pytorch?.flexible, false);
      assert.match(summary.formatDetail ?? '', /^Tiny\(\) from model\.py, weights model\.pth \(a state_dict\); input 3×32×32 \(found by trial; set "input" in cnn-lens\.json/);
      assert.deepStrictEqual(summary.inputShape, [32, 32, 3]);
      assert.ok(summary.sourceFiles?.includes(path.join(dir, 'model.pth')), 'live refresh follows the checkpoint');
    } finally {
      model.dispose();
    }
  });

  it('runs with untrained (seeded) weights when there is no checkpoint, and says so', async () => {
    const dir = modelFolder({ 'model.py': TINY });
    folders.push(dir);
    const first = await loadPytorchModel(path.join(dir, 'model.py'), { ...options, cacheDir: path.join(cacheDir, 'a') });
    const second = await loadPytorchModel(path.join(dir, 'model.py'), { ...options, cacheDir: path.join(cacheDir, 'b') });
    try {
      assert.strictEqual(first.summary.pytorch?.checkpoint, null);
      assert.match(first.summary.formatDetail ?? '', /untrained weights/);
      assert.match(untrainedNotice(first.summary) ?? '', /^Untrained weights: no checkpoint was found for model\.py.*model\.pth/);
      assert.deepStrictEqual(await engineLogits(first), await engineLogits(second), 'two exports of the untrained model agree');
    } finally {
      first.dispose();
      second.dispose();
    }
  });

  describe('checkpoints that do not fit are errors naming the layers', () => {
    it('missing, unexpected and wrong-shape weights, with both shapes', async () => {
      const dir = tinyWith(`sd = dict(sd); del sd["bn.weight"]; sd["head.weight"] = torch.zeros(2); sd["fc.weight"] = torch.zeros(3, 1024)
torch.save(sd, "model.pth")`);
      await rejects(
        loadPytorchModel(path.join(dir, 'model.py'), options),
        /model\.pth does not fit the model built by Tiny\(\): missing bn\.weight; unexpected head\.weight; wrong shape fc\.weight: checkpoint \[3, 1024\], model \[5, 1024\]\./,
      );
    });

    it('a file that is no checkpoint', async () => {
      const dir = modelFolder({ 'model.py': TINY, 'model.pth': 'not a checkpoint' });
      folders.push(dir);
      await rejects(loadPytorchModel(path.join(dir, 'model.py'), options), /model\.pth: torch\.load cannot read it .*is it a PyTorch checkpoint/);
    });

    it('--checkpoint that does not exist', async () => {
      const dir = modelFolder({ 'model.py': TINY });
      folders.push(dir);
      await rejects(loadPytorchModel(path.join(dir, 'model.py'), { ...options, checkpoint: path.join(dir, 'nope.pth') }), /Checkpoint not found: .*nope\.pth \(named by --checkpoint\)/);
    });
  });

  describe('errors in the user\'s code point at their file and line', () => {
    it('a syntax error', async () => {
      const dir = modelFolder({ 'model.py': 'import torch\nimport torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self)\n        super().__init__()\n' });
      folders.push(dir);
      await rejects(loadPytorchModel(path.join(dir, 'model.py'), options), new RegExp(`^${escape(path.join(dir, 'model.py'))}:5: SyntaxError: `));
    });

    it('an exception in __init__, in a module imported from model.py', async () => {
      const dir = modelFolder({
        'blocks.py': 'import torch.nn as nn\n\n\ndef make_block(channels):\n    raise ValueError(f"no block for {channels} channels")\n',
        'model.py': 'import torch.nn as nn\nfrom blocks import make_block\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.block = make_block(7)\n',
      });
      folders.push(dir);
      await rejects(
        loadPytorchModel(path.join(dir, 'model.py'), options),
        new RegExp(`^${escape(path.join(dir, 'blocks.py'))}:5: ValueError: no block for 7 channels \\(building the model with Net\\(\\)\\)`),
      );
    });

    it('an exception in forward at every size, with the sizes tried', async () => {
      const dir = modelFolder({
        'model.py': 'import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x.reshape(3, 7)\n',
      });
      folders.push(dir);
      await rejects(
        loadPytorchModel(path.join(dir, 'model.py'), options),
        /^No input size gives one row of class scores for one image \(3×224×224: .*model\.py:7: RuntimeError: shape '\[3, 7\]' is invalid.*Set the size the model was trained at as "input"/,
      );
    });

    it('an operator torch.onnx.export cannot export: the file, the operator and PyTorch\'s message', async () => {
      const dir = modelFolder({ 'model.py': TINY.replace('x = self.pool(F.relu(self.bn(self.conv(x))))', 'x = self.pool(torch.fft.fft2(self.conv(x)).abs())') });
      folders.push(dir);
      await rejects(
        loadPytorchModel(path.join(dir, 'model.py'), options),
        new RegExp(`^${escape(path.join(dir, 'model.py'))}: the operator aten::fft_\\w+ cannot be exported to ONNX opset 13: Exporting the operator 'aten::fft_\\w+'`),
      );
    });

    it('a class that needs arguments, with the two ways to give them', async () => {
      const dir = modelFolder({ 'model.py': TINY.replace('num_classes=5', 'num_classes') });
      folders.push(dir);
      await rejects(loadPytorchModel(path.join(dir, 'model.py'), options), /Tiny\(\) cannot be called without arguments .*add a create_model\(\) function .* or "args"\/"kwargs" for it in cnn-lens\.json/);
      fs.writeFileSync(path.join(dir, 'cnn-lens.json'), JSON.stringify({ kwargs: { num_classes: 3 } }));
      const model = await loadPytorchModel(path.join(dir, 'model.py'), options);
      assert.strictEqual(model.summary.numClasses, 3);
      model.dispose();
    });
  });

  describe('which class, which size', () => {
    const TWO = `${TINY}

class Other(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.fc = nn.Linear(2 * 26 * 26, 2)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))
`;
    it('two model classes: an error naming them and how to pick one; model.py:Other or "class" picks it', async () => {
      const dir = modelFolder({ 'model.py': TWO });
      folders.push(dir);
      await rejects(loadPytorchModel(path.join(dir, 'model.py'), options), /defines 2 nn\.Module classes \(Tiny, Other\); say which one is the model: model\.py:Other as the model path .* or "class": "Other" in cnn-lens\.json/);
      const picked = await loadPytorchModel(`${path.join(dir, 'model.py')}:Other`, options);
      // At 3×224×224 the conv gives 2×222×222 values, not 2×26×26: the linear layer refuses it; 32 too; 28 fits.
      assert.deepStrictEqual(picked.summary.pytorch?.input, [3, 28, 28]);
      assert.strictEqual(picked.summary.numClasses, 2);
      picked.dispose();
      fs.writeFileSync(path.join(dir, 'cnn-lens.json'), JSON.stringify({ class: 'Tiny', input: [3, 32, 32] }));
      const fromSidecar = await loadPytorchModel(path.join(dir, 'model.py'), options);
      assert.strictEqual(fromSidecar.summary.pytorch?.builtWith, 'Tiny()');
      assert.strictEqual(fromSidecar.summary.pytorch?.inputSource, 'sidecar');
      fromSidecar.dispose();
    });

    it('a create_model() factory, and a grayscale model found at 1×28×28', async () => {
      const dir = modelFolder({
        'net.py': `import torch.nn as nn


def create_model():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 28 * 28, 10))
`,
      });
      folders.push(dir);
      const model = await loadPytorchModel(path.join(dir, 'net.py'), options);
      try {
        assert.strictEqual(model.summary.pytorch?.builtWith, 'create_model()');
        assert.deepStrictEqual(model.summary.pytorch?.input, [1, 28, 28]);
        // A Sequential model's modules are its indices, as named_modules() gives them.
        assert.deepStrictEqual(
          model.summary.layers.map((l) => l.name),
          ['input', '0', '1', '2', '3'],
        );
        assert.strictEqual(model.summary.defaultCamLayer, '0');
      } finally {
        model.dispose();
      }
    });

    it('a size set in cnn-lens.json that the model does not take is an error naming it', async () => {
      const dir = tinyWith('torch.save(sd, "model.pth")');
      fs.writeFileSync(path.join(dir, 'cnn-lens.json'), JSON.stringify({ input: [3, 64, 64] }));
      await rejects(
        loadPytorchModel(path.join(dir, 'model.py'), options),
        /The model does not take the input size 3×64×64 set in .*cnn-lens\.json: turns one image into 4 rows of scores\./,
      );
    });
  });

  describe('torch files given as the model', () => {
    it('a state_dict .pth is paired with the .py beside it', async () => {
      const dir = tinyWith('torch.save(sd, "tiny_weights.pth")');
      const model = await loadPytorchModel(path.join(dir, 'tiny_weights.pth'), options);
      try {
        assert.strictEqual(model.summary.pytorch?.source, path.join(dir, 'model.py'));
        assertClose(await engineLogits(model), JSON.parse(fs.readFileSync(path.join(dir, 'logits.json'), 'utf8')), 'paired');
      } finally {
        model.dispose();
      }
    });

    it('a state_dict alone says what to add', async () => {
      const dir = tinyWith('torch.save(sd, "alone.pth")');
      fs.rmSync(path.join(dir, 'model.py'));
      await rejects(loadPytorchModel(path.join(dir, 'alone.pth'), options), /alone\.pth holds only weights \(a state_dict\), not the model's structure\. Put the \.py file that defines the model beside it/);
    });

    it('a whole model pickled by a training script (class in __main__) runs on its own, its class found beside it', async () => {
      const dir = modelFolder({
        'train.py': `${TINY}

if __name__ == "__main__":
${SAVE_TINY('torch.save(model, "trained.pt")').split('\n').map((line) => `    ${line.replace('from model import Tiny', '')}`).join('\n')}
`,
      });
      folders.push(dir);
      runTorch(dir, 'import runpy; runpy.run_path("train.py", run_name="__main__")');
      const model = await loadPytorchModel(path.join(dir, 'trained.pt'), options);
      try {
        assert.match(model.summary.pytorch?.builtWith ?? '', /whole pickled model/);
        assertClose(await engineLogits(model), JSON.parse(fs.readFileSync(path.join(dir, 'logits.json'), 'utf8')), 'pickled in __main__');
      } finally {
        model.dispose();
      }
    });

    it('a TorchScript file runs on its own, with PyTorch\'s logits', async () => {
      const dir = tinyWith('torch.jit.script(model).save("scripted.pt")');
      fs.rmSync(path.join(dir, 'model.py'));
      const model = await loadPytorchModel(path.join(dir, 'scripted.pt'), options);
      try {
        assert.match(model.summary.pytorch?.builtWith ?? '', /TorchScript/);
        // No hooks on a scripted model: layers are named from their weights and the exporter's scopes.
        const names = model.summary.layers.map((l) => l.name);
        assert.ok(['conv', 'pool', 'fc'].every((name) => names.includes(name)), names.join(', '));
        assert.strictEqual(model.summary.layers.find((l) => l.name === 'fc')?.className, 'Linear');
        assertClose(await engineLogits(model), JSON.parse(fs.readFileSync(path.join(dir, 'logits.json'), 'utf8')), 'TorchScript');
      } finally {
        model.dispose();
      }
    });
  });

  it('keeps the export: an unchanged model (even saved again) loads without Python, an edited one is exported again', async () => {
    const dir = tinyWith('torch.save(sd, "model.pth")');
    const lines: string[] = [];
    const load = () => loadPytorchModel(path.join(dir, 'model.py'), { ...options, log: (line) => lines.push(line) });
    (await load()).dispose();
    (await load()).dispose();
    assert.strictEqual(lines.filter((l) => /export kept/.test(l)).length, 1, lines.join('\n'));
    // Saved again with the same text (a new modification time): still the kept export.
    fs.writeFileSync(path.join(dir, 'model.py'), fs.readFileSync(path.join(dir, 'model.py')));
    (await load()).dispose();
    assert.strictEqual(lines.filter((l) => /export kept/.test(l)).length, 2, 'the same text keeps the export');
    fs.appendFileSync(path.join(dir, 'model.py'), '\n# edited\n');
    (await load()).dispose();
    assert.strictEqual(lines.filter((l) => /export kept/.test(l)).length, 2, 'the edit is exported again');
  });

  describe('which Python', () => {
    it('skips a python3 on the PATH that has no torch and uses the next', async () => {
      const fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-fake-python-'));
      folders.push(fakeBin);
      // A Python without site-packages: it runs, but cannot import torch.
      fs.writeFileSync(path.join(fakeBin, 'python3'), `#!/bin/sh\nexec ${TORCH_PYTHON} -S "$@"\n`, { mode: 0o755 });
      // A shim whose interpreter is gone (pyenv without its version): it exits before Python starts.
      const brokenBin = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-broken-python-'));
      folders.push(brokenBin);
      fs.writeFileSync(path.join(brokenBin, 'python3'), '#!/bin/sh\necho "pyenv: python3: command not found" >&2\nexit 127\n', { mode: 0o755 });
      const torchBin = path.dirname(TORCH_PYTHON);
      const env = { PATH: [brokenBin, fakeBin, torchBin].join(path.delimiter) };
      assert.deepStrictEqual(pythonCandidates({}, env).slice(0, 3), [path.join(brokenBin, 'python3'), path.join(fakeBin, 'python3'), path.join(torchBin, 'python3')]);
      const savedPath = process.env.PATH;
      process.env.PATH = env.PATH;
      try {
        const { python, answer } = await runBridge<{ torch: string }>({}, { op: 'probe' });
        assert.strictEqual(python, path.join(torchBin, 'python3'));
        assert.match(answer.torch, /^\d+\.\d+/);
      } finally {
        process.env.PATH = savedPath;
      }
      // Chosen by the user: no fallback, and the message says where the choice came from.
      await assert.rejects(
        runBridge({ path: path.join(fakeBin, 'python3'), source: 'the "cnnLens.pythonPath" setting' }, { op: 'probe' }),
        /cannot import torch .*This Python comes from the "cnnLens\.pythonPath" setting: install PyTorch in it/,
      );
      await assert.rejects(runBridge({ path: path.join(fakeBin, 'nope'), source: '--python' }, { op: 'probe' }), /nope \(from --python\) cannot be started \(not found\)/);
    });

    it('no Python at all on the PATH is an error saying how to choose one', async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-no-python-'));
      folders.push(empty);
      const savedPath = process.env.PATH;
      process.env.PATH = empty;
      try {
        await assert.rejects(runBridge({}, { op: 'probe' }), /No Python found: neither python3 nor python is on the PATH.*"cnnLens\.pythonPath"/);
      } finally {
        process.env.PATH = savedPath;
      }
    });
  });

  it('leaves no tensors behind over loads and failed loads', async () => {
    const dir = tinyWith('torch.save(sd, "model.pth")');
    (await loadPytorchModel(path.join(dir, 'model.py'), options)).dispose();
    const before = tf.memory().numTensors;
    (await loadPytorchModel(path.join(dir, 'model.py'), options)).dispose();
    fs.writeFileSync(path.join(dir, 'cnn-lens.json'), JSON.stringify({ input: [3, 64, 64] }));
    await assert.rejects(loadPytorchModel(path.join(dir, 'model.py'), options));
    assert.strictEqual(tf.memory().numTensors, before);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
