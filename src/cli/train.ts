import { formatDiagnostics } from '../document/diagnostics';
import { memoryNote } from './memory-note';
import { quoted } from '../document/text';
import { TrainingSchema, type GraphDocument } from '../document/schema';
import { analyze, lower } from '../compiler/index';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Dataset } from '../runtime/data/dataset';
import { dataMismatch, type DataShape } from '../runtime/data/fit';
import { isSyntheticName, SYNTHETIC, SYNTHETIC_NAMES } from '../runtime/data/synthetic';
import { describeBackend, startBackend } from './backend';

export interface TrainArgs {
  /** mnist, a synthetic set's name, or a .csv file. */
  data: string;
  /** The CSV's label column (default: the last). */
  label?: string;
  epochs?: number;
  batchSize?: number;
  backend: 'wasm' | 'cpu';
  /** wasm threads (default: every core). */
  threads?: number;
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
  const source = resolveData(args);
  const analysis = analyze(doc);
  const { plan, diagnostics } = lower(analysis);
  if (!plan) {
    for (const line of formatDiagnostics(diagnostics)) io.err(line);
    io.err('Nothing was trained: fix the errors above first.');
    return 1;
  }
  // A CSV is read (and its errors reported) before the model is checked against it.
  const csv = source.kind === 'csv' ? await loadCsv(source.path, args.label) : undefined;
  const shape: DataShape = source.kind === 'csv' ? { title: csv!.name, inputShape: csv!.inputShape, classes: csv!.classNames.length } : source.shape;
  const mismatch = dataMismatch(plan, shape);
  if (mismatch)
    throw new TrainUsageError(`${mismatch}${source.kind === 'mnist' && !/outputs/.test(mismatch) ? ' Or use a preset for MNIST (--preset mnist).' : ''}`);

  const setup = TrainingSchema.parse({
    ...doc.training,
    ...(args.epochs ? { epochs: args.epochs } : {}),
    ...(args.batchSize ? { batchSize: args.batchSize } : {}),
  });
  const tf = await import('@tensorflow/tfjs');
  const active = await startBackend(tf, args.backend, args.threads, io.err);
  const { buildModel } = await import('../runtime/build');
  const { trainClassifier } = await import('../runtime/training/train');
  const ds =
    source.kind === 'csv'
      ? csv!
      : source.kind === 'mnist'
        ? await (await import('../runtime/data/mnist-node')).loadMnistByName(source.name)
        : (await import('../runtime/data/synthetic')).syntheticDataset(source.name);
  const model = buildModel(plan, { seed: setup.seed });
  const trainCount = args.limit ? Math.min(args.limit, ds.train.count) : ds.train.count;
  if (!args.json) {
    const note = memoryNote(doc, setup.batchSize);
    if (note) io.err(note);
    io.err(
      `Training "${quoted(doc.name)}" (${plan.count.trainable.toLocaleString('en-US')} trainable params) on ${ds.name}: ${trainCount} training ${source.kind === 'mnist' ? 'digits' : 'examples'}, ${setup.epochs} epoch${setup.epochs === 1 ? '' : 's'}, batch ${setup.batchSize}, ${setup.optimizer} lr ${setup.learningRate} (${setup.schedule}), backend ${describeBackend(active)}.`,
    );
  }
  const result = await trainClassifier(tf, model, ds, setup, {
    limit: args.limit,
    hooks: {
      onStep: (s) => {
        if (args.json) return;
        io.status(
          `epoch ${s.epoch}/${setup.epochs}  step ${s.step}/${s.totalSteps}  loss ${s.loss.toFixed(4)}  acc ${pct(s.accuracy)}  ${s.stepsPerSecond.toFixed(2)} steps/s  ${duration(s.secondsLeft)} left`,
        );
      },
      onEpoch: (e) => {
        if (args.json) return;
        io.status('');
        io.err(
          `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, acc ${pct(e.trainAccuracy)}; test loss ${e.test.loss.toFixed(4)}, acc ${pct(e.test.accuracy)}`,
        );
      },
    },
  });
  model.dispose();
  const summary = {
    status: result.status,
    message: result.message,
    backend: tf.getBackend(),
    threads: active.threads,
    steps: result.steps.length,
    seconds: result.seconds,
    stepsPerSecond: result.stepsPerSecond,
    train: result.final ? { loss: result.final.trainLoss, accuracy: result.final.trainAccuracy } : null,
    test: result.final ? { loss: result.final.test.loss, accuracy: result.final.test.accuracy } : null,
    // The same figures under the names a program's run reports (`metrics.testAccuracy`), so that every template reads alike.
    metrics: result.final ? { testAccuracy: result.final.test.accuracy, testLoss: result.final.test.loss, trainAccuracy: result.final.trainAccuracy } : {},
    epochs: result.epochs.map((e) => ({
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      trainAccuracy: e.trainAccuracy,
      testLoss: e.test.loss,
      testAccuracy: e.test.accuracy,
    })),
  };
  if (args.json) io.out(JSON.stringify(summary, null, 2));
  else if (result.final) {
    io.out(
      `Final: train loss ${result.final.trainLoss.toFixed(4)}, accuracy ${pct(result.final.trainAccuracy)}; test loss ${result.final.test.loss.toFixed(4)}, accuracy ${pct(result.final.test.accuracy)}; ${result.stepsPerSecond.toFixed(2)} steps/s on ${describeBackend(active)}.`,
    );
  }
  if (result.status === 'failed') {
    io.err(result.message ?? 'Training failed.');
    return 1;
  }
  return 0;
}

type DataSource =
  | { kind: 'mnist'; name: 'mnist' | 'mnist-full'; shape: DataShape }
  | { kind: 'synthetic'; name: (typeof SYNTHETIC_NAMES)[number]; shape: DataShape }
  | { kind: 'csv'; path: string };

/** Which data `--data` names, or a usage error that lists the choices. */
export function resolveData(args: Pick<TrainArgs, 'data' | 'label'>): DataSource {
  const data = args.data;
  if (args.label !== undefined && !/\.csv$/i.test(data)) throw new TrainUsageError('--label only applies to a CSV file (--data file.csv).');
  if (data === 'mnist' || data === 'mnist-full')
    return { kind: 'mnist', name: data, shape: { title: data, noun: 'digits', inputShape: [28, 28, 1], classes: 10 } };
  if (isSyntheticName(data)) {
    const info = SYNTHETIC[data];
    return { kind: 'synthetic', name: data, shape: { title: info.title, inputShape: info.inputShape, classes: info.classNames.length } };
  }
  const isDir = existsSync(data) && statSync(data).isDirectory();
  if (isDir || /\.zip$/i.test(data)) {
    throw new TrainUsageError(
      `"${data}" is an image ${isDir ? 'folder' : 'archive'}: images can be trained on in the browser editor (Train tab, "Your images"), which decodes them; the command line cannot.`,
    );
  }
  if (/\.csv$/i.test(data)) {
    if (!existsSync(data)) throw new TrainUsageError(`Cannot read "${data}": no such file.`);
    return { kind: 'csv', path: data };
  }
  throw new TrainUsageError(
    `Unknown dataset "${data}". Datasets: mnist, mnist-full, ${SYNTHETIC_NAMES.join(', ')}, or a .csv file (header row, numeric columns, the label last or named with --label).`,
  );
}

export async function loadCsv(path: string, label: string | undefined): Promise<Dataset> {
  const { parseCsv } = await import('../runtime/data/csv');
  const { DataError } = await import('../runtime/data/dataset');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TrainUsageError(`Cannot read "${path}": ${(err as Error).message}`);
  }
  try {
    return parseCsv(text, { label, name: basename(path) });
  } catch (err) {
    // Some messages already start with the file's name ("empty.csv is empty"): say it once.
    const name = basename(path);
    if (err instanceof DataError) throw new TrainUsageError(err.message.startsWith(name) ? err.message : `${name}: ${err.message}`);
    throw err;
  }
}
