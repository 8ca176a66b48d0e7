/**
 * FastLayerNormalization (src/runtime/fast-layer-normalization.ts), the LayerNormalization that
 * Patchbay builds, against tfjs's stock layer: outputs and gradients for x, gamma and beta, on the
 * cpu and wasm backends, and its serialised form.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FastLayerNormalization, fastLayerNormalizationLastAxis } from '../src/runtime/fast-layer-normalization';
import { useWasmBackend } from '../src/runtime/wasm-backend';

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

type Args = Parameters<typeof tf.layers.layerNormalization>[0];

/** The layer's output and the gradients of Σ y·R for x, gamma and beta (those it has), flattened. */
type Forward = (x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null) => tf.Tensor;

function outputsAndGradients(forward: Forward, shape: number[], weightShape: number[], center: boolean, scale: boolean): Float32Array {
  return tf.tidy(() => {
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    // Rows with different means and spreads, so that the normalisation matters.
    const x = tf.tensor(
      values(size(shape), 3).map((v, i) => v * (1 + (i % 7)) + (i % 3)),
      shape,
    );
    const gamma = scale ? tf.tensor(values(size(weightShape), 10), weightShape) : null;
    const beta = center ? tf.tensor(values(size(weightShape), 11), weightShape) : null;
    const y = forward(x, gamma, beta);
    const r = tf.tensor(values(y.size, 5), y.shape);
    const inputs = [x, gamma, beta].filter((t): t is tf.Tensor => t !== null);
    const grads = tf.grads((...ts: tf.Tensor[]) => {
      const [xi, ...rest] = ts;
      return tf.sum(tf.mul(forward(xi!, scale ? rest.shift()! : null, center ? rest.shift()! : null), r));
    })(inputs);
    return Float32Array.from(tf.concat([y.flatten(), ...grads.map((g) => g.flatten())]).dataSync());
  });
}

/** A layer's output, then the gradients of Σ y·R for x and for each trainable weight, flattened. */
function layerOutputsAndGradients(layer: tf.layers.Layer, shape: number[]): Float32Array {
  return tf.tidy(() => {
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const x = tf.tensor(
      values(size(shape), 3).map((v, i) => v * (1 + (i % 7)) + (i % 3)),
      shape,
    );
    layer.build(shape);
    layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(values(w.size, 10 + i), w.shape)));
    const y = layer.apply(x) as tf.Tensor;
    const r = tf.tensor(values(y.size, 5), y.shape);
    const loss = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi) as tf.Tensor, r)) as tf.Scalar;
    const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => loss(x), weights);
    const out = tf.concat([y.flatten(), tf.grad(loss)(x).flatten(), ...weights.map((w) => grads[w.name]!.flatten())]);
    for (const w of layer.weights) w.dispose();
    return Float32Array.from(out.dataSync());
  });
}

/** Layer normalisation over the given axes from plain ops, differentiated by tfjs's autodiff. */
function plain(axes: number[], epsilon: number): Forward {
  return (x, gamma, beta) => {
    const { mean, variance } = tf.moments(x, axes, true);
    let y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)));
    if (gamma) y = tf.mul(y, gamma);
    if (beta) y = tf.add(y, beta);
    return y;
  };
}

beforeAll(async () => {
  await useWasmBackend();
});

describe('FastLayerNormalization matches layer normalisation', () => {
  it.each([
    ['token sequence, eps 1e-6', [4, 7, 16], 1e-6, true, true],
    ['vectors', [5, 12], 1e-3, true, true],
    ['image, last axis', [2, 3, 4, 6], 1e-3, true, true],
    ['no offset (stock tfjs cannot differentiate this)', [3, 5, 8], 1e-3, false, true],
    ['no scale', [3, 5, 8], 1e-3, true, false],
    ['neither', [3, 5, 8], 1e-3, false, false],
  ] as const)('%s: output and gradients equal plain ops under autodiff', async (_, shape, epsilon, center, scale) => {
    const c = shape[shape.length - 1]!;
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const fast = outputsAndGradients((x, g, b) => fastLayerNormalizationLastAxis(x, g, b, epsilon), [...shape], [c], center, scale);
      const reference = outputsAndGradients(plain([shape.length - 1], epsilon), [...shape], [c], center, scale);
      expect(relError(fast, reference)).toBeLessThanOrEqual(2e-5);
    }
  });

  it.each([
    ['last axis', [4, 7, 16], { epsilon: 1e-6 }],
    ['two axes (the stock code runs)', [3, 5, 8], { axis: [-2, -1] }],
  ] as const)('equals the stock tfjs layer, weights and all: %s', async (_, shape, args) => {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const fast = layerOutputsAndGradients(new FastLayerNormalization(args as Args), [...shape]);
      const stock = layerOutputsAndGradients(tf.layers.layerNormalization(args as Args), [...shape]);
      expect(relError(fast, stock)).toBeLessThanOrEqual(2e-5);
    }
  });

  it('serialises as the stock layer', () => {
    const fast = new FastLayerNormalization({ epsilon: 1e-6, name: 'norm' });
    const stock = tf.layers.layerNormalization({ epsilon: 1e-6, name: 'norm' });
    expect(fast.getClassName()).toBe('LayerNormalization');
    expect(fast.getConfig()).toEqual(stock.getConfig());
  });
});
