/**
 * Data preparation for the Train tab: what the chosen data looks like, reading the user's CSV or
 * images into a dataset, and the data a run sends to the worker. Nothing here talks to the worker.
 */
import type { Plan } from '../../compiler/plan';
import type { TrainData } from '../../runtime/worker/protocol';
import { cloneDataset, classCounts, DataError, type Dataset } from '../../runtime/data/dataset';
import { csvColumns, parseCsv } from '../../runtime/data/csv';
import { decodeImageInBrowser, filesFromPicker, groupByClass, imagesToDataset, listZip, type ImageGroups } from '../../runtime/data/image-folder';
import { isSyntheticName, SYNTHETIC } from '../../runtime/data/synthetic';
import { ioOf, type DataShape } from '../../runtime/data/fit';
import { MNIST_INFO, useTraining, type RunData, type TrainingState, type UserData } from '../training';

export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

const infoOf = (ds: Dataset): RunData => ({ title: ds.name, inputShape: ds.inputShape, classNames: ds.classNames, trainCount: ds.train.count, testCount: ds.test.count });

/** What the chosen data looks like, for the tab (null while the user's own data is not loaded). */
export function chosenData(state: Pick<TrainingState, 'dataChoice' | 'csv' | 'images'>): (RunData & { shape: DataShape }) | null {
  const choice = state.dataChoice;
  if (choice === 'mnist') return { ...MNIST_INFO, shape: { title: 'MNIST', noun: 'digits', inputShape: MNIST_INFO.inputShape, classes: 10 } };
  if (isSyntheticName(choice)) {
    const info = SYNTHETIC[choice];
    const data = { title: info.title, inputShape: info.inputShape, classNames: info.classNames, trainCount: info.trainCount, testCount: info.testCount };
    return { ...data, shape: { title: info.title, inputShape: info.inputShape, classes: info.classNames.length } };
  }
  const user = choice === 'csv' ? state.csv : state.images;
  if (!user?.dataset || user.status !== 'ready') return null;
  return { ...infoOf(user.dataset), shape: { title: user.dataset.name, inputShape: user.dataset.inputShape, classes: user.dataset.classNames.length, resizable: choice === 'images' } };
}

/** Per class, training and test examples. */
export function countsOf(ds: Dataset): Array<{ name: string; train: number; test: number }> {
  const train = classCounts(ds.train, ds.classNames.length);
  const test = classCounts(ds.test, ds.classNames.length);
  return ds.classNames.map((name, i) => ({ name, train: train[i]!, test: test[i]! }));
}

/** Reads a CSV file (label: the last column unless told); errors land in `csv.message`. */
export async function loadCsvFile(file: File): Promise<void> {
  useTraining.setState({ csv: { kind: 'csv', fileName: file.name, status: 'loading', message: `Reading ${file.name}…` } });
  let text: string;
  try {
    text = await file.text();
  } catch (err) {
    useTraining.setState({ csv: { kind: 'csv', fileName: file.name, status: 'error', message: `${file.name} could not be read: ${messageOf(err)}` } });
    return;
  }
  parseCsvInto(file.name, text, undefined);
}

export function setCsvLabel(label: string): void {
  const csv = useTraining.getState().csv;
  if (csv?.text !== undefined) parseCsvInto(csv.fileName, csv.text, label);
}

function parseCsvInto(fileName: string, text: string, label: string | undefined) {
  const columns = csvColumns(text);
  try {
    const dataset = parseCsv(text, { name: fileName, label });
    useTraining.setState({ csv: { kind: 'csv', fileName, status: 'ready', dataset, text, columns, label: label ?? columns[columns.length - 1] } });
  } catch (err) {
    useTraining.setState({ csv: { kind: 'csv', fileName, status: 'error', message: messageOf(err), text, columns, label: label ?? columns[columns.length - 1] } });
  }
}

/** The input size images are decoded at: the model's, when it takes images; else 28×28 grey. */
function imageShapeFor(plan: Plan | null): number[] {
  const io = plan ? ioOf(plan) : null;
  if (io && typeof io !== 'string' && io.input.length === 3 && (io.input[2] === 1 || io.input[2] === 3)) return io.input;
  return [28, 28, 1];
}

/** Reads a picked folder (its files) or a .zip, groups by class folder and decodes at the model's input size. */
export async function loadImages(files: File[], plan: Plan | null): Promise<void> {
  const zip = files.length === 1 && /\.zip$/i.test(files[0]!.name) ? files[0]! : null;
  const fileName = zip ? zip.name : ((files[0] as File & { webkitRelativePath?: string })?.webkitRelativePath?.split('/')[0] || 'the folder');
  const set = (patch: Partial<UserData>) => useTraining.setState({ images: { kind: 'images', fileName, status: 'loading', ...patch } });
  set({ message: `Reading ${fileName}…` });
  try {
    const list = zip ? await listZip(zip, zip.name) : filesFromPicker(files);
    const groups = groupByClass(list, fileName);
    set({ groups, skipped: groups.skipped.length });
    await decodeInto(groups, imageShapeFor(plan));
  } catch (err) {
    const prev = useTraining.getState().images;
    useTraining.setState({ images: { kind: 'images', fileName, status: 'error', message: messageOf(err), groups: prev?.groups, skipped: prev?.skipped } });
  }
}

async function decodeInto(groups: ImageGroups, shape: number[]): Promise<Dataset> {
  const prev = useTraining.getState().images!;
  let last = 0;
  const dataset = await imagesToDataset(groups, shape, decodeImageInBrowser, {
    onProgress: (done, total) => {
      if (done !== total && performance.now() - last < 100) return;
      last = performance.now();
      useTraining.setState({ images: { ...prev, status: 'loading', message: `Decoding images: ${done} of ${total}…` } });
    },
  });
  useTraining.setState({ images: { ...prev, status: 'ready', message: undefined, dataset } });
  return dataset;
}

/** The data for a run: a synthetic set by name, or a copy of the user's data (transferred to the worker). */
export async function runDataFor(plan: Plan): Promise<{ data: TrainData; info: RunData }> {
  const state = useTraining.getState();
  const choice = state.dataChoice;
  if (choice === 'mnist') return { data: 'mnist', info: MNIST_INFO };
  if (isSyntheticName(choice)) {
    const info = chosenData(state)!;
    return { data: { kind: 'synthetic', name: choice }, info: { title: info.title, inputShape: info.inputShape, classNames: info.classNames, trainCount: info.trainCount, testCount: info.testCount } };
  }
  const user = choice === 'csv' ? state.csv : state.images;
  if (!user?.dataset) throw new DataError(choice === 'csv' ? 'Choose a CSV file first.' : 'Choose a folder of images or a .zip first.');
  let ds = user.dataset;
  // Images are decoded at the model's input size: again, when the model changed since.
  if (choice === 'images' && user.groups && ds.inputShape.join('x') !== imageShapeFor(plan).join('x')) ds = await decodeInto(user.groups, imageShapeFor(plan));
  return { data: { kind: 'inline', dataset: cloneDataset(ds) }, info: infoOf(ds) };
}
