/**
 * The attention weights behind the editor's attention view: the attention layer's
 * `attentionWeights` gives softmax(q·kᵀ/√d) per head, whose rows sum to 1 and equal the weights
 * computed from the formula in float64 loops on the same weights (not from our layer or tfjs ops),
 * and asking for them leaves the layer's output as it was. answerAttentionMaps (src/runtime/
 * attention-maps.ts) reads the class token's rows from every attention layer of the ViT template's
 * model: the patch grid, rows that sum to 1, values equal to the formula on that layer's input, and
 * sentences for a person when a model has no class token or the data does not fit.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { headAverage, heatColour } from '../src/editor/train/attention-heat';
import { answerAttentionMaps } from '../src/runtime/attention-maps';
import { buildModel } from '../src/runtime/build';
import { createCustomLayer } from '../src/runtime/custom-layers';
import type { Dataset } from '../src/runtime/data/dataset';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

/** A small deterministic generator, so that the cases are the same on every run. */
function numbers(count: number, seed: number, scale = 1): number[] {
  let a = seed >>> 0;
  return Array.from({ length: count }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return (a / 4294967296 - 0.5) * 2 * scale;
  });
}

/**
 * Attention weights from the formula (Vaswani et al. 2017, eq. 1): per head h, Q_h = X·W_q^h + b_q^h
 * and K_h likewise, A_h = softmax(Q_h·K_hᵀ/√d), with −∞ above the diagonal when causal. The fused
 * kernel [width, 3·heads·d] holds q of every head, then k, then v (timm's and CLIP's layout).
 * Returns [batch][head][query][key] in float64.
 */
function referenceWeights(
  x: number[][][],
  qkvKernel: ArrayLike<number>,
  qkvBias: ArrayLike<number>,
  heads: number,
  d: number,
  causal: boolean,
): number[][][][] {
  const inner = heads * d;
  const project = (row: number[], col: number) => row.reduce((s, v, i) => s + v * qkvKernel[i * 3 * inner + col]!, qkvBias[col]!);
  return x.map((tokens) =>
    Array.from({ length: heads }, (_, h) => {
      const q = tokens.map((t) => Array.from({ length: d }, (_, j) => project(t, h * d + j)));
      const k = tokens.map((t) => Array.from({ length: d }, (_, j) => project(t, inner + h * d + j)));
      return q.map((qi, i) => {
        const logits = k.map((kj, j) => (causal && j > i ? -Infinity : qi.reduce((s, qv, c) => s + qv * kj[c]!, 0) / Math.sqrt(d)));
        const top = Math.max(...logits);
        const e = logits.map((l) => Math.exp(l - top));
        const sum = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / sum);
      });
    }),
  );
}

const nest = (flat: ArrayLike<number>, shape: number[]): number[][][] =>
  Array.from({ length: shape[0]! }, (_, b) =>
    Array.from({ length: shape[1]! }, (_, n) => Array.from({ length: shape[2]! }, (_, c) => flat[(b * shape[1]! + n) * shape[2]! + c]!)),
  );

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Largest |Σ row − 1| over the rows of a [..., n] array of n-long rows. */
function worstRowSum(values: ArrayLike<number>, n: number): number {
  let worst = 0;
  for (let r = 0; r < values.length / n; r++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += values[r * n + j]!;
    worst = Math.max(worst, Math.abs(s - 1));
  }
  return worst;
}

interface AttentionLayerView extends tfType.layers.Layer {
  attentionWeights(input: tfType.Tensor): tfType.Tensor4D;
}

describe("the attention layer's attentionWeights", () => {
  const cases = [
    { name: '2 heads of 4, width 8, 5 tokens', batch: 2, tokens: 5, width: 8, heads: 2, keyDim: 0, causal: false },
    { name: 'causal, 3 heads of keyDim 4 on width 6', batch: 2, tokens: 4, width: 6, heads: 3, keyDim: 4, causal: true },
    { name: 'ViT-like: 4 heads, width 16, 17 tokens', batch: 2, tokens: 17, width: 16, heads: 4, keyDim: 0, causal: false },
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s: rows sum to 1 and equal the formula (≤ 1e-5); the output is unchanged', (_name, c) => {
    const d = c.keyDim || c.width / c.heads;
    const inner = c.heads * d;
    const shape = [c.batch, c.tokens, c.width];
    const layer = createCustomLayer('PatchbayMultiHeadSelfAttention', {
      numHeads: c.heads,
      keyDim: c.keyDim,
      causal: c.causal,
      dropout: 0.3,
    }) as AttentionLayerView;
    expect(() => layer.attentionWeights(tf.zeros(shape))).toThrow(/no weights yet/);
    layer.build(shape);
    const qkvKernel = numbers(c.width * 3 * inner, 1, 0.7);
    const qkvBias = numbers(3 * inner, 2, 0.3);
    layer.setWeights([
      tf.tensor(qkvKernel, [c.width, 3 * inner]),
      tf.tensor(qkvBias),
      tf.tensor(numbers(inner * c.width, 3, 0.5), [inner, c.width]),
      tf.tensor(numbers(c.width, 4, 0.2)),
    ]);
    const xs = numbers(c.batch * c.tokens * c.width, 5, 1.5);
    const x = tf.tensor(xs, shape);
    const before = (layer.apply(x) as tfType.Tensor).dataSync().slice();

    const weights = layer.attentionWeights(x);
    expect(weights.shape).toEqual([c.batch, c.heads, c.tokens, c.tokens]);
    const values = weights.dataSync();
    expect(worstRowSum(values, c.tokens)).toBeLessThanOrEqual(1e-6);
    const expected = referenceWeights(nest(xs, shape), qkvKernel, qkvBias, c.heads, d, c.causal).flat(3);
    expect(maxAbsDiff(values, expected)).toBeLessThanOrEqual(1e-5);
    // The check can fail: the formula with the other masking differs clearly.
    expect(maxAbsDiff(values, referenceWeights(nest(xs, shape), qkvKernel, qkvBias, c.heads, d, !c.causal).flat(3))).toBeGreaterThan(1e-3);
    // Asked while training is set or not, no dropout: the same weights twice.
    expect(maxAbsDiff(layer.attentionWeights(x).dataSync(), values)).toBe(0);
    // The layer's output is as it was.
    expect(maxAbsDiff((layer.apply(x) as tfType.Tensor).dataSync(), before)).toBe(0);
    expect(() => layer.attentionWeights(tf.zeros([c.tokens, c.width]))).toThrow(/takes \(batch, tokens, width\)/);
  });
});

/** The ViT template's mnist model with seeded weights, each weight nudged so that heads and layers differ clearly from their initial symmetry. */
function vitModel(): tfType.LayersModel {
  const r = templateDocument('vit', 'mnist');
  if ('error' in r) throw new Error(r.error);
  const { plan, diagnostics } = lower(analyze(r.doc));
  expect(diagnostics.filter((dg) => dg.severity === 'error')).toEqual([]);
  const model = buildModel(plan!, { seed: 7 });
  model.setWeights(model.getWeights().map((w, i) => tf.add(w, tf.randomNormal(w.shape, 0, 0.2, 'float32', 100 + i))));
  return model;
}

/** 28×28 images of a bright bar at a class-dependent row, as a tiny held-out split. */
function bars(count: number): Dataset {
  const x = new Float32Array(count * 784);
  const y = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % 10;
    for (let c = 4; c < 24; c++) x[i * 784 + (3 + 2 * y[i]!) * 28 + c] = 1;
  }
  const split = { x, y, count };
  return { name: 'bars', inputShape: [28, 28, 1], classNames: Array.from({ length: 10 }, (_, i) => String(i)), train: split, test: split };
}

describe('answerAttentionMaps on the ViT template (mnist preset: 7×7 patches, 4 blocks of 4 heads)', () => {
  it("reads the class token's row in every layer and head: a 4×4 patch grid, rows that sum to 1, the formula's values, predictions", async () => {
    const model = vitModel();
    const data = bars(5);
    const drawn = new Float32Array(784);
    for (let r = 6; r < 22; r++) drawn[r * 28 + 14] = 1; // a vertical stroke
    const answer = await answerAttentionMaps(tf, model, data, { testCount: 3, drawn }, true);
    expect(answer.grid).toEqual([4, 4]);
    expect(answer.labels).toEqual([0, 1, 2]);
    expect(answer.drawn).toBe(true);
    expect(answer.images.length).toBe(4 * 784);
    expect(answer.layers.map((l) => [l.name, l.heads])).toEqual([0, 1, 2, 3].map((b) => [`encoder_${b}_attention`, 4]));
    const images = 4;
    for (const layer of answer.layers) {
      expect(layer.patches.length).toBe(images * 4 * 16);
      // Each image's and head's row: the weight on the class token itself plus those on the 16 patches.
      for (let r = 0; r < images * 4; r++) {
        const sum = layer.self[r]! + layer.patches.subarray(r * 16, (r + 1) * 16).reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - 1)).toBeLessThanOrEqual(1e-5);
      }
    }
    // The predictions are the model's own.
    const x = tf.tensor(answer.images, [images, 28, 28, 1]);
    expect(answer.predicted).toEqual(Array.from(tf.argMax(model.predict(x) as tfType.Tensor, 1).dataSync()));

    // The formula on the second block's input and weights gives the same class-token rows.
    const attention = model.getLayer('encoder_1_attention');
    const input = (tf.model({ inputs: model.inputs, outputs: attention.input as tfType.SymbolicTensor }).predict(x) as tfType.Tensor).dataSync();
    const [kernel, bias] = attention.getWeights().map((w) => w.dataSync());
    const reference = referenceWeights(nest(input, [images, 17, 64]), kernel!, bias!, 4, 16, false);
    const fromFormula = reference.flatMap((heads) => heads.map((rows) => rows[0]!.slice(1))).flat();
    expect(maxAbsDiff(answer.layers[1]!.patches, fromFormula)).toBeLessThanOrEqual(1e-5);
    expect(
      maxAbsDiff(
        answer.layers[1]!.self,
        reference.flatMap((heads) => heads.map((rows) => rows[0]![0]!)),
      ),
    ).toBeLessThanOrEqual(1e-5);

    // Heads and images differ (the view would show one picture many times otherwise).
    const first = answer.layers[0]!.patches;
    expect(maxAbsDiff(first.subarray(0, 16), first.subarray(16, 32))).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(first.subarray(0, 64), first.subarray(64, 128))).toBeGreaterThan(1e-3);
  });

  it('takes only the drawn image when the held-out images do not fit the model, and says so when there is nothing to show', async () => {
    const model = vitModel();
    const other: Dataset = { ...bars(2), inputShape: [14, 56, 1] };
    const answer = await answerAttentionMaps(tf, model, other, { testCount: 2, drawn: new Float32Array(784).fill(0.5) }, false);
    expect(answer.labels).toEqual([]);
    expect(answer.predicted).toBeNull();
    expect(answer.layers[0]!.self.length).toBe(4);
    await expect(answerAttentionMaps(tf, model, other, { testCount: 2 }, false)).rejects.toThrow(
      /held-out examples are 14×56×1 but the model takes 28×28×1: draw an image instead/,
    );
    await expect(answerAttentionMaps(tf, model, null, { testCount: 2 }, false)).rejects.toThrow(/no image to look at: draw one/);
    await expect(answerAttentionMaps(tf, model, null, { testCount: 0, drawn: new Float32Array(10) }, false)).rejects.toThrow(/drawn image has 10 values/);
  });

  it('refuses a model without a class token or without attention, in a sentence', async () => {
    const x = tf.input({ shape: [5, 8] });
    const attention = createCustomLayer('PatchbayMultiHeadSelfAttention', { numHeads: 2 })!;
    const noToken = tf.model({ name: 'text', inputs: x, outputs: attention.apply(x) as tfType.SymbolicTensor });
    await expect(answerAttentionMaps(tf, noToken, null, { testCount: 1 }, false)).rejects.toThrow(
      /The network "text" has no class token: the attention view shows what the class token attends to/,
    );
    const y = tf.input({ shape: [4] });
    const dense = tf.model({ name: 'mlp', inputs: y, outputs: tf.layers.dense({ units: 2 }).apply(y) as tfType.SymbolicTensor });
    await expect(answerAttentionMaps(tf, dense, null, { testCount: 1 }, false)).rejects.toThrow(
      /The network "mlp" has no multi-head self-attention layer to show/,
    );
  });
});

describe("CLIP's image tower (mnist preset) and the view's colour map", () => {
  it('the image network of the clip template gives maps too: 2 layers of 4 heads on a 4×4 grid, no predicted classes', async () => {
    const r = templateDocument('clip', 'mnist');
    if ('error' in r) throw new Error(r.error);
    const { program } = lowerProgram(analyzeProgram(r.doc)!);
    const image = program!.networks.find((n) => n.id === 'model')!;
    const model = buildModel(image.plan, { seed: 1 });
    const answer = await answerAttentionMaps(tf, model, bars(2), { testCount: 2 }, false);
    expect(answer.grid).toEqual([4, 4]);
    expect(answer.predicted).toBeNull();
    expect(answer.layers.map((l) => l.heads)).toEqual([4, 4]);
    for (const layer of answer.layers)
      for (let row = 0; row < 2 * 4; row++)
        expect(Math.abs(layer.self[row]! + layer.patches.subarray(row * 16, (row + 1) * 16).reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
  });

  it('the head average is the mean over heads; the colour map runs from near black to pale yellow, brighter with the weight', async () => {
    expect(Array.from(headAverage(new Float32Array([0.1, 0.3, 0.5, 0.7]), 2, 2))).toEqual([0.30000001192092896, 0.5]);
    const luminance = (v: number) => heatColour(v).reduce((s, c, i) => s + c * [0.2126, 0.7152, 0.0722][i]!, 0);
    expect(heatColour(0)).toEqual([0, 0, 4]);
    expect(heatColour(1)).toEqual([252, 253, 191]);
    expect(heatColour(2)).toEqual(heatColour(1));
    expect(heatColour(Number.NaN)).toEqual(heatColour(0));
    for (let v = 0.1; v <= 1; v += 0.1) expect(luminance(v)).toBeGreaterThan(luminance(v - 0.1));
  });
});
