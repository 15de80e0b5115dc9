// `cnn-lens` with binary, regression and multi-head models (dist/cli.js in a child process, as users
// run it): --output by index and name, `layers` listing the outputs, the text and JSON of each kind
// checked against the answers computed by hand (test/unit/fixtures/outputModels.ts).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { encodePng } from '../../src/engine/index';
import { ensureCliBuilt, runCli } from './fixtures/cliRun';
import {
  AGE,
  SPOOF,
  ageValue,
  binaryLayersModel,
  halvesImage,
  multiHeadLayersModel,
  onnxHeads,
  regressionLayersModel,
  saveLayersModel,
  sigmoid,
  spoofLogit,
  trunkGradCam,
} from './fixtures/outputModels';

describe('cnn-lens CLI: output kinds and --output (dist/cli.js)', function () {
  this.timeout(60_000);
  let tmp: string;
  let imagePath: string;
  let binary: string;
  let regression: string;
  let heads: string;
  let onnx: string;
  const image = halvesImage(0.4);
  const z = spoofLogit(image);

  before(async function () {
    this.timeout(120_000);
    ensureCliBuilt();
    await initBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-cli-outputs-'));
    imagePath = path.join(tmp, 'halves.png');
    fs.writeFileSync(imagePath, await encodePng(image));
    binary = await saveLayersModel(binaryLayersModel(), path.join(tmp, 'binary'));
    fs.writeFileSync(path.join(tmp, 'binary', 'labels.txt'), 'real\nspoof\n');
    regression = await saveLayersModel(regressionLayersModel(), path.join(tmp, 'regression'));
    heads = await saveLayersModel(multiHeadLayersModel(), path.join(tmp, 'heads'));
    fs.writeFileSync(path.join(tmp, 'heads', 'cnn-lens.json'), JSON.stringify({ output: { name: 'race', labels: 'race.txt' } }));
    fs.writeFileSync(path.join(tmp, 'heads', 'race.txt'), 'north\nsouth\neast\n');
    onnx = path.join(tmp, 'heads.onnx');
    fs.writeFileSync(onnx, onnxHeads(['age', 'spoof']));
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function explainJson(args: string[]): Record<string, any> {
    const run = runCli(['gradcam', imagePath, '--backend', 'cpu', '--out', path.join(tmp, 'overlay.png'), '--json', '-', ...args]);
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout);
  }

  function explainText(args: string[]): string {
    const run = runCli(['gradcam', imagePath, '--backend', 'cpu', '--out', path.join(tmp, 'overlay.png'), ...args]);
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  }

  it('a binary model: two classes σ(z), 1 − σ(z) in the text, +z as the score', () => {
    const text = explainText(['--model', binary]);
    assert.match(text, /Output: 0 "spoof" \(binary classifier \(sigmoid\)\)/);
    assert.match(text, new RegExp(`^ +${(sigmoid(z) * 100).toFixed(1)}%  spoof \\(class 1: σ\\(z\\)\\)$`, 'm'));
    assert.match(text, new RegExp(`^ +${((1 - sigmoid(z)) * 100).toFixed(1)}%  real \\(class 0: 1 − σ\\(z\\)\\)$`, 'm'));
    assert.match(text, /gradcam of "spoof" \(class 1: σ\(z\), \+z = 0\.9\) at layer "trunk"/);
    assert.doesNotMatch(text, /100\.0%/);
  });

  it('a binary model in JSON: output, both sides with their probabilities, −z for class 0, the negated map', () => {
    const json = explainJson(['--model', binary, '--class', 'real']);
    assert.deepEqual(json.output, { index: 0, name: 'spoof', kind: 'binary', of: 1 });
    assert.equal(json.classIndex, 0);
    assert.equal(json.className, 'real');
    assert.ok(Math.abs(json.score + z) < 1e-5, `score ${json.score}`);
    const [first, second] = json.predictions;
    assert.deepEqual([first.index, first.label, second.index, second.label], [1, 'spoof', 0, 'real']);
    assert.ok(Math.abs(first.probability - sigmoid(z)) < 1e-6 && Math.abs(second.probability - (1 - sigmoid(z))) < 1e-6);
    const expected = trunkGradCam(image, SPOOF.weights, -1);
    json.layerCam.data.forEach((v: number, i: number) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `layerCam ${i}: ${v} vs ${expected[i]}`));
  });

  it('a regression: a value, not a probability, in the text and the JSON', () => {
    const value = ageValue(image);
    const text = explainText(['--model', regression]);
    assert.match(text, /Output: 0 "age" \(regression, one value\)/);
    assert.match(text, /^Values:$/m);
    assert.match(text, new RegExp(`^ +${String(Number(value.toPrecision(4))).replace('.', '\\.')}  value \\(value 0\\)$`, 'm'));
    assert.match(text, /gradcam of "value" = 21\.7 \(value 0\) at layer "trunk"/);
    assert.doesNotMatch(text, /%/);
    const json = explainJson(['--model', regression, '--metrics', '--batch-size', '64']);
    assert.equal(json.predictions[0].probability, undefined);
    assert.ok(Math.abs(json.predictions[0].value - value) < 1e-4);
    assert.equal(json.metrics.scoreKind, 'value');
    const expected = trunkGradCam(image, AGE.weights, 1);
    json.layerCam.data.forEach((v: number, i: number) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `layerCam ${i}`));
  });

  it('--output picks an output by index or name; the default is the first', () => {
    assert.equal(explainJson(['--model', heads]).output.name, 'age');
    const byIndex = explainJson(['--model', heads, '--output', '1']);
    const byName = explainJson(['--model', heads, '--output', 'spoof']);
    for (const json of [byIndex, byName]) {
      assert.deepEqual(json.output, { index: 1, name: 'spoof', kind: 'binary', of: 3 });
      assert.ok(Math.abs(json.score - z) < 1e-5);
    }
    const race = explainJson(['--model', heads, '--output', 'race', '--class', 'east']);
    assert.equal(race.classIndex, 2);
    assert.equal(race.layer, 'race_conv');
    const text = explainText(['--model', heads, '--output', 'race']);
    assert.match(text, /Output: 2 "race" \(3 classes \(softmax\); 3 outputs\)/);
  });

  it('--output works on an ONNX model with several outputs, named as the graph names them', () => {
    const json = explainJson(['--model', onnx, '--output', 'spoof', '--layer', 'trunk']);
    assert.deepEqual(json.output, { index: 1, name: 'spoof', kind: 'binary', of: 2 });
    assert.ok(Math.abs(json.score - z) < 1e-5);
  });

  it('an output the model does not have: one line naming the model file and listing its outputs', () => {
    const run = runCli(['gradcam', imagePath, '--backend', 'cpu', '--model', heads, '--output', 'gender', '--out', path.join(tmp, 'x.png')]);
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /--output gender: .*heads\/model\.json: has no output "gender"; its outputs: 0 "age" \(1×1, regression\), 1 "spoof" \(1×1, binary\), 2 "race" \(1×3, classes\)/);
    assert.ok(!fs.existsSync(path.join(tmp, 'x.png')));
    const unknownClass = runCli(['gradcam', imagePath, '--backend', 'cpu', '--model', heads, '--output', 'spoof', '--class', 'east']);
    assert.equal(unknownClass.status, 2, 'east is a label of race, not of spoof');
    assert.match(unknownClass.stderr, /--class "east" is neither a class index nor a label of this model \(labels: "class 0", "class 1"\)/);
  });

  it('`layers` lists the outputs with name, shape and kind, and their JSON', () => {
    const run = runCli(['layers', '--model', heads, '--backend', 'cpu']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /3 outputs\n/);
    assert.match(run.stdout, /^\s+#\s+output\s+shape\s+kind\s*$/m);
    assert.match(run.stdout, /^\* 0\s+age\s+1×1\s+regression, one value\s*$/m);
    assert.match(run.stdout, /^  1\s+spoof\s+1×1\s+binary classifier \(sigmoid\)\s+class 0: 1 − σ\(z\), class 1: σ\(z\)$/m);
    assert.match(run.stdout, /^  2\s+race\s+1×3\s+3 classes \(softmax\)\s+labels from race\.txt$/m);
    const json = JSON.parse(runCli(['layers', '--model', heads, '--backend', 'cpu', '--json', '-']).stdout);
    assert.deepEqual(
      json.outputs.map((o: { name: string; kind: string; labels: string[] }) => [o.name, o.kind, o.labels]),
      [
        ['age', 'regression', ['value']],
        ['spoof', 'binary', ['class 0', 'class 1']],
        ['race', 'classes', ['north', 'south', 'east']],
      ],
    );
  });

  it('compare follows the output too', () => {
    const run = runCli(['compare', imagePath, '--backend', 'cpu', '--model', heads, '--output', 'spoof', '--methods', 'gradcam,saliency', '--out', path.join(tmp, 'grid.png'), '--json', '-']);
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.deepEqual(json.output, { index: 1, name: 'spoof', kind: 'binary', of: 3 });
    assert.ok(json.methods.every((m: { output: { name: string } }) => m.output.name === 'spoof'));
  });
});
