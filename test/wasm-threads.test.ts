/**
 * Threads must not move results: a small convolutional graph (ConvMixer: patch embedding with
 * BatchNorm, depthwise and pointwise convolutions, GELU, then a 3×3 stride-2 conv) and an MLP-Mixer block (token and channel
 * MLPs on rank-3 input, LayerNorm), built by Patchbay's compiler, train 4 Adam steps from the same
 * weights on the same batch on tfjs's CPU backend, on wasm with one thread and on wasm with two
 * threads (the threaded SIMD build, its pool really running: the test checks the thread count).
 * Losses and trained weights must agree within the tolerances below.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { getLibraryBlock } from '../src/nodes/blocks/index';
import { buildModel } from '../src/runtime/build';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { graph } from './helpers/graphs';

/**
 * Float32 kernels that sum in another order (XNNPACK against tfjs's JS loops, or one thread's
 * share against another's) differ in the last bits; 4 Adam steps carry that into the weights.
 * Measured (both graphs): losses within 1.1e-7 relative, weights within 5.4e-5 of their scale, cpu
 * against wasm; one thread and two threads came out bit-identical. The bounds leave about 10×.
 */
const LOSS_TOLERANCE = 1e-6;
const WEIGHT_TOLERANCE = 5e-4;
const STEPS = 4;
const BATCH = 8;

/** Deterministic pseudo-random values in [0, 1). */
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

const CONV = graph(
  [
    { id: 'in', type: 'Input', params: { shape: [12, 12, 1] } },
    { id: 'stem', type: 'Block', block: 'PatchEmbed', params: { dim: 8, patchSize: 2, activation: 'gelu', batchNorm: true, tokens: false } },
    { id: 'mix', type: 'Block', block: 'ConvMixerBlock', params: { kernelSize: 3, activation: 'gelu' } },
    // A regular strided conv: its filter gradient is a dilated convolution, its input gradient stride phases.
    { id: 'down', type: 'Conv2D', params: { filters: 8, kernelSize: 3, strides: 2, padding: 'same' } },
    { id: 'pool', type: 'GlobalAveragePooling2D' },
    { id: 'head', type: 'Dense', params: { units: 10, activation: 'softmax' } },
    { id: 'out', type: 'Output' },
  ],
  [
    ['in', 'stem', 'x'],
    ['stem', 'mix', 'x', 'y'],
    ['mix', 'down', 'in', 'y'],
    ['down', 'pool'],
    ['pool', 'head'],
    ['head', 'out'],
  ],
  { blocks: [getLibraryBlock('PatchEmbed')!, getLibraryBlock('ConvMixerBlock')!] },
);

const MIXER = graph(
  [
    { id: 'in', type: 'Input', params: { shape: [12, 12, 1] } },
    { id: 'stem', type: 'Block', block: 'PatchEmbed', params: { dim: 16, patchSize: 3, activation: 'linear', batchNorm: false, tokens: true } },
    { id: 'mix', type: 'Block', block: 'MixerBlock', params: { tokenMlpDim: 8, channelMlpDim: 32 } },
    { id: 'norm', type: 'LayerNormalization', params: { epsilon: 1e-6 } },
    { id: 'pool', type: 'GlobalAveragePooling1D' },
    { id: 'head', type: 'Dense', params: { units: 10, activation: 'softmax' } },
    { id: 'out', type: 'Output' },
  ],
  [
    ['in', 'stem', 'x'],
    ['stem', 'mix', 'x', 'y'],
    ['mix', 'norm', 'in', 'y'],
    ['norm', 'pool'],
    ['pool', 'head'],
    ['head', 'out'],
  ],
  { blocks: [getLibraryBlock('PatchEmbed')!, getLibraryBlock('MixerBlock')!] },
);

type Setting = 'cpu' | 'wasm, 1 thread' | 'wasm, 2 threads';
interface Trained {
  losses: number[];
  weights: Float32Array[];
}

async function use(setting: Setting): Promise<void> {
  if (setting === 'cpu') {
    await tf.setBackend('cpu');
    await tf.ready();
    return;
  }
  const threads = setting === 'wasm, 1 thread' ? 1 : 2;
  const status = await useWasmBackend({ threads });
  // The comparison means nothing unless the pool really runs that many threads.
  expect(status).toMatchObject({ threads });
}

function planOf(doc: typeof CONV) {
  const { plan, diagnostics } = lower(analyze(doc));
  if (!plan) throw new Error(`the test graph does not lower: ${diagnostics.map((d) => d.message).join('; ')}`);
  return plan;
}

/** Builds the graph on the active backend, loads `initial`, trains STEPS steps on one batch. */
async function train(doc: typeof CONV, initial: Float32Array[]): Promise<Trained> {
  const model = buildModel(planOf(doc), { seed: 0 });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(initial[i]!, w.shape)));
  // Adam's ε is 1e-3, not 1e-7: the Mixer's token-MLP output bias has a gradient that is zero in
  // exact arithmetic (every LayerNorm after it removes a per-token constant), and with ε = 1e-7
  // Adam turns its float32 noise (~1e-9, different on each backend) into whole ±lr steps.
  model.compile({ optimizer: tf.train.adam(1e-2, 0.9, 0.999, 1e-3), loss: 'categoricalCrossentropy' });
  const xs = tf.tensor(values(BATCH * 144, 7), [BATCH, 12, 12, 1]);
  const ys = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: BATCH }, (_, i) => (i * 3) % 10),
      'int32',
    ),
    10,
  );
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) losses.push((await model.trainOnBatch(xs, ys)) as number);
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  tf.dispose([xs, ys]);
  model.dispose();
  return { losses, weights };
}

/**
 * max |a − b| over all weights, each tensor's divided by its scale: its largest |b|, but at least
 * 0.01, so that a tensor that stays near zero (a bias whose gradient is zero in exact arithmetic
 * and float noise otherwise) is compared in absolute terms rather than noise against noise.
 */
function weightError(a: Float32Array[], b: Float32Array[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (const [i, x] of a.entries()) {
    const y = b[i]!;
    let diff = 0;
    let scale = 0.01;
    for (let j = 0; j < y.length; j++) {
      diff = Math.max(diff, Math.abs(x[j]! - y[j]!));
      scale = Math.max(scale, Math.abs(y[j]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

const lossError = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!)));

describe('wasm threads do not change results', () => {
  afterAll(async () => {
    await useWasmBackend({ threads: 1 });
  });

  for (const [name, doc] of [
    ['ConvMixer graph', CONV],
    ['Mixer block', MIXER],
  ] as const) {
    it(`${name}: cpu, wasm on 1 thread and on 2 threads train alike`, async () => {
      await use('cpu');
      const seed = buildModel(planOf(doc), { seed: 0 });
      const initial = seed.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      seed.dispose();
      const results = new Map<Setting, Trained>();
      for (const setting of ['cpu', 'wasm, 1 thread', 'wasm, 2 threads'] as const) {
        await use(setting);
        results.set(setting, await train(doc, initial));
      }
      const cpu = results.get('cpu')!;
      const one = results.get('wasm, 1 thread')!;
      const two = results.get('wasm, 2 threads')!;
      // It trained: the loss moved on every backend.
      for (const r of results.values()) expect(Math.abs(r.losses[STEPS - 1]! - r.losses[0]!)).toBeGreaterThan(1e-3);
      const report = {
        oneVsCpu: { loss: lossError(one.losses, cpu.losses), weights: weightError(one.weights, cpu.weights) },
        twoVsCpu: { loss: lossError(two.losses, cpu.losses), weights: weightError(two.weights, cpu.weights) },
        twoVsOne: { loss: lossError(two.losses, one.losses), weights: weightError(two.weights, one.weights) },
      };
      console.log(name, JSON.stringify(report));
      for (const pair of Object.values(report)) {
        expect(pair.loss).toBeLessThan(LOSS_TOLERANCE);
        expect(pair.weights).toBeLessThan(WEIGHT_TOLERANCE);
      }
    });
  }
});
