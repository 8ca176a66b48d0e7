/**
 * The run controller: the page's one TrainingClient, and a run's life from Start to its saved
 * record (start, pause, resume, stop, the worker's events, finishing). The curves are plain arrays
 * appended in place; the UI redraws from them at most 4 times a second (`tick`).
 */
import type { Plan } from '../../compiler/plan';
import type { TrainingSetup } from '../../document/schema';
import { TrainingClient, type ClientEvent } from '../../runtime/worker/client';
import type { TrainData, WeightArtifacts } from '../../runtime/worker/protocol';
import { saveRun, type RunData, type RunRecord, type RunStatus } from '../runs-db';
import { isActiveStatus, runIsActive, useTraining, type LiveRun } from '../training';
import { messageOf, runDataFor } from './data';
import { refreshRuns } from './history';
import { toast } from './toast';

let client: TrainingClient | undefined;
let dirty = false;
let ticker: ReturnType<typeof setInterval> | undefined;

export function getClient(): TrainingClient {
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
      if (mine && isActiveStatus(run.status)) {
        void finishRun('failed', { message: e.message, nodeId: e.nodeId }, null);
      } else if (!e.runId) {
        toast('error', 'The training worker reported an error', [e.message]);
      }
      break;
    case 'crashed':
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
