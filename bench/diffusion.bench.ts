/**
 * Diffusion benchmark: the `ddpm` template's `mnist` UNet (179,396 parameters), WASM in Node, against
 * the same model in PyTorch on this CPU: bench/torch_unet.py runs Patchbay's own PyTorch export of the
 * template (networks/model/model.py, written here to .tmp/bench-ddpm-torch), and the line says whether
 * both count the same parameters.
 * - one training step: ε-prediction MSE at per-example timesteps of the template's schedule, gradients
 *   clipped to norm 1 and Adam at the template's rate (as its Minimize node), batch 32 (the
 *   template's), through the program interpreter's own ops and the built network;
 * - a 50-step DDIM sample (η = 0) of 16 images with Patchbay's sampler (one tidy per step).
 * Figures are medians after warm-up, for comparing within one run on one machine.
 * Run with `npx tsx bench/diffusion.bench.ts` (STEPS=6 by default; THREADS=1 by default, for both wasm and
 * PyTorch; the CLI trains on every core, THREADS=2 here).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { pytorchFiles } from '../src/compiler/emit-pytorch';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { buildModel } from '../src/runtime/build';
import { diffusionForward, diffusionNoise, diffusionSchedule, diffusionTimestep, sampleDiffusion } from '../src/runtime/program/diffusion';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { templateDocument } from '../templates/index';

const STEPS = Number(process.env.STEPS ?? 6);
const WARMUP = 2;
const BATCH = 32;
const SAMPLES = 16;
const THREADS = Number(process.env.THREADS ?? 1);

const wasm = await useWasmBackend({ threads: THREADS });
const template = templateDocument('ddpm', 'mnist');
if ('error' in template) throw new Error(template.error);
const { program } = lowerProgram(analyzeProgram(template.doc)!);
if (!program) throw new Error('The ddpm template does not lower.');
const model = buildModel(program.networks[0]!.plan, { seed: 0 });
const params = model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
if (!template.doc.training) throw new Error('The ddpm template has no training setup.');
const learningRate = template.doc.training.learningRate;
const optimizer = tf.train.adam(learningRate);
const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
const x0 = tf.randomUniform([BATCH, 28, 28, 1], -1, 1, 'float32', 1);

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const times: number[] = [];
for (let step = 0; step < WARMUP + STEPS; step++) {
  const t0 = performance.now();
  const loss = tf.tidy(() => {
    const ctx = { seed: 0, step, nodeId: 'bench' };
    const t = diffusionTimestep(tf, x0, 1000, ctx);
    const eps = diffusionNoise(tf, x0, ctx);
    const xt = diffusionForward(tf, x0, eps, t, 'cosine', 1000);
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.squaredDifference(model.apply([xt, t], { training: true }) as tf.Tensor, eps)) as tf.Scalar,
      variables,
    );
    // Clip to global norm 1, as the template's Minimize node does.
    const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
    const scale = tf.minimum(1, tf.div(1, tf.maximum(norm, 1e-12)));
    const clipped = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, scale)]));
    optimizer.applyGradients(clipped as tf.NamedTensorMap as Record<string, tf.Variable>);
    return value;
  });
  await loss.data();
  loss.dispose();
  if (step >= WARMUP) times.push(performance.now() - t0);
}
const s0 = performance.now();
const samples = await sampleDiffusion(tf, model, diffusionSchedule('cosine', 1000), [28, 28, 1], { count: SAMPLES, seed: 0, steps: 50, sampler: 'ddim' });
await samples.data();
const ddim = performance.now() - s0;
samples.dispose();
console.log(
  `tfjs ${tf.version.tfjs} ${tf.getBackend()}, ${wasm.threads} thread(s), ${params.toLocaleString('en-US')} params: training step batch ${BATCH} ${median(times).toFixed(0)} ms (median of ${STEPS}), 50-step DDIM of ${SAMPLES} images ${ddim.toFixed(0)} ms`,
);

const exported = pytorchFiles({ program, name: template.doc.name }).files['networks/model/model.py'];
if (!exported) throw new Error('The PyTorch export of the ddpm template has no networks/model/model.py.');
const exportDir = join(import.meta.dirname, '..', '.tmp', 'bench-ddpm-torch');
mkdirSync(exportDir, { recursive: true });
writeFileSync(join(exportDir, 'model.py'), exported);
const python = ['python3', '/usr/bin/python3'].find((exe) => spawnSync(exe, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
if (!python) console.log('PyTorch: skipped (python3 cannot import torch)');
else {
  const run = spawnSync(
    python,
    [
      join(import.meta.dirname, 'torch_unet.py'),
      '--module',
      join(exportDir, 'model.py'),
      '--batch',
      String(BATCH),
      '--warmup',
      String(WARMUP),
      '--steps',
      String(STEPS),
      '--samples',
      String(SAMPLES),
      '--threads',
      String(THREADS),
      '--lr',
      String(learningRate),
    ],
    { encoding: 'utf8' },
  );
  const read = (key: string) => Number(run.stdout.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1]);
  const [step, sample, torchParams] = [read('median_ms_per_step'), read('ddim50_ms'), read('params')];
  if (!Number.isFinite(step)) console.log(`PyTorch: failed\n${run.stderr}`);
  else {
    console.log(run.stdout.split('\n')[0]);
    console.log(
      `same model: ${torchParams === params ? 'yes' : `NO (${torchParams} vs ${params} params)`}; tfjs/PyTorch: training step ×${(median(times) / step).toFixed(1)}, DDIM sample ×${(ddim / sample).toFixed(1)}`,
    );
  }
}
