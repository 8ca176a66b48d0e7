import type * as tfType from '@tensorflow/tfjs';
import type { TrainingSetup } from '../../document/schema';
import { exampleSize, seededRandom, shuffledIndices, type Dataset, type Split } from '../data/dataset';
import { disposeOptimizer, setOptimizerLearningRate } from '../program/updates';
import { learningRateAt } from './schedule';
import { seedStep } from '../seeds';
import { fuseAdamOnWasm } from '../fused-adam';

type Tf = typeof tfType;

export interface StepReport {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  accuracy: number;
  learningRate: number;
  stepsPerSecond: number;
  secondsLeft: number;
  /** Live tensors after the step: flat across steps when nothing leaks. */
  tensors: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** confusion[actual][predicted] counts. */
  confusion: number[][];
}

export interface EpochReport {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  test: Evaluation;
}

export interface TrainResult {
  status: 'completed' | 'stopped' | 'failed';
  /** Why a run failed or stopped, in words a user can act on. */
  message?: string;
  steps: Array<{ step: number; loss: number; accuracy: number }>;
  epochs: EpochReport[];
  final: { trainLoss: number; trainAccuracy: number; test: Evaluation } | null;
  stepsPerSecond: number;
  seconds: number;
}

/** The optimizer's own state (Adam's moments, momentum's accumulations, the step count), by position. */
export type OptimizerState = Array<{ name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }>;

/**
 * Where a run can go on from, with the model's weights kept beside it: the steps done, the sums of
 * the epoch in progress, the optimizer's state, and the training time so far. The data order is
 * not stored: it is replayed from the seed.
 */
export interface Checkpoint {
  step: number;
  totalSteps: number;
  epochSoFar: { lossSum: number; accSum: number; seen: number };
  optimizer: OptimizerState;
  seconds: number;
}

export interface TrainHooks {
  onStep?: (report: StepReport) => void | Promise<void>;
  onEpoch?: (report: EpochReport) => void | Promise<void>;
  /** Checked before every step; true stops the run after the current step. */
  shouldStop?: () => boolean;
  /**
   * Awaited before every step; resolves when the run may go on (pause / resume). `checkpoint`
   * saves one now (through onCheckpoint), e.g. when a pause begins.
   */
  waitWhilePaused?: (checkpoint: () => Promise<void>) => Promise<void>;
  /** Asked after each step inside an epoch whether to save a checkpoint now; epoch ends always save one. */
  checkpointDue?: (step: number) => boolean;
  /** Receives each checkpoint; the caller keeps the model's weights with it. */
  onCheckpoint?: (checkpoint: Checkpoint) => void | Promise<void>;
  /**
   * The gradients a step applies, for the steps the caller wants (asked before each step with the
   * step's number, 1-based, and whether it is the run's last): `take` gets them by variable name,
   * copies the caller owns and must dispose, before the optimizer applies them.
   */
  gradientTap?: { wanted: (step: number, last: boolean) => boolean; take: (grads: Map<string, tfType.Tensor>) => void };
}

/**
 * Hands `tap` the gradients the optimizer applies while `armed()` says so. trainOnBatch computes
 * and applies them inside tfjs (optimizer.minimize → applyGradients), so this instance's
 * applyGradients is wrapped. Only armed steps pay anything: a clone (the same buffer on cpu, webgl
 * and webgpu; one copy of the gradients on wasm), kept until the caller disposes it.
 */
function tapGradients(tf: Tf, optimizer: tfType.Optimizer, armed: () => boolean, take: (grads: Map<string, tfType.Tensor>) => void): void {
  const apply = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads) => {
    if (armed()) {
      const named = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
      take(new Map(named.map(({ name, tensor }) => [name, tf.keep(tensor.clone())])));
    }
    apply(grads);
  };
}

export interface TrainOptions {
  /** Use only the first N training examples (and N / 4 test examples), for quick runs. */
  limit?: number;
  hooks?: TrainHooks;
  /** Go on from this checkpoint (its weights already loaded into the model) instead of step 0. */
  resume?: Checkpoint;
}

async function optimizerState(optimizer: tfType.Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  const out: OptimizerState = [];
  for (const { name, tensor } of named) {
    const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
    out.push({ name, shape: tensor.shape.slice(), dtype, data: (await tensor.data()).slice() as Float32Array | Int32Array });
    // getWeights makes a fresh tensor for the step count; the others are the optimizer's own variables.
    if (name === 'iter') tensor.dispose();
  }
  return out;
}

async function restoreOptimizer(tf: Tf, optimizer: tfType.Optimizer, state: OptimizerState): Promise<void> {
  if (!state.length) return;
  const named = state.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape, w.dtype) }));
  await optimizer.setWeights(named);
  tf.dispose(named.map((w) => w.tensor));
}

function optimizerFor(tf: Tf, setup: TrainingSetup): tfType.Optimizer {
  switch (setup.optimizer) {
    case 'sgd':
      return tf.train.momentum(setup.learningRate, setup.momentum);
    case 'adam':
    case 'adamw': {
      const adam = tf.train.adam(setup.learningRate);
      fuseAdamOnWasm(tf, adam); // the same update to the bit, one kernel call per variable on wasm
      return adam;
    }
  }
}

/** tfjs has no AdamW: decay the kernels (not biases or norm scales) after each step, decoupled from Adam. */
function decayWeights(tf: Tf, model: tfType.LayersModel, factor: number): void {
  tf.tidy(() => {
    for (const w of model.trainableWeights) {
      if (w.shape.length < 2) continue;
      w.write(tf.mul(w.read(), factor));
    }
  });
}

/** Labels as the loss wants them: class ids for the sparse loss, one-hot rows otherwise. */
type LabelForm = 'oneHot' | 'sparse';

function batchTensors(
  tf: Tf,
  split: Split,
  order: ArrayLike<number>,
  start: number,
  size: number,
  ds: Dataset,
  labelForm: LabelForm = 'oneHot',
): { x: tfType.Tensor; y: tfType.Tensor } {
  const per = exampleSize(ds);
  const count = Math.min(size, order.length - start);
  const x = new Float32Array(count * per);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const from = order[start + i]!;
    x.set(split.x.subarray(from * per, (from + 1) * per), i * per);
    labels[i] = split.y[from]!;
  }
  return tf.tidy(() => ({
    x: tf.tensor(x, [count, ...ds.inputShape]),
    y: labelForm === 'sparse' ? tf.tensor2d(Float32Array.from(labels), [count, 1]) : tf.oneHot(tf.tensor1d(labels, 'int32'), ds.classNames.length).toFloat(),
  }));
}

/**
 * Loss, accuracy and confusion matrix over a split, in batches (no gradients). Reads back with
 * `data()`, never `dataSync()`: on webgpu a synchronous read of a model's output returned zeros
 * and lost the device (Chromium 156, SwiftShader; test/e2e/backend-equivalence.e2e.test.ts).
 */
export async function evaluate(tf: Tf, model: tfType.LayersModel, ds: Dataset, split: Split, batchSize = 256): Promise<Evaluation> {
  const classes = ds.classNames.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let correct = 0;
  const order = Array.from({ length: split.count }, (_, i) => i);
  for (let start = 0; start < split.count; start += batchSize) {
    const { x, y } = batchTensors(tf, split, order, start, batchSize, ds);
    const [loss, predicted] = tf.tidy(() => {
      const probs = model.predict(x) as tfType.Tensor;
      const clipped = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
      return [tf.sum(tf.mul(y, tf.log(clipped)).neg()), tf.argMax(probs, -1)] as const;
    });
    const [lossValue, guesses] = await Promise.all([loss.data(), predicted.data()]);
    lossSum += lossValue[0]!;
    for (let i = 0; i < guesses.length; i++) {
      const actual = split.y[start + i]!;
      confusion[actual]![guesses[i]!]! += 1;
      if (guesses[i] === actual) correct++;
    }
    tf.dispose([x, y, loss, predicted]);
  }
  return { loss: lossSum / split.count, accuracy: correct / split.count, confusion };
}

/**
 * Trains a classifier with `trainOnBatch`, step by step, so that the caller sees every step, can
 * pause or stop, and gets a clear message for a NaN or infinite loss. The same code runs in the
 * browser worker and in the command line.
 */
export async function trainClassifier(tf: Tf, model: tfType.LayersModel, ds: Dataset, setup: TrainingSetup, options: TrainOptions = {}): Promise<TrainResult> {
  const hooks = options.hooks ?? {};
  const per = exampleSize(ds);
  const train = options.limit
    ? { x: ds.train.x.subarray(0, options.limit * per), y: ds.train.y.subarray(0, options.limit), count: Math.min(options.limit, ds.train.count) }
    : ds.train;
  const testLimit = options.limit ? Math.max(1, Math.floor(options.limit / 4)) : undefined;
  const test =
    testLimit && testLimit < ds.test.count ? { x: ds.test.x.subarray(0, testLimit * per), y: ds.test.y.subarray(0, testLimit), count: testLimit } : ds.test;

  const optimizer = optimizerFor(tf, setup);
  model.compile({ optimizer, loss: setup.loss, metrics: ['accuracy'] });
  const stepsPerEpoch = Math.ceil(train.count / setup.batchSize);
  const totalSteps = stepsPerEpoch * setup.epochs;
  /** Whether the step under way hands its gradients to hooks.gradientTap. */
  let tapping = false;
  if (hooks.gradientTap) tapGradients(tf, optimizer, () => tapping, hooks.gradientTap.take);
  const resume = options.resume;
  if (resume && resume.totalSteps !== totalSteps) {
    throw new Error(
      `This checkpoint belongs to a run of ${resume.totalSteps} steps, but this setup makes ${totalSteps}: use the run's own setup and data to resume it.`,
    );
  }
  if (resume) await restoreOptimizer(tf, optimizer, resume.optimizer);
  const random = seededRandom(setup.seed);
  const result: TrainResult = { status: 'completed', steps: [], epochs: [], final: null, stepsPerSecond: 0, seconds: 0 };
  const started = performance.now();
  const firstStep = resume?.step ?? 0;
  const secondsBefore = resume?.seconds ?? 0;
  let step = firstStep;
  let lastEpochLoss = NaN;
  let lastEpochAccuracy = NaN;
  let lossSum = 0;
  let accSum = 0;
  let seen = 0;
  let checkpointed = firstStep;
  const checkpoint = async () => {
    if (!hooks.onCheckpoint || checkpointed === step || step >= totalSteps) return;
    checkpointed = step;
    const seconds = secondsBefore + (performance.now() - started) / 1000;
    await hooks.onCheckpoint({ step, totalSteps, epochSoFar: { lossSum, accSum, seen }, optimizer: await optimizerState(optimizer), seconds });
  };

  outer: for (let epoch = 0; epoch < setup.epochs; epoch++) {
    // The data order of every epoch comes from the seed, so a resumed run replays the orders of the
    // epochs before and skips the batches already done.
    const order = shuffledIndices(train.count, random);
    if ((epoch + 1) * stepsPerEpoch <= firstStep) continue;
    const skip = epoch * stepsPerEpoch < firstStep ? firstStep - epoch * stepsPerEpoch : 0;
    ({ lossSum, accSum, seen } = skip && resume ? resume.epochSoFar : { lossSum: 0, accSum: 0, seen: 0 });
    for (let start = skip * setup.batchSize; start < train.count; start += setup.batchSize) {
      await hooks.waitWhilePaused?.(checkpoint);
      if (hooks.shouldStop?.()) {
        result.status = 'stopped';
        result.message = `Stopped by the user at step ${step} of ${totalSteps}.`;
        break outer;
      }
      const learningRate = learningRateAt(setup, step, totalSteps);
      setOptimizerLearningRate(optimizer, learningRate);
      const { x, y } = batchTensors(tf, train, order, start, setup.batchSize, ds, setup.loss === 'sparseCategoricalCrossentropy' ? 'sparse' : 'oneHot');
      seedStep(model, setup.seed, step);
      let loss: number;
      let accuracy: number;
      tapping = hooks.gradientTap?.wanted(step + 1, step + 1 === totalSteps) ?? false;
      try {
        const out = (await model.trainOnBatch(x, y)) as number[];
        loss = out[0]!;
        accuracy = out[1] ?? NaN;
      } finally {
        tapping = false;
        tf.dispose([x, y]);
      }
      if (setup.optimizer === 'adamw' && setup.weightDecay > 0) decayWeights(tf, model, 1 - learningRate * setup.weightDecay);
      step++;
      if (!Number.isFinite(loss)) {
        result.status = 'failed';
        result.message = `The loss became ${loss} at step ${step} (epoch ${epoch + 1}), so training stopped. Lower the learning rate (now ${learningRate.toPrecision(3)}), or check the data and the last layer's activation.`;
        break outer;
      }
      const batch = Math.min(setup.batchSize, train.count - start);
      lossSum += loss * batch;
      accSum += accuracy * batch;
      seen += batch;
      result.steps.push({ step, loss, accuracy });
      const elapsed = (performance.now() - started) / 1000;
      const stepsPerSecond = (step - firstStep) / elapsed;
      await hooks.onStep?.({
        step,
        totalSteps,
        epoch: epoch + 1,
        loss,
        accuracy,
        learningRate,
        stepsPerSecond,
        secondsLeft: (totalSteps - step) / stepsPerSecond,
        tensors: tf.memory().numTensors,
      });
      const epochEnds = start + setup.batchSize >= train.count;
      if (!epochEnds && hooks.checkpointDue?.(step)) await checkpoint();
    }
    lastEpochLoss = lossSum / seen;
    lastEpochAccuracy = accSum / seen;
    const report: EpochReport = { epoch: epoch + 1, trainLoss: lastEpochLoss, trainAccuracy: lastEpochAccuracy, test: await evaluate(tf, model, ds, test) };
    result.epochs.push(report);
    await hooks.onEpoch?.(report);
    lossSum = accSum = seen = 0;
    await checkpoint();
  }
  result.seconds = secondsBefore + (performance.now() - started) / 1000;
  result.stepsPerSecond = (step - firstStep) / ((performance.now() - started) / 1000);
  if (result.status !== 'failed' && step > firstStep) {
    const last = result.epochs[result.epochs.length - 1];
    const testEval = last && result.status === 'completed' ? last.test : await evaluate(tf, model, ds, test);
    result.final = { trainLoss: last?.trainLoss ?? lastEpochLoss, trainAccuracy: last?.trainAccuracy ?? lastEpochAccuracy, test: testEval };
  }
  disposeOptimizer(optimizer);
  return result;
}
