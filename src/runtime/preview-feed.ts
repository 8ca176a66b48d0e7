/**
 * What a network's Inputs get for its previews when the pinned example alone does not say: a
 * network with several Inputs (a denoiser takes x_t and t, SR3 and Palette also a condition) or a
 * program's other network (a projector takes what the encoder made of the example).
 *
 * Where a training program applies the network, its procedure says what goes in: the procedure's
 * steps that lead to that Network node run on the pinned example (a batch of one), so the denoiser
 * sees the pinned digit noised as training noises it, at a pinned timestep instead of a random one,
 * and a projector sees the encoder's output on the digit. Random augmentations are left out (the
 * preview is of the pinned example, not of a random view of it); other random ops (the diffusion
 * noise, Palette's mask) are seeded, so two refreshes compare.
 *
 * This file is the plain-data half (which procedure feeds a network, and its timestep range), used by
 * the page; preview-procedure.ts runs it in the worker.
 */
import type { PlanProgram, ProgramStep } from '../compiler/program';

/** Procedure ops that make a random view of their input: a preview shows the pinned example as it is. */
export const AUGMENTATION_OPS: ReadonlySet<string> = new Set(['RandomTranslate', 'RandomAffine', 'RandomFlip', 'GaussianNoise', 'RandomErase']);

/** How a procedure feeds a network: the Network node that applies it, and the pinned diffusion timestep's range, if one goes in. */
export interface ProcedureFeed {
  procedure: string;
  /** The procedure's Network node whose inputs the previews take. */
  apply: string;
  /** T of a DiffusionTimestep the inputs depend on (the pinned timestep runs 0 … T − 1); null when none does. */
  timesteps: number | null;
}

export type Producer = Exclude<ProgramStep, { kind: 'minimize' | 'hook' | 'metric' }>;

export function producersOf(steps: readonly ProgramStep[]): Map<string, Producer> {
  const out = new Map<string, Producer>();
  for (const s of steps) {
    if (s.kind === 'data') {
      out.set(s.outputs.image, s);
      out.set(s.outputs.label, s);
    } else if (s.kind === 'apply') for (const v of Object.values(s.outputs)) out.set(v, s);
    else if (s.kind === 'op' || s.kind === 'parameter') out.set(s.output, s);
  }
  return out;
}

/** The steps `values` depend on, or null when one of them has no producer (an unwired port). */
export function ancestorsOf(values: readonly string[], producers: ReadonlyMap<string, Producer>): Set<Producer> | null {
  const seen = new Set<Producer>();
  const stack = [...values];
  while (stack.length) {
    const v = stack.pop()!;
    const p = producers.get(v);
    if (!p) return null;
    if (seen.has(p)) continue;
    seen.add(p);
    if (p.kind === 'apply' || p.kind === 'op') stack.push(...p.inputs);
  }
  return seen;
}

/**
 * The first procedure (in the document's order) that applies `network` with every input wired from
 * its Data node through ops, parameters and other networks; null when none does.
 */
export function procedureFeedOf(program: PlanProgram, network: string): ProcedureFeed | null {
  for (const proc of program.procedures) {
    const producers = producersOf(proc.steps);
    for (const s of proc.steps) {
      if (s.kind !== 'apply' || s.network !== network || s.inputs.length === 0) continue;
      const ancestors = ancestorsOf(s.inputs, producers);
      if (!ancestors || ![...ancestors].some((a) => a.kind === 'data')) continue;
      const timestep = [...ancestors].find((a): a is Extract<ProgramStep, { kind: 'op' }> => a.kind === 'op' && a.op === 'DiffusionTimestep');
      return { procedure: proc.id, apply: s.nodeId, timesteps: timestep ? Number(timestep.config.timesteps) : null };
    }
  }
  return null;
}

/** The shape of one example of the procedure's Data node (what the pinned example must be). */
export function dataShapeOf(program: PlanProgram, procedure: string): { shape: number[]; classes: number } | null {
  const data = program.procedures.find((p) => p.id === procedure)?.steps.find((s) => s.kind === 'data');
  return data && data.kind === 'data' ? { shape: data.shape, classes: data.classes } : null;
}
