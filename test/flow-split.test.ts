/**
 * Glow's multi-scale architecture: the split (factor-out) step and the learned top prior. The whole
 * log-likelihood of a tiny flow against a change of variables worked out by hand in float64 (every
 * dimension, factored or not, counted once; bits per dimension over the data's dimensions);
 * inverse(forward(x)) = x with the stored factored parts; the log-determinant of the map
 * x → (z, ε) against its autodiff Jacobian; sampling at a temperature; gradients; the glow template's shape.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { emitProgram } from '../src/compiler/emit-program';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { createCustomLayer } from '../src/runtime/custom-layers';
import { flowForward, flowInverse, flowLikelihood, flowNll, flowNllPerExample, sampleFlow } from '../src/runtime/program/flows';
import { ProgramRun } from '../src/runtime/program/run';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

type LayerSpec = [className: string, config: Record<string, unknown>];

/**
 * The layers as one model, each random initialiser seeded (a seeded build does the same): unseeded,
 * the coupling's kernels and the 1×1 convolution's rotation changed from run to run, and the
 * log-determinant test's check that the map is not near volume-preserving (|log det| > 0.1) failed
 * about one run in seven.
 */
function chain(shape: number[], layers: LayerSpec[], seed = 11): tfType.LayersModel {
  const input = tf.input({ shape });
  let x: tfType.SymbolicTensor = input;
  layers.forEach(([cls, config], i) => {
    const layer = createCustomLayer(cls, config)!;
    const fields = layer as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      const init = fields[key] as { getConfig?: () => Record<string, unknown> } | null;
      if (!key.endsWith('Initializer') || typeof init?.getConfig !== 'function' || !('seed' in init.getConfig())) continue;
      const Seeded = init.constructor as new (config: Record<string, unknown>) => unknown;
      fields[key] = new Seeded({ ...init.getConfig(), seed: seed + i });
    }
    x = layer.apply(x) as tfType.SymbolicTensor;
  });
  return tf.model({ inputs: input, outputs: x });
}

/** Moves every trainable weight off its (zero or identity) start, so that each one matters. */
function moveWeights(model: tfType.LayersModel, scale: number, seed: number): void {
  model.trainableWeights.forEach((w, i) => {
    const moved = tf.tidy(() => tf.add(w.read(), tf.randomNormal(w.shape as number[], 0, scale, 'float32', seed + i)));
    (w as unknown as { write(t: tfType.Tensor): void }).write(moved);
    moved.dispose();
  });
}

const maxAbs = (a: tfType.Tensor, b: tfType.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const values = (model: tfType.LayersModel, suffix: string) =>
  Array.from(
    model.weights
      .find((w) => w.name.endsWith(suffix))!
      .read()
      .dataSync(),
  );
const logNormal = (v: number, mean: number, logScale: number) => -0.5 * ((v - mean) / Math.exp(logScale)) ** 2 - logScale - 0.5 * Math.log(2 * Math.PI);

describe('a tiny multi-scale flow against the change of variables by hand', () => {
  it('log p(x) = log N(top) + log N(factored | kept) + log|det| of ActNorm, every dimension once; bits per dimension over the 4 data dimensions', () => {
    // x: one 2×2 grey image. Squeeze → 1×1×4, ActNorm, split (keep 2 channels, factor out 2), learned prior.
    const model = chain(
      [2, 2, 1],
      [
        ['PatchbayFlowSqueeze', {}],
        ['PatchbayActNorm', {}],
        ['PatchbayFlowSplit', {}],
        ['PatchbayFlowPrior', {}],
      ],
    );
    const x = tf.tensor4d([0.3, -1.2, 0.8, 2.1, -0.4, 0.5, 1.5, -0.7], [2, 2, 2, 1]);
    flowForward(tf, model, x); // ActNorm's first batch sets it; then all weights are moved.
    moveWeights(model, 0.4, 3);
    const { z, logdet } = flowForward(tf, model, x);
    const nll = Array.from(flowNllPerExample(tf, z, logdet).dataSync());

    const [an_s, an_b] = [values(model, 'log_scale').slice(0, 4), values(model, 'bias')];
    const kernel = values(model, 'prior_kernel'); // [3, 3, 2, 4]: on a 1×1 image only the centre tap (1, 1) sees a pixel.
    const [pb, pl] = [values(model, 'prior_bias'), values(model, 'prior_log_scale')];
    const [topMean, topLogScale] = [
      values(model, 'mean'),
      model.weights.filter((w) => w.name.endsWith('log_scale')).map((w) => Array.from(w.read().dataSync())),
    ];
    const priorLogScale = topLogScale.find((v) => v.length === 2)!;
    const pixels = x.dataSync();
    for (let n = 0; n < 2; n++) {
      // Squeeze: the 2×2 patch becomes 4 channels in row-major order.
      const squeezed = [0, 1, 2, 3].map((k) => pixels[4 * n + k]!);
      const a = squeezed.map((v, c) => (v + an_b[c]!) * Math.exp(an_s[c]!));
      let logp = an_s.reduce((s, v) => s + v, 0); // ActNorm's log|det|: one position.
      const kept = a.slice(0, 2);
      const h = [0, 1, 2, 3].map((o) => (kept[0]! * kernel[(4 * 2 + 0) * 4 + o]! + kept[1]! * kernel[(4 * 2 + 1) * 4 + o]! + pb[o]!) * Math.exp(3 * pl[o]!));
      // The factored channels 2 and 3 under N(mean = h[0..1], exp(h[2..3])²).
      logp += logNormal(a[2]!, h[0]!, h[2]!) + logNormal(a[3]!, h[1]!, h[3]!);
      // The kept channels under the learned top prior N(mean, exp(log_scale)²).
      logp += logNormal(kept[0]!, topMean[0]!, priorLogScale[0]!) + logNormal(kept[1]!, topMean[1]!, priorLogScale[1]!);
      expect(Math.abs(nll[n]! + logp), `example ${n}: ${-nll[n]!} against ${logp}`).toBeLessThan(1e-4);
    }
    // The weights moved enough to matter: not the standard normal of x.
    const standard = Array.from(pixels).reduce((s, v) => s + logNormal(v, 0, 0), 0);
    expect(Math.abs(-(nll[0]! + nll[1]!) - standard)).toBeGreaterThan(0.5);

    const rows = (t: tfType.Tensor) => ({ data: t.dataSync() as Float32Array, dim: t.size / t.shape[0]!, count: t.shape[0]! });
    const { nll: mean, bitsPerDim } = flowLikelihood(rows(z), rows(tf.reshape(logdet, [-1, 1])), 256, 4);
    expect(mean).toBeCloseTo((nll[0]! + nll[1]!) / 2, 4);
    expect(bitsPerDim).toBeCloseTo((mean + 4 * Math.log(256)) / (4 * Math.LN2), 5);
    // Counted over z's 2 values only, bits per dimension would be another (wrong) number.
    expect(Math.abs(flowLikelihood(rows(z), rows(tf.reshape(logdet, [-1, 1])), 256).bitsPerDim - bitsPerDim)).toBeGreaterThan(1);
  });

  it('an odd channel count keeps ⌊C/2⌋ and factors out the rest', () => {
    const model = chain([2, 2, 3], [['PatchbayFlowSplit', {}]]);
    moveWeights(model, 0.3, 5);
    const x = tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 4);
    const { z, factored } = flowForward(tf, model, x);
    expect(z.shape).toEqual([2, 2, 2, 1]);
    expect(factored[0]!.shape).toEqual([2, 2, 2, 2]);
    expect(maxAbs(flowInverse(tf, model, z, { factored }), x)).toBeLessThan(1e-5);
  });
});

describe('inversion and the log-determinant', () => {
  const GLOW_LIKE: LayerSpec[] = [
    ['PatchbayFlowSqueeze', {}],
    ['PatchbayActNorm', {}],
    ['PatchbayInvertibleConv1x1', {}],
    ['PatchbayAffineCoupling', { parity: 0, mask: 'channel', hidden: 8 }],
    ['PatchbayFlowSplit', {}],
    ['PatchbayFlowSqueeze', {}],
    ['PatchbayActNorm', {}],
    ['PatchbayAffineCoupling', { parity: 1, mask: 'channel', hidden: 8 }],
    ['PatchbayFlowPrior', {}],
  ];

  it('inverse(forward(x)) = x within 1e-4 with the stored factored parts; other parts give another x', () => {
    const model = chain([4, 4, 1], GLOW_LIKE);
    const x = tf.randomUniform([3, 4, 4, 1], 0, 1, 'float32', 9);
    flowForward(tf, model, x);
    moveWeights(model, 0.2, 11);
    const { z, factored } = flowForward(tf, model, x);
    expect(z.shape).toEqual([3, 1, 1, 8]);
    expect(factored.map((f) => f.shape)).toEqual([[3, 2, 2, 2]]);
    expect(maxAbs(flowInverse(tf, model, z, { factored }), x)).toBeLessThan(1e-4);
    // The factored part is used: a fresh draw changes x (and not the count check: one part is needed).
    expect(maxAbs(flowInverse(tf, model, z, { seed: 1 }), x)).toBeGreaterThan(1e-2);
    expect(() => flowInverse(tf, model, z, { factored: [] })).toThrow(/factors out 1 part\(s\), but 0 were given/);
  });

  it.each([
    ['no logit, sigmoid scale', [], 'sigmoid', [0.2, -0.5, 0.9, 0.1]],
    ['the logit step first, exp(tanh) scale', [['PatchbayFlowLogit', { alpha: 1e-3 }]], 'tanh', [0.2, 0.003, 0.9, 0.55]],
  ] as Array<[string, LayerSpec[], string, number[]]>)(
    '%s: Σ logdet − log N(ε) is log|det ∂(z, ε)/∂x|, of the autodiff Jacobian',
    (_name, first, scale, x0) => {
      // 4 dimensions: 2×2×1 → (logit) → squeeze 1×1×4 → ActNorm → 1×1 conv → coupling → split (keep 2, ε 2) → prior.
      const model = chain(
        [2, 2, 1],
        [
          ...first,
          ['PatchbayFlowSqueeze', {}],
          ['PatchbayActNorm', {}],
          ['PatchbayInvertibleConv1x1', {}],
          ['PatchbayAffineCoupling', { parity: 0, mask: 'channel', hidden: 4, scale }],
          ['PatchbayFlowSplit', {}],
          ['PatchbayFlowPrior', {}],
        ],
      );
      flowForward(tf, model, tf.randomUniform([16, 2, 2, 1], 0.01, 0.99, 'float32', 2));
      moveWeights(model, 0.3, 21);
      // The Jacobian of x → (z, ε) by autodiff of the forward map, one row per latent dimension (the
      // layers' log-determinants are closed forms, so this checks them independently). Finite
      // differences in float32 were used first and failed now and then on ReLU kinks and cancellation.
      const columns = tf.tidy(() => {
        const x = tf.tensor4d(x0, [1, 2, 2, 1]);
        return x0.map((_, k) =>
          Array.from(
            tf
              .grad((input: tfType.Tensor) => {
                const { z, factored } = flowForward(tf, model, input);
                return tf.slice(tf.concat([tf.reshape(z, [-1]), tf.reshape(factored[0]!, [-1])]), [k], [1]).sum();
              })(x)
              .dataSync(),
          ),
        );
      });
      const numeric = Math.log(Math.abs(det(columns)));
      const { logdet, factored } = flowForward(tf, model, tf.tensor4d(x0, [1, 2, 2, 1]));
      const eps = Array.from(factored[0]!.dataSync());
      const exact = logdet.dataSync()[0]! - eps.reduce((s, e) => s + logNormal(e, 0, 0), 0);
      expect(Math.abs(exact - numeric), `${exact} against ${numeric}`).toBeLessThan(2e-3);
      expect(Math.abs(exact)).toBeGreaterThan(0.1);
    },
  );
});

/** The determinant of a small square matrix (Gaussian elimination with partial pivoting, float64). */
function det(rows: number[][]): number {
  const a = rows.map((r) => r.slice());
  const n = a.length;
  let d = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    if (p !== c) {
      [a[p], a[c]] = [a[c]!, a[p]!];
      d = -d;
    }
    d *= a[c]![c]!;
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let k = c; k < n; k++) a[r]![k]! -= f * a[c]![k]!;
    }
  }
  return d;
}

describe('sampling', () => {
  it('draws the top z and every factored part at the temperature: T = 0 gives the priors’ means, one seed the same samples', async () => {
    const model = chain(
      [4, 4, 1],
      [
        ['PatchbayFlowSqueeze', {}],
        ['PatchbayActNorm', {}],
        ['PatchbayFlowSplit', {}],
        ['PatchbayFlowPrior', {}],
      ],
    );
    flowForward(tf, model, tf.randomUniform([8, 4, 4, 1], 0, 1, 'float32', 1));
    moveWeights(model, 0.3, 31);
    const cold = await sampleFlow(tf, model, 3, [2, 2, 2], 5, 0);
    // T = 0: z = 0 and ε = 0, so x is what the inverse makes of zeros: the same for every sample and seed.
    const zeros = flowInverse(tf, model, tf.zeros([3, 2, 2, 2]), { factored: [tf.zeros([3, 2, 2, 2])] });
    expect(maxAbs(cold, zeros)).toBeLessThan(1e-6);
    const [a, b, c] = [
      await sampleFlow(tf, model, 3, [2, 2, 2], 5),
      await sampleFlow(tf, model, 3, [2, 2, 2], 5),
      await sampleFlow(tf, model, 3, [2, 2, 2], 6),
    ];
    expect(maxAbs(a, b)).toBe(0);
    expect(maxAbs(a, c)).toBeGreaterThan(1e-2);
    // A lower temperature keeps samples nearer the mode.
    const warm = await sampleFlow(tf, model, 64, [2, 2, 2], 7, 1);
    const cool = await sampleFlow(tf, model, 64, [2, 2, 2], 7, 0.5);
    const spread = (t: tfType.Tensor) => tf.tidy(() => tf.mean(tf.square(tf.sub(t, zeros.slice([0], [1])))).dataSync()[0]!);
    expect(spread(cool)).toBeLessThan(spread(warm));
  });
});

describe('gradients', () => {
  it("every weight of the split's prior and of the learned prior gets a finite, non-zero gradient from the NLL", () => {
    const model = chain(
      [4, 4, 1],
      [
        ['PatchbayFlowSqueeze', {}],
        ['PatchbayFlowSplit', {}],
        ['PatchbayFlowPrior', {}],
      ],
    );
    moveWeights(model, 0.3, 41);
    const x = tf.randomUniform([4, 4, 4, 1], 0, 1, 'float32', 13);
    const { grads } = tf.variableGrads(
      () => {
        const { z, logdet } = flowForward(tf, model, x);
        return flowNll(tf, z, logdet) as tfType.Scalar;
      },
      model.trainableWeights.map((w) => (w as unknown as { val: tfType.Variable }).val),
    );
    expect(Object.keys(grads)).toHaveLength(5);
    for (const [name, g] of Object.entries(grads)) {
      const v = Array.from(g.dataSync());
      expect(v.every(Number.isFinite), name).toBe(true);
      expect(Math.max(...v.map(Math.abs)), name).toBeGreaterThan(0);
    }
  });
});

describe('the glow template', () => {
  it('has a logit step first and L = 2 levels: a split after the first, the learned prior last; z is 7×7×8 and bits per dimension count the 784 pixels', () => {
    const r = templateDocument('glow');
    if ('error' in r) throw new Error(r.error);
    const analysis = analyzeProgram(r.doc)!;
    expect(analysis.diagnostics).toEqual([]);
    const { program } = lowerProgram(analysis);
    const run = new ProgramRun(tf, program!, 0);
    try {
      const model = run.networks.get('model')!.model;
      const names = model.layers.map((l) => l.getClassName());
      expect(names.filter((n) => n === 'PatchbayFlowSplit')).toHaveLength(1);
      expect(names.at(-1)).toBe('PatchbayFlowPrior');
      // The logit step first (after the input layer): the flow models logit pixels.
      expect(names[1]).toBe('PatchbayFlowLogit');
      expect(model.outputs[0]!.shape).toEqual([null, 7, 7, 8]);
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 17);
      flowForward(tf, model, x);
      moveWeights(model, 0.05, 61);
      const { z, factored } = flowForward(tf, model, x);
      expect(factored.map((f) => f.shape)).toEqual([[2, 14, 14, 2]]);
      // Every data dimension in exactly one place: 7·7·8 at the top + 14·14·2 factored = 784.
      expect(z.size / 2 + factored[0]!.size / 2).toBe(784);
      expect(maxAbs(flowInverse(tf, model, z, { factored }), x)).toBeLessThan(1e-4);
      const evaluate = program!.procedures.find((p) => p.kind === 'evaluate')!;
      const likelihood = evaluate.steps.find((s) => s.kind === 'metric' && s.metric === 'FlowLikelihood')!;
      expect(likelihood.kind === 'metric' && likelihood.inputs).toHaveLength(3);
    } finally {
      run.dispose();
    }
  });
});

describe('the TypeScript export of the glow template', () => {
  it("samples as the app does on the same weights (every split's part drawn the same), and counts 784 dimensions for bits per dimension", async () => {
    const r = templateDocument('glow');
    if ('error' in r) throw new Error(r.error);
    const { program } = lowerProgram(analyzeProgram(r.doc)!);
    const source = emitProgram(program!);
    expect(source).toMatch(/flowLikelihood\(onTest\[\d+\]!, onTest\[\d+\]!, 256, onTest\[\d+\]!\.dim\)/);
    const dir = join(import.meta.dirname, '..', '.tmp', 'flow-split-test');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'glow.ts');
    writeFileSync(file, source);
    const mod = (await import(/* @vite-ignore */ file)) as {
      createNetworks(): { model: tfType.LayersModel };
      sample(nets: { model: tfType.LayersModel }, count: number, seed?: number): Promise<tfType.Tensor>;
    };
    const run = new ProgramRun(tf, program!, 0);
    try {
      const model = run.networks.get('model')!.model;
      flowForward(tf, model, tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 3));
      moveWeights(model, 0.05, 71);
      const nets = mod.createNetworks();
      nets.model.setWeights(model.getWeights());
      const app = await sampleFlow(tf, model, 3, [7, 7, 8], 5);
      expect(maxAbs(await mod.sample(nets, 3, 5), app)).toBe(0);
      nets.model.dispose();
    } finally {
      run.dispose();
    }
  }, 60_000);
});
