// Crafted inputs, a few bytes to a few MB each, that made the engine allocate gigabytes, hang or
// answer nonsense: decompression bombs, topologies that loop or declare absurd sizes, archives and
// HDF5 files declaring more than they hold, NaN weights, degenerate preprocessing. Every row is
// generated here at run time (test/unit/fixtures/craftedFiles.ts) and checked twice:
//  - the bundled CLI (dist/cli.js, as users run it): the exit code, one line on stderr naming the
//    file and what is wrong, no overlay written, within 20 s and 1.5 GB of peak RSS (read from the
//    CLI process itself at exit through a --require'd probe);
//  - the engine in this process: the same refusal as an LensError, then the sample model still
//    loads and explains the sample image (nothing was left broken, e.g. a wasm heap aborted);
//  - the engine process the extension talks to (one EngineClient for the whole table, on wasm): the
//    same refusal with the file's name, its warnings in the log, then the sample model explains in
//    the same client.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LensError } from '../../src/shared/errors';
import { DEFAULT_MAX_IMAGE_PIXELS, explain, initBackend, loadModel, readImage } from '../../src/engine/index';
import type { Preprocessing } from '../../src/shared/types';
import type { EngineClient } from '../../src/workerClient/client';
import { CLI, REPO_ROOT, SAMPLE_IMAGE, SAMPLE_MODEL, ensureCliBuilt } from './fixtures/cliRun';
import { engineFromSource } from './fixtures/workerFromSource';
import * as crafted from './fixtures/craftedFiles';

const TIME_CEILING_MS = 20_000;
const RSS_CEILING_KB = 1.5 * 1024 * 1024;

/** Writes the process's peak RSS (KB) to a file when it exits: loaded into the CLI with --require. */
const RSS_PROBE = `process.on('exit', () => require('fs').writeFileSync(process.env.CNN_LENS_RSS_FILE, String(process.resourceUsage().maxRSS)));\n`;

interface Row {
  name: string;
  /** Writes the crafted file(s) into `dir`; returns the file the messages must name. */
  make(dir: string): string;
  /** 'image': the file is the image explained with the sample model; 'model': the model explaining the sample image. */
  kind: 'image' | 'model';
  /** What the message says besides the file (each must appear). */
  says: (string | RegExp)[];
  /** Default 1 (a refusal). */
  exit?: 0 | 1;
  /** Extra CLI flags and the same for the engine. */
  flags?: string[];
  preprocessing?: Preprocessing;
  /** When the message names something else than the file: a sidecar, a shard, a flag. */
  names?: (dir: string) => string;
}

const inFolder = (name: string) => (dir: string) => path.join(dir, name);
const sidecar = (dir: string, settings: string): string =>
  crafted.sampleModelCopy(dir, () => {
    fs.writeFileSync(path.join(dir, 'cnn-lens.json'), settings);
  });

const writeFile = (file: string, bytes: Uint8Array): string => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
};

const ROWS: Row[] = [
  // Images: refused from the header, before a decoder allocates.
  { name: 'PNG of 12000² (1-bit, 18 KB)', kind: 'image', make: (d) => writeFile(path.join(d, 'bomb.png'), crafted.pngBomb(12000)), says: ['12000×12000', '144.0 megapixels', 'limit of 24.0 megapixels', 'cnnLens.maxImageMegapixels', '--max-image-megapixels'] },
  { name: 'GIF with a 16000² logical screen (35 bytes)', kind: 'image', make: (d) => writeFile(path.join(d, 'screen.gif'), crafted.gifBomb(16000)), says: ['logical screen', '16000×16000', 'cnnLens.maxImageMegapixels', '--max-image-megapixels'] },
  { name: 'GIF with a 16000² frame on a small screen', kind: 'image', make: (d) => writeFile(path.join(d, 'frame.gif'), crafted.gifBomb(16, 16000)), says: ['frame 1', '16000×16000'] },
  { name: 'JPEG whose SOF declares 30000²', kind: 'image', make: (d) => writeFile(path.join(d, 'bomb.jpg'), crafted.jpegBomb(30000, 30000)), says: ['JPEG', '30000×30000', '900.0 megapixels'] },
  { name: 'BMP header of 30000²', kind: 'image', make: (d) => writeFile(path.join(d, 'bomb.bmp'), crafted.bmpBomb(30000, 30000)), says: ['BMP', '30000×30000'] },
  { name: 'WebP (VP8L) header of 16384²', kind: 'image', make: (d) => writeFile(path.join(d, 'bomb.webp'), crafted.webpBomb(16384, 16384)), says: ['WebP', '16384×16384'] },
  { name: 'TIFF page of 30000²', kind: 'image', make: (d) => writeFile(path.join(d, 'bomb.tif'), crafted.tiffBomb(30000, 30000)), says: ['TIFF', '30000×30000'] },

  // Keras
  { name: 'Keras .h5 whose conv1 kernel dataset declares [3, 3, 15000, 15000]', kind: 'model', make: (d) => writeFile(path.join(d, 'huge.h5'), crafted.h5WithHugeDataset()), says: ['layer "conv1"', '[3, 3, 3, 8]', '[3, 3, 15000, 15000]'] },
  { name: 'Keras .h5 whose conv1 kernel data lies past the end of the file', kind: 'model', make: (d) => writeFile(path.join(d, 'past-end.h5'), crafted.h5WithDataPastTheEnd()), says: ['conv1/kernel', '864 bytes', 'past the end of the file'] },
  { name: 'Keras .h5 whose compressed conv1 chunk inflates to 512 MiB (760 KB): inflating stops at the chunk\'s 864 bytes', kind: 'model', make: (d) => crafted.h5Compressed(path.join(d, 'lying.h5'), 'lying'), says: ['weight "model_weights/conv1/conv1/kernel:0"', 'inflates to more than the 868 bytes its chunk shape holds'] },
  { name: 'Keras .h5 with an honestly compressed kernel still loads (the bounded inflate reads real chunks)', kind: 'model', exit: 0, make: (d) => crafted.h5Compressed(path.join(d, 'honest.h5'), 'honest'), says: [] },
  { name: 'Keras .h5 with a NaN weight', kind: 'model', make: (d) => writeFile(path.join(d, 'nan.h5'), crafted.h5WithNanWeight()), says: ['conv1/kernel', 'NaN'] },
  { name: '.keras with a NaN weight', kind: 'model', make: (d) => writeFile(path.join(d, 'nan.keras'), crafted.kerasArchiveWithNanWeight()), says: ['layers/conv1/vars/0', 'NaN'] },
  { name: '.keras holding an unused 3 GB entry (a zip bomb) loads without inflating it', kind: 'model', exit: 0, make: (d) => writeFile(path.join(d, 'bomb.keras'), crafted.kerasZipBomb()), says: [] },
  { name: '.keras whose model.weights.h5 inflates beyond its declared size', kind: 'model', make: (d) => writeFile(path.join(d, 'lying.keras'), crafted.kerasLyingEntry()), says: ['model.weights.h5 inflates to more than', 'bytes it declares'] },

  // TF.js LayersModel topologies
  { name: 'model.json with a cyclic inbound_nodes reference', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json) => {
      crafted.asFunctional(json);
      json.modelTopology.config.layers[1].inbound_nodes = [[['predictions', 0, 0, {}]]];
    }), says: ['cannot be built', 'cycle', '"conv1"', '"predictions"'] },
  { name: 'model.json with a misspelled inbound_nodes reference', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json) => {
      crafted.asFunctional(json);
      json.modelTopology.config.layers[3].inbound_nodes = [[['pool_1', 0, 0, {}]]];
    }), says: ['layer "conv2" reads layer "pool_1", which the model does not have'] },
  { name: 'model.json declaring a 20000² input', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json) => {
      crafted.layerOf(json, 'conv1').config.batch_input_shape = [null, 20000, 20000, 3];
    }), says: ['20000×20000', 'at most 8192 pixels a side'] },
  { name: 'model.json with convolutions of 100000 filters', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json) => {
      crafted.layerOf(json, 'conv3').config.filters = 100000;
      crafted.layerOf(json, 'conv4').config.filters = 100000;
    }), says: ['layer "conv3"', '[3, 3, 16, 100000]', '[3, 3, 16, 48]'] },
  { name: 'model.json whose manifest declares a 15000² weight the shard does not hold', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json) => {
      json.weightsManifest[0].weights[0].shape = [15000, 15000];
    }), names: (d) => path.join(d, 'group1-shard1of1.bin'), says: ['weight shard has 203816 bytes but model.json expects 900202952 bytes'] },
  { name: 'model.json shard with a NaN weight', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json, shard) => {
      shard.writeFloatLE(Number.NaN, crafted.weightOffset(json, 'conv2/kernel') + 8);
      return shard;
    }), says: ['weight "conv2/kernel"', 'NaN at index 2'] },
  { name: 'model.json with a NaN batch-norm variance', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json, shard) => {
      shard.writeFloatLE(Number.NaN, crafted.weightOffset(json, 'bn2/moving_variance') + 4);
      return shard;
    }), says: ['weight "bn2/moving_variance"', 'NaN'] },
  { name: 'finite weights whose scores overflow to Infinity: no NaN%, no overlay', kind: 'model', make: (d) => crafted.sampleModelCopy(d, (json, shard) => {
      const offset = crafted.weightOffset(json, 'predictions/kernel');
      for (let i = 0; i < 96 * 10; i++) shard.writeFloatLE(3e38, offset + 4 * i);
      return shard;
    }), says: ['sample.png', 'class scores are not finite', 'Infinity'] },

  // ONNX and TF.js graph models
  { name: 'ONNX folding a ConstantOfShape of 1×4×10000²', kind: 'model', make: (d) => writeFile(path.join(d, 'fill.onnx'), crafted.onnxConstantOfShape([1, 4, 10000, 10000])), says: ['node "fill" (ConstantOfShape)', '400,000,000 values', '134,217,728'] },
  { name: 'ONNX declaring a 20000² input', kind: 'model', make: (d) => writeFile(path.join(d, 'big-input.onnx'), crafted.onnxClassifier(20000)), says: ['input "x"', '20000×20000'] },
  { name: 'ONNX with a NaN initializer', kind: 'model', make: (d) => writeFile(path.join(d, 'nan.onnx'), crafted.onnxClassifier(8, Array.from({ length: 54 }, (_, i) => (i === 5 ? Number.NaN : 0.1)))), says: ['ONNX tensor "w"', 'NaN at index 5'] },
  { name: 'TF.js graph model with a NaN weight', kind: 'model', make: (d) => crafted.graphModelWithNanWeight(d), says: ['conv1', 'NaN'] },
  { name: 'TF.js graph model declaring a 20000² input', kind: 'model', make: (d) => crafted.graphModelWithInput(d, 20000), says: ['input "input"', '20000×20000'] },

  // Preprocessing and labels
  { name: 'sidecar std 1e-300 (0 in float32)', kind: 'model', make: (d) => sidecar(d, '{"std": [1e-300]}'), names: inFolder('cnn-lens.json'), says: ['"std"', '1e-300', 'float32'] },
  { name: 'sidecar mean 1e308', kind: 'model', make: (d) => sidecar(d, '{"mean": [1e308]}'), names: inFolder('cnn-lens.json'), says: ['"mean"', '1e+308'] },
  { name: 'sidecar negative std', kind: 'model', make: (d) => sidecar(d, '{"std": [0.2, -0.5, 0.2]}'), names: inFolder('cnn-lens.json'), says: ['"std" value 2 (-0.5) must be positive'] },
  { name: 'sidecar mean of 1e999 (Infinity once parsed)', kind: 'model', make: (d) => sidecar(d, '{"mean": [1e999]}'), names: inFolder('cnn-lens.json'), says: ['"mean"', 'Infinity'] },
  { name: '--std 1e-300 on the command line', kind: 'model', make: (d) => crafted.sampleModelCopy(d), flags: ['--std', '1e-300'], preprocessing: { std: [1e-300] }, names: () => '--std', says: ['"std"', 'float32'] },
  { name: 'a labels file with the wrong number of lines is a warning, not silence', kind: 'model', exit: 0, make: (d) => crafted.sampleModelCopy(d, () => {
      fs.writeFileSync(path.join(d, 'labels.txt'), 'cat\ndog\nbird\n');
    }), names: inFolder('labels.txt'), says: ['has 3 labels but the model has 10 classes', 'class N'] },
];

describe('crafted inputs: limits checked before allocating, clear one-line errors', function () {
  let tmp: string;
  let probe: string;
  let client: EngineClient;
  const clientLog: string[] = [];

  before(async function () {
    this.timeout(120_000);
    ensureCliBuilt();
    await initBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-crafted-'));
    probe = path.join(tmp, 'rss-probe.cjs');
    fs.writeFileSync(probe, RSS_PROBE);
    client = engineFromSource({ backend: () => 'wasm', log: (line) => clientLog.push(line) });
  });

  after(function () {
    client?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  ROWS.forEach((row, index) => {
    it(row.name, async function () {
      this.timeout(90_000);
      const dir = path.join(tmp, `row-${index}`);
      fs.mkdirSync(dir, { recursive: true });
      const file = row.make(dir);
      const named = row.names?.(dir) ?? file;
      const image = row.kind === 'image' ? file : SAMPLE_IMAGE;
      const model = row.kind === 'model' ? file : SAMPLE_MODEL;
      const out = path.join(dir, 'overlay.png');

      // The CLI as users run it.
      const rssFile = path.join(dir, 'rss');
      const started = Date.now();
      const run = spawnSync(process.execPath, ['--require', probe, CLI, 'gradcam', image, '--model', model, '--out', out, ...(row.flags ?? [])], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, CNN_LENS_RSS_FILE: rssFile },
      });
      const elapsed = Date.now() - started;
      const expectedExit = row.exit ?? 1;
      assert.equal(run.status, expectedExit, `exit code ${run.status} (signal ${run.signal}); stderr: ${run.stderr}`);
      assert.ok(elapsed < TIME_CEILING_MS, `took ${elapsed} ms`);
      const peakKb = Number(fs.readFileSync(rssFile, 'utf8'));
      assert.ok(peakKb > 0 && peakKb < RSS_CEILING_KB, `peak RSS ${(peakKb / 1024).toFixed(0)} MB`);
      if (expectedExit === 1) {
        const lines = run.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
        assertSays(lines[0], named, row.says);
        assert.ok(!fs.existsSync(out), 'no overlay is written for a refused input');
      } else {
        assert.ok(fs.existsSync(out), 'the overlay is written');
        for (const fragment of row.says) assertSays(run.stderr, named, [fragment]);
      }

      // The engine in this process: the same answer, then a good model still works.
      const outcome = await inProcess(model, image, row.preprocessing);
      if (expectedExit === 1) {
        assert.ok(outcome instanceof LensError, `expected an LensError, got ${String(outcome)}`);
        assert.ok(!outcome.message.includes('\n'), 'one line');
        assertSays(outcome.message, named, row.says);
      } else {
        assert.ok(!(outcome instanceof Error), String(outcome));
        if (row.says.length > 0) {
          assert.ok(outcome.warnings?.some((w) => row.says.every((s) => (typeof s === 'string' ? w.includes(s) : s.test(w))) && w.includes(named)), JSON.stringify(outcome.warnings));
        }
      }
      const good = await loadModel(SAMPLE_MODEL);
      try {
        const result = await explain(good, await readImage(SAMPLE_IMAGE), { method: 'gradcam' });
        assert.equal(result.predictions[0].label, 'Ankle boot');
      } finally {
        good.dispose();
      }

      // The engine process behind the extension: the same answer, then the next request works.
      clientLog.length = 0;
      const request = { modelPath: model, imagePath: image, request: { method: 'gradcam' as const }, ...(row.preprocessing ? { preprocessing: row.preprocessing } : {}) };
      const answered = await client.explain(request).catch((error: unknown) => error as Error);
      if (expectedExit === 1) {
        assert.ok(answered instanceof Error, 'the engine process explained a refused input');
        assert.ok(!answered.message.includes('\n'), 'one line');
        assertSays(answered.message, named, row.says);
      } else {
        assert.ok(!(answered instanceof Error), String(answered));
        const warnings = clientLog.filter((line) => line.includes('warning:'));
        for (const fragment of row.says) assertSays(warnings.join(' '), named, [fragment]);
      }
      const next = await client.explain({ modelPath: SAMPLE_MODEL, imagePath: SAMPLE_IMAGE, request: { method: 'gradcam' } });
      assert.equal(next.result.predictions[0].label, 'Ankle boot');
      await client.disposeModel(model);
    });
  });

  it('maxPixels raises or lowers the image limit; the default is exported', async function () {
    assert.equal(DEFAULT_MAX_IMAGE_PIXELS, 24_000_000);
    const refused = await readImage(SAMPLE_IMAGE, { maxPixels: 256 * 255 }).catch((e: unknown) => e);
    assert.ok(refused instanceof LensError && refused.message.includes(SAMPLE_IMAGE) && refused.message.includes('256×256'), String(refused));
    const image = await readImage(SAMPLE_IMAGE, { maxPixels: 256 * 256 });
    assert.equal(image.width, 256);
  });

  it('--max-image-megapixels sets the CLI\'s limit (the sample image is 256², 0.066 megapixels); a bad value is a usage error', function () {
    this.timeout(60_000);
    const out = path.join(tmp, 'limit.png');
    const run = (megapixels: string) =>
      spawnSync(process.execPath, [CLI, 'gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--out', out, `--max-image-megapixels=${megapixels}`], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    const refused = run('0.065');
    assert.equal(refused.status, 1, refused.stderr);
    assertSays(refused.stderr.trim(), SAMPLE_IMAGE, ['256×256 (0.066 megapixels)', 'limit of 0.065 megapixels']);
    assert.ok(!fs.existsSync(out));
    const allowed = run('0.066');
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.ok(fs.existsSync(out));
    for (const bad of ['0', '-3', 'many', '201']) {
      const usage = run(bad);
      assert.equal(usage.status, 2, `${bad}: ${usage.stderr}`);
      assert.match(usage.stderr, /--max-image-megapixels must be a number above 0 and at most 200/);
    }
  });
});

/** Loads the model and explains the image in this process: the error, or the summary's warnings. */
async function inProcess(modelPath: string, imagePath: string, preprocessing: Preprocessing | undefined): Promise<Error | { warnings?: string[] }> {
  try {
    const image = await readImage(imagePath);
    const model = await loadModel(modelPath, preprocessing ? { preprocessing } : {});
    try {
      await explain(model, image, { method: 'gradcam' });
      return { warnings: model.summary.warnings };
    } finally {
      model.dispose();
    }
  } catch (error) {
    return error as Error;
  }
}

function assertSays(message: string, file: string, fragments: (string | RegExp)[]): void {
  assert.ok(message.includes(file), `"${message}" should name ${file}`);
  for (const fragment of fragments) {
    const found = typeof fragment === 'string' ? message.includes(fragment) : fragment.test(message);
    assert.ok(found, `"${message}" should say ${String(fragment)}`);
  }
}
