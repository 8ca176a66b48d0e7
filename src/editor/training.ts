/**
 * The run slice: everything about training that the page keeps (the live run, its curves, the run
 * history of the current graph, the playground's model), and the one TrainingClient that talks to
 * the worker. It is a store of its own so that per-step updates never touch the document slice or
 * wake the canvas; the curves are plain arrays appended in place and the UI redraws from them at
 * most 4 times a second (`tick`).
 */
import { create } from 'zustand';
import { downloadBlob } from './files';
import type { Plan } from '../compiler/plan';
import type { TrainingSetup } from '../document/schema';
import type { StepReport } from '../runtime/training/train';
import { TrainingClient, type ClientEvent } from '../runtime/worker/client';
import type { BackendChoice, BackendName, TrainData, WeightArtifacts } from '../runtime/worker/protocol';
import { cloneDataset, classCounts, DataError, type Dataset } from '../runtime/data/dataset';
import { csvColumns, parseCsv } from '../runtime/data/csv';
import { decodeImageInBrowser, filesFromPicker, groupByClass, imagesToDataset, listZip, type ImageGroups } from '../runtime/data/image-folder';
import { isSyntheticName, SYNTHETIC, type SyntheticName } from '../runtime/data/synthetic';
import type { DataShape } from '../runtime/data/fit';
import { ioOf } from '../runtime/data/fit';
import { fromModelJson, toModelJson, WEIGHTS_FILE } from '../runtime/tfjs-format';
import { deleteRun, listRuns, loadWeights, saveRun, type RunCore, type RunData, type RunRecord, type RunStatus } from './runs-db';
export type { RunData } from './runs-db';
import { useEditor } from './store';

/** What the Train tab trains on: MNIST, a synthetic set, or the user's own CSV or images. */
export type DataChoice = 'mnist' | SyntheticName | 'csv' | 'images';

export const DATA_CHOICES: Array<[DataChoice, string]> = [
  ['mnist', 'MNIST digits'],
  ['moons', 'Two moons'],
  ['spirals', 'Spirals'],
  ['gaussians', 'Gaussian mixture'],
  ['shapes', 'Shapes (28×28 grey)'],
  ['shapes-rgb', 'Shapes (32×32 colour)'],
  ['csv', 'Your CSV…'],
  ['images', 'Your images (folder or .zip)…'],
];

/** What a run trained on, kept with the run (and its record). */
/** The user's own data, loaded in the page (never saved: it stays in this tab). */
export interface UserData {
  kind: 'csv' | 'images';
  fileName: string;
  status: 'loading' | 'ready' | 'error';
  /** Progress (decoding images) or the error, in words. */
  message?: string;
  dataset?: Dataset;
  /** CSV: its text and columns, to re-read with another label column. */
  text?: string;
  columns?: string[];
  label?: string;
  /** Images: the files by class, to decode again at another input size. */
  groups?: ImageGroups;
  skipped?: number;
}

export const MNIST_INFO: RunData = { title: 'MNIST', inputShape: [28, 28, 1], classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], trainCount: 8000, testCount: 2000 };

export type LiveStatus = 'starting' | 'running' | 'paused' | 'stopping' | RunStatus;

export interface LiveRun extends RunCore {
  /** The run's own copy of the plan, as JSON: to tell whether the graph changed since. */
  planJson: string;
  plan: Plan;
  status: LiveStatus;
  nodeId?: string;
  last: StepReport | null;
  data: RunData;
}

export interface PlaygroundModel {
  /** Which run's weights the worker holds, in words. */
  label: string;
  runId?: string;
  /** Its classes, when known (a run's data); digits otherwise. */
  classNames?: string[];
}

export interface TrainingState {
  backendChoice: BackendChoice;
  /** "Limit training examples": a quick run on the first N digits; null is the whole split. */
  limit: number | null;
  probe: { available: BackendName[]; software: boolean; reason: string } | null;
  run: LiveRun | null;
  /** Bumped (throttled) when the live run's curves grew. */
  tick: number;
  runsKey: string | null;
  runs: RunRecord[];
  /** Runs whose loss curves are overlaid. */
  compare: string[];
  playground: PlaygroundModel | null;
  /** Imported weights that initialise the next run. */
  pendingWeights: { label: string; weights: WeightArtifacts } | null;
  dataChoice: DataChoice;
  csv: UserData | null;
  images: UserData | null;
}

const PREFS = 'patchbay:train-prefs';
function readPrefs(): Pick<TrainingState, 'backendChoice' | 'limit' | 'dataChoice'> {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS) ?? '{}') as Partial<TrainingState>;
    const known = DATA_CHOICES.some(([id]) => id === p.dataChoice);
    return { backendChoice: p.backendChoice ?? 'auto', limit: typeof p.limit === 'number' && p.limit > 0 ? p.limit : null, dataChoice: known ? p.dataChoice! : 'mnist' };
  } catch {
    return { backendChoice: 'auto', limit: null, dataChoice: 'mnist' };
  }
}

export const useTraining = create<TrainingState>()(() => ({
  ...readPrefs(),
  probe: null,
  run: null,
  tick: 0,
  runsKey: null,
  runs: [],
  compare: [],
  playground: null,
  pendingWeights: null,
  csv: null,
  images: null,
}));

export function setPrefs(prefs: Partial<Pick<TrainingState, 'backendChoice' | 'limit' | 'dataChoice'>>) {
  useTraining.setState(prefs);
  const { backendChoice, limit, dataChoice } = useTraining.getState();
  try {
    // Your own data is not kept across reloads; the choice of it is (the tab then asks for the file).
    localStorage.setItem(PREFS, JSON.stringify({ backendChoice, limit, dataChoice }));
  } catch { /* private mode: preferences last for the session */ }
}

const toast = (kind: 'error' | 'info', title: string, lines?: string[]) => useEditor.getState().toast({ kind, title, lines });

let client: TrainingClient | undefined;
let dirty = false;
let ticker: ReturnType<typeof setInterval> | undefined;
let requestIds = 0;
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();

function getClient(): TrainingClient {
  if (!client) {
    client = new TrainingClient();
    client.on(onEvent);
  }
  return client;
}

/** Asks the worker which backends work here (once); starts the worker if needed. */
export function probeBackends(): void {
  if (useTraining.getState().probe) return;
  getClient().send({ type: 'probe' });
}

const isLive = (s: LiveStatus | undefined) => s === 'starting' || s === 'running' || s === 'paused' || s === 'stopping';
export const runIsActive = () => isLive(useTraining.getState().run?.status);

function updateRun(patch: Partial<LiveRun>) {
  const run = useTraining.getState().run;
  if (run) useTraining.setState({ run: { ...run, ...patch } });
}

function startTicker() {
  ticker ??= setInterval(() => {
    if (!dirty) return;
    dirty = false;
    const run = useTraining.getState().run;
    // A fresh object so that selectors see the new last step; the curve arrays are shared.
    useTraining.setState({ tick: useTraining.getState().tick + 1, run: run ? { ...run } : run });
  }, 250);
}
function stopTicker() {
  if (ticker) clearInterval(ticker);
  ticker = undefined;
  if (dirty) {
    dirty = false;
    useTraining.setState({ tick: useTraining.getState().tick + 1 });
  }
}

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

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

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
    const list = zip ? listZip(new Uint8Array(await zip.arrayBuffer()), zip.name) : filesFromPicker(files);
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
async function runDataFor(plan: Plan): Promise<{ data: TrainData; info: RunData }> {
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

export async function startRun(args: { plan: Plan; setup: TrainingSetup; graphKey: string; graphName: string }): Promise<void> {
  if (runIsActive()) return;
  let data: TrainData;
  let info: RunData;
  try {
    ({ data, info } = await runDataFor(args.plan));
  } catch (err) {
    toast('error', 'Could not start the run', [messageOf(err)]);
    return;
  }
  if (runIsActive()) return;
  const { backendChoice, limit, pendingWeights } = useTraining.getState();
  const run: LiveRun = {
    id: `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`,
    graphKey: args.graphKey,
    graphName: args.graphName,
    date: new Date().toISOString(),
    setup: args.setup,
    limit: limit ?? undefined,
    backendChoice,
    planJson: JSON.stringify(args.plan),
    plan: args.plan,
    backend: null,
    status: 'starting',
    last: null,
    curves: { loss: [], accuracy: [] },
    epochs: [],
    final: null,
    seconds: 0,
    stepsPerSecond: 0,
    data: info,
  };
  // Imported weights initialise this run only.
  useTraining.setState({ run, playground: null, pendingWeights: null, tick: useTraining.getState().tick + 1 });
  startTicker();
  getClient().send({
    type: 'train', runId: run.id, plan: args.plan, setup: args.setup, data, backend: backendChoice,
    limit: limit ?? undefined, initialWeights: pendingWeights?.weights,
  });
}

export function pauseRun() {
  if (useTraining.getState().run?.status !== 'running') return;
  getClient().send({ type: 'pause' });
  updateRun({ status: 'paused' });
}
export function resumeRun() {
  if (useTraining.getState().run?.status !== 'paused') return;
  getClient().send({ type: 'resume' });
  updateRun({ status: 'running' });
}
export function stopRun() {
  if (!runIsActive()) return;
  getClient().send({ type: 'stop' });
  updateRun({ status: 'stopping' });
}

async function finishRun(status: RunStatus, extra: Partial<LiveRun>, weights: WeightArtifacts | null) {
  const run = useTraining.getState().run;
  if (!run) return;
  stopTicker();
  const done: LiveRun = { ...run, ...extra, status };
  useTraining.setState({
    run: done,
    tick: useTraining.getState().tick + 1,
    playground: weights && status !== 'failed' ? { label: 'the run that just finished', runId: run.id, classNames: run.data.classNames } : null,
  });
  const record: RunRecord = {
    id: done.id, graphKey: done.graphKey, graphName: done.graphName, date: done.date, setup: done.setup, limit: done.limit,
    backendChoice: done.backendChoice, backend: done.backend,
    curves: { loss: done.curves.loss.slice(), accuracy: done.curves.accuracy.slice() },
    epochs: done.epochs, final: done.final, status, message: done.message, seconds: done.seconds, stepsPerSecond: done.stepsPerSecond,
    hasWeights: !!weights, totalSteps: done.last?.totalSteps ?? 0, data: done.data,
  };
  try {
    await saveRun(record, weights);
  } catch (err) {
    toast('error', 'The run could not be saved in this browser', [String(err)]);
  }
  if (useTraining.getState().runsKey === done.graphKey) await refreshRuns(done.graphKey);
}

function onEvent(e: ClientEvent) {
  const run = useTraining.getState().run;
  const mine = run && 'runId' in e && e.runId === run.id;
  switch (e.type) {
    case 'backends':
      useTraining.setState({ probe: { available: e.available, software: e.software, reason: e.reason } });
      break;
    case 'backend':
      if (mine) updateRun({ backend: { name: e.name, reason: e.reason }, status: run.status === 'starting' ? 'running' : run.status });
      break;
    case 'step':
      if (!mine) break;
      run.curves.loss.push(e.report.loss);
      run.curves.accuracy.push(e.report.accuracy);
      run.last = e.report;
      if (run.status === 'starting') run.status = 'running';
      dirty = true;
      break;
    case 'epoch':
      if (mine) updateRun({ epochs: [...run.epochs, e.report] });
      break;
    case 'done':
      if (!mine) break;
      void finishRun(e.result.status, {
        message: e.result.message, final: e.result.final, seconds: e.result.seconds, stepsPerSecond: e.result.stepsPerSecond,
        epochs: e.result.epochs,
      }, e.weights);
      break;
    case 'error':
      if (mine && isLive(run.status)) {
        void finishRun('failed', { message: e.message, nodeId: e.nodeId }, null);
      } else if (!e.runId) {
        toast('error', 'The training worker reported an error', [e.message]);
      }
      break;
    case 'crashed':
      for (const [, p] of pending) p.reject(new Error(e.message));
      pending.clear();
      if (run && isLive(run.status)) void finishRun('crashed', { message: e.message }, null);
      else toast('error', 'The training worker crashed', [e.message]);
      // The client has already started a fresh worker: ask it again which backends work.
      useTraining.setState({ playground: null, probe: null });
      probeBackends();
      break;
    case 'prediction': {
      const p = pending.get(e.requestId);
      pending.delete(e.requestId);
      if (p) e.probabilities ? p.resolve(e.probabilities) : p.reject(new Error(e.error ?? 'No prediction.'));
      break;
    }
    case 'loaded': {
      const p = pending.get(e.requestId);
      pending.delete(e.requestId);
      if (p) e.error ? p.reject(new Error(e.error)) : p.resolve(undefined);
      break;
    }
  }
}

/** Class probabilities for one image (28×28×1 from the playground) from the worker's current model. */
export function predict(pixels: Float32Array): Promise<number[]> {
  const requestId = ++requestIds;
  return new Promise<number[]>((resolve, reject) => {
    pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject });
    getClient().send({ type: 'predict', requestId, pixels });
  });
}

/** Loads a saved run's weights into the worker for the playground (built from the current graph's plan). */
export async function tryPastRun(record: RunRecord, plan: Plan | null): Promise<void> {
  if (runIsActive()) {
    toast('error', 'Wait for the current run to end before loading other weights.');
    return;
  }
  if (!plan) {
    toast('error', 'Fix the graph first: its weights are loaded into the current graph.');
    return;
  }
  const weights = await loadWeights(record.id);
  if (!weights) {
    toast('error', 'This run has no saved weights.');
    return;
  }
  const requestId = ++requestIds;
  try {
    await new Promise((resolve, reject) => {
      pending.set(requestId, { resolve, reject });
      getClient().send({ type: 'load', requestId, plan, weights });
    });
    useTraining.setState({ playground: { label: `the run of ${new Date(record.date).toLocaleString()}`, runId: record.id, classNames: record.data?.classNames } });
  } catch (err) {
    toast('error', 'Could not load these weights into the current graph', [err instanceof Error ? err.message : String(err)]);
  }
}

export async function refreshRuns(graphKey: string): Promise<void> {
  try {
    const runs = await listRuns(graphKey);
    const ids = new Set(runs.map((r) => r.id));
    const compare = useTraining.getState().runsKey === graphKey ? useTraining.getState().compare.filter((id) => ids.has(id)) : [];
    useTraining.setState({ runsKey: graphKey, runs, compare });
  } catch (err) {
    useTraining.setState({ runsKey: graphKey, runs: [] });
    toast('error', 'Could not read the run history from this browser', [String(err)]);
  }
}

export async function removeRun(id: string): Promise<void> {
  await deleteRun(id);
  const key = useTraining.getState().runsKey;
  if (key) await refreshRuns(key);
}

export function toggleCompare(id: string) {
  const { compare } = useTraining.getState();
  useTraining.setState({ compare: compare.includes(id) ? compare.filter((x) => x !== id) : [...compare, id] });
}


/** Downloads model.json and weights.bin in tfjs's format (tf.loadLayersModel reads them). */
export async function exportWeights(record: RunRecord): Promise<void> {
  const weights = await loadWeights(record.id);
  if (!weights) {
    toast('error', 'This run has no saved weights.');
    return;
  }
  downloadBlob('model.json', new Blob([JSON.stringify(toModelJson(weights))], { type: 'application/json' }));
  // Browsers may refuse a second download fired in the same task.
  await new Promise((r) => setTimeout(r, 150));
  downloadBlob(WEIGHTS_FILE, new Blob([weights.weightData], { type: 'application/octet-stream' }));
  toast('info', 'Downloaded model.json and weights.bin. Load them with tf.loadLayersModel(\'…/model.json\').');
}

/** Reads picked model.json + weight files; they initialise the next run (and can be tried in the playground). */
export async function importWeights(files: File[], plan: Plan | null): Promise<void> {
  const json = files.find((f) => f.name.endsWith('.json'));
  if (!json) {
    toast('error', 'Pick model.json together with its weights.bin.');
    return;
  }
  try {
    const bins = new Map<string, ArrayBuffer>();
    for (const f of files) if (f !== json) bins.set(f.name, await f.arrayBuffer());
    const weights = fromModelJson(await json.text(), bins);
    useTraining.setState({ pendingWeights: { label: files.map((f) => f.name).join(' + '), weights } });
    if (plan && !runIsActive()) {
      const requestId = ++requestIds;
      await new Promise((resolve, reject) => {
        pending.set(requestId, { resolve, reject });
        getClient().send({ type: 'load', requestId, plan, weights: { ...weights, weightData: weights.weightData.slice(0) } });
      });
      useTraining.setState({ playground: { label: 'the imported weights' } });
    }
    toast('info', 'Imported the weights: the next run starts from them.');
  } catch (err) {
    useTraining.setState({ pendingWeights: null });
    toast('error', 'Could not import these weights', [err instanceof Error ? err.message : String(err)]);
  }
}

export const clearPendingWeights = () => useTraining.setState({ pendingWeights: null });
