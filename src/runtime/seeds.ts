/** Seeds for the random parts of a model, derived from the training setup's one seed. No tfjs here. */

/**
 * A non-zero 31-bit seed for one random thing in the model (a layer's initialiser, a dropout step),
 * from the run's seed and a name: FNV-1a over both. tfjs takes a seed of 0 (or none) as "use
 * Math.random", so 0 never comes out. Names rather than positions, so that adding a layer leaves
 * the others' initial weights as they were.
 */
export function derivedSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  const text = `${seed}:${name}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 1 || 1;
}

/** Layers that draw something random every training step: Dropout's mask, RandomTranslation's shifts, the diffusion blocks' dropout. */
export const RESEEDED_EACH_STEP = /Dropout|RandomTranslation|PatchbayUNet|PatchbayTimeResBlock/;

/**
 * Dropout draws a fresh mask every step (and random translation fresh shifts), so a fixed seed per
 * layer would repeat the same draw; the seed follows the step instead. Call before each training
 * step of a seeded run.
 */
export function seedStep(model: { layers: Array<{ name: string; getClassName(): string }> }, seed: number, step: number): void {
  for (const layer of model.layers) {
    const fields = layer as unknown as { seed?: number };
    if ('seed' in fields && RESEEDED_EACH_STEP.test(layer.getClassName())) fields.seed = derivedSeed(seed, `${layer.name}@${step}`);
  }
}
