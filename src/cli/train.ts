import { formatDiagnostic } from '../document/diagnostics';
import { TrainingSchema, type GraphDocument } from '../document/schema';
import { analyze, lower } from '../compiler/index';
import { formatShape } from '../nodes/shape';

export interface TrainArgs {
  data: string;
  epochs?: number;
  batchSize?: number;
  backend: 'wasm' | 'cpu';
  limit?: number;
  json: boolean;
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Rewrites the current terminal line (progress); a no-op when stderr is not a terminal. */
  status: (text: string) => void;
}

export class TrainUsageError extends Error {}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** `patchbay train`: the same training code the browser worker runs, on wasm or cpu in Node. */
export async function trainCommand(doc: GraphDocument, args: TrainArgs, io: Io): Promise<number> {
  if (args.data !== 'mnist') throw new TrainUsageError(`Unknown dataset "${args.data}". Datasets: mnist.`);
  const analysis = analyze(doc);
  const { plan, diagnostics } = lower(analysis);
  if (!plan) {
    for (const d of diagnostics) io.err(formatDiagnostic(d));
    io.err('Nothing was trained: fix the errors above first.');
    return 1;
  }
  const input = plan.main.steps.find((s) => s.kind === 'input');
  if (plan.main.steps.filter((s) => s.kind === 'input').length !== 1 || plan.main.outputs.length !== 1 || !input || input.kind !== 'input') {
    throw new TrainUsageError('Training on mnist needs a graph with one Input and one output.');
  }
  if (input.shape.join('x') !== '28x28x1') {
    throw new TrainUsageError(`The model takes ${formatShape([null, ...input.shape])}, but mnist digits are (None, 28, 28, 1). Use a preset for MNIST (--preset mnist) or change the Input shape.`);
  }
  const outShape = plan.main.outputs[0]!.shape;
  if (!outShape || outShape.length !== 2 || outShape[1] !== 10) {
    throw new TrainUsageError(`The model outputs ${outShape ? formatShape(outShape) : 'an unknown shape'}, but mnist has 10 classes: end with Dense(10, softmax).`);
  }

  const setup = TrainingSchema.parse({ ...doc.training, ...(args.epochs ? { epochs: args.epochs } : {}), ...(args.batchSize ? { batchSize: args.batchSize } : {}) });
  const tf = await import('@tensorflow/tfjs');
  if (args.backend === 'wasm') {
    const { useWasmBackend } = await import('../runtime/wasm-backend');
    await useWasmBackend();
  } else {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  const { buildModel } = await import('../runtime/build');
  const { loadMnistNode } = await import('../runtime/data/mnist-node');
  const { trainClassifier } = await import('../runtime/training/train');
  const ds = await loadMnistNode();
  const model = buildModel(plan);
  const trainCount = args.limit ? Math.min(args.limit, ds.train.count) : ds.train.count;
  if (!args.json) {
    io.err(`Training "${doc.name}" (${plan.count.trainable.toLocaleString('en-US')} trainable params) on mnist: ${trainCount} training digits, ${setup.epochs} epoch${setup.epochs === 1 ? '' : 's'}, batch ${setup.batchSize}, ${setup.optimizer} lr ${setup.learningRate} (${setup.schedule}), backend ${tf.getBackend()}.`);
  }
  const result = await trainClassifier(tf, model, ds, setup, {
    limit: args.limit,
    hooks: {
      onStep: (s) => {
        if (args.json) return;
        io.status(`epoch ${s.epoch}/${setup.epochs}  step ${s.step}/${s.totalSteps}  loss ${s.loss.toFixed(4)}  acc ${pct(s.accuracy)}  ${s.stepsPerSecond.toFixed(2)} steps/s  ${duration(s.secondsLeft)} left`);
      },
      onEpoch: (e) => {
        if (args.json) return;
        io.status('');
        io.err(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, acc ${pct(e.trainAccuracy)}; test loss ${e.test.loss.toFixed(4)}, acc ${pct(e.test.accuracy)}`);
      },
    },
  });
  model.dispose();
  const summary = {
    status: result.status,
    message: result.message,
    backend: tf.getBackend(),
    steps: result.steps.length,
    seconds: result.seconds,
    stepsPerSecond: result.stepsPerSecond,
    train: result.final ? { loss: result.final.trainLoss, accuracy: result.final.trainAccuracy } : null,
    test: result.final ? { loss: result.final.test.loss, accuracy: result.final.test.accuracy } : null,
    epochs: result.epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy, testLoss: e.test.loss, testAccuracy: e.test.accuracy })),
  };
  if (args.json) io.out(JSON.stringify(summary, null, 2));
  else if (result.final) {
    io.out(`Final: train loss ${result.final.trainLoss.toFixed(4)}, accuracy ${pct(result.final.trainAccuracy)}; test loss ${result.final.test.loss.toFixed(4)}, accuracy ${pct(result.final.test.accuracy)}; ${result.stepsPerSecond.toFixed(2)} steps/s on ${summary.backend}.`);
  }
  if (result.status === 'failed') {
    io.err(result.message ?? 'Training failed.');
    return 1;
  }
  return 0;
}
