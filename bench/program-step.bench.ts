/**
 * Program-step benchmark: one SimSiam training step (the `simsiam` template, batch 128, two views)
 * run by Patchbay's program interpreter, against the same step written by hand in tfjs: the same
 * three models, the same augmentations, the negative-cosine loss with the stop-gradient done by
 * computing the targets' gradient away (customGrad), one variableGrads and SGD with momentum.
 * Steps alternate between the two so machine noise hits both alike; figures are medians after
 * warm-up. The issue's bar: interpreter / hand-written time ≤ 1 / 0.95.
 * Run with `npx tsx bench/program-step.bench.ts` (wasm backend in Node).
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { buildModel } from '../src/runtime/build';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { runOp } from '../src/runtime/program/ops';
import { ProgramRun } from '../src/runtime/program/run';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { templateDocument } from '../templates/index';

const STEPS = Number(process.env.STEPS ?? 8);
const WARMUP = 2;
const BATCH = 128;

await useWasmBackend();
const template = templateDocument('simsiam');
if ('error' in template) throw new Error(template.error);
const { program } = lowerProgram(analyzeProgram(template.doc)!);
if (!program) throw new Error('The simsiam template does not lower.');
const ds = await loadMnistNode();
const proc = program.procedures[0]!;

// The interpreter runs its own loop over STEPS + WARMUP batches; the hand-written step runs inside
// its onStep callback, so the two alternate, and each interpreter step's time excludes the hand one.
const run = new ProgramRun(tf, program, 0);

// By hand: the same networks, built from the same plans, and the step written out.
const plans = Object.fromEntries(program.networks.map((n) => [n.id, n.plan]));
const encoder = buildModel(plans.model!, { seed: 0 });
const projector = buildModel(plans.projector!, { seed: 0 });
const predictor = buildModel(plans.predictor!, { seed: 0 });
const variables = [encoder, projector, predictor].flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));
const optimizer = tf.train.momentum(0.05, 0.9);
const stop = tf.customGrad(((x: tf.Tensor) => ({ value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<
  typeof tf.customGrad
>[0]);
const negCos = (p: tf.Tensor, z: tf.Tensor) =>
  tf.neg(tf.mean(tf.sum(tf.mul(tf.div(p, tf.norm(p, 'euclidean', -1, true)), tf.div(z, tf.norm(z, 'euclidean', -1, true))), -1)));
async function handStep(step: number): Promise<number> {
  const t0 = performance.now();
  const loss = tf.tidy(() => {
    const x = tf.tensor4d(ds.train.x.subarray(step * BATCH * 784, (step + 1) * BATCH * 784), [BATCH, 28, 28, 1]);
    const view = (i: number) =>
      runOp(
        tf,
        'RandomErase',
        { probability: 0.5, size: 0.3 },
        [runOp(tf, 'RandomTranslate', { pixels: 3 }, [x], { seed: 0, step, nodeId: `translate${i}` })],
        { seed: 0, step, nodeId: `erase${i}` },
      );
    const v1 = view(1);
    const v2 = view(2);
    const { value, grads } = tf.variableGrads(() => {
      const z1 = projector.apply(encoder.apply(v1, { training: true }), { training: true }) as tf.Tensor;
      const z2 = projector.apply(encoder.apply(v2, { training: true }), { training: true }) as tf.Tensor;
      const p1 = predictor.apply(z1, { training: true }) as tf.Tensor;
      const p2 = predictor.apply(z2, { training: true }) as tf.Tensor;
      return tf.div(tf.add(negCos(p1, stop(z2)), negCos(p2, stop(z1))), 2) as tf.Scalar;
    }, variables);
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    return value;
  });
  await loss.data();
  loss.dispose();
  return performance.now() - t0;
}

const times = { interpreter: [] as number[], hand: [] as number[] };
const subset = {
  ...ds,
  train: { x: ds.train.x.subarray(0, (STEPS + WARMUP) * BATCH * 784), y: ds.train.y.subarray(0, (STEPS + WARMUP) * BATCH), count: (STEPS + WARMUP) * BATCH },
};
let last = performance.now();
await run.train(
  proc,
  subset,
  {
    seed: 0,
    batchSize: BATCH,
    epochs: 1,
    onStep: async (r) => {
      const interpreterMs = performance.now() - last;
      const handMs = await handStep(r.step - 1);
      if (r.step > WARMUP) {
        times.interpreter.push(interpreterMs);
        times.hand.push(handMs);
      }
      last = performance.now();
    },
  },
  { id: proc.id, label: proc.label, kind: 'train', steps: 0, seconds: 0, curves: {} },
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const interp = median(times.interpreter);
const hand = median(times.hand);
console.log(
  `SimSiam step (batch ${BATCH}, two views, wasm, median of ${STEPS}): interpreter ${interp.toFixed(0)} ms, hand-written tfjs ${hand.toFixed(0)} ms; hand / interpreter = ${(hand / interp).toFixed(3)} (the bar: ≥ 0.95)`,
);
run.dispose();
