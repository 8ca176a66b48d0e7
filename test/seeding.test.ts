/**
 * Seeded runs: the training setup's seed fixes the initial weights (per layer, never tfjs's "0 means
 * unseeded"), dropout's masks and the data order, so two runs with the same seed on the same backend
 * give the same losses; and a run resumed from a checkpoint goes on exactly as if never interrupted.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, lower } from '../src/compiler/index';
import { TrainingSchema } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import { derivedSeed } from '../src/runtime/seeds';
import { syntheticDataset } from '../src/runtime/data/synthetic';
import { trainClassifier, type Checkpoint } from '../src/runtime/training/train';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const planOf = (doc: Parameters<typeof analyze>[0]) => {
  const { plan, diagnostics } = lower(analyze(doc));
  if (!plan) throw new Error(JSON.stringify(diagnostics));
  return plan;
};

/** Every weight of the model, flattened in order. */
const weightsOf = (model: tfType.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

/** A small classifier for the 2-D synthetic sets, with dropout so that masks matter. */
const moonsNet = () =>
  planOf(
    graph(
      [
        { id: 'x', type: 'Input', params: { shape: [2] } },
        { id: 'h', type: 'Dense', params: { units: 16, activation: 'relu' } },
        { id: 'drop', type: 'Dropout', params: { rate: 0.3 } },
        { id: 'y', type: 'Dense', params: { units: 2, activation: 'softmax' } },
        { id: 'out', type: 'Output' },
      ],
      [
        ['x', 'h'],
        ['h', 'drop'],
        ['drop', 'y'],
        ['y', 'out'],
      ],
    ),
  );

describe('seeded weight initialisation', () => {
  it('gives the same weights for the same seed, other weights for another seed, every layer its own', () => {
    const t = templateDocument('convmixer', 'mnist');
    if ('error' in t) throw new Error(t.error);
    const plan = planOf(t.doc);
    const a = buildModel(plan, { seed: 7 });
    const b = buildModel(plan, { seed: 7 });
    const c = buildModel(plan, { seed: 8 });
    // Seed 0 is a real seed here, not tfjs's "unseeded".
    const zero1 = buildModel(plan, { seed: 0 });
    const zero2 = buildModel(plan, { seed: 0 });
    try {
      const [wa, wb, wc] = [weightsOf(a), weightsOf(b), weightsOf(c)];
      expect(wa.length).toBeGreaterThan(4);
      expect(wb).toEqual(wa);
      expect(weightsOf(zero2)).toEqual(weightsOf(zero1));
      // Every randomly initialised weight (kernels: not the zero biases or the ones of norm scales) differs with another seed.
      const random = wa.map((w, i) => i).filter((i) => new Set(wa[i]).size > 1);
      expect(random.length).toBeGreaterThan(2);
      for (const i of random) expect(wc[i]).not.toEqual(wa[i]);
      // Two kernels of the same shape in one model are not copies of each other.
      const shapes = a.getWeights().map((w) => w.shape.join('x'));
      const twins = random.filter((i) => random.some((j) => j !== i && shapes[j] === shapes[i]));
      expect(twins.length).toBeGreaterThan(1);
      for (const i of twins) for (const j of twins) if (i < j && shapes[i] === shapes[j]) expect(wa[j]).not.toEqual(wa[i]);
    } finally {
      for (const m of [a, b, c, zero1, zero2]) m.dispose();
    }
  });

  it('never derives tfjs\'s "no seed" value', () => {
    for (let seed = -3; seed < 50; seed++) for (const name of ['', 'dense', 'conv/kernelInitializer']) expect(derivedSeed(seed, name)).toBeGreaterThan(0);
    expect(derivedSeed(1, 'a')).not.toBe(derivedSeed(2, 'a'));
  });
});

describe('seeded training', () => {
  const moons = syntheticDataset('moons');
  const setup = TrainingSchema.parse({ epochs: 2, batchSize: 32, learningRate: 0.01, seed: 3 });
  const run = async (seed: number, options: Parameters<typeof trainClassifier>[4] = {}) => {
    const model = buildModel(moonsNet(), { seed });
    try {
      return { model, result: await trainClassifier(tf, model, moons, { ...setup, seed }, { limit: 320, ...options }) };
    } catch (err) {
      model.dispose();
      throw err;
    }
  };

  it('gives the same losses for the same seed, and other losses for another', async () => {
    const first = await run(3);
    const second = await run(3);
    const other = await run(4);
    const losses = (r: typeof first) => r.result.steps.map((s) => s.loss);
    expect(losses(first)).toHaveLength(20);
    expect(losses(second)).toEqual(losses(first));
    expect(losses(other)).not.toEqual(losses(first));
    for (const r of [first, second, other]) r.model.dispose();
  });

  it('goes on from a checkpoint exactly as the uninterrupted run did', async () => {
    const whole = await run(3);
    // Stop after step 13 (mid second epoch); keep the checkpoint taken there and the weights with it.
    let kept: { checkpoint: Checkpoint; weights: tfType.Tensor[] } | undefined;
    const model = buildModel(moonsNet(), { seed: 3 });
    await trainClassifier(tf, model, moons, setup, {
      limit: 320,
      hooks: {
        checkpointDue: (step) => step === 13,
        onCheckpoint: (checkpoint) => {
          if (checkpoint.step === 13) kept = { checkpoint, weights: model.getWeights().map((w) => w.clone()) };
        },
        shouldStop: () => kept !== undefined,
      },
    });
    model.dispose();
    expect(kept?.checkpoint.step).toBe(13);
    expect(kept!.checkpoint.optimizer.length).toBeGreaterThan(1);
    // Resume in a fresh model (built with another seed: the checkpoint's weights replace its own).
    const fresh = buildModel(moonsNet(), { seed: 99 });
    fresh.setWeights(kept!.weights);
    const resumed = await trainClassifier(tf, fresh, moons, setup, { limit: 320, resume: kept!.checkpoint });
    expect(resumed.status).toBe('completed');
    expect(resumed.steps.map((s) => s.step)).toEqual([14, 15, 16, 17, 18, 19, 20]);
    const tail = whole.result.steps.slice(13);
    resumed.steps.forEach((s, i) => expect(s.loss).toBeCloseTo(tail[i]!.loss, 5));
    expect(resumed.final!.test.accuracy).toBeCloseTo(whole.result.final!.test.accuracy, 5);
    expect(resumed.epochs.map((e) => e.epoch)).toEqual([2]);
    expect(resumed.epochs[0]!.trainLoss).toBeCloseTo(whole.result.epochs[1]!.trainLoss, 5);
    whole.model.dispose();
    fresh.dispose();
    tf.dispose(kept!.weights);
  });
});
