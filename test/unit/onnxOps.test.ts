// ONNX operators the torchvision zoo needs (src/engine/models/onnx/ops.ts), each in a small hand-built
// graph (test/unit/fixtures/onnxGraph.ts) checked against ONNX's definition computed here in double
// precision, index by index in NCHW: values, and gradients (every CAM method differentiates
// through these), against hand-derived derivatives or central finite differences of that
// reference. On the wasm backend (what the engine uses) and cpu.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { LensError } from '../../src/shared/errors';
import { computeLogits } from '../../src/engine/execution/graph';
import { loadModel, type LoadedModel } from '../../src/engine/index';
import * as tf from '../../src/engine/tf';
import { encode, floats, int, ints, node, type GraphSpec } from './fixtures/onnxGraph';

const int64s = (name: string, dims: number[], values: number[]) => ({ name, dims, dataType: 7, int64Data: values });
const float = (name: string, value: number) => ({ name, type: 1, f: value });

type Shape4 = [number, number, number, number];

/** Deterministic NCHW input values in about [-2, 2], none zero. */
const inputValues = (count: number): number[] => Array.from({ length: count }, (_, i) => 2 * Math.sin(1.7 * i + 0.3) + (i % 2 === 0 ? 0.05 : -0.05));

/** erf by its Maclaurin series, in double precision (independent of tfjs; |x| < 3 here). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

const at = (shape: Shape4, n: number, c: number, h: number, w: number): number => ((n * shape[1] + c) * shape[2] + h) * shape[3] + w;

describe('ONNX operators for the torchvision zoo: values and gradients as ONNX defines them', () => {
  let folder: string;
  let count = 0;

  async function load(spec: GraphSpec): Promise<LoadedModel> {
    const file = path.join(folder, `graph-${count++}.onnx`);
    fs.writeFileSync(file, encode(spec));
    return loadModel(file);
  }

  /** The model's scores for an NCHW input, and d(Σ weights·scores)/d input in NCHW. */
  function run(model: LoadedModel, shape: Shape4, nchw: number[], weights: number[]): { scores: number[]; gradient: number[] } {
    return tf.tidy(() => {
      const input = tf.transpose(tf.tensor4d(nchw, shape), [0, 2, 3, 1]);
      const weightTensor = tf.tensor2d(weights, [1, weights.length]);
      const objective = (x: tf.Tensor) => tf.sum(tf.mul(computeLogits(model.model, x), weightTensor));
      const scores = Array.from(computeLogits(model.model, input).dataSync());
      const gradient = Array.from(tf.transpose(tf.grad(objective)(input), [0, 3, 1, 2]).dataSync());
      return { scores, gradient };
    });
  }

  /** Central finite differences of Σ weights·f(x) in double precision. */
  function numericGradient(f: (x: number[]) => number[], x: number[], weights: number[], step = 1e-5): number[] {
    const objective = (v: number[]) => f(v).reduce((sum, y, i) => sum + y * weights[i], 0);
    return x.map((_, i) => {
      const up = [...x];
      const down = [...x];
      up[i] += step;
      down[i] -= step;
      return (objective(up) - objective(down)) / (2 * step);
    });
  }

  function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
    assert.strictEqual(actual.length, expected.length, `${what}: length`);
    const scale = Math.max(1, ...expected.map(Math.abs));
    actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tolerance * scale, `${what}[${i}]: ${a} vs ${expected[i]}`));
  }

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-onnx-ops-'));
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  for (const backend of ['wasm', 'cpu'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
      });

      it('LayerNorm and GELU as opset 13 spells them (ConvNeXt): Transpose, ReduceMean, Sub, Pow, Sqrt, Div, Erf, Mul, Add', async () => {
        const shape: Shape4 = [1, 3, 2, 4];
        const [, C, H, W] = shape;
        const gamma = [1.2, 0.7, -0.4];
        const beta = [0.1, -0.3, 0.25];
        const eps = 1e-6;
        const model = await load({
          inputs: [{ name: 'x', dims: shape }],
          outputs: [{ name: 'y', dims: [1, C * H * W] }],
          initializers: [
            floats('two', [], [2]),
            floats('eps', [], [eps]),
            floats('gamma', [C], gamma),
            floats('beta', [C], beta),
            floats('sqrt2', [], [Math.SQRT2]),
            floats('one', [], [1]),
            floats('half', [], [0.5]),
          ],
          nodes: [
            node('Transpose', ['x'], ['t'], 'to_nhwc', [ints('perm', [0, 2, 3, 1])]),
            node('ReduceMean', ['t'], ['m'], 'mean', [ints('axes', [-1])]),
            node('Sub', ['t', 'm'], ['d'], 'centre'),
            node('Pow', ['d', 'two'], ['d2'], 'square'),
            node('ReduceMean', ['d2'], ['v'], 'variance', [ints('axes', [-1])]),
            node('Add', ['v', 'eps'], ['ve'], 'plus_eps'),
            node('Sqrt', ['ve'], ['s'], 'std'),
            node('Div', ['d', 's'], ['n'], 'normalize'),
            node('Mul', ['n', 'gamma'], ['g'], 'scale'),
            node('Add', ['g', 'beta'], ['ln'], 'shift'),
            node('Div', ['ln', 'sqrt2'], ['a'], 'gelu_div'),
            node('Erf', ['a'], ['e'], 'gelu_erf'),
            node('Add', ['e', 'one'], ['e1'], 'gelu_add'),
            node('Mul', ['ln', 'e1'], ['p'], 'gelu_mul'),
            node('Mul', ['p', 'half'], ['gelu'], 'gelu_half'),
            node('Transpose', ['gelu'], ['back'], 'to_nchw', [ints('perm', [0, 3, 1, 2])]),
            node('Flatten', ['back'], ['y'], 'flatten'),
          ],
        });
        // ONNX: per pixel, over the channels: (x - mean) / sqrt(var + eps) * gamma + beta, then GELU.
        const reference = (x: number[]): number[] => {
          const y = new Array<number>(x.length);
          for (let h = 0; h < H; h++) {
            for (let w = 0; w < W; w++) {
              const values = Array.from({ length: C }, (_, c) => x[at(shape, 0, c, h, w)]);
              const mean = values.reduce((a, b) => a + b, 0) / C;
              const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
              values.forEach((v, c) => (y[at(shape, 0, c, h, w)] = gelu(((v - mean) / Math.sqrt(variance + eps)) * gamma[c] + beta[c])));
            }
          }
          return y;
        };
        try {
          const x = inputValues(C * H * W);
          const weights = inputValues(C * H * W).map((v) => v * 0.5 + 0.1);
          const { scores, gradient } = run(model, shape, x, weights);
          assertClose(scores, reference(x), 2e-6, 'LayerNorm + GELU');
          assertClose(gradient, numericGradient(reference, x, weights), 1e-4, 'gradient');
        } finally {
          model.dispose();
        }
      });

      it('Erf and its gradient 2/√π·exp(-x²), on both sides of zero', async () => {
        const shape: Shape4 = [1, 2, 3, 2];
        const size = 12;
        const model = await load({
          inputs: [{ name: 'x', dims: shape }],
          outputs: [{ name: 'y', dims: [1, size] }],
          nodes: [node('Erf', ['x'], ['e'], 'erf'), node('Flatten', ['e'], ['y'], 'flatten')],
        });
        try {
          const x = inputValues(size).map((v) => v * 1.2);
          const weights = x.map((_, i) => 1 + 0.1 * i);
          const { scores, gradient } = run(model, shape, x, weights);
          assertClose(scores, x.map(erf), 1e-6, 'erf');
          assertClose(gradient, x.map((v, i) => (2 / Math.sqrt(Math.PI)) * Math.exp(-v * v) * weights[i]), 1e-5, 'gradient');
        } finally {
          model.dispose();
        }
      });

      it('Pow: integer exponents per channel on negative bases, and a square root (0.5); gradient y·x^(y-1)', async () => {
        const shape: Shape4 = [1, 3, 2, 2];
        const exponents = [1, 2, 3];
        const model = await load({
          inputs: [{ name: 'x', dims: shape }],
          outputs: [{ name: 'y', dims: [1, 24] }],
          initializers: [floats('k', [3, 1, 1], exponents), floats('half', [], [0.5]), floats('one', [], [1])],
          nodes: [
            node('Pow', ['x', 'k'], ['p'], 'per_channel'),
            node('Mul', ['x', 'x'], ['xx'], 'square'),
            node('Add', ['xx', 'one'], ['xx1'], 'plus_one'),
            node('Pow', ['xx1', 'half'], ['r'], 'root'),
            node('Concat', ['p', 'r'], ['both'], 'concat', [int('axis', 1)]),
            node('Flatten', ['both'], ['y'], 'flatten'),
          ],
        });
        try {
          const x = inputValues(12);
          assert.ok(x.some((v) => v < 0), 'negative bases included');
          const weights = Array.from({ length: 24 }, (_, i) => 0.3 + 0.05 * i);
          const { scores, gradient } = run(model, shape, x, weights);
          const channelOf = (i: number) => Math.floor(i / 4);
          const expected = [...x.map((v, i) => v ** exponents[channelOf(i)]), ...x.map((v) => Math.sqrt(v * v + 1))];
          assertClose(scores, expected, 1e-6, 'Pow');
          const expectedGradient = x.map((v, i) => {
            const k = exponents[channelOf(i)];
            return k * v ** (k - 1) * weights[i] + (v / Math.sqrt(v * v + 1)) * weights[12 + i];
          });
          assertClose(gradient, expectedGradient, 1e-5, 'gradient');
          assert.ok(gradient.every(Number.isFinite), 'finite gradients for negative bases');
        } finally {
          model.dispose();
        }
      });

      for (const [axis, label] of [
        [1, 'over C, H, W (axis 1)'],
        [-1, 'over W only (axis -1)'],
      ] as const) {
        it(`LayerNormalization (opset 17) ${label}, gradient by finite differences`, async () => {
          const shape: Shape4 = [1, 2, 3, 4];
          const [, C, H, W] = shape;
          const normalized = axis === 1 ? [C, H, W] : [W];
          const length = normalized.reduce((a, b) => a * b, 1);
          const scale = Array.from({ length }, (_, i) => 0.8 + 0.05 * i);
          const bias = Array.from({ length }, (_, i) => 0.1 - 0.02 * i);
          const eps = 1e-5;
          const model = await load({
            opset: 17,
            inputs: [{ name: 'x', dims: shape }],
            outputs: [{ name: 'y', dims: [1, C * H * W] }],
            initializers: [floats('scale', normalized, scale), floats('bias', normalized, bias)],
            nodes: [
              node('LayerNormalization', ['x', 'scale', 'bias'], ['ln'], 'ln', [int('axis', axis), float('epsilon', eps)]),
              node('Flatten', ['ln'], ['y'], 'flatten'),
            ],
          });
          // ONNX: normalize over the trailing axes from `axis` on; scale and bias index those axes.
          const reference = (x: number[]): number[] => {
            const y = new Array<number>(x.length);
            for (let start = 0; start < x.length; start += length) {
              const group = x.slice(start, start + length);
              const mean = group.reduce((a, b) => a + b, 0) / length;
              const variance = group.reduce((a, b) => a + (b - mean) ** 2, 0) / length;
              group.forEach((v, j) => (y[start + j] = ((v - mean) / Math.sqrt(variance + eps)) * scale[j] + bias[j]));
            }
            return y;
          };
          try {
            const x = inputValues(C * H * W);
            const weights = inputValues(C * H * W).map((v, i) => v + 0.01 * i);
            const { scores, gradient } = run(model, shape, x, weights);
            assertClose(scores, reference(x), 2e-6, 'LayerNormalization');
            assertClose(gradient, numericGradient(reference, x, weights), 1e-4, 'gradient');
          } finally {
            model.dispose();
          }
        });
      }

      it('Slice of a feature map with steps 1, 2 and -1: the values ONNX picks, and gradients back to exactly those cells', async () => {
        const shape: Shape4 = [1, 3, 5, 6];
        const [, C, H, W] = shape;
        // Channels reversed (step -1), rows 1, 3 (start 1, step 2, end past the map), columns 1..4.
        const picks = { c: [2, 1, 0], h: [1, 3], w: [1, 2, 3, 4] };
        const outSize = picks.c.length * picks.h.length * picks.w.length;
        const model = await load({
          inputs: [{ name: 'x', dims: shape }],
          outputs: [{ name: 'y', dims: [1, outSize] }],
          initializers: [
            int64s('starts', [3], [-1, 1, 1]),
            int64s('ends', [3], [-1000, 1000, -1]),
            int64s('axes', [3], [1, 2, 3]),
            int64s('steps', [3], [-1, 2, 1]),
          ],
          nodes: [node('Slice', ['x', 'starts', 'ends', 'axes', 'steps'], ['s'], 'slice'), node('Flatten', ['s'], ['y'], 'flatten')],
        });
        try {
          const x = inputValues(C * H * W);
          const weights = Array.from({ length: outSize }, (_, i) => 1 + i);
          const { scores, gradient } = run(model, shape, x, weights);
          const expected: number[] = [];
          const expectedGradient = new Array<number>(x.length).fill(0);
          for (const c of picks.c) {
            for (const h of picks.h) {
              for (const w of picks.w) {
                expectedGradient[at(shape, 0, c, h, w)] = weights[expected.length];
                expected.push(Math.fround(x[at(shape, 0, c, h, w)]));
              }
            }
          }
          assertClose(scores, expected, 0, 'Slice');
          assertClose(gradient, expectedGradient, 0, 'gradient');
        } finally {
          model.dispose();
        }
      });

      it('refuses a LayerNormalization scale that would broadcast the value larger, naming the node', async () => {
        const spec: GraphSpec = {
          opset: 17,
          inputs: [{ name: 'x', dims: [1, 2, 3, 4] }],
          outputs: [{ name: 'y', dims: [1, 24] }],
          initializers: [floats('scale', [500, 4], new Array(2000).fill(1))],
          nodes: [node('LayerNormalization', ['x', 'scale'], ['ln'], '/norm/LayerNormalization'), node('Flatten', ['ln'], ['y'], 'flatten')],
        };
        const before = tf.memory().numTensors;
        await assert.rejects(load(spec), (error: unknown) => {
          assert.ok(error instanceof LensError);
          assert.match(error.message, /graph-\d+\.onnx.*"\/norm\/LayerNormalization" \(LayerNormalization\): scale or bias of shape \[500, 4\] does not fit the normalized axes \[4\]/);
          return true;
        });
        assert.strictEqual(tf.memory().numTensors, before, 'nothing left behind');
      });

      it('refuses a Slice with step 0 (it would never end), naming the node', async () => {
        const spec: GraphSpec = {
          inputs: [{ name: 'x', dims: [1, 2, 4, 4] }],
          outputs: [{ name: 'y', dims: [1, 16] }],
          initializers: [int64s('starts', [1], [0]), int64s('ends', [1], [4]), int64s('axes', [1], [2]), int64s('steps', [1], [0])],
          nodes: [node('Slice', ['x', 'starts', 'ends', 'axes', 'steps'], ['s'], '/bad/Slice'), node('Flatten', ['s'], ['y'], 'flatten')],
        };
        const before = tf.memory().numTensors;
        await assert.rejects(load(spec), (error: unknown) => {
          assert.ok(error instanceof LensError);
          assert.match(error.message, /graph-\d+\.onnx.*ONNX node "\/bad\/Slice" \(Slice\) has axis 2, step 0 .*damaged/);
          return true;
        });
        assert.strictEqual(tf.memory().numTensors, before, 'nothing left behind');
      });
    });
  }
});
