/**
 * The wasm backend lacks UnsortedSegmentSum, which the gradient of Gather (an Embedding layer: the
 * CLIP text tower's tokens) calls; src/runtime/wasm-kernels.ts supplies it. Checked against the cpu
 * backend's own kernel, repeated ids and an id outside the table included.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { registerWasmTrainingKernels } from '../src/runtime/wasm-kernels';

beforeAll(async () => {
  await useWasmBackend();
  registerWasmTrainingKernels();
});

async function segmentSums(backend: string): Promise<{ sums: number[]; grad: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const data = tf.tensor3d(
      Array.from({ length: 5 * 2 * 3 }, (_, i) => Math.sin(i)),
      [5, 2, 3],
    );
    const ids = tf.tensor1d([2, 0, 2, 3, 7], 'int32'); // 7 is outside the 4 segments: adds nothing
    const sums = tf.unsortedSegmentSum(data, ids, 4);
    // Gather's gradient: d/d(table) of Σ gather(table, ids)·r.
    const table = tf.tensor2d(
      Array.from({ length: 4 * 3 }, (_, i) => i / 10),
      [4, 3],
    );
    const picks = tf.tensor1d([1, 1, 3, 0], 'int32');
    const r = tf.tensor2d(
      Array.from({ length: 4 * 3 }, (_, i) => Math.cos(i)),
      [4, 3],
    );
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, picks), r)))(table);
    return { sums: Array.from(sums.dataSync()), grad: Array.from(grad.dataSync()) };
  });
}

it('UnsortedSegmentSum on wasm equals the cpu kernel, and so does the gradient of gather', async () => {
  const cpu = await segmentSums('cpu');
  const wasm = await segmentSums('wasm');
  expect(wasm.sums.length).toBe(4 * 2 * 3);
  wasm.sums.forEach((v, i) => expect(v).toBeCloseTo(cpu.sums[i]!, 5));
  wasm.grad.forEach((v, i) => expect(v).toBeCloseTo(cpu.grad[i]!, 5));
  // Not vacuous: segment 1 is empty, segment 2 sums two rows.
  expect(cpu.sums.slice(6, 12)).toEqual([0, 0, 0, 0, 0, 0]);
});
