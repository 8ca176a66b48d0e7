/**
 * The RandomTranslation layer: identity at inference; while training, every image is its input moved
 * by one whole-pixel offset within the limit with zeros filled in (checked against a plain-array shift
 * in this file); seeded runs repeat exactly and the training loop reseeds it every step; the gradient
 * flows back to the pixels that moved; the spec refuses what cannot work.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RandomTranslationSpec } from '../src/nodes/layers/random-translation';
import { isProblem } from '../src/nodes/spec';
import { PatchbayRandomTranslation } from '../src/runtime/layers/random-translation';
import { seedStep } from '../src/runtime/seeds';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const N = 6;
const H = 5;
const W = 7;
const C = 2;

/** Distinct non-zero values, so that a shift is recognisable. */
const image = () => Float32Array.from({ length: N * H * W * C }, (_, i) => i + 1);

/** `x` moved by (dy, dx) for example `n`, zeros where nothing moves in: the reference. */
function shifted(x: Float32Array, n: number, dy: number, dx: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++)
      for (let k = 0; k < C; k++) {
        const fr = r - dy;
        const fc = c - dx;
        out.push(fr >= 0 && fr < H && fc >= 0 && fc < W ? x[((n * H + fr) * W + fc) * C + k]! : 0);
      }
  return out;
}

/** The offset that explains example n of `y`, or null when none within `limit` does. */
function offsetOf(x: Float32Array, y: Float32Array, n: number, limit: number): [number, number] | null {
  const got = Array.from(y.subarray(n * H * W * C, (n + 1) * H * W * C));
  for (let dy = -limit; dy <= limit; dy++) for (let dx = -limit; dx <= limit; dx++) if (shifted(x, n, dy, dx).every((v, i) => v === got[i])) return [dy, dx];
  return null;
}

function run(layer: PatchbayRandomTranslation, x: Float32Array, training: boolean): Float32Array {
  const input = tf.tensor4d(x, [N, H, W, C]);
  const out = layer.apply(input, { training }) as tfType.Tensor;
  const values = out.dataSync() as Float32Array;
  tf.dispose([input, out]);
  return values;
}

describe('PatchbayRandomTranslation', () => {
  it('passes images through unchanged at inference', () => {
    const x = image();
    expect(Array.from(run(new PatchbayRandomTranslation({ pixels: 2, seed: 5 }), x, false))).toEqual(Array.from(x));
  });

  it('while training moves each image by its own offset within the limit, zeros filled in', () => {
    const x = image();
    const layer = new PatchbayRandomTranslation({ pixels: 2, seed: 9 });
    const offsets = new Set<string>();
    for (let step = 0; step < 4; step++) {
      layer.seed = 100 + step;
      const y = run(layer, x, true);
      for (let n = 0; n < N; n++) {
        const offset = offsetOf(x, y, n, 2);
        expect(offset, `example ${n} at step ${step} is not a shift of its input by at most 2 pixels`).not.toBeNull();
        offsets.add(offset!.join(','));
      }
    }
    // 24 draws from 25 offsets: a layer that always made one move (or none) would fail here.
    expect(offsets.size).toBeGreaterThan(5);
  });

  it('repeats its shifts for a seed, and seedStep gives every step its own', () => {
    const x = image();
    const a = new PatchbayRandomTranslation({ pixels: 3, seed: 42 });
    const b = new PatchbayRandomTranslation({ pixels: 3, seed: 42 });
    expect(Array.from(run(a, x, true))).toEqual(Array.from(run(b, x, true)));

    const model = { layers: [Object.assign(a, {})] };
    seedStep(model, 7, 0);
    const first = a.seed;
    seedStep(model, 7, 1);
    expect(a.seed).not.toBe(first);
    seedStep(model, 7, 0);
    expect(a.seed).toBe(first);
  });

  it('sends the gradient back to the pixels that moved', () => {
    const x = image();
    const layer = new PatchbayRandomTranslation({ pixels: 2, seed: 3 });
    const y = run(layer, x, true);
    const upstream = tf.randomNormal([N, H, W, C], 0, 1, 'float32', 1);
    const grad = tf.grad((input: tfType.Tensor) => tf.sum(tf.mul(layer.apply(input, { training: true }) as tfType.Tensor, upstream)));
    const input = tf.tensor4d(x, [N, H, W, C]);
    const dx = grad(input).dataSync();
    const up = upstream.dataSync();
    for (let n = 0; n < N; n++) {
      const [dy, dxo] = offsetOf(x, y, n, 2)!;
      // Input pixel (r, c) lands at (r + dy, c + dxo): its gradient is the upstream value there.
      for (let r = 0; r < H; r++)
        for (let c = 0; c < W; c++)
          for (let k = 0; k < C; k++) {
            const tr = r + dy;
            const tc = c + dxo;
            const expected = tr >= 0 && tr < H && tc >= 0 && tc < W ? up[((n * H + tr) * W + tc) * C + k]! : 0;
            expect(dx[((n * H + r) * W + c) * C + k]).toBeCloseTo(expected, 6);
          }
    }
    tf.dispose([upstream, input]);
  });

  it('saves its limit in its config and reads it back', () => {
    const layer = new PatchbayRandomTranslation({ pixels: 4, name: 'aug' });
    const config = layer.getConfig();
    expect(config.pixels).toBe(4);
    const back = tf.serialization.SerializationMap.getMap().classNameMap['PatchbayRandomTranslation']![1](
      PatchbayRandomTranslation,
      config,
    ) as PatchbayRandomTranslation;
    expect(back.pixels).toBe(4);
  });
});

describe('RandomTranslation spec', () => {
  const parse = (p: object) => RandomTranslationSpec.params.parse(p);
  it('keeps the shape of an image batch', () => {
    expect(RandomTranslationSpec.infer(parse({}), [[null, 28, 28, 1]])).toEqual([null, 28, 28, 1]);
  });
  it('refuses a shift as large as the image, and inputs that are not images', () => {
    const tooFar = RandomTranslationSpec.infer(parse({ pixels: 28 }), [[null, 28, 28, 1]]);
    expect(isProblem(tooFar) && tooFar.param).toBe('pixels');
    expect(isProblem(RandomTranslationSpec.infer(parse({}), [[null, 784]]))).toBe(true);
  });
});
