/**
 * The run controller: the page's one TrainingClient, and a run's life from Start to its saved
 * record (start, pause, resume, stop, the worker's events, finishing), including what survives the
 * page: the record is saved as "interrupted" while the run goes (curves every few seconds), each
 * checkpoint the worker sends is kept, leaving the page asks first, and a saved run goes on from its
 * checkpoint. The curves are plain arrays appended in place; the UI redraws from them at most 4
 * times a second (`tick`).
 */
import type { Plan } from '../../compiler/plan';
import type { TrainingSetup } from '../../document/schema';
import { TrainingClient, type ClientEvent } from '../../runtime/worker/client';
import type { TrainData, WeightArtifacts } from '../../runtime/worker/protocol';
import type { GraphDocument } from '../../document/schema';
import { analysisOf, summaryOf } from '../analysis';
import { useEditor } from '../store';
import {
  loadCheckpoint,
  saveCheckpoint,
  saveRun,
  type RunCore,
  type RunData,
  type RunRecord,
  type RunStatus,
  type RunSweep,
  type SavedCheckpoint,
} from '../runs-db';
import { isActiveStatus, MNIST_INFO, runIsActive, useTraining, type LiveRun } from '../training';
import { chosenData, messageOf, runDataFor } from './data';
import { refreshRuns } from './history';
import { toast } from './toast';

let client: TrainingClient | undefined;
let dirty = false;
let ticker: ReturnType<typeof setInterval> | undefined;
/** When this stretch of the live run began (a resumed run adds the seconds before it). */
let segmentStarted = 0;
let lastSaved = 0;
/** IndexedDB writes of the live run, one after another, so that an older save never lands last. */
let writes: Promise<void> = Promise.resolve();
let writeFailed = false;

function queueWrite(write: () => Promise<void>): Promise<void> {
  writes = writes.then(write).catch((err: unknown) => {
    // Once per page: a full or blocked store would otherwise toast every few seconds.
    if (!writeFailed) toast('error', 'The run could not be saved in this browser', [messageOf(err)]);
    writeFailed = true;
  });
  return writes;
}

/** The saved form of a run, as it stands now. */
function recordOf(run: LiveRun, status: RunStatus, hasWeights = false): RunRecord {
  const live = isActiveStatus(run.status);
  return {
    id: run.id,
    graphKey: run.graphKey,
    graphName: run.graphName,
    date: run.date,
    setup: run.setup,
    limit: run.limit,
    backendChoice: run.backendChoice,
    backend: run.backend,
    curves: { loss: run.curves.loss.slice(), accuracy: run.curves.accuracy.slice() },
    epochs: run.epochs,
    final: run.final,
    status,
    message: run.message,
    seconds: live ? run.seconds + (performance.now() - segmentStarted) / 1000 : run.seconds,
    stepsPerSecond: live ? (run.last?.stepsPerSecond ?? 0) : run.stepsPerSecond,
    hasWeights,
    totalSteps: run.last?.totalSteps ?? run.totalSteps,
    data: run.data,
    // Only an interrupted or crashed run goes on from its checkpoint.
    checkpointStep: status === 'interrupted' || status === 'crashed' ? run.checkpointStep : undefined,
    sweep: run.sweep,
    cost: run.cost,
  };
}

/** Saves the live run as "interrupted": what it is if the page goes away before it ends. */
function saveProgress(): void {
  const id = useTraining.getState().run?.id;
  if (!runIsActive()) return;
  lastSaved = performance.now();
  // The record is taken when the write's turn comes, so that it has the latest checkpoint step and
  // never lands after the run's final record.
  void queueWrite(async () => {
    const run = useTraining.getState().run;
    if (run && run.id === id && isActiveStatus(run.status)) await saveRun(recordOf(run, 'interrupted'), null);
  });
}

// Leaving the page (reload, close, navigate away) while a run is active asks first.
if (typeof window !== 'undefined') {
  window.addEventListener('beforeunload', (event) => {
    if (!runIsActive()) return;
    saveProgress();
    event.preventDefault();
    event.returnValue = '';
  });
}

export function getClient(): TrainingClient {
  if (!client) {
    client = new TrainingClient();
    client.on(onEvent);
  }
  return client;
}

/**
 * Asks the worker for MNIST's full set ahead of a run (the data picker, when that choice is made, and
 * its Try again): the worker downloads it once and says how it goes ('data-download', kept in
 * `mnistFull`). A run asks for it itself too; both wait for the same download.
 */
export function loadMnistFull(): void {
  const now = useTraining.getState().mnistFull;
  if (now?.status === 'loading' || now?.status === 'ready') return;
  useTraining.setState({ mnistFull: { status: 'loading', phase: 'download', received: 0, total: null } });
  getClient().send({ type: 'load-data', data: 'mnist-full' });
}

/** Asks the worker which backends work here (once); starts the worker if needed. */
export function probeBackends(): void {
  if (useTraining.getState().probe) return;
  getClient().send({ type: 'probe' });
}

function updateRun(patch: Partial<LiveRun>) {
  const run = useTraining.getState().run;
  if (run) useTraining.setState({ run: { ...run, ...patch } });
}

function startTicker() {
  ticker ??= setInterval(() => {
    if (dirty && performance.now() - lastSaved > 3000) saveProgress();
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

/**
 * Starts a run of `plan`; resolves to its id once it is sent to the worker, or null when it did not
 * start (another run is active, or the data could not be prepared: said in a toast).
 */
export async function startRun(args: {
  plan: Plan;
  setup: TrainingSetup;
  graphKey: string;
  graphName: string;
  /** A sweep's variant: its label and place in the sweep. */
  sweep?: RunSweep;
  /** The graph's cost; counted from the editor's graph when not given. */
  cost?: RunCore['cost'];
}): Promise<string | null> {
  if (runIsActive()) return null;
  let data: TrainData;
  let info: RunData;
  try {
    ({ data, info } = await runDataFor(args.plan));
  } catch (err) {
    toast('error', 'Could not start the run', [messageOf(err)]);
    return null;
  }
  if (runIsActive()) return null;
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
    dataRef: typeof data === 'object' && data.kind === 'inline' ? null : data,
    totalSteps: 0,
    sweep: args.sweep,
    cost: args.cost ?? costOf(useEditor.getState().doc),
  };
  // Imported weights initialise this run only.
  useTraining.setState({ run, playground: null, pendingWeights: null, tick: useTraining.getState().tick + 1 });
  segmentStarted = performance.now();
  startTicker();
  getClient().send({
    type: 'train',
    runId: run.id,
    plan: args.plan,
    setup: args.setup,
    data,
    backend: backendChoice,
    limit: limit ?? undefined,
    initialWeights: pendingWeights?.weights,
    graph: args.graphKey,
  });
  return run.id;
}

/** What the table of the comparison view shows as a graph's cost: its MACs for one example and its trainable parameters. */
export function costOf(doc: GraphDocument): RunCore['cost'] {
  try {
    const summary = summaryOf(analysisOf(doc));
    return { macs: summary.macs, trainableParams: summary.trainableParams };
  } catch {
    // A cost that cannot be counted leaves the run without one; it never stops the run.
    return undefined;
  }
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
  const seconds = extra.seconds ?? run.seconds + (performance.now() - segmentStarted) / 1000;
  const done: LiveRun = { ...run, ...extra, seconds, status };
  useTraining.setState({
    run: done,
    tick: useTraining.getState().tick + 1,
    playground: weights && status !== 'failed' ? { label: 'the run that just finished', runId: run.id, classNames: run.data.classNames } : null,
  });
  const record = recordOf(done, status, !!weights);
  // The history shows the final record at once, not the "interrupted" one until the write is read back.
  useTraining.setState({ runs: useTraining.getState().runs.map((r) => (r.id === record.id ? record : r)) });
  await queueWrite(() => saveRun(record, weights));
  if (useTraining.getState().runsKey === done.graphKey) await refreshRuns(done.graphKey);
}

/** Keeps the worker's checkpoint (with the record as it stands) so that the run can go on after a reload. */
function keepCheckpoint(run: LiveRun, saved: Omit<SavedCheckpoint, 'planJson' | 'data'>) {
  const step = saved.checkpoint.step;
  lastSaved = performance.now();
  const record: RunRecord = { ...recordOf(run, 'interrupted'), checkpointStep: step };
  void queueWrite(async () => {
    await saveCheckpoint(record, { ...saved, planJson: run.planJson, data: run.dataRef });
    // Said on screen once it is really kept.
    if (useTraining.getState().run?.id === run.id) updateRun({ checkpointStep: step });
  });
}

const sameData = (a: RunData, b: RunData) =>
  a.title === b.title &&
  a.trainCount === b.trainCount &&
  a.testCount === b.testCount &&
  a.inputShape.join() === b.inputShape.join() &&
  a.classNames.join('\n') === b.classNames.join('\n');

/**
 * Goes on with a saved run from its last checkpoint: the same id, its curves up to the checkpoint,
 * its own plan, setup, data and backend choice. The user's own data is not kept, so it must be
 * loaded again (the same file) first.
 */
export async function resumeSavedRun(record: RunRecord): Promise<void> {
  if (runIsActive()) {
    toast('error', 'Wait for the current run to end before resuming another.');
    return;
  }
  let saved: SavedCheckpoint | undefined;
  try {
    saved = await loadCheckpoint(record.id);
  } catch (err) {
    toast('error', 'Could not read the checkpoint from this browser', [messageOf(err)]);
    return;
  }
  if (!saved) {
    toast('error', 'This run has no checkpoint to resume from.');
    return;
  }
  const plan = JSON.parse(saved.planJson) as Plan;
  const info = record.data ?? MNIST_INFO;
  let data: TrainData;
  if (saved.data) {
    data = saved.data;
  } else {
    const chosen = chosenData(useTraining.getState());
    if (!chosen || !sameData(chosen, info)) {
      toast('error', `This run trained on ${info.title}, which is not loaded now.`, [
        `Choose ${info.title} again under Dataset (Training setup), then resume.`,
      ]);
      return;
    }
    try {
      ({ data } = await runDataFor(plan));
    } catch (err) {
      toast('error', 'Could not resume the run', [messageOf(err)]);
      return;
    }
  }
  if (runIsActive()) return;
  const step = saved.checkpoint.step;
  const perEpoch = saved.checkpoint.totalSteps / record.setup.epochs;
  const run: LiveRun = {
    ...record,
    planJson: saved.planJson,
    plan,
    status: 'starting',
    message: `Resumed from the checkpoint at step ${step}.`,
    last: null,
    curves: { loss: record.curves.loss.slice(0, step), accuracy: record.curves.accuracy.slice(0, step) },
    epochs: record.epochs.filter((e) => e.epoch * perEpoch <= step),
    final: null,
    seconds: saved.checkpoint.seconds,
    stepsPerSecond: 0,
    data: info,
    dataRef: saved.data,
    totalSteps: saved.checkpoint.totalSteps,
    checkpointStep: step,
  };
  useTraining.setState({ run, playground: null, tick: useTraining.getState().tick + 1 });
  segmentStarted = performance.now();
  startTicker();
  getClient().send({
    type: 'train',
    runId: run.id,
    plan,
    setup: record.setup,
    data,
    backend: record.backendChoice,
    limit: record.limit,
    initialWeights: saved.weights,
    resume: saved.checkpoint,
    graph: record.graphKey,
  });
}

function onEvent(e: ClientEvent) {
  const run = useTraining.getState().run;
  const mine = run && 'runId' in e && e.runId === run.id;
  switch (e.type) {
    case 'backends':
      useTraining.setState({ probe: { available: e.available, software: e.software, reason: e.reason } });
      break;
    case 'backend':
      if (!mine) break;
      updateRun({ backend: { name: e.name, reason: e.reason }, status: run.status === 'starting' ? 'running' : run.status });
      // From now on the run is in the history ("running now"; saved as "interrupted" until it ends).
      saveProgress();
      void writes.then(() => (useTraining.getState().runsKey === run.graphKey ? refreshRuns(run.graphKey) : undefined));
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
    case 'checkpoint':
      if (mine) keepCheckpoint(run, { checkpoint: e.checkpoint, weights: e.weights });
      break;
    case 'done':
      // The epochs came one by one (a resumed run's result holds only those since the checkpoint).
      if (!mine) break;
      void finishRun(
        e.result.status,
        {
          message: e.result.message,
          final: e.result.final,
          seconds: e.result.seconds,
          stepsPerSecond: e.result.stepsPerSecond,
        },
        e.weights,
      );
      break;
    case 'error':
      if (mine && isActiveStatus(run.status)) {
        void finishRun('failed', { message: e.message, nodeId: e.nodeId }, null);
      } else if (!e.runId) {
        toast('error', 'The training worker reported an error', [e.message]);
      }
      break;
    case 'data-download': {
      // A ready message repeated for a second ask has no size: the first one's stays.
      const before = useTraining.getState().mnistFull;
      const total = before?.status === 'ready' || before?.status === 'loading' ? before.total : null;
      useTraining.setState({ mnistFull: e.download.status === 'ready' && e.download.total === null ? { ...e.download, total } : e.download });
      break;
    }
    case 'crashed':
      // The fresh worker holds no data: MNIST's full set is downloaded again when next used.
      useTraining.setState({ mnistFull: null });
      if (run && isActiveStatus(run.status)) void finishRun('crashed', { message: e.message }, null);
      else toast('error', 'The training worker crashed', [e.message]);
      // The client has already started a fresh worker: ask it again which backends work.
      useTraining.setState({ playground: null, probe: null });
      probeBackends();
      break;
  }
}

/** Class probabilities for one image from the worker's current model (the playground's). */
export const predict = (pixels: Float32Array): Promise<number[]> => getClient().predict(pixels);
