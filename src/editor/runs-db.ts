/**
 * Run history and checkpoints in IndexedDB: one record per run (setup, curves, metrics, status),
 * its final weights apart, so that listing the history never reads the weights, and the latest
 * checkpoint of a run that has not finished (weights, optimizer state, plan), to resume it after a
 * reload. A run's record is written as "interrupted" while it runs: if the page goes away, that is
 * what it was.
 */
import { createStore, del, get, set, values, type UseStore } from 'idb-keyval';
import type { GraphDocument, TrainingSetup } from '../document/schema';
import type { BackendChoice, BackendName, TrainData, WeightArtifacts } from '../runtime/worker/protocol';
import type { Checkpoint, EpochReport, Evaluation } from '../runtime/training/train';

export type RunStatus = 'completed' | 'stopped' | 'failed' | 'crashed' | 'interrupted';

/** The data a run trained on, as the history shows it. */
export interface RunData {
  title: string;
  inputShape: number[];
  classNames: string[];
  trainCount: number;
  testCount: number;
}

/** What a run is, whether it is on screen now (LiveRun) or saved in the history (RunRecord). */
export interface RunCore {
  id: string;
  /** Which graph's history this run belongs to (see graphKeyOf). */
  graphKey: string;
  graphName: string;
  /** ISO date the run started. */
  date: string;
  setup: TrainingSetup;
  limit?: number;
  backendChoice: BackendChoice;
  backend: { name: BackendName; reason: string } | null;
  message?: string;
  /** Per step, 1-based: loss[i] and accuracy[i] are step i + 1. */
  curves: { loss: number[]; accuracy: number[] };
  epochs: EpochReport[];
  final: { trainLoss: number; trainAccuracy: number; test: Evaluation } | null;
  seconds: number;
  stepsPerSecond: number;
  /** A variant of a sweep started in the Train tab: which sweep, and its swept values (the run's label). */
  sweep?: RunSweep;
  /** The trained graph's cost, counted when the run started (absent in runs saved before it was kept). */
  cost?: { macs: number; trainableParams: number };
}

export interface RunSweep {
  id: string;
  /** The swept values by name, e.g. { "stem.dim": 32, lr: 0.001 }. */
  values: Record<string, number | string | boolean>;
  /** Position in the sweep (0-based) and how many variants it has. */
  index: number;
  count: number;
}

export interface RunRecord extends RunCore {
  status: RunStatus;
  hasWeights: boolean;
  /** Steps and examples, to say what a run covered. */
  totalSteps: number;
  /** Absent in runs saved before datasets other than MNIST existed. */
  data?: RunData;
  /** The step of the latest checkpoint kept for this run, when it can be resumed. */
  checkpointStep?: number;
  /**
   * Weights imported with a model.json (no training here): the files they came from, model.json
   * first. A training program's import (a .zip or a folder): `networks` it brought, by id.
   */
  imported?: { files: string[]; networks?: string[] };
  /** A training program's run: per procedure, per loss node, the value at each step; the evaluations' metrics by name. */
  program?: {
    curves: Record<string, Record<string, number[]>>;
    metrics: Record<string, unknown>;
    /** Networks this run took from an earlier one (by its id and date), and the procedures it skipped. */
    from?: { runId: string; date: string; networks: string[]; skipped: string[] };
  };
}

/** What resuming a run needs besides its record. */
export interface SavedCheckpoint {
  checkpoint: Checkpoint;
  weights: WeightArtifacts;
  /** The run's own plan: the graph may have changed since. */
  planJson: string;
  /** MNIST or a synthetic set by name; null for the user's own data, which is not kept. */
  data: Exclude<TrainData, { kind: 'inline' }> | null;
}

let stores: { runs: UseStore; weights: UseStore; checkpoints: UseStore } | undefined;
const db = () =>
  (stores ??= {
    runs: createStore('patchbay-runs', 'runs'),
    weights: createStore('patchbay-weights', 'weights'),
    checkpoints: createStore('patchbay-checkpoints', 'checkpoints'),
  });

/** The history key of a graph: an id kept in `meta.graphId` when there is one, else its name. */
export function graphKeyOf(doc: GraphDocument): string {
  const id = doc.meta?.graphId;
  return typeof id === 'string' && id ? `id:${id}` : `name:${doc.name}`;
}

/** A training program's weights at the end of a run: each network's, by network id. */
export interface ProgramWeights {
  networks: Record<string, WeightArtifacts>;
}

const isProgramWeights = (w: WeightArtifacts | ProgramWeights | undefined): w is ProgramWeights => !!w && 'networks' in w;

/** Saves a run's record, with its final weights when it has them. A run that cannot be resumed drops its checkpoint. */
export async function saveRun(record: RunRecord, weights: WeightArtifacts | ProgramWeights | null): Promise<void> {
  if (weights) await set(record.id, weights, db().weights);
  await set(record.id, record, db().runs);
  if (record.checkpointStep === undefined) await del(record.id, db().checkpoints);
}

/** Keeps a checkpoint of a run in progress (replacing the one before), then its record. */
export async function saveCheckpoint(record: RunRecord, saved: SavedCheckpoint): Promise<void> {
  await set(record.id, saved, db().checkpoints);
  await set(record.id, record, db().runs);
}

export const loadCheckpoint = (id: string) => get<SavedCheckpoint>(id, db().checkpoints);

/** The runs of one graph, newest first. */
export async function listRuns(graphKey: string): Promise<RunRecord[]> {
  const all = await values<RunRecord>(db().runs);
  return all.filter((r) => r.graphKey === graphKey).sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
}

/** A classifier run's final weights. */
export async function loadWeights(id: string): Promise<WeightArtifacts | undefined> {
  const saved = await get<WeightArtifacts | ProgramWeights>(id, db().weights);
  return isProgramWeights(saved) ? undefined : saved;
}

/** A training program run's weights, per network. */
export async function loadProgramWeights(id: string): Promise<ProgramWeights | undefined> {
  const saved = await get<WeightArtifacts | ProgramWeights>(id, db().weights);
  return isProgramWeights(saved) ? saved : undefined;
}

export async function deleteRun(id: string): Promise<void> {
  await del(id, db().checkpoints);
  await del(id, db().weights);
  await del(id, db().runs);
}
