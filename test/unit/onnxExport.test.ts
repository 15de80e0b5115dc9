// Keras and TF.js layers models on the native engine (src/engine/onnxRuntime/exportLayers.ts):
// their tf.layers graph exported to ONNX computes what tfjs computes, every method's map on ONNX
// Runtime equals the wasm engine's (the tolerances of onnxRuntime.test.ts), and a layer without an
// ONNX export runs on the tfjs engine with the reason in the result (graph models:
// graphModelExport.test.ts).
import * as assert from 'assert';
import { assertSameResult, DEFAULT_TOLERANCE, maxDifference } from './fixtures/sameMaps';
import * as path from 'path';
import { explain, initBackend, loadModel, readImage, wrapModel, type LoadedModel } from '../../src/engine/index';
import { encodeModelProto } from '../../src/engine/models/onnx/onnxProto';
import { withPadsKeptBeforeMaxPools } from '../../src/engine/onnxRuntime/padFusion';
import { exportLayersModel } from '../../src/engine/onnxRuntime/exportLayers';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnxRuntime/runtime';
import { METHOD_NAMES, type CamResult, type MethodName, type RgbaImage } from '../../src/shared/types';
import { randomizeWeights } from '../fixtures/models';
import { engineFromSource } from './fixtures/workerFromSource';
import * as tf from '../../src/engine/tf';

const REPO = path.resolve(__dirname, '..', '..');
const OPTIONS = { samples: 4, steps: 6 };

type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/**
 * Every exported layer kind on odd sizes: 'same' padding with stride 2 (uneven pads), depthwise with
 * multiplier 2, ReLU with a maximum, separable with swish, residual Add, Multiply by a sigmoid gate,
 * Concatenate of channels, zero padding, both 'same' poolings, Dense on a 4-D value, Flatten after
 * it, a batch norm on vectors, Dropout, and a softmax head.
 */
function everyLayerModel(): tf.LayersModel {
  const input = tf.input({ shape: [13, 11, 3], name: 'image' });
  let x = apply(tf.layers.rescaling({ scale: 0.5, offset: -0.25, name: 'rescale' }), input);
  x = apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', name: 'conv_s2' }), x);
  x = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu', name: 'depthwise' }), x);
  x = apply(tf.layers.batchNormalization({ name: 'bn' }), x);
  x = apply(tf.layers.reLU({ maxValue: 4, name: 'relu4' }), x);
  const sep = apply(tf.layers.separableConv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'swish', name: 'separable' }), x);
  const side = apply(tf.layers.leakyReLU({ alpha: 0.2, name: 'leaky' }), apply(tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'side' }), sep));
  const sum = apply(tf.layers.add({ name: 'residual' }), [sep, side]);
  const gate = apply(tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'sigmoid', name: 'gate' }), sep);
  const gated = apply(tf.layers.multiply({ name: 'gated' }), [sum, gate]);
  const extra = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'extra' }), gated);
  x = apply(tf.layers.concatenate({ name: 'concat' }), [gated, extra]);
  x = apply(tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]], name: 'pad' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'maxpool' }), x);
  x = apply(tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'avgpool' }), x);
  x = apply(tf.layers.activation({ activation: 'hardSigmoid', name: 'hard' }), x);
  x = apply(tf.layers.dense({ units: 6, activation: 'relu', name: 'dense4d' }), x);
  x = apply(tf.layers.flatten({ name: 'flatten' }), x);
  x = apply(tf.layers.batchNormalization({ name: 'bn_vector' }), x);
  x = apply(tf.layers.dropout({ rate: 0.3, name: 'dropout' }), x);
  const output = apply(tf.layers.dense({ units: 5, activation: 'softmax', name: 'head' }), x);
  const model = tf.model({ inputs: input, outputs: output, name: 'every_layer' });
  randomizeWeights(model, 5);
  return model;
}

/** A Sequential base nested in a functional model, global poolings, Reshape back to an image, a Softmax layer. */
function nestedModel(): tf.LayersModel {
  const base = tf.sequential({ name: 'base' });
  base.add(tf.layers.conv2d({ inputShape: [9, 10, 3], filters: 5, kernelSize: 3, activation: 'relu', name: 'conv_a' }));
  base.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', name: 'conv_b' }));
  const input = tf.input({ shape: [9, 10, 3], name: 'image' });
  const features = apply(base as unknown as tf.layers.Layer, input);
  const mean = apply(tf.layers.globalAveragePooling2d({ name: 'gap' }), features);
  const max = apply(tf.layers.globalMaxPooling2d({ name: 'gmp' }), features);
  let x = apply(tf.layers.concatenate({ name: 'pooled' }), [mean, max]);
  x = apply(tf.layers.reshape({ targetShape: [2, 2, 3], name: 'as_image' }), x);
  x = apply(tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'mix' }), x);
  x = apply(tf.layers.flatten({ name: 'flat' }), x);
  x = apply(tf.layers.dense({ units: 4, name: 'logits' }), x);
  const output = apply(tf.layers.softmax({ name: 'probabilities' }), x);
  const model = tf.model({ inputs: input, outputs: output, name: 'nested' });
  randomizeWeights(model, 9);
  return model;
}

/** Two heads on one trunk: class scores (softmax) and a binary classifier's logit (sigmoid). */
function twoHeadModel(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3], name: 'image' });
  const trunk = apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'trunk' }), input);
  const pooled = apply(tf.layers.globalAveragePooling2d({ name: 'gap' }), trunk);
  const classes = apply(tf.layers.dense({ units: 4, activation: 'softmax', name: 'classes' }), pooled);
  const binary = apply(tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'binary' }), pooled);
  const model = tf.model({ inputs: input, outputs: [classes, binary], name: 'two_heads' });
  randomizeWeights(model, 13);
  return model;
}

function inMemory(model: tf.LayersModel): LoadedModel {
  return wrapModel(model, { path: `/memory/${model.name}/model.json`, labels: null, labelsSource: null, preprocessing: {}, sidecar: null });
}


/** The exported graph run by ONNX Runtime on NHWC inputs (transposed to its NCHW input), every output. */
async function runExported(ort: OrtModule, model: tf.LayersModel, input: tf.Tensor4D): Promise<Float32Array[]> {
  const source = exportLayersModel(model);
  // As the native engine runs it (padFusion.ts keeps the zero Pads before max pools).
  const session = await ort.InferenceSession.create(encodeModelProto(withPadsKeptBeforeMaxPools(source.proto)));
  try {
    const nchw = tf.transpose(input, [0, 3, 1, 2]);
    const result = await session.run({ input: new ort.Tensor('float32', (await nchw.data()) as Float32Array, nchw.shape) });
    nchw.dispose();
    return (source.proto.graph?.output ?? []).map((o) => result[o.name].data as Float32Array);
  } finally {
    await session.release();
  }
}

const runtime = loadOnnxRuntime();

describe('ONNX export of tf.layers models', function () {
  this.timeout(300_000);
  let image: RgbaImage;
  let ort: OrtModule;

  before(async function () {
    if ('failure' in runtime) {
      this.skip(); // onnxruntime-node is optional
    }
    ort = runtime.ort;
    image = await readImage(path.join(REPO, 'samples', 'workspace', 'images', 'sample.png'));
    await initBackend('wasm');
  });
  after(async () => {
    await initBackend('wasm');
  });

  for (const build of [everyLayerModel, nestedModel]) {
    it(`the exported ${build.name} computes tfjs's outputs on random inputs, without changing the model`, async () => {
      await initBackend('wasm');
      const model = build();
      try {
        const before = model.getWeights().map((w) => w.dataSync().slice());
        const [, h, w, c] = model.inputs[0].shape as number[];
        const input = tf.randomNormal([3, h, w, c], 0, 1, 'float32', 17) as tf.Tensor4D;
        const expected = (await (model.predict(input) as tf.Tensor).data()) as Float32Array;
        const [actual] = await runExported(ort, model, input);
        input.dispose();
        const scale = Math.max(...expected.map(Math.abs));
        assert.ok(scale > 1e-3);
        assert.ok(maxDifference(actual, expected) <= 1e-4 * scale, `outputs differ by ${maxDifference(actual, expected)} (scale ${scale})`);
        model.getWeights().forEach((weight, i) => assert.deepStrictEqual(weight.dataSync(), before[i], `weight ${i} changed`));
      } finally {
        model.dispose();
      }
    });
  }

  it("maps each listed layer to its value, nested layers by their outer/inner name, and every 4-D value is NCHW", async () => {
    const model = nestedModel();
    try {
      const source = exportLayersModel(model);
      for (const name of ['base', 'base/conv_a', 'base/conv_b', 'gap', 'gmp', 'as_image', 'mix', 'probabilities']) assert.ok(source.layerValues.has(name), name);
      assert.strictEqual(source.layerValues.get('base'), source.layerValues.get('base/conv_b'));
      assert.deepStrictEqual(source.hwc, [9, 10, 3]);
      assert.strictEqual(source.proto.opsetImport[0].version, 13);
      const values = [...source.layerValues.entries()];
      const session = await ort.InferenceSession.create(
        encodeModelProto({ ...source.proto, graph: { ...source.proto.graph!, output: values.map(([, value]) => ({ name: value })) } }),
      );
      const result = await session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 9 * 10), [1, 3, 9, 10]) });
      await session.release();
      const shapes = Object.fromEntries(values.map(([name, value]) => [name, [...result[value].dims]]));
      assert.deepStrictEqual(shapes['base/conv_a'], [1, 5, 7, 8]);
      assert.deepStrictEqual(shapes['base/conv_b'], [1, 6, 4, 4]);
      assert.deepStrictEqual(shapes['as_image'], [1, 3, 2, 2]);
      assert.deepStrictEqual(shapes['gap'], [1, 6]);
    } finally {
      model.dispose();
    }
  });

  const files = [
    path.join(REPO, 'samples', 'workspace', 'model', 'model.json'),
    path.join(REPO, 'test', 'fixtures', 'keras', 'sample_cnn.h5'),
    path.join(REPO, 'test', 'fixtures', 'keras', 'sample_cnn.keras'),
  ];
  const cases: { name: string; load: () => Promise<LoadedModel>; layer?: string }[] = [
    ...files.map((file) => ({ name: path.relative(REPO, file), load: () => loadModel(file) })),
    { name: 'a model with every exported layer', load: async () => inMemory(everyLayerModel()), layer: 'concat' },
    { name: 'a nested model', load: async () => inMemory(nestedModel()), layer: 'base/conv_b' },
  ];
  for (const { name, load, layer } of cases) {
    it(`every method's map on ${name} on ONNX Runtime equals the wasm engine's`, async () => {
      await initBackend('wasm');
      const model = await load();
      try {
        const reference = new Map<MethodName, CamResult>();
        for (const method of METHOD_NAMES) reference.set(method, await explain(model, image, { method, layer, options: OPTIONS }));
        await initBackend('onnxruntime');
        for (const method of METHOD_NAMES) {
          const result = await explain(model, image, { method, layer, options: OPTIONS });
          assert.strictEqual(result.details?.nativeFallback, undefined, `${method}: ${result.details?.nativeFallback}`);
          assert.strictEqual(result.backend, 'onnxruntime', method);
          const expected = reference.get(method) as CamResult;
          assertSameResult(result, expected, method);
        }
      } finally {
        model.dispose();
        await initBackend('wasm');
      }
    });
  }

  it("each output of a two-headed model (class scores, a binary logit) on ONNX Runtime equals the wasm engine's", async () => {
    await initBackend('wasm');
    const model = inMemory(twoHeadModel());
    try {
      const requests = [0, 1].flatMap((output) => (['gradcam', 'saliency', 'scorecam'] as const).map((method) => ({ method, output, layer: 'trunk' })));
      const reference: CamResult[] = [];
      for (const request of requests) reference.push(await explain(model, image, request));
      await initBackend('onnxruntime');
      for (const [i, request] of requests.entries()) {
        const result = await explain(model, image, request);
        const expected = reference[i];
        assert.strictEqual(result.backend, 'onnxruntime', `${request.method} on output ${request.output}: ${result.details?.nativeFallback}`);
        assert.strictEqual(result.classIndex, expected.classIndex);
        assert.ok(Math.abs(result.score - expected.score) <= 1e-4 * Math.max(1, Math.abs(expected.score)), `${request.method} on output ${request.output}: score ${result.score} vs ${expected.score}`);
        const difference = maxDifference(result.cam.data, expected.cam.data);
        assert.ok(difference <= DEFAULT_TOLERANCE, `${request.method} on output ${request.output}: maps differ by ${difference}`);
      }
    } finally {
      model.dispose();
      await initBackend('wasm');
    }
  });

  it("a GlobalMaxPooling2D over a saturated ReLU6 channel (every value a tied maximum) gives tfjs's gradient to each tie", async () => {
    const input = tf.input({ shape: [7, 9, 3] });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu6', name: 'conv' });
    const pooled = apply(tf.layers.globalMaxPooling2d({ name: 'gmp' }), apply(conv, input));
    const built = tf.model({ inputs: input, outputs: apply(tf.layers.dense({ units: 3, activation: 'softmax', name: 'head' }), pooled), name: 'dead_channel' });
    randomizeWeights(built, 21);
    // Channel 2's bias far above anything its kernel adds: 6 everywhere after the ReLU6, all tied
    // (relu6 passes the gradient at 6, so each tie's share reaches the map).
    const bias = tf.tensor1d([0.1, 0.2, 100]);
    conv.setWeights([conv.getWeights()[0], bias]);
    bias.dispose();
    const model = inMemory(built);
    try {
      await initBackend('wasm');
      const requests = [{ method: 'gradcam' as const, layer: 'conv', classIndex: 0 }, { method: 'hirescam' as const, layer: 'conv', classIndex: 1 }];
      const expected: CamResult[] = [];
      for (const request of requests) expected.push(await explain(model, image, request));
      await initBackend('onnxruntime');
      for (const [i, request] of requests.entries()) {
        const result = await explain(model, image, request);
        assert.strictEqual(result.backend, 'onnxruntime', result.details?.nativeFallback);
        const difference = maxDifference(result.layerCam.data, expected[i].layerCam.data);
        assert.ok(difference <= 1e-5 * Math.max(1, ...expected[i].layerCam.data.map(Math.abs)), `${request.method}: raw maps differ by ${difference}`);
      }
    } finally {
      model.dispose();
      await initBackend('wasm');
    }
  });

  it('the engine worker on auto explains a Keras model on ONNX Runtime', async () => {
    const client = engineFromSource({ backend: () => 'auto' });
    try {
      const modelPath = path.join(REPO, 'test', 'fixtures', 'keras', 'sample_cnn.h5');
      const imagePath = path.join(REPO, 'samples', 'workspace', 'images', 'sample.png');
      const { result } = await client.explain({ modelPath, imagePath, request: { method: 'smoothgrad', options: { samples: 4 } } });
      assert.strictEqual(result.backend, 'onnxruntime', result.details?.nativeFallback);
      assert.strictEqual(result.details?.inputsElsewhere, undefined);
    } finally {
      client.dispose();
    }
  });

  it('a layer without an ONNX export runs the model on the tfjs engine, the result naming the layer and its class', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const conv = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv' }), input);
    const elu = apply(tf.layers.elu({ name: 'odd_one' }), conv);
    const head = apply(tf.layers.dense({ units: 3, activation: 'softmax', name: 'head' }), apply(tf.layers.flatten({ name: 'flat' }), elu));
    const built = tf.model({ inputs: input, outputs: head, name: 'with_elu' });
    randomizeWeights(built, 3);
    const model = inMemory(built);
    try {
      await initBackend('wasm');
      const expected = await explain(model, image, { method: 'gradcam', layer: 'conv' });
      await initBackend('auto');
      for (const method of ['gradcam', 'eigencam'] as const) {
        const result = await explain(model, image, { method, layer: 'conv' });
        assert.notStrictEqual(result.backend, 'onnxruntime', method);
        assert.match(result.details?.nativeFallback ?? '', /cannot be exported to ONNX: layer "odd_one" \(ELU\) has no ONNX export/);
        if (method === 'gradcam') assert.ok(maxDifference(result.cam.data, expected.cam.data) <= DEFAULT_TOLERANCE);
      }
    } finally {
      model.dispose();
      await initBackend('wasm');
    }
  });
});
