/**
 * An in-memory classification dataset: examples as one flat Float32Array, labels as class ids.
 * Loaders (MNIST, synthetic sets, CSV, image folders) all produce this, so the training code does
 * not care where the data came from.
 */
export interface Split {
  /** Row-major examples: `count × product(inputShape)` values. */
  x: Float32Array;
  /** Class id per example. */
  y: Uint8Array;
  count: number;
}

export interface Dataset {
  name: string;
  /** Shape of one example, without the batch. */
  inputShape: number[];
  classNames: string[];
  train: Split;
  test: Split;
}

export const exampleSize = (ds: Pick<Dataset, 'inputShape'>) => ds.inputShape.reduce((a, b) => a * b, 1);

/** Mulberry32: a small seeded generator, so shuffles and splits repeat exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffledIndices(count: number, random: () => number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** The first `limit` examples of a split (for quick runs). */
export function limitSplit(split: Split, limit: number | undefined, size: number): Split {
  if (limit === undefined || limit >= split.count) return split;
  return { x: split.x.subarray(0, limit * size), y: split.y.subarray(0, limit), count: limit };
}
