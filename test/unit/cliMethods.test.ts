// `cnn-lens METHOD IMAGE` and `cnn-lens compare` as users run them (the bundled dist/cli.js):
// exit codes, the JSON shape shared with `gradcam`, method flags, metrics, and the grid PNG.
import { strict as assert } from 'assert';
import { loadOnnxRuntime } from '../../src/engine/onnxRuntime/runtime';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SAMPLE_IMAGE, SAMPLE_MODEL, ensureCliBuilt, pngSize, runCli } from './fixtures/cliRun';


describe('cnn-lens METHOD and compare (dist/cli.js)', function () {
  this.timeout(180_000);
  let tmp: string;

  before(function () {
    ensureCliBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-methods-'));
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('integrated-gradients writes the same JSON shape as gradcam, plus details with the completeness check and metrics', function () {
    const out = path.join(tmp, 'ig.png');
    const run = runCli(['integrated-gradients', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--steps', '32', '--baseline', 'blurred', '--metrics', '--out', out, '--json', '-']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    for (const key of ['method', 'backend', 'layer', 'classIndex', 'className', 'score', 'predictions', 'cam', 'layerCam', 'timings']) {
      assert.ok(key in result, `JSON has ${key}`);
    }
    assert.equal(result.method, 'integrated-gradients');
    assert.equal(result.className, 'Ankle boot');
    assert.deepEqual([result.cam.width, result.cam.height, result.cam.data.length], [64, 64, 4096]);
    assert.deepEqual(result.details.options, { steps: 32, baseline: 'blurred', batchSize: 16 });
    assert.ok(result.details.completeness.relativeError < 0.05, JSON.stringify(result.details.completeness));
    assert.equal(result.metrics.deletion.scores.length, 33);
    assert.ok(result.metrics.insertion.auc > 0 && result.metrics.insertion.auc <= 1);
    assert.deepEqual(pngSize(out), { width: 256, height: 256 });
  });

  it('occlusion takes --patch/--stride/--fill and prints what it ran', function () {
    const run = runCli(['occlusion', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--patch', '16', '--stride', '16', '--fill', '0.5', '--out', path.join(tmp, 'occ.png')]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /occlusion of "Ankle boot" .* at the input/);
    assert.match(run.stdout, /patch 16, stride 16, fill 0.5, batchSize 16; 2 passes over 17 inputs/);
  });

  it('--sample-workers N shares SmoothGrad batches with helper workers on the tfjs engine: the same overlay, the share reported', function () {
    const alone = path.join(tmp, 'sg-alone.png');
    const shared = path.join(tmp, 'sg-shared.png');
    const args = ['smoothgrad', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--samples', '12', '--json', '-', '--backend', 'wasm'];
    const one = runCli([...args, '--out', alone]);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).details.inputsElsewhere, undefined);
    const two = runCli([...args, '--out', shared, '--sample-workers', '1']);
    assert.equal(two.status, 0, two.stderr);
    assert.equal(JSON.parse(two.stdout).details.inputsElsewhere, 6, 'half of the 12 samples on the helper');
    assert.ok(fs.readFileSync(alone).equals(fs.readFileSync(shared)), 'the overlays are the same bytes');
    const bad = runCli([...args, '--out', shared, '--sample-workers', 'many']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--sample-workers must be a whole number from 0 to 8/);
  });

  it('--sample-workers on ONNX Runtime starts no helper (it runs each batch on every core) and says so with --verbose', function () {
    if ('failure' in loadOnnxRuntime()) this.skip(); // onnxruntime-node is optional
    const run = runCli(['smoothgrad', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--samples', '12', '--json', '-', '--out', path.join(tmp, 'sg-native.png'), '--sample-workers', '1', '--verbose']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.backend, 'onnxruntime');
    assert.equal(result.details.inputsElsewhere, undefined);
    assert.match(run.stderr, /ONNX Runtime runs this model on every core; --sample-workers is not used/);
    assert.doesNotMatch(run.stderr, /sample helper/);
  });

  it('gradcam --method NAME still works; METHOD --method OTHER is a usage error', function () {
    const ok = runCli(['gradcam', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--method', 'layercam', '--json', '-', '--out', path.join(tmp, 'l.png')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).method, 'layercam');
    const bad = runCli(['saliency', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--method', 'gradcam']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /contradicts/);
  });

  it('bad method flags: syntax is a usage error (2), an out-of-range value an engine error (1)', function () {
    const syntax = runCli(['smoothgrad', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--samples', 'many']);
    assert.equal(syntax.status, 2);
    assert.match(syntax.stderr, /--samples must be a whole number/);
    const baseline = runCli(['integrated-gradients', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--baseline', 'white']);
    assert.equal(baseline.status, 2);
    const range = runCli(['occlusion', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--patch', '65']);
    assert.equal(range.status, 1);
    assert.match(range.stderr, /patch must be a whole number from 1 to 64/);
    assert.equal(range.stderr.trim().split('\n').length, 1);
  });

  it('compare writes a labelled grid and JSON for the chosen methods, ranked by a metric', function () {
    const grid = path.join(tmp, 'grid.png');
    const json = path.join(tmp, 'grid.json');
    const run = runCli(['compare', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--methods', 'gradcam,saliency,eigencam', '--rank-by', 'insertion', '--columns', '2', '--out', grid, '--json', json]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Ranked by Insertion AUC \(higher is better\)/);
    const result = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(result.methods.length, 3);
    assert.deepEqual([...result.methods.map((m: { method: string }) => m.method)].sort(), ['eigencam', 'gradcam', 'saliency']);
    const insertion = result.methods.map((m: { metrics: { insertion: { auc: number } } }) => m.metrics.insertion.auc);
    assert.deepEqual(insertion, [...insertion].sort((a: number, b: number) => b - a), 'best first');
    assert.ok(result.methods.every((m: { timeMs: number; classIndex: number }) => m.timeMs > 0 && m.classIndex === result.classIndex));
    // Each method's own time, its metrics' apart (the metrics' own clock lies within their wall time).
    assert.ok(result.methods.every((m: { metricsMs: number; metrics: { timeMs: number } }) => m.metricsMs >= m.metrics.timeMs), 'metricsMs per method');
    assert.match(run.stdout, /Grad-CAM .*\(metrics \d+ ms\)/);
    // 4 tiles (input + 3) in 2 columns of 192 px plus 12 px gaps: 2 rows.
    const size = pngSize(grid);
    assert.equal(size.width, 2 * (192 + 12) + 12);
    assert.ok(size.height > 2 * 192);
  });

  it('compare refuses unknown methods and --method', function () {
    const unknown = runCli(['compare', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--methods', 'gradcam,nope']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown method "nope"/);
    const single = runCli(['compare', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--method', 'gradcam']);
    assert.equal(single.status, 2);
  });
});
