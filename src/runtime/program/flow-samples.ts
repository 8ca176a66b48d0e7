import type * as tfType from '@tensorflow/tfjs';
import type { PlanProgram } from '../../compiler/program';
import { sampleFlow } from './flows';

type Tf = typeof tfType;

/** The samples grid of a flow on images (the glow template): which network, and the procedure that trains it. */
export interface ImageFlowSetup {
  network: string;
  /** The training procedure whose steps refresh the grid. */
  procedure: string;
}

/** A grid of samples drawn by running the flow backwards from seeded noise, at a temperature. */
export interface FlowSamples {
  /** The step of the training procedure the weights are from. */
  step: number;
  seed: number;
  /** Glow's T: the standard deviation z and every split's factored part are drawn with. */
  temperature: number;
  /** [count, height, width, channels]. */
  shape: number[];
  /** Values clipped to [0, 1] (NaN kept, so a diverged flow shows as such). */
  images: Float32Array;
  /** Time the worker took to draw them. */
  ms: number;
  /** Drawing's share of the run's time so far, while it trains. */
  share?: number;
}

/** The temperature the grid starts with: 1 samples the model itself (the CLI's default too). */
export const DEFAULT_FLOW_TEMPERATURE = 1;
export const FLOW_GRID_COUNT = 16;

/** A temperature as typed in a field: an emptied field is no number (Number('') would be 0, drawing every sample at T = 0). */
export const typedTemperature = (text: string): number => (text.trim() === '' ? Number.NaN : Number(text));

/** Why a typed temperature cannot be used, for a person; null when it can. */
export function temperatureProblem(value: number): string | null {
  if (!Number.isFinite(value) || value < 0 || value > 2)
    return 'The temperature is a number from 0 to 2 (1 samples the model itself; Glow shows samples at about 0.7).';
  return null;
}

/** The flow network of a program when it models images (rank-3 examples) and the procedure training it; null otherwise. */
export function imageFlow(program: PlanProgram): ImageFlowSetup | null {
  const net = program.networks.find((n) => n.flow);
  if (!net) return null;
  const input = net.plan.main.steps.find((s) => s.kind === 'input');
  if (!input || input.kind !== 'input' || input.shape.length !== 3) return null;
  const proc = program.procedures.find((p) => p.kind === 'train' && p.steps.some((s) => s.kind === 'apply' && s.network === net.id));
  return proc ? { network: net.id, procedure: proc.id } : null;
}

/**
 * Draws `count` samples with the same code as `patchbay sample` (sampleFlow), from a seed that stays
 * the same through a run so refreshes show the network changing, not the noise.
 */
export async function drawFlowSamples(
  tf: Tf,
  model: tfType.LayersModel,
  options: { seed: number; step: number; temperature: number; count?: number },
): Promise<FlowSamples> {
  const began = performance.now();
  const zShape = model.outputs[0]!.shape.slice(1) as number[];
  const x = await sampleFlow(tf, model, options.count ?? FLOW_GRID_COUNT, zShape, options.seed, options.temperature);
  try {
    const shown = tf.tidy(() => tf.clipByValue(x, 0, 1));
    try {
      const images = Float32Array.from((await shown.data()) as Float32Array);
      return { step: options.step, seed: options.seed, temperature: options.temperature, shape: x.shape.slice(), images, ms: performance.now() - began };
    } finally {
      shown.dispose();
    }
  } finally {
    x.dispose();
  }
}
