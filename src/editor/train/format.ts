/** Words and numbers as the Train tab shows them. */
import { formatShape } from '../../nodes/shape';
import type { TrainingSetup } from '../../document/schema';
import { MNIST_FULL_INFO, MNIST_INFO, type RunData } from '../training';
import type { RunRecord } from '../runs-db';
import type { BackendName } from '../../runtime/worker/protocol';

export const BACKEND_NAMES: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** What one example of the data is called. */
export const nounOf = (data: Pick<RunData, 'title'> | undefined, plural = true) =>
  data?.title === MNIST_INFO.title || data?.title === MNIST_FULL_INFO.title ? (plural ? 'digits' : 'digit') : plural ? 'examples' : 'example';

export const COLORS = ['#4f46e5', '#ea580c', '#059669', '#db2777', '#0891b2', '#ca8a04', '#7c3aed', '#dc2626'];

/**
 * A measured value for people: about `digits` significant digits, no trailing zeros, thousands as
 * k / M / G, and tiny values in short scientific form (0.000003 → 3e-6), never raw floating point.
 */
export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  const sign = v < 0 ? '−' : '';
  if (a === 0) return '0';
  if (a >= 1e12)
    return `${sign}${a
      .toExponential(digits - 1)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e')}`;
  for (const [from, size, unit] of [
    [1e9, 1e9, 'G'],
    [1e6, 1e6, 'M'],
    [1e4, 1e3, 'k'],
  ] as const) {
    if (a >= from) return `${sign}${trim((a / size).toPrecision(digits))}${unit}`;
  }
  // Below 10,000: whole numbers once the digits run out (999.5 → 1,000, not 1.00e+3).
  if (a >= 10 ** (digits - 1)) return `${sign}${Math.round(a).toLocaleString('en-US')}`;
  if (a >= 1) return `${sign}${trim(a.toPrecision(digits))}`;
  if (a < 1e-3) return `${sign}${a.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, 'e')}`;
  return `${sign}${trim(a.toPrecision(digits))}`;
}
const trim = (text: string) => (text.includes('.') ? text.replace(/\.?0+$/, '') : text);

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

export const listNames = (names: string[], max = 12) =>
  names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;

export const shapeText = (shape: number[]) => formatShape([null, ...shape]);
