/**
 * Patchbay's SIMD kernels split over helper threads (src/runtime/simd-threads.ts) on the threaded
 * wasm build: the helpers start; each split kernel gives what the same kernel gives on one thread —
 * the same bits where every output is computed by one share (elementwise, GELU, batch norm forward,
 * depthwise convolution, matrix products split by rows or by batch), float32 rounding where shares'
 * partial sums are added (depthwise filter gradient, batch and layer norm gradients); a helper's failure is
 * an error on the caller, and the helpers keep working after it; shares are whole and cover all.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSimdThreadsEnabled, simdThreadsOf, simdKernelsOf, heapOffset, type WasmHeapBackend } from '../src/runtime/simd-kernels';
import { shareRanges } from '../src/runtime/simd-threads';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { FusedLayerNormalization } from '../src/runtime/fused-layer-norm';
import { FusedBatchNormalization } from '../src/runtime/fused-batch-norm';
import { FusedGeluActivation } from '../src/runtime/fused-gelu';

function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

const tensor = (shape: number[], seed: number) =>
  tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );

/** Runs `f` with the helpers on and off; returns both results' values. */
function splitAndSingle(f: () => tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const run = () => tf.tidy(() => f().map((t) => Float32Array.from(t.dataSync())));
  const helpers = simdThreadsOf(tf.backend())!;
  const sharesBefore = helpers.helperShares;
  const split = run();
  // Work went to the helper (else the comparison below would compare one thread with itself).
  expect(helpers.helperShares).toBeGreaterThan(sharesBefore);
  setSimdThreadsEnabled(false);
  try {
    return [split, run()];
  } finally {
    setSimdThreadsEnabled(true);
  }
}

function expectSameBits(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((values, k) => {
    const other = b[k]!;
    expect(values.length).toBe(other.length);
    for (let i = 0; i < values.length; i++)
      if (!Object.is(values[i], other[i])) throw new Error(`output ${k}[${i}]: ${values[i]} split, ${other[i]} on one thread`);
  });
}

function relError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

describe('shares', () => {
  it('cover every item once, in whole aligned blocks, no more than the threads and none under the minimum', () => {
    for (const [total, parts, align, minimum] of [
      [100, 2, 4, 1],
      [7, 4, 4, 1],
      [1568, 2, 1, 256],
      [64, 8, 4, 1],
      [3, 2, 1, 1000],
      [0, 2, 4, 1],
    ] as const) {
      const ranges = shareRanges(total, parts, align, minimum);
      expect(ranges.length).toBeLessThanOrEqual(parts);
      let next = 0;
      for (const [start, count] of ranges) {
        expect(start).toBe(next);
        if (start + count < total) expect(count % align).toBe(0);
        next = start + count;
      }
      expect(next).toBe(total);
      if (ranges.length > 1) for (const [, count] of ranges.slice(0, -1)) expect(count).toBeGreaterThanOrEqual(minimum);
    }
  });
});

describe('on two threads', () => {
  beforeAll(async () => {
    const status = await useWasmBackend({ threads: 2 });
    expect(status.threads).toBe(2);
    expect(status.simdKernelsOff).toBeNull();
  });
  afterAll(async () => {
    await useWasmBackend({ threads: 1 });
  });

  it('a backend replaced by another thread count stops its helpers (each holds the whole heap)', async () => {
    const helpers = simdThreadsOf(tf.backend())!;
    expect(helpers.closed).toBe(false);
    await useWasmBackend({ threads: 1 });
    expect(helpers.closed).toBe(true);
    expect(simdThreadsOf(tf.backend())).toBeNull();
    await useWasmBackend({ threads: 2 });
    expect(simdThreadsOf(tf.backend())!.closed).toBe(false);
  });

  it('a helper thread runs beside the caller', () => {
    const helpers = simdThreadsOf(tf.backend());
    expect(helpers).not.toBeNull();
    expect(helpers!.parts).toBe(2);
  });

  it('elementwise kernels, GELU and batch norm forward give the same bits split as on one thread; the batch norm gradient (partial sums added) agrees to float32 rounding', () => {
    const [split, single] = splitAndSingle(() => {
      const x = tensor([32, 14, 14, 64], 1);
      const gelu = new FusedGeluActivation();
      const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(gelu.apply(xi), tensor([32, 14, 14, 64], 2))))(x);
      const bn = new FusedBatchNormalization({});
      bn.build(x.shape);
      const bnGrad = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(bn.apply(xi, { training: true }) as tf.Tensor, x)))(x);
      const out = [
        tf.erf(x),
        tf.exp(x),
        gelu.apply(x),
        dx,
        bn.apply(x, { training: true }) as tf.Tensor,
        tf.batchNorm(x, tf.ones([64]), tf.ones([64])),
        bnGrad,
      ];
      for (const w of bn.weights) w.dispose();
      return out;
    });
    expectSameBits(split.slice(0, 6), single.slice(0, 6));
    expect(relError(split[6]!, single[6]!)).toBeLessThan(1e-5);
  });

  it('matrix products split by rows and by batch, transposed or not, with a bias, give the same bits', () => {
    const [split, single] = splitAndSingle(() => [
      tf.matMul(tensor([1568, 64], 3), tensor([64, 256], 4)),
      tf.matMul(tensor([6272, 64], 5), tensor([6272, 64], 6), true, false),
      tf.matMul(tensor([1568, 256], 7), tensor([64, 256], 8), false, true),
      tf.matMul(tensor([8, 49, 64], 9), tensor([8, 64, 32], 10)),
      tf.fused.matMul({ a: tensor([1570, 64], 11) as tf.Tensor2D, b: tensor([64, 30], 12) as tf.Tensor2D, bias: tensor([30], 13) }),
    ]);
    expectSameBits(split, single);
  });

  it('depthwise convolution gives the same bits; its filter gradient and layer norm’s dγ, dβ (partial sums added) agree to float32 rounding', () => {
    const [split, single] = splitAndSingle(() => {
      const x = tensor([32, 14, 14, 64], 14);
      const w = tensor([5, 5, 64, 1], 15);
      const conv = (xi: tf.Tensor, wi: tf.Tensor) => tf.depthwiseConv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, 'same');
      const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(conv(xi, wi), x)))([x, w]);
      const ln = new FusedLayerNormalization({});
      const y = tensor([32, 49, 64], 16);
      ln.build(y.shape);
      const [gamma, beta] = ln.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val) as [tf.Variable, tf.Variable];
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(ln.apply(y) as tf.Tensor, y)) as tf.Scalar, [gamma, beta]);
      const lnDx = tf.grad((yi: tf.Tensor) => tf.sum(tf.mul(ln.apply(yi) as tf.Tensor, y)))(y);
      const out = [conv(x, w), dx!, ln.apply(y) as tf.Tensor, lnDx, dw!, grads[gamma.name]!, grads[beta.name]!];
      for (const v of ln.weights) v.dispose();
      return out;
    });
    expectSameBits(split.slice(0, 4), single.slice(0, 4));
    for (let k = 4; k < split.length; k++) expect(relError(split[k]!, single[k]!)).toBeLessThan(1e-5);
  });

  it('a helper’s failure is an error on the caller, and the helpers keep working after it', () => {
    const backend = tf.backend() as unknown as WasmHeapBackend;
    const helpers = simdThreadsOf(backend)!;
    const x = tensor([4096], 17);
    const out = tf.zerosLike(x);
    const [px, pout] = [heapOffset(backend, x.dataId), heapOffset(backend, out.dataId)];
    // The helper's share reads far past the end of the memory: its kernel traps.
    expect(() =>
      helpers.run('exp', [
        [px, pout, 2048],
        [0x7ffffff0, pout + 8192, 2048],
      ]),
    ).toThrow(/helper thread failed in exp/);
    helpers.run('exp', [
      [px, pout, 2048],
      [px + 8192, pout + 8192, 2048],
    ]);
    const want = tf.tidy(() => {
      setSimdThreadsEnabled(false);
      try {
        return tf.exp(x);
      } finally {
        setSimdThreadsEnabled(true);
      }
    });
    expectSameBits([Float32Array.from(out.dataSync())], [Float32Array.from(want.dataSync())]);
    expect(simdKernelsOf(backend)).not.toBeNull();
    tf.dispose([x, out, want]);
  });
});
