/**
 * Every procedure node: its shapes (and refusals), and every loss against a value computed by hand
 * in plain JavaScript on a tiny case.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getProgramSpec, PROGRAM_SPECS } from '../src/nodes/program/specs';
import { runOp } from '../src/runtime/program/ops';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const infer = (type: string, params: Record<string, unknown>, inputs: (number | null)[][]) => {
  const spec = getProgramSpec(type)!;
  return spec.infer(spec.params.parse(params) as never, inputs);
};

describe('shapes', () => {
  it('every node type infers from the shapes its ports take', () => {
    const image = [null, 28, 28, 1];
    const vec = [null, 64];
    const label = [null, 10];
    const cases: Record<string, [Record<string, unknown>, (number | null)[][], Record<string, unknown>]> = {
      Data: [{}, [], { image, label }],
      RandomTranslate: [{}, [image], { out: image }],
      RandomAffine: [{}, [image], { out: image }],
      RandomFlip: [{}, [image], { out: image }],
      GaussianNoise: [{}, [vec], { out: vec }],
      RandomErase: [{}, [image], { out: image }],
      StopGradient: [{}, [vec], { out: vec }],
      FlattenExamples: [{}, [image], { out: [null, 784] }],
      Parameter: [{}, [], { out: [] }],
      MeanOf: [{}, [[], []], { out: [] }],
      WeightedSum: [{ weights: [1, 0.5] }, [[], []], { out: [] }],
      CrossEntropy: [{}, [label, label], { loss: [] }],
      MeanSquaredError: [{}, [vec, vec], { loss: [] }],
      NegativeCosine: [{}, [vec, vec], { loss: [] }],
      NormalizedMSE: [{}, [vec, vec], { loss: [] }],
      InfoNCE: [{}, [vec, vec], { loss: [] }],
      DistillationLoss: [{}, [label, label, label], { loss: [] }],
      Minimize: [{}, [[]], {}],
      DirectPred: [{}, [vec], {}],
      Accuracy: [{}, [label, label], {}],
      LinearProbe: [{}, [vec, label], {}],
      KNearestNeighbours: [{}, [vec, label], {}],
      CollapseMonitor: [{}, [vec], {}],
      Captions: [{ contextLength: 12 }, [label], { tokens: [null, 12] }],
      Prompts: [{ templates: ['a {word}', 'the {digit}'], contextLength: 12 }, [], { tokens: [20, 12] }],
      ZeroShotClassifier: [{}, [vec, vec], { logits: [null, 10] }],
      FlowNLL: [{}, [vec, [null]], { loss: [] }],
      Dequantize: [{}, [image], { out: image }],
      FlowLikelihood: [{}, [vec, [null]], {}],
      GaussianBaseline: [{}, [[null, 2]], {}],
      MaskCapsules: [{}, [[null, 10, 16], label], { out: [null, 10, 16] }],
      MarginLoss: [{}, [label, label], { loss: [] }],
      ReconstructionLoss: [{}, [[null, 784], image], { loss: [] }],
      DiffusionTimestep: [{}, [image], { out: [null, 1] }],
      DiffusionNoise: [{}, [image], { out: image }],
      Diffuse: [{}, [image, image, [null, 1]], { out: image }],
      DiffusionTarget: [{ predict: 'x0' }, [image, image], { out: image }],
      ScaleShift: [{}, [image], { out: image }],
      DiffusionHybridLoss: [{}, [[null, 28, 28, 2], image, image, image, [null, 1]], { loss: [] }],
      MeanSquaredErrorMetric: [{}, [image, image], {}],
      CorruptImage: [{}, [image], { out: image }],
      GlomConsensusLoss: [{}, [[null, 49, 3, 32]], { loss: [] }],
      MeanImageBaseline: [{}, [image], {}],
      LowResolution: [{}, [image], { out: image }],
      SquareMask: [{}, [image], { out: image }],
      Composite: [{}, [image, image, image], { out: image }],
      MaskedMeanSquaredError: [{}, [image, image, image], { loss: [] }],
      SuperResolutionScore: [{}, [image, image], {}],
      InpaintingScore: [{}, [image, image, image], {}],
      ClassColour: [{}, [image, label], { out: [null, 28, 28, 3] }],
      Luminance: [{}, [[null, 28, 28, 3]], { out: image }],
      ColourisationScore: [{}, [[null, 28, 28, 3], image], {}],
    };
    expect(Object.keys(cases).sort()).toEqual(PROGRAM_SPECS.map((s) => s.type).sort());
    for (const [type, [params, inputs, expected]] of Object.entries(cases)) expect(infer(type, params, inputs), type).toEqual(expected);
  });

  it('refuses what cannot work, saying what was received', () => {
    expect(
      infer('NegativeCosine', {}, [
        [null, 64],
        [null, 32],
      ]),
    ).toMatchObject({ code: 'PB302', message: expect.stringContaining('(None, 64) for "p" and (None, 32) for "z"') });
    expect(infer('RandomTranslate', {}, [[null, 784]])).toMatchObject({ code: 'PB301' });
    expect(infer('Minimize', {}, [[null, 10]])).toMatchObject({ code: 'PB301', message: expect.stringContaining('expected a scalar loss') });
    expect(infer('WeightedSum', { weights: [1] }, [[], []])).toMatchObject({ code: 'PB300', param: 'weights' });
    expect(infer('MeanOf', {}, [[null, 3], []])).toMatchObject({ code: 'PB301' });
    expect(infer('GlomConsensusLoss', {}, [[null, 6, 3, 32]])).toMatchObject({ code: 'PB301', port: 'levels' });
    expect(infer('CorruptImage', {}, [[null, 784]])).toMatchObject({ code: 'PB301' });
  });
});

describe('losses against hand-computed values', () => {
  const p = [
    [1, 0],
    [0, 2],
  ];
  const z = [
    [1, 1],
    [0, -1],
  ];
  const cos = (a: number[], b: number[]) => (a[0]! * b[0]! + a[1]! * b[1]!) / (Math.hypot(...a) * Math.hypot(...b));
  const value = (op: string, inputs: number[][][], config: Record<string, unknown> = {}) => {
    const ts = inputs.map((x) => tf.tensor2d(x));
    const out = runOp(tf, op, config, ts, { seed: 1, step: 0, nodeId: 'n' });
    const v = out.dataSync()[0]!;
    tf.dispose([...ts, out]);
    return v;
  };

  it("negative cosine, and BYOL's 2 − 2·cos", () => {
    const mean = (cos(p[0]!, z[0]!) + cos(p[1]!, z[1]!)) / 2;
    expect(value('NegativeCosine', [p, z])).toBeCloseTo(-mean, 6);
    expect(value('NormalizedMSE', [p, z])).toBeCloseTo(2 - 2 * mean, 6);
  });

  it('cross-entropy from logits and from probabilities, and MSE', () => {
    const logits = [[2, 0, -1]];
    const label = [[0, 1, 0]];
    const lse = Math.log(Math.exp(2) + 1 + Math.exp(-1));
    expect(value('CrossEntropy', [logits, label], { fromLogits: true })).toBeCloseTo(lse - 0, 5);
    expect(value('CrossEntropy', [[[0.2, 0.5, 0.3]], label], { fromLogits: false })).toBeCloseTo(-Math.log(0.5), 5);
    expect(value('MeanSquaredError', [[[1, 2]], [[3, 5]]])).toBeCloseTo((4 + 9) / 2, 6);
  });

  it('InfoNCE: each row must pick its own partner, both ways', () => {
    const scale = 10;
    const a = [
      [1, 0],
      [0, 1],
    ];
    const b = [
      [1, 1],
      [-1, 1],
    ];
    const sims = a.map((x) => b.map((y) => scale * cos(x, y)));
    const ce = (rows: number[][]) => rows.reduce((s, r, i) => s + (Math.log(r.reduce((t, v) => t + Math.exp(v), 0)) - r[i]!), 0) / rows.length;
    const expected = (ce(sims) + ce(sims[0]!.map((_, j) => sims.map((r) => r[j]!)))) / 2;
    expect(value('InfoNCE', [a, b], { scale, expScale: true })).toBeCloseTo(expected, 4);
  });

  it('distillation: α·T²·KL(teacher ‖ student) + (1 − α)·CE', () => {
    const s = [[1, 0, 0]];
    const t = [[3, 1, 0]];
    const y = [[1, 0, 0]];
    const T = 2;
    const alpha = 0.7;
    const softmax = (v: number[]) => {
      const e = v.map((x) => Math.exp(x));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / sum);
    };
    const pt = softmax(t[0]!.map((v) => v / T));
    const ps = softmax(s[0]!.map((v) => v / T));
    const kl = pt.reduce((acc, q, i) => acc + q * (Math.log(q) - Math.log(ps[i]!)), 0);
    const ce = -Math.log(softmax(s[0]!)[0]!);
    expect(value('DistillationLoss', [s, t, y], { temperature: T, alpha })).toBeCloseTo(alpha * T * T * kl + (1 - alpha) * ce, 5);
  });

  it('no gradient flows through the stopped side', () => {
    // L = mean((v − sg(2v))²): with the stop, dL/dv = 2(v − 2v)/n = −v (n = 2); without it, +v.
    const x = tf.tensor2d([[1, 2]]);
    const ctx = { seed: 1, step: 0, nodeId: 'n' };
    const stopped = tf.grad((v: tfType.Tensor) => runOp(tf, 'MeanSquaredError', {}, [v, runOp(tf, 'StopGradient', {}, [tf.mul(v, 2)], ctx)], ctx))(x);
    const open = tf.grad((v: tfType.Tensor) => runOp(tf, 'MeanSquaredError', {}, [v, tf.mul(v, 2)], ctx))(x);
    expect(Array.from(stopped.dataSync())).toEqual([-1, -2]);
    expect(Array.from(open.dataSync())).toEqual([1, 2]);
    tf.dispose([x, stopped, open]);
  });
});
