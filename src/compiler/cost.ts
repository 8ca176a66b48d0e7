import type { AnySpec, Shape } from '../nodes/spec';
import { perExample } from '../nodes/cost';

/**
 * What a node, a block body or a model costs for one example: multiply–accumulates (the papers'
 * convention: convolutions, dense layers and matrix products; element-wise work counts 0) and the
 * activation elements kept for the backward pass. Parts that cannot be estimated are named in
 * `unestimated` and left out of the sums, so a total is never silently short.
 */
export interface CostTotal {
  macs: number;
  /** Elements (not bytes) kept per example. */
  activations: number;
  /** Node types whose cost is not estimated: no cost function, or a size unknown until run time. */
  unestimated: string[];
  /** MACs by layer type, so a summary can say how much of a total is, say, depthwise convolutions. */
  macsByType: Record<string, number>;
}

export const emptyCost = (): CostTotal => ({ macs: 0, activations: 0, unestimated: [], macsByType: {} });

/** One layer node's cost, from its spec. */
export function layerCost(spec: AnySpec, params: Record<string, unknown>, inputs: Shape[], output: Shape): CostTotal {
  if (!spec.cost) return { macs: 0, activations: perExample(output) ?? 0, unestimated: [spec.type], macsByType: {} };
  const cost = spec.cost(params as never, inputs, output);
  const activations = cost.activations === undefined ? perExample(output) : cost.activations;
  return {
    macs: cost.macs ?? 0,
    activations: activations ?? 0,
    unestimated: cost.macs === null || activations === null ? [spec.type] : [],
    macsByType: cost.macs ? { [spec.type]: cost.macs } : {},
  };
}

const UNITS = ['', ' k', ' M', ' G', ' T', ' P'];

/** "12.6 G", "4.52 M", "912": counts for people (decimal units, three significant digits). */
export function formatCount(n: number): string {
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${UNITS[unit]}`;
}

/** Adds `b` × `times` into `a` (in place), keeping each unestimated type once. */
export function addCost(a: CostTotal, b: CostTotal | undefined, times = 1): void {
  if (!b) return;
  a.macs += b.macs * times;
  a.activations += b.activations * times;
  for (const t of b.unestimated) if (!a.unestimated.includes(t)) a.unestimated.push(t);
  for (const [t, m] of Object.entries(b.macsByType)) a.macsByType[t] = (a.macsByType[t] ?? 0) + m * times;
}
