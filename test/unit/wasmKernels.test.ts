// The wasm gradient kernels of src/engine/kernels/wasm: each against the cpu backend's kernel on
// varied shapes (and, where the cpu kernel ignores dilations, against the definition), the
// replaced MaxPoolGrad / ResizeNearestNeighborGrad against cpu, gradients through MobileNetV2- and
// ResNet-style models equal on wasm and cpu, Grad-CAM maps equal on both, and no leaks.
import * as assert from 'assert';
// backend.ts before tf.ts, as the engine loads them (see gradcam.test.ts).
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, wrapModel } from '../../src/engine/index';
import { flippedFilterCache } from '../../src/engine/kernels/wasm/conv2dBackpropInput';
import { FASTER_WASM_KERNELS, MISSING_WASM_KERNELS, REPLACED_WASM_KERNELS, registerWasmGradientKernels } from '../../src/engine/kernels/wasm';
import { MOBILENET_LAYERS, RESNET_LAYERS, buildMobileNetV2Style, buildResNetStyle } from '../fixtures/architectures';
import { seededRandom } from '../fixtures/models';
import type { RgbaImage } from '../../src/shared/types';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface Data {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

interface KernelCase {
  label: string;
  kernel: string;
  inputs: Record<string, Data>;
  attrs: tf.NamedAttrMap;
}

function randomData(shape: number[], seed: number): Data {
  const random = seededRandom(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => random());
  return { values, shape, dtype: 'float32' };
}

function runKernel(c: KernelCase): Float32Array {
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = {};
    for (const [name, d] of Object.entries(c.inputs)) {
      inputs[name] = tf.tensor(d.values, d.shape, d.dtype);
    }
    const out = tf.engine().runKernel(c.kernel, inputs, c.attrs) as tf.Tensor;
    return Float32Array.from(out.dataSync());
  });
}

/** Largest |a − b| relative to the largest |b|; fails on length mismatch or an all-zero reference. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): number {
  assert.strictEqual(actual.length, expected.length, `${label}: length`);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
  }
  assert.ok(scale > 0, `${label}: the reference is all zeros, so the comparison would prove nothing`);
  return err / scale;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label: string): void {
  const err = relativeError(actual, expected, label);
  assert.ok(err < tolerance, `${label}: relative error ${err.toExponential(2)} ≥ ${tolerance}`);
}

/** Runs every case on cpu, then on wasm (with the registered kernels); returns both results. */
async function onCpuAndWasm<T>(run: () => T): Promise<{ cpu: T; wasm: T }> {
  await initBackend('cpu');
  const cpu = run();
  await initBackend('wasm');
  const wasm = run();
  return { cpu, wasm };
}

// ---------------------------------------------------------------------------------------------
// Cases

interface ConvCase {
  x: Shape4; // NHWC
  filter: Shape4; // [kh, kw, in, out] or depthwise [kh, kw, in, multiplier]
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  nchw?: boolean;
}

const CONV_CASES: ConvCase[] = [
  { x: [1, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [1, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 9, 7, 2], filter: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { x: [2, 9, 7, 2], filter: [3, 3, 2, 5], strides: 2, pad: 'valid' },
  { x: [1, 10, 10, 4], filter: [3, 3, 4, 4], strides: 2, pad: 'same' },
  { x: [1, 10, 10, 4], filter: [3, 3, 4, 4], strides: 2, pad: 'valid' },
  { x: [3, 6, 5, 1], filter: [2, 2, 1, 3], strides: [2, 1], pad: 'valid' },
  { x: [1, 7, 11, 3], filter: [1, 1, 3, 6], strides: 2, pad: 'valid' },
  { x: [1, 7, 11, 3], filter: [1, 1, 3, 6], strides: 1, pad: 'same' },
  { x: [2, 5, 5, 3], filter: [5, 5, 3, 2], strides: 1, pad: 'same' },
  { x: [1, 13, 9, 2], filter: [3, 5, 2, 3], strides: [1, 2], pad: 'same' },
  { x: [1, 8, 8, 3], filter: [3, 3, 3, 2], strides: 1, pad: 1 },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 2], strides: 2, pad: 2 },
  { x: [1, 7, 7, 2], filter: [3, 3, 2, 3], strides: 2, pad: 1, dimRoundingMode: 'ceil' },
  { x: [1, 8, 9, 2], filter: [3, 3, 2, 3], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 8, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [1, 12, 12, 3], filter: [3, 3, 3, 4], strides: 3, pad: 'valid' },
  { x: [1, 12, 12, 3], filter: [7, 7, 3, 2], strides: 2, pad: 'same' },
  { x: [1, 1, 1, 4], filter: [1, 1, 4, 3], strides: 1, pad: 'valid' },
  { x: [4, 3, 3, 2], filter: [3, 3, 2, 2], strides: 1, pad: 'valid' },
  { x: [1, 9, 7, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same', nchw: true },
  // Explicit pads of NCHW data are in NCHW order.
  { x: [2, 6, 8, 2], filter: [2, 3, 2, 3], strides: 1, pad: [[0, 0], [0, 0], [1, 0], [2, 1]], nchw: true },
];

interface DepthwiseCase extends ConvCase {
  /** The cpu kernels ignore dilations: these cases are checked against the definition instead. */
  dilated?: boolean;
}

const DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [1, 8, 8, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { x: [1, 8, 8, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'valid' },
  { x: [2, 9, 7, 4], filter: [3, 3, 4, 1], strides: 2, pad: 'same' },
  { x: [2, 9, 7, 4], filter: [3, 3, 4, 1], strides: 2, pad: 'valid' },
  { x: [1, 10, 10, 2], filter: [3, 3, 2, 2], strides: 2, pad: 'same' },
  { x: [1, 11, 9, 3], filter: [3, 3, 3, 3], strides: 1, pad: 'same' },
  { x: [3, 6, 5, 2], filter: [2, 2, 2, 2], strides: [2, 1], pad: 'valid' },
  { x: [1, 13, 13, 5], filter: [5, 5, 5, 1], strides: 2, pad: 'same' },
  { x: [1, 12, 12, 2], filter: [3, 3, 2, 1], strides: 3, pad: 'valid' },
  { x: [2, 7, 8, 3], filter: [3, 3, 3, 2], strides: 1, pad: 1 },
  { x: [1, 9, 9, 2], filter: [3, 3, 2, 1], strides: 2, pad: 2 },
  { x: [1, 7, 7, 2], filter: [3, 3, 2, 1], strides: 2, pad: 1, dimRoundingMode: 'ceil' },
  { x: [1, 8, 9, 2], filter: [3, 3, 2, 2], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 8, 9, 2], filter: [3, 3, 2, 1], strides: 2, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [1, 6, 5, 4], filter: [1, 1, 4, 3], strides: 1, pad: 'valid' },
  { x: [1, 1, 1, 3], filter: [1, 1, 3, 2], strides: 1, pad: 'same' },
  { x: [4, 4, 4, 1], filter: [3, 3, 1, 4], strides: 1, pad: 'valid' },
  { x: [1, 10, 10, 2], filter: [3, 3, 2, 1], strides: 1, pad: 'same', dilations: 2, dilated: true },
  { x: [2, 11, 9, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'valid', dilations: [2, 3], dilated: true },
  { x: [1, 12, 12, 2], filter: [2, 3, 2, 1], strides: 1, pad: [[0, 0], [1, 2], [3, 0], [0, 0]], dilations: [3, 1], dilated: true },
  { x: [1, 13, 11, 2], filter: [3, 3, 2, 2], strides: 2, pad: 'same', dilations: 2, dilated: true },
];

function convInfoOf(c: ConvCase, depthwise: boolean): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations ?? 1, c.pad, c.dimRoundingMode, depthwise);
}

function describeCase(c: ConvCase): string {
  return `x [${c.x}] filter [${c.filter}] strides ${c.strides} pad ${JSON.stringify(c.pad)}${c.dilations ? ` dilations ${c.dilations}` : ''}${c.dimRoundingMode ? ` ${c.dimRoundingMode}` : ''}${c.nchw ? ' NCHW' : ''}`;
}

function toNchw(d: Data): Data {
  const [n, h, w, c] = d.shape;
  const values = new Float32Array(d.values.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    values[((b * c + k) * h + y) * w + x] = d.values[((b * h + y) * w + x) * c + k];
  }
  return { values, shape: [n, c, h, w], dtype: 'float32' };
}

function conv2dBackpropFilterCase(c: ConvCase, seed: number): KernelCase {
  const [n, h, w, ch] = c.x;
  const info = c.nchw
    ? tf.backend_util.computeConv2DInfo([n, ch, h, w], c.filter, c.strides, 1, c.pad, c.dimRoundingMode, false, 'channelsFirst')
    : convInfoOf(c, false);
  let x = randomData(c.x, seed);
  // outShape is in the data format's order; dy is drawn in NHWC order and converted like x.
  const [, oh, ow] = c.nchw ? [0, info.outHeight, info.outWidth] : info.outShape;
  let dy = randomData([n, oh, ow, info.outChannels], seed + 1);
  if (c.nchw) {
    x = toNchw(x);
    dy = toNchw(dy);
  }
  return {
    label: describeCase(c),
    kernel: tf.Conv2DBackpropFilter,
    inputs: { x, dy },
    attrs: { strides: c.strides, pad: c.pad, dataFormat: c.nchw ? 'NCHW' : 'NHWC', dimRoundingMode: c.dimRoundingMode, filterShape: c.filter } as unknown as tf.NamedAttrMap,
  };
}

function conv2dBackpropInputCase(c: ConvCase, seed: number): KernelCase {
  const [n, h, w, ch] = c.x;
  const info = c.nchw
    ? tf.backend_util.computeConv2DInfo([n, ch, h, w], c.filter, c.strides, 1, c.pad, c.dimRoundingMode, false, 'channelsFirst')
    : convInfoOf(c, false);
  let dy = randomData([n, info.outHeight, info.outWidth, info.outChannels], seed);
  if (c.nchw) {
    dy = toNchw(dy);
  }
  return {
    label: describeCase(c),
    kernel: tf.Conv2DBackpropInput,
    inputs: { dy, filter: randomData(c.filter, seed + 1) },
    attrs: {
      strides: c.strides,
      pad: c.pad,
      dataFormat: c.nchw ? 'NCHW' : 'NHWC',
      dimRoundingMode: c.dimRoundingMode,
      inputShape: c.nchw ? [n, ch, h, w] : c.x,
    } as unknown as tf.NamedAttrMap,
  };
}

function depthwiseCases(c: DepthwiseCase, seed: number): { input: KernelCase; filter: KernelCase } {
  const info = convInfoOf(c, true);
  const x = randomData(c.x, seed);
  const f = randomData(c.filter, seed + 1);
  const dy = randomData(info.outShape, seed + 2);
  const common = { strides: c.strides, dilations: c.dilations ?? 1, pad: c.pad, dimRoundingMode: c.dimRoundingMode };
  return {
    input: { label: describeCase(c), kernel: tf.DepthwiseConv2dNativeBackpropInput, inputs: { dy, filter: f }, attrs: { ...common, inputShape: c.x } as unknown as tf.NamedAttrMap },
    filter: { label: describeCase(c), kernel: tf.DepthwiseConv2dNativeBackpropFilter, inputs: { x, dy }, attrs: { ...common, filterShape: c.filter } as unknown as tf.NamedAttrMap },
  };
}

/**
 * The definition of both depthwise gradients, straight from the forward sum
 * y[b, oh, ow, c·M + q] = Σ_{kh, kw} x[b, oh·s + kh·d − top, ow·s + kw·d − left, c] · f[kh, kw, c, q].
 */
function depthwiseReference(c: DepthwiseCase, k: { input: KernelCase; filter: KernelCase }): { dx: Float64Array; dW: Float64Array } {
  const info = convInfoOf(c, true);
  const [batch, height, width, channels] = c.x;
  const [kh, kw, , multiplier] = c.filter;
  const x = k.filter.inputs.x.values;
  const f = k.input.inputs.filter.values;
  const dy = k.input.inputs.dy.values;
  const { outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const dx = new Float64Array(x.length);
  const dW = new Float64Array(f.length);
  for (let b = 0; b < batch; b++) for (let oh = 0; oh < outHeight; oh++) for (let ow = 0; ow < outWidth; ow++) {
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const h = oh * strideHeight + i * dilationHeight - top;
      const w = ow * strideWidth + j * dilationWidth - left;
      if (h < 0 || h >= height || w < 0 || w >= width) continue;
      for (let ch = 0; ch < channels; ch++) for (let q = 0; q < multiplier; q++) {
        const g = dy[((b * outHeight + oh) * outWidth + ow) * channels * multiplier + ch * multiplier + q];
        const xi = ((b * height + h) * width + w) * channels + ch;
        const fi = ((i * kw + j) * channels + ch) * multiplier + q;
        dx[xi] += g * f[fi];
        dW[fi] += g * x[xi];
      }
    }
  }
  return { dx, dW };
}

const TOLERANCE = 1e-5;

describe('wasm gradient kernels', function () {
  this.timeout(120000);

  before(async () => {
    await initBackend('wasm');
  });
  after(async () => {
    tf.env().set('IS_TEST', false);
    await initBackend('cpu');
  });

  describe('registration', () => {
    it('registers the missing kernels for wasm, and stays idempotent', () => {
      registerWasmGradientKernels();
      registerWasmGradientKernels();
      for (const config of [...MISSING_WASM_KERNELS, ...REPLACED_WASM_KERNELS, ...FASTER_WASM_KERNELS]) {
        assert.strictEqual(tf.getKernel(config.kernelName, 'wasm'), config, `${config.kernelName} is ours`);
        assert.ok(tf.getKernel(config.kernelName, 'cpu'), `cpu has ${config.kernelName} to compare with`);
      }
      assert.deepStrictEqual(
        MISSING_WASM_KERNELS.map((k) => k.kernelName).sort(),
        ['CnnLensMaskedGrad', 'Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum'],
      );
    });

    it('leaves kernels that wasm already has alone (AvgPoolGrad, Conv2D), replacing only the listed ones', () => {
      assert.deepStrictEqual(FASTER_WASM_KERNELS.map((k) => k.kernelName), ['Conv2DBackpropInput', 'Identity', 'Slice']);
      for (const name of [tf.AvgPoolGrad, tf.Conv2D]) {
        const kernel = tf.getKernel(name, 'wasm');
        assert.ok(kernel);
        assert.ok(![...MISSING_WASM_KERNELS, ...REPLACED_WASM_KERNELS, ...FASTER_WASM_KERNELS].includes(kernel), name);
      }
    });
  });

  describe('against the cpu kernels', () => {
    before(() => tf.env().set('IS_TEST', true)); // the engine then checks kernels for leaked data ids
    after(() => tf.env().set('IS_TEST', false));

    it(`Conv2DBackpropFilter on ${CONV_CASES.length} shapes`, async () => {
      const cases = CONV_CASES.map((c, i) => conv2dBackpropFilterCase(c, 100 + i));
      const { cpu, wasm } = await onCpuAndWasm(() => cases.map(runKernel));
      cases.forEach((c, i) => assertClose(wasm[i], cpu[i], TOLERANCE, c.label));
    });

    it('Identity shares the buffer (no copy), keeps values and frees it only with the last reference', async () => {
      await initBackend('wasm');
      const before = tf.memory().numBytes;
      const x = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const y = tf.engine().runKernel(tf.Identity, { x }) as tf.Tensor;
      assert.strictEqual(y.dataId, x.dataId);
      assert.deepStrictEqual(y.shape, [2, 3]);
      x.dispose();
      assert.deepStrictEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6], 'y outlives x');
      const initial = tf.tensor([1, 2]);
      const next = tf.tensor([7, 8]);
      const v = tf.variable(initial);
      const read = tf.engine().runKernel(tf.Identity, { x: v }) as tf.Tensor;
      v.assign(next);
      assert.deepStrictEqual(Array.from(read.dataSync()), [1, 2], 'an earlier read keeps its values after assign');
      assert.deepStrictEqual(Array.from(v.dataSync()), [7, 8]);
      tf.dispose([y, v, read, initial, next]);
      assert.strictEqual(tf.memory().numBytes, before);
    });

    it(`Conv2DBackpropInput (a forward convolution of the spread dy) on ${CONV_CASES.length} shapes`, async () => {
      const cases = CONV_CASES.map((c, i) => conv2dBackpropInputCase(c, 150 + i));
      const { cpu, wasm } = await onCpuAndWasm(() => cases.map(runKernel));
      cases.forEach((c, i) => assertClose(wasm[i], cpu[i], TOLERANCE, c.label));
    });

    it(`DepthwiseConv2dNativeBackpropInput and BackpropFilter on ${DEPTHWISE_CASES.length} shapes (dilated ones against the definition)`, async () => {
      const cases = DEPTHWISE_CASES.map((c, i) => depthwiseCases(c, 200 + 3 * i));
      const { cpu, wasm } = await onCpuAndWasm(() => cases.map((k) => ({ dx: runKernel(k.input), dW: runKernel(k.filter) })));
      DEPTHWISE_CASES.forEach((c, i) => {
        const definition = depthwiseReference(c, cases[i]);
        assertClose(wasm[i].dx, definition.dx, TOLERANCE, `dx vs definition, ${cases[i].input.label}`);
        assertClose(wasm[i].dW, definition.dW, TOLERANCE, `dW vs definition, ${cases[i].filter.label}`);
        if (!c.dilated) {
          assertClose(wasm[i].dx, cpu[i].dx, TOLERANCE, `dx vs cpu, ${cases[i].input.label}`);
          assertClose(wasm[i].dW, cpu[i].dW, TOLERANCE, `dW vs cpu, ${cases[i].filter.label}`);
        }
      });
    });

    it('UnsortedSegmentSum on 20 shapes, with repeated, unused and out-of-range ids', async () => {
      const cases: KernelCase[] = [];
      const random = seededRandom(300);
      for (let i = 0; i < 20; i++) {
        const rows = 1 + (i % 7) * 3;
        const inner = [[], [1], [5], [3, 4], [2, 3, 2]][i % 5];
        const numSegments = 1 + ((i * 5) % 9);
        // Ids from −2 to numSegments + 1: some rows are dropped, some segments stay empty.
        const ids = Int32Array.from({ length: rows }, () => Math.floor(((random() + 1) / 2) * (numSegments + 4)) - 2);
        cases.push({
          label: `x [${rows},${inner}] ids [${ids}] numSegments ${numSegments}`,
          kernel: tf.UnsortedSegmentSum,
          inputs: { x: randomData([rows, ...inner], 310 + i), segmentIds: { values: ids, shape: [rows], dtype: 'int32' } },
          attrs: { numSegments },
        });
      }
      const { cpu, wasm } = await onCpuAndWasm(() => cases.map(runKernel));
      let compared = 0;
      cases.forEach((c, i) => {
        if (cpu[i].some((v) => v !== 0)) {
          assertClose(wasm[i], cpu[i], TOLERANCE, c.label);
          compared++;
        } else {
          assert.deepStrictEqual(Array.from(wasm[i]), Array.from(cpu[i]), c.label);
        }
      });
      assert.ok(compared >= 15, `only ${compared} cases had a non-zero reference`);
    });

    it('UnsortedSegmentSum over 2-D ids sums rows of the leading axes (the definition)', async () => {
      await initBackend('wasm');
      const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]);
      const ids = tf.tensor2d([2, 0, 2, 5, -1, 0], [2, 3], 'int32');
      const out = tf.engine().runKernel(tf.UnsortedSegmentSum, { x, segmentIds: ids }, { numSegments: 3 }) as tf.Tensor;
      assert.deepStrictEqual(out.shape, [3, 2]);
      // segment 0: rows (0,1) and (1,2) → [3+11, 4+12]; segment 1: none; segment 2: rows (0,0), (0,2).
      assert.deepStrictEqual(Array.from(out.dataSync()), [14, 16, 0, 0, 6, 8]);
      tf.dispose([x, ids, out]);
    });

    it('gather gradients (UnsortedSegmentSum) equal cpu on several axes and index patterns', async () => {
      const run = (): Float32Array[] =>
        [
          { shape: [6, 4], indices: [1, 1, 5, 0], axis: 0 },
          { shape: [3, 7, 2], indices: [6, 0, 6, 6, 2], axis: 1 },
          { shape: [2, 3, 5], indices: [4, 4], axis: 2 },
          { shape: [9], indices: [8, 3, 3, 0, 8, 8], axis: 0 },
        ].map(({ shape, indices, axis }, i) =>
          tf.tidy(() => {
            const x = tf.tensor(randomData(shape, 400 + i).values, shape);
            const idx = tf.tensor1d(indices, 'int32');
            const probe = tf.gather(x, idx, axis);
            const w = tf.tensor(randomData(probe.shape, 410 + i).values, probe.shape);
            return Float32Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.gather(a, idx, axis), w)))(x).dataSync());
          }),
        );
      const { cpu, wasm } = await onCpuAndWasm(run);
      cpu.forEach((c, i) => assertClose(wasm[i], c, TOLERANCE, `gather case ${i}`));
    });

    it('MaxPoolGrad and ResizeNearestNeighborGrad (replaced: wrong in wasm 4.22) equal cpu, also on windows of zeros', async () => {
      const shapes: Shape4[] = [[1, 8, 8, 2], [2, 9, 11, 3], [1, 7, 5, 4], [3, 6, 6, 1], [2, 16, 16, 4]];
      const pools: Array<[number, number, 'same' | 'valid']> = [[2, 2, 'valid'], [3, 2, 'same'], [3, 1, 'same'], [2, 1, 'valid'], [3, 2, 'valid']];
      const run = (): Float32Array[] => {
        const results: Float32Array[] = [];
        shapes.forEach((shape, i) => {
          const probe = (f: (a: tf.Tensor4D) => tf.Tensor4D, relu: boolean, seed: number): Float32Array =>
            tf.tidy(() => {
              const raw = tf.tensor4d(randomData(shape, seed).values, shape);
              // After a ReLU many windows hold only zeros: the case wasm 4.22 gets wrong even on square shapes.
              const x: tf.Tensor4D = relu ? tf.relu(tf.sub(raw, 0.3)) : raw;
              const y = f(x);
              const w = tf.tensor(randomData(y.shape, seed + 1).values, y.shape);
              return Float32Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D), w)))(x).dataSync());
            });
          pools.forEach(([size, stride, pad], j) => {
            results.push(probe((a) => tf.maxPool(a, size, stride, pad), j % 2 === 0, 500 + 10 * i + j));
          });
          results.push(probe((a) => tf.image.resizeNearestNeighbor(a, [2 * shape[1], 2 * shape[2]]), false, 600 + i));
          results.push(probe((a) => tf.image.resizeNearestNeighbor(a, [shape[1] + 3, 2 * shape[2]], false, true), false, 700 + i));
        });
        return results;
      };
      const { cpu, wasm } = await onCpuAndWasm(run);
      cpu.forEach((c, i) => assertClose(wasm[i], c, TOLERANCE, `pool/resize case ${i}`));
    });
  });

  describe('through MobileNetV2- and ResNet-style models', () => {
    const architectures = [
      { name: 'MobileNetV2-style', build: buildMobileNetV2Style, early: MOBILENET_LAYERS.firstBlock, layers: [MOBILENET_LAYERS.firstBlock, 'stem_relu', MOBILENET_LAYERS.residualBlock] },
      { name: 'ResNet-style', build: buildResNetStyle, early: RESNET_LAYERS.firstBlock, layers: [RESNET_LAYERS.firstBlock, RESNET_LAYERS.stem] },
    ];

    /** The layers after `cut`, applied to a value of the cut layer's output (model split). */
    function restOfModel(model: tf.LayersModel, cut: string): (activation: tf.Tensor) => tf.Tensor {
      const cutIndex = model.layers.findIndex((l) => l.name === cut);
      assert.ok(cutIndex >= 0, `no layer ${cut}`);
      const cutOutput = model.getLayer(cut).output as tf.SymbolicTensor;
      return (activation) => {
        const values = new Map<number, tf.Tensor>([[cutOutput.id, activation]]);
        for (const layer of model.layers.slice(cutIndex + 1)) {
          const symbolic = ([] as tf.SymbolicTensor[]).concat(layer.input as tf.SymbolicTensor | tf.SymbolicTensor[]);
          const inputs = symbolic.map((s) => {
            const value = values.get(s.id);
            assert.ok(value, `layer ${layer.name} reads a tensor from before the cut at ${cut}`);
            return value;
          });
          const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs) as tf.Tensor;
          values.set((layer.output as tf.SymbolicTensor).id, out);
        }
        return values.get((model.outputs[0] as tf.SymbolicTensor).id) as tf.Tensor;
      };
    }

    for (const arch of architectures) {
      it(`${arch.name}: d(pre-softmax score)/d(early activation) and /d(input) equal on wasm and cpu`, async () => {
        const numClasses = 5;
        const classIndex = 3;
        const run = () => {
          // The linear-head twin has the same weights (same seed): its output is the pre-softmax score.
          const logitsModel = arch.build({ headActivation: 'linear' });
          const softmaxModel = arch.build();
          const result = tf.tidy(() => {
            const x = batchInput(31);
            const pick = tf.oneHot(tf.tensor1d([classIndex, classIndex], 'int32'), numClasses).toFloat();
            const score = (logits: tf.Tensor): tf.Scalar => tf.sum(tf.mul(logits, pick));
            const head = tf.model({ inputs: logitsModel.inputs, outputs: logitsModel.getLayer(arch.early).output as tf.SymbolicTensor });
            const rest = restOfModel(logitsModel, arch.early);
            const activation = head.predict(x) as tf.Tensor;
            const wrtActivation = tf.grad((a: tf.Tensor) => score(rest(a)))(activation);
            const wrtInput = tf.grad((a: tf.Tensor) => score(logitsModel.apply(a) as tf.Tensor))(x);
            // gather's gradient (UnsortedSegmentSum) must give the same as the one-hot product.
            const viaGather = tf.grad((a: tf.Tensor) => tf.sum(tf.gather(logitsModel.apply(a) as tf.Tensor, [classIndex], 1)))(x);
            const split = rest(activation);
            return {
              wrtActivation: Float32Array.from(wrtActivation.dataSync()),
              wrtInput: Float32Array.from(wrtInput.dataSync()),
              viaGather: Float32Array.from(viaGather.dataSync()),
              splitLogits: Float32Array.from(split.dataSync()),
              logits: Float32Array.from((logitsModel.predict(x) as tf.Tensor).dataSync()),
              softmaxOut: Float32Array.from((softmaxModel.predict(x) as tf.Tensor).dataSync()),
              softmaxOfLogits: Float32Array.from(tf.softmax(logitsModel.predict(x) as tf.Tensor).dataSync()),
            };
          });
          logitsModel.dispose();
          softmaxModel.dispose();
          return result;
        };
        const { cpu, wasm } = await onCpuAndWasm(run);
        // The split reproduces the model, and the twin is the softmax model's pre-softmax score.
        assertClose(cpu.splitLogits, cpu.logits, 1e-6, 'split model = model');
        assertClose(cpu.softmaxOfLogits, cpu.softmaxOut, 1e-6, 'softmax(twin) = softmax model');
        // Gradients that mean something: most entries non-zero.
        const nonZero = (v: Float32Array) => v.filter((g) => g !== 0).length / v.length;
        assert.ok(nonZero(cpu.wrtActivation) > 0.5, `activation gradient mostly zero (${nonZero(cpu.wrtActivation)})`);
        assert.ok(nonZero(cpu.wrtInput) > 0.5, `input gradient mostly zero (${nonZero(cpu.wrtInput)})`);
        assertClose(wasm.logits, cpu.logits, 1e-5, 'forward logits');
        assertClose(wasm.wrtActivation, cpu.wrtActivation, 1e-4, 'gradient w.r.t. the early activation');
        assertClose(wasm.wrtInput, cpu.wrtInput, 1e-4, 'gradient w.r.t. the input');
        assertClose(wasm.viaGather, wasm.wrtInput, 1e-6, 'gather gradient = one-hot gradient (wasm)');
        assertClose(cpu.viaGather, cpu.wrtInput, 1e-6, 'gather gradient = one-hot gradient (cpu)');
      });

      it(`${arch.name}: Grad-CAM at early layers gives the same maps on wasm and cpu`, async () => {
        const random = seededRandom(41);
        const image: RgbaImage = { width: 40, height: 36, data: new Uint8Array(40 * 36 * 4).map((_, i) => (i % 4 === 3 ? 255 : Math.floor(((random() + 1) / 2) * 256))) };
        const runs = async () => {
          const loaded = wrapModel(arch.build(), { path: `/memory/${arch.name}/model.json`, labels: null, labelsSource: null, preprocessing: {}, sidecar: null });
          try {
            const results = [];
            for (const layer of arch.layers) {
              results.push(await explain(loaded, image, { method: 'gradcam', layer }));
              results.push(await explain(loaded, image, { method: 'gradcam', layer, classIndex: 1 }));
            }
            return results;
          } finally {
            loaded.dispose();
          }
        };
        await initBackend('cpu');
        const cpu = await runs();
        await initBackend('wasm');
        const wasm = await runs();
        let nonZeroMaps = 0;
        cpu.forEach((c, i) => {
          const label = `${c.layer} class ${c.classIndex}`;
          assert.strictEqual(wasm[i].backend, 'wasm');
          assert.strictEqual(wasm[i].classIndex, c.classIndex);
          if (c.layerCam.data.every((v) => v === 0)) {
            // ReLU(Σ w·A) can be zero everywhere for a class the image argues against: then wasm must agree.
            assert.ok(wasm[i].layerCam.data.every((v) => Math.abs(v) < 1e-6), `${label}: cpu map is zero, wasm's is not`);
            return;
          }
          nonZeroMaps++;
          assertClose(wasm[i].layerCam.data, c.layerCam.data, 1e-4, `${label} layerCam`);
          assertClose(wasm[i].cam.data, c.cam.data, 1e-3, `${label} cam`);
        });
        assert.ok(nonZeroMaps >= arch.layers.length, `only ${nonZeroMaps} of ${cpu.length} maps were non-zero`);
      });
    }
  });

  describe('Conv2DBackpropInput flipped-filter cache (test mode off, as in use)', () => {
    it('reuses one flipped copy per live filter, never a stale one, and frees it after the filter', async () => {
      await initBackend('wasm');
      assert.ok(!tf.env().getBool('IS_TEST'));
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const cache = flippedFilterCache(tf.backend());
      const inputShape: Shape4 = [1, 7, 6, 3];
      const dy = tf.tensor(randomData([1, 7, 6, 4], 700).values, [1, 7, 6, 4]);
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape } as unknown as tf.NamedAttrMap;
      const run = (filter: tf.Tensor) => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs) as tf.Tensor;
      const reference = async (filter: tf.Tensor): Promise<Float32Array> => {
        const values = filter.dataSync().slice();
        await initBackend('cpu');
        const out = tf.tidy(() => (tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: tf.tensor(dy.dataSync().slice(), dy.shape), filter: tf.tensor(values, filter.shape) }, attrs) as tf.Tensor).dataSync().slice());
        await initBackend('wasm');
        return out as Float32Array;
      };
      // A call with a throwaway filter sweeps the copies of filters disposed before it, and leaves
      // exactly one entry behind (its own filter's, swept by the next call).
      const settle = () => {
        const filter = tf.zeros([3, 3, 3, 4]);
        run(filter).dispose();
        filter.dispose();
      };
      settle();
      const baseline = backend.numDataIds();

      const first = tf.tensor(randomData([3, 3, 3, 4], 701).values, [3, 3, 3, 4]);
      const expectedFirst = await reference(first);
      const a = run(first);
      const b = run(first);
      assert.ok(cache.holds(first.dataId), 'the filter has an entry');
      assertClose(a.dataSync(), expectedFirst, TOLERANCE, 'first call');
      assertClose(b.dataSync(), expectedFirst, TOLERANCE, 'second call (cached)');
      // A strided call on the same filter caches its phase kernels under the same entry.
      const strided = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape } as unknown as tf.NamedAttrMap;
      const dy2 = tf.tensor(randomData([1, 4, 3, 4], 703).values, [1, 4, 3, 4]);
      const stridedWasm = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dy2, filter: first }, strided) as tf.Tensor;
      const filterValues = first.dataSync().slice();
      const dy2Values = dy2.dataSync().slice();
      await initBackend('cpu');
      const stridedCpu = tf.tidy(() => (tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: tf.tensor(dy2Values, [1, 4, 3, 4]), filter: tf.tensor(filterValues, [3, 3, 3, 4]) }, strided) as tf.Tensor).dataSync().slice());
      await initBackend('wasm');
      assertClose(stridedWasm.dataSync(), stridedCpu as Float32Array, TOLERANCE, 'strided call (phase kernels)');
      const firstId = first.dataId;
      tf.dispose([a, b, first, dy2, stridedWasm]);

      // Same shape, new values: a different data id, so never the stale flipped copy.
      const second = tf.tensor(randomData([3, 3, 3, 4], 702).values, [3, 3, 3, 4]);
      const expectedSecond = await reference(second);
      const c = run(second);
      assertClose(c.dataSync(), expectedSecond, TOLERANCE, 'a new filter');
      assert.ok(!cache.holds(firstId), 'the disposed filter\'s kernels were swept');
      assert.ok(cache.holds(second.dataId));
      tf.dispose([c, second]);
      settle();
      assert.strictEqual(backend.numDataIds(), baseline, 'every flipped copy of a disposed filter is freed');
      dy.dispose();
    });
  });

  describe('memory', () => {
    it('leaves no tensors, data ids or wasm memory growth behind over repeated calls', async () => {
      await initBackend('wasm');
      const backend = tf.backend() as tf.KernelBackend & { wasm: { HEAPU8: Uint8Array } };
      const conv = conv2dBackpropFilterCase(CONV_CASES[2], 900);
      const depthwise = depthwiseCases(DEPTHWISE_CASES[4], 901);
      const dilated = depthwiseCases(DEPTHWISE_CASES[DEPTHWISE_CASES.length - 1], 902);
      const model = buildMobileNetV2Style({ headActivation: 'linear' });
      const x = batchInput(903);
      const pick = tf.oneHot(tf.tensor1d([2, 2], 'int32'), 5).toFloat();
      const round = (): void => {
        for (const k of [conv, depthwise.input, depthwise.filter, dilated.input, dilated.filter]) runKernel(k);
        tf.tidy(() => {
          tf.grad((a: tf.Tensor) => tf.sum(tf.mul(model.apply(a) as tf.Tensor, pick)))(x).dataSync();
          tf.grad((a: tf.Tensor) => tf.sum(tf.gather(model.apply(a) as tf.Tensor, [2], 1)))(x).dataSync();
          tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same')))(x).dataSync();
        });
      };
      round(); // warm-up: backend-owned constants and allocator pools
      round();
      const tensors = tf.memory().numTensors;
      const dataIds = backend.numDataIds();
      const cpuBackend = tf.findBackend('cpu') as tf.KernelBackend; // the replaced kernels run cpu kernels on copies
      const cpuDataIds = cpuBackend.numDataIds();
      const heap = backend.wasm.HEAPU8.buffer.byteLength;
      for (let i = 0; i < 5; i++) round();
      assert.strictEqual(tf.memory().numTensors, tensors, 'tensors');
      assert.strictEqual(backend.numDataIds(), dataIds, 'wasm backend data ids');
      assert.strictEqual(cpuBackend.numDataIds(), cpuDataIds, 'cpu backend data ids');
      assert.strictEqual(backend.wasm.HEAPU8.buffer.byteLength, heap, 'wasm heap size');
      tf.dispose([x, pick]);
      model.dispose();
    });
  });
});

/** A seeded batch of two 32×32×3 images with values in [0, 1). */
function batchInput(seed: number): tf.Tensor4D {
  const data = randomData([2, 32, 32, 3], seed);
  return tf.tensor4d(data.values.map((v) => (v + 1) / 2), [2, 32, 32, 3]);
}
