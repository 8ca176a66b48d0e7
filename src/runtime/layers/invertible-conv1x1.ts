import * as tf from '@tensorflow/tfjs';

/**
 * Glow's invertible 1×1 convolution, a flow step: every position's channel vector (the last axis)
 * is multiplied by one C×C matrix W, kept LU-parameterised as W = P·L·(U + diag(sign·exp(logS)))
 * with P a fixed permutation, L unit lower and U strictly upper triangular. So
 * log|det J| = (positions per example)·Σ logS without a determinant (tfjs has none), and the inverse
 * needs only W⁻¹, worked out in plain JS when sampling. W starts as a random rotation (seeded).
 */
export class PatchbayInvertibleConv1x1 extends tf.layers.Layer {
  static className = 'PatchbayInvertibleConv1x1';
  /** Named like tfjs's initialiser fields, so that a seeded build seeds the starting rotation. */
  rotationInitializer = tf.initializers.orthogonal({});
  private lower: tf.LayerVariable | null = null;
  private upper: tf.LayerVariable | null = null;
  private logS: tf.LayerVariable | null = null;
  private signS: tf.LayerVariable | null = null;
  private permutation: tf.LayerVariable | null = null;
  /** W⁻¹ read ahead by prepareInverse (sampling), used by inverseFlow until releaseInverse. */
  private preparedInverse: tf.Tensor2D | null = null;

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`The invertible 1×1 convolution needs a known channel axis last, got input shape [${shape.join(', ')}].`);
    const { p, l, u, s } = PatchbayInvertibleConv1x1Lu(this.startingRotation(c), c);
    const zeros = tf.initializers.zeros();
    this.permutation = this.addWeight('permutation', [c, c], 'float32', zeros, undefined, false);
    this.lower = this.addWeight('lower', [c, c], 'float32', zeros);
    this.upper = this.addWeight('upper', [c, c], 'float32', zeros);
    this.logS = this.addWeight('log_s', [c], 'float32', zeros);
    this.signS = this.addWeight('sign_s', [c], 'float32', zeros, undefined, false);
    tf.tidy(() => {
      this.permutation!.write(tf.tensor2d(p, [c, c]));
      this.lower!.write(tf.tensor2d(l, [c, c]));
      this.upper!.write(tf.tensor2d(u, [c, c]));
      this.logS!.write(tf.tensor1d(s.map((v) => Math.log(Math.abs(v)))));
      this.signS!.write(tf.tensor1d(s.map((v) => Math.sign(v) || 1)));
    });
    this.built = true;
  }

  /**
   * The starting rotation as tfjs's orthogonal initialiser makes it (its seed and gain, the same
   * normal draws, Q of their QR with R's diagonal made positive), worked out in JS: build cannot
   * wait for a read, and webgpu has no synchronous one. The draws are read before any kernel uses
   * them, while the values are still on the host (every backend keeps a new tensor's values there
   * until it is uploaded), so this is no read-back. Q is unique, so it equals tfjs's QR to rounding.
   */
  private startingRotation(c: number): number[] {
    const { gain = 1, seed } = this.rotationInitializer.getConfig() as { gain?: number; seed?: number };
    const draws = tf.randomNormal([c, c], 0, 1, 'float32', seed);
    const a = Array.from(draws.dataSync());
    draws.dispose();
    // Modified Gram–Schmidt over the columns (float64): column j of Q, with R's diagonal positive.
    const q = new Array<number>(c * c).fill(0);
    for (let j = 0; j < c; j++) {
      const v = Array.from({ length: c }, (_, r) => a[r * c + j]!);
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < c; r++) dot += q[r * c + i]! * v[r]!;
        for (let r = 0; r < c; r++) v[r] = v[r]! - dot * q[r * c + i]!;
      }
      const norm = Math.hypot(...v) || 1;
      for (let r = 0; r < c; r++) q[r * c + j] = v[r]! / norm;
    }
    return q.map((x) => gain * x);
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** W from its LU factors (masks keep L strictly lower and U strictly upper whatever the optimizer does; diag(s) as I·s, since tf.diag has no gradient). */
  weightMatrix(): tf.Tensor2D {
    return tf.tidy(() => {
      const c = this.logS!.shape[0]!;
      const ones = tf.ones([c, c]);
      const strictlyLower = tf.sub(tf.linalg.bandPart(ones, -1, 0), tf.eye(c));
      const strictlyUpper = tf.sub(tf.linalg.bandPart(ones, 0, -1), tf.eye(c));
      const l = tf.add(tf.mul(this.lower!.read(), strictlyLower), tf.eye(c));
      const u = tf.add(tf.mul(this.upper!.read(), strictlyUpper), tf.mul(tf.eye(c), tf.mul(this.signS!.read(), tf.exp(this.logS!.read()))));
      return tf.matMul(this.permutation!.read() as tf.Tensor2D, tf.matMul(l as tf.Tensor2D, u as tf.Tensor2D));
    });
  }

  private positions(x: tf.Tensor): number {
    return x.shape.slice(1, -1).reduce((a, b) => a * b, 1);
  }

  /** y = W·x at every position, and log|det J| per example. */
  forwardFlow(x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor } {
    const c = x.shape[x.rank - 1]!;
    const w = this.weightMatrix();
    const y = tf.reshape(tf.matMul(tf.reshape(x, [-1, c]) as tf.Tensor2D, w, false, true), x.shape);
    const logdet = tf.mul(tf.ones([x.shape[0]!]), tf.mul(tf.sum(this.logS!.read()), this.positions(x)));
    return { y, logdet };
  }

  /**
   * Works out W⁻¹ (Gauss–Jordan in JS, from W read with `data()`) for the inverseFlow calls that
   * follow, until releaseInverse: how sampling inverts, on every backend (webgpu has no synchronous read).
   */
  async prepareInverse(): Promise<void> {
    const c = this.logS!.shape[0]!;
    const w = this.weightMatrix();
    const values = await w.data().finally(() => w.dispose());
    this.releaseInverse();
    this.preparedInverse = tf.tensor2d(PatchbayInvertibleConv1x1Inverse(Array.from(values), c), [c, c]);
  }

  releaseInverse(): void {
    this.preparedInverse?.dispose();
    this.preparedInverse = null;
  }

  /**
   * x = W⁻¹·y at every position (W⁻¹ by Gauss–Jordan in JS: sampling needs no gradient). Uses the
   * W⁻¹ of prepareInverse when there is one; without it, reads W synchronously, which only the
   * CPU-side backends (cpu, wasm) can: sampleFlow always prepares.
   */
  inverseFlow(y: tf.Tensor): tf.Tensor {
    const c = y.shape[y.rank - 1]!;
    const prepared = this.preparedInverse;
    let inverse = prepared;
    if (!inverse) {
      const w = this.weightMatrix();
      inverse = tf.tensor2d(PatchbayInvertibleConv1x1Inverse(Array.from(w.dataSync()), c), [c, c]);
      w.dispose();
    }
    const x = tf.reshape(tf.matMul(tf.reshape(y, [-1, c]) as tf.Tensor2D, inverse, false, true), y.shape);
    if (inverse !== prepared) inverse.dispose();
    return x;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.forwardFlow(Array.isArray(inputs) ? inputs[0]! : inputs).y);
  }
}
tf.serialization.registerClass(PatchbayInvertibleConv1x1);

/** A = P·L·U with partial pivoting (row-major n×n): P, unit lower L, upper U without its diagonal, and the diagonal s. */
export function PatchbayInvertibleConv1x1Lu(a: number[], n: number): { p: number[]; l: number[]; u: number[]; s: number[] } {
  const m = a.slice();
  const rows = Array.from({ length: n }, (_, i) => i);
  const l = new Array<number>(n * n).fill(0);
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[pivot * n + k]!)) pivot = i;
    if (pivot !== k) {
      for (let j = 0; j < n; j++) [m[k * n + j], m[pivot * n + j]] = [m[pivot * n + j]!, m[k * n + j]!];
      for (let j = 0; j < k; j++) [l[k * n + j], l[pivot * n + j]] = [l[pivot * n + j]!, l[k * n + j]!];
      [rows[k], rows[pivot]] = [rows[pivot]!, rows[k]!];
    }
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k]! / m[k * n + k]!;
      l[i * n + k] = f;
      for (let j = k; j < n; j++) m[i * n + j] = m[i * n + j]! - f * m[k * n + j]!;
    }
  }
  // Row k of P·(LU) is row rows[k] of A: P has a 1 at (rows[k], k).
  const p = new Array<number>(n * n).fill(0);
  rows.forEach((r, k) => (p[r * n + k] = 1));
  const u = m.map((v, i) => (i % n > Math.floor(i / n) ? v : 0));
  const s = Array.from({ length: n }, (_, i) => m[i * n + i]!);
  return { p, l, u, s };
}

/** The inverse of an n×n row-major matrix by Gauss–Jordan elimination with partial pivoting. */
export function PatchbayInvertibleConv1x1Inverse(a: ArrayLike<number>, n: number): number[] {
  const m = Array.from(a);
  const inv: number[] = Array.from({ length: n * n }, (_, i) => (i % n === Math.floor(i / n) ? 1 : 0));
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[pivot * n + k]!)) pivot = i;
    for (let j = 0; j < n; j++) {
      [m[k * n + j], m[pivot * n + j]] = [m[pivot * n + j]!, m[k * n + j]!];
      [inv[k * n + j], inv[pivot * n + j]] = [inv[pivot * n + j]!, inv[k * n + j]!];
    }
    const d = m[k * n + k]!;
    for (let j = 0; j < n; j++) {
      m[k * n + j] = m[k * n + j]! / d;
      inv[k * n + j] = inv[k * n + j]! / d;
    }
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const f = m[i * n + k]!;
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[i * n + j] = m[i * n + j]! - f * m[k * n + j]!;
        inv[i * n + j] = inv[i * n + j]! - f * inv[k * n + j]!;
      }
    }
  }
  return inv;
}
