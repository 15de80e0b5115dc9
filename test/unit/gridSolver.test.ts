// The multigrid-preconditioned solver of ROAD's imputation (src/engine/explain/metrics/gridSolver.ts), on
// the imputation's own systems: against a dense direct solve on small grids (blobs, scattered
// pixels, a border region, several channels), and on large removed regions where it must converge
// in a number of iterations that does not grow with the image (plain conjugate gradients needed
// 82 to 293 iterations there, and 22 s for the 18 imputations of one 224² map).
import { strict as assert } from 'assert';
import { multiply, solveOnGrid, type SparseSymmetric } from '../../src/engine/explain/metrics/gridSolver';
import { imputationSystem } from '../../src/engine/explain/metrics/imputation';
import { gaussianRandom } from '../../src/engine/explain/random';

/** Dense Gaussian elimination with partial pivoting: the reference. */
function denseSolve(matrix: SparseSymmetric, b: Float64Array, channels: number): Float64Array {
  const { n } = matrix;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    a[i * n + i] = matrix.diagonal[i];
    for (let k = matrix.rowStart[i]; k < matrix.rowStart[i + 1]; k++) a[i * n + matrix.columns[k]] += matrix.values[k];
  }
  const x = Float64Array.from(b);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[pivot * n + col])) pivot = r;
    for (let k = 0; k < n; k++) [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k], a[col * n + k]];
    for (let c = 0; c < channels; c++) [x[col * channels + c], x[pivot * channels + c]] = [x[pivot * channels + c], x[col * channels + c]];
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col] / a[col * n + col];
      if (f === 0) continue;
      for (let k = col; k < n; k++) a[r * n + k] -= f * a[col * n + k];
      for (let c = 0; c < channels; c++) x[r * channels + c] -= f * x[col * channels + c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    for (let c = 0; c < channels; c++) {
      let s = x[r * channels + c];
      for (let k = r + 1; k < n; k++) s -= a[r * n + k] * x[k * channels + c];
      x[r * channels + c] = s / a[r * n + r];
    }
  }
  return x;
}

function image(height: number, width: number, channels: number, seed: number): Float32Array {
  const random = gaussianRandom(seed);
  return Float32Array.from({ length: height * width * channels }, () => 0.5 + 0.2 * random());
}

/** Pixels within `radius` of (cy, cx). */
function blob(height: number, width: number, cy: number, cx: number, radius: number): Uint8Array {
  return Uint8Array.from({ length: height * width }, (_, p) => Number((Math.floor(p / width) - cy) ** 2 + ((p % width) - cx) ** 2 <= radius * radius));
}

function relativeResidual(matrix: SparseSymmetric, x: Float64Array, b: Float64Array, channels: number): number {
  const ax = new Float64Array(matrix.n);
  let worst = 0;
  for (let c = 0; c < channels; c++) {
    const column = Float64Array.from({ length: matrix.n }, (_, i) => x[i * channels + c]);
    multiply(matrix, column, ax);
    let rr = 0;
    let bb = 0;
    for (let i = 0; i < matrix.n; i++) {
      rr += (b[i * channels + c] - ax[i]) ** 2;
      bb += b[i * channels + c] ** 2;
    }
    worst = Math.max(worst, Math.sqrt(rr / bb));
  }
  return worst;
}

describe('ROAD imputation solver: multigrid-preconditioned conjugate gradients', () => {
  const cases: [string, number, number, (h: number, w: number) => Uint8Array][] = [
    ['a blob in the middle (coarsens to a direct solve)', 40, 36, (h, w) => blob(h, w, 20, 18, 14)],
    ['a region on the border and corner', 30, 30, (h, w) => Uint8Array.from({ length: h * w }, (_, p) => Number(Math.floor(p / w) < 12 || p % w > 22))],
    ['isolated pixels, one per 2×2 block (nothing to coarsen: smoothing is the coarsest solve)', 48, 48, (h, w) => Uint8Array.from({ length: h * w }, (_, p) => Number(Math.floor(p / w) % 2 === 0 && (p % w) % 2 === 0))],
    ['random pixels, as a noisy map removes them', 48, 48, (h, w) => {
      const random = gaussianRandom(7);
      return Uint8Array.from({ length: h * w }, () => Number(random() > 0.5));
    }],
    ['90% removed, most of the image one region', 32, 32, (h, w) => Uint8Array.from({ length: h * w }, (_, p) => Number(p % 10 !== 0))],
  ];
  for (const [name, height, width, mask] of cases) {
    it(`equals a dense direct solve: ${name}`, () => {
      const channels = 3;
      const removed = mask(height, width);
      const { matrix, rhs, coordinates } = imputationSystem(image(height, width, channels, 3), height, width, channels, removed);
      assert.ok(matrix.n > 100, `only ${matrix.n} unknowns`);
      const expected = denseSolve(matrix, rhs, channels);
      const { solution, relativeResidual: reported } = solveOnGrid(matrix, rhs, channels, coordinates, 1e-10);
      assert.ok(reported <= 1e-10, `residual ${reported}`);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(solution[i] - expected[i]));
      assert.ok(worst < 1e-8, `max difference ${worst}`);
    });
  }

  it('solves channels side by side as each alone: a zero channel, two channels (the generic path) and one', () => {
    const height = 40;
    const width = 36;
    const removed = blob(height, width, 20, 18, 14);
    const values = image(height, width, 2, 5);
    for (let p = 0; p < height * width; p++) values[p * 2 + 1] = 0; // the second channel is black: its right-hand side is zero
    const { matrix, rhs, coordinates } = imputationSystem(values, height, width, 2, removed);
    const together = solveOnGrid(matrix, rhs, 2, coordinates, 1e-10);
    const first = solveOnGrid(matrix, Float64Array.from({ length: matrix.n }, (_, i) => rhs[i * 2]), 1, coordinates, 1e-10);
    const expected = denseSolve(matrix, rhs, 2);
    for (let i = 0; i < matrix.n; i++) {
      assert.ok(Math.abs(together.solution[i * 2] - expected[i * 2]) < 1e-8, `row ${i}`);
      assert.ok(Math.abs(together.solution[i * 2] - first.solution[i]) < 1e-8, `row ${i} alone`);
      assert.equal(together.solution[i * 2 + 1], 0);
    }
    assert.equal(together.iterations, first.iterations, 'the zero channel must not change the other channel\'s iterations');
  });

  it('converges in the same few iterations on large removed regions (64² to 256²), to the residual it reports', () => {
    const iterations: number[] = [];
    for (const side of [64, 128, 256]) {
      const removed = blob(side, side, side * 0.55, side * 0.45, side * 0.42);
      const { matrix, rhs, coordinates } = imputationSystem(image(side, side, 1, side), side, side, 1, removed);
      const result = solveOnGrid(matrix, rhs, 1, coordinates, 1e-6);
      assert.ok(result.relativeResidual <= 1e-6, `${side}²: residual ${result.relativeResidual}`);
      assert.ok(relativeResidual(matrix, result.solution, rhs, 1) <= 1e-6, `${side}²: the solution's own residual`);
      iterations.push(result.iterations);
    }
    // Plain conjugate gradients took 82 (64²), 152 (128²) and 293 (256²) iterations on these systems.
    assert.ok(iterations.every((count) => count <= 20), `iterations ${iterations.join(', ')}`);
    assert.ok(iterations[2] <= iterations[0] + 4, `iterations grow with the image: ${iterations.join(', ')}`);
  });

  it('a zero right-hand side (a black surround) gives zeros at once', () => {
    const removed = blob(20, 20, 10, 10, 6);
    const { matrix, coordinates } = imputationSystem(new Float32Array(400), 20, 20, 1, removed);
    const result = solveOnGrid(matrix, new Float64Array(matrix.n), 1, coordinates);
    assert.equal(result.iterations, 0);
    assert.ok(result.solution.every((v) => v === 0));
  });
});
