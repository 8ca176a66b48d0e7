/**
 * The comparison view's table, apart from React: one row per run with its final metrics, cost and
 * speed, the Pareto front of test accuracy against the chosen cost, sorting, and the table as CSV.
 */
import { csvText, paretoFront } from '../../document/compare';
import { variantLabel } from '../../document/sweep';
import type { RunRecord } from '../runs-db';

export type CostKey = 'macs' | 'trainableParams';

export interface ComparisonRow {
  id: string;
  /** The run's swept values in words, or when it started. */
  label: string;
  date: string;
  status: string;
  /** Swept values by name (empty for a run that is not part of a sweep). */
  values: Record<string, number | string | boolean>;
  testAccuracy: number | null;
  testLoss: number | null;
  trainLoss: number | null;
  trainableParams: number | null;
  macs: number | null;
  /** Milliseconds per training step, measured by the run. */
  stepMs: number | null;
  seconds: number | null;
  steps: number;
  learningRate: number;
  batchSize: number;
  /** On the Pareto front of test accuracy (higher) against the chosen cost (lower). */
  pareto: boolean;
}

const finite = (v: number | undefined | null): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The figure a run is known by: test accuracy, or for a training program its first accuracy metric. */
export function accuracyOf(r: RunRecord): number | null {
  if (r.final) return finite(r.final.test.accuracy);
  for (const name of ['testAccuracy', 'linearProbeAccuracy', 'knnAccuracy']) {
    const v = r.program?.metrics[name];
    if (typeof v === 'number') return finite(v);
  }
  return null;
}

export function runLabel(r: RunRecord): string {
  return r.sweep ? variantLabel(r.sweep.values) : new Date(r.date).toLocaleString();
}

export function comparisonRows(runs: RunRecord[], cost: CostKey): ComparisonRow[] {
  const rows = runs.map((r): ComparisonRow => ({
    id: r.id,
    label: runLabel(r),
    date: r.date,
    status: r.status,
    values: r.sweep?.values ?? {},
    testAccuracy: accuracyOf(r),
    testLoss: finite(r.final?.test.loss),
    trainLoss: finite(r.final?.trainLoss),
    trainableParams: r.cost?.trainableParams ?? null,
    macs: r.cost?.macs ?? null,
    stepMs: r.stepsPerSecond > 0 ? 1000 / r.stepsPerSecond : null,
    seconds: finite(r.seconds),
    steps: r.curves.loss.length,
    learningRate: r.setup.learningRate,
    batchSize: r.setup.batchSize,
    pareto: false,
  }));
  const front = paretoFront(
    rows,
    (r) => r.testAccuracy,
    (r) => r[cost],
  );
  return rows.map((r, i) => ({ ...r, pareto: front[i]! }));
}

export type SortKey = 'label' | 'testAccuracy' | 'testLoss' | 'trainLoss' | 'trainableParams' | 'macs' | 'stepMs' | 'seconds' | 'pareto';

/** Sorted by one column; runs without a value go last either way. */
export function sortRows(rows: ComparisonRow[], key: SortKey, direction: 'ascending' | 'descending'): ComparisonRow[] {
  const sign = direction === 'ascending' ? 1 : -1;
  const valueOf = (r: ComparisonRow): number | string | null => (key === 'label' ? r.label : key === 'pareto' ? Number(r.pareto) : r[key]);
  return [...rows].sort((a, b) => {
    const x = valueOf(a);
    const y = valueOf(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    if (typeof x === 'string' || typeof y === 'string') return sign * String(x).localeCompare(String(y), 'en', { numeric: true });
    return sign * (x - y);
  });
}

/** The table as CSV: plain values (fractions, counts, milliseconds), swept params as columns of their own. */
export function comparisonCsv(rows: ComparisonRow[], cost: CostKey): string {
  const swept = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
  const header = [
    'run',
    'date',
    'status',
    ...swept,
    'testAccuracy',
    'testLoss',
    'trainLoss',
    'trainableParams',
    'macs',
    'stepMs',
    'seconds',
    'steps',
    'learningRate',
    'batchSize',
    cost === 'macs' ? 'paretoAccuracyVsMacs' : 'paretoAccuracyVsParams',
  ];
  return csvText([
    header,
    ...rows.map((r) => [
      r.label,
      r.date,
      r.status,
      ...swept.map((name) => r.values[name]),
      r.testAccuracy,
      r.testLoss,
      r.trainLoss,
      r.trainableParams,
      r.macs,
      r.stepMs === null ? null : Number(r.stepMs.toFixed(3)),
      r.seconds === null ? null : Number(r.seconds.toFixed(3)),
      r.steps,
      r.learningRate,
      r.batchSize,
      r.pareto,
    ]),
  ]);
}
