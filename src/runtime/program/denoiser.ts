import type { PlanProcedure, PlanProgram, ProgramStep } from '../../compiler/program';
import type { DiffusionPrediction } from './diffusion';
import type { ConditionalKind } from './image-to-image';

/**
 * What sampling a diffusion program needs from its plan: the schedule of its Diffuse node and the
 * network that denoises. The one reading of it: `patchbay sample`, the editor's samples grid and a
 * conditional program's sampling measures all take it from here.
 */
export interface DenoiserSetup {
  network: string;
  /** The training procedure that diffuses (the samples grid redraws after its steps). */
  procedure: string;
  schedule: 'linear' | 'cosine';
  timesteps: number;
  /** How many inputs the network takes: 2 (x_t, t) or 3 with a condition (SR3, Palette). */
  inputs: number;
  /** Whether the procedure keeps a moving-average copy of the network (sampled from when present). */
  ema: boolean;
  /** What the network's output predicts: ε, or x₀ when the training loss compares it with Diffuse's x₀ (predictionOf). */
  prediction: DiffusionPrediction;
}

type OpStep = Extract<ProgramStep, { kind: 'op' }>;

/**
 * What a denoiser predicts, read from the procedure that trains it: x₀ when a loss compares one of
 * the application's outputs with the x₀ that Diffuse noises (SR3's and Palette's templates), or with
 * a Prediction target node set to x₀ (ddpm's mnist preset), ε
 * otherwise (a loss against the noise, improved DDPM's hybrid loss). The loss says it, so the
 * samplers cannot disagree with what was trained.
 */
export function predictionOf(proc: PlanProcedure, diffuse: OpStep, apply: Extract<ProgramStep, { kind: 'apply' }>): DiffusionPrediction {
  const outputs = new Set(Object.values(apply.outputs));
  const x0 = diffuse.inputs[0]!;
  // x₀ itself, or a Prediction target node set to x₀ that takes Diffuse's x₀.
  const meansX0 = new Set([x0]);
  for (const s of proc.steps) if (s.kind === 'op' && s.op === 'DiffusionTarget' && s.config.predict === 'x0' && s.inputs[0] === x0) meansX0.add(s.output);
  const againstX0 = proc.steps.some(
    (s) => s.kind === 'op' && s.loss && s.op !== 'DiffusionHybridLoss' && s.inputs.some((v) => outputs.has(v)) && s.inputs.some((v) => meansX0.has(v)),
  );
  return againstX0 ? 'x0' : 'epsilon';
}

/**
 * Every diffusion of a program, in procedure order: each training procedure's Diffuse node gives
 * the schedule, and the network applied to its x_t (directly, or through ops such as Palette's
 * composite with the known pixels) is the one that predicts ε (or x₀). sampleDiffusion feeds a denoiser
 * [x_t, t] (then the condition), so only an application that takes x_t first and Diffuse's own t
 * second counts: one fed x_t elsewhere would be sampled with its inputs swapped.
 */
export function denoiserSetups(program: PlanProgram): DenoiserSetup[] {
  const found: DenoiserSetup[] = [];
  for (const proc of program.procedures) {
    if (proc.kind !== 'train') continue;
    const diffuse = proc.steps.find((s): s is OpStep => s.kind === 'op' && s.op === 'Diffuse');
    if (!diffuse) continue;
    // Values that carry x_t: Diffuse's output and what ops make from it.
    const carries = new Set([diffuse.output]);
    for (const s of proc.steps) if (s.kind === 'op' && !s.loss && s.inputs.some((v) => carries.has(v))) carries.add(s.output);
    const timestep = diffuse.inputs[2];
    const apply = proc.steps.find(
      (s): s is Extract<ProgramStep, { kind: 'apply' }> =>
        s.kind === 'apply' && (s.inputs.length === 2 || s.inputs.length === 3) && carries.has(s.inputs[0]!) && s.inputs[1] === timestep,
    );
    if (!apply) continue;
    found.push({
      network: apply.network,
      procedure: proc.id,
      schedule: diffuse.config.schedule as 'linear' | 'cosine',
      timesteps: diffuse.config.timesteps as number,
      inputs: apply.inputs.length,
      ema: proc.steps.some((s) => s.kind === 'apply' && s.network === apply.network && s.weights === 'ema'),
      prediction: predictionOf(proc, diffuse, apply),
    });
  }
  return found;
}

/** A program's first diffusion (denoiserSetups), or null when there is none. */
export function denoiserSetup(program: PlanProgram): DenoiserSetup | null {
  return denoiserSetups(program)[0] ?? null;
}

/**
 * A program's unconditional diffusion (the ddpm template), or null: its denoiser takes (x_t, t)
 * alone. SR3 and Palette give theirs a condition too, and are sampled from held-out conditions
 * instead; a program whose first diffusion is conditional and a later one is not gets the later one.
 */
export function unconditionalDenoiser(program: PlanProgram): DenoiserSetup | null {
  return denoiserSetups(program).find((s) => s.inputs === 2) ?? null;
}

/** Each conditional sampling measure's kind, by metric node type. */
const CONDITIONAL_MEASURES: Record<string, ConditionalKind> = {
  SuperResolutionScore: 'superResolution',
  InpaintingScore: 'inpainting',
  ColourisationScore: 'colourisation',
};

/** The sampling measure of a conditional diffusion program (SR3's PSNR, Palette's inpainting or colourisation error), with its procedure. */
export function conditionalMeasure(program: PlanProgram): { procedure: string; step: Extract<ProgramStep, { kind: 'metric' }>; kind: ConditionalKind } | null {
  for (const proc of program.procedures) {
    if (proc.kind !== 'evaluate') continue;
    for (const s of proc.steps)
      if (s.kind === 'metric' && Object.hasOwn(CONDITIONAL_MEASURES, s.metric)) return { procedure: proc.id, step: s, kind: CONDITIONAL_MEASURES[s.metric]! };
  }
  return null;
}
