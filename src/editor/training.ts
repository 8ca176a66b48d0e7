/**
 * The run slice: everything about training that the page keeps (the live run, its curves, the run
 * history of the current graph, the playground's model), and the one TrainingClient that talks to
 * the worker. It is a store of its own so that per-step updates never touch the document slice or
 * wake the canvas; the curves are plain arrays appended in place and the UI redraws from them at
 * most 4 times a second (`tick`).
 */
import { create } from 'zustand';
import type { Plan } from '../compiler/plan';
import type { TrainingSetup } from '../document/schema';
import type { EpochReport, Evaluation, StepReport } from '../runtime/training/train';
import { TrainingClient, type ClientEvent } from '../runtime/worker/client';
import type { BackendChoice, BackendName, WeightArtifacts } from '../runtime/worker/protocol';
import { fromModelJson, toModelJson, WEIGHTS_FILE } from '../runtime/tfjs-format';
import { deleteRun, listRuns, loadWeights, saveRun, type RunRecord, type RunStatus } from './runs-db';
import { useEditor } from './store';

export type LiveStatus = 'starting' | 'running' | 'paused' | 'stopping' | RunStatus;

export interface LiveRun {
  id: string;
  graphKey: string;
  graphName: string;
  date: string;
  setup: TrainingSetup;
  limit?: number;
  backendChoice: BackendChoice;
  /** The run's own copy of the plan, as JSON: to tell whether the graph changed since. */
  planJson: string;
  plan: Plan;
  backend: { name: BackendName; reason: string } | null;
  status: LiveStatus;
  message?: string;
  nodeId?: string;
  last: StepReport | null;
  /** Appended in place on every step; read by the charts. */
  curves: { loss: number[]; accuracy: number[] };
  epochs: EpochReport[];
  final: { trainLoss: number; trainAccuracy: number; test: Evaluation } | null;
  seconds: number;
  stepsPerSecond: number;
}

export interface PlaygroundModel {
  /** Which run's weights the worker holds, in words. */
  label: string;
  runId?: string;
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
}

const PREFS = 'patchbay:train-prefs';
function readPrefs(): Pick<TrainingState, 'backendChoice' | 'limit'> {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS) ?? '{}') as Partial<TrainingState>;
    return { backendChoice: p.backendChoice ?? 'auto', limit: typeof p.limit === 'number' && p.limit > 0 ? p.limit : null };
  } catch {
    return { backendChoice: 'auto', limit: null };
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
}));

export function setPrefs(prefs: Partial<Pick<TrainingState, 'backendChoice' | 'limit'>>) {
  useTraining.setState(prefs);
  const { backendChoice, limit } = useTraining.getState();
  try {
    localStorage.setItem(PREFS, JSON.stringify({ backendChoice, limit }));
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

export function startRun(args: { plan: Plan; setup: TrainingSetup; graphKey: string; graphName: string }): void {
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
  };
  // Imported weights initialise this run only.
  useTraining.setState({ run, playground: null, pendingWeights: null, tick: useTraining.getState().tick + 1 });
  startTicker();
  getClient().send({
    type: 'train', runId: run.id, plan: args.plan, setup: args.setup, data: 'mnist', backend: backendChoice,
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
    playground: weights && status !== 'failed' ? { label: 'the run that just finished', runId: run.id } : null,
  });
  const record: RunRecord = {
    id: done.id, graphKey: done.graphKey, graphName: done.graphName, date: done.date, setup: done.setup, limit: done.limit,
    backendChoice: done.backendChoice, backend: done.backend,
    curves: { loss: done.curves.loss.slice(), accuracy: done.curves.accuracy.slice() },
    epochs: done.epochs, final: done.final, status, message: done.message, seconds: done.seconds, stepsPerSecond: done.stepsPerSecond,
    hasWeights: !!weights, totalSteps: done.last?.totalSteps ?? 0,
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

/** Class probabilities for one 28×28×1 image from the worker's current model. */
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
    useTraining.setState({ playground: { label: `the run of ${new Date(record.date).toLocaleString()}`, runId: record.id } });
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

function download(name: string, blob: Blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Downloads model.json and weights.bin in tfjs's format (tf.loadLayersModel reads them). */
export async function exportWeights(record: RunRecord): Promise<void> {
  const weights = await loadWeights(record.id);
  if (!weights) {
    toast('error', 'This run has no saved weights.');
    return;
  }
  download('model.json', new Blob([JSON.stringify(toModelJson(weights))], { type: 'application/json' }));
  // Browsers may refuse a second download fired in the same task.
  await new Promise((r) => setTimeout(r, 150));
  download(WEIGHTS_FILE, new Blob([weights.weightData], { type: 'application/octet-stream' }));
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
