/**
 * Where a training step's time goes on tfjs-wasm, kernel by kernel: every registered wasm kernel is
 * wrapped in a timer (wasm kernels run synchronously, so the time around a call is its time), and
 * a kernel's own time excludes the kernels it calls (fast paths and composed kernels call others).
 * The step's time outside all kernels is tfjs's own JavaScript: autodiff's tape, tidy, the
 * optimizer's bookkeeping, layer calls.
 *
 * Run: `npx tsx bench/step-profile.bench.ts [mlp-mixer|convmixer] [--no-simd]` (THREADS=2 for the
 * threaded build, N steps, TOP rows). `--no-simd` switches Patchbay's SIMD kernels off (the
 * "before"). Models: the templates' `mnist` presets, Adam 1e-3, batch 32, random data.
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { templateDocument } from '../templates/index';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { buildModel } from '../src/runtime/build';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { setSimdKernelsEnabled } from '../src/runtime/simd-kernels';
import { fuseAdamOnWasm } from '../src/runtime/fused-adam';

const template = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'mlp-mixer';
const N = Number(process.env.N ?? 6);
const TOP = Number(process.env.TOP ?? 16);
const threads = Number(process.env.THREADS ?? 1);
const status = await useWasmBackend({ threads });
setSimdKernelsEnabled(!process.argv.includes('--no-simd'));

interface Record_ {
  self: number;
  calls: number;
}
const byKernel = new Map<string, Record_>();
const byShape = new Map<string, Record_>();
let recording = false;
const childTime: number[] = [];
const add = (m: Map<string, Record_>, key: string, ms: number) => {
  const r = m.get(key) ?? { self: 0, calls: 0 };
  r.self += ms;
  r.calls++;
  m.set(key, r);
};
for (const config of tf.getKernelsForBackend('wasm')) {
  const inner = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      if (!recording) return inner(args);
      const start = performance.now();
      childTime.push(0);
      const out = inner(args);
      const total = performance.now() - start;
      const self = total - childTime.pop()!;
      if (childTime.length) childTime[childTime.length - 1]! += total;
      add(byKernel, config.kernelName, self);
      const shapes = Object.values(args.inputs)
        .map((i) => (i ? (i as tf.TensorInfo).shape.join('×') : '–'))
        .join(', ');
      const a = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; perm?: number[] };
      const extra = a.transposeA || a.transposeB ? ` (${a.transposeA ? 'aᵀ' : 'a'}·${a.transposeB ? 'bᵀ' : 'b'})` : a.perm ? ` perm ${a.perm.join(',')}` : '';
      add(byShape, `${config.kernelName} ${shapes}${extra}`, self);
      return out;
    },
  });
}

const t = templateDocument(template, 'mnist');
if ('error' in t) throw new Error(t.error);
const { plan } = lower(analyze(t.doc));
if (!plan) throw new Error(`${template} does not lower`);
const model = buildModel(plan);
const optimizer = tf.train.adam(1e-3);
fuseAdamOnWasm(tf, optimizer); // as the app trains (src/runtime/training/train.ts); off with --no-simd
model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const xs = tf.randomUniform([32, 28, 28, 1]);
const ys = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32') as tf.Tensor1D, 10);
for (let i = 0; i < 3; i++) await model.trainOnBatch(xs, ys);
const plain: number[] = [];
const profiled: number[] = [];
for (let i = 0; i < N; i++) {
  for (const on of [false, true]) {
    recording = on;
    const start = performance.now();
    await model.trainOnBatch(xs, ys);
    (on ? profiled : plain).push(performance.now() - start);
  }
}
recording = false;
const median = (xs_: number[]) => [...xs_].sort((p, q) => p - q)[xs_.length >> 1]!;
const kernels = [...byKernel.values()].reduce((s, r) => s + r.self, 0) / N;
const calls = [...byKernel.values()].reduce((s, r) => s + r.calls, 0) / N;
const step = median(profiled);
console.log(
  `${template} (mnist), wasm on ${status.threads} thread(s), SIMD kernels ${process.argv.includes('--no-simd') ? 'off' : 'on'}: ` +
    `step ${median(plain).toFixed(1)} ms median (min ${Math.min(...plain).toFixed(1)}); profiled ${step.toFixed(1)} ms = ` +
    `kernels ${kernels.toFixed(1)} ms in ${calls} calls + outside kernels ${(step - kernels).toFixed(1)} ms`,
);
const pct = (ms: number) => `${((100 * ms) / step).toFixed(1).padStart(5)}%`;
console.log('kernel (own time, share of the profiled step, calls per step):');
for (const [k, r] of [...byKernel].sort((p, q) => q[1].self - p[1].self).slice(0, TOP)) {
  console.log(`  ${k.padEnd(36)} ${(r.self / N).toFixed(2).padStart(7)} ms ${pct(r.self / N)} ${String(r.calls / N).padStart(5)}`);
}
console.log('by kernel and input shapes:');
for (const [k, r] of [...byShape].sort((p, q) => q[1].self - p[1].self).slice(0, TOP)) {
  console.log(`  ${(r.self / N).toFixed(2).padStart(7)} ms ${pct(r.self / N)} ${String(r.calls / N).padStart(4)}×  ${k}`);
}
tf.dispose([xs, ys]);
model.dispose();
