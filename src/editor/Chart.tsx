/**
 * A line chart drawn by uPlot (canvas; small and fast enough to take thousands of points). The
 * component creates the plot once per series layout and, on every `version` change, hands it fresh
 * data: callers append to their arrays and bump the version at a throttled rate.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

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
    const opts: uPlot.Options = {
      title,
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: false }, y: yRange ? { range: yRange } : { auto: true } },
      axes: [
        { ...axis, label: xLabel, labelSize: 18, labelFont: '11px system-ui, sans-serif' },
        { ...axis, size: 46, values: yFormat ? (_u, vals) => vals.map((v) => (v == null ? '' : yFormat(v))) : undefined },
      ],
      series: [
        { label: xLabel },
        ...series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? (s.points ? 1.5 : 1.25),
          dash: s.dash,
          spanGaps: true,
          points: s.points ? { show: true, size: 7, fill: s.color, stroke: s.color } : { show: false },
          value: (_u, v) => (v == null ? '–' : yFormat ? yFormat(v) : v.toFixed(4)),
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
