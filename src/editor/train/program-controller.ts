/**
 * The run controller of training programs: Start sends the lowered program to the worker (the same
 * interpreter the command line runs), step reports grow the per-loss curves, the canvas's live
 * values follow at most 4 times a second, and the finished run goes into the history with its curves
 * and metrics. The classifier's controller (controller.ts) stays as it was; both share the worker.
 */
import { proceduresCoveredBy, type PlanProgram } from '../../compiler/program';
import type { TrainingSetup } from '../../document/schema';
import type { ClientEvent } from '../../runtime/worker/client';
import type { TrainData, WeightArtifacts } from '../../runtime/worker/protocol';
import { listRuns, loadProgramWeights, saveRun, type ProgramWeights, type RunData, type RunRecord, type RunStatus } from '../runs-db';
import { isActiveStatus, useTraining } from '../training';
import { getClient } from './controller';
import { messageOf, runDataFor } from './data';
import { refreshRuns } from './history';
import { plannedProcedures, useProgramLive, useProgramRun, type ProgramLiveRun, type ProgramRunOrigin } from './program-live';
import { toast } from './toast';
import { useFlowView } from './FlowDensity';
import { samplingForRun } from './DiffusionSamples';
import { flowTemperatureForRun } from './FlowSamples';

let listening = false;
let dirty = false;
let ticker: ReturnType<typeof setInterval> | undefined;
let started = 0;
let lastSaved = 0;
/** History writes of the live run, one after another, so that an older save never lands last. */
let writes: Promise<void> = Promise.resolve();

function queueSave(record: RunRecord, weights: ProgramWeights | null = null): Promise<void> {
  writes = writes.then(() => saveRun(record, weights)).catch((err: unknown) => toast('error', 'The run could not be saved in this browser', [messageOf(err)]));
  return writes;
}

/** The live run in the history as "interrupted": what it is if the page goes away before it ends. */
function saveProgress(run: ProgramLiveRun) {
  // Scoring imported weights is no run of its own: its metrics go into the imported run's record at the end.
  if (run.scores) return;
  lastSaved = performance.now();
  void queueSave(recordOf({ ...run, seconds: (performance.now() - started) / 1000 }, 'interrupted')).then(() => {
    if (useTraining.getState().runsKey === run.graphKey) return refreshRuns(run.graphKey);
  });
}

export const programRunIsActive = () => isActiveStatus(useProgramRun.getState().run?.status);

// Leaving the page during a run asks first (a program run has no checkpoints to go on from yet).
if (typeof window !== 'undefined') {
  window.addEventListener('beforeunload', (event) => {
    if (!programRunIsActive()) return;
    event.preventDefault();
    event.returnValue = '';
  });
}

function update(patch: Partial<ProgramLiveRun>) {
  const run = useProgramRun.getState().run;
  if (run) useProgramRun.setState({ run: { ...run, ...patch } });
}

/** Copies the latest step into the stores the Train tab and the canvas read. */
function flush() {
  if (!dirty) return;
  dirty = false;
  const run = useProgramRun.getState().run;
  if (!run) return;
  useProgramRun.setState({ run: { ...run }, tick: useProgramRun.getState().tick + 1 });
  if (performance.now() - lastSaved > 3000) saveProgress(run);
  const last = run.last;
  if (!last) return;
  const losses = { ...useProgramLive.getState().losses };
  const decays = { ...useProgramLive.getState().decays };
  for (const [id, v] of Object.entries(last.losses)) losses[`${last.procedure}/${id}`] = v;
  for (const [id, v] of Object.entries(last.decays)) decays[`${last.procedure}/${id}`] = v;
  useProgramLive.setState({ losses, decays });
}

/** The loss a run's history shows per step: the one each training procedure's first Minimize lowers. */
function minimizedLoss(program: PlanProgram, procedure: string): string | undefined {
  const proc = program.procedures.find((p) => p.id === procedure);
  const m = proc?.steps.find((s) => s.kind === 'minimize');
  return m?.kind === 'minimize' ? m.loss.split(':')[0] : undefined;
}

/** Steps of every train procedure the run was to go through (skipped ones excepted): what "n / total steps" counts. */
function plannedSteps(run: ProgramLiveRun): number {
  const examples = run.limit ? Math.min(run.limit, run.data.trainCount) : run.data.trainCount;
  return plannedProcedures(run.program, run.setup, examples, run.from?.skipped ?? []).reduce((sum, p) => sum + ('steps' in p ? p.steps : 0), 0);
}

function recordOf(run: ProgramLiveRun, status: RunStatus, hasWeights = false): RunRecord {
  const loss = run.program.procedures.filter((p) => p.kind === 'train').flatMap((p) => run.curves[p.id]?.[minimizedLoss(run.program, p.id) ?? ''] ?? []);
  const totalSteps = plannedSteps(run);
  return {
    id: run.id,
    graphKey: run.graphKey,
    graphName: run.graphName,
    date: run.date,
    setup: run.setup,
    limit: run.limit,
    backendChoice: run.backendChoice,
    backend: run.backend,
    message: run.message,
    curves: { loss, accuracy: [] },
    epochs: [],
    final: null,
    status,
    seconds: run.seconds,
    stepsPerSecond: run.last?.stepsPerSecond ?? 0,
    hasWeights,
    totalSteps,
    data: run.data,
    program: { curves: run.curves, metrics: run.metrics ?? {}, ...(run.from ? { from: run.from } : {}) },
  };
}

async function finish(status: RunStatus, patch: Partial<ProgramLiveRun>, weights: ProgramWeights | null = null) {
  const run = useProgramRun.getState().run;
  if (!run || !isActiveStatus(run.status)) return;
  if (ticker) clearInterval(ticker);
  ticker = undefined;
  dirty = true;
  flush();
  const done: ProgramLiveRun = { ...useProgramRun.getState().run!, ...patch, status, seconds: patch.seconds ?? (performance.now() - started) / 1000 };
  useProgramRun.setState({ run: done, tick: useProgramRun.getState().tick + 1 });
  if (done.metrics) useProgramLive.setState({ metrics: done.metrics });
  if (done.scores) await saveScore(done, status);
  else await queueSave(recordOf(done, status, weights !== null), weights);
  if (useTraining.getState().runsKey === done.graphKey) await refreshRuns(done.graphKey);
}

/** A finished score of imported weights: its metrics (or why it has none) into the imported run's record; the weights stay as imported. */
async function saveScore(done: ProgramLiveRun, status: RunStatus) {
  const saved = useTraining.getState().runs.find((r) => r.id === done.scores) ?? (await listRuns(done.graphKey)).find((r) => r.id === done.scores);
  if (!saved) return; // deleted while it was scored
  const scored = status === 'completed' && done.metrics;
  const record: RunRecord = {
    ...saved,
    ...(scored ? { data: done.data, limit: done.limit, backendChoice: done.backendChoice, backend: done.backend, seconds: done.seconds } : {}),
    message: scored ? undefined : `Scoring ${status === 'stopped' ? 'was stopped' : 'failed'}${done.message ? `: ${done.message}` : '.'}`,
    program: { curves: {}, ...saved.program, metrics: scored ? done.metrics! : (saved.program?.metrics ?? {}) },
  };
  await queueSave(record);
}

function onEvent(e: ClientEvent) {
  const run = useProgramRun.getState().run;
  if (!run || !isActiveStatus(run.status)) return;
  const mine = 'runId' in e && e.runId === run.id;
  switch (e.type) {
    case 'backend':
      if (!mine) break;
      update({ backend: { name: e.name, reason: e.reason }, status: run.status === 'starting' ? 'running' : run.status });
      // From now on the run is in the history ("running now"; saved as "interrupted" until it ends).
      saveProgress(useProgramRun.getState().run!);
      break;
    case 'program-procedure':
      if (mine) update({ procedure: e.procedure, evaluated: null });
      break;
    case 'program-evaluating':
      if (mine) update({ evaluated: e.progress });
      break;
    case 'program-step': {
      if (!mine) break;
      const curves = (run.curves[e.report.procedure] ??= {});
      for (const [id, v] of Object.entries(e.report.losses)) (curves[id] ??= []).push(v);
      run.last = e.report;
      run.procedure = e.report.procedure;
      if (run.status === 'starting') run.status = 'running';
      dirty = true;
      break;
    }
    case 'flow-view':
      if (mine) useFlowView.setState({ runId: e.runId, view: e.view });
      break;
    case 'program-done': {
      if (!mine) break;
      const r = e.result;
      void finish(r.status, { message: r.message, nodeId: r.nodeId, metrics: r.metrics, seconds: r.seconds }, e.weights ? { networks: e.weights } : null);
      break;
    }
    case 'error':
      if (mine) void finish('failed', { message: e.message, nodeId: e.nodeId });
      break;
    case 'crashed':
      void finish('crashed', { message: e.message });
      break;
  }
}

/**
 * The weights of the networks taken from a past run, and the train procedures that need not run.
 * Throws a plain message when the run's weights are gone or lack a network.
 */
async function weightsFrom(program: PlanProgram, from: { runId: string; networks: string[] }) {
  const saved = await loadProgramWeights(from.runId);
  if (!saved) throw new Error('That run has no saved weights any more.');
  const initialWeights: Record<string, WeightArtifacts> = {};
  for (const id of from.networks) {
    const w = saved.networks[id];
    if (!w) throw new Error(`That run has no weights for network "${id}".`);
    initialWeights[id] = w;
  }
  return { initialWeights, skipProcedures: proceduresCoveredBy(program, new Set(from.networks)) };
}

export async function startProgramRun(args: {
  program: PlanProgram;
  setup: TrainingSetup;
  graphKey: string;
  graphName: string;
  /** Networks to take from a past run of this document. */
  from?: { runId: string; networks: string[] };
  /**
   * Scores the `from` run (imported weights) instead: its networks are taken, every train
   * procedure is skipped, and the evaluations' metrics go into its record rather than a new run's.
   */
  score?: boolean;
}): Promise<void> {
  if (programRunIsActive() || isActiveStatus(useTraining.getState().run?.status)) return;
  let data: TrainData;
  let info: RunData;
  let start: { initialWeights?: Record<string, WeightArtifacts>; skipProcedures?: string[] } = {};
  let origin: ProgramRunOrigin | undefined;
  try {
    // The data's own shape is what matters here (the Data nodes were checked against it).
    ({ data, info } = await runDataFor(null));
    if (args.from) {
      start = await weightsFrom(args.program, args.from);
      if (args.score) start.skipProcedures = args.program.procedures.filter((p) => p.kind === 'train').map((p) => p.id);
      const source = useTraining.getState().runs.find((r) => r.id === args.from!.runId);
      origin = { runId: args.from.runId, date: source?.date ?? '', networks: args.from.networks, skipped: start.skipProcedures ?? [] };
    }
  } catch (err) {
    toast('error', 'Could not start the run', [messageOf(err)]);
    return;
  }
  const client = getClient();
  if (!listening) {
    client.on(onEvent);
    listening = true;
  }
  const { backendChoice, limit } = useTraining.getState();
  const run: ProgramLiveRun = {
    id: `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`,
    graphKey: args.graphKey,
    graphName: args.graphName,
    date: new Date().toISOString(),
    status: 'starting',
    planJson: JSON.stringify(args.program),
    program: args.program,
    setup: args.setup,
    limit: limit ?? undefined,
    backendChoice,
    backend: null,
    data: info,
    procedure: null,
    last: null,
    curves: {},
    metrics: null,
    seconds: 0,
    ...(origin ? { from: origin } : {}),
    ...(args.score && args.from ? { scores: args.from.runId } : {}),
  };
  useProgramRun.setState({ run, tick: useProgramRun.getState().tick + 1 });
  useProgramLive.setState({ graphKey: args.graphKey, losses: {}, decays: {}, metrics: null });
  started = performance.now();
  dirty = false;
  ticker ??= setInterval(flush, 250);
  client.send({
    type: 'train-program',
    runId: run.id,
    program: args.program,
    data,
    backend: backendChoice,
    seed: args.setup.seed,
    batchSize: args.setup.batchSize,
    epochs: args.setup.epochs,
    limit: limit ?? undefined,
    ...start,
    sampling: samplingForRun(),
    flowTemperature: flowTemperatureForRun(),
    graph: args.graphKey,
  });
}

export function pauseProgramRun() {
  if (useProgramRun.getState().run?.status !== 'running') return;
  getClient().send({ type: 'pause' });
  update({ status: 'paused' });
}
export function resumeProgramRun() {
  if (useProgramRun.getState().run?.status !== 'paused') return;
  getClient().send({ type: 'resume' });
  update({ status: 'running' });
}
export function stopProgramRun() {
  if (!programRunIsActive()) return;
  getClient().send({ type: 'stop' });
  update({ status: 'stopping' });
}
