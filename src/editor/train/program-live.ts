/**
 * A training program's run as the page keeps it: the run on screen (status, per-loss curves of each
 * training procedure, the evaluations' metrics) and, apart, the values the canvas shows on nodes
 * (each loss's latest value, each moving average's decay, the metrics). Both are stores of their
 * own, like the classifier's run slice, so a step never touches the document or wakes the graph;
 * the controller copies into them at most 4 times a second.
 */
import { create } from 'zustand';
import type { PlanProgram } from '../../compiler/program';
import type { TrainingSetup } from '../../document/schema';
import type { EvaluationProgress, ProgramStepReport } from '../../runtime/program/run';
import type { BackendChoice, BackendName } from '../../runtime/worker/protocol';
import type { RunData } from '../runs-db';
import type { LiveStatus } from '../training';

export interface ProgramLiveRun {
  id: string;
  graphKey: string;
  graphName: string;
  date: string;
  status: LiveStatus;
  message?: string;
  nodeId?: string;
  /** The program as it was sent, as JSON: to tell whether the graph changed since. */
  planJson: string;
  program: PlanProgram;
  setup: TrainingSetup;
  limit?: number;
  backendChoice: BackendChoice;
  backend: { name: BackendName; reason: string } | null;
  data: RunData;
  /** The procedure running now. */
  procedure: string | null;
  /** While an evaluation runs: how far it has read its examples. */
  evaluated?: EvaluationProgress | null;
  last: ProgramStepReport | null;
  /** Per training procedure, per loss node, the value at each step (appended in place). */
  curves: Record<string, Record<string, number[]>>;
  /** The evaluations' results by name (nested for dotted names), once measured. */
  metrics: Record<string, unknown> | null;
  seconds: number;
  /** Networks taken from a past run, and the procedures skipped for it. */
  from?: ProgramRunOrigin;
  /** Scoring imported weights: the id of their run, whose record gets the metrics (no new run is kept). */
  scores?: string;
}

export interface ProgramRunOrigin {
  runId: string;
  date: string;
  networks: string[];
  skipped: string[];
}

/**
 * What each train procedure of a run will do: its epochs and steps over `examples` training
 * examples, or null for a procedure skipped because its networks come trained from a past run.
 * One reckoning for the planned-steps line and the history's step count.
 */
export function plannedProcedures(
  program: PlanProgram,
  setup: Pick<TrainingSetup, 'batchSize' | 'epochs'>,
  examples: number,
  skipped: readonly string[],
): Array<{ id: string; label: string; epochs: number; steps: number } | { id: string; label: string; skipped: true }> {
  const perEpoch = Math.ceil(examples / setup.batchSize);
  return program.procedures
    .filter((p) => p.kind === 'train')
    .map((p) => {
      if (skipped.includes(p.id)) return { id: p.id, label: p.label, skipped: true as const };
      const epochs = p.epochs ?? setup.epochs;
      return { id: p.id, label: p.label, epochs, steps: perEpoch * epochs };
    });
}

export const useProgramRun = create<{ run: ProgramLiveRun | null; tick: number }>(() => ({ run: null, tick: 0 }));

/** What the canvas shows on nodes, keyed `procedure/node`; only for the graph the run belongs to. */
export interface ProgramLiveValues {
  graphKey: string | null;
  losses: Record<string, number>;
  decays: Record<string, number>;
  metrics: Record<string, unknown> | null;
}

export const useProgramLive = create<ProgramLiveValues>(() => ({ graphKey: null, losses: {}, decays: {}, metrics: null }));

/** `a.b.c` in a nested object of results. */
export function metricAt(metrics: Record<string, unknown>, name: string): unknown {
  let at: unknown = metrics;
  for (const key of name.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Every metric as a dotted name and its number, in the order they were reported. */
export function flatMetrics(metrics: Record<string, unknown>, prefix = ''): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [key, value] of Object.entries(metrics)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'number') out.push([name, value]);
    else if (typeof value === 'object' && value !== null) out.push(...flatMetrics(value as Record<string, unknown>, name));
  }
  return out;
}
