// Models defined in code: the sample's sample.model.ts gives exactly model.json's logits and maps;
// a syntax error, an exception in createModel (also in an imported helper), a missing export and a
// wrong return value are reported with the user's file, line and column; nothing leaks on failure;
// the worker refuses code without `allowCode`, and the extension's trust gate decides that flag.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, loadModel, readImage } from '../../src/engine/index';
import { loadCodeModel } from '../../src/engine/models/codeModel';
import { decodeMappings } from '../../src/engine/models/codeModel/sourceMap';
import { codeModelGate, isCodeModelName, UntrustedCodeModelError } from '../../src/host/codeModels/trust';
import { LensError } from '../../src/shared/errors';
import { engineFromSource } from './fixtures/workerFromSource';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE_DIR = path.join(ROOT, 'samples', 'workspace', 'model');
const SAMPLE_CODE = path.join(SAMPLE_DIR, 'sample.model.ts');
const IMAGES = path.join(ROOT, 'samples', 'workspace', 'images');

describe('code models: the sample sample.model.ts', function () {
  this.timeout(180_000);

  before(async function () {
    await initBackend('cpu');
  });

  it('loads and gives model.json\'s layers, logits and Grad-CAM maps', async function () {
    const fromJson = await loadModel(path.join(SAMPLE_DIR, 'model.json'));
    const fromCode = await loadCodeModel(SAMPLE_CODE);
    try {
      assert.deepStrictEqual(
        fromCode.summary.layers.map((l) => [l.name, l.className, l.outputShape.join('x'), l.params]),
        fromJson.summary.layers.map((l) => [l.name, l.className, l.outputShape.join('x'), l.params]),
      );
      assert.strictEqual(fromCode.summary.defaultCamLayer, 'conv4');
      assert.deepStrictEqual(fromCode.summary.labels, fromJson.summary.labels, 'labels.txt beside the file');
      assert.strictEqual(fromCode.summary.path, SAMPLE_CODE);
      assert.deepStrictEqual(
        [...(fromCode.summary.sourceFiles ?? [])].sort(),
        [SAMPLE_CODE, path.join(SAMPLE_DIR, 'model.json'), path.join(SAMPLE_DIR, 'group1-shard1of1.bin')].sort(),
        'live refresh follows the code and the weights it loaded',
      );
      for (const name of ['sample.png', 'trouser.jpg']) {
        const image = await readImage(path.join(IMAGES, name));
        const a = await explain(fromJson, image, { method: 'gradcam', topK: 10 });
        const b = await explain(fromCode, image, { method: 'gradcam', topK: 10 });
        assert.strictEqual(b.classIndex, a.classIndex);
        const scores = (r: typeof a) => r.predictions.sort((x, y) => x.index - y.index).map((p) => p.score);
        scores(b).forEach((score, i) => assert.ok(Math.abs(score - scores(a)[i]) < 1e-5, `${name} logit ${i}: ${score} vs ${scores(a)[i]}`));
        const maxDiff = b.layerCam.data.reduce((m, v, i) => Math.max(m, Math.abs(v - a.layerCam.data[i])), 0);
        assert.ok(maxDiff < 1e-5, `${name}: conv4 maps differ by ${maxDiff}`);
      }
    } finally {
      fromJson.dispose();
      fromCode.dispose();
    }
  });
});

describe('code models: errors name the file, line and column', function () {
  this.timeout(120_000);
  let dir: string;

  before(async function () {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-code-'));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, lines: string[]): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.join('\n'));
    return file;
  }

  async function failure(file: string): Promise<string> {
    const tensors = tf.memory().numTensors;
    try {
      (await loadCodeModel(file)).dispose();
    } catch (error) {
      assert.strictEqual(tf.memory().numTensors, tensors, 'a failed load leaves no tensors behind');
      return error instanceof Error ? error.message : String(error);
    }
    assert.fail(`${file} should not load`);
  }

  const tiny = [
    "import * as tf from '@tensorflow/tfjs';",
    'export function createModel(): tf.LayersModel {',
    '  const model = tf.sequential();',
    "  model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3, name: 'c' }));",
    '  model.add(tf.layers.globalAveragePooling2d({}));',
    '  model.add(tf.layers.dense({ units: 2 }));',
    '  return model;',
    '}',
  ];

  it('a well-formed file loads (the control for the cases below)', async function () {
    const loaded = await loadCodeModel(write('ok.model.ts', tiny));
    assert.deepStrictEqual(loaded.summary.inputShape, [8, 8, 3]);
    assert.strictEqual(loaded.summary.numClasses, 2);
    loaded.dispose();
  });

  it('a syntax error: file:line:column from esbuild', async function () {
    const lines = [...tiny];
    lines[5] = '  model.add(tf.layers.dense({ units: 2 ));'; // line 6: `)` where `}` belongs
    const file = write('syntax.model.ts', lines);
    const message = await failure(file);
    assert.match(message, new RegExp(`^${escape(file)}:6:\\d+: Expected "}" but found "\\)"`), message);
    const column = Number(/:6:(\d+):/.exec(message)?.[1]);
    assert.strictEqual(lines[5][column - 1], ')', `column ${column} points at the stray ")"`);
  });

  it('createModel throwing: its message at the user\'s line, also inside an imported helper', async function () {
    const file = write('throws.model.ts', [...tiny.slice(0, 2), "  throw new Error('no data yet');", ...tiny.slice(2)]);
    assert.match(await failure(file), new RegExp(`^${escape(file)}:3:\\d+: createModel\\(\\) threw: no data yet$`));

    write('blocks.ts', [
      "import * as tf from '@tensorflow/tfjs';",
      '',
      'export function block(filters: number): tf.layers.Layer {',
      '  if (filters > 64) {',
      '    throw new RangeError(`too many filters: ${filters}`);',
      '  }',
      '  return tf.layers.conv2d({ filters, kernelSize: 3 });',
      '}',
    ]);
    const user = write('uses-helper.model.ts', [
      "import * as tf from '@tensorflow/tfjs';",
      "import { block } from './blocks';",
      'export function createModel() {',
      '  const input = tf.input({ shape: [8, 8, 3] });',
      '  const x = block(128).apply(input) as tf.SymbolicTensor;',
      '  return tf.model({ inputs: input, outputs: x });',
      '}',
    ]);
    assert.match(await failure(user), new RegExp(`^${escape(path.join(dir, 'blocks.ts'))}:5:\\d+: createModel\\(\\) threw: too many filters: 128$`));
  });

  it('no createModel or default export, a non-model return, and a tfjs error inside the model', async function () {
    const none = write('none.model.ts', ['export const answer = 42;']);
    assert.match(await failure(none), /exports no createModel function and no default export \(it exports answer\)/);
    const notModel = write('number.model.js', ['export default async function () { return 3; }']);
    assert.match(await failure(notModel), /the default export\(\) returned a number, not a tf\.LayersModel/);
    // A layer built with a bad shape: tfjs throws inside createModel; its variables are freed.
    const bad = write('shape.model.ts', [
      "import * as tf from '@tensorflow/tfjs';",
      'export function createModel() {',
      '  const model = tf.sequential();',
      "  model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, name: 'ok' }));",
      "  model.add(tf.layers.conv2d({ filters: 4, kernelSize: 9, name: 'too_big' }));",
      '  return model;',
      '}',
    ]);
    assert.match(await failure(bad), new RegExp(`^${escape(bad)}:5:\\d+: createModel\\(\\) threw: `));
  });

  it('a missing import is a clear error at the import', async function () {
    const file = write('missing.model.ts', ["import { net } from './nowhere';", 'export const createModel = net;']);
    assert.match(await failure(file), new RegExp(`^${escape(file)}:1:\\d+: Cannot find "./nowhere"`));
  });

  it('the source-map decoder reads standard VLQ mappings', function () {
    // "AAAA;AACA,EAAE": line 0 -> (0,0,0); line 1 -> col 0 from line 1 col 0, col 2 from line 1 col 2.
    assert.deepStrictEqual(decodeMappings('AAAA;AACA,EAAE'), [
      [{ column: 0, source: 0, line: 0, originalColumn: 0 }],
      [
        { column: 0, source: 0, line: 1, originalColumn: 0 },
        { column: 2, source: 0, line: 1, originalColumn: 2 },
      ],
    ]);
  });
});

describe('code models: only when allowed', function () {
  this.timeout(120_000);

  it('the gate: model.json always loads as data; code only in a trusted workspace, with a clear refusal', function () {
    assert.deepStrictEqual(codeModelGate('/w/model/model.json', false), { allowCode: false });
    assert.deepStrictEqual(codeModelGate('/w/net.model.ts', true), { allowCode: true });
    const refused = codeModelGate('/w/net.model.ts', false);
    assert.strictEqual(refused.allowCode, false);
    assert.ok(refused.refusal instanceof UntrustedCodeModelError);
    assert.match(refused.refusal.message, /^\/w\/net\.model\.ts is a model defined in code.*only in a trusted workspace/);
    assert.ok(isCodeModelName('/w/a/resnet.model.ts') && isCodeModelName('x.model.mjs'));
    assert.ok(!isCodeModelName('/w/a/model.ts') && !isCodeModelName('/w/a/model.json'));
  });

  it('the worker refuses to run code unless allowed (by the request or the client\'s gate), then runs it', async function () {
    let trusted = false;
    const engine = engineFromSource({
      backend: () => 'wasm',
      // What the extension passes: the trust gate.
      allowCode: (modelPath) => codeModelGate(modelPath, trusted).allowCode,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-backend-'));
    try {
      await assert.rejects(engine.loadModel(SAMPLE_CODE), (error: unknown) => error instanceof LensError && /runs it only when allowed/.test(error.message));
      await assert.rejects(
        engine.explain({ modelPath: SAMPLE_CODE, imagePath: path.join(IMAGES, 'sample.png'), request: { method: 'gradcam' } }),
        /runs it only when allowed/,
      );
      trusted = true;
      const summary = await engine.loadModel(SAMPLE_CODE);
      assert.strictEqual(summary.defaultCamLayer, 'conv4');
      const { result } = await engine.explain({ modelPath: SAMPLE_CODE, imagePath: path.join(IMAGES, 'sample.png'), request: { method: 'gradcam' } });
      assert.strictEqual(result.layer, 'conv4');
      assert.strictEqual(result.backend, 'wasm');

      // Model code must not move the engine to another backend.
      const switcher = path.join(dir, 'switch.model.ts');
      fs.writeFileSync(
        switcher,
        [
          "import * as tf from '@tensorflow/tfjs';",
          'export async function createModel() {',
          "  await tf.setBackend('cpu');",
          '  return tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 1, kernelSize: 1 }), tf.layers.flatten()] });',
          '}',
        ].join('\n'),
      );
      await assert.rejects(engine.loadModel(switcher), /switched the tfjs backend to "cpu"; remove tf\.setBackend\(\)/);
      const again = await engine.explain({ modelPath: SAMPLE_CODE, imagePath: path.join(IMAGES, 'sample.png'), request: { method: 'gradcam' } });
      assert.strictEqual(again.result.backend, 'wasm', 'the engine is back on its backend');
      assert.ok(Math.abs(again.result.score - result.score) < 1e-4);
    } finally {
      engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
