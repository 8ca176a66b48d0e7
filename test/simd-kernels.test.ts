/**
 * Patchbay's WebAssembly SIMD kernels (src/runtime/simd-kernels.ts), run on tfjs-wasm's heap:
 * the generated binaries are a fresh compile of their source; erf and exp agree with tfjs's cpu
 * backend and with Math.exp over the whole float32 range and its edges; the depthwise filter
 * gradient agrees with the cpu backend's (forward and both gradients of a depthwise layer), and so
 * do batch normalisation (forward and gradients), matrix products (every transpose, batches, a Dense layer's bias), on one thread (where the SIMD
 * GEMM runs) and on the threaded build's shared memory (where XNNPACK keeps the GEMM).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedSource } from '../scripts/simd-kernels/generate';
import { setSimdKernelsEnabled, simdKernelsOf } from '../src/runtime/simd-kernels';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { readFileSync } from 'node:fs';

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

function onBackend(backend: string, f: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const r = f();
    return (Array.isArray(r) ? r : [r]).map((t) => Float32Array.from(t.dataSync()));
  });
}

/** max |a − b| / max |b|. */
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

/** Inputs dense around the interesting ranges, plus the edges. */
function spread(n: number, lo: number, hi: number): Float32Array {
  const xs = Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
  return xs;
}

/** erf in double precision: its Maclaurin series below 3, erfc's continued fraction above. */
function erfDouble(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = 0;
    let term = ax;
    for (let n = 0; n < 200 && (n < 3 || Math.abs(term) > 1e-18); n++) {
      sum += term / (2 * n + 1);
      term *= (-ax * ax) / (n + 1);
    }
    return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f));
}

interface DepthwiseCase {
  name: string;
  x: [number, number, number, number];
  kernel: [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
}

const DEPTHWISE: DepthwiseCase[] = [
  { name: 'ConvMixer 5×5 same, 64 channels', x: [4, 14, 14, 64], kernel: [5, 5], strides: 1, pad: 'same' },
  { name: '3×3 same, 9 channels (four-wide loop and a tail)', x: [2, 7, 6, 9], kernel: [3, 3], strides: 1, pad: 'same' },
  { name: '5×5 s2 valid, 3 channels (tail only)', x: [2, 11, 10, 3], kernel: [5, 5], strides: 2, pad: 'valid' },
  { name: '3×5 s(1,2) same, 8 channels', x: [2, 7, 9, 8], kernel: [3, 5], strides: [1, 2], pad: 'same' },
  {
    name: '3×3 explicit uneven pads, 5 channels',
    x: [2, 6, 7, 5],
    kernel: [3, 3],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ],
  },
];

/** Output, dx and dW of Σ depthwiseConv2d(x, W)·R. */
function depthwiseRun(c: DepthwiseCase, seed: number): tf.Tensor[] {
  const channels = c.x[3];
  const x = tf.tensor(
    values(
      c.x.reduce((a, b) => a * b, 1),
      seed,
    ),
    c.x,
  ) as tf.Tensor4D;
  const w = tf.tensor(values(c.kernel[0] * c.kernel[1] * channels, seed + 1), [...c.kernel, channels, 1]) as tf.Tensor4D;
  const conv = (xi: tf.Tensor, wi: tf.Tensor) => tf.depthwiseConv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, c.strides, c.pad);
  const y = conv(x, w);
  const r = tf.tensor(values(y.size, seed + 2), y.shape);
  const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(conv(xi, wi), r)))([x, w]);
  return [y, dx!, dw!];
}

function checkKernels(label: string): void {
  describe(label, () => {
    it('the SIMD kernels are attached to the wasm backend', () => {
      expect(simdKernelsOf(tf.engine().findBackend('wasm'))).not.toBeNull();
    });

    it('erf agrees with the cpu backend to 3e-7 and with erf to 4e-7 over [−6, 6], and at the edges', () => {
      const xs = Float32Array.from([...spread(120_001, -6, 6), 0, -0, 1e-30, -1e-30, 1e-8, 30, -30, Infinity, -Infinity, 3.4e38]);
      const [cpu] = onBackend('cpu', () => tf.erf(tf.tensor1d(xs)));
      const [wasm] = onBackend('wasm', () => tf.erf(tf.tensor1d(xs)));
      let worst = 0;
      let worstTrue = 0;
      let worstRelativeNearZero = 0;
      for (let i = 0; i < xs.length; i++) {
        worst = Math.max(worst, Math.abs(wasm![i]! - cpu![i]!));
        if (!Number.isFinite(xs[i]!)) continue;
        const want = erfDouble(xs[i]!);
        worstTrue = Math.max(worstTrue, Math.abs(wasm![i]! - want));
        if (Math.abs(xs[i]!) < 0.5 && want !== 0) worstRelativeNearZero = Math.max(worstRelativeNearZero, Math.abs(wasm![i]! - want) / Math.abs(want));
      }
      expect(worst).toBeLessThanOrEqual(3e-7);
      expect(worstTrue).toBeLessThanOrEqual(4e-7); // the rational fit's float32 evaluation: 3.4e-7 (scripts/simd-kernels/fit-erf.py)
      expect(worstRelativeNearZero).toBeLessThanOrEqual(1e-6);
      const tail = Array.from(wasm!.slice(-10));
      expect(tail.slice(0, 2)).toEqual([0, -0]); // erf(−0) = −0, as on the cpu backend
      expect(tail.slice(5)).toEqual([1, -1, 1, -1, 1]);
      const [nan] = onBackend('wasm', () => tf.erf(tf.tensor1d([NaN, 0.5, NaN, 1, NaN])));
      expect(Number.isNaN(nan![0]) && Number.isNaN(nan![2]) && Number.isNaN(nan![4])).toBe(true);
    });

    it('exp is within 3e-7 relative error of Math.exp over float32’s range, with its edges', () => {
      const xs = Float32Array.from([...spread(200_001, -87.3, 88.7), 0, -0, 88.72, -87.3]);
      const [got] = onBackend('wasm', () => tf.exp(tf.tensor1d(xs)));
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const want = Math.exp(xs[i]!);
        worst = Math.max(worst, Math.abs(got![i]! - want) / want);
      }
      expect(worst).toBeLessThanOrEqual(3e-7);
      expect(got![xs.length - 4]).toBe(1);
      const [edges] = onBackend('wasm', () => tf.exp(tf.tensor1d([Infinity, 89, -Infinity, -90, -1000, NaN, 3])));
      expect(edges![0]).toBe(Infinity);
      expect(edges![1]).toBe(Infinity);
      expect(Array.from(edges!.slice(2, 5))).toEqual([0, 0, 0]); // e^−90 ≈ 8e-40 lies below float32's normal range
      expect(Number.isNaN(edges![5])).toBe(true);
      expect(Math.abs(edges![6]! - Math.exp(3)) / Math.exp(3)).toBeLessThanOrEqual(3e-7);
    });

    it('a GELU (erf) layer: forward and gradient agree with the cpu backend', () => {
      const run = () => {
        const x = tf.tensor(
          values(32 * 49 * 64, 5).map((v) => v * 4),
          [32, 49, 64],
        );
        const gelu = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.erf(tf.mul(t, Math.SQRT1_2))));
        return [gelu(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.sin(t))))(x)];
      };
      const cpu = onBackend('cpu', run);
      const wasm = onBackend('wasm', run);
      expect(relError(wasm[0]!, cpu[0]!)).toBeLessThanOrEqual(1e-6);
      expect(relError(wasm[1]!, cpu[1]!)).toBeLessThanOrEqual(1e-6);
    });

    it.each(DEPTHWISE.map((c, i) => [c.name, c, i] as const))('depthwise conv, forward and gradients: %s', (_, c, i) => {
      const cpu = onBackend('cpu', () => depthwiseRun(c, 40 + 3 * i));
      const wasm = onBackend('wasm', () => depthwiseRun(c, 40 + 3 * i));
      for (let k = 0; k < 3; k++) expect(relError(wasm[k]!, cpu[k]!)).toBeLessThanOrEqual(1e-5);
      // The composed kernel (no SIMD module) gives the same filter gradient.
      setSimdKernelsEnabled(false);
      try {
        const composed = onBackend('wasm', () => depthwiseRun(c, 40 + 3 * i));
        expect(relError(wasm[2]!, composed[2]!)).toBeLessThanOrEqual(1e-5);
      } finally {
        setSimdKernelsEnabled(true);
      }
    });

    it.each([
      ['ConvMixer 32×14×14×64, scale and offset', [8, 14, 14, 64], true, true],
      ['5 channels (tail), no scale', [3, 4, 4, 5], false, true],
      ['rank 2, 12 channels, no offset', [10, 12], true, false],
    ] as const)('batch normalisation (%s): forward (and gradients) agree with the cpu backend', (_, shape, withScale, withOffset) => {
      const c = shape[shape.length - 1]!;
      const run = () => {
        const x = tf.tensor(
          values(
            shape.reduce((p, q) => p * q, 1),
            31,
          ).map((v) => v * 3 + 1),
          [...shape],
        );
        const axes = shape.slice(0, -1).map((_d, i) => i);
        const scale = tf.tensor(
          values(c, 32).map((v) => v + 1.5),
          [c],
        );
        const offset = tf.tensor(values(c, 33), [c]);
        // The inputs that take part: x, and scale and offset where given.
        const used = [x, ...(withScale ? [scale] : []), ...(withOffset ? [offset] : [])];
        const norm = (...args: tf.Tensor[]) => {
          const [xi, si, oi] = [args[0]!, withScale ? args[1] : undefined, withOffset ? args[withScale ? 2 : 1] : undefined];
          const { mean, variance } = tf.moments(xi, axes);
          return tf.batchNorm(xi, mean, variance, oi, si, 1e-3);
        };
        const r = tf.tensor(values(x.size, 34), x.shape);
        // tfjs's batchNorm gradient needs both scale and offset (on every backend): forward only without them.
        if (!withScale || !withOffset) return [norm(...used)];
        return [norm(...used), ...tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(norm(...args), r)))(used)];
      };
      const cpu = onBackend('cpu', run);
      const wasm = onBackend('wasm', run);
      expect(wasm.length).toBe(cpu.length);
      for (let k = 0; k < cpu.length; k++) expect(relError(wasm[k]!, cpu[k]!)).toBeLessThanOrEqual(1e-5);
    });

    const MATMULS: [string, number[], number[], boolean, boolean][] = [
      ['Mixer channel dW (aᵀ·b)', [1568, 64], [1568, 256], true, false],
      ['Dense dx (a·bᵀ)', [1568, 256], [64, 256], false, true],
      ['odd sizes, both transposed', [13, 7], [11, 13], true, true],
      ['odd sizes, plain', [5, 3], [3, 9], false, false],
      ['k in two blocks of the GEMM, partial tiles', [600, 13], [600, 11], true, false],
      ['k in three blocks, batched, b transposed', [2, 9, 700], [2, 10, 700], false, true],
      ['one row and one column', [1, 1], [1, 1], false, false],
      ['batched, equal batch dims', [3, 7, 5], [3, 5, 6], false, false],
      ['batched a, one b broadcast, b transposed', [2, 3, 9, 10], [1, 1, 4, 10], false, true],
      ['one a broadcast over a batched b, a transposed', [1, 6, 5], [4, 6, 9], true, false],
    ];
    it.each(MATMULS)('matMul %s: forward (and both gradients, batches alike) agree with the cpu backend', (_, aShape, bShape, transposeA, transposeB) => {
      const run = () => {
        const a = tf.tensor(
          values(
            aShape.reduce((x, y) => x * y, 1),
            7,
          ),
          aShape,
        );
        const b = tf.tensor(
          values(
            bShape.reduce((x, y) => x * y, 1),
            8,
          ),
          bShape,
        );
        const y = tf.matMul(a, b, transposeA, transposeB);
        // tfjs has no gradient for a broadcast batch (on any backend): forward only there.
        if (aShape.length !== bShape.length || aShape.slice(0, -2).some((d, i) => d !== bShape[i])) return [y];
        const r = tf.tensor(values(y.size, 9), y.shape);
        const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, transposeA, transposeB), r)))([a, b]);
        return [y, da!, db!];
      };
      const cpu = onBackend('cpu', run);
      const wasm = onBackend('wasm', run);
      expect(wasm.length).toBe(cpu.length);
      for (let k = 0; k < cpu.length; k++) expect(relError(wasm[k]!, cpu[k]!)).toBeLessThanOrEqual(1e-5);
    });

    it('a Dense forward with its bias (_FusedMatMul) and its gradients agree with the cpu backend', () => {
      const run = () => {
        const x = tf.tensor(values(64 * 49 * 3, 21), [64 * 3, 49]);
        const w = tf.tensor(values(49 * 30, 22), [49, 30]);
        const bias = tf.tensor(values(30, 23), [30]);
        const f = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.fused.matMul({ a: xi as tf.Tensor2D, b: wi as tf.Tensor2D, bias: bi });
        const r = tf.tensor(values(64 * 3 * 30, 24), [64 * 3, 30]);
        const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi, bi), r)))([x, w, bias]);
        return [f(x, w, bias), ...grads];
      };
      const cpu = onBackend('cpu', run);
      const wasm = onBackend('wasm', run);
      for (let k = 0; k < 4; k++) expect(relError(wasm[k]!, cpu[k]!)).toBeLessThanOrEqual(1e-5);
    });

    it('a transposed product runs in the SIMD GEMM (no Transpose copy), split over the helper threads where there are some', async () => {
      tf.setBackend('wasm');
      const a = tf.ones([64, 300]);
      const b = tf.ones([64, 20]);
      const profile = await tf.profile(() => tf.matMul(a, b, true, false));
      const names = profile.kernels.map((k) => k.name);
      expect(names).toContain('BatchMatMul');
      expect(names).not.toContain('Transpose');
      tf.dispose([a, b, profile.result as tf.Tensor]);
    });

    // Cases the SIMD kernels must leave to tfjs's own (their fast paths return null): taken by the
    // SIMD path they would come out wrong, so each is compared with the cpu backend.
    const FALLBACKS: [string, () => tf.Tensor][] = [
      [
        'a dilated depthwise conv',
        () => tf.depthwiseConv2d(tf.tensor4d(values(2 * 7 * 7 * 4, 31), [2, 7, 7, 4]), tf.tensor4d(values(3 * 3 * 4, 32), [3, 3, 4, 1]), 1, 'same', 'NHWC', 2),
      ],
      [
        'a depthwise conv with channel multiplier 2',
        () => tf.depthwiseConv2d(tf.tensor4d(values(2 * 6 * 6 * 3, 33), [2, 6, 6, 3]), tf.tensor4d(values(3 * 3 * 3 * 2, 34), [3, 3, 3, 2]), 1, 'same'),
      ],
      [
        'a fused product with relu',
        () =>
          tf.fused.matMul({
            a: tf.tensor2d(values(6 * 5, 35), [6, 5]),
            b: tf.tensor2d(values(5 * 9, 36), [5, 9]),
            bias: tf.tensor1d(values(9, 37)),
            activation: 'relu',
          }),
      ],
      [
        'a fused product with prelu',
        () =>
          tf.fused.matMul({
            a: tf.tensor2d(values(6 * 5, 38), [6, 5]),
            b: tf.tensor2d(values(5 * 9, 39), [5, 9]),
            activation: 'prelu',
            preluActivationWeights: tf.tensor1d(values(9, 40)),
          }),
      ],
      [
        'a product whose batch dims broadcast both ways',
        () => tf.matMul(tf.tensor4d(values(2 * 1 * 3 * 4, 47), [2, 1, 3, 4]), tf.tensor4d(values(1 * 3 * 4 * 5, 48), [1, 3, 4, 5])),
      ],
      [
        'a 1×1 convolution with explicit padding (its output grows)',
        () =>
          tf.conv2d(tf.tensor4d(values(2 * 5 * 5 * 3, 52), [2, 5, 5, 3]), tf.tensor4d(values(3 * 4, 53), [1, 1, 3, 4]), 1, [
            [0, 0],
            [1, 1],
            [2, 0],
            [0, 0],
          ]),
      ],
      [
        'a fused 1×1 convolution with relu',
        () =>
          tf.fused.conv2d({
            x: tf.tensor4d(values(2 * 5 * 5 * 3, 54), [2, 5, 5, 3]),
            filter: tf.tensor4d(values(3 * 4, 55), [1, 1, 3, 4]),
            strides: 1,
            pad: 'same',
            bias: tf.tensor1d(values(4, 56)),
            activation: 'relu',
          }),
      ],
      [
        'a 1×1 convolution with stride 2',
        () => tf.conv2d(tf.tensor4d(values(2 * 6 * 6 * 3, 57), [2, 6, 6, 3]), tf.tensor4d(values(3 * 4, 58), [1, 1, 3, 4]), 2, 'valid'),
      ],
      [
        'batch normalisation with statistics per row, not per channel',
        () => tf.batchNorm(tf.tensor2d(values(4 * 6, 49), [4, 6]), tf.tensor2d(values(24, 50), [4, 6]), tf.tensor2d(values(24, 51), [4, 6]).abs()),
      ],
    ];
    it.each(FALLBACKS)('%s agrees with the cpu backend', (_, run) => {
      const [cpu] = onBackend('cpu', run);
      const [wasm] = onBackend('wasm', run);
      expect(relError(wasm!, cpu!)).toBeLessThanOrEqual(1e-5);
    });

    it('a 1×1 convolution with bias (ConvMixer’s pointwise, the SIMD GEMM): forward and gradients agree with the cpu backend', () => {
      const run = () => {
        const x = tf.tensor4d(values(8 * 14 * 14 * 64, 59), [8, 14, 14, 64]);
        const w = tf.tensor4d(values(64 * 48, 60), [1, 1, 64, 48]);
        const bias = tf.tensor1d(values(48, 61));
        const f = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: wi as tf.Tensor4D, strides: 1, pad: 'same', bias: bi });
        const r = tf.tensor4d(values(8 * 14 * 14 * 48, 62), [8, 14, 14, 48]);
        return [f(x, w, bias), ...tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi, bi), r)))([x, w, bias])];
      };
      const cpu = onBackend('cpu', run);
      const wasm = onBackend('wasm', run);
      for (let k = 0; k < 4; k++) expect(relError(wasm[k]!, cpu[k]!)).toBeLessThanOrEqual(1e-5);
    });

    it('leaves no tensors behind', () => {
      tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      onBackend('wasm', () => depthwiseRun(DEPTHWISE[1]!, 3));
      onBackend('wasm', () => [tf.erf(tf.ones([100])), tf.exp(tf.ones([100])), tf.matMul(tf.ones([5, 3]), tf.ones([4, 3]), false, true)]);
      tf.setBackend('wasm');
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('the SIMD kernels’ binaries', () => {
  it('are a fresh compile of scripts/simd-kernels/source.ts (else run npm run gen:simd-kernels)', async () => {
    const committed = readFileSync(new URL('../src/runtime/simd-kernels.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await generatedSource());
  });
});

describe('on one thread', () => {
  beforeAll(async () => {
    // Attached to the plain memory (else every check below would test the composed kernels).
    expect((await useWasmBackend({ threads: 1 })).simdKernelsOff).toBeNull();
  });
  checkKernels('plain memory');
});

describe('on two threads (shared memory)', () => {
  beforeAll(async () => {
    const status = await useWasmBackend({ threads: 2 });
    expect(status.threads).toBe(2);
    expect(status.simdKernelsOff).toBeNull();
  });
  afterAll(async () => {
    await useWasmBackend({ threads: 1 });
  });
  checkKernels('shared memory');
});
