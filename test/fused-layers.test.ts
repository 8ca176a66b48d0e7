/**
 * The fused GELU activation (src/runtime/fused-gelu.ts), batch normalisation in training
 * (src/runtime/fused-batch-norm.ts) and layer normalisation (src/runtime/fused-layer-norm.ts), on
 * the wasm backend with Patchbay's SIMD kernels, on one thread and on the threaded build's shared
 * memory:
 * - GELU gives the same bits as tfjs-layers' stock activation on the same backend, forward and
 *   gradient, edges included; every layer that says `activation: 'gelu'` gets it.
 * - batch normalisation agrees with the stock layer on the cpu backend (output, dx, dγ, dβ, moving
 *   statistics) to float32 rounding, channels a multiple of 4 or not; inference is the stock code.
 * - layer normalisation agrees with FastLayerNormalization (the class the export carries) on the
 *   cpu backend: output, dx, dγ, dβ.
 * - each takes its kernels (not the composed ones) where it should, and the stock code elsewhere
 *   (cpu, SIMD kernels off, another axis); nothing leaks; a saved model names the stock classes.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FusedGeluActivation, FusedPatchbayGelu, FUSED_GELU, FUSED_GELU_GRAD } from '../src/runtime/fused-gelu';
import { createCustomLayer } from '../src/runtime/custom-layers';
import { PatchbayGelu } from '../src/runtime/layers/gelu';
import { BATCH_NORM_GRAD, BATCH_NORM_MOMENTS, FusedBatchNormalization } from '../src/runtime/fused-batch-norm';
import { FusedLayerNormalization, LAYER_NORM, LAYER_NORM_GRAD } from '../src/runtime/fused-layer-norm';
import { FastLayerNormalization } from '../src/runtime/fast-layer-normalization';
import { setSimdKernelsEnabled } from '../src/runtime/simd-kernels';
import { useWasmBackend } from '../src/runtime/wasm-backend';

/** Deterministic pseudo-random values in [lo, hi). */
function values(size: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = lo + ((s >>> 0) / 2 ** 32) * (hi - lo);
  }
  return out;
}

function read(ts: tf.Tensor[]): Float32Array[] {
  return ts.map((t) => Float32Array.from(t.dataSync()));
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

/** The kernel names `f` runs. */
async function kernelsRun(f: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => f());
  tf.dispose(info.result as tf.Tensor | tf.Tensor[]);
  return info.kernelNames;
}

/** Frees a layer's weights (`Layer.dispose` refuses a layer only ever applied to concrete tensors). */
function disposeWeights(...layers: tf.layers.Layer[]): void {
  for (const layer of layers) for (const w of layer.weights) w.dispose();
}

/** y and dx of Σ gelu(x)·r through `apply`. */
function geluRun(apply: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, r: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = apply(x);
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(apply(xi), r)))(x);
    return read([y, dx]);
  });
}

/** GELU's inputs: dense over [−6, 6], large, tiny, signed zeros, infinities, NaN. */
function geluInputs(): tf.Tensor1D {
  const edges = [0, -0, 1e-30, -1e-30, 1e-8, 0.5, -0.5, 3.9, -3.9, 3.92, -3.92, 9, -9, 30, -30, 1e10, -1e10, Infinity, -Infinity, NaN];
  return tf.tensor1d(Float32Array.from([...values(40_001, 7, -6, 6), ...edges]));
}

const stockGeluApply = (x: tf.Tensor) => (Object.getPrototypeOf(FusedGeluActivation.prototype) as FusedGeluActivation).apply.call(new FusedGeluActivation(), x);

/** A batch-norm layer with γ, β set, in training: [y, dx, dγ, dβ, moving mean, moving variance]. */
function batchNormRun(layer: tf.layers.Layer, x: tf.Tensor, r: tf.Tensor): Float32Array[] {
  const c = x.shape[x.rank - 1]!;
  layer.build(x.shape);
  const weights = [tf.tensor1d(values(c, 3, 0.5, 1.5)), tf.tensor1d(values(c, 4, -0.3, 0.3)), tf.zeros([c]), tf.ones([c])];
  layer.setWeights(weights);
  tf.dispose(weights);
  const [gamma, beta] = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val) as [tf.Variable, tf.Variable];
  const out = tf.tidy(() => {
    const loss = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, r)) as tf.Scalar;
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const dx = tf.grad(loss)(x);
    const { grads } = tf.variableGrads(() => loss(x), [gamma, beta]);
    return read([y, dx, grads[gamma.name]!, grads[beta.name]!]);
  });
  // The moving statistics after the three training calls above.
  return [...out, ...read(layer.getWeights().slice(2))];
}

/** A layer-norm layer with γ, β set: [y, dx, dγ, dβ] of Σ layer(x)·r. */
function layerNormRun(layer: tf.layers.Layer, x: tf.Tensor, r: tf.Tensor): Float32Array[] {
  const c = x.shape[x.rank - 1]!;
  layer.build(x.shape);
  const weights = [tf.tensor1d(values(c, 5, 0.5, 1.5)), tf.tensor1d(values(c, 6, -0.3, 0.3))];
  layer.setWeights(weights);
  tf.dispose(weights);
  const [gamma, beta] = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val) as [tf.Variable, tf.Variable];
  return tf.tidy(() => {
    const loss = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi) as tf.Tensor, r)) as tf.Scalar;
    const y = layer.apply(x) as tf.Tensor;
    const dx = tf.grad(loss)(x);
    const { grads } = tf.variableGrads(() => loss(x), [gamma, beta]);
    return read([y, dx, grads[gamma.name]!, grads[beta.name]!]);
  });
}

function checkFusedLayers(label: string): void {
  describe(label, () => {
    it('GELU: the same bits as the stock activation’s kernels on this backend, forward and gradient, edges included', async () => {
      tf.setBackend('wasm');
      const x = geluInputs();
      const r = tf.tensor1d(values(x.size, 8));
      const fused = new FusedGeluActivation();
      const [yFused, dxFused] = geluRun((t) => fused.apply(t), x, r);
      const [yStock, dxStock] = geluRun(stockGeluApply, x, r);
      for (let i = 0; i < x.size; i++) {
        // Object.is: −0 stays −0 and NaN stays NaN, as on the stock path.
        if (!Object.is(yFused[i], yStock[i]) || !Object.is(dxFused[i], dxStock[i]))
          throw new Error(`x = ${x.dataSync()[i]}: fused ${yFused[i]} / ${dxFused[i]}, stock ${yStock[i]} / ${dxStock[i]}`);
      }
      // The fused route ran: one kernel forward, one backward, none of the composed ones.
      const names = await kernelsRun(() => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(fused.apply(xi), r)))(x));
      expect(names).toContain(FUSED_GELU);
      expect(names).toContain(FUSED_GELU_GRAD);
      expect(names).not.toContain('Erf');
      tf.dispose([x, r]);
    });

    it('GELU: every layer with activation "gelu" gets it, and it falls back to the stock kernels off the SIMD path', async () => {
      tf.setBackend('wasm');
      const dense = tf.layers.dense({ units: 3, activation: 'gelu' });
      expect((dense as unknown as { activation: unknown }).activation).toBeInstanceOf(FusedGeluActivation);
      expect(dense.getConfig()['activation']).toBe('gelu');
      const x = tf.tensor2d(values(40, 9), [8, 5]);
      const fused = new FusedGeluActivation();
      setSimdKernelsEnabled(false);
      try {
        const names = await kernelsRun(() => fused.apply(x));
        expect(names).not.toContain(FUSED_GELU);
        expect(names).toContain('Erf');
      } finally {
        setSimdKernelsEnabled(true);
      }
      tf.setBackend('cpu');
      const onCpu = await kernelsRun(() => fused.apply(tf.tensor1d([0.5, -1])));
      expect(onCpu).not.toContain(FUSED_GELU);
      tf.setBackend('wasm');
      tf.dispose(x);
    });

    it('the GELU node’s layer: its exact form takes the fused kernels and agrees with PatchbayGelu; tanh and quick keep their code', async () => {
      tf.setBackend('wasm');
      const x = geluInputs();
      const r = tf.tensor1d(values(x.size, 18));
      const built = createCustomLayer('PatchbayGelu', { approximate: 'none' })!;
      expect(built).toBeInstanceOf(FusedPatchbayGelu);
      const plain = new PatchbayGelu({ approximate: 'none' });
      const [yFused, dxFused] = geluRun((t) => built.apply(t) as tf.Tensor, x, r);
      const [yPlain, dxPlain] = geluRun((t) => plain.apply(t) as tf.Tensor, x, r);
      // Finite inputs: float32 rounding of the same function (±Infinity and NaN give equal non-finite values).
      const xs = x.dataSync();
      const finite = (a: Float32Array) => a.filter((_, i) => Number.isFinite(xs[i]!));
      for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i]!)) expect(Object.is(yFused[i], yPlain[i]), `gelu(${xs[i]})`).toBe(true);
      expect(relError(finite(yFused), finite(yPlain))).toBeLessThan(1e-6);
      expect(relError(finite(dxFused), finite(dxPlain))).toBeLessThan(1e-6);
      expect(await kernelsRun(() => built.apply(x) as tf.Tensor)).toContain(FUSED_GELU);
      for (const approximate of ['tanh', 'quick']) {
        const other = createCustomLayer('PatchbayGelu', { approximate })!;
        expect(await kernelsRun(() => other.apply(x) as tf.Tensor)).not.toContain(FUSED_GELU);
      }
      tf.dispose([x, r]);
    });

    it('GELU: nothing leaks, with and without a gradient being recorded', () => {
      tf.setBackend('wasm');
      const x = tf.tensor1d(values(1001, 10));
      const fused = new FusedGeluActivation();
      const before = tf.memory().numTensors;
      fused.apply(x).dispose();
      tf.grad((xi: tf.Tensor) => tf.sum(fused.apply(xi)))(x).dispose();
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });

    for (const shape of [
      [32, 14, 14, 64],
      [3, 7, 5],
      [6, 4],
    ]) {
      it(`batch norm in training, ${shape.join('×')}: output, dx, dγ, dβ and moving statistics agree with the stock layer on the cpu backend`, async () => {
        const make = () => [
          tf.tensor(
            values(
              shape.reduce((a, b) => a * b, 1),
              11,
              -1.5,
              2.5,
            ),
            shape,
          ),
          tf.tensor(
            values(
              shape.reduce((a, b) => a * b, 1),
              12,
            ),
            shape,
          ),
        ];
        tf.setBackend('cpu');
        const [xc, rc] = make() as [tf.Tensor, tf.Tensor];
        const want = batchNormRun(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }), xc, rc);
        tf.dispose([xc, rc]);
        tf.setBackend('wasm');
        const [x, r] = make() as [tf.Tensor, tf.Tensor];
        const before = tf.memory().numTensors;
        const layer = new FusedBatchNormalization({ momentum: 0.9, epsilon: 1e-5 });
        const got = batchNormRun(layer, x, r);
        const names = ['y', 'dx', 'dγ', 'dβ', 'moving mean', 'moving variance'];
        got.forEach((g, i) => expect(relError(g, want[i]!), names[i]).toBeLessThan(2e-5));
        // The fused route ran.
        const kernels = await kernelsRun(() => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, r)))(x));
        expect(kernels).toContain(BATCH_NORM_MOMENTS);
        expect(kernels).toContain(BATCH_NORM_GRAD);
        expect(kernels).not.toContain('Square');
        // The layer's 4 weights are the only tensors added.
        expect(tf.memory().numTensors - before).toBe(4);
        disposeWeights(layer);
        tf.dispose([x, r]);
      });
    }

    it('batch norm: inference, another axis and SIMD kernels off run the stock code; a saved model names the stock class', async () => {
      tf.setBackend('wasm');
      const x = tf.tensor(values(2 * 3 * 5, 13), [2, 3, 5]);
      const layer = new FusedBatchNormalization({});
      layer.build(x.shape);
      const inference = await kernelsRun(() => layer.apply(x) as tf.Tensor);
      expect(inference).not.toContain(BATCH_NORM_MOMENTS);
      const otherAxis = new FusedBatchNormalization({ axis: 1 });
      otherAxis.build(x.shape);
      expect(await kernelsRun(() => otherAxis.apply(x, { training: true }) as tf.Tensor)).not.toContain(BATCH_NORM_MOMENTS);
      setSimdKernelsEnabled(false);
      try {
        expect(await kernelsRun(() => layer.apply(x, { training: true }) as tf.Tensor)).not.toContain(BATCH_NORM_MOMENTS);
      } finally {
        setSimdKernelsEnabled(true);
      }
      const input = tf.input({ shape: [3, 5] });
      const model = tf.model({ inputs: input, outputs: new FusedBatchNormalization({}).apply(input) as tf.SymbolicTensor });
      const topology = model.toJSON(undefined, false) as unknown as { config: { layers: { class_name: string }[] } };
      expect(topology.config.layers.map((l) => l.class_name)).toEqual(['InputLayer', 'BatchNormalization']);
      tf.dispose(x);
      disposeWeights(layer, otherAxis);
      model.dispose();
    });

    for (const shape of [
      [32, 49, 64],
      [3, 5, 7],
      [6, 4],
    ]) {
      it(`layer norm, ${shape.join('×')}: output, dx, dγ, dβ agree with FastLayerNormalization on the cpu backend`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const make = () => [tf.tensor(values(size, 14, -1.5, 2.5), shape), tf.tensor(values(size, 15), shape)] as [tf.Tensor, tf.Tensor];
        tf.setBackend('cpu');
        const [xc, rc] = make();
        const want = layerNormRun(new FastLayerNormalization({ epsilon: 1e-6 }), xc, rc);
        tf.dispose([xc, rc]);
        tf.setBackend('wasm');
        const [x, r] = make();
        const before = tf.memory().numTensors;
        const layer = new FusedLayerNormalization({ epsilon: 1e-6 });
        const got = layerNormRun(layer, x, r);
        ['y', 'dx', 'dγ', 'dβ'].forEach((name, i) => expect(relError(got[i]!, want[i]!), name).toBeLessThan(2e-5));
        const kernels = await kernelsRun(() => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi) as tf.Tensor, r)))(x));
        expect(kernels).toContain(LAYER_NORM);
        expect(kernels).toContain(LAYER_NORM_GRAD);
        expect(kernels).not.toContain('Mean');
        expect(tf.memory().numTensors - before).toBe(2); // γ and β
        disposeWeights(layer);
        tf.dispose([x, r]);
      });
    }

    it('layer norm: SIMD kernels off and another axis run FastLayerNormalization’s code; a saved model names the stock class', async () => {
      tf.setBackend('wasm');
      const x = tf.tensor(values(2 * 3 * 5, 16), [2, 3, 5]);
      const layer = new FusedLayerNormalization({});
      layer.build(x.shape);
      setSimdKernelsEnabled(false);
      try {
        expect(await kernelsRun(() => layer.apply(x) as tf.Tensor)).not.toContain(LAYER_NORM);
      } finally {
        setSimdKernelsEnabled(true);
      }
      const otherAxis = new FusedLayerNormalization({ axis: 1 });
      otherAxis.build(x.shape);
      expect(await kernelsRun(() => otherAxis.apply(x) as tf.Tensor)).not.toContain(LAYER_NORM);
      const input = tf.input({ shape: [3, 5] });
      const model = tf.model({ inputs: input, outputs: new FusedLayerNormalization({}).apply(input) as tf.SymbolicTensor });
      const topology = model.toJSON(undefined, false) as unknown as { config: { layers: { class_name: string }[] } };
      expect(topology.config.layers.map((l) => l.class_name)).toEqual(['InputLayer', 'LayerNormalization']);
      tf.dispose(x);
      disposeWeights(layer, otherAxis);
      model.dispose();
    });
  });
}

describe('on one thread', () => {
  beforeAll(async () => {
    expect((await useWasmBackend({ threads: 1 })).simdKernelsOff).toBeNull();
  });
  checkFusedLayers('plain memory');
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
  checkFusedLayers('shared memory');
});
