// ROAD's noisy linear imputation (Rong et al., 2022, "A Consistent and Efficient Evaluation Strategy
// for Attribution Methods"; pytorch-grad-cam's NoisyLinearImputer): each removed pixel takes the
// weighted mean of its 8 neighbours (weight 1/6 for the 4 direct ones, 1/12 for the diagonals; only
// neighbours inside the image count), removed neighbours being unknowns too; the resulting sparse
// system is solved per channel, then Gaussian noise (std 0.01) is added to the imputed values.
// Unlike filling with black, this does not leak the removed region's shape to the model.
//
// The system (D − W_uu)·x_u = W_uk·x_k is symmetric positive definite (weights are symmetric and
// every connected removed region touches a kept pixel); gridSolver.ts solves it by multigrid-
// preconditioned conjugate gradients, all channels together (they share the matrix).
import { gaussianRandom } from '../random';
import { solveOnGrid, type SparseSymmetric } from './gridSolver';

const NEIGHBOURS: readonly [number, number, number][] = [
  [1, 1, 1 / 12],
  [0, 1, 1 / 6],
  [-1, 1, 1 / 12],
  [1, -1, 1 / 12],
  [0, -1, 1 / 6],
  [-1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [-1, 0, 1 / 6],
];

export const IMPUTATION_NOISE = 0.01;

/** The imputation's linear system: one unknown per removed pixel (`pixels[i]`, raster index). */
export interface ImputationSystem {
  readonly matrix: SparseSymmetric;
  /** n × channels: the kept neighbours' weighted values, W_uk·x_k. */
  readonly rhs: Float64Array;
  /** n × 2: each unknown's [y, x], for the solver's grid hierarchy. */
  readonly coordinates: Int32Array;
  readonly pixels: Int32Array;
}

/** values: [H, W, C] row-major; removed: [H·W], 1 where the pixel is removed (at least one must be kept). */
export function imputationSystem(values: Float32Array, height: number, width: number, channels: number, removed: Uint8Array): ImputationSystem {
  const indexOf = new Int32Array(height * width).fill(-1);
  let n = 0;
  for (let p = 0; p < height * width; p++) {
    if (removed[p]) {
      indexOf[p] = n++;
    }
  }
  if (n === height * width) {
    throw new Error('Linear imputation needs at least one kept pixel.');
  }
  const pixels = new Int32Array(n);
  const coordinates = new Int32Array(2 * n);
  // Per unknown: diagonal (sum of valid weights), unknown neighbours in compressed rows (−weight:
  // the system is (D − W_uu)·x_u = W_uk·x_k), right-hand side.
  const diagonal = new Float64Array(n);
  const rowStart = new Int32Array(n + 1);
  const columns = new Int32Array(n * NEIGHBOURS.length);
  const entries = new Float64Array(n * NEIGHBOURS.length);
  const rhs = new Float64Array(n * channels);
  let nonZeros = 0;
  for (let p = 0, i = 0; p < height * width; p++) {
    if (!removed[p]) {
      continue;
    }
    const y = Math.floor(p / width);
    const x = p % width;
    pixels[i] = p;
    coordinates[2 * i] = y;
    coordinates[2 * i + 1] = x;
    rowStart[i] = nonZeros;
    for (const [dy, dx, weight] of NEIGHBOURS) {
      const ny = y + dy;
      const nx = x + dx;
      if (ny < 0 || nx < 0 || ny >= height || nx >= width) {
        continue;
      }
      diagonal[i] += weight;
      const q = ny * width + nx;
      if (removed[q]) {
        columns[nonZeros] = indexOf[q];
        entries[nonZeros] = -weight;
        nonZeros++;
      } else {
        for (let c = 0; c < channels; c++) {
          rhs[i * channels + c] += weight * values[q * channels + c];
        }
      }
    }
    i++;
  }
  rowStart[n] = nonZeros;
  const matrix = { n, diagonal, rowStart, columns: columns.subarray(0, nonZeros), values: entries.subarray(0, nonZeros) };
  return { matrix, rhs, coordinates, pixels };
}

/**
 * values: [H, W, C] row-major; removed: [H·W], 1 where the pixel is removed. Returns a new array
 * with removed pixels imputed (plus `noise`·N(0,1) from the seeded generator).
 */
export function noisyLinearImpute(
  values: Float32Array,
  height: number,
  width: number,
  channels: number,
  removed: Uint8Array,
  options: { noise?: number; seed?: number } = {},
): Float32Array {
  const out = Float32Array.from(values);
  if (!removed.some((r) => r !== 0)) {
    return out;
  }
  const { matrix, rhs, coordinates, pixels } = imputationSystem(values, height, width, channels, removed);
  const { solution } = solveOnGrid(matrix, rhs, channels, coordinates);
  const noise = options.noise ?? IMPUTATION_NOISE;
  const random = gaussianRandom(options.seed ?? 1);
  pixels.forEach((p, i) => {
    for (let c = 0; c < channels; c++) {
      out[p * channels + c] = solution[i * channels + c] + noise * random();
    }
  });
  return out;
}
