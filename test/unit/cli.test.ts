// The `cnn-lens` command as users run it: the esbuild bundle dist/cli.js in a child process. Testing
// the bundle (not src/cli/main.ts) also guards what only bundling can break: a backend dropped as
// "side-effect free", a .wasm binary not copied next to the bundle, a second tfjs-core.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SAMPLE_IMAGE, SAMPLE_MODEL, ensureCliBuilt, pngSize, runCli } from './fixtures/cliRun';
import { loadOnnxRuntime } from '../../src/engine/onnxRuntime/runtime';

/** Whether onnxruntime-node loads here, as it does for the bundle beside node_modules. */
const ORT_LOADS = !('failure' in loadOnnxRuntime());


describe('cnn-lens CLI (dist/cli.js)', function () {
  let tmp: string;

  before(function () {
    this.timeout(120_000);
    ensureCliBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-cli-'));
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes outputs whole or not at all: a path it cannot replace fails with the file named and leaves no partial file', function () {
    const blocked = path.join(tmp, 'blocked.png');
    fs.mkdirSync(blocked); // a folder where the PNG should go: the rename must fail
    const run = runCli(['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--out', blocked]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, new RegExp(`${blocked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write the output`));
    assert.deepEqual(fs.readdirSync(tmp).filter((name) => name.endsWith('.tmp')), [], 'no temporary file left');
  });

  it('gradcam writes the overlay PNG at the image size and the JSON the issue specifies', function () {
    const out = path.join(tmp, 'overlay.png');
    const json = path.join(tmp, 'result.json');
    const run = runCli(['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--out', out, '--json', json]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /Ankle boot/);
    // tfjs-node is missing here: a note, not an error message. The sample (a TF.js layers model)
    // runs on ONNX Runtime where onnxruntime-node loads (npm ci installs it on linux, macOS, Windows).
    const running = ORT_LOADS ? 'onnxruntime [\\d.]+ \\(cpu, \\d+ threads?\\)' : 'wasm \\(SIMD, 1 thread\\)';
    assert.match(run.stdout, new RegExp(`^Backend: ${running}; the optional native backend, @tensorflow/tfjs-node, is not installed$`, 'm'));
    assert.deepEqual(pngSize(out), { width: 256, height: 256 });

    const result = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(result.method, 'gradcam');
    assert.equal(result.backend, ORT_LOADS ? 'onnxruntime' : 'wasm'); // auto: ONNX Runtime where it loads, else wasm (tfjs-node is not installed here)
    assert.equal(result.layer, 'conv4');
    assert.equal(result.classIndex, 9);
    assert.equal(result.className, 'Ankle boot');
    assert.ok(Number.isFinite(result.score) && result.score > 0);
    assert.equal(result.predictions.length, 5);
    for (const key of ['index', 'label', 'probability']) {
      assert.ok(key in result.predictions[0], `predictions[0].${key}`);
    }
    assert.equal(result.predictions[0].index, 9);
    const probabilities = result.predictions.map((p: { probability: number }) => p.probability);
    assert.deepEqual(probabilities, [...probabilities].sort((a, b) => b - a));
    assert.equal(result.cam.width, 64);
    assert.equal(result.cam.height, 64);
    assert.equal(result.cam.data.length, 64 * 64);
    assert.ok(result.cam.data.every((v: number) => v >= 0 && v <= 1));
    assert.ok(Math.max(...result.cam.data) > 0.999, "the map is normalized to a maximum of 1");
    assert.equal(result.layerCam.width, 8);
    assert.equal(result.layerCam.height, 8);
    assert.equal(result.layerCam.data.length, 64);
    assert.ok(result.layerCam.data.every((v: number) => v >= 0));
  });

  it('gives the same Grad-CAM on the cpu backend (the bundle carries it)', function () {
    const wasm = runCli(['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--out', path.join(tmp, 'w.png'), '--json', '-']);
    const cpu = runCli(['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--out', path.join(tmp, 'c.png'), '--json', '-', '--backend', 'cpu']);
    assert.equal(wasm.status, 0, wasm.stderr);
    assert.equal(cpu.status, 0, cpu.stderr);
    const a = JSON.parse(wasm.stdout);
    const b = JSON.parse(cpu.stdout);
    assert.equal(b.backend, 'cpu');
    assert.equal(b.classIndex, a.classIndex);
    const worst = Math.max(...a.cam.data.map((v: number, i: number) => Math.abs(v - b.cam.data[i])));
    assert.ok(worst < 1e-4, `cam differs by ${worst}`);
  });

  it('explains a chosen class by label and writes the heatmap too', function () {
    const heatmap = path.join(tmp, 'heat.png');
    const run = runCli(['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--class', 'Sneaker', '--colormap', 'viridis',
      '--alpha', '0.3', '--out', path.join(tmp, 's.png'), '--heatmap', heatmap, '--json', '-']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.classIndex, 7);
    assert.equal(result.className, 'Sneaker');
    assert.deepEqual(pngSize(heatmap), { width: 256, height: 256 });
  });

  it('layers prints every layer and marks the default CAM layer', function () {
    const run = runCli(['layers', '--model', SAMPLE_MODEL]);
    assert.equal(run.status, 0, run.stderr);
    for (const name of ['conv1', 'pool1', 'bn2', 'conv4', 'gap', 'predictions']) {
      assert.match(run.stdout, new RegExp(`\\b${name}\\b`));
    }
    assert.match(run.stdout, /\*.*conv4|conv4.*\*/);
    assert.match(run.stdout, /50,954 parameters/);
  });

  describe('bad usage exits 2 with one line saying what is wrong and how to see the options (the usage when no command is given)', function () {
    const cases: Array<[string, string[], RegExp]> = [
      ['no command', [], /No command/],
      ['an unknown command', ['explode'], /Unknown command "explode"/],
      ['an unknown option', ['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--frobnicate'], /frobnicate/],
      ['no --model', ['gradcam', SAMPLE_IMAGE], /--model PATH is required/],
      ['no image', ['gradcam', '--model', SAMPLE_MODEL], /IMAGE is required/],
      ['an opacity above 1', ['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--alpha', '2'], /--alpha/],
      ['an unknown colormap', ['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--colormap', 'rainbow'], /--colormap/],
      ['an unknown backend', ['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--backend', 'gpu'], /--backend/],
      ['a mean that is not numbers', ['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--mean', 'a,b,c'], /--mean/],
    ];
    for (const [what, args, message] of cases) {
      it(what, function () {
        const run = runCli(args);
        assert.equal(run.status, 2, run.stderr);
        assert.match(run.stderr, message);
        if (args.length === 0) {
          assert.match(run.stderr, /Usage:/);
        } else {
          assert.deepEqual(run.stderr.trimEnd().split('\n').slice(1), ['Run "cnn-lens --help" for the commands and options.'], run.stderr);
        }
      });
    }
  });

  describe('failures exit 1 with one line naming the file, without a stack trace', function () {
    it('a missing image', function () {
      const missing = path.join(tmp, 'nope.png');
      const run = runCli(['gradcam', missing, '--model', SAMPLE_MODEL, '--out', path.join(tmp, 'x.png')]);
      assert.equal(run.status, 1);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.ok(run.stderr.includes(missing), run.stderr);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
      assert.ok(!fs.existsSync(path.join(tmp, 'x.png')));
    });

    it('a model.json that is not JSON', function () {
      const bad = path.join(tmp, 'bad-model');
      fs.mkdirSync(bad);
      fs.writeFileSync(path.join(bad, 'model.json'), '{ not json');
      const run = runCli(['gradcam', SAMPLE_IMAGE, '--model', path.join(bad, 'model.json')]);
      assert.equal(run.status, 1);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.ok(run.stderr.includes(path.join(bad, 'model.json')), run.stderr);
    });

    it('an unknown layer names the layer, and --verbose adds the stack', function () {
      const args = ['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--layer', 'conv99', '--out', path.join(tmp, 'y.png')];
      const run = runCli(args);
      assert.equal(run.status, 1);
      assert.match(run.stderr, /conv99/);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      const verbose = runCli([...args, '--verbose']);
      assert.equal(verbose.status, 1);
      assert.match(verbose.stderr, /\n\s+at /);
    });

    it('a class index out of range', function () {
      const run = runCli(['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--class', '10', '--out', path.join(tmp, 'z.png')]);
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /10/);
    });
  });
});
