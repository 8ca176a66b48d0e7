/**
 * CapsNet training step: the `capsnet` template's `small` preset run by Patchbay's program interpreter
 * (tfjs-wasm, batch 64: random translate, capsule network, mask by label, decoder, margin +
 * reconstruction loss, one Adam step over both networks) against the same model and step in PyTorch
 * on this CPU (bench/torch_capsnet.py, 2 and 1 threads), in blocks that alternate so machine noise
 * hits both alike. Figures are medians after warm-up; the ratio is taken against the faster PyTorch.
 * Run with `npx tsx bench/capsnet-step.bench.ts` (STEPS=… to change the number of timed steps).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import type { Dataset } from '../src/runtime/data/dataset';
import { ProgramRun, type ProcedureRecord } from '../src/runtime/program/run';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { templateDocument } from '../templates/index';

const STEPS = Number(process.env.STEPS ?? 6);
const WARMUP = 1;
const BATCH = 64;
const BLOCKS = 2;
const PARAMS = 2_483_152; // bench/torch_capsnet.py's model: 1,071,808 + 1,411,344 (decoder)

await useWasmBackend();
const template = templateDocument('capsnet', 'small');
if ('error' in template) throw new Error(template.error);
const { program } = lowerProgram(analyzeProgram(template.doc)!);
if (!program) throw new Error('The capsnet template does not lower.');
const proc = program.procedures.find((p) => p.kind === 'train')!;
const run = new ProgramRun(tf, program, 0);
const params = [...run.networks.values()].reduce(
  (s, n) => s + n.model.trainableWeights.reduce((a, w) => a + (w.shape as number[]).reduce((x, y) => x * y, 1), 0),
  0,
);
if (params !== PARAMS) throw new Error(`the capsnet small template has ${params} params, the PyTorch model ${PARAMS}`);

// Random images and labels: the step's cost does not depend on the pixels.
const count = BATCH * (WARMUP + STEPS + 1);
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random());
const ds: Dataset = {
  name: 'random',
  inputShape: [28, 28, 1],
  classNames: Array.from({ length: 10 }, (_, i) => String(i)),
  train: { x: random(count * 784), y: Uint8Array.from({ length: count }, (_, i) => i % 10), count },
  test: { x: random(BATCH * 784), y: Uint8Array.from({ length: BATCH }, (_, i) => i % 10), count: BATCH },
};

function pytorch(steps: number, threads: number): { ms: number } | { skipped: string } {
  const python = ['python3', '/usr/bin/python3'].find((exe) => {
    const probe = spawnSync(exe, ['-c', 'import torch'], { encoding: 'utf8' });
    return !probe.error && probe.status === 0;
  });
  if (!python) return { skipped: 'python3 cannot import torch' };
  const script = fileURLToPath(new URL('./torch_capsnet.py', import.meta.url));
  const r = spawnSync(python, [script, '--batch', String(BATCH), '--warmup', String(WARMUP), '--steps', String(steps), '--threads', String(threads)], {
    encoding: 'utf8',
  });
  const m = /median_ms_per_step=([\d.]+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) return { skipped: `torch_capsnet.py failed: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}` };
  return { ms: Number(m[1]) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// The interpreter runs its own loop; PyTorch blocks run inside its onStep callback, so the two
// alternate, and the time of a PyTorch block is taken out of the interpreter's step it falls in.
const perBlock = Math.max(2, Math.ceil(STEPS / BLOCKS));
const tfjs: number[] = [];
const torch: Record<1 | 2, number[]> = { 1: [], 2: [] };
let skipped = '';
const runTorch = () => {
  for (const threads of [2, 1] as const) {
    const r = pytorch(perBlock, threads);
    if ('ms' in r) torch[threads].push(r.ms);
    else skipped = r.skipped;
  }
};
if (!skipped) runTorch();
let steps = 0;
let last = performance.now();
let tensors = 0;
const leaks: number[] = [];
const record: ProcedureRecord = { id: proc.id, label: proc.label, kind: 'train', steps: 0, seconds: 0, curves: {} };
await run.train(
  proc,
  ds,
  {
    seed: 0,
    batchSize: BATCH,
    epochs: 1,
    epochsOverride: 1,
    onStep: (report) => {
      const now = performance.now();
      steps++;
      if (steps > WARMUP) {
        tfjs.push(now - last);
        leaks.push(report.tensors - tensors);
      }
      tensors = report.tensors;
      if (steps > WARMUP && (steps - WARMUP) % perBlock === 0 && !skipped) runTorch();
      last = performance.now();
    },
    shouldStop: () => steps >= WARMUP + STEPS,
  },
  record,
);
run.dispose();

const step = median(tfjs);
const ms = (x: number) => `${x.toFixed(0)} ms`;
const rows: [string, string][] = [
  ['measure', 'value'],
  ['interpreter (tfjs-wasm): ms/step, median', ms(step)],
  ['interpreter: min / max ms/step', `${ms(Math.min(...tfjs))} / ${ms(Math.max(...tfjs))}`],
  ['tensors leaked per step (after warm-up)', String(Math.max(0, ...leaks.slice(1)))],
];
if (!skipped) {
  const [one, two] = [median(torch[1]), median(torch[2])];
  const best = Math.min(one, two);
  rows.push(['PyTorch (CPU, 2 threads): ms/step, median of blocks', ms(two)]);
  rows.push(['PyTorch (CPU, 1 thread): ms/step, median of blocks', ms(one)]);
  rows.push([`tfjs-wasm / PyTorch (${best === two ? '2 threads' : '1 thread'}, the faster) time`, `${(step / best).toFixed(2)}×`]);
} else rows.push(['PyTorch', `skipped: ${skipped}`]);
const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log(
  `\nCapsNet (template 'capsnet', preset 'small', ${PARAMS.toLocaleString('en')} params with the decoder) training step, batch ${BATCH}, ` +
    `median of ${tfjs.length} steps in blocks alternating with PyTorch`,
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
