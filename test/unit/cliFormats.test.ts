// `cnn-lens --model x.onnx|.keras|.h5|model.json` as users run it (the bundle dist/cli.js in a
// child process): the PyTorch-exported ResNet-18-style fixture explains the sample image with
// PyTorch's Grad-CAM and its layers are the ONNX node names; Keras and graph-model files load and
// name their format; a bad .onnx file fails with one line naming the file.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT, ensureCliBuilt, runCli } from './fixtures/cliRun';

const onnxModel = path.join(REPO_ROOT, 'test', 'fixtures', 'onnx', 'resnet18', 'resnet18.onnx');
const reference = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'onnx', 'resnet18', 'reference.json'), 'utf8'));
const image = path.join(REPO_ROOT, reference.image);

describe('cnn-lens CLI with ONNX, Keras and graph models (dist/cli.js)', function () {
  let tmp: string;

  before(function () {
    this.timeout(120_000);
    ensureCliBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-cli-onnx-'));
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const backend of ['wasm', 'cpu']) {
    it(`gradcam --model resnet18.onnx gives PyTorch's Grad-CAM (${backend})`, function () {
      const out = path.join(tmp, `overlay-${backend}.png`);
      const run = runCli(['gradcam', image, '--model', onnxModel, '--out', out, '--json', '-', '--backend', backend]);
      assert.equal(run.status, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.equal(result.backend, backend);
      assert.equal(result.layer, reference.gradcam.onnxNode, 'the default layer is the last block output, named as in ONNX');
      assert.equal(result.classIndex, reference.gradcam.classIndex);
      const scale = Math.max(...reference.logits.map(Math.abs));
      assert.ok(Math.abs(result.score - reference.logits[result.classIndex]) <= 1e-4 * scale, `score ${result.score}`);
      const worst = Math.max(...result.cam.data.map((v: number, i: number) => Math.abs(v - reference.gradcam.cam.data[i])));
      assert.ok(worst <= 1e-3, `cam differs from PyTorch's by ${worst}`);
      assert.ok(fs.statSync(out).size > 0);
    });
  }

  it('layers --model x.onnx lists the ONNX nodes with their operators and marks the default layer', function () {
    const run = runCli(['layers', '--model', onnxModel]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\/conv1\/Conv\s+Conv\s/);
    assert.match(run.stdout, /\* ?\/layer4\/layer4\.1\/relu_1\/Relu|\/layer4\/layer4\.1\/relu_1\/Relu.*\*/);
    assert.match(run.stdout, /\/fc\/Gemm\s+Gemm/);
  });

  for (const [file, format] of [
    ['test/fixtures/keras/sample_cnn.keras', 'Keras 3 (.keras)'],
    ['test/fixtures/keras/sample_cnn.h5', 'Keras 2 HDF5 (.h5)'],
    ['test/fixtures/graph-model/model.json', 'TF.js graph model'],
  ]) {
    it(`layers --model ${path.basename(file)} names the format ${format}`, function () {
      const run = runCli(['layers', '--model', path.join(REPO_ROOT, file)]);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /conv4/);
      assert.ok(run.stdout.includes(`Format: ${format}`), run.stdout);
    });
  }

  it('a truncated .onnx file fails with one line naming it', function () {
    const bad = path.join(tmp, 'cut.onnx');
    fs.writeFileSync(bad, fs.readFileSync(onnxModel).subarray(0, 50_000));
    const run = runCli(['gradcam', image, '--model', bad, '--out', path.join(tmp, 'x.png')]);
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.ok(run.stderr.includes(bad), run.stderr);
    assert.match(run.stderr, /truncated/);
  });
});
