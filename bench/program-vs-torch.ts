/**
 * A training program's step in Patchbay's interpreter against the same step in PyTorch on this CPU:
 * the part bench/clip-step.bench.ts and bench/glom-step.bench.ts share (bench/capsnet-step.bench.ts's
 * method, with bench/diffusion.bench.ts's exported model).
 *
 * - tfjs: the template's train procedure run by ProgramRun (src/runtime/program/run.ts) on the wasm
 *   backend, at the template's batch size, on random images with labels of the procedure's Data
 *   shape. Each step is timed from one onStep report to the next, so it holds everything a real step
 *   does: the batch's upload, the procedure's ops, the tapes, the optimizer, the loss read back.
 * - PyTorch: a script in bench/ that imports Patchbay's own PyTorch export of the template's networks
 *   (networks/<id>/model.py from `pytorchFiles`, written to .tmp/bench-<template>-torch), so both
 *   sides run the same networks, and writes the procedure's step around them. The script prints
 *   `params=` (the networks' and the learned scalars' parameters) and `median_ms_per_step=`.
 *
 * PyTorch runs in blocks on 2 and then 1 thread inside the interpreter's onStep callback, so the two
 * alternate and machine noise hits both alike; a block's time is taken out of the step it falls in.
 * Figures are medians after warm-up; the ratio is taken against the faster PyTorch, and only when
 * both sides count the same parameters.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { pytorchFiles } from '../src/compiler/emit-pytorch';
import { analyzeProgram, lowerProgram, type PlanProcedure, type PlanProgram, type ProgramStep } from '../src/compiler/program';
import type { Dataset } from '../src/runtime/data/dataset';
import { ProgramRun, type ProcedureRecord } from '../src/runtime/program/run';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { templateDocument } from '../templates/index';

export interface ProgramStepBench {
  template: string;
  preset: string;
  /** The Python script in bench/ (e.g. torch_clip.py). */
  script: string;
  /** The table's title, given the parameter count and batch size. */
  title: (params: number, batch: number) => string;
  /**
   * The script's arguments besides the common ones (--module-dir, --batch, --warmup, --steps,
   * --threads, --total): the step's settings, read from the plan rather than repeated in the script.
   * May write files the script reads into `dir`.
   */
  torchArgs: (program: PlanProgram, proc: PlanProcedure, dir: string) => Array<string | number>;
}

export type StepOf<K extends ProgramStep['kind']> = Extract<ProgramStep, { kind: K }>;

/** The procedure's steps of one kind (its ops, its Minimize). */
export function stepsOf<K extends ProgramStep['kind']>(proc: PlanProcedure, kind: K): Array<StepOf<K>> {
  return proc.steps.filter((s): s is StepOf<K> => s.kind === kind);
}

/** The procedure's one op of this name. */
export function opOf(proc: PlanProcedure, op: string): StepOf<'op'> {
  const found = stepsOf(proc, 'op').filter((s) => s.op === op);
  if (found.length !== 1) throw new Error(`The procedure "${proc.id}" has ${found.length} ${op} ops; the bench's PyTorch step writes one.`);
  return found[0]!;
}

/** The procedure's one Minimize. */
export function minimizeOf(proc: PlanProcedure): StepOf<'minimize'> {
  const found = stepsOf(proc, 'minimize');
  if (found.length !== 1) throw new Error(`The procedure "${proc.id}" has ${found.length} Minimize nodes; the bench's PyTorch step writes one.`);
  return found[0]!;
}

/** The Minimize's optimizer as the scripts' common flags. */
export function optimizerArgs(m: StepOf<'minimize'>): Array<string | number> {
  const o = m.optimizer;
  if (Object.values(o.learningRateMultipliers).some((x) => x !== 1)) throw new Error('The bench does not write per-network learning rates.');
  return [
    '--optimizer',
    o.optimizer,
    '--lr',
    o.learningRate,
    '--schedule',
    o.schedule,
    '--warmup-steps',
    o.warmupSteps,
    '--weight-decay',
    o.weightDecay,
    '--clip-norm',
    o.clipNorm,
  ];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function findPython(): string | undefined {
  return ['python3', '/usr/bin/python3'].find((exe) => {
    const probe = spawnSync(exe, ['-c', 'import torch'], { encoding: 'utf8' });
    return !probe.error && probe.status === 0;
  });
}

export async function benchProgramStep(bench: ProgramStepBench): Promise<void> {
  const STEPS = Number(process.env.STEPS ?? 6);
  const WARMUP = 1;
  const BLOCKS = 2;
  const wasm = await useWasmBackend({ threads: Number(process.env.THREADS ?? 1) });

  const template = templateDocument(bench.template, bench.preset);
  if ('error' in template) throw new Error(template.error);
  const analysis = analyzeProgram(template.doc);
  if (!analysis) throw new Error(`The ${bench.template} template has no program.`);
  const { program, diagnostics } = lowerProgram(analysis);
  if (!program) throw new Error(`The ${bench.template} template does not lower: ${diagnostics.map((d) => d.message).join('; ')}`);
  const proc = program.procedures.find((p) => p.kind === 'train');
  if (!proc) throw new Error(`The ${bench.template} template has no train procedure.`);
  const data = stepsOf(proc, 'data')[0];
  if (!data) throw new Error(`The ${bench.template} template's train procedure reads no data.`);
  const batch = template.doc.training?.batchSize ?? 32;

  // Patchbay's own PyTorch export of the networks, which the script imports.
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '.tmp', `bench-${bench.template}-torch`);
  for (const [path, text] of Object.entries(pytorchFiles({ program, name: template.doc.name }).files)) {
    if (!path.endsWith('/model.py')) continue;
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const totalSteps = WARMUP + STEPS + 1;
  const python = findPython();
  const scriptArgs = [
    fileURLToPath(new URL(`./${bench.script}`, import.meta.url)),
    '--module-dir',
    dir,
    '--batch',
    batch,
    '--warmup',
    WARMUP,
    '--total',
    totalSteps,
    ...bench.torchArgs(program, proc, dir),
  ].map(String);

  // Random images and labels of the Data node's shape: the step's cost does not depend on the values.
  const examples = batch * totalSteps;
  const size = count(data.shape);
  const ds: Dataset = {
    name: 'random',
    inputShape: data.shape,
    classNames: Array.from({ length: data.classes }, (_, i) => String(i)),
    train: {
      x: Float32Array.from({ length: examples * size }, () => Math.random()),
      y: Uint8Array.from({ length: examples }, (_, i) => i % data.classes),
      count: examples,
    },
    test: { x: new Float32Array(batch * size), y: new Uint8Array(batch), count: batch },
  };

  const perBlock = Math.max(2, Math.ceil(STEPS / BLOCKS));
  const torch: Record<1 | 2, number[]> = { 1: [], 2: [] };
  const torchParams = new Set<number>();
  let skipped = python ? '' : 'python3 cannot import torch';
  const runTorch = () => {
    for (const threads of [2, 1] as const) {
      if (skipped) return;
      const r = spawnSync(python!, [...scriptArgs, '--steps', String(perBlock), '--threads', String(threads)], { encoding: 'utf8' });
      const ms = /median_ms_per_step=([\d.]+)/.exec(r.stdout ?? '');
      const params = /params=(\d+)/.exec(r.stdout ?? '');
      if (r.status !== 0 || !ms || !params) skipped = `${bench.script} failed: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}`;
      else {
        torch[threads].push(Number(ms[1]));
        torchParams.add(Number(params[1]));
      }
    }
  };

  const run = new ProgramRun(tf, program, 0);
  const tfjs: number[] = [];
  const leaks: number[] = [];
  let steps = 0;
  let tensors = 0;
  runTorch();
  let last = performance.now();
  const record: ProcedureRecord = { id: proc.id, label: proc.label, kind: 'train', steps: 0, seconds: 0, curves: {} };
  const result = await run.train(
    proc,
    ds,
    {
      seed: 0,
      batchSize: batch,
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
        if (steps > WARMUP && (steps - WARMUP) % perBlock === 0) runTorch();
        last = performance.now();
      },
      shouldStop: () => steps >= WARMUP + STEPS,
    },
    record,
  );
  if (result.status === 'failed') throw new Error(result.message);
  // Every network's trainable weights and the learned scalars (made by the interpreter when it starts training).
  const params =
    [...run.networks.values()].reduce((s, n) => s + n.model.trainableWeights.reduce((a, w) => a + count(w.shape as number[]), 0), 0) +
    [...run.parameters.values()].reduce((s, v) => s + count(v.shape), 0);
  run.dispose();

  const step = median(tfjs);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const rows: [string, string][] = [
    ['measure', 'value'],
    [`interpreter (tfjs-wasm, ${wasm.threads} thread${wasm.threads > 1 ? 's' : ''}): ms/step, median`, ms(step)],
    ['interpreter: min / max ms/step', `${ms(Math.min(...tfjs))} / ${ms(Math.max(...tfjs))}`],
    ['tensors leaked per step (after warm-up)', String(Math.max(0, ...leaks.slice(1)))],
    ['params: tfjs', params.toLocaleString('en')],
  ];
  if (skipped) rows.push(['PyTorch', `skipped: ${skipped}`]);
  else {
    const [one, two] = [median(torch[1]), median(torch[2])];
    const best = Math.min(one, two);
    const same = torchParams.size === 1 && torchParams.has(params);
    rows.push(['params: PyTorch (the exported networks + the learned scalars)', [...torchParams].map((p) => p.toLocaleString('en')).join(', ')]);
    rows.push(['PyTorch (CPU, 2 threads): ms/step, median of blocks', ms(two)]);
    rows.push(['PyTorch (CPU, 1 thread): ms/step, median of blocks', ms(one)]);
    if (same) rows.push([`tfjs-wasm / PyTorch (${best === two ? '2 threads' : '1 thread'}, the faster) time`, `${(step / best).toFixed(2)}×`]);
    else {
      rows.push(['tfjs-wasm / PyTorch time', 'not compared: the two sides count different parameters']);
      process.exitCode = 1;
    }
  }
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`\n${bench.title(params, batch)}, median of ${tfjs.length} steps in blocks alternating with PyTorch`);
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
