/**
 * The weights a plan's model has, by the names and shapes tfjs saves them under (a model.json's
 * weightsManifest): what imported weights are checked against before a run or a score loads them.
 * Built with the runtime the editor trains with; the page asks the training worker (it has no tfjs).
 */
import type { Plan } from '../compiler/plan';
import { buildModel } from './build';

export interface PlanWeightSpec {
  name: string;
  shape: number[];
}

/** Each weight of a fresh build of the plan, in the order tfjs saves them (the build is disposed at once). */
export function weightSpecsOf(plan: Plan): PlanWeightSpec[] {
  const model = buildModel(plan);
  try {
    return model.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[] }));
  } finally {
    model.dispose();
  }
}
