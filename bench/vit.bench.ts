/**
 * Vision Transformer benchmarks on the wasm backend in Node. Run with `npx tsx bench/vit.bench.ts [--attention]`.
 *
 * 1. Attention forward + backward at the `vit` template's `mnist` sizes (its tokens, width and heads,
 *    batch 32): our PatchbayMultiHeadSelfAttention layer against the same computation written with
 *    plain tfjs ops (split q/k/v, rank-4 transposes and matMuls, softmax) on the same weights; both
 *    differentiated by tf.variableGrads for the input and the four weights, steps interleaved and
 *    alternating which goes first, medians after warm-up. Ratio = plain time / layer time (≥ 1: the
 *    layer is as fast or faster).
 * 2. The template's `mnist` training step (trainOnBatch, Adam 1e-3, batch 32) against the same ViT in
 *    PyTorch on the CPU (bench/torch_vit.py, given the preset's sizes; the parameter counts must agree),
 *    PyTorch in blocks alternating with the tfjs steps, on 2 and 1 threads; the ratio uses the faster.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { templateDocument } from '../templates/index';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { buildModel } from '../src/runtime/build';
import { createCustomLayer } from '../src/runtime/custom-layers';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { fuseAdamOnWasm } from '../src/runtime/fused-adam';

const BATCH = 32;
const WARMUP = 2;
const STEPS = Number(process.env.STEPS ?? 10);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

function table(title: string, rows: [string, string][]): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

/** The mnist preset's sizes, read from the template rather than repeated here. */
function presetSizes() {
  const t = templateDocument('vit', 'mnist');
  if ('error' in t) throw new Error(t.error);
  const node = (id: string) => t.doc.nodes.find((n) => n.id === id)!;
  const stem = node('stem').params as { dim: number; patchSize: number };
  const encoder = node('encoder');
  const p = encoder.params as { numHeads: number; mlpDim: number };
  return {
    doc: t.doc,
    dim: stem.dim,
    patch: stem.patchSize,
    heads: p.numHeads,
    mlp: p.mlpDim,
    depth: encoder.repeat ?? 1,
    tokens: (28 / stem.patchSize) ** 2 + 1,
  };
}

/** Multi-head self-attention from plain tfjs ops, as a person would write it without a layer. */
function plainAttention(x: tf.Tensor3D, w: tf.Variable[], heads: number): tf.Tensor {
  const [qkvKernel, qkvBias, outKernel, outBias] = w as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const [b, n, d] = x.shape;
  const size = d / heads;
  const qkv = tf.add(tf.matMul(tf.reshape(x, [b * n, d]), qkvKernel), qkvBias);
  const [q, k, v] = tf.split(qkv, 3, 1).map((t) => tf.transpose(tf.reshape(t, [b, n, heads, size]), [0, 2, 1, 3]) as tf.Tensor4D);
  const weights = tf.softmax(tf.div(tf.matMul(q!, k!, false, true), Math.sqrt(size)));
  const heads4 = tf.transpose(tf.matMul(weights, v!), [0, 2, 1, 3]);
  return tf.reshape(tf.add(tf.matMul(tf.reshape(heads4, [b * n, d]), outKernel), outBias), [b, n, d]);
}

async function attention(sizes: ReturnType<typeof presetSizes>): Promise<void> {
  const { dim, heads, tokens } = sizes;
  const layer = createCustomLayer('PatchbayMultiHeadSelfAttention', { numHeads: heads })!;
  layer.build([BATCH, tokens, dim]);
  const weights = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const x = tf.variable(tf.randomNormal([BATCH, tokens, dim], 0, 1, 'float32', 1));
  const up = tf.randomNormal([BATCH, tokens, dim], 0, 1, 'float32', 2);
  const all = [x, ...weights];
  const run = (f: () => tf.Tensor) => {
    const t = performance.now();
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(), up)) as tf.Scalar, all);
      value.dataSync();
      Object.values(grads).forEach((g) => g.dataSync());
    });
    return performance.now() - t;
  };
  const ours = () => layer.apply(x) as tf.Tensor;
  const plain = () => plainAttention(x as unknown as tf.Tensor3D, weights, heads);
  // Same results first: the comparison is between equal computations.
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ours(), plain()))).dataSync()[0]!);
  const times = { ours: [] as number[], plain: [] as number[] };
  for (let i = 0; i < WARMUP + 2 * STEPS; i++) {
    const order = i % 2 ? (['plain', 'ours'] as const) : (['ours', 'plain'] as const);
    for (const which of order) {
      const t = run(which === 'ours' ? ours : plain);
      if (i >= WARMUP) times[which].push(t);
    }
  }
  const [o, p] = [median(times.ours), median(times.plain)];
  table(`Attention forward + backward, ${BATCH} × ${tokens} tokens × width ${dim}, ${heads} heads (vit mnist sizes), median of ${times.ours.length}`, [
    ['PatchbayMultiHeadSelfAttention layer', ms(o)],
    ['plain tfjs ops (split, rank-4 transposes)', ms(p)],
    ['plain / layer time, medians (≥ 0.95 wanted)', `${(p / o).toFixed(2)}`],
    ['plain / layer time, fastest of each (less sensitive to other load)', `${(Math.min(...times.plain) / Math.min(...times.ours)).toFixed(2)}`],
    ['max |layer − plain| output', diff.toExponential(1)],
  ]);
  tf.dispose([x, up]);
  layer.weights.forEach((w) => w.dispose());
}

function pytorch(sizes: ReturnType<typeof presetSizes>, steps: number, threads: number): { ms: number; params: number } | { skipped: string } {
  const python = ['python3', '/usr/bin/python3'].find((exe) => {
    const probe = spawnSync(exe, ['-c', 'import torch'], { encoding: 'utf8' });
    return !probe.error && probe.status === 0;
  });
  if (!python) return { skipped: 'python3 cannot import torch (Debian python3-torch is not installed)' };
  const script = fileURLToPath(new URL('./torch_vit.py', import.meta.url));
  const args = ['--batch', BATCH, '--warmup', WARMUP, '--steps', steps, '--threads', threads, '--dim', sizes.dim, '--depth', sizes.depth];
  args.push('--heads', sizes.heads, '--mlp', sizes.mlp, '--patch', sizes.patch);
  const run = spawnSync(python, [script, ...args.map(String)], { encoding: 'utf8' });
  const m = /median_ms_per_step=([\d.]+)/.exec(run.stdout ?? '');
  const params = /params=(\d+)/.exec(run.stdout ?? '');
  if (run.status !== 0 || !m || !params) return { skipped: `torch_vit.py failed: ${(run.stderr || run.stdout || '').trim().split('\n').pop()}` };
  return { ms: Number(m[1]), params: Number(params[1]) };
}

async function step(sizes: ReturnType<typeof presetSizes>): Promise<void> {
  const { plan, diagnostics } = lower(analyze(sizes.doc));
  if (!plan) throw new Error(`The vit template does not lower: ${diagnostics.map((d) => d.message).join('; ')}`);
  const model = buildModel(plan, { seed: 0 });
  const optimizer = tf.train.adam(1e-3);
  fuseAdamOnWasm(tf, optimizer); // as the app trains (src/runtime/training/train.ts)
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const xs = tf.randomUniform([BATCH, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const timeStep = async () => {
    const t = performance.now();
    await model.trainOnBatch(xs, ys);
    return performance.now() - t;
  };
  for (let i = 0; i < WARMUP; i++) await timeStep();
  const BLOCKS = 3;
  const perBlock = Math.max(2, Math.ceil(STEPS / BLOCKS));
  const tfjs: number[] = [];
  const torch: Record<1 | 2, number[]> = { 1: [], 2: [] };
  let skipped = '';
  const runTorch = () => {
    for (const threads of [2, 1] as const) {
      const r = pytorch(sizes, perBlock, threads);
      if ('skipped' in r) skipped = r.skipped;
      else if (r.params !== model.countParams()) skipped = `PyTorch's model has ${r.params} params, the template ${model.countParams()}`;
      else torch[threads].push(r.ms);
    }
  };
  for (let b = 0; b < BLOCKS; b++) {
    if (!skipped) runTorch();
    for (let i = 0; i < perBlock; i++) tfjs.push(await timeStep());
  }
  if (!skipped) runTorch();
  const before = tf.memory().numTensors;
  await model.trainOnBatch(xs, ys);
  const leaked = tf.memory().numTensors - before;
  const s = median(tfjs);
  const rows: [string, string][] = [
    ['template (tfjs-wasm): trainOnBatch, ms/step', ms(s)],
    ['template: min / max ms/step', `${ms(Math.min(...tfjs))} / ${ms(Math.max(...tfjs))}`],
    ['tensors leaked per step', String(leaked)],
  ];
  if (skipped) rows.push(['PyTorch', `skipped: ${skipped}`]);
  else {
    const [one, two] = [median(torch[1]), median(torch[2])];
    rows.push(['PyTorch (CPU, 2 threads): ms/step, median of blocks', ms(two)]);
    rows.push(['PyTorch (CPU, 1 thread): ms/step, median of blocks', ms(one)]);
    rows.push([`tfjs-wasm / PyTorch (${one < two ? '1 thread' : '2 threads'}, the faster) time`, `${(s / Math.min(one, two)).toFixed(2)}×`]);
  }
  table(
    `ViT (template 'vit', preset 'mnist', ${model.countParams().toLocaleString('en')} params: width ${sizes.dim}, ${sizes.depth} blocks, ${sizes.heads} heads, ${sizes.patch}×${sizes.patch} patches) training step, batch ${BATCH}, median of ${tfjs.length} steps in ${BLOCKS} blocks alternating with PyTorch`,
    rows,
  );
  tf.dispose([xs, ys]);
  model.dispose();
}

async function main(): Promise<void> {
  await useWasmBackend({ threads: Number(process.env.THREADS ?? 1) });
  const sizes = presetSizes();
  await attention(sizes);
  // `--attention` runs only the attention comparison (quick).
  if (!process.argv.includes('--attention')) await step(sizes);
}

await main();
