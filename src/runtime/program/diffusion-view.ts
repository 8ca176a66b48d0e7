import type * as tfType from '@tensorflow/tfjs';
import type { DenoiserSetup } from './denoiser';
import { diffusionSchedule, sampleDiffusion, samplingTimesteps } from './diffusion';

type Tf = typeof tfType;

/**
 * What the editor's samples grid shows for a diffusion program (the ddpm template): a grid of
 * samples drawn from fixed noise with the current weights (the moving-average copy when the program
 * keeps one), and a handful of the sampler's intermediate x_t so a slider can step through the
 * reverse process. Drawn in the worker; the page only paints the numbers on canvases. Nothing here
 * loads tfjs (the page imports the settings and the types). Where the program's diffusion is comes
 * from unconditionalDenoiser (./denoiser), as for `patchbay sample`.
 */

/** The sampler a person picks in the Train tab: DDIM (η = 0) or ancestral DDPM, in `steps` respaced steps. */
export interface DiffusionSamplingSettings {
  sampler: 'ddim' | 'ancestral';
  steps: number;
}

// Ancestral by default: on the trained ddpm mnist preset, DDIM with η = 0 drew a 2×2 dot pattern
// over the background (KID 17.8 against held-out digits), fresh noise each step drew clean strokes
// (KID 3.45; scripts/diffusion-digit-score.ts).
export const DEFAULT_SAMPLING: DiffusionSamplingSettings = { sampler: 'ancestral', steps: 20 };
/** Samples in the grid (4 × 4) and intermediate frames kept besides x_T and the result. */
export const GRID_SAMPLES = 16;
export const MAX_FRAMES = 10;

/** One stored x_t of the reverse process, mapped from [−1, 1] to [0, 1] (clipped) for display. */
export interface DiffusionFrame {
  /** Sampler steps done when this x was reached (0: the starting noise x_T). */
  done: number;
  /** The papers' timestep t of this x (T for the noise, 0 for the samples). */
  t: number;
  images: Float32Array;
}

export interface DiffusionSamples {
  /** The training step whose weights drew them (0 before the first step). */
  step: number;
  settings: DiffusionSamplingSettings;
  /** 'ema' when the moving-average copy drew them. */
  weights: 'ema' | 'online';
  seed: number;
  /** [count, height, width, channels]. */
  shape: number[];
  /** x_T first, the samples last, in sampler order. */
  frames: DiffusionFrame[];
  /** How long drawing took, in ms. */
  ms: number;
  /** During a run: the share of the run's time so far spent drawing samples. */
  share?: number;
}

/** Why these settings cannot sample a schedule of `timesteps`, in words, or null. */
export function samplingProblem(settings: DiffusionSamplingSettings, timesteps: number): string | null {
  if (settings.sampler !== 'ddim' && settings.sampler !== 'ancestral') return 'Choose DDIM or DDPM (ancestral) as the sampler.';
  if (!Number.isInteger(settings.steps) || settings.steps < 1 || settings.steps > timesteps)
    return `Sampler steps must be a whole number from 1 to ${timesteps} (the schedule's T).`;
  return null;
}

/** The sampler steps after which a frame is kept: every k-th so at most `max` (the last always), plus x_T (0). */
export function frameSteps(total: number, max = MAX_FRAMES): number[] {
  const every = Math.max(1, Math.ceil(total / max));
  const out = [0];
  for (let done = every; done < total; done += every) out.push(done);
  out.push(total);
  return out;
}

/**
 * Draws the grid and its frames with `model` (ε from [x_t, t]). The sampler runs one tidy per step.
 * A frame is the x_t a step starts from, as the network receives it: on a step whose x is kept, a
 * copy is kept out of that step's tidy, read once the step is done and disposed; the result tensor
 * is disposed here too, so no tensor outlives the call, nor a call that throws. Deterministic for a seed.
 */
export async function drawDiffusionSamples(
  tf: Tf,
  model: tfType.LayersModel,
  setup: Pick<DenoiserSetup, 'schedule' | 'timesteps'> & Partial<Pick<DenoiserSetup, 'prediction'>>,
  settings: DiffusionSamplingSettings,
  options: { seed: number; step: number; weights: 'ema' | 'online'; count?: number; onStep?: () => void | Promise<void> },
): Promise<DiffusionSamples> {
  const problem = samplingProblem(settings, setup.timesteps);
  if (problem) throw new Error(problem);
  const began = performance.now();
  const count = options.count ?? GRID_SAMPLES;
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const visit = samplingTimesteps(setup.timesteps, settings.steps);
  const total = visit.length;
  const keep = new Set(frameSteps(total));
  const frames: DiffusionFrame[] = [];
  let calls = 0;
  let captured: tfType.Tensor | undefined;
  // sampleDiffusion applies the network once per step to [x_t, t]: the step's x_t is seen here.
  const watched = {
    apply(inputs: tfType.Tensor[], kwargs?: Record<string, unknown>) {
      if (keep.has(calls)) captured = tf.keep(inputs[0]!.clone());
      calls++;
      return model.apply(inputs, kwargs);
    },
  };
  let result: tfType.Tensor | undefined;
  try {
    result = await sampleDiffusion(tf, watched, diffusionSchedule(setup.schedule, setup.timesteps), shape, {
      count,
      seed: options.seed,
      steps: settings.steps,
      sampler: settings.sampler,
      eta: 0,
      prediction: setup.prediction,
      onStep: async (done) => {
        if (captured) {
          const x = captured;
          captured = undefined;
          try {
            frames.push({ done: done - 1, t: visit[total - done]! + 1, images: toDisplay((await x.data()) as Float32Array) });
          } finally {
            x.dispose();
          }
        }
        await options.onStep?.();
      },
    });
    frames.push({ done: total, t: 0, images: Float32Array.from(await result.data()) });
  } finally {
    // The sampler frees its own x when a step throws; the copy kept for a frame is ours.
    captured?.dispose();
    result?.dispose();
  }
  return {
    step: options.step,
    settings: { ...settings },
    weights: options.weights,
    seed: options.seed,
    shape: [count, ...shape],
    frames,
    ms: performance.now() - began,
  };
}

/** x in the model's [−1, 1] as [0, 1] grey levels, clipped (the starting noise reaches past both ends). */
function toDisplay(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(1, Math.max(0, values[i]! * 0.5 + 0.5));
  return out;
}
