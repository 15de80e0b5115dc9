// Small dense linear algebra in double precision for Eigen-CAM (tfjs has no SVD or eigensolver).

/**
 * Eigenvalues and eigenvectors of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations:
 * robust and exact to rounding, and n here is min(positions, channels) of one layer, so O(n³)
 * per sweep stays small. The input is not modified. Vectors are the columns of `vectors`.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    v[i * n + i] = 1;
  }
  let scale = 0;
  for (let i = 0; i < n * n; i++) {
    scale += a[i] * a[i];
  }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        off += a[p * n + q] * a[p * n + q];
      }
    }
    if (off <= 1e-30 * scale || off === 0) {
      break;
    }
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) {
          continue;
        }
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J: rotate columns p and q, then rows p and q; V ← V J.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    values[i] = a[i * n + i];
  }
  return { values, vectors: v };
}

/**
 * Projection of the rows of X (m×n, row-major, columns already centred) on the first right
 * singular vector of X, i.e. X·v₁: computed from the eigenvectors of the smaller Gram matrix
 * (XᵀX when n ≤ m, else XXᵀ, whose top eigenvector u₁ gives X·v₁ = σ₁·u₁). Sign arbitrary.
 */
export function firstPrincipalProjection(x: Float64Array, m: number, n: number): Float64Array {
  const projection = new Float64Array(m);
  if (n <= m) {
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let sum = 0;
        for (let r = 0; r < m; r++) {
          sum += x[r * n + i] * x[r * n + j];
        }
        gram[i * n + j] = sum;
        gram[j * n + i] = sum;
      }
    }
    const { values, vectors } = symmetricEigen(gram, n);
    const top = argMaxOf(values);
    for (let r = 0; r < m; r++) {
      let sum = 0;
      for (let k = 0; k < n; k++) {
        sum += x[r * n + k] * vectors[k * n + top];
      }
      projection[r] = sum;
    }
  } else {
    const gram = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        let sum = 0;
        for (let k = 0; k < n; k++) {
          sum += x[i * n + k] * x[j * n + k];
        }
        gram[i * m + j] = sum;
        gram[j * m + i] = sum;
      }
    }
    const { values, vectors } = symmetricEigen(gram, m);
    const top = argMaxOf(values);
    const sigma = Math.sqrt(Math.max(values[top], 0));
    for (let r = 0; r < m; r++) {
      projection[r] = sigma * vectors[r * m + top];
    }
  }
  return projection;
}

function argMaxOf(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (values[i] > values[best]) {
      best = i;
    }
  }
  return best;
}
