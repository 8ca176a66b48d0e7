/**
 * The fused Adam update (src/runtime/fused-adam.ts) against tfjs's own AdamOptimizer on the wasm
 * backend: the same weights, moments and step count to the bit after several steps of a small
 * model with a Dense, a LayerNorm and a conv (several variable sizes, one not a multiple of four);
 * its state saves and loads as tfjs's; other backends keep tfjs's update.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseAdamOnWasm } from '../src/runtime/fused-adam';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { setOptimizerLearningRate } from '../src/runtime/program/updates';

function model(): tf.LayersModel {
  const inp = tf.input({ shape: [6, 6, 1] });
  let x = tf.layers.conv2d({ filters: 5, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(inp) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.layerNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 7, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: out });
}

async function train(fused: boolean, steps: number): Promise<{ weights: Float32Array[]; state: Float32Array[]; names: string[]; losses: number[] }> {
  const m = model();
  const optimizer = tf.train.adam(0.01, 0.85, 0.995, 1e-6);
  if (fused) fuseAdamOnWasm(tf, optimizer);
  m.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const xs = tf.tensor4d(
    Array.from({ length: 8 * 36 }, (_, i) => Math.sin(i * 0.37)),
    [8, 6, 6, 1],
  );
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 1, 0], 'int32'), 3);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push((await m.trainOnBatch(xs, ys)) as number);
  const weights = m.getWeights().map((w) => Float32Array.from(w.dataSync()));
  const named = await optimizer.getWeights();
  const result = { weights, state: named.map((w) => Float32Array.from(w.tensor.dataSync())), names: named.map((w) => w.name), losses };
  tf.dispose([xs, ys, ...named.map((w) => w.tensor)]);
  m.dispose();
  optimizer.dispose();
  return result;
}

beforeAll(async () => {
  // The kernels attached: else every comparison below would be tfjs's update against itself.
  expect((await useWasmBackend()).simdKernelsOff).toBeNull();
});

describe('fused Adam on wasm', () => {
  it('gives tfjs’s AdamOptimizer’s weights, moments and step count to the bit', async () => {
    await tf.setBackend('wasm');
    const stock = await train(false, 4);
    const fused = await train(true, 4);
    // Variable names carry each model's own counter suffix; the order and kind match.
    const kind = (names: string[]) => names.map((n) => n.replace(/_\d+|\d+(?=\/)/g, ''));
    expect(kind(fused.names)).toEqual(kind(stock.names));
    expect(fused.losses).toEqual(stock.losses);
    expect(fused.weights).toEqual(stock.weights);
    expect(fused.state).toEqual(stock.state);
    expect(stock.losses[3]).not.toEqual(stock.losses[0]); // it trained
  });

  it('follows a learning rate changed between steps, and a resume from saved state, as tfjs’s does', async () => {
    await tf.setBackend('wasm');
    // As train.ts: a schedule sets the rate before each step (setOptimizerLearningRate); a resume
    // restores getWeights' state into a fresh optimizer (restoreOptimizer) and goes on.
    const run = async (fused: boolean) => {
      const m = model();
      const adam = () => {
        const o = tf.train.adam(0.01);
        if (fused) fuseAdamOnWasm(tf, o);
        return o;
      };
      const xs = tf.tensor4d(
        Array.from({ length: 8 * 36 }, (_, i) => Math.cos(i * 0.29)),
        [8, 6, 6, 1],
      );
      const ys = tf.oneHot(tf.tensor1d([2, 1, 0, 0, 1, 2, 1, 0], 'int32'), 3);
      let optimizer = adam();
      m.compile({ optimizer, loss: 'categoricalCrossentropy' });
      for (let s = 0; s < 3; s++) {
        setOptimizerLearningRate(optimizer, 0.02 / (s + 1));
        await m.trainOnBatch(xs, ys);
      }
      const saved = (await optimizer.getWeights()).map(({ name, tensor }) => ({ name, tensor: tensor.clone() }));
      optimizer.dispose();
      optimizer = adam();
      m.compile({ optimizer, loss: 'categoricalCrossentropy' });
      await optimizer.setWeights(saved);
      for (let s = 3; s < 5; s++) {
        setOptimizerLearningRate(optimizer, 0.02 / (s + 1));
        await m.trainOnBatch(xs, ys);
      }
      const weights = m.getWeights().map((w) => Float32Array.from(w.dataSync()));
      const state = (await optimizer.getWeights()).map((w) => Float32Array.from(w.tensor.dataSync()));
      tf.dispose([xs, ys, ...saved.map((w) => w.tensor)]);
      m.dispose();
      optimizer.dispose();
      return { weights, state };
    };
    const stock = await run(false);
    const fused = await run(true);
    expect(fused.weights).toEqual(stock.weights);
    expect(fused.state).toEqual(stock.state);
  });

  it('leaks no more tensors than tfjs’s own update', async () => {
    await tf.setBackend('wasm');
    const leaked = async (fused: boolean) => {
      await train(fused, 1);
      const before = tf.memory().numTensors;
      await train(fused, 3);
      return tf.memory().numTensors - before;
    };
    expect(await leaked(true)).toBe(await leaked(false));
  });

  it('leaves other optimizers and backends to tfjs', async () => {
    const sgd = tf.train.momentum(0.1, 0.9);
    const apply = sgd.applyGradients;
    fuseAdamOnWasm(tf, sgd);
    expect(sgd.applyGradients).toBe(apply);
    await tf.setBackend('cpu');
    const cpuStock = await train(false, 2);
    const cpuFused = await train(true, 2);
    expect(cpuFused.weights).toEqual(cpuStock.weights);
    await tf.setBackend('wasm');
  });
});
