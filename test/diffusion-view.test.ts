/**
 * The samples grid of a diffusion program (runtime/program/diffusion-view.ts): its frames of the
 * reverse process are the sampler's own x_t, the same for the same seed, and drawing leaves no
 * tensor behind and runs one tidy per sampler step; when a run redraws; which programs have one.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { diffusionSchedule, sampleDiffusion, samplingTimesteps } from '../src/runtime/program/diffusion';
import { unconditionalDenoiser } from '../src/runtime/program/denoiser';
import { drawDiffusionSamples, frameSteps, samplingProblem, type DiffusionSamples } from '../src/runtime/program/diffusion-view';
import { derivedSeed } from '../src/runtime/seeds';
import { DiffusionRefresh } from '../src/runtime/worker/diffusion-grid';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const SETUP = { schedule: 'cosine' as const, timesteps: 100 };

/** A small ε-network on 6×6 images: a convolution of x_t plus a per-pixel term from t, seeded weights. */
function tinyDenoiser(): tfType.LayersModel {
  const x = tf.input({ shape: [6, 6, 1] });
  const t = tf.input({ shape: [1] });
  const conv = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x);
  const fromT = tf.layers
    .dense({ units: 36, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })
    .apply(tf.layers.rescaling({ scale: 0.01 }).apply(t));
  const out = tf.layers.add().apply([conv as tfType.SymbolicTensor, tf.layers.reshape({ targetShape: [6, 6, 1] }).apply(fromT) as tfType.SymbolicTensor]);
  return tf.model({ inputs: [x, t], outputs: out as tfType.SymbolicTensor });
}

const frameValues = (s: DiffusionSamples) => s.frames.map((f) => Array.from(f.images));

describe('diffusion samples grid: frames of the reverse process', () => {
  it('keeps x_T, every k-th x_t and the samples; t runs from T down to 0', async () => {
    const model = tinyDenoiser();
    const s = await drawDiffusionSamples(tf, model, SETUP, { sampler: 'ddim', steps: 20 }, { seed: 1, step: 7, weights: 'ema', count: 4 });
    expect(s.shape).toEqual([4, 6, 6, 1]);
    expect(s.frames.map((f) => f.done)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    const visit = samplingTimesteps(100, 20);
    expect(s.frames.map((f) => f.t)).toEqual([
      ...[...visit]
        .reverse()
        .filter((_, j) => j % 2 === 0)
        .map((t) => t + 1),
      0,
    ]);
    expect(s.frames[0]!.t).toBe(100);
    expect(s).toMatchObject({ step: 7, weights: 'ema', seed: 1, settings: { sampler: 'ddim', steps: 20 } });
    for (const f of s.frames) {
      expect(f.images.length).toBe(4 * 36);
      for (const v of f.images) expect(v >= 0 && v <= 1).toBe(true);
    }
    model.dispose();
  });

  it('the first frame is the sampler’s starting noise and the last its samples', async () => {
    const model = tinyDenoiser();
    const settings = { sampler: 'ancestral' as const, steps: 7 };
    const s = await drawDiffusionSamples(tf, model, SETUP, settings, { seed: 5, step: 0, weights: 'online', count: 3 });
    const noise = tf.randomNormal([3, 6, 6, 1], 0, 1, 'float32', derivedSeed(5, 'sample:x_T'));
    const expected = Array.from(Float32Array.from(noise.dataSync(), (v) => Math.min(1, Math.max(0, v * 0.5 + 0.5))));
    noise.dispose();
    expect(Array.from(s.frames[0]!.images)).toEqual(expected);
    const direct = await sampleDiffusion(tf, model, diffusionSchedule('cosine', 100), [6, 6, 1], { count: 3, seed: 5, steps: 7, sampler: 'ancestral', eta: 0 });
    expect(Array.from(s.frames.at(-1)!.images)).toEqual(Array.from(direct.dataSync()));
    direct.dispose();
    // Frames in between differ from both ends: the process moves.
    const middle = Array.from(s.frames[Math.floor(s.frames.length / 2)]!.images);
    expect(middle).not.toEqual(expected);
    expect(middle).not.toEqual(Array.from(s.frames.at(-1)!.images));
    model.dispose();
  });

  it.each(['ddim', 'ancestral'] as const)('%s: the same seed gives the same frames, another seed others', async (sampler) => {
    const model = tinyDenoiser();
    const draw = (seed: number) => drawDiffusionSamples(tf, model, SETUP, { sampler, steps: 12 }, { seed, step: 0, weights: 'online', count: 4 });
    const [a, b, c] = [await draw(11), await draw(11), await draw(12)];
    expect(frameValues(a)).toEqual(frameValues(b));
    expect(frameValues(a)[0]).not.toEqual(frameValues(c)[0]);
    expect(frameValues(a).at(-1)).not.toEqual(frameValues(c).at(-1));
    model.dispose();
  });

  it('leaves no tensor behind and runs one tidy per sampler step', async () => {
    const model = tinyDenoiser();
    let tidies = 0;
    // The sampler's own tidies (the network's layers keep theirs, on tfjs's own namespace).
    const counted = { ...tf, tidy: ((...args: Parameters<typeof tf.tidy>) => (tidies++, tf.tidy(...args))) as typeof tf.tidy };
    // Warm-up: the network's weights exist from the start; one draw settles tfjs's own caches.
    await drawDiffusionSamples(tf, model, SETUP, { sampler: 'ddim', steps: 4 }, { seed: 0, step: 0, weights: 'online', count: 2 });
    for (const [sampler, steps] of [
      ['ddim', 9],
      ['ancestral', 13],
    ] as const) {
      const before = tf.memory().numTensors;
      tidies = 0;
      await drawDiffusionSamples(counted, model, SETUP, { sampler, steps }, { seed: 2, step: 0, weights: 'online', count: 2 });
      expect(tf.memory().numTensors).toBe(before);
      // One per step, plus the one that maps the result to [0, 1].
      expect(tidies).toBe(steps + 1);
    }
    model.dispose();
  });

  it('a failing network leaves no tensor behind either, and bad settings are refused in words', async () => {
    const model = tinyDenoiser();
    const before = tf.memory().numTensors;
    let calls = 0;
    const failing = Object.assign(Object.create(model) as tfType.LayersModel, {
      apply: (inputs: tfType.Tensor[], kwargs?: Record<string, unknown>) => {
        if (++calls === 3) throw new Error('boom');
        return model.apply(inputs, kwargs);
      },
    });
    await expect(drawDiffusionSamples(tf, failing, SETUP, { sampler: 'ddim', steps: 6 }, { seed: 0, step: 0, weights: 'online', count: 2 })).rejects.toThrow(
      'boom',
    );
    expect(tf.memory().numTensors).toBe(before);
    await expect(drawDiffusionSamples(tf, model, SETUP, { sampler: 'ddim', steps: 0 }, { seed: 0, step: 0, weights: 'online' })).rejects.toThrow(
      'Sampler steps must be a whole number from 1 to 100',
    );
    expect(samplingProblem({ sampler: 'ddim', steps: 101 }, 100)).toMatch(/from 1 to 100/);
    expect(samplingProblem({ sampler: 'euler' as never, steps: 10 }, 100)).toMatch(/DDIM or DDPM/);
    expect(samplingProblem({ sampler: 'ancestral', steps: 100 }, 100)).toBeNull();
    model.dispose();
  });

  it('frame steps: every k-th so at most 10 besides x_T, the last always', () => {
    expect(frameSteps(1)).toEqual([0, 1]);
    expect(frameSteps(5)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(frameSteps(50)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    expect(frameSteps(1000)).toHaveLength(11);
    expect(frameSteps(23)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 23]);
  });
});

describe('diffusion samples grid: when a run redraws', () => {
  it('at the first step, after a request, at the last step, and otherwise within its share of the time', () => {
    const r = new DiffusionRefresh(0.05, 5);
    expect(r.due(1, 100, 1000)).toBe(true);
    r.done(1, 1000, 1100); // 100 ms: the next waits 2 s and 5 steps
    expect(r.due(3, 100, 5000)).toBe(false);
    expect(r.due(6, 100, 2000)).toBe(false);
    expect(r.due(6, 100, 3100)).toBe(true);
    r.requested = true;
    expect(r.due(2, 100, 1101)).toBe(true);
    r.done(2, 1101, 1201);
    expect(r.requested).toBe(false);
    expect(r.due(3, 100, 1202)).toBe(false);
    expect(r.due(100, 100, 1202)).toBe(true);
  });
});

describe('diffusion samples grid: which programs have one', () => {
  const setupOf = (id: string, preset: string) => {
    const t = templateDocument(id, preset);
    if ('error' in t) throw new Error(t.error);
    const { program } = lowerProgram(analyzeProgram(t.doc)!);
    return unconditionalDenoiser(program!);
  };
  it('ddpm: the denoiser of the training procedure, its schedule, and its moving average', () => {
    expect(setupOf('ddpm', 'mnist')).toEqual({
      network: 'model',
      procedure: 'train',
      schedule: 'cosine',
      timesteps: 1000,
      inputs: 2,
      ema: true,
      prediction: 'x0',
    });
    expect(setupOf('ddpm', 'cifar10')).toMatchObject({ schedule: 'linear', timesteps: 1000, prediction: 'epsilon' });
  });
  it('a program without diffusion has none, nor do conditional ones (SR3, Palette: their own view)', () => {
    expect(setupOf('realnvp', 'moons')).toBeNull();
    expect(setupOf('simsiam', 'mnist')).toBeNull();
    expect(setupOf('sr3', 'mnist')).toBeNull();
    expect(setupOf('palette', 'mnist')).toBeNull();
  });
});
