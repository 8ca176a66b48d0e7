/**
 * The comparison view: the runs ticked in the history (or a whole sweep) with their loss and
 * accuracy curves overlaid, accuracy against cost with the Pareto front marked, and a sortable table
 * of final metrics, parameters, MACs and step time that exports as CSV. Every name and value is
 * React text.
 */
import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { LineChart } from '../Chart';
import { Dialog } from '../Dialogs';
import { downloadText } from '../files';
import type { RunRecord } from '../runs-db';
import { useTraining } from '../training';
import { comparisonCsv, comparisonRows, sortRows, type ComparisonRow, type CostKey, type SortKey } from './comparison';
import { COLORS, duration, formatNumber, pct } from './format';
import { closeComparison, useSweep } from './sweep';
import './compare.css';

const COST_NAMES: Record<CostKey, string> = { macs: 'MACs', trainableParams: 'parameters' };

export function ComparisonDialog() {
  const open = useSweep((s) => s.comparing);
  const runs = useTraining((s) => s.runs);
  const compare = useTraining((s) => s.compare);
  if (!open) return null;
  // History order (newest first), the same order and colours as the ticks in the history.
  const chosen = runs.filter((r) => compare.includes(r.id));
  return (
    <Dialog title="Compare runs" onClose={closeComparison} wide>
      {chosen.length < 2 ? <p className="pb-muted">Tick two or more runs in the history to compare them.</p> : <Comparison runs={chosen} />}
    </Dialog>
  );
}

function Comparison({ runs }: { runs: RunRecord[] }) {
  const [cost, setCost] = useState<CostKey>('macs');
  const [sort, setSort] = useState<{ key: SortKey; direction: 'ascending' | 'descending' }>({ key: 'testAccuracy', direction: 'descending' });
  const rows = useMemo(() => comparisonRows(runs, cost), [runs, cost]);
  const colorOf = new Map(runs.map((r, i) => [r.id, COLORS[i % COLORS.length]!]));
  const sorted = sortRows(rows, sort.key, sort.direction);
  const series = rows.map((r) => ({ label: r.label, color: colorOf.get(r.id)! }));
  const curve = (metric: 'loss' | 'accuracy') => (): uPlot.AlignedData => {
    const n = Math.max(0, ...runs.map((r) => r.curves[metric].length));
    return [Array.from({ length: n }, (_, i) => i + 1), ...runs.map((r) => Array.from({ length: n }, (_, i) => r.curves[metric][i] ?? null))];
  };
  // Redraws when the set of runs or their lengths change (the series labels are in the chart's layout).
  const version = runs.reduce((n, r) => n + r.curves.loss.length, runs.length);
  const onFront = rows.filter((r) => r.pareto).length;
  const missingCost = rows.filter((r) => r[cost] === null).length;
  return (
    <div className="pb-compare" data-testid="comparison">
      <div className="pb-compare-top">
        <LineChart title="Training loss per step" testId="compare-loss" version={version} series={series} data={curve('loss')} height={180} />
        <LineChart
          title="Training accuracy per step"
          testId="compare-accuracy"
          version={version}
          series={series}
          data={curve('accuracy')}
          height={180}
          yRange={[0, 1]}
          yFormat={(v) => `${Math.round(v * 100)}%`}
        />
        <ParetoPlot rows={rows} cost={cost} colorOf={colorOf} />
      </div>
      <div className="pb-row pb-compare-bar">
        <fieldset className="pb-compare-cost">
          <legend>Cost for the Pareto front</legend>
          {(['macs', 'trainableParams'] as const).map((key) => (
            <label key={key}>
              <input type="radio" name="pb-compare-cost" checked={cost === key} onChange={() => setCost(key)} /> {key === 'macs' ? 'MACs' : 'Parameters'}
            </label>
          ))}
        </fieldset>
        <span className="pb-spacer" />
        <button type="button" onClick={() => downloadText('patchbay-comparison.csv', comparisonCsv(sorted, cost), 'text/csv')}>
          Export CSV
        </button>
      </div>
      <div className="pb-compare-body">
        <div className="pb-compare-table-box">
          <table className="pb-epochs pb-compare-table" data-testid="comparison-table">
            <thead>
              <tr>
                <SortHeader label="Run" k="label" sort={sort} onSort={setSort} />
                <SortHeader label="Test acc." k="testAccuracy" sort={sort} onSort={setSort} numeric />
                <SortHeader label="Test loss" k="testLoss" sort={sort} onSort={setSort} numeric />
                <SortHeader label="Train loss" k="trainLoss" sort={sort} onSort={setSort} numeric />
                <SortHeader label="Params" k="trainableParams" sort={sort} onSort={setSort} numeric />
                <SortHeader label="MACs" k="macs" sort={sort} onSort={setSort} numeric />
                <SortHeader label="Step" k="stepMs" sort={sort} onSort={setSort} numeric />
                <SortHeader label="Time" k="seconds" sort={sort} onSort={setSort} numeric />
                <SortHeader label="Pareto" k="pareto" sort={sort} onSort={setSort} />
              </tr>
            </thead>
            <tbody>
              {sorted.map((r) => (
                <tr key={r.id} data-testid="comparison-row" data-pareto={r.pareto} className={r.pareto ? 'pb-compare-front' : undefined}>
                  <td className="pb-compare-run">
                    <span className="pb-compare-swatch" style={{ background: colorOf.get(r.id) }} aria-hidden="true" />
                    <span title={r.status === 'completed' ? r.label : `${r.label} (${r.status})`}>{r.label}</span>
                    {r.status !== 'completed' && <span className="pb-muted"> · {r.status}</span>}
                  </td>
                  <td className="pb-num pb-mono">{pct(r.testAccuracy, 2)}</td>
                  <td className="pb-num pb-mono">{num(r.testLoss, 4)}</td>
                  <td className="pb-num pb-mono">{num(r.trainLoss, 4)}</td>
                  <td className="pb-num pb-mono" title={r.trainableParams?.toLocaleString('en-US')}>
                    {num(r.trainableParams)}
                  </td>
                  <td className="pb-num pb-mono" title={r.macs?.toLocaleString('en-US')}>
                    {num(r.macs)}
                  </td>
                  <td className="pb-num pb-mono">{r.stepMs === null ? '–' : `${formatNumber(r.stepMs)} ms`}</td>
                  <td className="pb-num pb-mono">{r.seconds === null ? '–' : duration(r.seconds)}</td>
                  <td>{r.pareto ? <span className="pb-compare-star">★ front</span> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="pb-muted pb-small-text">
            ★ {onFront} of {rows.length} on the Pareto front: no other run is at least as accurate on the held-out data with at most as many {COST_NAMES[cost]},
            and better on one.
            {missingCost
              ? ` ${missingCost} run${missingCost === 1 ? ' was' : 's were'} saved before costs were kept, so ${missingCost === 1 ? 'it is' : 'they are'} left out of the front.`
              : ''}{' '}
            Step: milliseconds per training step as the run measured it.
          </p>
        </div>
      </div>
    </div>
  );
}

const num = (v: number | null, digits = 3) => (v === null ? '–' : formatNumber(v, digits));

function SortHeader({
  label,
  k,
  sort,
  onSort,
  numeric,
}: {
  label: string;
  k: SortKey;
  sort: { key: SortKey; direction: 'ascending' | 'descending' };
  onSort: (s: { key: SortKey; direction: 'ascending' | 'descending' }) => void;
  numeric?: boolean;
}) {
  const active = sort.key === k;
  // A first click sorts the useful way: best accuracy and cheapest first.
  const first = k === 'testAccuracy' || k === 'pareto' ? 'descending' : 'ascending';
  return (
    <th className={numeric ? 'pb-num' : undefined} aria-sort={active ? sort.direction : 'none'} scope="col">
      <button
        type="button"
        className="pb-compare-sort"
        onClick={() => onSort({ key: k, direction: active ? (sort.direction === 'ascending' ? 'descending' : 'ascending') : first })}
      >
        {label}
        <span aria-hidden="true" className="pb-compare-arrow">
          {active ? (sort.direction === 'ascending' ? '▲' : '▼') : ''}
        </span>
      </button>
    </th>
  );
}

/** Test accuracy against cost (log scale), the runs on the front joined by a line. */
function ParetoPlot({ rows, cost, colorOf }: { rows: ComparisonRow[]; cost: CostKey; colorOf: Map<string, string> }) {
  const points = rows.filter((r) => r.testAccuracy !== null && r[cost] !== null && r[cost]! > 0);
  const W = 250;
  const H = 190;
  const pad = { left: 40, right: 10, top: 10, bottom: 34 };
  if (!points.length)
    return (
      <div className="pb-compare-plot pb-muted pb-small-text" data-testid="pareto-plot">
        No run has both a test accuracy and a cost to plot.
      </div>
    );
  const costs = points.map((r) => Math.log10(r[cost]!));
  const accs = points.map((r) => r.testAccuracy!);
  const span = (lo: number, hi: number, min: number) => (hi - lo < min ? [(lo + hi) / 2 - min / 2, (lo + hi) / 2 + min / 2] : [lo, hi]) as [number, number];
  const [c0, c1] = span(Math.min(...costs), Math.max(...costs), 0.2);
  const [a0, a1] = span(Math.min(...accs), Math.max(...accs), 0.02);
  const x = (c: number) => pad.left + ((Math.log10(c) - c0) / (c1 - c0)) * (W - pad.left - pad.right) * 0.9 + (W - pad.left - pad.right) * 0.05;
  const y = (a: number) => H - pad.bottom - (((a - a0) / (a1 - a0)) * 0.9 + 0.05) * (H - pad.top - pad.bottom);
  const front = points.filter((r) => r.pareto).sort((p, q) => p[cost]! - q[cost]!);
  return (
    <figure className="pb-compare-plot" data-testid="pareto-plot">
      <figcaption className="pb-compare-plot-title">Test accuracy against {COST_NAMES[cost]}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`Test accuracy against ${COST_NAMES[cost]}`}>
        <line x1={pad.left} y1={H - pad.bottom} x2={W - pad.right} y2={H - pad.bottom} className="pb-compare-axis" />
        <line x1={pad.left} y1={pad.top} x2={pad.left} y2={H - pad.bottom} className="pb-compare-axis" />
        {[Math.min(...accs), Math.max(...accs)]
          .filter((a, i, all) => i === 0 || a !== all[0])
          .map((a) => (
            <text key={a} x={pad.left - 4} y={y(a) + 3} textAnchor="end" className="pb-compare-tick">
              {pct(a, 1)}
            </text>
          ))}
        <text x={x(Math.min(...points.map((r) => r[cost]!)))} y={H - pad.bottom + 13} textAnchor="middle" className="pb-compare-tick">
          {formatNumber(Math.min(...points.map((r) => r[cost]!)))}
        </text>
        {points.length > 1 && (
          <text x={x(Math.max(...points.map((r) => r[cost]!))) + 6} y={H - pad.bottom + 13} textAnchor="end" className="pb-compare-tick">
            {formatNumber(Math.max(...points.map((r) => r[cost]!)))}
          </text>
        )}
        <text x={(W + pad.left) / 2} y={H - 4} textAnchor="middle" className="pb-compare-tick">
          {cost === 'macs' ? 'MACs per example (log)' : 'Parameters (log)'}
        </text>
        {front.length > 1 && <polyline className="pb-compare-frontline" points={front.map((r) => `${x(r[cost]!)},${y(r.testAccuracy!)}`).join(' ')} />}
        {points.map((r) => (
          <circle
            key={r.id}
            cx={x(r[cost]!)}
            cy={y(r.testAccuracy!)}
            r={r.pareto ? 6 : 4.5}
            fill={colorOf.get(r.id)}
            className={r.pareto ? 'pb-compare-dot pb-compare-dot-front' : 'pb-compare-dot'}
          >
            <title>{`${r.label}: ${pct(r.testAccuracy, 2)}, ${formatNumber(r[cost]!)} ${COST_NAMES[cost]}${r.pareto ? ', on the front' : ''}`}</title>
          </circle>
        ))}
      </svg>
      <p className="pb-muted pb-small-text">Ringed and joined: the Pareto front.</p>
    </figure>
  );
}
