/**
 * The transformer layers (src/runtime/layers: multi-head self-attention, class token, position
 * embedding, take token, GELU): each computes what the papers' formula computes, written here in
 * plain float64 loops on the same weights (not from our layers or tfjs ops); each gradient equals
 * the numeric gradient of that reference; a model of them saves and loads back with
 * tf.loadLayersModel; their specs refuse what they cannot do with a message for a person.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClassTokenSpec } from '../src/nodes/layers/class-token';
import { MultiHeadSelfAttentionSpec } from '../src/nodes/layers/multi-head-self-attention';
import { PositionEmbeddingSpec } from '../src/nodes/layers/position-embedding';
import { TakeTokenSpec } from '../src/nodes/layers/take-token';
import { isProblem } from '../src/nodes/spec';
import { createCustomLayer } from '../src/runtime/custom-layers';
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

interface AttentionWeights {
  qkvKernel: number[]; // [width, 3·inner], row-major
  qkvBias: number[]; // [3·inner]
  outputKernel: number[]; // [inner, width]
  outputBias: number[]; // [width]
}

/**
 * Multi-head self-attention from the formula (Vaswani et al. 2017, eq. 1 and MultiHead): for each
 * head h, Q_h = X·W_q^h + b, K_h, V_h likewise, head_h = softmax(Q_h·K_hᵀ/√d + M)·V_h with M = -∞
 * above the diagonal when causal, and out = concat(head_1…head_H)·W_o + b_o. The fused kernel's
 * columns are q of every head, then k, then v, each head's d columns in turn (timm's and CLIP's layout).
 * x is [batch][tokens][width]; float64 throughout.
 */
function referenceAttention(x: number[][][], w: AttentionWeights, heads: number, d: number, causal: boolean): number[][][] {
  const width = x[0]![0]!.length;
  const inner = heads * d;
  const project = (row: number[], col: number) => row.reduce((s, v, i) => s + v * w.qkvKernel[i * 3 * inner + col]!, w.qkvBias[col]!);
  return x.map((tokens) => {
    const n = tokens.length;
    const concat = tokens.map(() => new Array<number>(inner).fill(0));
    for (let h = 0; h < heads; h++) {
      const q = tokens.map((t) => Array.from({ length: d }, (_, j) => project(t, h * d + j)));
      const k = tokens.map((t) => Array.from({ length: d }, (_, j) => project(t, inner + h * d + j)));
      const v = tokens.map((t) => Array.from({ length: d }, (_, j) => project(t, 2 * inner + h * d + j)));
      for (let i = 0; i < n; i++) {
        const logits = k.map((kj, j) => (causal && j > i ? -Infinity : q[i]!.reduce((s, qv, c) => s + qv * kj[c]!, 0) / Math.sqrt(d)));
        const top = Math.max(...logits);
        const e = logits.map((l) => Math.exp(l - top));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < d; c++) concat[i]![h * d + c] = e.reduce((s, ej, j) => s + (ej / sum) * v[j]![c]!, 0);
      }
    }
    return concat.map((row) => Array.from({ length: width }, (_, o) => row.reduce((s, r, c) => s + r * w.outputKernel[c * width + o]!, w.outputBias[o]!)));
  });
}

const nest = (flat: ArrayLike<number>, shape: number[]): number[][][] =>
  Array.from({ length: shape[0]! }, (_, b) =>
    Array.from({ length: shape[1]! }, (_, n) => Array.from({ length: shape[2]! }, (_, c) => flat[(b * shape[1]! + n) * shape[2]! + c]!)),
  );

/** Largest |a − b| over two equal-length lists. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Central differences of a float64 function at `at` (changes `at` in place and restores it). */
function numericGradient(f: () => number, at: number[], eps = 1e-6): number[] {
  return at.map((v, i) => {
    at[i] = v + eps;
    const up = f();
    at[i] = v - eps;
    const down = f();
    at[i] = v;
    return (up - down) / (2 * eps);
  });
}

const dot = (a: number[][][], b: number[]) => a.flat(2).reduce((s, v, i) => s + v * b[i]!, 0);

describe('multi-head self-attention equals the formula on the same weights', () => {
  const cases = [
    { name: '2 heads of 4, width 8, 5 tokens', batch: 2, tokens: 5, width: 8, heads: 2, keyDim: 0, causal: false },
    { name: 'causal, 2 heads of 4, width 8, 5 tokens', batch: 2, tokens: 5, width: 8, heads: 2, keyDim: 0, causal: true },
    { name: '3 heads of keyDim 4 on width 6 (inner 12), causal', batch: 3, tokens: 4, width: 6, heads: 3, keyDim: 4, causal: true },
    { name: 'ViT-like: 4 heads, width 16, 17 tokens', batch: 2, tokens: 17, width: 16, heads: 4, keyDim: 0, causal: false },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s: max abs difference ≤ 1e-5', (_name, c) => {
    const d = c.keyDim || c.width / c.heads;
    const inner = c.heads * d;
    const layer = createCustomLayer('PatchbayMultiHeadSelfAttention', { numHeads: c.heads, keyDim: c.keyDim, causal: c.causal })!;
    const shape = [c.batch, c.tokens, c.width];
    layer.build(shape);
    const w: AttentionWeights = {
      qkvKernel: numbers(c.width * 3 * inner, 1, 0.5),
      qkvBias: numbers(3 * inner, 2, 0.2),
      outputKernel: numbers(inner * c.width, 3, 0.5),
      outputBias: numbers(c.width, 4, 0.2),
    };
    layer.setWeights([
      tf.tensor(w.qkvKernel, [c.width, 3 * inner]),
      tf.tensor(w.qkvBias),
      tf.tensor(w.outputKernel, [inner, c.width]),
      tf.tensor(w.outputBias),
    ]);
    const xs = numbers(c.batch * c.tokens * c.width, 5, 1.5);
    const y = layer.apply(tf.tensor(xs, shape)) as tfType.Tensor;
    const expected = referenceAttention(nest(xs, shape), w, c.heads, d, c.causal).flat(2);
    expect(maxAbsDiff(y.dataSync(), expected)).toBeLessThanOrEqual(1e-5);

    // The check can fail: the same weights without (or with) the mask differ clearly.
    const other = referenceAttention(nest(xs, shape), w, c.heads, d, !c.causal).flat(2);
    expect(maxAbsDiff(y.dataSync(), other)).toBeGreaterThan(1e-3);
  });

  it('gradients for the input and all four weights equal the numeric gradient of the formula (causal)', () => {
    const [batch, tokens, width, heads] = [2, 3, 4, 2];
    const d = width / heads;
    const shape = [batch, tokens, width];
    const layer = createCustomLayer('PatchbayMultiHeadSelfAttention', { numHeads: heads, causal: true })!;
    layer.build(shape);
    const w: AttentionWeights = {
      qkvKernel: numbers(width * 3 * width, 11, 0.6),
      qkvBias: numbers(3 * width, 12, 0.2),
      outputKernel: numbers(width * width, 13, 0.6),
      outputBias: numbers(width, 14, 0.2),
    };
    layer.setWeights([tf.tensor(w.qkvKernel, [width, 3 * width]), tf.tensor(w.qkvBias), tf.tensor(w.outputKernel, [width, width]), tf.tensor(w.outputBias)]);
    const xs = numbers(batch * tokens * width, 15, 1);
    const upstream = numbers(batch * tokens * width, 16, 1);
    const loss = () => dot(referenceAttention(nest(xs, shape), w, heads, d, true), upstream);

    const x = tf.tensor(xs, shape);
    const up = tf.tensor(upstream, shape);
    const f = (input: tfType.Tensor) => tf.sum(tf.mul(layer.apply(input) as tfType.Tensor, up)) as tfType.Scalar;
    const dx = tf.grad(f)(x);
    const variables = layer.trainableWeights.map((v) => v.read() as tfType.Variable);
    const { grads } = tf.variableGrads(() => f(x), variables);
    expect(maxAbsDiff(dx.dataSync(), numericGradient(loss, xs))).toBeLessThan(1e-4);
    const numeric = [w.qkvKernel, w.qkvBias, w.outputKernel, w.outputBias].map((values) => numericGradient(loss, values));
    variables.forEach((v, i) => expect(maxAbsDiff(grads[v.name]!.dataSync(), numeric[i]!), v.name).toBeLessThan(1e-4));
  });

  it('attention dropout acts only while training', () => {
    const layer = createCustomLayer('PatchbayMultiHeadSelfAttention', { numHeads: 2, dropout: 0.5 })!;
    const x = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 1);
    const a = (layer.apply(x) as tfType.Tensor).dataSync();
    const b = (layer.apply(x, { training: false }) as tfType.Tensor).dataSync();
    expect(maxAbsDiff(a, b)).toBe(0);
    const trained = (layer.apply(x, { training: true }) as tfType.Tensor).dataSync();
    expect(maxAbsDiff(a, trained)).toBeGreaterThan(1e-3);
  });

  it('the spec counts the weights as ViT does (12D² + 13D per block is 4D² + 4D here) and refuses heads that do not divide the width', () => {
    const p = MultiHeadSelfAttentionSpec.params.parse({ numHeads: 12 });
    expect(MultiHeadSelfAttentionSpec.countParams(p, [[null, 197, 768]], [null, 197, 768])).toEqual({ trainable: 4 * 768 * 768 + 4 * 768, nonTrainable: 0 });
    const noBias = MultiHeadSelfAttentionSpec.params.parse({ numHeads: 2, keyDim: 3, useBias: false });
    expect(MultiHeadSelfAttentionSpec.countParams(noBias, [[null, 4, 5]], [null, 4, 5]).trainable).toBe(5 * 18 + 6 * 5);
    const problem = MultiHeadSelfAttentionSpec.infer(MultiHeadSelfAttentionSpec.params.parse({ numHeads: 5 }), [[null, 10, 64]]);
    expect(isProblem(problem) && problem).toMatchObject({
      code: 'PB300',
      param: 'numHeads',
      message: 'Received 5 heads for a width of 64, expected a number of heads that divides the width (or a keyDim).',
    });
    expect(isProblem(problem) && problem.help).toMatch(/^Use 4 heads/);
    expect(MultiHeadSelfAttentionSpec.infer(p, [[null, 7, 7, 768]])).toMatchObject({ code: 'PB301' });
    const layer = createCustomLayer('PatchbayMultiHeadSelfAttention', { numHeads: 5 })!;
    expect(() => layer.apply(tf.input({ shape: [10, 64] }))).toThrow(/width of 64 over 5 heads/);
  });
});

describe('class token, position embedding, take token and GELU', () => {
  it('class token: prepends the learned token to every example; its gradient is the sum over the batch', () => {
    const layer = createCustomLayer('PatchbayClassToken', {})!;
    layer.build([2, 3, 4]);
    const token = [0.5, -1, 2, 0.25];
    layer.setWeights([tf.tensor(token)]);
    const xs = numbers(24, 21);
    const y = layer.apply(tf.tensor(xs, [2, 3, 4])) as tfType.Tensor;
    expect(y.shape).toEqual([2, 4, 4]);
    const expected = [0, 1].flatMap((b) => [...token, ...xs.slice(b * 12, b * 12 + 12)]);
    expect(maxAbsDiff(y.dataSync(), expected)).toBeLessThan(1e-7);
    const upstream = numbers(32, 22);
    const variable = layer.trainableWeights[0]!.read() as tfType.Variable;
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(tf.tensor(xs, [2, 3, 4])) as tfType.Tensor, tf.tensor(upstream, [2, 4, 4]))) as tfType.Scalar,
      [variable],
    );
    const numeric = numericGradient(() => [0, 1].reduce((s, b) => s + token.reduce((t, v, c) => t + v * upstream[b * 16 + c]!, 0), 0), token);
    expect(maxAbsDiff(grads[variable.name]!.dataSync(), numeric)).toBeLessThan(1e-5);
    expect(ClassTokenSpec.infer({}, [[null, 49, 64]])).toEqual([null, 50, 64]);
    expect(ClassTokenSpec.infer({}, [[null, 64]])).toMatchObject({ code: 'PB301' });
  });

  it('position embedding: adds one learned vector per position; gradient numeric', () => {
    const layer = createCustomLayer('PatchbayPositionEmbedding', {})!;
    layer.build([2, 3, 2]);
    const table = numbers(6, 31);
    layer.setWeights([tf.tensor(table, [3, 2])]);
    const xs = numbers(12, 32);
    const y = layer.apply(tf.tensor(xs, [2, 3, 2])) as tfType.Tensor;
    expect(
      maxAbsDiff(
        y.dataSync(),
        xs.map((v, i) => v + table[i % 6]!),
      ),
    ).toBeLessThan(1e-6);
    const upstream = numbers(12, 33);
    const variable = layer.trainableWeights[0]!.read() as tfType.Variable;
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(tf.tensor(xs, [2, 3, 2])) as tfType.Tensor, tf.tensor(upstream, [2, 3, 2]))) as tfType.Scalar,
      [variable],
    );
    const numeric = numericGradient(() => xs.reduce((s, v, i) => s + (v + table[i % 6]!) * upstream[i]!, 0), table);
    expect(maxAbsDiff(grads[variable.name]!.dataSync(), numeric)).toBeLessThan(1e-5);
    expect(PositionEmbeddingSpec.infer(PositionEmbeddingSpec.params.parse({}), [[null, null, 8]])).toMatchObject({ code: 'PB305' });
  });

  it('take token: the first token, or per example the token where the ids are largest; the gradient reaches only that token', () => {
    const xs = numbers(2 * 4 * 3, 41);
    const x = tf.tensor(xs, [2, 4, 3]);
    const first = createCustomLayer('PatchbayTakeToken', { mode: 'first' })!;
    expect(maxAbsDiff((first.apply(x) as tfType.Tensor).dataSync(), [...xs.slice(0, 3), ...xs.slice(12, 15)])).toBeLessThan(1e-6);

    const eot = createCustomLayer('PatchbayTakeToken', { mode: 'endOfText' })!;
    // Example 0 ends at position 2 (id 99), example 1 at position 3 (id 99); padding ids are 0.
    const ids = tf.tensor(
      [
        [5, 7, 99, 0],
        [5, 8, 9, 99],
      ],
      [2, 4],
      'int32',
    );
    const y = eot.apply([x, ids]) as tfType.Tensor;
    expect(y.shape).toEqual([2, 3]);
    expect(maxAbsDiff(y.dataSync(), [...xs.slice(6, 9), ...xs.slice(21, 24)])).toBeLessThan(1e-6);
    const dx = tf.grad((input: tfType.Tensor) => tf.sum(eot.apply([input, ids]) as tfType.Tensor))(x);
    const expected = new Array(24).fill(0);
    for (const i of [6, 7, 8, 21, 22, 23]) expected[i] = 1;
    expect(Array.from(dx.dataSync())).toEqual(expected);
    expect(() => eot.apply(x)).toThrow(/needs a second input: the token ids/);
  });

  it('take token spec: ids only in endOfText mode, one wire, matching the tokens', () => {
    const first = TakeTokenSpec.params.parse({});
    const eot = TakeTokenSpec.params.parse({ mode: 'endOfText' });
    expect(TakeTokenSpec.infer(first, [[null, 50, 64]])).toEqual([null, 64]);
    expect(
      TakeTokenSpec.infer(first, [
        [null, 50, 64],
        [null, 50],
      ]),
    ).toMatchObject({ code: 'PB300', param: 'mode' });
    expect(TakeTokenSpec.infer(eot, [[null, 77, 512]])).toMatchObject({ code: 'PB200', port: 'ids' });
    expect(
      TakeTokenSpec.infer(eot, [
        [null, 77, 512],
        [null, 76],
      ]),
    ).toMatchObject({ code: 'PB302', port: 'ids' });
    expect(
      TakeTokenSpec.infer(eot, [
        [null, 77, 512],
        [null, 77],
      ]),
    ).toEqual([null, 512]);
  });

  it('GELU: exact, tanh and quick forms against their formulas, and their gradients', () => {
    const xs = numbers(9, 51, 3);
    const erf = (z: number) => {
      // Abramowitz–Stegun 7.1.26 is only 1e-7 accurate; integrate instead (Simpson, 2,000 intervals).
      const n = 2000;
      const h = z / n;
      let s = 1 + Math.exp(-z * z);
      for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
      return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
    };
    const forms: Record<string, (v: number) => number> = {
      none: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
      tanh: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
      quick: (v) => v / (1 + Math.exp(-1.702 * v)),
    };
    for (const [approximate, f] of Object.entries(forms)) {
      const layer = createCustomLayer('PatchbayGelu', { approximate })!;
      const x = tf.tensor(xs);
      expect(maxAbsDiff((layer.apply(x) as tfType.Tensor).dataSync(), xs.map(f)), approximate).toBeLessThan(1e-5);
      const dx = tf.grad((input: tfType.Tensor) => tf.sum(layer.apply(input) as tfType.Tensor))(x);
      const numeric = xs.map((v) => (f(v + 1e-5) - f(v - 1e-5)) / 2e-5);
      expect(maxAbsDiff(dx.dataSync(), numeric), approximate).toBeLessThan(1e-4);
    }
  });
});

describe('a model of the transformer layers', () => {
  it('saves and loads back with tf.loadLayersModel: same classes, configs and outputs', async () => {
    const tokens = tf.input({ shape: [6, 8], name: 'tokens' });
    const ids = tf.input({ shape: [7], name: 'ids', dtype: 'int32' });
    let h = createCustomLayer('PatchbayClassToken', { name: 'cls' })!.apply(tokens) as tfType.SymbolicTensor;
    h = createCustomLayer('PatchbayPositionEmbedding', { name: 'pos', stddev: 0.5 })!.apply(h) as tfType.SymbolicTensor;
    h = createCustomLayer('PatchbayMultiHeadSelfAttention', { name: 'attn', numHeads: 2, keyDim: 3, causal: true, dropout: 0.1 })!.apply(
      h,
    ) as tfType.SymbolicTensor;
    h = createCustomLayer('PatchbayGelu', { name: 'act', approximate: 'quick' })!.apply(h) as tfType.SymbolicTensor;
    const first = createCustomLayer('PatchbayTakeToken', { name: 'first' })!.apply(h) as tfType.SymbolicTensor;
    const last = createCustomLayer('PatchbayTakeToken', { name: 'eot', mode: 'endOfText' })!.apply([h, ids]) as tfType.SymbolicTensor;
    const model = tf.model({ inputs: [tokens, ids], outputs: [first, last] });
    model.setWeights(model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.5, 'float32', 60 + i)));

    let saved: tfType.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const topology = JSON.stringify(saved!.modelTopology);
    for (const cls of ['PatchbayClassToken', 'PatchbayPositionEmbedding', 'PatchbayMultiHeadSelfAttention', 'PatchbayGelu', 'PatchbayTakeToken'])
      expect(topology).toContain(`"class_name":"${cls}"`);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const describeLayers = (m: tfType.LayersModel) => m.layers.map((l) => `${l.name}:${l.getClassName()}:${JSON.stringify(l.getConfig())}`);
    expect(describeLayers(loaded)).toEqual(describeLayers(model));
    const input = [
      tf.randomNormal([3, 6, 8], 0, 1, 'float32', 70),
      tf.tensor(
        [
          [1, 2, 3, 9, 0, 0, 0],
          [4, 5, 6, 7, 8, 20, 0],
          [30, 1, 1, 1, 1, 1, 1],
        ],
        [3, 7],
        'int32',
      ),
    ];
    const a = model.predict(input) as tfType.Tensor[];
    const b = loaded.predict(input) as tfType.Tensor[];
    a.forEach((t, i) => expect(maxAbsDiff(t.dataSync(), b[i]!.dataSync())).toBe(0));
    expect(maxAbsDiff(a[0]!.dataSync(), a[1]!.dataSync())).toBeGreaterThan(1e-3);
  });
});
