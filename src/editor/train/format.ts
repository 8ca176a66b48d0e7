/** Words and numbers as the Train tab shows them. */
import { formatShape } from '../../nodes/shape';
import type { TrainingSetup } from '../../document/schema';
import { MNIST_INFO, type RunData } from '../training';
import type { RunRecord } from '../runs-db';

/** What one example of the data is called. */
export const nounOf = (data: Pick<RunData, 'title'> | undefined, plural = true) => (data?.title === 'MNIST' ? (plural ? 'digits' : 'digit') : plural ? 'examples' : 'example');

export const COLORS = ['#4f46e5', '#ea580c', '#059669', '#db2777', '#0891b2', '#ca8a04', '#7c3aed', '#dc2626'];

export const pct = (x: number | undefined | null, digits = 1) => (x == null || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`);
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
export function plannedSteps(setup: TrainingSetup, limit: number | null, data: RunData): string {
  const count = Math.min(limit ?? data.trainCount, data.trainCount);
  const steps = Math.ceil(count / setup.batchSize) * setup.epochs;
  return `${count.toLocaleString('en-US')} ${nounOf(data)} × ${setup.epochs} epoch${setup.epochs === 1 ? '' : 's'} = ${steps.toLocaleString('en-US')} steps of ${setup.batchSize}`;
}

/** Class names in narrow places: whole when there are few classes, clipped when there are many. */
export const short = (name: string, classes = 10) => {
  const max = classes <= 4 ? 14 : 6;
  return name.length > max ? `${name.slice(0, max - 1)}…` : name;
};

export function runDataText(r: RunRecord): string {
  const data = r.data ?? MNIST_INFO;
  const count = Math.min(r.limit ?? data.trainCount, data.trainCount);
  return `${data.title === 'MNIST' ? '' : `${data.title}, `}${count.toLocaleString('en-US')} ${nounOf(data)}`;
}

export const listNames = (names: string[], max = 12) => (names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`);

export const shapeText = (shape: number[]) => formatShape([null, ...shape]);
