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

/** Which steps a Minimize must run under its tape; the rest runs before, once. */
export function partitionProcedure(proc: PlanProcedure): ProcedurePartition {
  const minimizes = proc.steps.filter((s): s is MinimizeStep => s.kind === 'minimize');
  const producer = new Map<string, ProgramStep>();
  for (const s of proc.steps) for (const v of stepOutputs(s)) producer.set(v, s);
  const taped = new Map<MinimizeStep, Set<ProgramStep>>();
  const anyTaped = new Set<ProgramStep>();
  for (const m of minimizes) {
    const trained = new Set(m.networks);
    const params = new Set(m.parameters);
    // Steps that depend on a trained weight (forward), among those the loss needs (backward).
    const depends = new Set<ProgramStep>();
    for (const s of proc.steps) {
      const own = (s.kind === 'apply' && s.weights === 'online' && trained.has(s.network)) || (s.kind === 'parameter' && params.has(s.output));
      if (own || stepInputs(s).some((v) => depends.has(producer.get(v)!))) depends.add(s);
    }
    const needed = new Set<ProgramStep>();
    const stack = [m.loss];
    while (stack.length) {
      const s = producer.get(stack.pop()!);
      if (!s || needed.has(s)) continue;
      needed.add(s);
      stack.push(...stepInputs(s));
    }
    const set = new Set([...needed].filter((s) => depends.has(s)));
    taped.set(m, set);
    for (const s of set) anyTaped.add(s);
  }
  const pre = new Set(proc.steps.filter((s) => !anyTaped.has(s) && (s.kind === 'apply' || s.kind === 'op' || s.kind === 'parameter')));
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
