/**
 * The wasm conv-gradient kernels (src/runtime/wasm-kernels.ts) against tfjs's own CPU kernels,
 * their memory hygiene, and a tiny ConvMixer that must learn on wasm.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { registerWasmTrainingKernels } from '../src/runtime/wasm-kernels';
import { setSimdKernelsEnabled } from '../src/runtime/simd-kernels';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Deterministic pseudo-random values in [-1, 1). */
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

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** max |a − b| / max |b|: the error relative to the gradient's scale. */
function relError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

interface Case {
  name: string;
  x: Shape4;
  filter: Shape4; // conv: [fh, fw, cin, cout]; depthwise: [fh, fw, c, multiplier]
  strides: number | [number, number];
  pad: Pad;
}

/** Gradients of Σ conv(x, f)·R with respect to x and f, computed on `backend`. */
async function gradients(backend: string, depthwise: boolean, c: Case, seed: number): Promise<{ dx: Float32Array; df: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(sizeOf(c.x), seed), c.x);
    const f = tf.tensor4d(values(sizeOf(c.filter), seed + 1), c.filter);
    const conv = (xi: tf.Tensor, fi: tf.Tensor) =>
      depthwise
        ? tf.depthwiseConv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.strides, c.pad)
        : tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.strides, c.pad);
    const outShape = conv(x, f).shape;
    const r = tf.tensor(values(sizeOf(outShape), seed + 2), outShape);
    const [dx, df] = tf.grads((xi: tf.Tensor, fi: tf.Tensor) => tf.sum(tf.mul(conv(xi, fi), r)))([x, f]);
    return { dx: dx!.dataSync() as Float32Array, df: df!.dataSync() as Float32Array };
  });
}

const CONV_CASES: Case[] = [
  { name: '1×1 s1 same', x: [2, 6, 6, 3], filter: [1, 1, 3, 4], strides: 1, pad: 'same' },
  { name: '1×1 s2 valid', x: [2, 7, 7, 3], filter: [1, 1, 3, 5], strides: 2, pad: 'valid' },
  { name: '3×3 s1 same, non-square input', x: [2, 7, 5, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3×3 s2 same', x: [2, 8, 8, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'same' },
  { name: '3×3 s2 valid, non-square input', x: [2, 9, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'valid' },
  { name: '5×5 s1 valid', x: [1, 9, 9, 2], filter: [5, 5, 2, 3], strides: 1, pad: 'valid' },
  { name: '5×5 s2 same, non-square input', x: [2, 11, 10, 2], filter: [5, 5, 2, 4], strides: 2, pad: 'same' },
  { name: '2×2 s2 valid (patch embedding)', x: [2, 8, 8, 1], filter: [2, 2, 1, 8], strides: 2, pad: 'valid' },
  { name: '2×2 s2 same, odd input (padded patches)', x: [2, 7, 7, 2], filter: [2, 2, 2, 3], strides: 2, pad: 'same' },
  { name: '2×2 s2 valid, odd input (a row and a column outside every patch)', x: [2, 7, 7, 2], filter: [2, 2, 2, 3], strides: 2, pad: 'valid' },
  { name: '2×3 s(2,3) valid (non-square patches)', x: [1, 8, 9, 2], filter: [2, 3, 2, 3], strides: [2, 3], pad: 'valid' },
  { name: '3×1 kernel, s(1,2) same', x: [2, 7, 8, 3], filter: [3, 1, 3, 2], strides: [1, 2], pad: 'same' },
  {
    name: '3×3 s1 explicit pads',
    x: [2, 6, 7, 2],
    filter: [3, 3, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  // Stride phases of the input gradient and the dilated convolution of the filter gradient.
  { name: '9×9 s2 valid (CapsNet primary capsules)', x: [2, 20, 20, 3], filter: [9, 9, 3, 5], strides: 2, pad: 'valid' },
  { name: '9×9 s1 valid (CapsNet first conv)', x: [3, 28, 28, 1], filter: [9, 9, 1, 4], strides: 1, pad: 'valid' },
  { name: '9×9 s2 same, odd input', x: [2, 13, 11, 2], filter: [9, 9, 2, 3], strides: 2, pad: 'same' },
  { name: '3×3 s3 same, input not a multiple of the stride', x: [2, 10, 11, 3], filter: [3, 3, 3, 2], strides: 3, pad: 'same' },
  { name: '4×4 s3 valid', x: [1, 13, 12, 2], filter: [4, 4, 2, 3], strides: 3, pad: 'valid' },
  { name: '2×2 s3 valid (kernel narrower than the stride)', x: [2, 11, 10, 2], filter: [2, 2, 2, 3], strides: 3, pad: 'valid' },
  { name: '1×1 s2 same, odd input', x: [2, 7, 9, 3], filter: [1, 1, 3, 4], strides: 2, pad: 'same' },
  { name: '1×1 s3 valid', x: [1, 10, 8, 2], filter: [1, 1, 2, 3], strides: 3, pad: 'valid' },
  { name: '3×3 s2 same, even input, many channels', x: [2, 8, 8, 17], filter: [3, 3, 17, 33], strides: 2, pad: 'same' },
  { name: '3×3 s1 same, batch 1, many channels', x: [1, 9, 9, 40], filter: [3, 3, 40, 24], strides: 1, pad: 'same' },
  { name: '5×3 kernel, s(2,1) same', x: [2, 9, 8, 3], filter: [5, 3, 3, 2], strides: [2, 1], pad: 'same' },
  { name: '3×5 kernel, s(1,3) valid', x: [2, 6, 14, 2], filter: [3, 5, 2, 3], strides: [1, 3], pad: 'valid' },
  { name: '7×7 s1 same on a smaller input than the kernel', x: [2, 5, 4, 2], filter: [7, 7, 2, 3], strides: 1, pad: 'same' },
  {
    name: '3×3 s2 explicit uneven pads',
    x: [2, 9, 8, 2],
    filter: [3, 3, 2, 3],
    strides: 2,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
];

const DEPTHWISE_CASES: Case[] = [
  { name: '3×3 s1 same m1', x: [2, 7, 7, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { name: '3×3 s1 same m2, non-square input', x: [2, 6, 5, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same' },
  { name: '3×3 s2 same m1', x: [2, 8, 8, 2], filter: [3, 3, 2, 1], strides: 2, pad: 'same' },
  { name: '3×3 s2 valid m2, non-square input', x: [2, 9, 7, 2], filter: [3, 3, 2, 2], strides: 2, pad: 'valid' },
  { name: '5×5 s1 same m1', x: [2, 9, 9, 4], filter: [5, 5, 4, 1], strides: 1, pad: 'same' },
  { name: '5×5 s2 valid m1, non-square input', x: [1, 11, 10, 3], filter: [5, 5, 3, 1], strides: 2, pad: 'valid' },
  { name: '5×5 s1 same m2', x: [1, 6, 8, 2], filter: [5, 5, 2, 2], strides: 1, pad: 'same' },
  { name: '1×1 s1 valid m2', x: [2, 5, 5, 3], filter: [1, 1, 3, 2], strides: 1, pad: 'valid' },
  { name: '3×5 kernel, s(1,2) same m1', x: [2, 7, 9, 2], filter: [3, 5, 2, 1], strides: [1, 2], pad: 'same' },
  { name: '2×2 s2 valid m1', x: [2, 8, 8, 3], filter: [2, 2, 3, 1], strides: 2, pad: 'valid' },
  { name: '5×5 s2 same m2, odd input', x: [2, 9, 7, 2], filter: [5, 5, 2, 2], strides: 2, pad: 'same' },
];

const TOLERANCE = 1e-4;

beforeAll(async () => {
  await useWasmBackend();
});

describe('wasm training kernels', () => {
  it('registers idempotently', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
  });

  describe('Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend', () => {
    it.each(CONV_CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_, c, i) => {
      const cpu = await gradients('cpu', false, c, 100 + 7 * i);
      const wasm = await gradients('wasm', false, c, 100 + 7 * i);
      expect(relError(wasm.df, cpu.df)).toBeLessThanOrEqual(TOLERANCE);
      expect(relError(wasm.dx, cpu.dx)).toBeLessThanOrEqual(TOLERANCE); // Conv2DBackpropInput: a matmul or the flipped-filter convolution
    });
  });

  describe('DepthwiseConv2dNativeBackpropFilter and BackpropInput match the cpu backend', () => {
    it.each(DEPTHWISE_CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_, c, i) => {
      const cpu = await gradients('cpu', true, c, 500 + 7 * i);
      const wasm = await gradients('wasm', true, c, 500 + 7 * i);
      expect(relError(wasm.df, cpu.df)).toBeLessThanOrEqual(TOLERANCE);
      expect(relError(wasm.dx, cpu.dx)).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  it('runs the kernels directly with explicit depthwise padding', async () => {
    const c: Case = {
      name: 'explicit',
      x: [2, 6, 7, 2],
      filter: [3, 3, 2, 2],
      strides: 1,
      pad: [
        [0, 0],
        [2, 0],
        [1, 1],
        [0, 0],
      ],
    };
    const cpu = await gradients('cpu', true, c, 900);
    const wasm = await gradients('wasm', true, c, 900);
    expect(relError(wasm.df, cpu.df)).toBeLessThanOrEqual(TOLERANCE);
    expect(relError(wasm.dx, cpu.dx)).toBeLessThanOrEqual(TOLERANCE);
  });
});

/** Runs `f` on the cpu and on the wasm backend, on the same input values. */
async function onBoth(
  shape: number[],
  f: (x: tf.Tensor) => tf.Tensor,
  seed = 11,
  dtype: 'float32' | 'int32' = 'float32',
): Promise<{ cpu: Float32Array; wasm: Float32Array; shapes: number[][] }> {
  const out: Float32Array[] = [];
  const shapes: number[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    tf.tidy(() => {
      const raw = values(sizeOf(shape), seed);
      const x =
        dtype === 'int32'
          ? tf.tensor(
              Int32Array.from(raw, (v) => Math.round(v * 100)),
              shape,
              'int32',
            )
          : tf.tensor(raw, shape);
      const y = f(x);
      shapes.push(y.shape);
      out.push(Float32Array.from(y.dataSync()));
    });
  }
  return { cpu: out[0]!, wasm: out[1]!, shapes };
}

describe('fast paths in front of stock wasm kernels', () => {
  it.each([
    ['BatchNorm-style [1,1,1,C] → [N,H,W,C]', [1, 1, 1, 16], [8, 14, 14, 1]],
    ['middle axis', [2, 1, 3], [1, 4, 1]],
    ['not a broadcast (stock kernel)', [2, 3], [2, 2]],
    ['rank 5 (stock kernel)', [1, 2, 1, 1, 3], [2, 1, 3, 2, 1]],
  ] as const)('Tile: %s', async (_, shape, reps) => {
    const r = await onBoth([...shape], (x) => tf.tile(x, [...reps]));
    expect(r.shapes[1]).toEqual(r.shapes[0]);
    expect(relError(r.wasm, r.cpu)).toBe(0);
  });

  it('Tile of int32 uses the stock kernel', async () => {
    const r = await onBoth([1, 3], (x) => tf.tile(x, [4, 1]), 5, 'int32');
    expect(relError(r.wasm, r.cpu)).toBe(0);
  });

  it.each([
    ['sum, leading axes', [32, 14, 14, 16], (x: tf.Tensor) => tf.sum(x, [0, 1, 2])],
    ['sum, leading axes, keepDims', [32, 14, 14, 16], (x: tf.Tensor) => tf.sum(x, [2, 0, 1], true)],
    ['sum, axis 0 of a matrix', [4096, 3], (x: tf.Tensor) => tf.sum(x, 0)],
    ['sum, negative axes', [64, 32, 5], (x: tf.Tensor) => tf.sum(x, [-3, -2])],
    ['sum, trailing axes (stock kernel)', [32, 14, 14, 16], (x: tf.Tensor) => tf.sum(x, [1, 2, 3])],
    ['sum, all axes (stock kernel)', [32, 14, 14, 16], (x: tf.Tensor) => tf.sum(x)],
    ['sum, few values (stock kernel)', [7, 3, 5], (x: tf.Tensor) => tf.sum(x, [0, 1])],
    ['sum over input capsules (576 rows of 10,240)', [576, 64, 10, 16], (x: tf.Tensor) => tf.sum(x, 0)],
    // Pooling over more than 9 rows with 16,384+ channels corrupts tfjs-wasm's heap: 20,000 values are pooled as 4 × 5,000.
    ['sum, 12 rows of 20,000 values', [12, 20_000], (x: tf.Tensor) => tf.sum(x, 0)],
    ['mean, 64 rows of 16,384 values, keepDims', [64, 4, 4096], (x: tf.Tensor) => tf.mean(x, 0, true)],
    ['sum, 16 rows of a prime 8,209 values (stock kernel)', [16, 8209], (x: tf.Tensor) => tf.sum(x, 0)],
    ['avgPool 3×3 same over 16,400 channels (pooled in slices of 8,192)', [2, 5, 5, 16_400], (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, 3, 1, 'same')],
    ['avgPool 2×2 s2 valid over 600 channels (stock kernel)', [2, 6, 6, 600], (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid')],
    ['mean, leading axes', [32, 14, 14, 16], (x: tf.Tensor) => tf.mean(x, [0, 1, 2])],
    ['mean, leading axes, keepDims', [16, 9, 9, 8], (x: tf.Tensor) => tf.mean(x, [0, 1, 2], true)],
    ['moments (BatchNorm statistics)', [32, 14, 14, 16], (x: tf.Tensor) => tf.concat(Object.values(tf.moments(x, [0, 1, 2])))],
  ] as const)('%s', async (_, shape, f) => {
    const r = await onBoth([...shape], f);
    expect(r.shapes[1]).toEqual(r.shapes[0]);
    expect(relError(r.wasm, r.cpu)).toBeLessThanOrEqual(1e-5);
  });

  it('avgPool over 16,400 channels leaves the wasm heap intact', async () => {
    // The stock kernel writes out of bounds from 16,384 channels; the damage shows at a later free.
    await tf.setBackend('wasm');
    for (let i = 0; i < 3; i++) {
      const x = tf.tensor4d(values(2 * 3 * 3 * 16_400, 70 + i), [2, 3, 3, 16_400]);
      const y = tf.avgPool(x, 3, 1, 'valid');
      expect(y.shape).toEqual([2, 1, 1, 16_400]);
      y.dispose();
      x.dispose();
      tf.tidy(() => tf.fill([1000, 1000], 1).dataSync());
    }
  });

  it('sum of int32 uses the stock kernel', async () => {
    const r = await onBoth([2048, 2], (x) => tf.sum(x, 0), 3, 'int32');
    expect(r.wasm).toEqual(r.cpu);
  });

  it('Exp of non-positive tensors (sigmoid route, without the SIMD kernels) stays within 5e-7 relative error', async () => {
    await tf.setBackend('wasm');
    const n = 200_001;
    const xs = Float32Array.from({ length: n }, (_, i) => -87 * (i / (n - 1)) ** 1.5); // dense near 0
    setSimdKernelsEnabled(false);
    let got: Float32Array | Int32Array | Uint8Array;
    try {
      got = tf.tidy(() => tf.exp(tf.tensor1d(xs)).dataSync());
    } finally {
      setSimdKernelsEnabled(true);
    }
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const want = Math.exp(xs[i]!);
      worst = Math.max(worst, Math.abs(got[i]! - want) / want);
    }
    expect(worst).toBeLessThanOrEqual(5e-7);
    expect(
      Array.from(
        tf.tidy(() =>
          tf
            .exp(tf.fill([20_000], -Infinity))
            .slice(0, 2)
            .dataSync(),
        ),
      ),
    ).toEqual([0, 0]);
  });

  it('Exp with positive or NaN elements uses the stock kernel', async () => {
    const r = await onBoth([128, 200], (x) => tf.exp(tf.mul(x, 20)), 17);
    expect(relError(r.wasm, r.cpu)).toBeLessThanOrEqual(1e-6);
    await tf.setBackend('wasm');
    const withNaN = tf.tidy(() => tf.exp(tf.concat([tf.fill([20_000], -1), tf.tensor1d([NaN])])).dataSync());
    expect(Number.isNaN(withNaN[20_000])).toBe(true);
    expect(withNaN[0]).toBeCloseTo(Math.exp(-1), 6);
  });

  it.each([
    ['mean over leading axes (BatchNorm statistics)', [16, 7, 7, 8], (x: tf.Tensor) => tf.mean(x, [0, 1, 2])],
    ['mean over a middle axis, keepDims', [4, 6, 5], (x: tf.Tensor) => tf.mean(x, 1, true)],
    ['mean of everything', [3, 4], (x: tf.Tensor) => tf.mean(x)],
    ['sum over trailing axes', [4, 6, 5], (x: tf.Tensor) => tf.sum(x, [1, 2])],
    ['sum over leading axes, keepDims', [16, 7, 7, 8], (x: tf.Tensor) => tf.sum(x, [0, 1, 2], true)],
  ] as const)('gradient of %s matches the cpu backend', async (_, shape, f) => {
    const grad = (x: tf.Tensor) => {
      const y = f(x);
      const r = tf.tensor(values(y.size, 41), y.shape);
      return tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi), r)))(x);
    };
    const r = await onBoth([...shape], grad, 29);
    expect(r.shapes[1]).toEqual(r.shapes[0]);
    expect(relError(r.wasm, r.cpu)).toBeLessThanOrEqual(1e-6);
  });

  it.each([
    ['Dense weight gradient xᵀ·dy', [1, 40, 6], [1, 40, 9], true, false],
    ['Dense input gradient dy·Wᵀ', [1, 40, 9], [1, 6, 9], false, true],
    ['both transposed, batch 3', [3, 5, 7], [3, 4, 5], true, true],
    ['rank 2', [33, 8], [17, 33], true, true],
    ['broadcast batch, rank 4', [2, 1, 6, 5], [1, 3, 4, 5], false, true],
    ['no transpose (stock kernel)', [2, 6, 5], [2, 5, 4], false, false],
  ] as const)('BatchMatMul: %s', async (_, aShape, bShape, transposeA, transposeB) => {
    const b = values(sizeOf([...bShape]), 77);
    const r = await onBoth([...aShape], (a) => tf.matMul(a, tf.tensor(b, [...bShape]), transposeA, transposeB));
    expect(r.shapes[1]).toEqual(r.shapes[0]);
    expect(relError(r.wasm, r.cpu)).toBeLessThanOrEqual(1e-6);
  });

  it.each([
    ['attention scores q·kᵀ', [64, 40, 16], [64, 40, 16], false, true],
    ['attention output p·v', [64, 40, 40], [64, 40, 16], false, false],
    ['transposed a', [64, 16, 40], [64, 16, 40], true, false],
    ['both transposed, rank 4', [8, 8, 16, 40], [8, 8, 40, 16], true, true],
  ] as const)(
    'batched BatchMatMul: %s, forward and both gradients, by the SIMD GEMM and (without it) as a depthwise convolution',
    async (_, aShape, bShape, transposeA, transposeB) => {
      const bValues = values(sizeOf([...bShape]), 41);
      const f = (a: tf.Tensor) => {
        const b = tf.tensor(bValues, [...bShape]);
        const product = tf.matMul(a, b, transposeA, transposeB);
        const r = tf.tensor(values(product.size, 43), product.shape);
        const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, transposeA, transposeB), r)))([a, b]);
        return tf.concat([product.flatten(), da!.flatten(), db!.flatten()]);
      };
      for (const simd of [true, false]) {
        setSimdKernelsEnabled(simd);
        try {
          const r = await onBoth([...aShape], f, 47);
          expect(r.shapes[1]).toEqual(r.shapes[0]);
          expect(relError(r.wasm, r.cpu)).toBeLessThanOrEqual(1e-6);
          // The case is large enough for the grouped-GEMM route, which runs where the SIMD GEMM does not.
          await tf.setBackend('wasm');
          const a = tf.tensor(values(sizeOf([...aShape]), 47), [...aShape]);
          const b = tf.tensor(bValues, [...bShape]);
          const profile = await tf.profile(() => tf.matMul(a, b, transposeA, transposeB));
          if (simd) expect(profile.kernelNames).not.toContain('DepthwiseConv2dNative');
          else expect(profile.kernelNames).toContain('DepthwiseConv2dNative');
          tf.dispose([a, b, profile.result as tf.Tensor]);
        } finally {
          setSimdKernelsEnabled(true);
        }
      }
    },
  );

  it('Dense (gelu) on a token sequence: forward and gradients match the cpu backend', async () => {
    const f = (x: tf.Tensor) => {
      const layer = tf.layers.dense({ units: 7, activation: 'gelu' });
      layer.build(x.shape);
      layer.setWeights([tf.tensor2d(values(12 * 7, 5), [12, 7]), tf.tensor1d(values(7, 6))]);
      return gradientsOf(layer, x);
    };
    const r = await onBoth([4, 9, 12], f, 13);
    expect(relError(r.wasm, r.cpu)).toBeLessThanOrEqual(1e-5);
  });
});

/** Σ layer(x)·R, its gradient with respect to x and to every weight, flattened into one tensor. */
function gradientsOf(layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor {
  const y = layer.apply(x) as tf.Tensor;
  const r = tf.tensor(values(y.size, 10), y.shape);
  const loss = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi) as tf.Tensor, r)) as tf.Scalar;
  const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => loss(x), weights);
  const dx = tf.grad(loss)(x);
  const out = tf.concat([y.flatten(), value.reshape([1]), dx.flatten(), ...weights.map((w) => grads[w.name]!.flatten())]);
  for (const w of layer.weights) w.dispose();
  return out;
}

/** tile's gradient computed the slow, obvious way: each element of dy added to the x it copies. */
function tileGradReference(dy: Float32Array, shape: number[], reps: number[]): Float32Array {
  const outShape = shape.map((d, i) => d * reps[i]!);
  const out = new Float32Array(sizeOf(shape));
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < dy.length; flat++) {
    let rest = flat;
    for (let i = shape.length - 1; i >= 0; i--) {
      index[i] = rest % outShape[i]!;
      rest = Math.floor(rest / outShape[i]!);
    }
    let target = 0;
    for (let i = 0; i < shape.length; i++) target = target * shape[i]! + (index[i]! % shape[i]!);
    out[target]! += dy[flat]!;
  }
  return out;
}

describe('tile gradient (sum over repetitions, every backend)', () => {
  it.each([
    ['LayerNorm gamma [1,1,C] over [N,T,1]', [1, 1, 8], [6, 5, 1]],
    ['LayerNorm statistics [N,T,1] over [1,1,C]', [6, 5, 1], [1, 1, 8]],
    ['rank 1', [5], [3]],
    ['rank 2, both axes', [2, 3], [4, 2]],
    ['rank 4, every axis tiled', [2, 3, 2, 2], [2, 2, 3, 2]],
    ['rank 5 (the stock gradient throws)', [1, 2, 1, 3, 2], [2, 1, 3, 1, 2]],
    ['no repetition', [3, 4], [1, 1]],
  ] as const)('%s', async (_, shape, reps) => {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const x = tf.tensor(values(sizeOf([...shape]), 3), [...shape]);
      const outShape = shape.map((d, i) => d * reps[i]!);
      const dyValues = values(sizeOf(outShape), 4);
      const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.tile(xi, [...reps]), tf.tensor(dyValues, outShape))))(x);
      expect(dx.shape).toEqual([...shape]);
      expect(relError(dx.dataSync() as Float32Array, tileGradReference(dyValues, [...shape], [...reps]))).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, dx]);
    }
  });

  it('LayerNormalization on a token sequence: forward and gradients match between wasm and cpu', async () => {
    const f = (x: tf.Tensor) => {
      const layer = tf.layers.layerNormalization({ axis: -1, epsilon: 1e-6 });
      layer.build(x.shape);
      layer.setWeights([tf.tensor1d(values(16, 8)), tf.tensor1d(values(16, 9))]);
      return gradientsOf(layer, x);
    };
    const r = await onBoth([4, 7, 16], f, 21);
    expect(relError(r.wasm, r.cpu)).toBeLessThanOrEqual(1e-5);
  });
});

describe('identity and casts', () => {
  it('Identity and same-dtype Cast share data safely; other casts convert', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const x = tf.tensor([1.5, -2.25, 3]);
    const copies = [tf.clone(x), tf.cast(x, 'float32'), tf.engine().runKernel('Identity', { x }) as tf.Tensor];
    expect(backend.numDataIds()).toBe(before + 1); // one buffer, four tensors
    const asInt = tf.cast(x, 'int32');
    x.dispose();
    for (const c of copies) expect(Array.from(c.dataSync())).toEqual([1.5, -2.25, 3]);
    expect(asInt.dtype).toBe('int32');
    expect(Array.from(asInt.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([...copies, asInt]);
    expect(backend.numDataIds()).toBe(before);
  });

  it('a transpose by the identity permutation shares data; any other transposes', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const x = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const same = tf.transpose(x, [0, 1]);
    expect(backend.numDataIds()).toBe(before + 1);
    const swapped = tf.transpose(x, [1, 0]);
    x.dispose();
    expect(Array.from(same.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(same.shape).toEqual([2, 3]);
    expect(Array.from(swapped.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    tf.dispose([same, swapped]);
    expect(backend.numDataIds()).toBe(before);
  });
});

/** ConvMixer as in tech-probe Appendix A, with `pointwise` 1×1 convs. */
function convMixer(o: { dim: number; depth: number; kernel: number; patch: number; size: number; classes: number }): tf.LayersModel {
  const inp = tf.input({ shape: [o.size, o.size, 1] });
  let x = tf.layers.conv2d({ filters: o.dim, kernelSize: o.patch, strides: o.patch }).apply(inp) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'gelu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  for (let i = 0; i < o.depth; i++) {
    let r = tf.layers.depthwiseConv2d({ kernelSize: o.kernel, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    r = tf.layers.activation({ activation: 'gelu' }).apply(r) as tf.SymbolicTensor;
    r = tf.layers.batchNormalization().apply(r) as tf.SymbolicTensor;
    x = tf.layers.add().apply([r, x]) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: o.dim, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'gelu' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: o.classes, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: out });
}

/** `batch` MNIST digits from the `mnist` package when installed, random data otherwise. */
function digits(batch: number): { xs: tf.Tensor4D; ys: tf.Tensor2D; source: string } {
  try {
    const mnist = createRequire(import.meta.url)('mnist') as { set(train: number, test: number): { training: { input: number[]; output: number[] }[] } };
    const { training } = mnist.set(batch, 0);
    return {
      xs: tf.tensor4d(
        training.flatMap((d) => d.input),
        [batch, 28, 28, 1],
      ),
      ys: tf.tensor2d(
        training.map((d) => d.output),
        [batch, 10],
      ),
      source: 'mnist',
    };
  } catch {
    const labels = Array.from({ length: batch }, (_, i) => i % 10);
    return { xs: tf.tensor4d(values(batch * 784, 7), [batch, 28, 28, 1]), ys: tf.oneHot(labels, 10) as tf.Tensor2D, source: 'random' };
  }
}

describe('training on wasm', () => {
  it('leaks no tensors in a gradient step', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(values(2 * 9 * 9 * 4, 3), [2, 9, 9, 4]);
    const dw = tf.variable(tf.tensor4d(values(3 * 3 * 4 * 2, 4), [3, 3, 4, 2]));
    const pw = tf.variable(tf.tensor4d(values(8 * 5, 5), [1, 1, 8, 5]));
    const patch = tf.variable(tf.tensor4d(values(2 * 2 * 4 * 4, 6), [2, 2, 4, 4]));
    const optimizer = tf.train.sgd(0.01);
    const loss = () =>
      tf.tidy(() => {
        const a = tf.depthwiseConv2d(x, dw, 1, 'same');
        const b = tf.conv2d(a, pw, 1, 'valid');
        const c = tf.conv2d(x, patch, 2, 'valid');
        return tf.add(tf.sum(tf.square(b)), tf.sum(c)) as tf.Scalar;
      });
    const backend = tf.backend() as unknown as { numDataIds(): number };
    optimizer.minimize(loss); // warm-up: creates whatever the optimizer keeps
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    for (let i = 0; i < 3; i++) tf.dispose(optimizer.minimize(loss, true) ?? []);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
    tf.dispose([x, dw, pw, patch]);
    optimizer.dispose();
  });

  it('trains a tiny ConvMixer: the loss falls over 10 steps, with no leaks', async () => {
    await tf.setBackend('wasm');
    const model = convMixer({ dim: 8, depth: 1, kernel: 3, patch: 2, size: 28, classes: 10 });
    model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
    const { xs, ys } = digits(32);
    const losses: number[] = [];
    losses.push((await model.trainOnBatch(xs, ys)) as number);
    const before = tf.memory().numTensors;
    for (let i = 1; i < 10; i++) losses.push((await model.trainOnBatch(xs, ys)) as number);
    expect(tf.memory().numTensors).toBe(before);
    expect(losses.every(Number.isFinite)).toBe(true);
    // A dim-8 model on one fixed batch: the loss falls slowly but steadily (2.31 → ~2.2 typically).
    expect(losses[9]!).toBeLessThan(losses[0]! - 0.03);
    expect(losses.slice(1).filter((l, i) => l < losses[i]!).length).toBeGreaterThanOrEqual(7);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
