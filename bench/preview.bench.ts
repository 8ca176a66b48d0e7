/**
 * Previews on a pinned example, on the wasm backend in Node (one thread): what a refresh after an
 * edit costs (a fresh build that keeps the untouched layers' weights, one forward over every node,
 * read back and reduced) for ConvMixer `mnist` and a 1,000-node chain; what a refresh during a run
 * costs (previews, every node's weight histograms, the histograms of the gradients the refresh step
 * applied, every node's output over 64 held-out digits), part by part; and the training slowdown
 * with refreshes on, ConvMixer `mnist` on MNIST, runs with and without interleaved so machine noise
 * hits both; and a program run's refreshes (runtime/worker/previews.ts programLiveHooks, as the
 * worker wires them): SimSiam's training procedure with its encoder on show, the refreshes' own time
 * as a share of the run, and the run with refreshes against without.
 * Run with `npx tsx bench/preview.bench.ts` (STEPS=… steps per run, default 60; RUNS=… pairs, default 2;
 * PART=program for the SimSiam part alone, PROGRAM_STEPS=… its steps of 32, default 60).
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { templateDocument } from '../templates/index';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { buildModel } from '../src/runtime/build';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { activationsByNode, gradientsByNode, previewBuild, previewModel, RefreshSchedule, weightsByNode } from '../src/runtime/preview';
import { activationBatchOf, PreviewService, programLiveHooks } from '../src/runtime/worker/previews';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { ProgramRun, runProgram } from '../src/runtime/program/run';
import type { Dataset } from '../src/runtime/data/dataset';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { trainClassifier } from '../src/runtime/training/train';
import { chainGraph } from './graphs';
import type { Plan } from '../src/compiler/plan';
import type { GraphDocument } from '../src/document/schema';

const STEPS = Number(process.env.STEPS ?? 60);
const RUNS = Number(process.env.RUNS ?? 2);
const PART = process.env.PART ?? 'all';
const PROGRAM_STEPS = Number(process.env.PROGRAM_STEPS ?? 60);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function planOf(doc: GraphDocument): Plan {
  const { plan, diagnostics } = lower(analyze(doc));
  if (!plan) throw new Error(diagnostics.map((d) => d.message).join('; '));
  return plan;
}

function convmixer(): { doc: GraphDocument; plan: Plan } {
  const t = templateDocument('convmixer', 'mnist');
  if ('error' in t) throw new Error(t.error);
  return { doc: t.doc, plan: planOf(t.doc) };
}

/** A refresh after an edit: the edited plan built fresh, the run's weights copied where they fit, one forward read back. */
async function refreshAfterEdit(name: string, plan: Plan, edited: Plan, example: Float32Array) {
  const trained = buildModel(plan, { seed: 1 });
  const times: number[] = [];
  const builds: number[] = [];
  let nodes = 0;
  for (let i = 0; i < 4; i++) {
    const began = performance.now();
    const { model, weights } = previewBuild(edited, 0, trained);
    const built = performance.now();
    const answer = await previewModel(edited, model, example, weights);
    times.push(performance.now() - began);
    builds.push(built - began);
    nodes = answer.previews.length;
    model.dispose();
  }
  trained.dispose();
  // The first refresh includes kernel warm-up; the median of the rest is what a person sees after an edit.
  console.log(
    `${name}: refresh after an edit ${median(times.slice(1)).toFixed(0)} ms (build ${median(builds.slice(1)).toFixed(0)} ms), ${nodes} node previews; first ${times[0]!.toFixed(0)} ms`,
  );
}

/**
 * A program run's refreshes: SimSiam's training procedure (PROGRAM_STEPS steps of 32 digits) with
 * the encoder on show and the first held-out digit pinned, wired as the worker wires it; the same
 * run without refreshes before and after it. The share is the schedule's own account: each
 * refresh's time (feeding, previews, weight and gradient histograms, outputs over 64 held-out digits).
 */
async function programRefreshShare(ds: Dataset) {
  const t = templateDocument('simsiam');
  if ('error' in t) throw new Error(t.error);
  const lowered = lowerProgram(analyzeProgram(t.doc)!).program!;
  const program = { ...lowered, procedures: lowered.procedures.filter((p) => p.kind === 'train') };
  const digit = Float32Array.from(ds.test.x.subarray(0, 28 * 28));
  const options = { seed: 0, batchSize: 32, epochs: 1, limit: PROGRAM_STEPS * 32 };
  const timeRun = async (withPreviews: boolean) => {
    const run = new ProgramRun(tf, program, 0);
    const service = new PreviewService(() => Promise.reject(new Error('no data here')));
    if (withPreviews)
      await service.answer(
        program.networks.find((n) => n.id === 'model')!.plan,
        0,
        { kind: 'values', values: digit },
        { model: undefined, planJson: undefined },
      );
    // Each refresh's step and cost, from the schedule's own account (done before the refresh is sent).
    const each: string[] = [];
    let accounted = 0;
    const live = programLiveHooks(service, run, ds, (step) => {
      each.push(`step ${step} ${(service.schedule.totalMs - accounted).toFixed(0)} ms`);
      accounted = service.schedule.totalMs;
    });
    const began = performance.now();
    await runProgram(tf, run, ds, { ...options, onProcedure: live.onProcedure, gradientTap: live.gradientTap, onStep: (r) => live.afterStep(r.step) });
    const ms = performance.now() - began;
    live.dispose();
    run.dispose();
    return { ms, each, refreshMs: service.schedule.totalMs };
  };
  // Off and on alternate, twice, so that load from other processes hits both.
  const off: number[] = [];
  const on: Array<Awaited<ReturnType<typeof timeRun>>> = [];
  for (let r = 0; r < 2; r++) {
    off.push((await timeRun(false)).ms);
    on.push(await timeRun(true));
  }
  for (const [i, result] of on.entries())
    console.log(
      `SimSiam (train procedure, ${PROGRAM_STEPS} steps of 32, encoder on show), run ${i + 1}: ${result.each.length} refreshes (${result.each.join(', ')}) took ${result.refreshMs.toFixed(0)} ms, ${((100 * result.refreshMs) / result.ms).toFixed(2)}% of the run's ${(result.ms / 1000).toFixed(1)} s`,
    );
  const a = median(off);
  const b = median(on.map((r) => r.ms));
  console.log(
    `SimSiam wall clock with refreshes against without: ${(((b - a) / a) * 100).toFixed(1)}% (without ${off.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s; with ${on.map((r) => (r.ms / 1000).toFixed(1)).join(', ')} s; moves with other load)`,
  );
}

async function main() {
  const status = await useWasmBackend({ threads: 1 });
  console.log(`backend ${tf.getBackend()}, ${status.threads} thread`);
  if (PART === 'program') {
    await programRefreshShare(await loadMnistNode());
    return;
  }
  const { doc, plan } = convmixer();
  const edited = planOf({ ...doc, nodes: doc.nodes.map((n) => (n.id === 'mixer' ? { ...n, params: { ...n.params, kernelSize: 3 } } : n)) });
  const ds = await loadMnistNode();
  const digit = ds.test.x.slice(0, 28 * 28);
  await refreshAfterEdit('ConvMixer mnist', plan, edited, digit);
  const chain = chainGraph(1000);
  const chainPlan = planOf(chain);
  const chainEdited = planOf({ ...chain, nodes: chain.nodes.map((n, i) => (i === 500 ? { ...n, params: { ...n.params, activation: 'relu' } } : n)) });
  await refreshAfterEdit(
    '1,000-node chain',
    chainPlan,
    chainEdited,
    Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
  );

  // During a run: previews, weight histograms, the step's gradients' histograms and the outputs over
  // 64 held-out digits, part by part (a training step's gradients, kept by the tap, to measure their reading).
  const batch = activationBatchOf(ds)!;
  const setup = { ...doc.training!, epochs: 1, batchSize: 32, seed: 0 } as Parameters<typeof trainClassifier>[3];
  const model = buildModel(plan, { seed: 0 });
  let kept: Map<string, tf.Tensor> | undefined;
  const stepTimes: number[] = [];
  {
    let at = 0;
    await trainClassifier(tf, model, ds, setup, {
      limit: 6 * 32,
      hooks: {
        gradientTap: { wanted: (step) => step === 6, take: (g) => (kept = g) },
        waitWhilePaused: async () => void (at = performance.now()),
        onStep: () => void stepTimes.push(performance.now() - at),
      },
    });
  }
  const parts = { previews: [] as number[], weights: [] as number[], gradients: [] as number[], activations: [] as number[], all: [] as number[] };
  const time = async (list: number[], f: () => Promise<unknown>) => {
    const began = performance.now();
    await f();
    list.push(performance.now() - began);
  };
  for (let i = 0; i < 5; i++) {
    await time(parts.previews, () => previewModel(plan, model, digit));
    await time(parts.weights, () => weightsByNode(plan, model));
    await time(parts.gradients, () => gradientsByNode(plan, model, kept!));
    await time(parts.activations, () => activationsByNode(plan, model, batch));
    await time(parts.all, () =>
      Promise.all([previewModel(plan, model, digit), weightsByNode(plan, model), gradientsByNode(plan, model, kept!), activationsByNode(plan, model, batch)]),
    );
  }
  tf.dispose([...kept!.values()]);
  model.dispose();
  const m = (xs: number[]) => median(xs.slice(1)).toFixed(0);
  console.log(
    `ConvMixer mnist: one refresh during a run ${m(parts.all)} ms: previews ${m(parts.previews)}, weight histograms ${m(parts.weights)}, the step's gradients ${m(parts.gradients)}, outputs over ${batch.count} held-out digits ${m(parts.activations)} (a training step of 32: ${m(stepTimes)} ms)`,
  );

  // Training slowdown: the same run with and without refreshes, interleaved.
  const limit = STEPS * 32;
  const timeRun = async (withPreviews: boolean) => {
    const m = buildModel(plan, { seed: 0 });
    const schedule = new RefreshSchedule();
    let tapped: Map<string, tf.Tensor> | undefined;
    let refreshAt = -1;
    const began = performance.now();
    await trainClassifier(tf, m, ds, setup, {
      limit,
      hooks: {
        // As the worker: the step that ends with a refresh is chosen before it, and keeps its gradients.
        gradientTap: {
          wanted: (step, last) => withPreviews && (last || schedule.due(step, performance.now())) && (refreshAt = step) === step,
          take: (g) => (tapped = g),
        },
        onStep: async (report) => {
          if (report.step !== refreshAt) return;
          const at = performance.now();
          await Promise.all([previewModel(plan, m, digit), weightsByNode(plan, m), gradientsByNode(plan, m, tapped!), activationsByNode(plan, m, batch)]);
          tf.dispose([...tapped!.values()]);
          tapped = undefined;
          schedule.done(report.step, at, performance.now());
        },
      },
    });
    const ms = performance.now() - began;
    m.dispose();
    return { ms, refreshes: schedule.count, refreshMs: schedule.totalMs };
  };
  const without: number[] = [];
  const withP: number[] = [];
  // The refreshes' own time as a share of the runs they were part of: robust to load from other
  // processes, which on a shared machine moves whole runs by far more than the refreshes cost.
  let refreshMs = 0,
    withMs = 0;
  for (let r = 0; r < RUNS; r++) {
    // Alternate which goes first.
    const pair = r % 2 === 0 ? [false, true] : [true, false];
    for (const on of pair) {
      const result = await timeRun(on);
      (on ? withP : without).push(result.ms);
      if (on) {
        refreshMs += result.refreshMs;
        withMs += result.ms;
      }
      console.log(
        `  run ${r + 1} ${on ? 'with' : 'without'} previews: ${(result.ms / 1000).toFixed(2)} s for ${STEPS} steps${on ? `, ${result.refreshes} refreshes taking ${result.refreshMs.toFixed(0)} ms` : ''}`,
      );
    }
  }
  const a = median(without),
    b = median(withP);
  console.log(
    `refreshes took ${((100 * refreshMs) / withMs).toFixed(2)}% of the runs with previews on (${refreshMs.toFixed(0)} ms of ${(withMs / 1000).toFixed(1)} s)`,
  );
  console.log(
    `wall clock with previews on against off: ${(((b - a) / a) * 100).toFixed(1)}% (median ${(a / 1000).toFixed(2)} s → ${(b / 1000).toFixed(2)} s; on a shared machine this moves with other load)`,
  );
  await programRefreshShare(ds);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
