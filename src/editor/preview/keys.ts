/**
 * The small vocabulary the pin bar and the nodes share with the preview refresh (preview-refresh.ts):
 * here, apart from it, so that what the first paint draws does not bring the refresh's code along
 * (test/initial-bundle.test.ts).
 */

/** What the person pinned; 'auto' follows the model's input and the Train tab's data. */
export type Pin = { kind: 'auto' } | { kind: 'held-out'; index: number } | { kind: 'drawn'; values: Float32Array; after: number };

/** The held-out example a pin stands at or came from (a drawing keeps the one it replaced, for ‹ and ›). */
export const heldOutIndexOf = (pin: Pin) => (pin.kind === 'held-out' ? pin.index : pin.kind === 'drawn' ? pin.after : 0);

/** Which graph on show previews are of: a network, or an opened block instance in it. */
export const previewKey = (network: string, inside: string | undefined) => `${network}|${inside ?? ''}`;

/** The pinned timestep: the one chosen, clamped into 0 … T − 1, or the middle one. */
export function timestepOf(chosen: number | null, timesteps: number): number {
  if (chosen === null || !Number.isFinite(chosen)) return Math.floor(timesteps / 2);
  return Math.min(Math.max(0, Math.round(chosen)), timesteps - 1);
}
