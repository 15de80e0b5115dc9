// CodeLens above layer calls in a model defined in code: calls found only in code (not in comments,
// strings or regex literals), named by their `name:` option, or matched by order of creation to the
// layers the engine actually built, across re-runs whose automatic names differ.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { loadCodeModel } from '../../src/engine/models/codeModel';
import { findLayerCalls, maskNonCode, matchLayerCalls, normalizeFactory } from '../../src/host/lens/codeModelLayers';
import { layerLenses } from '../../src/host/lens/layerLenses';

const SAMPLE_CODE = path.resolve(__dirname, '..', '..', 'samples', 'workspace', 'model', 'sample.model.ts');

describe('CodeLens in model code: finding layer calls', function () {
  it('finds the sample\'s eleven calls with their names, at the call and at the name string', function () {
    const text = fs.readFileSync(SAMPLE_CODE, 'utf8');
    const calls = findLayerCalls(text);
    assert.deepStrictEqual(
      calls.map((c) => c.name),
      ['conv1', 'pool1', 'conv2', 'bn2', 'relu2', 'pool2', 'conv3', 'pool3', 'conv4', 'gap', 'predictions'],
    );
    for (const call of calls) {
      assert.ok(text.startsWith('tf.layers.', call.offset), text.slice(call.offset, call.offset + 20));
      assert.strictEqual(text.slice(call.factoryOffset, call.factoryOffset + call.factoryLength), call.factory);
      assert.strictEqual(text.slice(call.nameOffset!, call.nameOffset! + call.nameLength!), `'${call.name}'`);
    }
  });

  it('ignores calls in comments, strings, template literals and regex literals; reads only the first argument\'s own name', function () {
    const text = [
      '// tf.layers.conv2d({ name: "commented" })',
      '/* tf.layers.dense({ name: "block" }) */',
      'const s = "tf.layers.conv2d({ name: \'in a string\' })";',
      'const t = `tf.layers.dense(${1})`;',
      'const r = /tf.layers.conv2d\\(/g;',
      'const ratio = a / b / tf.layers.dropout({ rate: 0.5 }).rate;',
      'const c = tf.layers.conv2d({ filters: 8, kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }), kernelSize: 3 });',
      'const d = layers.dense({ units: 4, kernelConstraint: make({ name: "inner" }) , name: "head" });',
      'const e = tf.layers.maxPool2d({ name: `pool_${i}` });',
      'const f = tf . layers . flatten ( );',
    ].join('\n');
    const calls = findLayerCalls(text);
    assert.deepStrictEqual(
      calls.map((c) => [c.factory, c.name]),
      [
        ['dropout', undefined],
        ['conv2d', undefined],
        ['dense', 'head'],
        ['maxPool2d', undefined],
        ['flatten', undefined],
      ],
    );
    const masked = maskNonCode(text);
    assert.strictEqual(masked.length, text.length, 'offsets are kept');
    assert.ok(!masked.includes('commented') && !masked.includes('in a string'));
  });

  it('maps factories to Keras classes, aliases included', function () {
    assert.strictEqual(normalizeFactory('maxPool2d'), 'maxpooling2d');
    assert.strictEqual(normalizeFactory('maxPooling2d'), 'maxpooling2d');
    assert.strictEqual(normalizeFactory('avgPool2d'), 'averagepooling2d');
    assert.strictEqual(normalizeFactory('globalAveragePooling2d'), 'globalaveragepooling2d');
    assert.strictEqual(normalizeFactory('depthwiseConv2d'), 'DepthwiseConv2D'.toLowerCase());
  });
});

describe('CodeLens in model code: matching calls to the model the engine built', function () {
  this.timeout(120_000);
  let dir: string;

  before(async function () {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-calls-'));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const unnamed = [
    "import * as tf from '@tensorflow/tfjs';",
    'export function createModel() {',
    '  const input = tf.input({ shape: [16, 16, 3] });',
    '  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }).apply(input) as tf.SymbolicTensor;',
    '  x = tf.layers.maxPool2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;',
    '  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, name: "features" }).apply(x) as tf.SymbolicTensor;',
    '  x = tf.layers.conv2d({ filters: 8, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;',
    '  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;',
    '  const out = tf.layers.dense({ units: 3 }).apply(x) as tf.SymbolicTensor;',
    '  return tf.model({ inputs: input, outputs: out });',
    '}',
  ];

  it('unnamed calls match the layers of their class in creation order, whatever tfjs auto-named them', async function () {
    const file = path.join(dir, 'unnamed.model.ts');
    fs.writeFileSync(file, unnamed.join('\n'));
    const text = unnamed.join('\n');
    const names: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const loaded = await loadCodeModel(file);
      try {
        const matched = matchLayerCalls(findLayerCalls(text), loaded.summary.layers);
        // Each call is matched to the layer whose shape its arguments produce.
        assert.deepStrictEqual(
          matched.map((m) => [m.factory, m.layer.className, m.layer.outputShape.slice(1).join('x')]),
          [
            ['conv2d', 'Conv2D', '14x14x4'],
            ['maxPool2d', 'MaxPooling2D', '7x7x4'],
            ['conv2d', 'Conv2D', '5x5x6'],
            ['conv2d', 'Conv2D', '5x5x8'],
            ['globalAveragePooling2d', 'GlobalAveragePooling2D', '8'],
            ['dense', 'Dense', '3'],
          ],
        );
        assert.strictEqual(matched[2].layer.name, 'features');
        names.push(matched.map((m) => m.layer.name));
        const lenses = layerLenses(file, matched.map((m) => ({ name: m.layer.name, className: m.layer.className, offset: m.offset })), loaded.summary);
        assert.ok(lenses.some((l) => l.title === 'Grad-CAM here (default)' && l.offset === matched[3].offset), 'the last conv is the default CAM layer');
      } finally {
        loaded.dispose();
      }
    }
    assert.notDeepStrictEqual(names[0], names[1], 'tfjs gives new automatic names on each run…');
    assert.strictEqual(names[0][2], names[1][2], '…but not to the named layer');
  });

  it('before the model loads, named calls still get Activations and (conv factories) Filters, but no Grad-CAM', function () {
    const calls = findLayerCalls(fs.readFileSync(SAMPLE_CODE, 'utf8'));
    const written = calls.map((c) => ({ name: c.name!, className: c.factory, offset: c.offset }));
    const lenses = layerLenses(SAMPLE_CODE, written, undefined);
    assert.strictEqual(lenses.filter((l) => l.title === 'Activations').length, 11);
    assert.strictEqual(lenses.filter((l) => l.title === 'Filters').length, 4, 'the four conv2d calls');
    assert.ok(lenses.every((l) => !l.title.startsWith('Grad-CAM')));
  });

  it('when calls and layers of a class do not pair up (a loop), those calls get no layer', function () {
    const calls = findLayerCalls('for (const f of [4, 8]) { x = tf.layers.conv2d({ filters: f, kernelSize: 3 }).apply(x); }\ntf.layers.dense({ name: "out" });');
    const info = (name: string, className: string) => ({ name, className, outputShape: [], params: 1, trainable: true, spatial: false, depth: 0 });
    const matched = matchLayerCalls(calls, [info('conv2d_1', 'Conv2D'), info('conv2d_2', 'Conv2D'), info('out', 'Dense')]);
    assert.deepStrictEqual(
      matched.map((m) => m.layer.name),
      ['out'],
    );
  });
});
