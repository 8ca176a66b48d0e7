/**
 * How a train procedure's step splits around its gradient tapes: the interpreter
 * (runtime/program/run.ts) and the exported trainer (emit-program.ts) both follow this one
 * partition, so they run the same steps in the same places.
 */
import type { PlanProcedure, ProgramStep } from './program';

export type MinimizeStep = Extract<ProgramStep, { kind: 'minimize' }>;

export interface ProcedurePartition {
  /** Steps that run once before any tape: data, augmentations, frozen and moving-average networks. */
  pre: Set<ProgramStep>;
  /** Per Minimize (in procedure order), the steps its tape runs: those on a path from its weights to its loss. */
  taped: Map<MinimizeStep, Set<ProgramStep>>;
}

/**
 * Which steps a Minimize must run under its tape; the rest runs before, once.
 *
 * - A step is wanted when a loss node (every loss shows its value), a Minimize or a hook needs it;
 *   anything else (a network applied to nothing, while a graph is being edited) is skipped.
 * - Wanted steps that depend on no trained weight run once before any tape.
 * - Each Minimize's tape runs every wanted step its loss needs that depends on some trained weight
 *   (its own or another Minimize's: that one's are constants here, the tape only differentiates its
 *   own variables), so a value is never read before a tape computed it.
 * - A wanted step that depends on trained weights but that no loss of a Minimize needs (a monitored
 *   loss, a hook's input off the loss path) is computed by the first tape, with what it needs.
 */
export function partitionProcedure(proc: PlanProcedure): ProcedurePartition {
  const minimizes = proc.steps.filter((s): s is MinimizeStep => s.kind === 'minimize');
  const producer = new Map<string, ProgramStep>();
  for (const s of proc.steps) for (const v of stepOutputs(s)) producer.set(v, s);
  const ancestors = (values: string[]): Set<ProgramStep> => {
    const found = new Set<ProgramStep>();
    const stack = [...values];
    while (stack.length) {
      const s = producer.get(stack.pop()!);
      if (!s || found.has(s)) continue;
      found.add(s);
      stack.push(...stepInputs(s));
    }
    return found;
  };
  const trained = new Set(minimizes.flatMap((m) => m.networks));
  const params = new Set(minimizes.flatMap((m) => m.parameters));
  // Steps that depend on a weight some Minimize trains (forward from the weights).
  const depends = new Set<ProgramStep>();
  for (const s of proc.steps) {
    const own = (s.kind === 'apply' && s.weights === 'online' && trained.has(s.network)) || (s.kind === 'parameter' && params.has(s.output));
    if (own || stepInputs(s).some((v) => depends.has(producer.get(v)!))) depends.add(s);
  }
  const shown = proc.steps.flatMap((s) => (s.kind === 'op' && s.loss ? [s.output] : s.kind === 'hook' ? [s.input] : []));
  const wanted = ancestors([...minimizes.map((m) => m.loss), ...shown]);
  const taped = new Map<MinimizeStep, Set<ProgramStep>>();
  const anyTaped = new Set<ProgramStep>();
  for (const m of minimizes) {
    const set = new Set([...ancestors([m.loss])].filter((s) => depends.has(s)));
    taped.set(m, set);
    for (const s of set) anyTaped.add(s);
  }
  const leftovers = [...wanted].filter((s) => depends.has(s) && !anyTaped.has(s));
  if (leftovers.length && minimizes.length) {
    const first = taped.get(minimizes[0]!)!;
    for (const s of ancestors(leftovers.flatMap(stepOutputs))) if (depends.has(s)) first.add(s);
  }
  const pre = new Set(proc.steps.filter((s) => wanted.has(s) && !depends.has(s) && (s.kind === 'apply' || s.kind === 'op' || s.kind === 'parameter')));
  return { pre, taped };
}

/** The values a step produces. */
export function stepOutputs(s: ProgramStep): string[] {
  switch (s.kind) {
    case 'data':
      return [s.outputs.image, s.outputs.label];
    case 'apply':
      return Object.values(s.outputs);
    case 'op':
    case 'parameter':
      return [s.output];
    default:
      return [];
  }
}

/** The values a step reads. */
export function stepInputs(s: ProgramStep): string[] {
  switch (s.kind) {
    case 'apply':
    case 'op':
    case 'metric':
      return s.inputs;
    case 'minimize':
      return [s.loss];
    case 'hook':
      return [s.input];
    default:
      return [];
  }
}
