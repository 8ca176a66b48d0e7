/**
 * A program run's live previews (runtime/worker/previews.ts programLiveHooks, as the worker wires
 * them): refreshes of the network on show at the run's first and last steps and in between within
 * the budget, with the run's current weights, the gradients the refresh step's tape gave, and the
 * outputs over held-out examples; and the same weights at the end with refreshes on as off.
 * SimSiam's training procedure, 4 steps of 4 MNIST digits, cpu backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import type { Dataset } from '../src/runtime/data/dataset';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { previewModel } from '../src/runtime/preview';
import { procedureFeedOf } from '../src/runtime/preview-feed';
import { ProgramRun, runProgram, type ProgramRunOptions } from '../src/runtime/program/run';
import { networkKey, PreviewService, programLiveHooks, type ProgramLive } from '../src/runtime/worker/previews';
import type { PreviewFeed } from '../src/runtime/worker/protocol';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

/** SimSiam's program with its training procedure only (the evaluation is not what this measures). */
function simsiam(): PlanProgram {
  const t = templateDocument('simsiam');
  if ('error' in t) throw new Error(t.error);
  const { program } = lowerProgram(analyzeProgram(t.doc)!);
  if (!program) throw new Error('no program');
  return { ...program, procedures: program.procedures.filter((p) => p.kind === 'train') };
}

const settings = { seed: 5, batchSize: 4, epochs: 1, limit: 16 } satisfies ProgramRunOptions;
const STEPS = 16 / 4;

let mnist: Dataset;
let program: PlanProgram;
/** The first held-out digit, as the page pins it. */
let digit: Float32Array;

beforeAll(async () => {
  await useCpuBackend();
  mnist = await loadMnistNode();
  program = simsiam();
  digit = Float32Array.from(mnist.test.x.subarray(0, 28 * 28));
});

const weightsOf = (run: ProgramRun) => new Map([...run.networks].map(([id, s]) => [id, s.model.getWeights().map((w) => Float32Array.from(w.dataSync()))]));

/** A seeded run; with `shown`, the preview service pinned on that network (fed as the page would ask) and its refreshes collected. */
async function trainedRun(shown?: { network: string; feed?: PreviewFeed }) {
  const run = new ProgramRun(tf, program, settings.seed);
  const refreshes: Array<{ step: number; live: ProgramLive }> = [];
  const service = new PreviewService(() => Promise.reject(new Error('no data here')));
  if (shown) {
    // The page's plan of a network is named by its label, the program's by its id: the same network all the same.
    const plan = { ...program.networks.find((n) => n.id === shown.network)!.plan, name: 'As the page names it' };
    await service.answer(
      plan,
      settings.seed,
      { kind: 'values', values: digit },
      { model: undefined, planJson: undefined },
      { network: shown.network, feed: shown.feed },
    );
  }
  const live = programLiveHooks(service, run, mnist, (step, refresh) => refreshes.push({ step, live: refresh }));
  const tensorsBefore = tf.memory().numTensors;
  const tensorsAfterSteps: number[] = [];
  const result = await runProgram(tf, run, mnist, {
    ...settings,
    onProcedure: live.onProcedure,
    gradientTap: live.gradientTap,
    onStep: async (report) => {
      await live.afterStep(report.step);
      tensorsAfterSteps.push(tf.memory().numTensors - tensorsBefore);
    },
  });
  live.dispose();
  expect(result.status).toBe('completed');
  return { run, refreshes, service, tensorsAfterSteps };
}

describe("a program run's live previews", () => {
  it('refresh the main network at the first and last steps, with the weights of that step, its gradients and its outputs over held-out digits; the weights end the same as without refreshes', async () => {
    const plain = await trainedRun();
    const expected = weightsOf(plain.run);
    expect(plain.refreshes).toEqual([]);
    plain.run.dispose();

    const { run, refreshes, service, tensorsAfterSteps } = await trainedRun({ network: 'model' });
    // Same seed, same data: every weight of every network exactly as without refreshes.
    const got = weightsOf(run);
    for (const [id, arrays] of expected) {
      expect(got.get(id)!.length).toBe(arrays.length);
      arrays.forEach((a, i) => expect(got.get(id)![i]).toEqual(a));
    }
    const steps = refreshes.map((r) => r.step);
    expect(steps[0]).toBe(1);
    expect(steps.at(-1)).toBe(STEPS);
    // At most one refresh every 10 steps besides the forced last one: steps 2 and 3 refresh nothing.
    expect(steps).toEqual([1, STEPS]);
    expect(service.schedule.count).toBe(steps.length);

    const plan = program.networks.find((n) => n.id === 'model')!.plan;
    const last = refreshes.at(-1)!.live;
    expect(last.network).toBe('model');
    expect(last.answer.weights.source).toBe('run');
    // The last refresh shows the trained weights: the same previews as asked for after the run.
    const after = await previewModel(plan, run.networks.get('model')!.model, digit);
    expect(last.answer.previews.map((p) => [p.nodeId, p.stats])).toEqual(after.previews.map((p) => [p.nodeId, p.stats]));
    // The first refresh's previews are of step 1's weights, not the trained ones.
    const first = refreshes[0]!.live;
    const conv = (live: ProgramLive) => live.answer.previews.find((p) => p.nodeId === 'conv1')!.stats.mean;
    expect(conv(first)).not.toBe(conv(last));
    // Weights by node, the gradients of the refresh step (as many values as weights, not all zero), outputs over held-out digits.
    const conv1 = last.weights.find((w) => w.nodeId === 'conv1')!;
    expect(conv1.gradients!.count).toBe(conv1.all.count);
    expect(conv1.gradients!.stats.norm).toBeGreaterThan(0);
    expect(first.weights.find((w) => w.nodeId === 'conv1')!.all.stats.norm).not.toBe(conv1.all.stats.norm);
    const relu = last.activations.find((a) => a.nodeId === 'relu1')!;
    expect(relu.examples).toBe(64);
    expect(relu.stats.min).toBeGreaterThanOrEqual(0);
    // The kept gradients are freed whether a step refreshes or not: no tensors pile up.
    expect(tensorsAfterSteps.at(-1)).toBe(tensorsAfterSteps[1]);
    run.dispose();
  }, 180_000);

  it("refresh another network on show through its procedure (the projector on the encoder's output); an edited graph on show is left alone", async () => {
    const feed: PreviewFeed = { kind: 'procedure', program, feed: procedureFeedOf(program, 'projector')!, timestep: 0 };
    const { run, refreshes, service } = await trainedRun({ network: 'projector', feed });
    expect(refreshes[0]!.step).toBe(1);
    const last = refreshes.at(-1)!;
    expect(last.step).toBe(STEPS);
    expect(last.live.network).toBe('projector');
    const plan = program.networks.find((n) => n.id === 'projector')!.plan;
    expect(last.live.answer.previews.map((p) => p.nodeId)).toEqual(expect.arrayContaining(plan.main.steps.map((s) => s.nodeId)));
    // Weights and the tape's gradients are the projector's; no batch outputs for a network a procedure feeds.
    const dense = last.live.weights.find((w) => w.gradients);
    expect(dense).toBeDefined();
    expect(last.live.activations).toEqual([]);

    // The graph on show is the run's projector: a refresh is due at a last step. Had the run trained another plan of it (edited since), none is.
    const networks = new Map(program.networks.map((n) => [n.id, networkKey(n.plan)]));
    expect(service.programRefreshDue(STEPS + 1, true, networks)).toBe(true);
    networks.set('projector', networkKey({ ...plan, main: { ...plan.main, steps: plan.main.steps.slice(0, -1) } }));
    expect(service.programRefreshDue(STEPS + 2, true, networks)).toBe(false);
    run.dispose();
  }, 180_000);
});
