import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { diffusionTemplates, serialiseTemplate } from '../scripts/gen-diffusion-templates';
import { emitProgram } from '../src/compiler/emit-program';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { buildModel } from '../src/runtime/build';
import { unconditionalDenoiser } from '../src/runtime/program/denoiser';
import { unetParamCount, type UNetParams } from '../src/nodes/layers/diffusion';
import { diffusionForward, diffusionHybridLoss, diffusionSchedule, runDiffusionOp, sampleDiffusion, samplingTimesteps } from '../src/runtime/program/diffusion';
import { PatchbayTimestepEmbedding } from '../src/runtime/layers/timestep-embedding';
import { PatchbayUNet } from '../src/runtime/layers/unet';
import { templateDocument } from '../templates/index';
import { seedStep } from '../src/runtime/seeds';
import { useCpuBackend } from './helpers/tf';
import { typecheckStrict } from './helpers/tsc';

const ROOT = join(import.meta.dirname, '..');
let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const UNET: Omit<UNetParams, 'channels' | 'channelMult' | 'resBlocks' | 'attentionResolutions' | 'outChannels'> = {
  dropout: 0,
  groups: 32,
  heads: 1,
  scaleShift: false,
};

describe('UNet parameter counts (papers.md §5 oracles, DDPM counter)', () => {
  it.each([
    ['DDPM CIFAR-10', { channels: 128, channelMult: [1, 2, 2, 2], resBlocks: 2, attentionResolutions: [16], outChannels: 3 }, 3, 32, 35_746_307],
    ['DDPM 256 px', { channels: 128, channelMult: [1, 1, 2, 2, 4, 4], resBlocks: 2, attentionResolutions: [16], outChannels: 3 }, 3, 256, 113_673_219],
    ['MNIST toy ch16', { channels: 16, channelMult: [1, 2], resBlocks: 1, attentionResolutions: [], outChannels: 1 }, 1, 28, 163_985],
    ['MNIST toy ch32 attn 7', { channels: 32, channelMult: [1, 2, 2], resBlocks: 1, attentionResolutions: [7], outChannels: 1 }, 1, 28, 1_112_801],
  ] as const)('%s', (_name, p, inC, size, expected) => {
    expect(unetParamCount({ ...UNET, ...p, channelMult: [...p.channelMult], attentionResolutions: [...p.attentionResolutions] }, inC, p.channels, size)).toBe(
      expected,
    );
  });

  it('patchbay summary ddpm --preset cifar10 --json gives 35,746,307 trainable parameters', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'patchbay.js'), 'summary', 'ddpm', '--preset', 'cifar10', '--json'], {
      cwd: ROOT,
    });
    const summary = JSON.parse(stdout);
    expect(summary.trainableParams).toBe(35_746_307);
    expect(summary.networks).toEqual([{ name: 'model', trainableParams: 35_746_307, nonTrainableParams: 0 }]);
  });
});

describe('UNet layer', () => {
  const tiny = () => {
    const x = tf.input({ shape: [8, 8, 2] });
    const t = tf.input({ shape: [1] });
    const e = new PatchbayTimestepEmbedding({ dim: 8 }).apply(t) as tfType.SymbolicTensor;
    const y = new PatchbayUNet({
      channels: 4,
      channelMult: [1, 2],
      resBlocks: 1,
      attentionResolutions: [4],
      outChannels: 2,
      groups: 2,
      heads: 2,
      scaleShift: true,
    }).apply([x, e]) as tfType.SymbolicTensor;
    return tf.model({ inputs: [x, t], outputs: y });
  };

  it('starts at zero output (zero-initialised last conv) and, after a few steps, every weight has learned', () => {
    const model = tiny();
    const before = model.getWeights().map((w) => w.dataSync().slice());
    const x = tf.randomNormal([4, 8, 8, 2], 0, 1, 'float32', 1);
    const t = tf.tensor2d([[3], [50], [400], [999]]);
    const y0 = model.predict([x, t]) as tfType.Tensor;
    expect(tf.max(tf.abs(y0)).dataSync()[0]).toBe(0);
    const optimizer = tf.train.adam(1e-2);
    const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.mean(tf.square(tf.sub(model.apply([x, t], { training: true }) as tfType.Tensor, x))) as tfType.Scalar,
          vars,
        );
        optimizer.applyGradients(grads as Record<string, tfType.Variable>);
      });
    }
    const moved = model.getWeights().map((w, i) => Math.max(...Array.from(w.dataSync(), (v, k) => Math.abs(v - before[i]![k]!))));
    model.weights.forEach((w, i) => expect(moved[i], w.name).toBeGreaterThan(0));
    tf.dispose([x, t, y0]);
    optimizer.dispose();
    model.dispose();
  });

  it('dropout follows the run: seedStep reseeds the UNet each step, the same step repeats its masks', () => {
    const x = tf.input({ shape: [4, 4, 2] });
    const e = tf.input({ shape: [4] });
    const unet = new PatchbayUNet({ channels: 4, channelMult: [1, 1], resBlocks: 1, attentionResolutions: [], outChannels: 2, groups: 2, dropout: 0.5 });
    const model = tf.model({ inputs: [x, e], outputs: unet.apply([x, e]) as tfType.SymbolicTensor });
    model.setWeights(model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.3, 'float32', i + 1)));
    const inputs = [tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 1), tf.randomNormal([2, 4], 0, 1, 'float32', 2)];
    const run = (step: number) => {
      seedStep(model, 9, step);
      return Array.from((model.apply(inputs, { training: true }) as tfType.Tensor).dataSync());
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
    model.dispose();
  });

  it('the timestep embedding is [cos(t·f_i), sin(t·f_i)] with f_i = 10000^(−i/half)', () => {
    const layer = new PatchbayTimestepEmbedding({ dim: 6 });
    const out = layer.apply(tf.tensor2d([[0], [7]])) as tfType.Tensor;
    const rows = out.arraySync() as number[][];
    const f = [0, 1, 2].map((i) => 10000 ** (-i / 3));
    expect(rows[0]).toEqual([1, 1, 1, 0, 0, 0]);
    rows[1]!.forEach((v, i) => expect(v).toBeCloseTo(i < 3 ? Math.cos(7 * f[i]!) : Math.sin(7 * f[i - 3]!), 5));
    out.dispose();
  });
});

describe('diffusion ops', () => {
  it('Diffuse is √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε per example', () => {
    const s = diffusionSchedule('cosine', 100);
    const x0 = tf.tensor4d([0.5, -0.25], [2, 1, 1, 1]);
    const eps = tf.tensor4d([1, 2], [2, 1, 1, 1]);
    const t = tf.tensor2d([[0], [73]]);
    const xt = diffusionForward(tf, x0, eps, t, 'cosine', 100).dataSync();
    expect(xt[0]).toBeCloseTo(Math.sqrt(s.alphasCumprod[0]!) * 0.5 + Math.sqrt(1 - s.alphasCumprod[0]!) * 1, 6);
    expect(xt[1]).toBeCloseTo(Math.sqrt(s.alphasCumprod[73]!) * -0.25 + Math.sqrt(1 - s.alphasCumprod[73]!) * 2, 6);
    tf.dispose([x0, eps, t]);
  });

  it('timesteps and noise are seeded by run, step and node: repeatable, different each step', () => {
    const x = tf.zeros([64, 2, 2, 1]);
    const draw = (op: string, step: number) => runDiffusionOp(tf, op, { timesteps: 10 }, [x], { seed: 3, step, nodeId: 'n' })!.dataSync();
    const t = draw('DiffusionTimestep', 0);
    expect(Array.from(t)).toEqual(Array.from(draw('DiffusionTimestep', 0)));
    expect(Array.from(t)).not.toEqual(Array.from(draw('DiffusionTimestep', 1)));
    expect(Math.min(...t)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...t)).toBeLessThanOrEqual(9);
    expect(new Set(t).size).toBeGreaterThan(5);
    expect(Array.from(draw('DiffusionNoise', 2))).toEqual(Array.from(draw('DiffusionNoise', 2)));
    expect(Array.from(draw('DiffusionNoise', 2))).not.toEqual(Array.from(draw('DiffusionNoise', 3)));
    x.dispose();
  });
});

describe('samplers', () => {
  /**
   * The exact ε-predictor for data x₀ ~ N(μ, s²) (one pixel): x_t ~ N(√ᾱ·μ, ᾱ·s² + 1 − ᾱ), so
   * E[ε | x_t] = √(1 − ᾱ)·(x_t − √ᾱ·μ)/(ᾱ·s² + 1 − ᾱ). With it, a correct sampler draws N(μ, s²).
   */
  const gaussianOracle = (schedule: ReturnType<typeof diffusionSchedule>, mu: number, s: number) => ({
    apply([x, t]: tfType.Tensor[]) {
      const ab = schedule.alphasCumprod[t!.dataSync()[0]!]!;
      return tf.mul(tf.sub(x!, Math.sqrt(ab) * mu), Math.sqrt(1 - ab) / (ab * s * s + 1 - ab));
    },
  });
  const stats = (v: Float32Array) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) };
  };
  // Samples come back in [0, 1]: x/2 + 1/2, so N(μ, s²) in model space is N(μ/2 + 1/2, (s/2)²).
  const [mu, s] = [0.2, 0.3];

  // Ancestral sampling with the posterior variance β̃ leaves out Var(x₀ | x_t), so coarse steps draw a
  // little too narrow (about 9% at 50 steps here; DDIM with η = 1 is the same sampler); η = 0 is exact.
  it.each([
    ['ancestral over all 200 steps', 'ancestral', 200, 0, 0.012, 0.012],
    ['ancestral respaced to 50 steps', 'ancestral', 50, 0, 0.025, 0],
    ['DDIM, 50 steps, η = 0', 'ddim', 50, 0, 0.012, 0.012],
    ['DDIM, 50 steps, η = 1', 'ddim', 50, 1, 0.025, 0],
  ] as const)('%s draws the data distribution, and leaks no tensor', async (_name, sampler, steps, eta, below, above) => {
    const schedule = diffusionSchedule('cosine', 200);
    const before = tf.memory().numTensors;
    const out = await sampleDiffusion(tf, gaussianOracle(schedule, mu, s), schedule, [1, 1, 1], { count: 4000, seed: 7, steps, sampler, eta });
    const { mean, std } = stats(out.dataSync() as Float32Array);
    expect(out.shape).toEqual([4000, 1, 1, 1]);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(mean).toBeCloseTo(mu / 2 + 0.5, 1.5);
    expect(std).toBeGreaterThan(s / 2 - below);
    expect(std).toBeLessThan(s / 2 + above + 1e-9);
  });

  it('a point mass comes back exactly, and the same seed gives the same samples', async () => {
    const schedule = diffusionSchedule('linear', 100);
    const point = gaussianOracle(schedule, -0.4, 0);
    const a = await sampleDiffusion(tf, point, schedule, [2, 2, 1], { count: 3, seed: 1, steps: 100, sampler: 'ancestral' });
    for (const v of a.dataSync()) expect(v).toBeCloseTo(0.3, 5);
    const b = await sampleDiffusion(tf, gaussianOracle(schedule, 0.1, 0.5), schedule, [2, 2, 1], { count: 3, seed: 1, steps: 20, sampler: 'ddim', eta: 0.5 });
    const c = await sampleDiffusion(tf, gaussianOracle(schedule, 0.1, 0.5), schedule, [2, 2, 1], { count: 3, seed: 1, steps: 20, sampler: 'ddim', eta: 0.5 });
    const d = await sampleDiffusion(tf, gaussianOracle(schedule, 0.1, 0.5), schedule, [2, 2, 1], { count: 3, seed: 2, steps: 20, sampler: 'ddim', eta: 0.5 });
    expect(Array.from(b.dataSync())).toEqual(Array.from(c.dataSync()));
    expect(Array.from(b.dataSync())).not.toEqual(Array.from(d.dataSync()));
    tf.dispose([a, b, c, d]);
  });

  it('a network with learned variances (ε̂ and v): v = −1 is the posterior variance β̃, v = 1 the larger β', async () => {
    const schedule = diffusionSchedule('cosine', 100);
    const oracle = gaussianOracle(schedule, mu, s);
    const withV = (v: number) => ({
      apply: (inputs: tfType.Tensor[]) =>
        tf.tidy(() => {
          const eps = oracle.apply(inputs);
          return tf.concat([eps, tf.fill(eps.shape, v)], -1);
        }),
    });
    const options = { count: 2000, seed: 5, steps: 25, sampler: 'ancestral' as const };
    const plain = await sampleDiffusion(tf, oracle, schedule, [1, 1, 1], options);
    const small = await sampleDiffusion(tf, withV(-1), schedule, [1, 1, 1], options);
    const large = await sampleDiffusion(tf, withV(1), schedule, [1, 1, 1], options);
    expect(tf.max(tf.abs(tf.sub(plain, small))).dataSync()[0]).toBeLessThan(1e-5);
    expect(stats(large.dataSync() as Float32Array).std).toBeGreaterThan(stats(small.dataSync() as Float32Array).std + 0.005);
    tf.dispose([plain, small, large]);
  });

  /**
   * Classifier guidance with the exact ε and the exact noisy classifier of two point masses at ±0.5:
   * p(k | x_t) ∝ N(x_t; √ᾱ·m_k, 1 − ᾱ). Guided with s = 1, sampling draws the chosen class only.
   */
  it.each([
    ['ancestral, 100 steps', 'ancestral', 100],
    ['DDIM, 50 steps', 'ddim', 50],
  ] as const)('classifier guidance (%s) steers to the chosen class', async (_name, sampler, steps) => {
    const schedule = diffusionSchedule('cosine', 100);
    const means = [-0.5, 0.5];
    const logits = (x: tfType.Tensor, t: tfType.Tensor) => {
      const ab = schedule.alphasCumprod[t.dataSync()[0]!]!;
      return tf.concat(
        means.map((m) => tf.div(tf.square(tf.sub(x, Math.sqrt(ab) * m)), -2 * (1 - ab))).map((l) => tf.reshape(l, [-1, 1])),
        1,
      );
    };
    const model = {
      apply: ([x, t]: tfType.Tensor[]) =>
        tf.tidy(() => {
          const ab = schedule.alphasCumprod[t!.dataSync()[0]!]!;
          const posterior = tf.softmax(logits(x!, t!));
          const x0 = tf.reshape(tf.sum(tf.mul(posterior, tf.tensor2d([means])), 1), x!.shape);
          return tf.div(tf.sub(x!, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab));
        }),
    };
    const share = async (guidance?: { classifier: typeof logits; label: number; scale: number }) => {
      const out = await sampleDiffusion(tf, model, schedule, [1, 1, 1], { count: 400, seed: 2, steps, sampler, guidance });
      const v = out.dataSync();
      out.dispose();
      return Array.from(v).filter((p) => p > 0.5).length / v.length;
    };
    const free = await share();
    expect(free).toBeGreaterThan(0.35);
    expect(free).toBeLessThan(0.65);
    expect(await share({ classifier: logits, label: 1, scale: 1 })).toBeGreaterThan(0.97);
    expect(await share({ classifier: logits, label: 0, scale: 1 })).toBeLessThan(0.03);
  });

  it('respacing visits evenly spread timesteps from 0 to T − 1', () => {
    expect(samplingTimesteps(1000, 5)).toEqual([0, 250, 500, 749, 999]);
    expect(samplingTimesteps(10, 50)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => samplingTimesteps(10, 0)).toThrow(/whole number of steps/);
  });

  it('with a trained-shape UNet, one step per tidy: the tensor count is flat during sampling', async () => {
    const x = tf.input({ shape: [4, 4, 1] });
    const t = tf.input({ shape: [1] });
    const e = new PatchbayTimestepEmbedding({ dim: 4 }).apply(t) as tfType.SymbolicTensor;
    const y = new PatchbayUNet({ channels: 4, channelMult: [1, 1], resBlocks: 1, attentionResolutions: [2], outChannels: 1, groups: 2 }).apply([
      x,
      e,
    ]) as tfType.SymbolicTensor;
    const model = tf.model({ inputs: [x, t], outputs: y });
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const out = await sampleDiffusion(tf, model, diffusionSchedule('cosine', 50), [4, 4, 1], {
      count: 2,
      seed: 0,
      steps: 10,
      sampler: 'ddim',
      onStep: () => void counts.push(tf.memory().numTensors),
    });
    expect(new Set(counts).size).toBe(1);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  /**
   * A network that fails part-way (here on its third call, after making a tensor of its own) and an
   * onStep that throws: the error reaches the caller and no tensor is left behind, neither the
   * running x nor a step's intermediates (the inpainting variant also makes x_T through the known pixels).
   */
  it.each([
    ['ancestral, the network throws', 'ancestral', 'network', false],
    ['DDIM with η, the network throws', 'ddim', 'network', false],
    ['DDIM with known pixels, the network throws', 'ddim', 'network', true],
    ['ancestral, onStep throws', 'ancestral', 'onStep', false],
  ] as const)('%s: the error passes and no tensor leaks', async (_name, sampler, where, withKnown) => {
    const schedule = diffusionSchedule('cosine', 50);
    const oracle = gaussianOracle(schedule, mu, s);
    const known = withKnown ? { image: tf.zeros([3, 2, 2, 1]), mask: tf.ones([3, 2, 2, 1]) } : undefined;
    const before = tf.memory().numTensors;
    let calls = 0;
    const failing = {
      apply(inputs: tfType.Tensor[]) {
        const eps = oracle.apply(inputs);
        if (where === 'network' && ++calls === 3) throw new Error('the network failed');
        return eps;
      },
    };
    const onStep = (done: number) => {
      if (where === 'onStep' && done === 2) throw new Error('onStep failed');
    };
    await expect(sampleDiffusion(tf, failing, schedule, [2, 2, 1], { count: 3, seed: 4, steps: 6, sampler, eta: 0.5, onStep, known })).rejects.toThrow(
      /failed/,
    );
    expect(tf.memory().numTensors).toBe(before);
    if (where === 'network') expect(calls).toBe(3);
    tf.dispose(known ? [known.image, known.mask] : []);
  });
});

describe('ddpm template', () => {
  it('the shipped file is what the generator writes (npx tsx scripts/gen-diffusion-templates.ts)', () => {
    for (const [name, doc] of Object.entries(diffusionTemplates()))
      expect(readFileSync(join(ROOT, 'templates', `${name}.json`), 'utf8'), name).toBe(serialiseTemplate(doc));
  });

  it.each(['mnist', 'cifar10'])('preset %s lowers without problems; sampling finds its schedule and network', (preset) => {
    const t = templateDocument('ddpm', preset);
    if ('error' in t) throw new Error(t.error);
    const { program, diagnostics } = lowerProgram(analyzeProgram(t.doc)!);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(unconditionalDenoiser(program!)).toEqual({
      network: 'model',
      procedure: 'train',
      schedule: preset === 'mnist' ? 'cosine' : 'linear',
      timesteps: 1000,
      inputs: 2,
      ema: true,
      // The mnist preset sets its Prediction target nodes to x₀; cifar10 keeps DDPM's ε.
      prediction: preset === 'mnist' ? 'x0' : 'epsilon',
    });
  });
});

describe('ddpm export', () => {
  it('the exported module passes tsc --strict, and its sample() draws what the app draws from the same weights', async () => {
    const t = templateDocument('ddpm', 'mnist');
    if ('error' in t) throw new Error(t.error);
    const { program } = lowerProgram(analyzeProgram(t.doc)!);
    const dir = join(ROOT, '.tmp', 'diffusion-export');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'ddpm.ts');
    writeFileSync(file, emitProgram(program!));
    typecheckStrict(file);
    const exported = (await import(/* @vite-ignore */ file)) as {
      createNetworks(): { model: tfType.LayersModel };
      sample(nets: { model: tfType.LayersModel }, count: number, seed?: number, steps?: number, sampler?: string, eta?: number): Promise<tfType.Tensor>;
    };
    const nets = exported.createNetworks();
    const app = buildModel(program!.networks[0]!.plan, { seed: 4 });
    // Trained-looking weights: the zero-initialised output conv would make every ε zero.
    app.setWeights(app.getWeights().map((w, i) => tf.add(w, tf.randomNormal(w.shape, 0, 0.02, 'float32', i + 1))));
    nets.model.setWeights(app.getWeights());
    // The mnist preset predicts x₀, and the export's sample() says so too.
    const ours = await sampleDiffusion(tf, app, diffusionSchedule('cosine', 1000), [28, 28, 1], {
      count: 2,
      seed: 3,
      steps: 3,
      sampler: 'ddim',
      eta: 0.5,
      prediction: 'x0',
    });
    const theirs = await exported.sample(nets, 2, 3, 3, 'ddim', 0.5);
    expect(theirs.shape).toEqual([2, 28, 28, 1]);
    expect(tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.moments(ours).variance.dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([ours, theirs]);
    app.dispose();
    nets.model.dispose();
  }, 120_000);
});

describe('patchbay sample ddpm', () => {
  it('after a one-batch train --save: a seeded grid in [0, 1] (the same for the same seed), and a bad --sampler refused in words', async () => {
    const { run: runCli } = await import('../src/cli/main');
    const dir = join(ROOT, '.tmp', 'diffusion-cli');
    mkdirSync(dir, { recursive: true });
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t), status: () => {} };
    // Predicting ε (DDPM's target; the mnist preset predicts x₀): after one step an x₀ network is
    // all but constant, so its samples would not show the seed.
    const t = templateDocument('ddpm', 'mnist');
    if ('error' in t) throw new Error(t.error);
    for (const proc of t.doc.program!.procedures) proc.nodes.find((n) => n.id === 'target')!.params.predict = 'epsilon';
    const doc = join(dir, 'ddpm-epsilon.json');
    writeFileSync(doc, JSON.stringify(t.doc));
    expect(
      await runCli(['train', doc, '--data', 'mnist', '--limit', '16', '--epochs', '1', '--backend', 'cpu', '--json', '--save', dir], io),
      err.join('\n'),
    ).toBe(0);
    const draw = async (seed: number) => {
      const file = join(dir, `samples-${seed}.json`);
      const args = ['sample', doc, '--weights', dir, '--count', '2', '--steps', '2', '--seed', String(seed), '--backend', 'cpu'];
      expect(await runCli([...args, '--out', file], io), err.join('\n')).toBe(0);
      return JSON.parse(readFileSync(file, 'utf8')) as { shape: number[]; data: number[] };
    };
    const a = await draw(1);
    expect(a.shape).toEqual([2, 28, 28, 1]);
    expect(a.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect((await draw(1)).data).toEqual(a.data);
    expect((await draw(2)).data).not.toEqual(a.data);
    err.length = 0;
    expect(await runCli(['sample', 'ddpm', '--weights', dir, '--sampler', 'euler', '--backend', 'cpu', '--out', join(dir, 'x.json')], io)).not.toBe(0);
    expect(err.join('\n')).toMatch(/--sampler takes ddim or ancestral, received "euler"/);
  }, 240_000);
});

describe('UNet layer against PyTorch (test/helpers/torch_unet_reference.py, float64)', () => {
  const python = ['/usr/bin/python3', 'python3'].find((exe) => {
    try {
      execFileSync(exe, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  it.each([
    [
      'DDPM: added embedding, one head',
      { channels: 8, channelMult: [1, 2], resBlocks: 1, attentionResolutions: [4], outChannels: 2, groups: 4, heads: 1, scaleShift: false },
    ],
    [
      'ADM: scale-shift, two heads, two blocks',
      { channels: 4, channelMult: [1, 2, 2], resBlocks: 2, attentionResolutions: [8, 2], outChannels: 1, groups: 2, heads: 2, scaleShift: true },
    ],
  ])(
    '%s: same output from the same weights',
    (_name, config) => {
      if (!python) return void console.warn('Skipped: python3 cannot import torch.');
      const unet = new PatchbayUNet(config);
      const x = tf.input({ shape: [8, 8, 3] });
      const e = tf.input({ shape: [6] });
      const model = tf.model({ inputs: [x, e], outputs: unet.apply([x, e]) as tfType.SymbolicTensor });
      // Every weight random (the zero-initialised convs too), so that each path counts.
      model.setWeights(model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.3, 'float32', i + 11)));
      const images = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
      const emb = tf.randomNormal([2, 6], 0, 1, 'float32', 2);
      const ours = model.predict([images, emb]) as tfType.Tensor;
      const weights = Object.fromEntries(
        unet.weights.map((w) => [w.originalName.slice(w.originalName.indexOf('/') + 1), { shape: w.shape, data: Array.from(w.read().dataSync()) }]),
      );
      const dir = join(ROOT, '.tmp', 'diffusion-torch');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${config.channels}-${config.heads}.json`);
      writeFileSync(file, JSON.stringify({ config, weights, x: images.arraySync(), emb: emb.arraySync() }));
      const theirs = JSON.parse(execFileSync(python, [join(ROOT, 'test', 'helpers', 'torch_unet_reference.py'), file], { encoding: 'utf8' })) as number[][][][];
      const diff = tf.max(tf.abs(tf.sub(ours, tf.tensor(theirs)))).dataSync()[0]!;
      expect(diff).toBeLessThan(1e-4);
      expect(tf.moments(ours).variance.dataSync()[0]).toBeGreaterThan(0.01);
      tf.dispose([images, emb, ours]);
      model.dispose();
    },
    60_000,
  );
});

describe("improved DDPM's hybrid loss", () => {
  const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'diffusion', 'hybrid-loss.json'), 'utf8')) as {
    timesteps: number;
    x0: number[][][][];
    xt: number[][][][];
    t: number[];
    noise: number[][][][];
    output: number[][][][];
    perExample: number[];
    loss: number;
  };
  it('equals improved-diffusion training_losses (learned range, rescaled MSE; scripts/iddpm-hybrid-fixture.py), decoder NLL at t = 0 included', () => {
    const [x0, xt, noise, output] = [fixture.x0, fixture.xt, fixture.noise, fixture.output].map((a) => tf.tensor(a));
    const t = tf.tensor2d(fixture.t.map((v) => [v]));
    const loss = diffusionHybridLoss(tf, output!, noise!, x0!, xt!, t, 'cosine', fixture.timesteps);
    expect(Math.abs(loss.dataSync()[0]! - fixture.loss) / fixture.loss).toBeLessThan(1e-4);
    tf.dispose([x0!, xt!, noise!, output!, t, loss]);
  });

  it('the VB term trains only the variance half: the mean half gets the MSE gradient alone', () => {
    const [x0, xt, noise] = [fixture.x0, fixture.xt, fixture.noise].map((a) => tf.tensor(a));
    const t = tf.tensor2d(fixture.t.map((v) => [v]));
    const output = tf.tensor(fixture.output);
    const g = tf.grad((o: tfType.Tensor) => diffusionHybridLoss(tf, o, noise!, x0!, xt!, t, 'cosine', fixture.timesteps))(output);
    const [gMean, gVar] = tf.split(g, 2, -1);
    const [epsHat] = tf.split(output, 2, -1);
    const mseOnly = tf.div(tf.mul(2, tf.sub(epsHat!, noise!)), noise!.size);
    expect(tf.max(tf.abs(tf.sub(gMean!, mseOnly))).dataSync()[0]).toBeLessThan(1e-6);
    expect(tf.max(tf.abs(gVar!)).dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([x0!, xt!, noise!, t, output, g, gMean!, gVar!, epsHat!, mseOnly]);
  });
});
