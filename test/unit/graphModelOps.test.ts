// TF.js graph-model ops that converted Keras/TensorFlow models use (StridedSlice with its five
// masks, ExpandDims, Prelu, Abs, Square, Sqrt, Rsqrt, Maximum, Minimum, Pack, Shape,
// Conv2DBackpropInput, ResizeBilinear and ResizeNearestNeighbor with align_corners /
// half_pixel_centers), each in a graph model written here between the image input and the output:
//  - values against TensorFlow's semantics computed independently in Python: numpy's indexing
//    (which TensorFlow's strided slices follow), TensorFlow's resize formulas written from its
//    kernels and cross-checked in the same script against PyTorch's interpolate where the two agree,
//    the transposed convolution as PyTorch's autograd gradient of a convolution with TensorFlow's
//    padding;
//  - the engine's gradient through the op against central finite differences of its own forward
//    pass (a batch of perturbed images, which also runs the Shape → StridedSlice → Pack → Reshape
//    flatten at batch sizes other than 1);
//  - on cpu and wasm.
// Plus the size limits on ops whose output can outgrow their inputs.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { loadModel, type LoadedModel } from '../../src/engine/index';
import { LensError } from '../../src/shared/errors';
import { computeLogits, logitsOf } from '../../src/engine/execution/graph';
import { seededRandom } from '../fixtures/models';
import { bool, int, intList, str, strList, writeGraphModel, type ConstSpec, type GraphNodeSpec } from './fixtures/graphModel';
import { requireTorch, TORCH_PYTHON } from './fixtures/pytorch';

const [N, H, W, C] = [1, 5, 6, 3];

/** One index of a numpy-style subscript, as TensorFlow's _slice_helper reads it. */
type Index = { slice: [number | null, number | null, number | null] } | { index: number } | 'newaxis' | 'ellipsis';

/** The StridedSlice inputs and masks TensorFlow's x[...] writes for a subscript (array_ops._slice_helper). */
function stridedSliceOf(subscript: Index[]): { begin: number[]; end: number[]; strides: number[]; attr: Record<string, ReturnType<typeof int>> } {
  const begin: number[] = [];
  const end: number[] = [];
  const strides: number[] = [];
  const masks = { begin_mask: 0, end_mask: 0, ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: 0 };
  subscript.forEach((item, i) => {
    const bit = 1 << i;
    if (item === 'ellipsis') {
      begin.push(0), end.push(0), strides.push(1);
      masks.ellipsis_mask |= bit;
    } else if (item === 'newaxis') {
      begin.push(0), end.push(0), strides.push(1);
      masks.new_axis_mask |= bit;
    } else if ('index' in item) {
      begin.push(item.index), end.push(item.index + 1), strides.push(1);
      masks.shrink_axis_mask |= bit;
    } else {
      const [b, e, s] = item.slice;
      begin.push(b ?? 0), end.push(e ?? 0), strides.push(s ?? 1);
      if (b === null) masks.begin_mask |= bit;
      if (e === null) masks.end_mask |= bit;
    }
  });
  return { begin, end, strides, attr: Object.fromEntries(Object.entries(masks).map(([k, v]) => [k, int(v)])) };
}

interface OpCase {
  name: string;
  /** What Python computes from x (NHWC, float64): an expression over numpy / torch helpers defined in the script. */
  python: string;
  consts?: Record<string, ConstSpec>;
  /** Nodes from `input` to `out` (the flatten and the output are added). */
  nodes: GraphNodeSpec[];
  /** Input values kept this far from the op's kinks (Abs at 0, Maximum/Minimum where the operands cross). */
  kinks?: (x: number) => number[];
}

const slices: [string, Index[], string][] = [
  ['x[:, 1:4, ::2, :]', [{ slice: [null, null, null] }, { slice: [1, 4, null] }, { slice: [null, null, 2] }, { slice: [null, null, null] }], 'x[:, 1:4, ::2, :]'],
  ['x[..., ::-1] (ellipsis, negative stride)', ['ellipsis', { slice: [null, null, -1] }], 'x[..., ::-1]'],
  ['x[:, -2, 1:-1, newaxis, 0:2] (shrink with a negative index, new axis)', [{ slice: [null, null, null] }, { index: -2 }, { slice: [1, -1, null] }, 'newaxis', { slice: [0, 2, null] }], 'x[:, -2, 1:-1, None, 0:2]'],
  ['x[:, 4:0:-2, 5:-10:-3, 1] (negative strides, an end past the axis)', [{ slice: [null, null, null] }, { slice: [4, 0, -2] }, { slice: [5, -10, -3] }, { index: 1 }], 'x[:, 4:0:-2, 5:-10:-3, 1]'],
  ['x[:, 1:, ..., newaxis, 2] (ellipsis in the middle)', [{ slice: [null, null, null] }, { slice: [1, null, null] }, 'ellipsis', 'newaxis', { index: 2 }], 'x[:, 1:, ..., None, 2]'],
  ['x[:, 3:20, -20:2] (begins and ends past the axis clamp)', [{ slice: [null, null, null] }, { slice: [3, 20, 1] }, { slice: [-20, 2, null] }], 'x[:, 3:20, -20:2]'],
];

const FUSED_W = values(C * 4, 70);
const FUSED_B = [0.1, -0.2, 0.05, 0.3];
const FUSED_ALPHA = [0.25, -0.3, 0.5, 1.2];

const CASES: OpCase[] = [
  ...slices.map(([name, subscript, python]): OpCase => {
    const s = stridedSliceOf(subscript);
    return {
      name: `StridedSlice ${name}`,
      python,
      consts: {
        begin: { shape: [s.begin.length], values: s.begin, dtype: 'int32' },
        end: { shape: [s.end.length], values: s.end, dtype: 'int32' },
        strides: { shape: [s.strides.length], values: s.strides, dtype: 'int32' },
      },
      nodes: [{ name: 'out', op: 'StridedSlice', input: ['input', 'begin', 'end', 'strides'], attr: s.attr }],
    };
  }),
  {
    name: 'ExpandDims(axis -2)',
    python: 'np.expand_dims(x, -2)',
    consts: { axis: { shape: [], values: [-2], dtype: 'int32' } },
    nodes: [{ name: 'out', op: 'ExpandDims', input: ['input', 'axis'] }],
  },
  {
    name: 'Prelu (per-channel alphas)',
    python: 'np.where(x > 0, x, np.array([0.2, -0.5, 1.5]) * x)',
    consts: { alpha: { shape: [C], values: [0.2, -0.5, 1.5] } },
    nodes: [{ name: 'out', op: 'Prelu', input: ['input', 'alpha'] }],
    kinks: () => [0],
  },
  {
    name: '_FusedConv2D with fused_ops BiasAdd, Prelu (as tfjs-converter fuses a Keras PReLU)',
    python: `(lambda z: np.where(z > 0, z, np.array(${JSON.stringify(FUSED_ALPHA)}) * z))(np.einsum('nhwc,cd->nhwd', x, np.array(${JSON.stringify(FUSED_W)}).reshape(${C}, 4)) + np.array(${JSON.stringify(FUSED_B)}))`,
    consts: { w: { shape: [1, 1, C, 4], values: FUSED_W }, b: { shape: [4], values: FUSED_B }, alpha: { shape: [4], values: FUSED_ALPHA } },
    nodes: [{ name: 'out', op: '_FusedConv2D', input: ['input', 'w', 'b', 'alpha'], attr: { strides: intList([1, 1, 1, 1]), padding: str('VALID'), fused_ops: strList(['BiasAdd', 'Prelu']), num_args: int(2) } }],
  },
  {
    name: 'Abs',
    python: 'np.abs(x)',
    nodes: [{ name: 'out', op: 'Abs', input: ['input'] }],
    kinks: () => [0],
  },
  {
    name: 'Sqrt(Square(x) + 0.25) and Rsqrt(Abs(x) + 0.5), packed on a new axis 1',
    python: 'np.stack([np.sqrt(x * x + 0.25), 1 / np.sqrt(np.abs(x) + 0.5)], axis=1)',
    consts: { quarter: { shape: [], values: [0.25] }, half: { shape: [], values: [0.5] } },
    nodes: [
      { name: 'sq', op: 'Square', input: ['input'] },
      { name: 'sq_plus', op: 'AddV2', input: ['sq', 'quarter'] },
      { name: 'root', op: 'Sqrt', input: ['sq_plus'] },
      { name: 'abs', op: 'Abs', input: ['input'] },
      { name: 'abs_plus', op: 'AddV2', input: ['abs', 'half'] },
      { name: 'rroot', op: 'Rsqrt', input: ['abs_plus'] },
      { name: 'out', op: 'Pack', input: ['root', 'rroot'], attr: { axis: int(1), N: int(2) } },
    ],
    kinks: () => [0],
  },
  {
    name: 'Maximum(x, per-channel constant) and Minimum(x, x²), packed on axis -1',
    python: 'np.stack([np.maximum(x, np.array([0.0, -0.55, 0.55])), np.minimum(x, x * x)], axis=-1)',
    consts: { floor: { shape: [C], values: [0, -0.55, 0.55] } },
    nodes: [
      { name: 'max', op: 'Maximum', input: ['input', 'floor'] },
      { name: 'sq', op: 'Square', input: ['input'] },
      { name: 'min', op: 'Minimum', input: ['input', 'sq'] },
      { name: 'out', op: 'Pack', input: ['max', 'min'], attr: { axis: int(-1), N: int(2) } },
    ],
    kinks: () => [0, -0.55, 0.55, 1],
  },
  ...(
    [
      ['SAME, stride 2', 'SAME', [2, 2], [1, 10, 12, 4], undefined],
      ['VALID, stride 2', 'VALID', [2, 2], [1, 11, 13, 4], undefined],
      ['EXPLICIT pads (1, 0) × (0, 2), stride 1', 'EXPLICIT', [1, 1], [1, 6, 6, 4], [0, 0, 1, 0, 0, 2, 0, 0]],
    ] as [string, string, [number, number], number[], number[] | undefined][]
  ).map(([name, pad, [sh, sw], sizes, explicit], i): OpCase => {
    const filter = values(3 * 3 * 4 * C, 60 + i, 0.5);
    return {
      name: `Conv2DBackpropInput ${name}`,
      python: `conv_backprop_input(x, np.array(${JSON.stringify(filter)}).reshape(3, 3, 4, ${C}), ${JSON.stringify(sizes)}, "${pad}", (${sh}, ${sw}), ${explicit ? JSON.stringify(explicit) : "None"})`,
      consts: { sizes: { shape: [4], values: sizes, dtype: 'int32' }, filter: { shape: [3, 3, 4, C], values: filter } },
      nodes: [
        {
          name: 'out',
          op: 'Conv2DBackpropInput',
          input: ['sizes', 'filter', 'input'],
          attr: { strides: intList([1, sh, sw, 1]), padding: str(pad), data_format: str('NHWC'), ...(explicit ? { explicit_paddings: intList(explicit) } : {}) },
        },
      ],
    };
  }),
  {
    // Keras' Conv2DTranspose converts with its output size computed at run time for a dynamic batch.
    name: 'Conv2DBackpropInput with input_sizes from Shape → StridedSlice → Pack (Keras Conv2DTranspose)',
    python: `conv_backprop_input(x, np.array(${JSON.stringify(values(3 * 3 * 4 * C, 64, 0.5))}).reshape(3, 3, 4, ${C}), [1, 10, 12, 4], "SAME", (2, 2), None)`,
    consts: {
      filter: { shape: [3, 3, 4, C], values: values(3 * 3 * 4 * C, 64, 0.5) },
      b0: { shape: [1], values: [0], dtype: 'int32' },
      b1: { shape: [1], values: [1], dtype: 'int32' },
      h: { shape: [], values: [10], dtype: 'int32' },
      w: { shape: [], values: [12], dtype: 'int32' },
      c: { shape: [], values: [4], dtype: 'int32' },
    },
    nodes: [
      { name: 'up/Shape', op: 'Shape', input: ['input'] },
      { name: 'up/strided_slice', op: 'StridedSlice', input: ['up/Shape', 'b0', 'b1', 'b1'], attr: { shrink_axis_mask: int(1) } },
      { name: 'up/stack', op: 'Pack', input: ['up/strided_slice', 'h', 'w', 'c'], attr: { axis: int(0), N: int(4) } },
      { name: 'out', op: 'Conv2DBackpropInput', input: ['up/stack', 'filter', 'input'], attr: { strides: intList([1, 2, 2, 1]), padding: str('SAME') } },
    ],
  },
  ...(
    [
      ['ResizeBilinear', 'bilinear', false, false, [8, 4]],
      ['ResizeBilinear', 'bilinear', true, false, [9, 11]],
      ['ResizeBilinear', 'bilinear', false, true, [3, 13]],
      ['ResizeNearestNeighbor', 'nearest', false, false, [9, 4]],
      ['ResizeNearestNeighbor', 'nearest', true, false, [8, 11]],
      ['ResizeNearestNeighbor', 'nearest', false, true, [3, 13]],
    ] as [string, string, boolean, boolean, [number, number]][]
  ).map(([op, method, alignCorners, halfPixel, size]): OpCase => ({
    name: `${op} to ${size.join('×')}${alignCorners ? ', align_corners' : ''}${halfPixel ? ', half_pixel_centers' : ''}`,
    python: `tf_resize(x, ${JSON.stringify(size)}, "${method}", ${alignCorners ? 'True' : 'False'}, ${halfPixel ? 'True' : 'False'})`,
    consts: { size: { shape: [2], values: size, dtype: 'int32' } },
    nodes: [{ name: 'out', op, input: ['input', 'size'], attr: { align_corners: bool(alignCorners), half_pixel_centers: bool(halfPixel) } }],
  })),
];

/** Seeded values in [-scale, scale). */
function values(count: number, seed: number, scale = 1): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => random() * scale);
}

/** The input: values of magnitude 0.1 to 0.9 (away from 0 and ±1, kinks of several ops). */
const X = values(N * H * W * C, 7).map((v) => Math.sign(v || 1) * (0.1 + 0.8 * Math.abs(v)));

// TensorFlow's semantics in Python. Resizing follows resize_bilinear_op.cc (compute_interpolation_weights)
// and resize_nearest_neighbor_op.cc, in float32 as TensorFlow computes scales and source positions;
// where PyTorch's interpolate defines the same function it must agree (checked here, so the
// formulas are not only this file's reading of TensorFlow's). Conv2DBackpropInput is the gradient
// of a convolution with TensorFlow's padding, by PyTorch's autograd.
const PYTHON_PRELUDE = `
import json, sys
import numpy as np
import torch
import torch.nn.functional as F

f32 = np.float32

def scale_of(n_in, n_out, align):
    return f32(n_in - 1) / f32(n_out - 1) if align and n_out > 1 else f32(n_in) / f32(n_out)

def axis_bilinear(v, axis, n_out, align, half):
    n_in = v.shape[axis]
    s = scale_of(n_in, n_out, align)
    out = []
    for i in range(n_out):
        src = f32(f32(i + 0.5) * s - f32(0.5)) if half else f32(f32(i) * s)
        lo = int(np.floor(src))
        hi = min(int(np.ceil(src)), n_in - 1)
        lerp = float(src) - lo
        a = np.take(v, max(lo, 0), axis=axis)
        b = np.take(v, hi, axis=axis)
        out.append(a + (b - a) * lerp)
    return np.stack(out, axis=axis)

def axis_nearest(v, axis, n_out, align, half):
    n_in = v.shape[axis]
    s = scale_of(n_in, n_out, align)
    idx = []
    for i in range(n_out):
        src = f32(f32(i + 0.5) * s) if half else f32(f32(i) * s)
        j = min(int(np.floor(float(src) + 0.5)) if align else int(np.floor(src)), n_in - 1)
        idx.append(max(j, 0) if half else j)
    return np.take(v, idx, axis=axis)

def tf_resize(x, size, method, align, half):
    fn = axis_bilinear if method == "bilinear" else axis_nearest
    ours = fn(fn(x, 1, size[0], align, half), 2, size[1], align, half)
    t = torch.tensor(x).permute(0, 3, 1, 2)
    torch_mode = {("bilinear", True, False): dict(mode="bilinear", align_corners=True),
                  ("bilinear", False, True): dict(mode="bilinear", align_corners=False),
                  ("nearest", False, False): dict(mode="nearest"),
                  ("nearest", False, True): dict(mode="nearest-exact")}.get((method, align, half))
    if torch_mode is not None:
        theirs = F.interpolate(t, size=tuple(size), **torch_mode).permute(0, 2, 3, 1).numpy()
        assert np.abs(theirs - ours).max() < 1e-5, (method, align, half, np.abs(theirs - ours).max())
    return ours

def conv_backprop_input(dy, filt, sizes, padding, strides, explicit):
    n, h, w, c = sizes
    kh, kw = filt.shape[0], filt.shape[1]
    def pads(size, k, s, out):
        total = max((out - 1) * s + k - size, 0)
        return total // 2, total - total // 2
    if padding == "SAME":
        (t, b), (l, r) = pads(h, kh, strides[0], dy.shape[1]), pads(w, kw, strides[1], dy.shape[2])
    elif padding == "VALID":
        t = b = l = r = 0
    else:
        t, b, l, r = explicit[2], explicit[3], explicit[4], explicit[5]
    x = torch.zeros((n, c, h, w), dtype=torch.float64, requires_grad=True)
    weight = torch.tensor(filt).permute(3, 2, 0, 1)  # HWIO -> OIHW
    y = F.conv2d(F.pad(x, (l, r, t, b)), weight, stride=strides)
    assert tuple(y.shape[2:]) == dy.shape[1:3], (y.shape, dy.shape)
    y.backward(torch.tensor(dy).permute(0, 3, 1, 2))
    return x.grad.permute(0, 2, 3, 1).numpy()

spec = json.load(sys.stdin)
x = np.array(spec["x"], dtype=np.float64).reshape(spec["shape"])
print(json.dumps([np.asarray(eval(expr), dtype=np.float64).flatten().tolist() for expr in spec["cases"]]))
`;

/**
 * The case's nodes between a first 4-D node `x` (x = input · 1: CNN Lens wants a 4-D layer to
 * explain) and the flatten a converted Keras Flatten writes for a dynamic batch.
 */
function withFlatten(c: OpCase): { consts: Record<string, ConstSpec>; nodes: GraphNodeSpec[] } {
  return {
    consts: {
      ...c.consts,
      one: { shape: [], values: [1] },
      flat_begin: { shape: [1], values: [0], dtype: 'int32' },
      flat_end: { shape: [1], values: [1], dtype: 'int32' },
      flat_stride: { shape: [1], values: [1], dtype: 'int32' },
      flat_rest: { shape: [], values: [-1], dtype: 'int32' },
    },
    nodes: [
      { name: 'x', op: 'Mul', input: ['input', 'one'] },
      ...c.nodes.map((n) => ({ ...n, input: n.input?.map((i) => (i === 'input' ? 'x' : i)) })),
      { name: 'flatten/Shape', op: 'Shape', input: ['out'] },
      { name: 'flatten/strided_slice', op: 'StridedSlice', input: ['flatten/Shape', 'flat_begin', 'flat_end', 'flat_stride'], attr: { shrink_axis_mask: int(1) } },
      { name: 'flatten/Reshape/shape', op: 'Pack', input: ['flatten/strided_slice', 'flat_rest'], attr: { axis: int(0), N: int(2) } },
      { name: 'flatten/Reshape', op: 'Reshape', input: ['out', 'flatten/Reshape/shape'] },
    ],
  };
}

describe('TF.js graph-model ops against TensorFlow semantics, values and gradients', function () {
  this.timeout(300_000);
  let folder: string;
  let expected: number[][];
  before(() => {
    requireTorch();
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-graph-ops-'));
    const input = JSON.stringify({ x: X, shape: [N, H, W, C], cases: CASES.map((c) => c.python) });
    expected = JSON.parse(execFileSync(TORCH_PYTHON, ['-c', PYTHON_PRELUDE], { input, encoding: 'utf8' })) as number[][];
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
      });
      after(async () => {
        await initBackend('cpu');
      });

      CASES.forEach((c, index) => {
        it(c.name, async () => {
          const file = writeGraphModel(path.join(folder, `${backend}-${index}`), { hwc: [H, W, C], ...withFlatten(c) });
          const model: LoadedModel = await loadModel(file);
          const before = tf.memory().numTensors;
          try {
            const want = expected[index] as number[];
            assert.strictEqual(model.summary.numClasses, want.length, 'output size');
            // Values, at batch 1.
            const x = tf.tensor4d(X, [N, H, W, C]);
            const got = tf.tidy(() => Array.from(computeLogits(model.model, x).dataSync()));
            const scale = Math.max(1, ...want.map(Math.abs));
            got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-5 * scale, `value ${i}: ${v} vs TensorFlow's ${want[i]}`));

            // Gradient of a seeded weighting of the outputs, against central differences of the forward pass.
            const weights = values(want.length, 100 + index);
            const gradient = tf.tidy(() => {
              const score = (input: tf.Tensor) => tf.sum(tf.mul(logitsOf(model.model, input), tf.tensor2d(weights, [1, weights.length])));
              return Array.from(tf.grad(score)(x).dataSync());
            });
            const eps = 1e-3;
            if (c.kinks) {
              const nearest = Math.min(...X.flatMap((v) => c.kinks!(v).map((k) => Math.abs(v - k))));
              assert.ok(nearest > 10 * eps, `the input stays away from the op's kinks (${nearest})`);
            }
            // One batch: every input value nudged up, then down (the flatten runs at batch 2·size).
            const size = X.length;
            const batch = new Float32Array(2 * size * size);
            for (let i = 0; i < size; i++) {
              batch.set(X, 2 * i * size);
              batch.set(X, (2 * i + 1) * size);
              batch[2 * i * size + i] = X[i]! + eps;
              batch[(2 * i + 1) * size + i] = X[i]! - eps;
            }
            const rows = tf.tidy(() => {
              const input = tf.tensor4d(batch, [2 * size, H, W, C]);
              return computeLogits(model.model, input).arraySync() as number[][];
            });
            const finite = Array.from({ length: size }, (_, i) => {
              const dot = (row: number[]) => row.reduce((sum, v, k) => sum + v * weights[k]!, 0);
              return (dot(rows[2 * i]!) - dot(rows[2 * i + 1]!)) / (2 * eps);
            });
            const gradScale = Math.max(1e-3, ...finite.map(Math.abs));
            assert.ok(finite.some((v) => Math.abs(v) > 1e-2), 'the output depends on the input (the test can fail)');
            gradient.forEach((g, i) => assert.ok(Math.abs(g - finite[i]!) <= 5e-3 * gradScale, `gradient ${i}: ${g} vs finite differences ${finite[i]}`));
            x.dispose();
            assert.strictEqual(tf.memory().numTensors, before, 'no tensor leaks');
          } finally {
            model.dispose();
          }
        });
      });
    });
  }

  describe('limits and refusals', () => {
    before(async () => {
      await initBackend('cpu');
    });

    async function refusal(c: OpCase, dir: string): Promise<LensError> {
      const file = writeGraphModel(path.join(folder, dir), { hwc: [H, W, C], ...withFlatten(c) });
      const before = tf.memory().numTensors;
      const error = await loadModel(file).then(
        (m) => {
          m.dispose();
          return assert.fail('loaded');
        },
        (e: unknown) => e,
      );
      assert.ok(error instanceof LensError, String(error));
      assert.strictEqual(tf.memory().numTensors, before, 'a refused model leaves no tensor behind');
      assert.ok(error.message.startsWith(file), `names the file: ${error.message}`);
      return error;
    }

    it('a resize and a transposed convolution that would outgrow the tensor limit are refused before they allocate', async () => {
      const resize = await refusal(
        { name: '', python: '', consts: { size: { shape: [2], values: [40000, 40000], dtype: 'int32' } }, nodes: [{ name: 'out', op: 'ResizeBilinear', input: ['input', 'size'] }] },
        'huge-resize',
      );
      assert.match(resize.message, /graph node "out" \(ResizeBilinear\) output would hold 4,800,000,000 values \(shape \[1, 40000, 40000, 3\]\), more than/);
      // A stride of 4000 over a 1×1 filter: a 5×6 out_backprop comes from a 20000×24000 image.
      const conv = await refusal(
        {
          name: '',
          python: '',
          consts: { sizes: { shape: [4], values: [1, 20000, 24000, 4], dtype: 'int32' }, filter: { shape: [1, 1, 4, C], values: values(4 * C, 5) } },
          nodes: [{ name: 'out', op: 'Conv2DBackpropInput', input: ['sizes', 'filter', 'input'], attr: { strides: intList([1, 4000, 4000, 1]), padding: str('VALID') } }],
        },
        'huge-transpose',
      );
      assert.match(conv.message, /graph node "out" \(Conv2DBackpropInput\) output would hold 1,920,000,000 values \(shape \[1, 20000, 24000, 4\]\)/);
    });

    it('a transposed convolution whose input_sizes do not fit its out_backprop says so', async () => {
      const sizes = await refusal(
        {
          name: '',
          python: '',
          consts: { sizes: { shape: [4], values: [1, 12, 11, 4], dtype: 'int32' }, filter: { shape: [3, 3, 4, C], values: values(3 * 3 * 4 * C, 5) } },
          nodes: [{ name: 'out', op: 'Conv2DBackpropInput', input: ['sizes', 'filter', 'input'], attr: { strides: intList([1, 2, 2, 1]), padding: str('SAME') } }],
        },
        'wrong-sizes',
      );
      assert.match(sizes.message, /input_sizes \[1, 12, 11, 4\] with out_backprop \[1, 5, 6, 3\] and filter \[3, 3, 4, 3\] \(a convolution of that input gives 6×6, not 5×6\) is not supported/);
    });

    it('align_corners with half_pixel_centers is refused, as TensorFlow refuses it', async () => {
      const error = await refusal(
        {
          name: '',
          python: '',
          consts: { size: { shape: [2], values: [8, 8], dtype: 'int32' } },
          nodes: [{ name: 'out', op: 'ResizeBilinear', input: ['input', 'size'], attr: { align_corners: bool(true), half_pixel_centers: bool(true) } }],
        },
        'both-flags',
      );
      assert.match(error.message, /Graph node "out" \(ResizeBilinear\): align_corners together with half_pixel_centers \(TensorFlow refuses it too\) is not supported/);
    });
  });
});
