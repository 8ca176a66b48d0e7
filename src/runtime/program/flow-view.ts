import type * as tfType from '@tensorflow/tfjs';
import type { PlanProgram } from '../../compiler/program';
import type { Dataset } from '../data/dataset';
import { flowForward, flowNllPerExample, sampleFlow } from './flows';

type Tf = typeof tfType;

/**
 * What the editor draws for a flow on 2-D data (the RealNVP template): the learned density on a
 * grid over the data, training points, and samples drawn by running the flow backwards.
 */
export interface FlowView {
  /** The step of the training procedure it was drawn at. */
  step: number;
  /** [xMin, xMax, yMin, yMax] of the grid (the data's extent, with a margin). */
  bounds: [number, number, number, number];
  /** Cells per side; `logDensity[row · grid + column]`, row 0 at the top (yMax). */
  grid: number;
  logDensity: Float32Array;
  /** Training points and samples, [x0, y0, x1, y1, …]. */
  data: Float32Array;
  samples: Float32Array;
}

/** The flow network of a program when it models 2-D points; null otherwise (nothing to draw). */
export function planarFlow(program: PlanProgram): string | null {
  const net = program.networks.find((n) => n.flow);
  if (!net) return null;
  const input = net.plan.main.steps.find((s) => s.kind === 'input');
  return input && input.kind === 'input' && input.shape.length === 1 && input.shape[0] === 2 ? net.id : null;
}

/**
 * Draws the view for `model` (a 2-D flow) over the training split of `ds`: a few ms for a 48×48 grid.
 * Reads back with `data()` (webgpu has no synchronous read), so it answers a promise.
 */
export async function flowView(
  tf: Tf,
  model: tfType.LayersModel,
  ds: Dataset,
  options: { step: number; grid?: number; points?: number; seed: number },
): Promise<FlowView> {
  const grid = options.grid ?? 48;
  const points = Math.min(options.points ?? 400, ds.train.count);
  const xs = ds.train.x;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < ds.train.count; i++) {
    [x0, x1] = [Math.min(x0, xs[2 * i]!), Math.max(x1, xs[2 * i]!)];
    [y0, y1] = [Math.min(y0, xs[2 * i + 1]!), Math.max(y1, xs[2 * i + 1]!)];
  }
  const margin = 0.15 * Math.max(x1 - x0, y1 - y0);
  const bounds: FlowView['bounds'] = [x0 - margin, x1 + margin, y0 - margin, y1 + margin];
  const cells = new Float32Array(grid * grid * 2);
  for (let r = 0; r < grid; r++)
    for (let c = 0; c < grid; c++) {
      cells[2 * (r * grid + c)] = bounds[0] + ((c + 0.5) / grid) * (bounds[1] - bounds[0]);
      cells[2 * (r * grid + c) + 1] = bounds[3] - ((r + 0.5) / grid) * (bounds[3] - bounds[2]);
    }
  const logDensity = tf.tidy(() => {
    const { z, logdet } = flowForward(tf, model, tf.tensor2d(cells, [grid * grid, 2]));
    return tf.neg(flowNllPerExample(tf, z, logdet));
  });
  let samples: tfType.Tensor | undefined;
  try {
    samples = await sampleFlow(tf, model, points, [2], options.seed + options.step);
    return {
      step: options.step,
      bounds,
      grid,
      logDensity: (await logDensity.data()) as Float32Array,
      data: xs.slice(0, 2 * points),
      samples: (await samples.data()) as Float32Array,
    };
  } finally {
    tf.dispose([logDensity, ...(samples ? [samples] : [])]);
  }
}
