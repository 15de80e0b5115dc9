// How long a PyTorch user waits, through the engine worker as the extension drives it: the first
// open of a model.py (a new worker, Python started cold, no kept export) until its Grad-CAM, and a
// save of model.py (its text changes, so it is exported again by the Python kept alive) until the
// refreshed Grad-CAM. The extension adds its 0.4 s settle time (live refresh waits for a multi-file
// save to finish) to the latter; both figures are reported. SimpleCNN (the sample) and torchvision's
// resnet18 (seeded weights, a 224×224 image, so it runs at one size).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_SETTLE_MS } from '../../src/host/panel/modelWatcher';
import { EngineClient } from '../../src/workerClient/client';

const ROOT = path.resolve(__dirname, '..', '..');

export interface PytorchRefreshTimes {
  model: string;
  /** New worker, cold Python, no kept export: loadModel + Grad-CAM (ms). */
  firstOpen: number;
  /** Median over the saves: loadModel(reload) + Grad-CAM after model.py changed (ms). */
  save: number;
  /** `save` plus the extension's settle time. */
  saveWithSettle: number;
}

interface Case {
  name: string;
  files: (dir: string) => void;
  image: string;
}

const SAMPLE = path.join(ROOT, 'samples', 'workspace', 'pytorch');

const CASES: Case[] = [
  {
    name: 'SimpleCNN',
    files: (dir) => {
      for (const file of ['model.py', 'simple_cnn.pth', 'labels.txt']) {
        fs.copyFileSync(path.join(SAMPLE, file), path.join(dir, file));
      }
    },
    image: path.join(SAMPLE, 'images', 'sneaker.png'),
  },
  {
    name: 'resnet18',
    files: (dir) => fs.writeFileSync(path.join(dir, 'model.py'), 'import torchvision\n\n\ndef create_model():\n    return torchvision.models.resnet18()\n'),
    image: '', // written at 224×224 below
  },
];

async function time<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function benchPytorchRefresh(saves: number): Promise<PytorchRefreshTimes[]> {
  const dist = path.join(ROOT, 'dist');
  const rows: PytorchRefreshTimes[] = [];
  for (const testCase of CASES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-bench-torch-'));
    const cache = path.join(dir, '.exports');
    const client = new EngineClient({
      workerPath: path.join(dist, 'worker.js'),
      wasmDir: dist,
      backend: () => 'auto',
      log: () => undefined,
      allowCode: () => true,
      pytorch: () => ({ exportCacheDir: cache }),
    });
    try {
      testCase.files(dir);
      const image = testCase.image || (await squareImage(path.join(dir, 'image.png'), 224));
      const modelPath = path.join(dir, 'model.py');
      const gradcam = () => client.explain({ modelPath, imagePath: image, request: { method: 'gradcam' } });
      await client.backendReport(); // the worker and tfjs start with the extension's first request of any kind
      const firstOpen = await time(async () => {
        await client.loadModel(modelPath);
        await gradcam();
      });
      const times: number[] = [];
      for (let i = 0; i < saves; i++) {
        fs.appendFileSync(modelPath, `# saved ${i}\n`); // new text: the kept export no longer holds
        times.push(
          await time(async () => {
            await client.loadModel(modelPath, { reload: true });
            await gradcam();
          }),
        );
      }
      const save = [...times].sort((a, b) => a - b)[times.length >> 1];
      rows.push({ model: testCase.name, firstOpen, save, saveWithSettle: save + DEFAULT_SETTLE_MS });
    } finally {
      client.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

/** A 224×224 crop of the sample scene, so resnet18 runs at its trial size. */
async function squareImage(file: string, side: number): Promise<string> {
  const engine = await import('../../src/engine');
  const source = await engine.readImage(path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png'));
  const data = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      data.set(source.data.subarray((y * source.width + x) * 4, (y * source.width + x) * 4 + 4), (y * side + x) * 4);
    }
  }
  fs.writeFileSync(file, await engine.encodePng({ width: side, height: side, data }));
  return file;
}
