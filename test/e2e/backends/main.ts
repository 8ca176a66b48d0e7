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
import { probeBackends, selectBackend } from '../../../src/runtime/backends';
import { buildModel } from '../../../src/runtime/build';
import type { Dataset } from '../../../src/runtime/data/dataset';
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

async function run() {
  const probe = await probeBackends();
  const initial = new Map<string, Float32Array[]>();
  const backends: Record<string, { active: string; reason: string; cases: Record<string, CaseResult> }> = {};
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
    backends[backend] = { active: tf.getBackend(), reason: selected.reason, cases };
  }
  (window as unknown as { __backendCheck: unknown }).__backendCheck = { probe, backends };
  document.getElementById('status')!.textContent = 'Done';
}

run().catch((err) => {
  (window as unknown as { __backendCheck: unknown }).__backendCheck = { fatal: err instanceof Error ? err.message : String(err) };
});
