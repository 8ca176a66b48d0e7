import type { NodeCost, Shape } from './spec';

/**
 * Helpers for NodeSpec.cost. Counts are per example: the batch dimension (the first) is left out,
 * and a dimension unknown until run time (null) makes the count unknown (null) rather than wrong.
 */

/** Elements of one example of a tensor shaped `shape` (batch first), or null when a size is unknown. */
export function perExample(shape: Shape): number | null {
  let n = 1;
  for (let i = 1; i < shape.length; i++) {
    const d = shape[i];
    if (d === null || d === undefined) return null;
    n *= d;
  }
  return n;
}

/** a × b, unknown when either is. */
export const times = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a * b);

/** Element-wise work (activations, normalisation, pooling, adds): no multiply–accumulates by the papers' convention. */
export const ELEMENTWISE = (): NodeCost => ({ macs: 0 });

/** A view of its input (Reshape, Flatten, pass-through ports): no work and no new tensor to keep. */
export const VIEW = (): NodeCost => ({ macs: 0, activations: 0 });

/**
 * A dense map of the last axis applied at every other position: in × out MACs per position.
 * Output shape `output` has `units` as its last axis; positions are the rest (batch excluded).
 */
export function denseMacs(inFeatures: number | null, output: Shape): number | null {
  const positions = perExample(output.slice(0, -1).concat([1]));
  return times(times(positions, inFeatures), output[output.length - 1] ?? null);
}
