// PyTorch models whose forward() returns a tuple (a multi-head model) or one logit (a binary
// classifier trained with BCEWithLogitsLoss), run for real through the bridge with Debian's
// python3-torch: each output is explained with PyTorch's own numbers (an age value, a sigmoid
// head seen through to its logit z, three race logits), and cnn-lens.json "output" makes a
// logit output binary.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { explain } from '../../src/engine/index';
import { loadPytorchModel, type PytorchLoadOptions } from '../../src/engine/models/pytorch/loadPytorch';
import { modelFolder, patternImage, patternInputPython, removeFolders, requireTorch, runTorch } from './fixtures/pytorch';

const HEADS = `import torch
import torch.nn as nn
import torch.nn.functional as F


class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.age = nn.Linear(4, 1)
        self.gender = nn.Linear(4, 1)
        self.race = nn.Linear(4, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x))).flatten(1)
        return self.age(x), torch.sigmoid(self.gender(x)), self.race(x)
`;

const SAVE = `
import json, torch
from model import Heads
torch.manual_seed(5)
model = Heads().eval()
${patternInputPython(3, 32, 32)}
with torch.no_grad():
    features = model.pool(torch.relu(model.conv(x))).flatten(1)
    age, z, race = model.age(features), model.gender(features), model.race(features)
json.dump({"age": age[0, 0].item(), "z": z[0, 0].item(), "race": race[0].tolist()}, open("expected.json", "w"))
torch.save(model.state_dict(), "model.pth")
`;

describe('PyTorch models with several outputs or one logit (the bridge, for real)', function () {
  this.timeout(180_000);
  const folders: string[] = [];
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-torch-outputs-cache-'));
  const options: PytorchLoadOptions = { cacheDir };
  const image = patternImage(32, 32);

  before(async () => {
    requireTorch();
    await initBackend('cpu');
  });
  after(() => {
    removeFolders(folders);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('explains each output of a tuple, named output_0, output_1, output_2, with PyTorch’s numbers', async () => {
    const dir = modelFolder({ 'model.py': HEADS, 'cnn-lens.json': JSON.stringify({ input: [3, 32, 32] }) });
    folders.push(dir);
    runTorch(dir, SAVE);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { age: number; z: number; race: number[] };
    const model = await loadPytorchModel(path.join(dir, 'model.py'), options);
    try {
      assert.deepStrictEqual(
        model.summary.outputs.map((o) => [o.name, o.kind]),
        [
          ['output_0', 'regression'],
          ['output_1', 'binary'],
          ['output_2', 'classes'],
        ],
      );
      const age = await explain(model, image, { method: 'gradcam', layer: 'conv' });
      assert.ok(Math.abs(age.score - expected.age) < 1e-4, `age ${age.score} vs PyTorch ${expected.age}`);
      const gender = await explain(model, image, { method: 'gradcam', layer: 'conv', output: 'output_1', classIndex: 1 });
      assert.ok(Math.abs(gender.score - expected.z) < 1e-4, `+z ${gender.score} vs PyTorch's logit ${expected.z}`);
      const race = await explain(model, image, { method: 'gradcam', layer: 'conv', output: 2, topK: 3 });
      race.predictions.forEach((p) => assert.ok(Math.abs(p.score - expected.race[p.index]) < 1e-4, `race ${p.index}`));
    } finally {
      model.dispose();
    }
  });

  it('makes a one-logit output binary when cnn-lens.json says so (a BCEWithLogitsLoss model)', async () => {
    const source = HEADS.replace('return self.age(x), torch.sigmoid(self.gender(x)), self.race(x)', 'return self.gender(x)');
    const dir = modelFolder({ 'model.py': source, 'cnn-lens.json': JSON.stringify({ input: [3, 32, 32], output: { kind: 'binary' } }) });
    folders.push(dir);
    runTorch(dir, SAVE);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { z: number };
    const model = await loadPytorchModel(path.join(dir, 'model.py'), options);
    try {
      assert.deepStrictEqual([model.summary.outputs[0].name, model.summary.outputs[0].kind, model.summary.outputs[0].kindSource], ['scores', 'binary', 'sidecar']);
      const result = await explain(model, image, { method: 'gradcam', layer: 'conv', classIndex: 0 });
      assert.ok(Math.abs(result.score + expected.z) < 1e-4, `−z ${result.score} vs PyTorch ${-expected.z}`);
      const side = result.predictions.find((p) => p.index === 1);
      assert.ok(side && Math.abs((side.probability as number) - 1 / (1 + Math.exp(-expected.z))) < 1e-5);
    } finally {
      model.dispose();
    }
  });
});
