// Filters of node layers (src/engine/execution/nodeFilters.ts): the convolution nodes of ONNX models and TF.js
// graph models, checked against weights read here independently of the engine's loaders: the ONNX
// initializers decoded from the file and indexed OIHW by hand; the graph model's kernels against its
// LayersModel twin's; hand-built depthwise convolutions (ONNX group = channels, TensorFlow's
// DepthwiseConv2dNative) against the weights written into them and against what the node computes,
// so filter k is the kernel that makes output channel k.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { filterPage, filterWeights, quantizeSigned, readFilterBank, type FilterBank } from '../../src/engine/inspect/filters';
import { loadModel, type LoadedModel } from '../../src/engine/index';
import { describeLayerViews } from '../../src/engine/inspect/layerViews';
import { filterBankShape } from '../../src/shared/types';
import { encode, floats, int, ints, node } from './fixtures/onnxGraph';
import { filterOf, onnxConvWeights, type OihwWeight } from './fixtures/onnxWeights';

const REPO = path.resolve(__dirname, '..', '..');
const TINY = path.join(REPO, 'test', 'fixtures', 'onnx', 'tiny_cnn', 'tiny_cnn.onnx');
const SAMPLE_ONNX = path.join(REPO, 'test', 'fixtures', 'onnx', 'sample_cnn', 'sample_cnn.onnx');
const GRAPH = path.join(REPO, 'test', 'fixtures', 'graph-model', 'model.json');
const TWIN = path.join(REPO, 'samples', 'workspace', 'model', 'model.json');
const SCOPE = 'StatefulPartitionedCall/fashion_scenes_cnn';

function viewsOf(model: LoadedModel): Record<string, string | null> {
  return Object.fromEntries(describeLayerViews(model.model).map((v) => [v.name, v.filters]));
}

describe('filters of ONNX and TF.js graph-model convolution nodes', function () {
  let tmp: string;
  before(async () => {
    await initBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-node-filters-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('ONNX Conv: the filters are the file\'s OIHW weights, each filter W[o], each tile pixel W[o, i, y, x]', async () => {
    const weights = onnxConvWeights(TINY);
    const model = await loadModel(TINY);
    const before = tf.memory().numTensors;
    try {
      const views = viewsOf(model);
      assert.deepStrictEqual(
        ['/stem/Conv', '/grouped/Conv', '/down/Conv', '/mix/Conv', '/up/ConvTranspose', '/pool/MaxPool', '/Relu'].map((name) => views[name]),
        ['conv2d', 'conv2d', 'conv2d', 'conv2d', null, null, null],
        'Filters on every Conv node; not on ConvTranspose (its weight spreads inputs, it does not filter them), nor on weightless nodes',
      );
      assert.strictEqual(weights.size, 7);
      for (const [name, w] of weights) {
        const bank = readFilterBank(model.model, name);
        assert.strictEqual(bank.className, 'Conv');
        assert.strictEqual(bank.layout, 'OIHW');
        assert.deepStrictEqual(filterBankShape(bank.layout, bank.kernelHeight, bank.kernelWidth, bank.inputs, bank.count), w.dims, `${name}: shape as the file states it`);
        assert.strictEqual(bank.groups, w.group, `${name}: groups`);
        for (let o = 0; o < bank.count; o++) {
          assert.deepStrictEqual(Array.from(filterWeights(bank, o)), filterOf(w, o), `${name}: filter ${o}`);
        }
      }
      // The pictures: one tile per (filter, input), row y, column x = W[o, i, y, x]. /down/Conv has
      // 16 outputs over 8 inputs, so a swap of any two axes shows.
      const down = weights.get('/down/Conv') as OihwWeight;
      const bank = readFilterBank(model.model, '/down/Conv');
      const page = filterPage(bank, { mode: 'channels', inputsPerPage: 8, pageSize: 16 });
      assert.deepStrictEqual([page.filters.length, page.tilesPerFilter, page.kernelHeight, page.kernelWidth], [16, 8, 3, 3]);
      page.filters.forEach((o, f) => {
        for (let i = 0; i < 8; i++) {
          for (let y = 0; y < 3; y++) {
            for (let x = 0; x < 3; x++) {
              const byte = page.tiles[(f * 8 + i) * 9 + y * 3 + x];
              assert.strictEqual(byte, quantizeSigned(down.at(o, i, y, x), page.bound[f]), `filter ${o} input ${i} (${y}, ${x})`);
            }
          }
        }
      });
      // The stem reads the RGB image: colour patches; the grouped conv's 2 inputs are its group's.
      assert.deepStrictEqual(filterPage(readFilterBank(model.model, '/stem/Conv'), {}).modes, ['rgb', 'mean', 'channels']);
      const grouped = filterPage(readFilterBank(model.model, '/grouped/Conv'), { mode: 'channels' });
      assert.deepStrictEqual([grouped.groups, grouped.inputChannels, grouped.layout], [4, 2, 'OIHW']);
      assert.throws(() => readFilterBank(model.model, '/up/ConvTranspose'), /Layer "\/up\/ConvTranspose" \(ConvTranspose\) has no filters to draw; .*ONNX models/);
      assert.strictEqual(tf.memory().numTensors, before, 'reading filters leaves no tensor behind');
    } finally {
      model.dispose();
    }
  });

  it('ONNX Conv of the trained sample: the same filters as the tfjs sample it was ported from', async () => {
    // sample_cnn.onnx holds the sample's weights as PyTorch stores them; conv2 differs because
    // torch.onnx.export folded bn2 into it, and the file's weights are what is drawn.
    const onnx = await loadModel(SAMPLE_ONNX);
    const twin = await loadModel(TWIN);
    try {
      for (const layer of ['conv1', 'conv3', 'conv4']) {
        const ours = readFilterBank(onnx.model, `/${layer}/Conv`);
        const theirs = readFilterBank(twin.model, layer);
        assert.deepStrictEqual([ours.layout, theirs.layout], ['OIHW', 'HWIO']);
        assert.deepStrictEqual([ours.kernelHeight, ours.kernelWidth, ours.inputs, ours.count], [theirs.kernelHeight, theirs.kernelWidth, theirs.inputs, theirs.count]);
        assert.deepStrictEqual(Array.from(ours.data), Array.from(theirs.data), `${layer}: the drawn kernels`);
      }
    } finally {
      onnx.dispose();
      twin.dispose();
    }
  });

  it('ONNX depthwise Conv (group = channels, multiplier 2): filter o is channel o / 2\'s kernel, the one that makes output o', async () => {
    const [channels, multiplier, size] = [2, 2, 5];
    const count = channels * multiplier;
    const w = (o: number, y: number, x: number) => (o + 1) * (y * 3 + x + 1) * (o % 2 ? -0.1 : 0.1) + y * 0.01;
    const values = Array.from({ length: count * 9 }, (_, j) => w(Math.floor(j / 9), Math.floor((j % 9) / 3), j % 3));
    const file = path.join(tmp, 'depthwise.onnx');
    fs.writeFileSync(
      file,
      encode({
        inputs: [{ name: 'x', dims: [1, channels, size, size] }],
        outputs: [{ name: 'y', dims: [1, count] }],
        initializers: [floats('dw.weight', [count, 1, 3, 3], values)],
        nodes: [
          node('Conv', ['x', 'dw.weight'], ['d'], '/dw/Conv', [ints('kernel_shape', [3, 3]), int('group', channels)]),
          node('GlobalAveragePool', ['d'], ['g'], 'gap'),
          node('Flatten', ['g'], ['y'], 'flatten'),
        ],
      }),
    );
    const model = await loadModel(file);
    try {
      assert.strictEqual(viewsOf(model)['/dw/Conv'], 'depthwise');
      const bank: FilterBank = readFilterBank(model.model, '/dw/Conv');
      assert.deepStrictEqual([bank.kind, bank.layout, bank.inputs, bank.count, bank.groups], ['depthwise', 'OIHW', 1, count, channels]);
      assert.deepStrictEqual(filterBankShape(bank.layout, bank.kernelHeight, bank.kernelWidth, bank.inputs, bank.count), [count, 1, 3, 3]);
      const page = filterPage(bank, {});
      assert.deepStrictEqual(page.modes, ['mean'], 'one input each: no RGB, no per-input tiles');
      for (let o = 0; o < count; o++) {
        const kernel = [0, 1, 2].flatMap((y) => [0, 1, 2].map((x) => Math.fround(w(o, y, x))));
        assert.deepStrictEqual(Array.from(filterWeights(bank, o)), kernel, `filter ${o}`);
        assert.deepStrictEqual(Array.from(page.tiles.subarray(o * 9, o * 9 + 9)), kernel.map((v) => quantizeSigned(v, page.bound[o])), `tile ${o}`);
      }
      // What the node computes: an impulse at the centre of channel c gives, at output o, the kernel
      // of o turned half a turn (convolution slides it) when o reads c, and nothing otherwise.
      const sub = tf.model({ inputs: model.model.inputs, outputs: model.model.getLayer('/dw/Conv').output as tf.SymbolicTensor });
      for (let c = 0; c < channels; c++) {
        const impulse = tf.buffer([1, size, size, channels]);
        impulse.set(1, 0, 2, 2, c);
        const input = impulse.toTensor();
        const output = sub.predict(input) as tf.Tensor; // [1, 3, 3, count]
        const response = output.dataSync();
        tf.dispose([input, output]);
        for (let o = 0; o < count; o++) {
          const weightsOfO = filterWeights(bank, o);
          for (let y = 0; y < 3; y++) {
            for (let x = 0; x < 3; x++) {
              const expected = Math.floor(o / multiplier) === c ? weightsOfO[(2 - y) * 3 + (2 - x)] : 0;
              assert.ok(Math.abs(response[(y * 3 + x) * count + o] - expected) < 1e-6, `impulse on ${c}, output ${o} at (${y}, ${x})`);
            }
          }
        }
      }
    } finally {
      model.dispose();
    }
  });

  it('TF.js graph model: the conv nodes\' filters are the LayersModel twin\'s kernels, bn2 not folded into conv2', async () => {
    const graph = await loadModel(GRAPH);
    const twin = await loadModel(TWIN);
    try {
      const views = viewsOf(graph);
      const convs: [string, string][] = [
        ['conv1/Relu', 'conv1'],
        ['conv2/BiasAdd', 'conv2'],
        ['conv3/Relu', 'conv3'],
        ['conv4/Relu', 'conv4'],
      ];
      const drawable = Object.entries(views).filter(([, kind]) => kind).map(([name]) => name);
      assert.deepStrictEqual(drawable, convs.map(([node]) => `${SCOPE}/${node}`), 'the four _FusedConv2D nodes, not the pools, batch norm or MatMul');
      for (const [node, layer] of convs) {
        const bank = readFilterBank(graph.model, `${SCOPE}/${node}`);
        const kernel = twin.model.getLayer(layer).getWeights()[0]; // the twin's raw HWIO kernel
        assert.deepStrictEqual([bank.className, bank.kind, bank.layout, bank.groups], ['_FusedConv2D', 'conv2d', 'HWIO', 1]);
        assert.deepStrictEqual(filterBankShape(bank.layout, bank.kernelHeight, bank.kernelWidth, bank.inputs, bank.count), kernel.shape);
        assert.deepStrictEqual(Array.from(bank.data), Array.from(kernel.dataSync()), `${node}: the kernel as written`);
        const twinBank = readFilterBank(twin.model, layer);
        assert.deepStrictEqual(Array.from(filterWeights(bank, 3)), Array.from(filterWeights(twinBank, 3)), `${node}: filter 3`);
      }
    } finally {
      graph.dispose();
      twin.dispose();
    }
  });

  it('TF.js graph model: a DepthwiseConv2dNative filter [kh, kw, channels, multiplier] is drawn per channel, channel-major', async () => {
    const [channels, multiplier] = [2, 3];
    const filter = Float32Array.from({ length: 9 * channels * multiplier }, (_, j) => Math.sin(j * 0.7) + j * 0.01);
    const folder = fs.mkdtempSync(path.join(tmp, 'dw-graph-'));
    const base64 = (text: string) => Buffer.from(text).toString('base64');
    const json = {
      format: 'graph-model',
      modelTopology: {
        node: [
          { name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }, { size: '4' }, { size: String(channels) }] } } } },
          { name: 'dw/filter', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' } } },
          {
            name: 'dw/depthwise',
            op: 'DepthwiseConv2dNative',
            input: ['input', 'dw/filter'],
            attr: { strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: base64('VALID') }, data_format: { s: base64('NHWC') } },
          },
          { name: 'gap/axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' } } },
          { name: 'gap/Mean', op: 'Mean', input: ['dw/depthwise', 'gap/axes'] },
        ],
      },
      weightsManifest: [
        {
          paths: ['weights.bin'],
          weights: [
            { name: 'dw/filter', shape: [3, 3, channels, multiplier], dtype: 'float32' },
            { name: 'gap/axes', shape: [2], dtype: 'int32' },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
    const bytes = Buffer.concat([Buffer.from(filter.buffer), Buffer.from(Int32Array.from([1, 2]).buffer)]);
    fs.writeFileSync(path.join(folder, 'weights.bin'), bytes);
    const model = await loadModel(path.join(folder, 'model.json'));
    try {
      assert.strictEqual(viewsOf(model)['dw/depthwise'], 'depthwise');
      const bank = readFilterBank(model.model, 'dw/depthwise');
      assert.deepStrictEqual([bank.kind, bank.layout, bank.inputs, bank.count, bank.groups], ['depthwise', 'HWIO', 1, channels * multiplier, channels]);
      for (let c = 0; c < channels; c++) {
        for (let m = 0; m < multiplier; m++) {
          const expected = Array.from({ length: 9 }, (_, p) => filter[(p * channels + c) * multiplier + m]);
          assert.deepStrictEqual(Array.from(filterWeights(bank, c * multiplier + m)), expected, `channel ${c}, multiplier ${m}`);
        }
      }
    } finally {
      model.dispose();
    }
  });
});
