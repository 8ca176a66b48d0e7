/**
 * A symmetric eigensolver (cyclic Jacobi rotations) in plain TypeScript: tfjs has no eigen
 * decomposition, and DirectPred needs one of a d×d correlation matrix (d = 64 here) every few steps.
 * Jacobi is simple, accurate to machine precision for symmetric matrices, and fast enough at this size.
 */

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Eigenvectors as columns of a row-major n×n matrix, in the order of `values`. */
  vectors: Float64Array;
}

/** Eigen-decomposition of the symmetric n×n matrix `a` (row-major); `a` is not modified. */
export function symmetricEigen(a: ArrayLike<number>, n: number, { tolerance = 1e-12, maxSweeps = 100 } = {}): SymmetricEigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, received ${a.length}.`);
  const m = Float64Array.from(a);
  // Symmetrise: rounding in the caller's accumulation can leave a tiny asymmetry.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = m[j * n + i] = (m[i * n + j]! + m[j * n + i]!) / 2;
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const scale = Math.max(1e-300, Math.sqrt(m.reduce((s, x) => s + x * x, 0)));

  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2;
    if (Math.sqrt(off) <= tolerance * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        // The rotation angle that zeroes a[p][q] (Golub & Van Loan, the stable form).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!;
          const akq = m[k * n + q]!;
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!;
          const aqk = m[q * n + k]!;
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[y * n + y]! - m[x * n + x]!);
  const values = Float64Array.from(order, (i) => m[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((col, j) => {
    for (let k = 0; k < n; k++) vectors[k * n + j] = v[k * n + col]!;
  });
  return { values, vectors };
}

/**
 * DirectPred's predictor from a correlation matrix F (Tian et al. 2021, "boost_scale"):
 * W = U·diag(p)·Uᵀ with p_j = √(max(s_j, 0) / max_j s_j) + ε, and p_j ≥ 1e-4 as the reference code.
 */
export function directPredWeights(correlation: ArrayLike<number>, n: number, epsilon: number): Float32Array {
  const { values, vectors } = symmetricEigen(correlation, n);
  const top = Math.max(values[0]!, 1e-30);
  const p = Float64Array.from(values, (s) => Math.max(Math.sqrt(Math.max(s, 0) / top) + epsilon, 1e-4));
  const w = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += vectors[i * n + k]! * p[k]! * vectors[j * n + k]!;
      w[i * n + j] = w[j * n + i] = sum;
    }
  }
  return w;
}
