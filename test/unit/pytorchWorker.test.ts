// PyTorch models in the engine worker, as the extension drives it: Restricted Mode runs none of the
// user's Python (the gate and the worker's own refusal), a load reports progress and a cancel stops
// the Python process, and a model that takes any size explains each image at the image's own size.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { codeModelGate, UntrustedCodeModelError } from '../../src/host/codeModels/trust';
import type { EngineClient } from '../../src/workerClient/client';
import { engineFromSource } from './fixtures/workerFromSource';
import { modelFolder, removeFolders, requireTorch, runTorch } from './fixtures/pytorch';

/** Fully convolutional: adaptive pooling lets it run at any size. */
const ANY_SIZE = `import torch.nn as nn


class AnySize(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))
`;

/** Python processes running the bridge script below this test process (the engine processes spawn them). */
function bridgeProcesses(): string[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] }));
  const below = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of table) {
      if (below.has(row.ppid) && !below.has(row.pid)) {
        below.add(row.pid);
        grew = true;
      }
    }
  }
  return table.filter((row) => below.has(row.pid) && row.args.includes('cnn_lens_torch.py')).map((row) => `${row.pid} ${row.args}`);
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe('PyTorch models in the engine worker', function () {
  this.timeout(180_000);
  const folders: string[] = [];
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-torch-worker-cache-'));
  let engine: EngineClient | undefined;

  before(() => requireTorch());
  afterEach(() => {
    engine?.dispose();
    engine = undefined;
  });
  after(() => {
    removeFolders(folders);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('Restricted Mode: the gate refuses model.py and .pth with the reason, and the worker runs no Python without allowCode', async () => {
    const refused = codeModelGate('/w/model.py', false);
    assert.strictEqual(refused.allowCode, false);
    assert.ok(refused.refusal instanceof UntrustedCodeModelError);
    assert.match(refused.refusal.message, /^\/w\/model\.py is a PyTorch model: loading it runs this workspace's Python code.*only in a trusted workspace/);
    assert.strictEqual(codeModelGate('/w/simple_cnn.pth', false).allowCode, false);
    assert.strictEqual(codeModelGate('/w/model.py:SimpleCNN', true).allowCode, true);

    // A model.py that would leave a trace if it ran.
    const dir = modelFolder({ 'model.py': `${ANY_SIZE}\nopen("ran.txt", "w").write("the code ran")\n` });
    folders.push(dir);
    engine = engineFromSource({ pytorch: () => ({ exportCacheDir: cacheDir }) });
    await assert.rejects(engine.loadModel(path.join(dir, 'model.py'), { allowCode: false }), /is a PyTorch model: loading it runs its Python code; CNN Lens runs it only when allowed/);
    assert.ok(!fs.existsSync(path.join(dir, 'ran.txt')), 'nothing of the workspace ran');
    const summary = await engine.loadModel(path.join(dir, 'model.py'), { allowCode: true });
    assert.strictEqual(summary.format, 'pytorch');
    assert.ok(fs.existsSync(path.join(dir, 'ran.txt')), 'allowed, the model code runs');
  });

  it('reports progress while Python exports, and a cancel stops the Python process and keeps the worker', async () => {
    const dir = modelFolder({ 'model.py': ANY_SIZE.replace('super().__init__()', 'super().__init__()\n        import time\n        time.sleep(120)') });
    folders.push(dir);
    engine = engineFromSource({ pytorch: () => ({ exportCacheDir: cacheDir }), cancelGraceMs: 10_000 });
    await engine.backendReport();
    const controller = new AbortController();
    const progress: string[] = [];
    const load = engine.loadModel(path.join(dir, 'model.py'), { allowCode: true, signal: controller.signal, onProgress: (p) => progress.push(p.message) });
    assert.ok(await waitFor(() => bridgeProcesses().length === 1, 20_000), 'the bridge runs');
    // The progress event crosses from the worker thread: it may arrive just after the process shows.
    assert.ok(await waitFor(() => progress.length > 0, 5_000), 'progress arrives');
    assert.deepStrictEqual(progress, ['Running model.py with Python and exporting it…']);
    const started = Date.now();
    controller.abort();
    await assert.rejects(load, /[Cc]ancel/);
    assert.ok(await waitFor(() => bridgeProcesses().length === 0, 5_000), 'the Python process is gone');
    assert.ok(Date.now() - started < 5_000);
    assert.strictEqual(engine.workerStarts, 1, 'the worker answered the cancel itself (no restart)');
    await engine.memory(); // and it still answers
  });

  it('live refresh: a checkpoint edit moves the logit by exactly the edit; a syntax error names its line; fixing recovers; 50 refreshes leak no process or tensor', async () => {
    const sample = path.resolve(__dirname, '..', '..', 'samples', 'workspace', 'pytorch');
    const dir = modelFolder({ 'model.py': fs.readFileSync(path.join(sample, 'model.py'), 'utf8') });
    folders.push(dir);
    // 51 checkpoints, made in one Python run (in a subfolder: beside model.py only one may sit): the
    // trained weights with fc1.bias[7] raised by 0.01·k.
    fs.mkdirSync(path.join(dir, 'edits'));
    runTorch(
      dir,
      `import torch
sd = torch.load(${JSON.stringify(path.join(sample, 'simple_cnn.pth'))})
for k in range(51):
    edited = {name: value.clone() for name, value in sd.items()}
    edited["fc1.bias"][7] += 0.01 * k
    torch.save(edited, f"edits/{k}.pt")`,
    );
    const checkpoint = path.join(dir, 'simple_cnn.pth');
    const use = (k: number) => fs.copyFileSync(path.join(dir, 'edits', `${k}.pt`), checkpoint);
    const modelPath = path.join(dir, 'model.py');
    const imagePath = path.join(sample, 'images', 'sneaker.png');
    engine = engineFromSource({ pytorch: () => ({ exportCacheDir: cacheDir }) });
    // As live refresh does after a save: load again, then explain.
    const refresh = async () => {
      await engine!.loadModel(modelPath, { allowCode: true, reload: true });
      return (await engine!.explain({ modelPath, imagePath, request: { method: 'gradcam', classIndex: 7 } })).result.score;
    };
    use(0);
    const base = await refresh();
    use(50);
    assert.ok(Math.abs((await refresh()) - (base + 0.5)) < 1e-5, 'fc1.bias[7] + 0.5 moves the class-7 logit by 0.5');

    const source = fs.readFileSync(modelPath, 'utf8');
    fs.writeFileSync(modelPath, source.replace('self.fc1 = nn.Linear(32 * 8 * 8, 10)', 'self.fc1 = nn.Linear(32 * 8 * 8, 10'));
    await assert.rejects(refresh(), (error: Error) => {
      const line = source.split('\n').findIndex((l) => l.includes('self.fc1 = nn.Linear')) + 1;
      assert.match(error.message, new RegExp(`^${modelPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: SyntaxError: `));
      return true;
    });
    fs.writeFileSync(modelPath, source);
    use(0);
    assert.ok(Math.abs((await refresh()) - base) < 1e-5, 'fixed: the model loads again');

    const memory = (await engine.memory()).numTensors;
    for (let k = 1; k <= 50; k++) {
      use(k);
      const score = await refresh();
      assert.ok(Math.abs(score - (base + 0.01 * k)) < 1e-5, `refresh ${k}`);
      assert.strictEqual(bridgeProcesses().length, 1, `refresh ${k}: one Python process`);
    }
    assert.strictEqual((await engine.memory()).numTensors, memory, 'no tensors left behind by 50 refreshes');
    assert.strictEqual(bridgeProcesses().length, 1, 'one Python kept for the next save');
    engine.dispose();
    assert.ok(await waitFor(() => bridgeProcesses().length === 0, 5_000), 'the worker gone, its Python ends');
  });

  it('a model that takes any size explains each image at the image\'s own size, and keeps one such variant', async () => {
    const dir = modelFolder({ 'model.py': ANY_SIZE });
    folders.push(dir);
    const images = path.resolve(__dirname, '..', '..', 'samples', 'workspace', 'images');
    engine = engineFromSource({ pytorch: () => ({ exportCacheDir: cacheDir }) });
    const modelPath = path.join(dir, 'model.py');
    const summary = await engine.loadModel(modelPath, { allowCode: true });
    assert.deepStrictEqual(summary.pytorch?.input, [3, 224, 224], 'found by trial');
    assert.strictEqual(summary.pytorch?.flexible, true);
    const at64 = await engine.explain({ modelPath, imagePath: path.join(images, 'sneaker-64px.png'), request: { method: 'gradcam' } });
    assert.deepStrictEqual([at64.result.cam.width, at64.result.cam.height], [64, 64], 'the 64×64 image runs at 64×64');
    assert.strictEqual(at64.result.layer, 'features');
    // Another size replaces the variant; the same size again reuses it (no tensors added).
    const at256 = await engine.explain({ modelPath, imagePath: path.join(images, 'sample.png'), request: { method: 'gradcam' } });
    assert.deepStrictEqual([at256.result.cam.width, at256.result.cam.height], [256, 256]);
    const memory = await engine.memory();
    await engine.explain({ modelPath, imagePath: path.join(images, 'sample.png'), request: { method: 'gradcam', classIndex: 1 } });
    await engine.explain({ modelPath, imagePath: path.join(images, 'sneaker-64px.png'), request: { method: 'gradcam' } });
    await engine.explain({ modelPath, imagePath: path.join(images, 'sample.png'), request: { method: 'gradcam' } });
    assert.strictEqual((await engine.memory()).numTensors, memory.numTensors, 'one variant kept: switching sizes frees the last');
  });
});
