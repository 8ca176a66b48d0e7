/**
 * The wasm conv-gradient kernels (src/runtime/wasm-kernels.ts) on the shapes that dominate the
 * CapsNet and DDPM training steps (and ConvMixer's stride-2 and 1×1 convs, a patch embedding):
 * for each conv, the forward Conv2D (XNNPACK, the yardstick), the filter gradient
 * (Conv2DBackpropFilter: a dilated convolution of x by dy, or one matmul for 1×1 and patch
 * embeddings) and the input gradient (Conv2DBackpropInput: stride-phase convolutions of dy, or one
 * matmul), in ms per call and in multiply-adds per second. A gradient costs the same multiply-adds
 * as the forward conv, so "÷ fwd" says how far each kernel is from the forward's speed.
 * Figures are medians of repeated calls after a warm-up, on this machine, one run.
 * Run with `npx tsx bench/wasm-conv-grads.bench.ts` (THREADS=2 for two XNNPACK threads, REPS=… calls).
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { useWasmBackend } from '../src/runtime/wasm-backend';

const THREADS = Number(process.env.THREADS ?? 1);
const REPS = Number(process.env.REPS ?? 5);

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
}

const CASES: ConvCase[] = [
  { name: 'capsnet small: conv1 9×9', x: [64, 28, 28, 1], filter: [9, 9, 1, 32], strides: 1, pad: 'valid' },
  { name: 'capsnet small: primary caps 9×9 s2', x: [64, 20, 20, 32], filter: [9, 9, 32, 128], strides: 2, pad: 'valid' },
  // The ddpm mnist preset's UNet (channels 16-32): 7×7 and 14×14 levels, a skip concatenation, the stride-2 downsample.
  { name: 'ddpm mnist: 3×3 at 7×7, 32→32', x: [32, 7, 7, 32], filter: [3, 3, 32, 32], strides: 1, pad: 'same' },
  { name: 'ddpm mnist: 3×3 at 14×14, 16→16', x: [32, 14, 14, 16], filter: [3, 3, 16, 16], strides: 1, pad: 'same' },
  { name: 'ddpm mnist: 3×3 at 14×14, 48→16', x: [32, 14, 14, 48], filter: [3, 3, 48, 16], strides: 1, pad: 'same' },
  { name: 'ddpm mnist: 3×3 s2 at 14×14, 16→16', x: [32, 14, 14, 16], filter: [3, 3, 16, 16], strides: 2, pad: 'same' },
  // A wider UNet (the earlier 32-64 preset).
  { name: 'UNet 32-64: 3×3 at 14×14, 96→32', x: [32, 14, 14, 96], filter: [3, 3, 96, 32], strides: 1, pad: 'same' },
  { name: 'convmixer: 1×1, 64→64', x: [32, 14, 14, 64], filter: [1, 1, 64, 64], strides: 1, pad: 'same' },
  { name: 'patch embedding 2×2 s2, 1→64', x: [32, 28, 28, 1], filter: [2, 2, 1, 64], strides: 2, pad: 'valid' },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median ms of `run` (which returns a tensor it owns), each call synchronised by reading its data. */
function time(run: () => tf.Tensor): number {
  const once = () => {
    const t0 = performance.now();
    tf.tidy(() => {
      run().dataSync();
    });
    return performance.now() - t0;
  };
  once();
  return median(Array.from({ length: REPS }, once));
}

const status = await useWasmBackend({ threads: THREADS });
const rows: string[][] = [['conv (batch × H × W × Cin → Cout)', 'M mult-adds', 'fwd ms', 'dW ms', 'dW ÷ fwd', 'dx ms', 'dx ÷ fwd', 'dW GMAC/s', 'dx GMAC/s']];
for (const c of CASES) {
  const x = tf.randomUniform(c.x, -1, 1, 'float32', 1) as tf.Tensor4D;
  const filter = tf.randomUniform(c.filter, -1, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.conv2d(x, filter, c.strides, c.pad);
  const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 3) as tf.Tensor4D;
  const macs = tf.util.sizeFromShape(y.shape) * c.filter[0] * c.filter[1] * c.filter[2];
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
  const fwd = time(() => tf.conv2d(x, filter, c.strides, c.pad));
  const dW = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.filter }) as tf.Tensor);
  const dx = time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: c.x }) as tf.Tensor);
  const gmacs = (ms: number) => (macs / ms / 1e6).toFixed(2);
  rows.push([
    `${c.name} (${c.x.join('×')} → ${c.filter[3]})`,
    (macs / 1e6).toFixed(0),
    fwd.toFixed(1),
    dW.toFixed(1),
    `${(dW / fwd).toFixed(1)}×`,
    dx.toFixed(1),
    `${(dx / fwd).toFixed(1)}×`,
    gmacs(dW),
    gmacs(dx),
  ]);
  tf.dispose([x, filter, y, dy]);
}

const { loadavg } = await import('node:os');
console.log(
  `\nwasm conv gradients (${status.threads === 1 ? 'one thread' : `${status.threads} threads`}), median of ${REPS} calls; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
