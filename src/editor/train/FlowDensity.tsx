/**
 * The picture of a normalizing flow on 2-D points (RealNVP on two moons): its learned density as a
 * heat map over the data's extent, the training points, and samples drawn by running the flow
 * backwards. The worker sends a new view every few steps (runtime/program/flow-view.ts); this draws
 * the latest one on a canvas.
 */
import { useEffect, useRef } from 'react';
import { create } from 'zustand';
import type { FlowView } from '../../runtime/program/flow-view';
import { Section } from './Section';

/** The latest view and the run it belongs to. */
export const useFlowView = create<{ runId: string | null; view: FlowView | null }>(() => ({ runId: null, view: null }));

const SIZE = 320;
const DATA_COLOUR = 'rgba(12, 14, 40, 0.7)';
const SAMPLE_COLOUR = 'rgb(240, 60, 40)';

/** A dark-to-bright ramp (dark blue, teal, yellow) for densities scaled to [0, 1]. */
function ramp(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [
    [18, 22, 48],
    [32, 94, 130],
    [40, 160, 140],
    [170, 210, 90],
    [250, 235, 130],
  ];
  const x = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const i = Math.floor(x);
  const f = x - i;
  return [0, 1, 2].map((k) => Math.round(stops[i]![k]! + f * (stops[i + 1]![k]! - stops[i]![k]!))) as [number, number, number];
}

function draw(canvas: HTMLCanvasElement, view: FlowView): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { grid, logDensity, bounds } = view;
  // Densities shown on a log scale over the top 8 nats, so the moons' ridges and the tails both show.
  let top = -Infinity;
  for (const v of logDensity) if (Number.isFinite(v)) top = Math.max(top, v);
  const image = ctx.createImageData(grid, grid);
  for (let i = 0; i < grid * grid; i++) {
    const v = logDensity[i]!;
    const [r, g, b] = ramp(Number.isFinite(v) ? 1 + (v - top) / 8 : 0);
    image.data.set([r, g, b, 255], 4 * i);
  }
  const cells = document.createElement('canvas');
  cells.width = grid;
  cells.height = grid;
  cells.getContext('2d')!.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(cells, 0, 0, SIZE, SIZE);
  const at = (x: number, y: number): [number, number] => [
    ((x - bounds[0]) / (bounds[1] - bounds[0])) * SIZE,
    ((bounds[3] - y) / (bounds[3] - bounds[2])) * SIZE,
  ];
  const dots = (points: Float32Array, fill: string, radius: number, outline?: string) => {
    ctx.fillStyle = fill;
    ctx.strokeStyle = outline ?? fill;
    ctx.lineWidth = 0.8;
    for (let i = 0; i < points.length / 2; i++) {
      const [px, py] = at(points[2 * i]!, points[2 * i + 1]!);
      if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
      ctx.beginPath();
      ctx.arc(px, py, radius, 0, 2 * Math.PI);
      ctx.fill();
      if (outline) ctx.stroke();
    }
  };
  // Dark data dots read on the bright ridges where the data lies; red samples with a dark rim read anywhere.
  dots(view.data, DATA_COLOUR, 1.5);
  dots(view.samples, SAMPLE_COLOUR, 2, 'rgba(20, 10, 10, 0.8)');
}

/** The density heat map with data and samples, for a program whose flow models 2-D points. */
export function FlowDensity({ runId }: { runId: string }) {
  const { runId: shownRun, view } = useFlowView();
  const canvas = useRef<HTMLCanvasElement>(null);
  const current = shownRun === runId ? view : null;
  useEffect(() => {
    if (canvas.current && current) draw(canvas.current, current);
  }, [current]);
  if (!current) return null;
  return (
    <Section title="Density and samples" testId="flow-density" right={<span className="pb-muted pb-small-text">step {current.step}</span>}>
      <canvas
        ref={canvas}
        width={SIZE}
        height={SIZE}
        className="pb-flow-density"
        role="img"
        aria-label={`Learned density with the training points and ${current.samples.length / 2} samples`}
      />
      <p className="pb-muted pb-small-text">
        Brighter is more likely under the flow. <span className="pb-flow-key pb-flow-data">●</span> training points{' '}
        <span className="pb-flow-key pb-flow-sample">●</span> samples (the flow run backwards from normal noise)
      </p>
    </Section>
  );
}
