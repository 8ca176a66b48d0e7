/**
 * A line chart drawn by uPlot (canvas; small and fast enough to take thousands of points). The
 * component creates the plot once per series layout and, on every `version` change, hands it fresh
 * data: callers append to their arrays and bump the version at a throttled rate.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber } from './train/format';

export interface ChartSeries {
  label: string;
  color: string;
  /** Draw points only (per-epoch values); gaps between them are bridged. */
  points?: boolean;
  dash?: number[];
  width?: number;
}

interface Props {
  title: string;
  series: ChartSeries[];
  /** x values first, then one array per series (null where a series has no value). */
  data: () => uPlot.AlignedData;
  version: number;
  height?: number;
  xLabel?: string;
  /** Fixed y range, e.g. [0, 1] for accuracy. */
  yRange?: [number, number];
  yFormat?: (v: number) => string;
  testId?: string;
}

/** Steps are whole: tick increments for the x axis without fractions (uPlot's defaults include 0.5, 0.25…). */
const WHOLE_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 2.5e4, 5e4, 1e5, 2e5, 2.5e5, 5e5, 1e6, 2e6, 5e6, 1e7];

/**
 * An axis as wide as its longest label (uPlot's fixed default clips labels like "12.5k" or "0.0012"):
 * tick length, gap and the measured text. uPlot calls this again after it formats the labels.
 */
const fitLabels: uPlot.Axis.Size = (self, values, axisIdx, cycleNum) => {
  const axis = self.axes[axisIdx]!;
  const previous = (axis as { _size?: number })._size;
  if (cycleNum > 1 && previous) return previous;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  let size = (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + 6;
  if (longest) {
    self.ctx.font = (axis.font as unknown as [string])[0] ?? '11px sans-serif';
    size += self.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
  }
  return Math.ceil(Math.max(size, 32));
};

const css = (name: string, fallback: string) => {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
};

export function LineChart({ title, series, data, version, height = 170, xLabel = 'step', yRange, yFormat, testId }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  dataRef.current = data;
  const layout = JSON.stringify({ series, yRange, xLabel, height, title });

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const muted = css('--muted', '#667085');
    const grid = css('--border', '#dde1e7');
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    // The tick labels last drawn, on the element for tests (the canvas itself has no text to read).
    const shown = { x: [] as string[], y: [] as string[] };
    const opts: uPlot.Options = {
      title,
      hooks: {
        draw: [
          () => {
            el.dataset.xTicks = shown.x.filter(Boolean).join(' ');
            el.dataset.yTicks = shown.y.filter(Boolean).join(' ');
          },
        ],
      },
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: false }, y: yRange ? { range: yRange } : { auto: true } },
      axes: [
        {
          ...axis,
          label: xLabel,
          labelSize: 18,
          labelFont: '11px system-ui, sans-serif',
          incrs: WHOLE_INCREMENTS,
          values: (_u, vals) => (shown.x = vals.map((v) => (v == null ? '' : Number.isInteger(v) ? v.toLocaleString('en-US') : ''))),
        },
        { ...axis, size: fitLabels, values: (_u, vals) => (shown.y = vals.map((v) => (v == null ? '' : (yFormat ?? formatNumber)(v)))) },
      ],
      series: [
        { label: xLabel, value: (_u, v) => (v == null ? '–' : v.toLocaleString('en-US')) },
        ...series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? (s.points ? 1.5 : 1.25),
          dash: s.dash,
          spanGaps: true,
          points: s.points ? { show: true, size: 7, fill: s.color, stroke: s.color } : { show: false },
          value: (_u, v) => (v == null ? '–' : yFormat ? yFormat(v) : formatNumber(v, 4)),
        })),
      ],
    };
    const initial = dataRef.current();
    const u = new uPlot(opts, initial, el);
    plot.current = u;
    el.dataset.points = String(initial[0].length);
    const resize = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== u.width) u.setSize({ width: w, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [layout]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const u = plot.current;
    const el = box.current;
    if (!u || !el) return;
    const d = dataRef.current();
    u.setData(d);
    el.dataset.points = String(d[0].length);
  }, [version, layout]);

  return <div className="pb-chart" ref={box} data-testid={testId} aria-label={title} role="img" />;
}
