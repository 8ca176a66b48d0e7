/**
 * Training-step benchmark on the wasm backend in Node, with Patchbay's conv-gradient kernels
 * (src/runtime/wasm-kernels.ts). Run with `npx tsx bench/training-step.bench.ts [--profile] [--mixer]`.
 *
 * ConvMixer-64/4 (kernel 5, patch 2, 28×28×1, 10 classes, GELU, BatchNorm momentum 0.9 / eps 1e-5,
 * Adam 1e-3, categorical cross-entropy, batch 32), twice: written by hand with tf.layers (as in
 * tech-probe Appendix A) and built from Patchbay's `convmixer` template. The two models' steps are
 * interleaved (alternating which goes first) so that machine noise hits both alike. Figures are
 * medians after 2 warm-up steps. With `--profile`, one step of each model is profiled per kernel.
 * If `python3 -c 'import torch'` works, bench/torch_convmixer.py times the same model in PyTorch.
 *
 * Then the MLP-Mixer template's `mnist` preset (148,110 params, Adam 1e-3, batch 32) against the same
 * Mixer in PyTorch (bench/torch_mixer.py). PyTorch runs before and after the tfjs steps, in blocks
 * that alternate with them, so that load from other processes hits both; the ratio uses the median
 * of all PyTorch blocks. PyTorch should use OpenBLAS (Debian `libopenblas0-pthread`): with the
 * reference BLAS it is ~3× slower and the ratio flatters tfjs.
 *
 * Every tfjs step with Patchbay's SIMD kernels (src/runtime/simd-kernels.ts) runs next to one without
 * them (tfjs-wasm's own and the composed kernels, as before they existed), so that one run gives the
 * before and after under the same load. THREADS=2 runs the threaded wasm build (where XNNPACK keeps
 * the GEMMs). bench/step-profile.bench.ts lists where a step's time goes, kernel by kernel.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { templateDocument } from '../templates/index';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { buildModel } from '../src/runtime/build';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { setSimdKernelsEnabled, setSimdThreadsEnabled, simdThreadsOf } from '../src/runtime/simd-kernels';
import { fuseAdamOnWasm } from '../src/runtime/fused-adam';

const BATCH = 32;
const WARMUP = 2;
const STEPS = Number(process.env.STEPS ?? 10);
const FORWARDS = 10;
const PROFILE = process.argv.includes('--profile');
/** `--mixer` runs only the MLP-Mixer comparison. */
const MIXER_ONLY = process.argv.includes('--mixer');
/** wasm threads (THREADS=2 for the threaded build; the default, 1, is where Patchbay's SIMD GEMM runs). */
const THREADS = Number(process.env.THREADS ?? 1);

/**
 * One training step with Patchbay's SIMD kernels (src/runtime/simd-kernels.ts) switched on or off;
 * `helpers` false keeps them on the calling thread (no shares for the helper threads, simd-threads.ts).
 */
async function timeStepWith(simd: boolean, model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor, helpers = true): Promise<number> {
  setSimdKernelsEnabled(simd);
  setSimdThreadsEnabled(helpers);
  try {
    return await timeStep(model, xs, ys);
  } finally {
    setSimdKernelsEnabled(true);
    setSimdThreadsEnabled(true);
  }
}

/** Whether the SIMD kernels have helper threads here (THREADS > 1 on the threaded build): then each step is also timed without them. */
const HAS_HELPERS = () => simdThreadsOf(tf.backend()) !== null;

function handWritten(): tf.LayersModel {
  const dim = 64,
    depth = 4,
    kernel = 5,
    patch = 2,
    classes = 10;
  const bn = () => tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
  const gelu = () => tf.layers.activation({ activation: 'gelu' });
  const inp = tf.input({ shape: [28, 28, 1] });
  let x = tf.layers.conv2d({ filters: dim, kernelSize: patch, strides: patch }).apply(inp) as tf.SymbolicTensor;
  x = gelu().apply(x) as tf.SymbolicTensor;
  x = bn().apply(x) as tf.SymbolicTensor;
  for (let i = 0; i < depth; i++) {
    let r = tf.layers.depthwiseConv2d({ kernelSize: kernel, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    r = gelu().apply(r) as tf.SymbolicTensor;
    r = bn().apply(r) as tf.SymbolicTensor;
    x = tf.layers.add().apply([r, x]) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: dim, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
    x = gelu().apply(x) as tf.SymbolicTensor;
    x = bn().apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: out });
}

function fromTemplate(): tf.LayersModel {
  const t = templateDocument('convmixer', 'mnist');
  if ('error' in t) throw new Error(t.error);
  const { plan, diagnostics } = lower(analyze(t.doc));
  if (!plan) throw new Error(`The convmixer template does not lower: ${diagnostics.map((d) => d.message).join('; ')}`);
  return buildModel(plan);
}

/** Adam as the app trains with it (src/runtime/training/train.ts): tfjs's, its update fused into one wasm kernel per variable. */
function compile(model: tf.LayersModel): tf.LayersModel {
  const optimizer = tf.train.adam(1e-3);
  fuseAdamOnWasm(tf, optimizer);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timeStep(model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor): Promise<number> {
  const t = performance.now();
  await model.trainOnBatch(xs, ys); // resolves after reading the loss back, i.e. after the step ran
  return performance.now() - t;
}

function timeForward(model: tf.LayersModel, xs: tf.Tensor): number {
  const t = performance.now();
  const out = model.predict(xs) as tf.Tensor;
  out.dataSync();
  const ms = performance.now() - t;
  out.dispose();
  return ms;
}

function mixerFromTemplate(): tf.LayersModel {
  const t = templateDocument('mlp-mixer', 'mnist');
  if ('error' in t) throw new Error(t.error);
  const { plan, diagnostics } = lower(analyze(t.doc));
  if (!plan) throw new Error(`The mlp-mixer template does not lower: ${diagnostics.map((d) => d.message).join('; ')}`);
  return buildModel(plan);
}

/** The template's MLP-Mixer (`mnist`) against the same model in PyTorch, alternating blocks of steps. */
async function mixer(): Promise<void> {
  const model = compile(mixerFromTemplate());
  const PARAMS = 148_110; // bench/torch_mixer.py's model
  if (model.countParams() !== PARAMS) throw new Error(`the mlp-mixer template has ${model.countParams()} params, the PyTorch model ${PARAMS}`);
  const xs = tf.randomUniform([BATCH, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  for (let i = 0; i < WARMUP; i++) await timeStep(model, xs, ys);
  const BLOCKS = 3;
  const perBlock = Math.max(2, Math.ceil(STEPS / BLOCKS));
  const tfjs: number[] = [];
  /** The same steps without Patchbay's SIMD kernels (tfjs-wasm's own and the composed kernels): the "before". */
  const tfjsWithout: number[] = [];
  const tfjsOneThreadKernels: number[] = [];
  // OpenMP's 2 threads stall whenever another process takes a core (a 2-core machine shared with
  // other work), so PyTorch also runs on 1 thread; the ratio is taken against the faster of the two.
  const torch: Record<1 | 2, number[]> = { 1: [], 2: [] };
  let torchSkipped = '';
  const runTorch = () => {
    for (const threads of [2, 1] as const) {
      const r = pytorch('torch_mixer.py', perBlock, threads);
      if ('ms' in r) torch[threads].push(r.ms);
      else torchSkipped = r.skipped;
    }
  };
  for (let b = 0; b < BLOCKS; b++) {
    if (!torchSkipped) runTorch();
    for (let i = 0; i < perBlock; i++) {
      for (const simd of i % 2 ? [false, true] : [true, false]) (simd ? tfjs : tfjsWithout).push(await timeStepWith(simd, model, xs, ys));
      if (HAS_HELPERS()) tfjsOneThreadKernels.push(await timeStepWith(true, model, xs, ys, false));
    }
  }
  if (!torchSkipped) runTorch();
  const tensorsBefore = tf.memory().numTensors;
  await model.trainOnBatch(xs, ys);
  const leaked = tf.memory().numTensors - tensorsBefore;

  const step = median(tfjs);
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const rows: [string, string, string][] = [
    ['measure', 'value', 'target'],
    ['template (tfjs-wasm): trainOnBatch, ms/step', ms(step), ''],
    ['template: min / max ms/step', `${ms(Math.min(...tfjs))} / ${ms(Math.max(...tfjs))}`, ''],
    ['template without the SIMD kernels (before): ms/step, min', `${ms(median(tfjsWithout))}, ${ms(Math.min(...tfjsWithout))}`, ''],
    ['tensors leaked per step', String(leaked), '0'],
  ];
  if (tfjsOneThreadKernels.length)
    rows.splice(4, 0, ['template, SIMD kernels on the caller’s thread only (no helpers): ms/step', ms(median(tfjsOneThreadKernels)), '']);
  if (!torchSkipped) {
    const [one, two] = [median(torch[1]), median(torch[2])];
    const best = Math.min(one, two);
    rows.push(['PyTorch (CPU, 2 threads): ms/step, median of blocks', ms(two), '']);
    rows.push(['PyTorch (CPU, 1 thread): ms/step, median of blocks', ms(one), '']);
    rows.push([
      'PyTorch blocks, 2 threads | 1 thread, ms/step',
      `${torch[2].map((x) => x.toFixed(1)).join(' / ')} | ${torch[1].map((x) => x.toFixed(1)).join(' / ')}`,
      '',
    ]);
    rows.push([`tfjs-wasm template / PyTorch (${best === two ? '2 threads' : '1 thread'}, the faster) time`, `${(step / best).toFixed(2)}×`, '≤ 2.5×']);
    rows.push(['  the same without the SIMD kernels (before)', `${(median(tfjsWithout) / best).toFixed(2)}×`, '']);
    rows.push(['tfjs-wasm template / PyTorch on 1 thread (same threads)', `${(step / one).toFixed(2)}×`, '']);
  } else {
    rows.push(['PyTorch', 'skipped', '']);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(
    `\nMLP-Mixer (template 'mlp-mixer', preset 'mnist', ${PARAMS.toLocaleString('en')} params) training step, batch ${BATCH}, wasm on ${THREADS} thread(s), ` +
      `median of ${tfjs.length} steps in ${BLOCKS} blocks alternating with PyTorch (each step with the SIMD kernels next to one without)`,
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
  if (torchSkipped) console.log(`Note: PyTorch comparison skipped: ${torchSkipped}.`);
  if (PROFILE) await profileStep('MLP-Mixer (template)', model, xs, ys);
  tf.dispose([xs, ys]);
  model.dispose();
}

async function profileStep(name: string, model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor): Promise<void> {
  const info = await tf.profile(async () => {
    await model.trainOnBatch(xs, ys);
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byKernel.set(k.name, e);
  }
  const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`\nProfile, one step of ${name} (kernel time ${total.toFixed(0)} ms; nested kernels counted inside their caller too):`);
  for (const [k, e] of rows.slice(0, 14)) console.log(`  ${k.padEnd(38)} ${e.ms.toFixed(1).padStart(7)} ms  ${String(e.calls).padStart(4)} calls`);
}

function pytorch(scriptName = 'torch_convmixer.py', steps = STEPS, threads = 2): { ms: number } | { skipped: string } {
  // Debian's python3-torch installs for the system interpreter, which may not be the first python3 on PATH.
  const python = ['python3', '/usr/bin/python3'].find((exe) => {
    const probe = spawnSync(exe, ['-c', 'import torch'], { encoding: 'utf8' });
    return !probe.error && probe.status === 0;
  });
  if (!python) return { skipped: 'python3 cannot import torch (Debian python3-torch is not installed)' };
  const script = fileURLToPath(new URL(`./${scriptName}`, import.meta.url));
  const run = spawnSync(python, [script, '--batch', String(BATCH), '--warmup', String(WARMUP), '--steps', String(steps), '--threads', String(threads)], {
    encoding: 'utf8',
  });
  const m = /median_ms_per_step=([\d.]+)/.exec(run.stdout ?? '');
  if (run.status !== 0 || !m) return { skipped: `${scriptName} failed: ${(run.stderr || run.stdout || '').trim().split('\n').pop()}` };
  return { ms: Number(m[1]) };
}

async function main(): Promise<void> {
  await useWasmBackend({ threads: THREADS });
  if (MIXER_ONLY) return mixer();
  const hand = compile(handWritten());
  const compiled = compile(fromTemplate());
  if (hand.countParams() !== compiled.countParams()) throw new Error(`param counts differ: ${hand.countParams()} vs ${compiled.countParams()}`);

  const xs = tf.randomUniform([BATCH, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);

  const steps = { hand: [] as number[], compiled: [] as number[], without: [] as number[], oneThreadKernels: [] as number[] };
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const order = i % 2 ? (['compiled', 'hand', 'without', 'oneThreadKernels'] as const) : (['oneThreadKernels', 'without', 'hand', 'compiled'] as const);
    for (const which of order) {
      // "without": the compiled model without Patchbay's SIMD kernels (the "before");
      // "oneThreadKernels": with them, but on the calling thread only (where there are helpers).
      if (which === 'oneThreadKernels' && !HAS_HELPERS()) continue;
      const ms = await timeStepWith(which !== 'without', which === 'hand' ? hand : compiled, xs, ys, which !== 'oneThreadKernels');
      if (i >= WARMUP) steps[which].push(ms);
    }
  }
  const fwd = { hand: [] as number[], compiled: [] as number[] };
  for (let i = 0; i < 2 + FORWARDS; i++) {
    const order = i % 2 ? (['compiled', 'hand'] as const) : (['hand', 'compiled'] as const);
    for (const which of order) {
      const ms = timeForward(which === 'hand' ? hand : compiled, xs);
      if (i >= 2) fwd[which].push(ms);
    }
  }
  const tensorsBefore = tf.memory().numTensors;
  await hand.trainOnBatch(xs, ys);
  await compiled.trainOnBatch(xs, ys);
  const leaked = tf.memory().numTensors - tensorsBefore;

  const handStep = median(steps.hand);
  const compiledStep = median(steps.compiled);
  const handFwd = median(fwd.hand);
  const compiledFwd = median(fwd.compiled);
  const torch = pytorch();
  const torch1 = pytorch('torch_convmixer.py', STEPS, 1);

  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const rows: [string, string, string][] = [
    ['measure', 'value', 'target'],
    ['hand-written: trainOnBatch, ms/step', ms(handStep), ''],
    [
      'hand-written: mean / min / max ms/step',
      `${ms(steps.hand.reduce((a, b) => a + b, 0) / steps.hand.length)} / ${ms(Math.min(...steps.hand))} / ${ms(Math.max(...steps.hand))}`,
      '',
    ],
    ['hand-written: predict (forward), ms', ms(handFwd), ''],
    ['hand-written: step / forward', `${(handStep / handFwd).toFixed(2)}×`, '≤ 4×'],
    ['hand-written: fastest step / fastest forward', `${(Math.min(...steps.hand) / Math.min(...fwd.hand)).toFixed(2)}×`, '(less sensitive to other load)'],
    ['compiled (template): trainOnBatch, ms/step', ms(compiledStep), ''],
    [
      'compiled: mean / min / max ms/step',
      `${ms(steps.compiled.reduce((a, b) => a + b, 0) / steps.compiled.length)} / ${ms(Math.min(...steps.compiled))} / ${ms(Math.max(...steps.compiled))}`,
      '',
    ],
    ['compiled: predict (forward), ms', ms(compiledFwd), ''],
    ['compiled: step / forward', `${(compiledStep / compiledFwd).toFixed(2)}×`, ''],
    ...(steps.oneThreadKernels.length
      ? [['compiled, SIMD kernels on the caller’s thread only (no helpers): ms/step', ms(median(steps.oneThreadKernels)), ''] as [string, string, string]]
      : []),
    ['compiled / hand-written speed (hand ms ÷ compiled ms)', `${(handStep / compiledStep).toFixed(3)}`, '≥ 0.97'],
    ['tensors leaked per step (both models)', String(leaked), '0'],
  ];
  rows.push(['compiled without the SIMD kernels (before): ms/step, min', `${ms(median(steps.without))}, ${ms(Math.min(...steps.without))}`, '']);
  if ('ms' in torch) {
    const best = 'ms' in torch1 ? Math.min(torch.ms, torch1.ms) : torch.ms;
    rows.push(['PyTorch (CPU, 2 threads): ms/step', ms(torch.ms), '']);
    if ('ms' in torch1) rows.push(['PyTorch (CPU, 1 thread): ms/step', ms(torch1.ms), '']);
    rows.push(['tfjs-wasm hand-written / PyTorch time', `${(handStep / torch.ms).toFixed(2)}×`, '']);
    rows.push([
      `tfjs-wasm compiled / PyTorch (${best === torch.ms ? '2 threads' : '1 thread'}, the faster) time`,
      `${(compiledStep / best).toFixed(2)}×`,
      '≤ 2.5×',
    ]);
    rows.push(['  the same without the SIMD kernels (before)', `${(median(steps.without) / best).toFixed(2)}×`, '']);
  } else {
    rows.push(['PyTorch', 'skipped', '']);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(
    `\nConvMixer-64/4 training step on tfjs ${tf.version.tfjs} '${tf.getBackend()}' on ${THREADS} thread(s) (Node ${process.versions.node}), batch ${BATCH}, ` +
      `median of ${STEPS} steps after ${WARMUP} warm-up, ${FORWARDS} forwards; models interleaved`,
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
  if ('skipped' in torch) console.log(`Note: PyTorch comparison skipped: ${torch.skipped}.`);

  if (PROFILE) {
    await profileStep('hand-written', hand, xs, ys);
    await profileStep('compiled', compiled, xs, ys);
  }
  tf.dispose([xs, ys]);
  hand.dispose();
  compiled.dispose();
  await mixer();
}

await main();
