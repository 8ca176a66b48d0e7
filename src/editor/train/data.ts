/**
 * Data preparation for the Train tab: what the chosen data looks like, reading the user's CSV or
 * images into a dataset, and the data a run sends to the worker. Nothing here talks to the worker.
 */
import type { Plan } from '../../compiler/plan';
import type { TrainData } from '../../runtime/worker/protocol';
import { cloneDataset, classCounts, DataError, type Dataset } from '../../runtime/data/dataset';
import { readOffThread } from '../file-reader';
import type { CsvResult, ImagePick, ImagesResult } from '../file-reading';
import { isSyntheticName, SYNTHETIC } from '../../runtime/data/synthetic';
import { ioOf, type DataShape } from '../../runtime/data/fit';
import { MNIST_FULL_INFO, MNIST_INFO, useTraining, type RunData, type TrainingState, type UserData } from '../training';

export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

const infoOf = (ds: Dataset): RunData => ({
  title: ds.name,
  inputShape: ds.inputShape,
  classNames: ds.classNames,
  trainCount: ds.train.count,
  testCount: ds.test.count,
});

/** What the chosen data looks like, for the tab (null while the user's own data is not loaded). */
export function chosenData(state: Pick<TrainingState, 'dataChoice' | 'csv' | 'images'>): (RunData & { shape: DataShape }) | null {
  const choice = state.dataChoice;
  if (choice === 'mnist') return { ...MNIST_INFO, shape: { title: 'MNIST', noun: 'digits', inputShape: MNIST_INFO.inputShape, classes: 10 } };
  if (choice === 'mnist-full')
    return { ...MNIST_FULL_INFO, shape: { title: MNIST_FULL_INFO.title, noun: 'digits', inputShape: MNIST_FULL_INFO.inputShape, classes: 10 } };
  if (isSyntheticName(choice)) {
    const info = SYNTHETIC[choice];
    const data = { title: info.title, inputShape: info.inputShape, classNames: info.classNames, trainCount: info.trainCount, testCount: info.testCount };
    return { ...data, shape: { title: info.title, inputShape: info.inputShape, classes: info.classNames.length } };
  }
  const user = choice === 'csv' ? state.csv : state.images;
  if (!user?.dataset || user.status !== 'ready') return null;
  return {
    ...infoOf(user.dataset),
    shape: { title: user.dataset.name, inputShape: user.dataset.inputShape, classes: user.dataset.classNames.length, resizable: choice === 'images' },
  };
}

/** Per class, training and test examples. */
export function countsOf(ds: Dataset): Array<{ name: string; train: number; test: number }> {
  const train = classCounts(ds.train, ds.classNames.length);
  const test = classCounts(ds.test, ds.classNames.length);
  return ds.classNames.map((name, i) => ({ name, train: train[i]!, test: test[i]! }));
}

/** The latest read of each kind: an earlier, slower read that finishes later is dropped. */
const latestRead = { csv: 0, images: 0 };

/** Reads a CSV file in the file worker (label: the last column unless told); errors land in `csv.message`. */
export async function loadCsvFile(file: File, label?: string): Promise<void> {
  const read = ++latestRead.csv;
  const prev = useTraining.getState().csv;
  const base: UserData = {
    kind: 'csv',
    fileName: file.name,
    status: 'loading',
    source: [file],
    ...(prev?.source?.[0] === file ? { columns: prev.columns, label } : {}),
  };
  useTraining.setState({ csv: { ...base, message: `Reading ${file.name}…` } });
  const result = await readOffThread({ kind: 'csv', file, name: file.name, label }, (p) => {
    if (read === latestRead.csv) useTraining.setState({ csv: { ...base, message: `${p.message}…` } });
  }).catch((err): CsvResult => ({ columns: [], error: messageOf(err) }));
  if (read !== latestRead.csv) return;
  useTraining.setState({
    csv: { ...base, status: result.dataset ? 'ready' : 'error', dataset: result.dataset, message: result.error, columns: result.columns, label: result.label },
  });
}

export function setCsvLabel(label: string): void {
  const file = useTraining.getState().csv?.source?.[0];
  if (file) void loadCsvFile(file, label);
}

/** The input size images are decoded at: the model's, when it takes images; else 28×28 grey. */
function imageShapeFor(plan: Plan | null): number[] {
  const io = plan ? ioOf(plan) : null;
  if (io && typeof io !== 'string' && io.input.length === 3 && (io.input[2] === 1 || io.input[2] === 3)) return io.input;
  return [28, 28, 1];
}

/** Reads a picked folder (its files) or a .zip, groups by class folder and decodes at the model's input size, in the file worker. */
export async function loadImages(files: File[], plan: Plan | null): Promise<void> {
  const zip = files.length === 1 && /\.zip$/i.test(files[0]!.name) ? files[0]! : null;
  const fileName = zip ? zip.name : (files[0] as File & { webkitRelativePath?: string })?.webkitRelativePath?.split('/')[0] || 'the folder';
  useTraining.setState({ images: { kind: 'images', fileName, status: 'loading', message: `Reading ${fileName}…`, source: files } });
  await decodeInto(files, imageShapeFor(plan));
}

function imagePick(files: File[], name: string): ImagePick {
  if (files.length === 1 && /\.zip$/i.test(files[0]!.name)) return { zip: files[0]!, name };
  return { name, files: files.map((file) => ({ path: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name, file })) };
}

/** Decodes the picked images at `shape` in the file worker; the dataset, or why not, lands in `images`. */
async function decodeInto(files: File[], shape: number[]): Promise<Dataset | undefined> {
  const read = ++latestRead.images;
  const prev = useTraining.getState().images!;
  const result = await readOffThread({ kind: 'images', pick: imagePick(files, prev.fileName), shape }, (p) => {
    if (read === latestRead.images) useTraining.setState({ images: { ...prev, status: 'loading', message: `${p.message}…` } });
  }).catch((err): ImagesResult => ({ skipped: prev.skipped ?? 0, error: messageOf(err) }));
  if (read !== latestRead.images) return undefined;
  useTraining.setState({
    images: { ...prev, status: result.dataset ? 'ready' : 'error', message: result.error, dataset: result.dataset, skipped: result.skipped },
  });
  return result.dataset;
}

/** The data for a run: a synthetic set by name, or a copy of the user's data (transferred to the worker). */
export async function runDataFor(plan: Plan | null): Promise<{ data: TrainData; info: RunData }> {
  const state = useTraining.getState();
  const choice = state.dataChoice;
  if (choice === 'mnist') return { data: 'mnist', info: MNIST_INFO };
  // The worker downloads it if it has not yet (the data picker shows how far); a failed download fails the run in words.
  if (choice === 'mnist-full') return { data: 'mnist-full', info: MNIST_FULL_INFO };
  if (isSyntheticName(choice)) {
    const info = chosenData(state)!;
    return {
      data: { kind: 'synthetic', name: choice },
      info: { title: info.title, inputShape: info.inputShape, classNames: info.classNames, trainCount: info.trainCount, testCount: info.testCount },
    };
  }
  const user = choice === 'csv' ? state.csv : state.images;
  if (!user?.dataset) throw new DataError(choice === 'csv' ? 'Choose a CSV file first.' : 'Choose a folder of images or a .zip first.');
  let ds = user.dataset;
  // Images are decoded at the model's input size: again, when the model changed since.
  if (choice === 'images' && user.source && ds.inputShape.join('x') !== imageShapeFor(plan).join('x')) {
    const again = await decodeInto(user.source, imageShapeFor(plan));
    if (!again) throw new DataError(useTraining.getState().images?.message ?? "The images could not be decoded at the model's input size.");
    ds = again;
  }
  return { data: { kind: 'inline', dataset: cloneDataset(ds) }, info: infoOf(ds) };
}
