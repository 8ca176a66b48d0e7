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
  /** One caption per example, where the set has them (the synthetic shapes): for text–image work later. */
  captions?: string[];
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
  return {
    x: split.x.subarray(0, limit * size),
    y: split.y.subarray(0, limit),
    count: limit,
    ...(split.captions ? { captions: split.captions.slice(0, limit) } : {}),
  };
}

/** A loader's failure in words a user can act on (a bad CSV cell, an unreadable image…). */
export class DataError extends Error {
  override name = 'DataError';
}

export const TRAIN_FRACTION = 0.8;

/**
 * A fixed split that keeps the class balance: within each class (in a seeded shuffle) the first
 * 80 % train and the rest test, at least one on each side when a class has two examples or more;
 * then each split is shuffled. Returns example indices into the caller's arrays.
 */
export function splitPerClass(labels: ArrayLike<number>, classes: number, seed: number, trainFraction = TRAIN_FRACTION): { train: number[]; test: number[] } {
  const random = seededRandom(seed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const train: number[] = [];
  const test: number[] = [];
  for (const members of byClass) {
    const order = shuffledIndices(members.length, random);
    const n = members.length;
    const cut = n < 2 ? n : Math.min(n - 1, Math.max(1, Math.round(n * trainFraction)));
    order.forEach((k, rank) => (rank < cut ? train : test).push(members[k]!));
  }
  const shuffle = (items: number[]) => Array.from(shuffledIndices(items.length, random), (k) => items[k]!);
  return { train: shuffle(train), test: shuffle(test) };
}

/** Gathers examples (rows of `size` values in `x`) into a split, in the given order. */
export function gatherSplit(x: ArrayLike<number>, y: ArrayLike<number>, size: number, indices: number[]): Split {
  const out = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  indices.forEach((from, to) => {
    for (let k = 0; k < size; k++) out[to * size + k] = x[from * size + k]!;
    labels[to] = y[from]!;
  });
  return { x: out, y: labels, count: indices.length };
}

/** Builds a dataset from all examples, split per class with `splitPerClass`. */
export function datasetFromExamples(args: {
  name: string;
  inputShape: number[];
  classNames: string[];
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  seed: number;
  captions?: string[];
}): Dataset {
  const size = exampleSize(args);
  const { train, test } = splitPerClass(args.y, args.classNames.length, args.seed);
  const withCaptions = (split: Split, indices: number[]): Split => (args.captions ? { ...split, captions: indices.map((i) => args.captions![i]!) } : split);
  return {
    name: args.name,
    inputShape: args.inputShape,
    classNames: args.classNames,
    train: withCaptions(gatherSplit(args.x, args.y, size, train), train),
    test: withCaptions(gatherSplit(args.x, args.y, size, test), test),
  };
}

/** Examples per class in a split. */
export function classCounts(split: Split, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.y[i]!]! += 1;
  return counts;
}

/** The typed arrays' buffers, for `postMessage`'s transfer list (each array must own its whole buffer). */
export function transferablesOf(ds: Dataset): ArrayBuffer[] {
  return [ds.train.x, ds.train.y, ds.test.x, ds.test.y].map((a) => a.buffer as ArrayBuffer);
}

/** A copy whose arrays own their buffers, safe to transfer while the original stays usable. */
export function cloneDataset(ds: Dataset): Dataset {
  const split = (s: Split): Split => ({ ...s, x: s.x.slice(), y: s.y.slice(), ...(s.captions ? { captions: s.captions.slice() } : {}) });
  return { ...ds, inputShape: ds.inputShape.slice(), classNames: ds.classNames.slice(), train: split(ds.train), test: split(ds.test) };
}
