/**
 * Capsule networks (issue 11): the four capsule layers against their formulas and the paper's routing
 * procedure (computed here with plain arrays), numeric gradient checks on tiny cases, save and load
 * through tfjs serialisation, the procedure ops (mask, margin loss, reconstruction loss) against their
 * formulas, and the CapsNet template's parameter counts.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeProgram, lowerProgram, networkCounts } from '../src/compiler/program';
import type { Dataset } from '../src/runtime/data/dataset';
import { answerCapsuleView } from '../src/runtime/program/capsule-view';
import { ProgramRun } from '../src/runtime/program/run';
import { createCustomLayer } from '../src/runtime/custom-layers';
import { runOp } from '../src/runtime/program/ops';
import { MarginLossSpec, MaskCapsulesSpec, ReconstructionLossSpec } from '../src/nodes/program/capsules';
import { DigitCapsulesSpec, PrimaryCapsulesSpec } from '../src/nodes/layers/capsules';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

/** A deterministic sequence in [-1, 1), so that the references below see the same numbers as the layers. */
function values(count: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}

/** squash(s) of one vector, from eq. 1: ‖s‖²/(1 + ‖s‖²) · s/‖s‖. */
function squashRef(s: number[]): number[] {
  const n2 = s.reduce((a, x) => a + x * x, 0);
  const n = Math.sqrt(n2);
  return s.map((x) => (n2 / (1 + n2)) * (x / n));
}

/**
 * Procedure 1 of Sabour et al. for one example, literally: û_j|i = W_ij·u_i; b_ij = 0; r times:
 * c_i = softmax(b_i), s_j = Σ_i c_ij û_j|i, v_j = squash(s_j), b_ij += û_j|i · v_j.
 * W is indexed [i][j][d][k] (output dim d, input dim k), as the layer's kernel.
 */
function routingRef(u: number[][], W: number[][][][], routings: number): number[][] {
  const I = u.length;
  const J = W[0]!.length;
  const uHat = W.map((Wi, i) => Wi.map((Wij) => Wij.map((row) => row.reduce((a, w, k) => a + w * u[i]![k]!, 0))));
  const b = Array.from({ length: I }, () => new Array<number>(J).fill(0));
  let v: number[][] = [];
  for (let r = 0; r < routings; r++) {
    const c = b.map((bi) => {
      const e = bi.map(Math.exp);
      const z = e.reduce((a, x) => a + x, 0);
      return e.map((x) => x / z);
    });
    const D = uHat[0]![0]!.length;
    const s = Array.from({ length: J }, (_, j) => Array.from({ length: D }, (_, d) => uHat.reduce((a, uh, i) => a + c[i]![j]! * uh[j]![d]!, 0)));
    v = s.map(squashRef);
    for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) b[i]![j]! += uHat[i]![j]!.reduce((a, x, d) => a + x * v[j]![d]!, 0);
  }
  return v;
}

function layer(className: string, config: Record<string, unknown>, inputShape: number[], weights?: tfType.Tensor[]): tfType.layers.Layer {
  const l = createCustomLayer(className, config)!;
  l.apply(tf.input({ shape: inputShape }));
  if (weights) l.setWeights(weights);
  return l;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol);
};

describe('Squash and CapsuleLength', () => {
  it('squash equals eq. 1 on each vector; a long vector nears length 1, a short one nears 0', () => {
    const raw = values(4 * 5, 1).map((x, i) => x * (i < 5 ? 20 : i < 10 ? 0.01 : 1));
    const x = tf.tensor2d(raw, [4, 5]);
    const y = (layer('PatchbaySquash', {}, [5]).apply(x) as tfType.Tensor).arraySync() as number[][];
    y.forEach((row, r) => close(row, squashRef(raw.slice(r * 5, r * 5 + 5)), 1e-6));
    const lengths = y.map((row) => Math.hypot(...row));
    expect(lengths[0]).toBeGreaterThan(0.99);
    expect(lengths[1]).toBeLessThan(1e-3);
    expect(lengths.every((l) => l < 1)).toBe(true);
  });

  it('capsule length is the Euclidean norm of each capsule', () => {
    const raw = values(2 * 3 * 4, 2);
    const y = (layer('PatchbayCapsuleLength', {}, [3, 4]).apply(tf.tensor3d(raw, [2, 3, 4])) as tfType.Tensor).dataSync();
    const ref = Array.from({ length: 6 }, (_, k) => Math.hypot(...raw.slice(k * 4, k * 4 + 4)));
    close(y, ref, 1e-5);
  });
});

describe('DigitCapsules: routing by agreement', () => {
  it('a hand-worked case: two capsules agree on output 1 and disagree on output 2', () => {
    // û_1|1 = û_1|2 = 1, û_2|1 = 1, û_2|2 = −1 (1-D capsules, u_i = 1, so W_ij = û_j|i).
    // Iteration 1: c = ½ everywhere; s_1 = 1, s_2 = 0; v_1 = squash(1) = ½, v_2 = 0.
    // Agreement: b_i1 += 1·½ for both inputs, b_i2 += 0. Iteration 2: c_i1 = σ(½) = 0.62246,
    // s_1 = 2·0.62246 = 1.24492, v_1 = 1.24492²/(1 + 1.24492²) = 0.60782; s_2 = 0.37754·(1 − 1) = 0.
    const W = tf.tensor4d([1, 1, 1, -1], [2, 2, 1, 1]);
    const u = tf.ones([1, 2, 1]);
    const one = (layer('PatchbayDigitCapsules', { capsules: 2, capsuleDim: 1, routings: 1 }, [2, 1], [W]).apply(u) as tfType.Tensor).dataSync();
    close(one, [0.5, 0], 1e-6);
    const two = (layer('PatchbayDigitCapsules', { capsules: 2, capsuleDim: 1, routings: 2 }, [2, 1], [W]).apply(u) as tfType.Tensor).dataSync();
    const s1 = 2 / (1 + Math.exp(-0.5));
    close(two, [(s1 * s1) / (1 + s1 * s1), 0], 1e-6);
    expect(two[0]).toBeCloseTo(0.60782, 5);
  });

  it.each([1, 2, 3, 5])('equals procedure 1 computed with plain arrays (%i routing iterations, 3 examples)', (routings) => {
    const [N, I, J, D, K] = [3, 6, 4, 3, 2];
    const uRaw = values(N * I * K, 3);
    const wRaw = values(I * J * D * K, 4).map((x) => x * 1.5);
    const W = Array.from({ length: I }, (_, i) =>
      Array.from({ length: J }, (_, j) => Array.from({ length: D }, (_, d) => wRaw.slice(((i * J + j) * D + d) * K, ((i * J + j) * D + d + 1) * K))),
    );
    const l = layer('PatchbayDigitCapsules', { capsules: J, capsuleDim: D, routings }, [I, K], [tf.tensor4d(wRaw, [I, J, D, K])]);
    const out = (l.apply(tf.tensor3d(uRaw, [N, I, K])) as tfType.Tensor).arraySync() as number[][][];
    for (let n = 0; n < N; n++) {
      const u = Array.from({ length: I }, (_, i) => uRaw.slice((n * I + i) * K, (n * I + i + 1) * K));
      const ref = routingRef(u, W, routings);
      out[n]!.forEach((v, j) => close(v, ref[j]!, 1e-5));
    }
  });

  it('more routing iterations concentrate the coupling: the agreed-on output grows', () => {
    const W = tf.tensor4d([1, 1, 1, -1], [2, 2, 1, 1]);
    const lengthAt = (routings: number) =>
      (layer('PatchbayDigitCapsules', { capsules: 2, capsuleDim: 1, routings }, [2, 1], [W]).apply(tf.ones([1, 2, 1])) as tfType.Tensor).dataSync()[0]!;
    expect(lengthAt(3)).toBeGreaterThan(lengthAt(2));
    expect(lengthAt(2)).toBeGreaterThan(lengthAt(1));
  });
});

/**
 * Checks d(Σ out·r)/d(input) and /d(each weight) against central differences, at a few coordinates
 * of each (float32, so the step is large and the tolerance loose, but a wrong gradient is far off).
 */
function gradientCheck(l: tfType.layers.Layer, input: tfType.Tensor) {
  const outShape = (l.apply(input) as tfType.Tensor).shape;
  const r = tf.tensor(
    values(
      outShape.reduce((a, b) => a * b, 1),
      9,
    ),
    outShape,
  );
  const objective = (x: tfType.Tensor) => tf.sum(tf.mul(l.apply(x) as tfType.Tensor, r)) as tfType.Scalar;
  const h = 1e-2;
  const compare = (analytic: Float32Array | Int32Array | Uint8Array, at: (delta: number, k: number) => number) => {
    const picks = [0, Math.floor(analytic.length / 3), Math.floor((2 * analytic.length) / 3), analytic.length - 1];
    for (const k of picks) {
      const numeric = (at(h, k) - at(-h, k)) / (2 * h);
      expect(Math.abs(numeric - analytic[k]!), `coordinate ${k}: numeric ${numeric}, analytic ${analytic[k]}`).toBeLessThanOrEqual(
        2e-2 * Math.max(1, Math.abs(numeric)),
      );
    }
  };
  const gx = tf.grad(objective)(input).dataSync();
  const flat = input.dataSync();
  compare(gx, (delta, k) => {
    const moved = Float32Array.from(flat);
    moved[k]! += delta;
    return objective(tf.tensor(moved, input.shape)).dataSync()[0]!;
  });
  for (const w of l.trainableWeights) {
    const variable = (w as unknown as { val: tfType.Variable }).val;
    const { grads } = tf.variableGrads(() => objective(input), [variable]);
    const original = variable.clone();
    const base = original.dataSync();
    compare(Object.values(grads)[0]!.dataSync(), (delta, k) => {
      const moved = Float32Array.from(base);
      moved[k]! += delta;
      variable.assign(tf.tensor(moved, original.shape));
      const value = objective(input).dataSync()[0]!;
      variable.assign(original);
      return value;
    });
  }
}

describe('gradients, numerically checked on tiny cases', () => {
  it('PrimaryCapsules (input and both weights)', () => {
    gradientCheck(
      layer('PatchbayPrimaryCapsules', { capsules: 2, capsuleDim: 3, kernelSize: 3, strides: 2 }, [7, 7, 2]),
      tf.tensor4d(values(2 * 7 * 7 * 2, 5), [2, 7, 7, 2]),
    );
  });
  it('Squash', () => {
    gradientCheck(layer('PatchbaySquash', {}, [4, 3]), tf.tensor3d(values(2 * 4 * 3, 6), [2, 4, 3]));
  });
  it('DigitCapsules with 3 routing iterations (input and transform matrices)', () => {
    const l = layer('PatchbayDigitCapsules', { capsules: 3, capsuleDim: 4, routings: 3, weightStddev: 0.5 }, [5, 2]);
    gradientCheck(l, tf.tensor3d(values(2 * 5 * 2, 7), [2, 5, 2]));
  });
  it('CapsuleLength', () => {
    gradientCheck(layer('PatchbayCapsuleLength', {}, [3, 4]), tf.tensor3d(values(2 * 3 * 4, 8), [2, 3, 4]));
  });
});

describe('a model of capsule layers', () => {
  it('saves and loads back with tf.loadLayersModel: same classes, configs and outputs', async () => {
    const input = tf.input({ shape: [12, 12, 1] });
    const primary = createCustomLayer('PatchbayPrimaryCapsules', { capsules: 4, capsuleDim: 8, kernelSize: 5, strides: 2 })!.apply(input);
    const squashed = createCustomLayer('PatchbaySquash', { epsilon: 1e-9 })!.apply(primary);
    const digits = createCustomLayer('PatchbayDigitCapsules', { capsules: 3, capsuleDim: 6, routings: 2 })!.apply(squashed) as tfType.SymbolicTensor;
    const lengths = createCustomLayer('PatchbayCapsuleLength', {})!.apply(digits) as tfType.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [digits, lengths] });
    let saved: tfType.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const topology = JSON.stringify(saved!.modelTopology);
    for (const name of ['PatchbayPrimaryCapsules', 'PatchbaySquash', 'PatchbayDigitCapsules', 'PatchbayCapsuleLength'])
      expect(topology).toContain(`"class_name":"${name}"`);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const describeLayers = (m: tfType.LayersModel) => m.layers.map((l) => `${l.constructor.name}:${JSON.stringify(l.getConfig())}`);
    expect(describeLayers(loaded)).toEqual(describeLayers(model));
    const x = tf.randomNormal([2, 12, 12, 1], 0, 1, 'float32', 3);
    const a = model.predict(x) as tfType.Tensor[];
    const b = loaded.predict(x) as tfType.Tensor[];
    for (let i = 0; i < 2; i++) expect(tf.max(tf.abs(tf.sub(a[i]!, b[i]!))).dataSync()[0]).toBe(0);
    // Squashed capsules: every length is below 1.
    expect(Math.max(...a[1]!.dataSync())).toBeLessThan(1);
  });

  it('refuses impossible settings with a sentence', () => {
    expect(() => createCustomLayer('PatchbayDigitCapsules', { capsules: 10, capsuleDim: 16, routings: 0 })).toThrow(/at least 1 routing iteration/);
    expect(() => createCustomLayer('PatchbayPrimaryCapsules', { capsules: 0, capsuleDim: 8, kernelSize: 9, strides: 2 })).toThrow(
      /capsules to be a whole number/,
    );
  });
});

describe('procedure ops', () => {
  const ctx = { seed: 1, step: 0, nodeId: 'n' };
  const labels = () => tf.oneHot(tf.tensor1d([2, 0, 1], 'int32'), 4).toFloat();

  it('margin loss equals eq. 4 (m⁺ 0.9, m⁻ 0.1, λ 0.5), averaged over the batch', () => {
    const lengths = [0.95, 0.3, 0.05, 0.6, 0.2, 0.85, 0.0, 0.15, 0.5, 0.5, 0.5, 0.5];
    const T = [
      [0, 0, 1, 0],
      [1, 0, 0, 0],
      [0, 1, 0, 0],
    ];
    let total = 0;
    for (let n = 0; n < 3; n++)
      for (let k = 0; k < 4; k++) {
        const v = lengths[n * 4 + k]!;
        total += T[n]![k]! * Math.max(0, 0.9 - v) ** 2 + 0.5 * (1 - T[n]![k]!) * Math.max(0, v - 0.1) ** 2;
      }
    const loss = runOp(tf, 'MarginLoss', { mPlus: 0.9, mMinus: 0.1, lambda: 0.5 }, [tf.tensor2d(lengths, [3, 4]), labels()], ctx);
    expect(loss.dataSync()[0]).toBeCloseTo(total / 3, 6);
    // Perfect capsules (true ≥ m⁺, others ≤ m⁻) cost nothing.
    const perfect = tf.tensor2d([0.05, 0, 0.95, 0.1, 0.9, 0, 0, 0, 0, 1, 0.02, 0], [3, 4]);
    expect(runOp(tf, 'MarginLoss', { mPlus: 0.9, mMinus: 0.1, lambda: 0.5 }, [perfect, labels()], ctx).dataSync()[0]).toBe(0);
  });

  it('reconstruction loss is 0.0005 × the per-example sum of squared errors, averaged', () => {
    const a = values(3 * 8, 11);
    const b = values(3 * 8, 12);
    let sse = 0;
    for (let i = 0; i < a.length; i++) sse += (a[i]! - b[i]!) ** 2;
    const loss = runOp(tf, 'ReconstructionLoss', { scale: 0.0005 }, [tf.tensor2d(a, [3, 8]), tf.tensor4d(b, [3, 2, 4, 1])], ctx);
    expect(loss.dataSync()[0]).toBeCloseTo((0.0005 * sse) / 3, 8);
  });

  it('mask keeps the labelled capsule while training and the longest one without a label; the gradient reaches only the kept capsule', () => {
    const raw = values(3 * 4 * 2, 13);
    const caps = tf.tensor3d(raw, [3, 4, 2]);
    const byLabel = runOp(tf, 'MaskCapsules', {}, [caps, labels()], ctx).arraySync() as number[][][];
    const byLength = runOp(tf, 'MaskCapsules', {}, [caps], ctx).arraySync() as number[][][];
    [2, 0, 1].forEach((kept, n) => {
      for (let k = 0; k < 4; k++) close(byLabel[n]![k]!, k === kept ? [raw[(n * 4 + k) * 2]!, raw[(n * 4 + k) * 2 + 1]!] : [0, 0], 1e-7);
      const norms = [0, 1, 2, 3].map((k) => Math.hypot(raw[(n * 4 + k) * 2]!, raw[(n * 4 + k) * 2 + 1]!));
      const longest = norms.indexOf(Math.max(...norms));
      for (let k = 0; k < 4; k++) expect(byLength[n]![k]!.some((x) => x !== 0)).toBe(k === longest);
    });
    const g = tf
      .grad((x: tfType.Tensor) => tf.sum(runOp(tf, 'MaskCapsules', {}, [x, labels()], ctx)))(caps)
      .arraySync() as number[][][];
    [2, 0, 1].forEach((kept, n) => g[n]!.forEach((row, k) => close(row, k === kept ? [1, 1] : [0, 0], 0)));
  });
});

describe('the capsnet template', () => {
  const counts = (preset: string) => {
    const r = templateDocument('capsnet', preset);
    if ('error' in r) throw new Error(r.error);
    const analysis = analyzeProgram(r.doc)!;
    expect(analysis.diagnostics).toEqual([]);
    return Object.fromEntries(networkCounts(analysis).map((n) => [n.name, n.trainableParams]));
  };

  it("preset mnist is the paper's network: 6,804,224 parameters, 8,215,568 with the decoder", () => {
    const c = counts('mnist');
    expect(c.model).toBe(6_804_224);
    expect(c.model! + c.decoder!).toBe(8_215_568);
  });

  it('preset small is the default and smaller', () => {
    const r = templateDocument('capsnet');
    expect('doc' in r && r.doc.meta.preset).toBe('small');
    expect(counts('small').model).toBeLessThan(6_804_224);
  });
});

describe('the capsule views (reconstructions and tweak a dimension)', () => {
  it('reconstructs from the longest capsule, and offset 0 of every tweak row is that reconstruction', async () => {
    const r = templateDocument('capsnet', 'tiny');
    if ('error' in r) throw new Error(r.error);
    const run = new ProgramRun(tf, lowerProgram(analyzeProgram(r.doc)!).program!, 1);
    const pixels = Float32Array.from(values(5 * 784, 21), (v) => Math.abs(v));
    const ds: Dataset = {
      name: 'noise',
      inputShape: [28, 28, 1],
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      train: { x: pixels, y: Uint8Array.from([0, 1, 2, 3, 4]), count: 5 },
      test: { x: pixels, y: Uint8Array.from([0, 1, 2, 3, 4]), count: 5 },
    };
    const models = new Map([...run.networks].map(([id, s]) => [id, s.model]));
    const offsets = [-0.25, 0, 0.25];
    const before = tf.memory().numTensors;
    const a = await answerCapsuleView(tf, models, ds, { capsuleNetwork: 'model', decoderNetwork: 'decoder', testCount: 4, tweakExample: 2, offsets });
    expect(tf.memory().numTensors).toBe(before);
    expect([a.images.length, a.reconstructions.length, a.labels, a.dims]).toEqual([4 * 784, 4 * 784, [0, 1, 2, 3], 16]);
    expect(a.tweaks.length).toBe(16 * 3 * 784);
    const [, lengths] = models.get('model')!.predict(tf.tensor4d(pixels.slice(0, 4 * 784), [4, 28, 28, 1])) as tfType.Tensor[];
    expect(a.predictions).toEqual(Array.from(tf.argMax(lengths!, -1).dataSync()));
    const reconstruction = a.reconstructions.slice(2 * 784, 3 * 784);
    for (let d = 0; d < 16; d++) close(a.tweaks.slice((d * 3 + 1) * 784, (d * 3 + 2) * 784), reconstruction, 1e-6);
    // Moving a pose dimension changes the decoded image.
    expect(Math.max(...a.tweaks.slice(0, 784).map((v, i) => Math.abs(v - reconstruction[i]!)))).toBeGreaterThan(0);
    await expect(
      answerCapsuleView(tf, models, ds, { capsuleNetwork: 'nope', decoderNetwork: 'decoder', testCount: 4, tweakExample: 0, offsets }),
    ).rejects.toThrow('The trained program has no network "nope".');
    run.dispose();
  });
});

describe('wiring mistakes get a sentence, not a crash', () => {
  const message = (r: unknown) => (r as { message?: string }).message ?? '';
  it('layers', () => {
    expect(message(DigitCapsulesSpec.infer(DigitCapsulesSpec.params.parse({}), [[null, 28, 28, 1]]))).toMatch(/rank 3/);
    expect(message(PrimaryCapsulesSpec.infer(PrimaryCapsulesSpec.params.parse({ kernelSize: 9 }), [[null, 6, 6, 8]]))).toMatch(
      /window no larger than the input/,
    );
  });
  it('procedure nodes', () => {
    expect(
      message(
        MaskCapsulesSpec.infer({}, [
          [null, 10],
          [null, 10],
        ]),
      ),
    ).toMatch(/expected capsules \(batch, capsules, dim\)/);
    expect(
      message(
        MaskCapsulesSpec.infer({}, [
          [null, 10, 16],
          [null, 7],
        ]),
      ),
    ).toMatch(/expected one-hot labels \(batch, 10\)/);
    expect(MaskCapsulesSpec.infer({}, [[null, 10, 16]])).toEqual({ out: [null, 10, 16] });
    expect(
      message(
        MarginLossSpec.infer(MarginLossSpec.params.parse({}), [
          [null, 10, 16],
          [null, 10],
        ]),
      ),
    ).toMatch(/for "lengths", expected \(batch, capsules\)/);
    expect(
      message(
        ReconstructionLossSpec.infer({ scale: 0.0005 }, [
          [null, 512],
          [null, 28, 28, 1],
        ]),
      ),
    ).toMatch(/as many values in the reconstruction as in the image/);
    expect(
      ReconstructionLossSpec.infer({ scale: 0.0005 }, [
        [null, 784],
        [null, 28, 28, 1],
      ]),
    ).toEqual({ loss: [] });
  });
});
