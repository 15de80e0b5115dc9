// TF.js graph models exported to ONNX (onnxRuntime/exportGraphNodes.ts) and run by the native
// engine: the converted fixture (fused convolutions, batch norm, max pools, a spatial Mean, a fused
// MatMul, Softmax) and a hand-made graph crossing every exported op on odd sizes — plain and fused
// convolutions (fused BiasAdd, FusedBatchNorm, Relu, LeakyRelu), depthwise with a multiplier,
// 'SAME' with stride 2 (uneven pads), BiasAdd, Relu6, Sigmoid, Tanh, both 'SAME' pools, a batch
// norm, Add/AddV2/Sub/Mul/RealDiv with constants and with each other, ConcatV2, Pad, Mean/Max/Sum
// over height and width, Squeeze, ExpandDims, Reshape (to a constant shape, and to the [batch, -1]
// that Shape → StridedSlice → Pack computes), MatMul (transposed weights), Identity.
// The exported graph's outputs equal tfjs's, every method's map on ONNX Runtime equals the wasm
// engine's, and an op without an export runs the model on the tfjs engine, saying which node.
import * as assert from 'assert';
import { assertSameResult, DEFAULT_TOLERANCE, maxDifference } from './fixtures/sameMaps';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain, initBackend, loadModel, readImage, type LoadedModel } from '../../src/engine/index';
import { encodeModelProto } from '../../src/engine/models/onnx/onnxProto';
import { exportLayersModel } from '../../src/engine/onnxRuntime/exportLayers';
import { withPadsKeptBeforeMaxPools } from '../../src/engine/onnxRuntime/padFusion';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnxRuntime/runtime';
import { layerEntries } from '../../src/engine/execution/layers';
import { computeLogits } from '../../src/engine/execution/graph';
import { METHOD_NAMES, type CamResult, type MethodName, type RgbaImage } from '../../src/shared/types';
import { seededRandom } from '../fixtures/models';
import { bool, float, int, intList, str, strList, writeGraphModel, type ConstSpec, type GraphNodeSpec } from './fixtures/graphModel';
import * as tf from '../../src/engine/tf';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'graph-model', 'model.json');
const OPTIONS = { samples: 4, steps: 6 };
// As onnxRuntime.test.ts compares the native engine with the wasm one.

function values(count: number, seed: number, scale: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => random() * scale);
}

function constant(shape: number[], seed: number, scale = 1, offset = 0): ConstSpec {
  return { shape, values: values(shape.reduce((a, b) => a * b, 1), seed, scale).map((v) => v + offset) };
}

const ints32 = (list: number[], shape = [list.length]): ConstSpec => ({ shape, values: list, dtype: 'int32' });
const same = (stride: number) => ({ strides: intList([1, stride, stride, 1]), padding: str('SAME'), data_format: str('NHWC') });

/** A graph of every exported op on a 9×11×3 image (see the header). */
function everyOpGraph(folder: string): string {
  const consts: Record<string, ConstSpec> = {
    scale: constant([3], 1, 0.5, 3),
    paddings: ints32([0, 0, 1, 2, 2, 1, 0, 0], [4, 2]),
    conv_w: constant([3, 3, 3, 4], 2, 0.8),
    conv_b: constant([4], 3, 0.2),
    dw_w: constant([3, 3, 4, 2], 4, 0.5),
    dw_b: constant([8], 5, 0.2),
    dw2_w: constant([2, 2, 8, 1], 6, 0.5),
    fconv_w: constant([1, 1, 8, 6], 7, 0.5),
    fbn_scale: constant([6], 8, 0.3, 1),
    fbn_offset: constant([6], 9, 0.2),
    fbn_mean: constant([6], 10, 0.2),
    fbn_var: constant([6], 11, 0.3, 1),
    two: { shape: [], values: [2] },
    shift: constant([6], 12, 0.3),
    bn_scale: constant([6], 13, 0.3, 1),
    bn_offset: constant([6], 14, 0.2),
    bn_mean: constant([6], 15, 0.2),
    bn_var: constant([6], 16, 0.3, 1),
    spatial: ints32([1, 2]),
    last: ints32([-1], []),
    one_axis: ints32([1], []),
    flat_shape: ints32([-1, 12]),
    batch_begin: ints32([0]),
    batch_end: ints32([1]),
    batch_stride: ints32([1]),
    rest: ints32([-1], []),
    mm_w: constant([48, 5], 17, 0.3),
    mm_b: constant([5], 18, 0.1),
    mm2_w: constant([5, 48], 19, 0.3),
  };
  const nodes: GraphNodeSpec[] = [
    { name: 'scaled', op: 'Mul', input: ['input', 'scale'] },
    { name: 'pad', op: 'Pad', input: ['scaled', 'paddings'] },
    { name: 'conv', op: 'Conv2D', input: ['pad', 'conv_w'], attr: same(2) },
    { name: 'bias', op: 'BiasAdd', input: ['conv', 'conv_b'], attr: { data_format: str('NHWC') } },
    { name: 'relu6', op: 'Relu6', input: ['bias'] },
    { name: 'dw', op: 'FusedDepthwiseConv2dNative', input: ['relu6', 'dw_w', 'dw_b'], attr: { ...same(1), fused_ops: strList(['BiasAdd', 'LeakyRelu']), leakyrelu_alpha: float(0.1), num_args: int(1) } },
    { name: 'dw2', op: 'DepthwiseConv2dNative', input: ['dw', 'dw2_w'], attr: { strides: intList([1, 1, 1, 1]), padding: str('VALID') } },
    {
      name: 'fconv',
      op: '_FusedConv2D',
      input: ['dw2', 'fconv_w', 'fbn_scale', 'fbn_offset', 'fbn_mean', 'fbn_var'],
      attr: { strides: intList([1, 1, 1, 1]), padding: str('VALID'), fused_ops: strList(['FusedBatchNorm', 'Relu']), epsilon: float(1e-3), num_args: int(4) },
    },
    { name: 'avg', op: 'AvgPool', input: ['fconv'], attr: { ...same(2), ksize: intList([1, 3, 3, 1]) } },
    { name: 'sig', op: 'Sigmoid', input: ['avg'] },
    { name: 'tanh', op: 'Tanh', input: ['avg'] },
    { name: 'sub', op: 'Sub', input: ['sig', 'tanh'] },
    { name: 'div', op: 'RealDiv', input: ['sub', 'two'] },
    { name: 'addv2', op: 'AddV2', input: ['div', 'avg'] },
    { name: 'add', op: 'Add', input: ['addv2', 'shift'] },
    { name: 'max', op: 'MaxPool', input: ['add'], attr: { ...same(1), ksize: intList([1, 2, 2, 1]) } },
    { name: 'bn', op: 'FusedBatchNormV3', input: ['max', 'bn_scale', 'bn_offset', 'bn_mean', 'bn_var'], attr: { epsilon: float(1e-3), data_format: str('NHWC') } },
    { name: 'cat', op: 'ConcatV2', input: ['bn', 'add', 'last'], attr: { N: int(2) } },
    { name: 'gap', op: 'Mean', input: ['cat', 'spatial'], attr: { keep_dims: bool(false) } },
    { name: 'gmp', op: 'Max', input: ['cat', 'spatial'], attr: { keep_dims: bool(false) } },
    { name: 'gsum', op: 'Sum', input: ['cat', 'spatial'], attr: { keep_dims: bool(true) } },
    { name: 'sq', op: 'Squeeze', input: ['gsum'], attr: { squeeze_dims: intList([1, 2]) } },
    { name: 'expanded', op: 'ExpandDims', input: ['gap', 'one_axis'] },
    { name: 'flat', op: 'Reshape', input: ['expanded', 'flat_shape'] },
    // The flatten a converted Keras Flatten writes for a dynamic batch: Reshape(x, [batch, -1]).
    { name: 'gsum/Shape', op: 'Shape', input: ['gsum'] },
    { name: 'gsum/batch', op: 'StridedSlice', input: ['gsum/Shape', 'batch_begin', 'batch_end', 'batch_stride'], attr: { shrink_axis_mask: int(1) } },
    { name: 'gsum/shape', op: 'Pack', input: ['gsum/batch', 'rest'], attr: { axis: int(0), N: int(2) } },
    { name: 'gsum/flat', op: 'Reshape', input: ['gsum', 'gsum/shape'] },
    { name: 'features', op: 'ConcatV2', input: ['flat', 'gmp', 'sq', 'gsum/flat', 'one_axis'], attr: { N: int(4) } },
    { name: 'logits', op: '_FusedMatMul', input: ['features', 'mm_w', 'mm_b'], attr: { transpose_a: bool(false), transpose_b: bool(false), fused_ops: strList(['BiasAdd']), num_args: int(1) } },
    { name: 'mm2', op: 'MatMul', input: ['features', 'mm2_w'], attr: { transpose_a: bool(false), transpose_b: bool(true) } },
    { name: 'sum_logits', op: 'AddV2', input: ['logits', 'mm2'] },
    { name: 'probs', op: 'Softmax', input: ['sum_logits'] },
    { name: 'Identity', op: 'Identity', input: ['probs'] },
  ];
  return writeGraphModel(folder, { hwc: [9, 11, 3], consts, nodes });
}

/** A small graph with an Elu, which the export does not write. */
function eluGraph(folder: string): string {
  const consts: Record<string, ConstSpec> = { w: constant([3, 3, 3, 4], 21, 0.4), spatial: ints32([1, 2]), mm_w: constant([4, 3], 22, 0.5) };
  const nodes: GraphNodeSpec[] = [
    { name: 'conv', op: 'Conv2D', input: ['input', 'w'], attr: same(1) },
    { name: 'odd_one', op: 'Elu', input: ['conv'] },
    { name: 'gap', op: 'Mean', input: ['odd_one', 'spatial'], attr: { keep_dims: bool(false) } },
    { name: 'logits', op: 'MatMul', input: ['gap', 'mm_w'] },
    { name: 'probs', op: 'Softmax', input: ['logits'] },
  ];
  return writeGraphModel(folder, { hwc: [8, 8, 3], consts, nodes });
}


const runtime = loadOnnxRuntime();

describe('ONNX export of TF.js graph models', function () {
  this.timeout(300_000);
  let image: RgbaImage;
  let ort: OrtModule;
  let folder: string;
  let everyOp: string;

  before(async function () {
    if ('failure' in runtime) {
      this.skip(); // onnxruntime-node is optional
    }
    ort = runtime.ort;
    image = await readImage(path.join(REPO, 'samples', 'workspace', 'images', 'sample.png'));
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-graph-export-'));
    everyOp = everyOpGraph(path.join(folder, 'every_op'));
    await initBackend('wasm');
  });
  after(async () => {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    await initBackend('wasm');
  });

  /**
   * The loaded model's exported graph on ONNX Runtime next to the engine's tfjs forward pass, on a
   * batch of random NHWC inputs: the logits (the final Softmax's input).
   */
  async function compareOutputs(model: LoadedModel): Promise<void> {
    const network = model.model;
    const source = exportLayersModel(network);
    const graph = source.proto.graph as NonNullable<typeof source.proto.graph>;
    const softmax = graph.node.find((n) => n.opType === 'Softmax' && n.output[0] === graph.output[0].name);
    assert.ok(softmax, 'the exported graph ends with its Softmax');
    const [, h, w, c] = network.inputs[0].shape as number[];
    const input = tf.randomNormal([3, h, w, c], 0, 1, 'float32', 5) as tf.Tensor4D;
    const logits = computeLogits(network, input);
    const expected = (await logits.data()) as Float32Array;
    logits.dispose();
    const session = await ort.InferenceSession.create(encodeModelProto(withPadsKeptBeforeMaxPools({ ...source.proto, graph: { ...graph, output: [{ name: softmax.input[0] }] } })));
    try {
      const nchw = tf.transpose(input, [0, 3, 1, 2]);
      const result = await session.run({ input: new ort.Tensor('float32', (await nchw.data()) as Float32Array, nchw.shape) });
      nchw.dispose();
      const actual = result[softmax.input[0]].data as Float32Array;
      const scale = Math.max(...expected.map(Math.abs));
      assert.ok(scale > 1e-3);
      assert.ok(maxDifference(actual, expected) <= 1e-4 * scale, `outputs differ by ${maxDifference(actual, expected)} (scale ${scale})`);
      // Every 4-D node layer is listed with an NCHW value of its shape.
      const listed = layerEntries(network).filter((e) => e.info.spatial && e.info.className !== 'InputLayer');
      assert.ok(listed.length > 3);
      const probe = await ort.InferenceSession.create(
        encodeModelProto({ ...source.proto, graph: { ...graph, output: listed.map((e) => ({ name: source.layerValues.get(e.info.name) ?? `missing ${e.info.name}` })) } }),
      );
      try {
        const values = await probe.run({ input: new ort.Tensor('float32', new Float32Array(h * w * c), [1, c, h, w]) });
        for (const entry of listed) {
          const [, eh, ew, ec] = entry.info.outputShape as number[];
          assert.deepStrictEqual([...values[source.layerValues.get(entry.info.name) as string].dims], [1, ec, eh, ew], entry.info.name);
        }
      } finally {
        await probe.release();
      }
    } finally {
      await session.release();
      input.dispose();
    }
  }

  for (const [name, file] of [
    ['the converted fixture', () => FIXTURE],
    ['a graph of every exported op', () => everyOp],
  ] as const) {
    it(`${name}: the exported graph computes tfjs's logits on a batch, each 4-D node layer listed NCHW`, async () => {
      await initBackend('wasm');
      const model = await loadModel(file());
      try {
        await compareOutputs(model);
      } finally {
        model.dispose();
      }
    });

    it(`${name}: every method's map on ONNX Runtime equals the wasm engine's`, async () => {
      await initBackend('wasm');
      let model = await loadModel(file());
      // The default layer, and an early one (the layer's cut graph then runs most of the ops).
      const early = layerEntries(model.model).find((e) => e.info.spatial && e.info.className !== 'InputLayer')?.info.name;
      const requests: { method: MethodName; options?: typeof OPTIONS; layer?: string }[] = [
        ...METHOD_NAMES.map((method) => ({ method, options: OPTIONS })),
        { method: 'gradcam', layer: early },
        { method: 'scorecam', layer: early },
      ];
      const reference: CamResult[] = [];
      try {
        for (const request of requests) reference.push(await explain(model, image, request));
      } finally {
        model.dispose();
      }
      await initBackend('onnxruntime');
      model = await loadModel(file());
      try {
        for (const [i, request] of requests.entries()) {
          const label = `${request.method} at ${request.layer ?? 'the default layer'}`;
          const result = await explain(model, image, request);
          const expected = reference[i];
          assert.strictEqual(result.details?.nativeFallback, undefined, `${label}: ${result.details?.nativeFallback}`);
          assert.strictEqual(result.backend, 'onnxruntime', label);
          assertSameResult(result, expected, request.method, label);
        }
      } finally {
        model.dispose();
        await initBackend('wasm');
      }
    });
  }

  it('an op without an ONNX export runs the model on the tfjs engine, the result naming the node and its op', async () => {
    const file = eluGraph(path.join(folder, 'elu'));
    await initBackend('wasm');
    let model = await loadModel(file);
    const expected = await explain(model, image, { method: 'gradcam', layer: 'conv' });
    model.dispose();
    await initBackend('auto');
    model = await loadModel(file);
    try {
      const result = await explain(model, image, { method: 'gradcam', layer: 'conv' });
      assert.notStrictEqual(result.backend, 'onnxruntime');
      assert.match(result.details?.nativeFallback ?? '', /cannot be exported to ONNX: layer "odd_one" \(Elu\) is an operator of a TF\.js graph model without an ONNX export \(exported: .*Conv2D.*\)/);
      assert.ok(maxDifference(result.cam.data, expected.cam.data) <= DEFAULT_TOLERANCE);
    } finally {
      model.dispose();
      await initBackend('wasm');
    }
  });
});
