import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrainingSchema } from '../src/document/schema';
import type { Dataset } from '../src/runtime/data/dataset';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { learningRateAt } from '../src/runtime/training/schedule';
import { trainClassifier } from '../src/runtime/training/train';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
let mnist: Dataset;
beforeAll(async () => {
  tf = await useCpuBackend();
  mnist = await loadMnistNode();
});

function mlp(units = 32): tfType.LayersModel {
  const input = tf.input({ shape: [28, 28, 1] });
  const flat = tf.layers.flatten().apply(input) as tfType.SymbolicTensor;
  const hidden = tf.layers.dense({ units, activation: 'relu' }).apply(flat) as tfType.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 10, activation: 'softmax' }).apply(hidden) as tfType.SymbolicTensor });
}

describe('learning-rate schedules', () => {
  const base = { learningRate: 0.1, warmupSteps: 10 };
  it('constant stays put; cosine falls from the peak to zero', () => {
    expect(learningRateAt({ ...base, schedule: 'constant' }, 57, 100)).toBe(0.1);
    expect(learningRateAt({ ...base, schedule: 'cosine' }, 0, 100)).toBeCloseTo(0.1);
    expect(learningRateAt({ ...base, schedule: 'cosine' }, 99, 100)).toBeCloseTo(0);
  });
  it('one-cycle rises to the peak at 30 % and ends near zero', () => {
    const at = (s: number) => learningRateAt({ ...base, schedule: 'onecycle' }, s, 101);
    expect(at(0)).toBeLessThan(0.01);
    expect(at(30)).toBeCloseTo(0.1);
    expect(at(100)).toBeLessThan(1e-4);
    expect(at(15)).toBeLessThan(at(30));
  });
  it('warm-up climbs linearly, then cosine', () => {
    const at = (s: number) => learningRateAt({ ...base, schedule: 'warmup-cosine' }, s, 110);
    expect(at(0)).toBeCloseTo(0.01);
    expect(at(9)).toBeCloseTo(0.1);
    expect(at(109)).toBeCloseTo(0);
  });
});

describe('mnist loader', () => {
  it('has 10,000 real digits in a fixed 8,000 / 2,000 split with every class on both sides', () => {
    expect(mnist.train.count).toBe(8000);
    expect(mnist.test.count).toBe(2000);
    expect(mnist.train.x.length).toBe(8000 * 784);
    for (const split of [mnist.train, mnist.test]) {
      const counts = new Array(10).fill(0);
      for (const y of split.y) counts[y]++;
      for (const c of counts) expect(c).toBeGreaterThan(split.count / 20);
    }
    let max = 0;
    for (let i = 0; i < 784 * 100; i++) max = Math.max(max, mnist.train.x[i]!);
    expect(max).toBe(1);
  });
  it('is the same on every load', async () => {
    const again = await loadMnistNode();
    expect(Array.from(again.train.y.subarray(0, 50))).toEqual(Array.from(mnist.train.y.subarray(0, 50)));
  });
});

describe('training loop', () => {
  it('learns real digits, keeps the tensor count flat, and evaluates with a confusion matrix', async () => {
    const model = mlp();
    const tensors: number[] = [];
    const setup = TrainingSchema.parse({ epochs: 1, batchSize: 32, learningRate: 3e-3 });
    const result = await trainClassifier(tf, model, mnist, setup, {
      limit: 2000,
      hooks: {
        onStep: (s) => {
          tensors.push(s.tensors);
        },
      },
    });
    expect(result.status).toBe('completed');
    expect(result.steps.length).toBe(Math.ceil(2000 / 32));
    // Zero tensors leaked per step: the count after step 3 equals the count after the last step.
    expect(tensors[tensors.length - 1]).toBe(tensors[2]);
    expect(result.final!.test.accuracy).toBeGreaterThan(0.7);
    const confusion = result.final!.test.confusion;
    expect(confusion.flat().reduce((a, b) => a + b, 0)).toBe(500);
    model.dispose();
  });

  it('trains with the sparse loss too (class ids instead of one-hot labels)', async () => {
    const model = mlp(16);
    const result = await trainClassifier(tf, model, mnist, TrainingSchema.parse({ loss: 'sparseCategoricalCrossentropy', learningRate: 3e-3 }), { limit: 640 });
    expect(result.status).toBe('completed');
    expect(result.steps[result.steps.length - 1]!.loss).toBeLessThan(result.steps[0]!.loss);
    expect(result.steps[0]!.accuracy).toBeGreaterThanOrEqual(0);
    model.dispose();
  });

  it('the schedule reaches SGD too (its rate lives in a tensor, not in the field Adam reads)', async () => {
    // With a cosine schedule the last steps take almost no step at all; with a constant one they do.
    const finalMove = async (schedule: 'constant' | 'cosine') => {
      const model = mlp(8);
      const weights: number[][] = [];
      await trainClassifier(tf, model, mnist, TrainingSchema.parse({ optimizer: 'sgd', learningRate: 0.5, schedule, batchSize: 16, seed: 1 }), {
        limit: 160,
        hooks: {
          onStep: (s) => {
            if (s.step >= 9) weights.push(Array.from(model.getWeights()[0]!.dataSync()));
          },
        },
      });
      model.dispose();
      return Math.max(...weights[1]!.map((w, i) => Math.abs(w - weights[0]![i]!)));
    };
    expect(await finalMove('cosine')).toBeLessThan(0.01 * (await finalMove('constant')));
  });

  it('stops on a NaN loss with a message naming the step, and keeps going no further', async () => {
    const poisoned: Dataset = { ...mnist, train: { ...mnist.train, x: mnist.train.x.slice(0, 64 * 784).fill(NaN), y: mnist.train.y.slice(0, 64), count: 64 } };
    const model = mlp(8);
    const result = await trainClassifier(tf, model, poisoned, TrainingSchema.parse({ batchSize: 16 }));
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/The loss became NaN at step 1 \(epoch 1\)/);
    expect(result.steps.length).toBe(0);
    expect(result.final).toBeNull();
    model.dispose();
  });

  it('stops when asked, and pauses until resumed', async () => {
    const model = mlp(8);
    let steps = 0;
    let resume: () => void = () => {};
    let paused = true;
    const result = trainClassifier(tf, model, mnist, TrainingSchema.parse({ batchSize: 16 }), {
      limit: 320,
      hooks: {
        onStep: () => {
          steps++;
        },
        shouldStop: () => steps >= 5,
        waitWhilePaused: () =>
          paused
            ? new Promise<void>((r) => {
                resume = r;
              })
            : Promise.resolve(),
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(steps).toBe(0);
    paused = false;
    resume();
    const done = await result;
    expect(done.status).toBe('stopped');
    expect(done.steps.length).toBe(5);
    expect(done.message).toMatch(/Stopped by the user at step 5/);
    model.dispose();
  });
});
