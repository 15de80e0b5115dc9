// ROAD's noisy linear imputation (Rong et al., 2022, "A Consistent and Efficient Evaluation Strategy
// for Attribution Methods"; pytorch-grad-cam's NoisyLinearImputer): each removed pixel takes the
// weighted mean of its 8 neighbours (weight 1/6 for the 4 direct ones, 1/12 for the diagonals; only
// neighbours inside the image count), removed neighbours being unknowns too; the resulting sparse
// system is solved per channel, then Gaussian noise (std 0.01) is added to the imputed values.
// Unlike filling with black, this does not leak the removed region's shape to the model.
//
// The system (D − W_uu)·x_u = W_uk·x_k is symmetric positive definite (weights are symmetric and
// every connected removed region touches a kept pixel), so conjugate gradients solve it without
// a sparse factorisation; all channels share the matrix and are solved together.
import { gaussianRandom } from '../random';

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
  const unknowns: number[] = [];
  const indexOf = new Int32Array(height * width).fill(-1);
  for (let p = 0; p < height * width; p++) {
    if (removed[p]) {
      indexOf[p] = unknowns.length;
      unknowns.push(p);
    }
  }
  const n = unknowns.length;
  if (n === 0) {
    return out;
  }
  if (n === height * width) {
    throw new Error('Linear imputation needs at least one kept pixel.');
  }
  // Per unknown: diagonal (sum of valid weights), unknown neighbours in compressed rows, right-hand side.
  const diagonal = new Float64Array(n);
  const rowStart = new Int32Array(n + 1);
  const columns = new Int32Array(n * NEIGHBOURS.length);
  const entries = new Float64Array(n * NEIGHBOURS.length);
  const rhs = new Float64Array(n * channels);
  let nonZeros = 0;
  unknowns.forEach((p, i) => {
    const y = Math.floor(p / width);
    const x = p % width;
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
        entries[nonZeros] = weight;
        nonZeros++;
      } else {
        for (let c = 0; c < channels; c++) {
          rhs[i * channels + c] += weight * values[q * channels + c];
        }
      }
    }
  });
  rowStart[n] = nonZeros;
  const multiply = (v: Float64Array, result: Float64Array): void => {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < channels; c++) {
        result[i * channels + c] = diagonal[i] * v[i * channels + c];
      }
      for (let k = rowStart[i]; k < rowStart[i + 1]; k++) {
        const j = columns[k] * channels;
        const weight = entries[k];
        for (let c = 0; c < channels; c++) {
          result[i * channels + c] -= weight * v[j + c];
        }
      }
    }
  };
  const solution = conjugateGradients(multiply, rhs, n, channels);
  const noise = options.noise ?? IMPUTATION_NOISE;
  const random = gaussianRandom(options.seed ?? 1);
  unknowns.forEach((p, i) => {
    for (let c = 0; c < channels; c++) {
      out[p * channels + c] = solution[i * channels + c] + noise * random();
    }
  });
  return out;
}

/** CG on each channel column of an n×channels right-hand side, to a relative residual of 1e-8. */
function conjugateGradients(multiply: (v: Float64Array, out: Float64Array) => void, b: Float64Array, n: number, channels: number): Float64Array {
  const x = new Float64Array(n * channels);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  const ap = new Float64Array(n * channels);
  const dot = (u: Float64Array, v: Float64Array, c: number): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += u[i * channels + c] * v[i * channels + c];
    }
    return sum;
  };
  const rr = Array.from({ length: channels }, (_, c) => dot(r, r, c));
  const target = rr.map((v) => v * 1e-12); // relative residual 1e-6: far below the imputation noise
  for (let iteration = 0; iteration < 4 * n + 100; iteration++) {
    if (rr.every((v, c) => v <= target[c] || v === 0)) {
      break;
    }
    multiply(p, ap);
    for (let c = 0; c < channels; c++) {
      if (rr[c] <= target[c] || rr[c] === 0) {
        continue;
      }
      const alpha = rr[c] / dot(p, ap, c);
      for (let i = 0; i < n; i++) {
        x[i * channels + c] += alpha * p[i * channels + c];
        r[i * channels + c] -= alpha * ap[i * channels + c];
      }
      const next = dot(r, r, c);
      const beta = next / rr[c];
      rr[c] = next;
      for (let i = 0; i < n; i++) {
        p[i * channels + c] = r[i * channels + c] + beta * p[i * channels + c];
      }
    }
  }
  return x;
}
