// The wasm Slice replacement (src/engine/kernels/wasm/slice.ts, contiguous runs copied on the heap)
// against the cpu backend's Slice, exactly: ranks 1-6, random begin/size (with -1 sizes, whole and
// empty axes), float32, int32 and bool; string tensors through wasm's own kernel; the gradient of
// a zero padding (what calls Slice in MobileNetV2's backward pass); no leaks.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { sliceConfig } from '../../src/engine/kernels/wasm/slice';
import { seededRandom } from '../fixtures/models';

type NumericDtype = 'float32' | 'int32' | 'bool';

interface SliceCase {
  label: string;
  shape: number[];
  begin: number[];
  size: number[];
  dtype: NumericDtype;
  values: number[];
}

function makeCase(label: string, shape: number[], begin: number[], size: number[], dtype: NumericDtype, seed: number): SliceCase {
  const random = seededRandom(seed);
  const count = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: count }, (_, i) => (dtype === 'bool' ? Number(random() > 0) : dtype === 'int32' ? i - 50 : random() * 100));
  return { label, shape, begin, size, dtype, values };
}

/** Random slices of random tensors of rank 1-6: each axis whole, cropped, one element or -1 (to the end). */
function randomCases(count: number): SliceCase[] {
  const random = seededRandom(4242);
  const int = (lo: number, hi: number) => lo + Math.floor(((random() + 1) / 2) * (hi - lo + 1 - 1e-9));
  const dtypes: NumericDtype[] = ['float32', 'int32', 'bool'];
  return Array.from({ length: count }, (_, c) => {
    const rank = 1 + (c % 6);
    const shape = Array.from({ length: rank }, () => int(1, rank > 4 ? 4 : 7));
    const begin: number[] = [];
    const size: number[] = [];
    for (const dim of shape) {
      const kind = int(0, 3);
      const b = kind === 0 ? 0 : int(0, dim - 1);
      begin.push(b);
      size.push(kind === 0 ? dim : kind === 1 ? -1 : kind === 2 ? int(1, dim - b) : 1);
    }
    const dtype = dtypes[c % 3];
    return makeCase(`random ${c}: [${shape}] begin [${begin}] size [${size}] ${dtype}`, shape, begin, size, dtype, c);
  });
}

const NHWC = [2, 9, 7, 16];
const NAMED_CASES: SliceCase[] = [
  makeCase('whole tensor', NHWC, [0, 0, 0, 0], NHWC, 'float32', 1),
  makeCase('crop H and W (ZeroPadding2D gradient)', NHWC, [0, 1, 1, 0], [2, 8, 6, 16], 'float32', 2),
  makeCase('crop W only: W·C runs', NHWC, [0, 0, 2, 0], [2, 9, 4, 16], 'float32', 3),
  makeCase('crop H only: H·W·C runs', NHWC, [0, 3, 0, 0], [2, 5, 7, 16], 'int32', 4),
  makeCase('crop C only: short runs', NHWC, [0, 0, 0, 5], [2, 9, 7, 3], 'float32', 5),
  makeCase('one batch element', NHWC, [1, 0, 0, 0], [1, -1, -1, -1], 'bool', 6),
  makeCase('empty slice', NHWC, [0, 2, 0, 0], [2, 0, 7, 16], 'float32', 7),
  makeCase('rank 2 rows and columns', [6, 40], [2, 5], [3, 30], 'float32', 8),
  makeCase('rank 6 inner block whole', [2, 3, 2, 3, 2, 17], [1, 1, 0, 1, 0, 0], [1, 2, 2, 2, 2, 17], 'int32', 9),
];

function sliceOnActiveBackend(c: SliceCase): { values: number[]; shape: number[]; dtype: string } {
  return tf.tidy(() => {
    const x = tf.tensor(c.values, c.shape, c.dtype);
    const out = tf.slice(x, c.begin, c.size);
    return { values: Array.from(out.dataSync()), shape: out.shape, dtype: out.dtype };
  });
}

describe('wasm Slice (contiguous runs on the heap)', function () {
  this.timeout(120000);
  after(async () => {
    tf.env().set('IS_TEST', false);
    await initBackend('cpu');
  });

  it('is the registered wasm Slice', async () => {
    await initBackend('wasm');
    assert.strictEqual(tf.getKernel(tf.Slice, 'wasm'), sliceConfig);
  });

  const cases = [...NAMED_CASES, ...randomCases(60)];
  it(`equals the cpu kernel exactly on ${cases.length} slices (ranks 1-6, float32/int32/bool)`, async () => {
    await initBackend('cpu');
    const expected = cases.map(sliceOnActiveBackend);
    await initBackend('wasm');
    tf.env().set('IS_TEST', true); // the engine checks kernels for leaked data ids
    const before = tf.memory().numTensors;
    const actual = cases.map(sliceOnActiveBackend);
    tf.env().set('IS_TEST', false);
    assert.strictEqual(tf.memory().numTensors, before, 'no tensors left behind');
    cases.forEach((c, i) => assert.deepStrictEqual(actual[i], expected[i], c.label));
    // The random cases cover every rank and dtype, and crops that leave no whole trailing axis.
    assert.deepStrictEqual(new Set(cases.map((c) => c.shape.length)), new Set([1, 2, 3, 4, 5, 6]));
  });

  it("slices string tensors through wasm's own kernel", async () => {
    await initBackend('wasm');
    const x = tf.tensor(['a', 'b', 'c', 'd', 'e', 'f'], [2, 3], 'string');
    const out = tf.slice(x, [0, 1], [2, 2]);
    assert.deepStrictEqual(out.arraySync(), [['b', 'c'], ['e', 'f']]);
    tf.dispose([x, out]);
  });

  it('gives the gradient of a zero padding (ZeroPadding2D) equal to cpu', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(makeCase('x', [3, 10, 10, 8], [], [], 'float32', 11).values, [3, 10, 10, 8]);
        const w = tf.tensor4d(makeCase('w', [3, 11, 11, 8], [], [], 'float32', 12).values, [3, 11, 11, 8]);
        const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.pad(t as tf.Tensor4D, [[0, 0], [0, 1], [0, 1], [0, 0]]), w)))(x);
        return Array.from(grad.dataSync());
      });
    await initBackend('cpu');
    const cpu = run();
    await initBackend('wasm');
    const wasm = run();
    assert.deepStrictEqual(wasm, cpu);
    assert.ok(cpu.some((v) => v !== 0));
  });
});
