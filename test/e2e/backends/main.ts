/**
 * A test-only page (built by test/e2e/backend-equivalence.e2e.test.ts, not part of the app): trains
 * small versions of the templates' graphs for a few steps on wasm, webgl and webgpu, each from the
 * same initial weights and the same batches, and publishes the losses, outputs and final weights on
 * `window.__backendCheck` for the test to compare. Backends start through the app's own
 * `selectBackend`, so a backend that cannot start shows up as a fallback, not as a silent pass.
 */
import * as tf from '@tensorflow/tfjs';
import { analyze } from '../../../src/compiler/infer';
import { lower } from '../../../src/compiler/lower';
import { analyzeProgram, lowerProgram } from '../../../src/compiler/program';
import { probeBackends, selectBackend } from '../../../src/runtime/backends';
import { buildModel } from '../../../src/runtime/build';
import type { Dataset } from '../../../src/runtime/data/dataset';
import { createCustomLayer } from '../../../src/runtime/custom-layers';
import { flowForward, sampleFlow } from '../../../src/runtime/program/flows';
import { ProgramRun, runProgram } from '../../../src/runtime/program/run';
import { trainClassifier } from '../../../src/runtime/training/train';
import type { BackendName } from '../../../src/runtime/worker/protocol';
import { templateDocument } from '../../../templates/index';

interface Case {
  id: string;
  template: string;
  /** Node params to override (shrunk so that a step on SwiftShader takes seconds, not minutes). */
  set: Record<string, Record<string, unknown>>;
  repeat?: Record<string, number>;
}

const CASES: Case[] = [
  { id: 'convmixer', template: 'convmixer', set: { stem: { dim: 8, patchSize: 4 }, mixer: { kernelSize: 3 } }, repeat: { mixer: 1 } },
  {
    id: 'mlp-mixer',
    template: 'mlp-mixer',
    set: { augment: { pixels: 0 }, stem: { dim: 16, patchSize: 7 }, mixer: { tokenMlpDim: 8, channelMlpDim: 32 } },
    repeat: { mixer: 1 },
  },
  // Multi-head attention, class token, position embedding, take token, exact GELU, LayerNorm.
  {
    id: 'vit',
    template: 'vit',
    set: { augment: { pixels: 0 }, stem: { dim: 16, patchSize: 7 }, encoder: { numHeads: 2, mlpDim: 32 } },
    repeat: { encoder: 1 },
  },
];

const BATCH = 8;
const STEPS = 3;

/** Deterministic values in [0, 1): the same batches on every backend. */
function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 32;
  }
  return out;
}

function modelOf(c: Case): tf.LayersModel {
  const made = templateDocument(c.template);
  if ('error' in made) throw new Error(made.error);
  const doc = made.doc;
  for (const node of doc.nodes) {
    if (c.set[node.id]) node.params = { ...node.params, ...c.set[node.id] };
    if (c.repeat?.[node.id] !== undefined) node.repeat = c.repeat[node.id];
  }
  const { plan, diagnostics } = lower(analyze(doc));
  if (!plan) throw new Error(`${c.id}: ${diagnostics.map((d) => d.message).join('; ')}`);
  return buildModel(plan, { seed: 1 });
}

interface CaseResult {
  losses: number[];
  /** The untrained model's output on the first batch. */
  output: number[];
  weights: number[][];
  error?: string;
}

/**
 * The app's own training loop (trainClassifier: shuffling, Adam, the per-epoch evaluation that reads
 * results back) on the small ConvMixer: one epoch of 32 examples in batches of 8, then 16 held out.
 */
async function appLoop(initial: Map<string, Float32Array[]>): Promise<CaseResult> {
  try {
    const c = CASES[0]!;
    const model = modelOf(c);
    model.setWeights(initial.get(c.id)!.map((v, i) => tf.tensor(v, model.weights[i]!.shape as number[])));
    const split = (count: number, seed: number) => ({ x: values(count * 28 * 28, seed), y: Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10), count });
    const ds: Dataset = {
      name: 'check',
      inputShape: [28, 28, 1],
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      train: split(32, 21),
      test: split(16, 22),
    };
    const made = templateDocument(c.template);
    if ('error' in made) throw new Error(made.error);
    const result = await trainClassifier(tf, model, ds, { ...made.doc.training!, epochs: 1, batchSize: 8 });
    if (result.status !== 'completed' || !result.final) throw new Error(result.message ?? result.status);
    const losses = [...result.steps.map((s) => s.loss), result.final.test.loss];
    const weights = await Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
    model.dispose();
    return { losses, output: [result.final.test.accuracy], weights };
  } catch (err) {
    return { losses: [], output: [], weights: [], error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * A training program through the app's interpreter (ProgramRun, runProgram: the worker's path) on
 * 32 deterministic examples (8 held out), one batch per procedure: distillation's student trained
 * on the (frozen, untrained here) teacher's softened outputs, then its evaluation given a linear
 * probe (with its random-init baseline), kNN and the collapse monitor on the student's outputs, so
 * that every read-back of the evaluation runs. (SimSiam and Glow take 20–50 s a backend on SwiftShader, mostly compiling
 * shaders: the flow layers are checked on their own below.)
 */
const PROGRAMS = ['distillation'] as const;
const PROGRAM_LIMIT = 32;
const PROGRAM_BATCH = 32;

/** Evaluation nodes added to a template's procedure, wired to `from` (a network node's output) and the data's labels. */
function addMeasures(doc: Extract<ReturnType<typeof templateDocument>, { doc: unknown }>['doc'], procedure: string, from: { node: string; port: string }) {
  const proc = doc.program!.procedures.find((p) => p.id === procedure)!;
  const at = (i: number) => ({ x: 600, y: 130 * i });
  proc.nodes.push(
    {
      id: 'probe',
      type: 'LinearProbe',
      params: { metric: 'linearProbeAccuracy', randomInitMetric: 'baselines.randomInitLinearProbe', epochs: 3 },
      position: at(0),
    },
    { id: 'knn', type: 'KNearestNeighbours', params: { metric: 'knnAccuracy', k: 5 }, position: at(1) },
    { id: 'collapse', type: 'CollapseMonitor', params: { metric: 'collapseStd' }, position: at(2) },
  );
  for (const target of ['probe', 'knn', 'collapse']) {
    proc.edges.push({ id: `${target}-features`, source: from.node, sourcePort: from.port, target, targetPort: 'features' });
    if (target !== 'collapse') proc.edges.push({ id: `${target}-label`, source: 'data', sourcePort: 'label', target, targetPort: 'label' });
  }
}

interface ProgramResult {
  /** Every loss of every step, procedure by procedure. */
  losses: number[];
  /** The evaluation's results, dotted names flattened. */
  metrics: Record<string, number>;
  error?: string;
}

function flatten(metrics: Record<string, unknown>, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v === 'number') out[prefix + k] = v;
    else if (v && typeof v === 'object') Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`));
  }
  return out;
}

async function runProgramCase(id: string, initial: Map<string, Float32Array[]>): Promise<ProgramResult> {
  let run: ProgramRun | undefined;
  try {
    const made = templateDocument(id);
    if ('error' in made) throw new Error(made.error);
    if (id === 'distillation') {
      // Only the distilling procedure (a frozen teacher, the softened-output loss) and the evaluation:
      // on SwiftShader's webgpu each procedure's first step costs seconds of shader compiling.
      made.doc.program!.procedures = made.doc.program!.procedures.filter((p) => p.id === 'distil' || p.id === 'evaluate');
      addMeasures(made.doc, 'evaluate', { node: 'model', port: 'out' });
    }
    const { program, diagnostics } = lowerProgram(analyzeProgram(made.doc)!);
    if (!program) throw new Error(`${id}: ${diagnostics.map((d) => d.message).join('; ')}`);
    run = new ProgramRun(tf, program, 0);
    // Every backend starts from the weights the first one drew (its baselines too).
    for (const [net, state] of run.networks) {
      const key = `${id}/${net}`;
      if (!initial.has(key)) initial.set(key, await Promise.all(state.model.getWeights().map(async (w) => (await w.data()) as Float32Array)));
      const weights = initial.get(key)!.map((v, i) => tf.tensor(v, state.model.weights[i]!.shape as number[]));
      state.model.setWeights(weights);
      tf.dispose(state.initial);
      state.initial = weights;
    }
    const split = (count: number, seed: number) => ({ x: values(count * 28 * 28, seed), y: Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10), count });
    const ds: Dataset = {
      name: 'check',
      inputShape: [28, 28, 1],
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      train: split(PROGRAM_LIMIT, 31),
      test: split(PROGRAM_LIMIT, 32),
    };
    let t0 = performance.now();
    const took = (what: string) => {
      console.log(`  ${tf.getBackend()} ${id} ${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      t0 = performance.now();
    };
    let last = '';
    const result = await runProgram(tf, run, ds, {
      seed: 0,
      batchSize: PROGRAM_BATCH,
      epochs: 1,
      epochsOverride: 1,
      limit: PROGRAM_LIMIT,
      onProcedure: (p) => {
        if (last) took(last);
        last = p.id;
      },
    });
    took(last);
    if (result.status !== 'completed') throw new Error(result.message ?? result.status);
    const losses = result.procedures.flatMap((p) => Object.values(p.curves).flat());
    return { losses, metrics: flatten(result.metrics) };
  } catch (err) {
    return { losses: [], metrics: {}, error: err instanceof Error ? err.message : String(err) };
  } finally {
    run?.dispose();
  }
}

interface FlowResult {
  /** The invertible 1×1 conv's weights as built from its seeded rotation (LU factors, in JS). */
  rotation: number[];
  /** z and log|det J| of the first batch, which also starts ActNorm (data-dependent init). */
  z: number[];
  logdet: number[];
  /** ActNorm's weights after that batch: log scale, bias, the initialised flag. */
  actNorm: number[];
  /** Samples drawn backwards (sampleFlow: W⁻¹ read ahead with data()). */
  samples: number[];
  error?: string;
}

/**
 * Glow's flow layers on their own (SwiftShader compiles a shader for every new shape, so the Glow
 * template's two steps take 20 s a backend): ActNorm, an invertible 1×1 conv with a seeded starting
 * rotation, and a channel coupling on [4, 4, 4], forward on a batch and then sampled backwards.
 */
async function flowLayers(initial: Map<string, Float32Array[]>): Promise<FlowResult> {
  let model: tf.LayersModel | undefined;
  try {
    const input = tf.input({ shape: [4, 4, 4] });
    const actNorm = createCustomLayer('PatchbayActNorm', {})!;
    const conv = createCustomLayer('PatchbayInvertibleConv1x1', {})!;
    (conv as unknown as { rotationInitializer: unknown }).rotationInitializer = tf.initializers.orthogonal({ seed: 3 });
    const coupling = createCustomLayer('PatchbayAffineCoupling', { hidden: 4, mask: 'channel', parity: 0 })!;
    const output = coupling.apply(conv.apply(actNorm.apply(input))) as tf.SymbolicTensor;
    model = tf.model({ inputs: input, outputs: output });
    const rotation = (await Promise.all(conv.getWeights().map(async (w) => Array.from(await w.data())))).flat();
    // The coupling's convolutions start unseeded: every backend takes the first one's weights.
    if (!initial.has('flow')) initial.set('flow', await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array)));
    model.setWeights(initial.get('flow')!.map((v, i) => tf.tensor(v, model!.weights[i]!.shape as number[])));
    const x = tf.tensor4d(values(8 * 64, 41), [8, 4, 4, 4]);
    const out = flowForward(tf, model, x);
    const [z, logdet] = [Array.from(await out.z.data()), Array.from(await out.logdet.data())];
    tf.dispose([x, out.z, out.logdet]);
    const actNormWeights = (await Promise.all(actNorm.getWeights().map(async (w) => Array.from(await w.data())))).flat();
    const drawn = await sampleFlow(tf, model, 2, [4, 4, 4], 5);
    const samples = Array.from(await drawn.data());
    drawn.dispose();
    return { rotation, z, logdet, actNorm: actNormWeights, samples };
  } catch (err) {
    return { rotation: [], z: [], logdet: [], actNorm: [], samples: [], error: err instanceof Error ? err.message : String(err) };
  } finally {
    model?.dispose();
  }
}

async function run() {
  const probe = await probeBackends();
  const initial = new Map<string, Float32Array[]>();
  const programInitial = new Map<string, Float32Array[]>();
  const backends: Record<
    string,
    { active: string; reason: string; cases: Record<string, CaseResult>; programs: Record<string, ProgramResult>; flow: FlowResult }
  > = {};
  // ?backends=webgpu,wasm runs a subset, in that order (for looking into one backend by hand).
  const requested = new URLSearchParams(location.search).get('backends')?.split(',') ?? ['wasm', 'webgl', 'webgpu'];
  for (const backend of requested as BackendName[]) {
    const selected = await selectBackend(backend, probe);
    const cases: Record<string, CaseResult> = {};
    for (const c of CASES) {
      try {
        const model = modelOf(c);
        // Every backend starts from the weights the first one drew.
        // Read asynchronously: webgpu has no synchronous read-back.
        if (!initial.has(c.id)) initial.set(c.id, await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array)));
        model.setWeights(initial.get(c.id)!.map((v, i) => tf.tensor(v, model.weights[i]!.shape as number[])));
        model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
        const [h, w, ch] = (model.inputs[0]!.shape as number[]).slice(1) as [number, number, number];
        const batches = Array.from({ length: STEPS }, (_, s) => ({
          x: tf.tensor4d(values(BATCH * h * w * ch, 11 + s), [BATCH, h, w, ch]),
          y: tf.oneHot(
            tf.tensor1d(
              Array.from({ length: BATCH }, (_, i) => (i * 3 + s) % 10),
              'int32',
            ),
            10,
          ),
        }));
        const predicted = model.predict(batches[0]!.x) as tf.Tensor;
        const output = Array.from(await predicted.data());
        predicted.dispose();
        const losses: number[] = [];
        for (const b of batches) losses.push(Number(await model.trainOnBatch(b.x, b.y)));
        const weights = await Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
        cases[c.id] = { losses, output, weights };
        tf.dispose(batches.flatMap((b) => [b.x, b.y]));
        model.dispose();
      } catch (err) {
        cases[c.id] = { losses: [], output: [], weights: [], error: err instanceof Error ? err.message : String(err) };
      }
    }
    cases['app loop'] = await appLoop(initial);
    const programs: Record<string, ProgramResult> = {};
    for (const id of PROGRAMS) {
      const t0 = performance.now();
      programs[id] = await runProgramCase(id, programInitial);
      console.log(`${backend} ${id}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const t0 = performance.now();
    const flow = await flowLayers(initial);
    console.log(`${backend} flow layers: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    backends[backend] = { active: tf.getBackend(), reason: selected.reason, cases, programs, flow };
  }
  (window as unknown as { __backendCheck: unknown }).__backendCheck = { probe, backends };
  document.getElementById('status')!.textContent = 'Done';
}

run().catch((err) => {
  (window as unknown as { __backendCheck: unknown }).__backendCheck = { fatal: err instanceof Error ? err.message : String(err) };
});
