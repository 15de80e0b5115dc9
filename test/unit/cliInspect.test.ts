// `cnn-lens activations` and `cnn-lens filters` as users run them (the dist/cli.js bundle in a child
// process): exit codes, the grid PNGs, and JSON whose numbers are checked against values computed
// here independently (a tfjs sub-model for activations, the kernel tensor for filters).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { loadModel, readImage } from '../../src/engine/index';
import { toModelInput } from '../../src/engine/images/image';
import { REPO_ROOT, SAMPLE_IMAGE, SAMPLE_MODEL, ensureCliBuilt, pngSize, runCli } from './fixtures/cliRun';
import { filterOf, onnxConvWeights } from './fixtures/onnxWeights';

const TINY_ONNX = path.join(REPO_ROOT, 'test', 'fixtures', 'onnx', 'tiny_cnn', 'tiny_cnn.onnx');

describe('cnn-lens activations and filters (dist/cli.js)', function () {
  let tmp: string;

  before(async function () {
    this.timeout(120_000);
    ensureCliBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-inspect-'));
    await initBackend('cpu');
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('activations writes a grid of every channel and JSON equal to a sub-model output', async function () {
    const out = path.join(tmp, 'conv2.png');
    const json = path.join(tmp, 'conv2.json');
    const run = runCli(['activations', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--layer', 'conv2', '--out', out, '--json', json]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Layer "conv2" \(Conv2D\): 16 channels of 32×32/);
    // 16 tiles: 4 columns of 64-pixel tiles (32×32 maps at 2×) under 18-pixel labels, 6-pixel gaps.
    assert.deepEqual(pngSize(out), { width: 6 + 4 * 70, height: 6 + 4 * (18 + 64 + 6) });

    const result = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(result.layer, 'conv2');
    assert.deepEqual(result.shape, [32, 32, 16]);
    assert.equal(result.channels.length, 16);

    const model = await loadModel(SAMPLE_MODEL);
    const input = toModelInput(await readImage(SAMPLE_IMAGE), model.summary.inputShape, model.summary.preprocessing);
    const sub = tf.model({ inputs: model.model.inputs, outputs: model.model.getLayer('conv2').output as tf.SymbolicTensor });
    const expected = sub.predict(input) as tf.Tensor;
    const values = expected.dataSync();
    try {
      for (const channel of result.channels) {
        assert.equal(channel.data.length, 32 * 32);
        let worst = 0;
        channel.data.forEach((v: number, p: number) => (worst = Math.max(worst, Math.abs(v - values[p * 16 + channel.index]))));
        assert.ok(worst < 1e-4, `channel ${channel.index} differs by ${worst}`);
        assert.equal(channel.max, Math.max(...channel.data));
        assert.equal(channel.dead, channel.data.every((v: number) => v === 0));
      }
    } finally {
      tf.dispose([input, expected]);
      model.dispose();
    }
  });

  it('activations of a 2-D layer lists units top first and marks dead ones', function () {
    const run = runCli(['activations', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--layer', 'gap', '--json', '-']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.activation, 'units');
    assert.deepEqual(result.shape, [96]);
    const dead = result.channels.filter((c: { data: number[] }) => c.data[0] === 0).map((c: { index: number }) => c.index);
    assert.deepEqual(result.deadChannels, dead);
    assert.ok(dead.length > 0, 'the sample has dead units after ReLU + pooling');
    const text = runCli(['activations', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--layer', 'gap', '--out', path.join(tmp, 'gap.png')]);
    const top = /Top units: (\d+) \(([\d.]+)\)/.exec(text.stdout);
    assert.ok(top, text.stdout);
    const best = Math.max(...result.channels.map((c: { data: number[] }) => c.data[0]));
    assert.equal(result.channels[Number(top[1])].data[0], best);
  });

  it('filters writes RGB patches for conv1 and JSON equal to the kernel slices', async function () {
    const out = path.join(tmp, 'conv1.png');
    const run = runCli(['filters', '--model', SAMPLE_MODEL, '--layer', 'conv1', '--out', out, '--json', '-']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.filterKind, 'conv2d');
    assert.deepEqual([result.layout, result.groups], ['HWIO', 1]);
    assert.deepEqual(result.shape, [3, 3, 3, 8]);
    assert.ok(fs.existsSync(out));

    const model = await loadModel(SAMPLE_MODEL);
    try {
      const kernel = model.model.getLayer('conv1').getWeights()[0].arraySync() as number[][][][];
      for (const filter of result.filters) {
        assert.deepEqual(filter.shape, [3, 3, 3]);
        const expected = kernel.flatMap((row) => row.flatMap((px) => px.map((inputs) => inputs[filter.index])));
        assert.deepEqual(filter.data.map((v: number) => Math.fround(v)), expected.map((v) => Math.fround(v)));
      }
    } finally {
      model.dispose();
    }
    const perInput = runCli(['filters', '--model', SAMPLE_MODEL, '--layer', 'conv2', '--mode', 'channels', '--scale', 'shared', '--out', path.join(tmp, 'c2.png')]);
    assert.equal(perInput.status, 0, perInput.stderr);
    assert.match(perInput.stdout, /16 filters of 3×3×8; drawn as channels, shared scale/);
    assert.match(perInput.stdout, /Weights \[3, 3, 8, 16\] in HWIO order \(height, width, inputs, filters\), as TensorFlow stores kernels/);
    assert.match(perInput.stdout, /128 tiles/);
  });

  it('filters of an ONNX Conv node: shape and data in OIHW, each filter weight[o] of the file', function () {
    const run = runCli(['filters', '--model', TINY_ONNX, '--layer', '/down/Conv', '--out', path.join(tmp, 'down.png'), '--json', '-']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual([result.layer, result.className, result.filterKind, result.layout, result.groups], ['/down/Conv', 'Conv', 'conv2d', 'OIHW', 1]);
    const weight = onnxConvWeights(TINY_ONNX).get('/down/Conv');
    assert.ok(weight);
    assert.deepEqual(result.shape, weight.dims);
    assert.deepEqual(result.shape, [16, 8, 3, 3]);
    assert.equal(result.filters.length, 16);
    for (const filter of result.filters) {
      assert.deepEqual(filter.shape, [8, 3, 3]);
      assert.deepEqual(filter.data.map((v: number) => Math.fround(v)), filterOf(weight, filter.index), `filter ${filter.index}`);
    }
    const text = runCli(['filters', '--model', TINY_ONNX, '--layer', '/grouped/Conv', '--mode', 'channels', '--out', path.join(tmp, 'grouped.png')]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Layer "\/grouped\/Conv" \(Conv, conv2d\): 8 filters of 2×3×3, in 4 groups; drawn as channels, filter scale/);
    assert.match(text.stdout, /Weights \[8, 2, 3, 3\] in OIHW order \(filters, inputs, height, width\), as PyTorch stores weights/);
    assert.match(text.stdout, /16 tiles/);
  });

  describe('bad usage exits 2, failures exit 1 naming the layer', function () {
    const usage: Array<[string, string[], RegExp]> = [
      ['activations without --layer', ['activations', SAMPLE_IMAGE, '--model', SAMPLE_MODEL], /--layer NAME is required/],
      ['activations without an image', ['activations', '--model', SAMPLE_MODEL, '--layer', 'conv1'], /IMAGE is required/],
      ['an unknown --sort', ['activations', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--layer', 'conv1', '--sort', 'size'], /--sort must be one of index, mean, max/],
      ['an unknown --scale', ['filters', '--model', SAMPLE_MODEL, '--layer', 'conv1', '--scale', 'global'], /--scale must be one of filter, shared/],
      ['filters with an image', ['filters', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--layer', 'conv1'], /takes no positional arguments/],
    ];
    for (const [what, args, message] of usage) {
      it(what, function () {
        const run = runCli(args);
        assert.equal(run.status, 2, run.stderr);
        assert.match(run.stderr, message);
        assert.match(run.stderr, /cnn-lens --help/);
        assert.doesNotMatch(run.stderr, /Usage:/);
      });
    }
    const failures: Array<[string, string[], RegExp]> = [
      ['an unknown layer', ['activations', SAMPLE_IMAGE, '--model', SAMPLE_MODEL, '--layer', 'conv9'], /Layer "conv9" is not in model/],
      ['filters of a pooling layer', ['filters', '--model', SAMPLE_MODEL, '--layer', 'pool1'], /"pool1" \(MaxPooling2D\) has no filters to draw/],
      ['rgb mode over 8 inputs', ['filters', '--model', SAMPLE_MODEL, '--layer', 'conv2', '--mode', 'rgb'], /cannot be drawn in "rgb" mode; it offers mean, channels/],
      ['filters of an ONNX ConvTranspose', ['filters', '--model', TINY_ONNX, '--layer', '/up/ConvTranspose'], /"\/up\/ConvTranspose" \(ConvTranspose\) has no filters to draw/],
    ];
    for (const [what, args, message] of failures) {
      it(what, function () {
        const run = runCli(args);
        assert.equal(run.status, 1, run.stderr);
        assert.match(run.stderr, message);
        assert.doesNotMatch(run.stderr, /Usage:|\n\s+at /);
      });
    }
  });
});
