/**
 * WASM threads against PyTorch, side by side in one run: the ConvMixer template's `mnist` preset
 * (ConvMixer-64/4, kernel 5, patch 2) and the MLP-Mixer template's `mnist` preset, one training step
 * (trainOnBatch, Adam 1e-3, batch 32) on tfjs-wasm with 1 thread, 2 threads (and every core, when
 * there are more than 2), against the same models in PyTorch (bench/torch_convmixer.py,
 * bench/torch_mixer.py) on as many threads. Run with `npx tsx bench/wasm-threads.bench.ts`.
 *
 * The settings run in blocks that rotate their order, so that load from other processes hits each
 * alike; a tfjs block rebuilds the model on a fresh backend (the thread count is fixed when the
 * wasm module starts), warms up 2 steps, then times STEPS_PER_BLOCK steps. Figures are medians over
 * all timed steps (tfjs) or of the blocks' medians (PyTorch). The machine's load average is printed
 * before and after: on a shared machine, threads compete with everything else for the cores.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { templateDocument } from '../templates/index';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { buildModel } from '../src/runtime/build';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { MAX_WASM_THREADS } from '../src/runtime/wasm-module';

const BATCH = 32;
const WARMUP = 2;
const BLOCKS = Number(process.env.BLOCKS ?? 3);
const STEPS_PER_BLOCK = Number(process.env.STEPS_PER_BLOCK ?? 4);
const cores = availableParallelism();
const THREADS = [...new Set([1, 2, Math.min(cores, MAX_WASM_THREADS)])];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

interface Subject {
  title: string;
  template: string;
  torchScript: string;
}

const SUBJECTS: Subject[] = [
  { title: 'ConvMixer-64/4 (template convmixer, preset mnist)', template: 'convmixer', torchScript: 'torch_convmixer.py' },
  { title: 'MLP-Mixer (template mlp-mixer, preset mnist)', template: 'mlp-mixer', torchScript: 'torch_mixer.py' },
];

function model(template: string): tf.LayersModel {
  const t = templateDocument(template, 'mnist');
  if ('error' in t) throw new Error(t.error);
  const { plan, diagnostics } = lower(analyze(t.doc));
  if (!plan) throw new Error(`The ${template} template does not lower: ${diagnostics.map((d) => d.message).join('; ')}`);
  const m = buildModel(plan, { seed: 0 });
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return m;
}

/** One tfjs block: a fresh backend with `threads` threads, the model built on it, timed steps. */
async function tfjsBlock(subject: Subject, threads: number): Promise<number[]> {
  const status = await useWasmBackend({ threads });
  if (status.threads !== threads) throw new Error(`wasm started ${status.threads} threads instead of ${threads}: ${status.note ?? ''}`);
  const m = model(subject.template);
  const xs = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 2) as tf.Tensor1D, 10);
  const times: number[] = [];
  for (let i = 0; i < WARMUP + STEPS_PER_BLOCK; i++) {
    const t = performance.now();
    await m.trainOnBatch(xs, ys); // resolves after reading the loss back, i.e. after the step ran
    if (i >= WARMUP) times.push(performance.now() - t);
  }
  tf.dispose([xs, ys]);
  m.dispose();
  return times;
}

const python = ['python3', '/usr/bin/python3'].find((exe) => {
  const probe = spawnSync(exe, ['-c', 'import torch'], { encoding: 'utf8' });
  return !probe.error && probe.status === 0;
});

function torchBlock(subject: Subject, threads: number): number {
  const script = fileURLToPath(new URL(`./${subject.torchScript}`, import.meta.url));
  const args = [script, '--batch', String(BATCH), '--warmup', String(WARMUP), '--steps', String(STEPS_PER_BLOCK), '--threads', String(threads)];
  const run = spawnSync(python!, args, { encoding: 'utf8' });
  const m = /median_ms_per_step=([\d.]+)/.exec(run.stdout ?? '');
  if (run.status !== 0 || !m) throw new Error(`${subject.torchScript} failed: ${(run.stderr || run.stdout || '').trim().split('\n').pop()}`);
  return Number(m[1]);
}

async function compare(subject: Subject): Promise<void> {
  type Setting = { kind: 'tfjs' | 'torch'; threads: number };
  const settings: Setting[] = THREADS.flatMap((threads) => [{ kind: 'tfjs' as const, threads }, ...(python ? [{ kind: 'torch' as const, threads }] : [])]);
  const tfjs = new Map<number, number[]>(THREADS.map((n) => [n, []]));
  const torch = new Map<number, number[]>(THREADS.map((n) => [n, []]));
  const loadBefore = load();
  for (let b = 0; b < BLOCKS; b++) {
    const order = [...settings.slice(b % settings.length), ...settings.slice(0, b % settings.length)];
    for (const s of order) {
      if (s.kind === 'tfjs') tfjs.get(s.threads)!.push(...(await tfjsBlock(subject, s.threads)));
      else torch.get(s.threads)!.push(torchBlock(subject, s.threads));
    }
  }
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const rows: [string, string][] = [['measure', 'value']];
  for (const n of THREADS) {
    const t = tfjs.get(n)!;
    rows.push([`tfjs-wasm, ${n} thread${n === 1 ? '' : 's'}: ms/step (min / max)`, `${ms(median(t))} (${ms(Math.min(...t))} / ${ms(Math.max(...t))})`]);
  }
  if (python) {
    for (const n of THREADS)
      rows.push([
        `PyTorch, ${n} thread${n === 1 ? '' : 's'}: ms/step (blocks)`,
        `${ms(median(torch.get(n)!))} (${torch
          .get(n)!
          .map((x) => x.toFixed(1))
          .join(' / ')})`,
      ]);
  }
  const one = median(tfjs.get(1)!);
  for (const n of THREADS.slice(1)) rows.push([`tfjs-wasm speed-up, ${n} threads over 1`, `${(one / median(tfjs.get(n)!)).toFixed(2)}×`]);
  if (python) {
    for (const n of THREADS)
      rows.push([`tfjs-wasm / PyTorch time, both ${n} thread${n === 1 ? '' : 's'}`, `${(median(tfjs.get(n)!) / median(torch.get(n)!)).toFixed(2)}×`]);
    const bestTfjs = Math.min(...THREADS.map((n) => median(tfjs.get(n)!)));
    const bestTorch = Math.min(...THREADS.map((n) => median(torch.get(n)!)));
    rows.push(['tfjs-wasm fastest / PyTorch fastest time (target ≤ 2.5×)', `${(bestTfjs / bestTorch).toFixed(2)}×`]);
  }
  rows.push(['load average (1 / 5 / 15 min) before → after', `${loadBefore} → ${load()}`]);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    `\n${subject.title}: training step, batch ${BATCH}, ${BLOCKS} blocks × ${STEPS_PER_BLOCK} steps per setting after ${WARMUP} warm-up, ` +
      `settings rotated per block (tfjs ${tf.version.tfjs}, Node ${process.versions.node}, ${cores} cores)`,
  );
  for (const [i, r] of rows.entries()) {
    console.log(
      r
        .map((c, j) => c.padEnd(widths[j]!))
        .join('  ')
        .trimEnd(),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

for (const subject of SUBJECTS) await compare(subject);
if (!python) console.log('Note: PyTorch comparison skipped: python3 cannot import torch (Debian python3-torch is not installed).');
