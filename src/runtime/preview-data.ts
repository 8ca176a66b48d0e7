/**
 * What a node's preview is made of, as plain numbers: which kind of picture a tensor of a given
 * shape gets, its statistics and histogram, and the small picture itself (a reduced copy that
 * crosses from the worker to the page). Pure functions over typed arrays, without tfjs, so the
 * page, the worker and the tests share them.
 */

/**
 * How a tensor is drawn on its node:
 * - 'image': height × width × 1 or 3 channels, drawn as the picture itself;
 * - 'channels': height × width × C (other C), a grid of per-channel thumbnails;
 * - 'heat': tokens × channels (any rank ≥ 2 that is not an image: leading axes become rows), a heat map;
 * - 'bars': a vector (or a single number), a bar strip;
 * - 'probabilities': a vector of non-negative values that sum to 1 (a softmax), bars on a fixed 0–1 scale.
 */
export type PreviewKind = 'image' | 'channels' | 'heat' | 'bars' | 'probabilities';

export interface TensorStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  /** Square root of the sum of squares (a weight tensor's norm). */
  norm: number;
  /** Values that are NaN or infinite, left out of the figures above. */
  nonFinite: number;
}

export interface Histogram {
  /** Edges of the first and last bin; the bins are equal in width. */
  lo: number;
  hi: number;
  counts: number[];
}

/** The reduced picture of one tensor: `values` laid out row-major in `shape`. */
export interface PreviewPicture {
  kind: PreviewKind;
  /** image [h, w, 1|3]; channels [c, h, w] (channels first, to draw a grid); heat [rows, cols]; bars [n]. */
  shape: number[];
  values: Float32Array;
  /** Channels shown out of the tensor's (a grid shows at most MAX_CHANNELS). */
  channelsShown?: number;
  channelsTotal?: number;
}

export interface NodePreview {
  nodeId: string;
  /** One example's shape (no batch axis). */
  shape: number[];
  stats: TensorStats;
  histogram: Histogram;
  picture: PreviewPicture;
}

/** One node's weights: all its trainable weights together (a block's every layer), and each variable of a single layer. */
export interface NodeWeights {
  nodeId: string;
  all: { count: number; stats: TensorStats; histogram: Histogram };
  /** Variables by short name (kernel, bias, gamma…), only for a node that is one layer with at most a few. */
  variables: Array<{ name: string; shape: number[]; stats: TensorStats; histogram: Histogram }>;
  /** The loss's gradient with respect to all of them, as the training step applied it (that step's batch, training mode), when measured. */
  gradients?: { count: number; stats: TensorStats; histogram: Histogram };
}

/**
 * One node's output over a fixed batch of held-out examples: its figures (exact), a histogram over
 * [min, max] (of every value, or of a fixed sample of them when there are more than
 * ACTIVATION_SAMPLE), how many values are exactly 0, and its dead units: the channels of the last
 * axis (a dense layer's units, a convolution's filters, a token's features) that are 0 for every
 * example at every position, the sign of a ReLU that no longer fires.
 */
export interface NodeActivations {
  nodeId: string;
  /** Held-out examples the figures are over. */
  examples: number;
  stats: TensorStats;
  histogram: Histogram;
  /** Values the histogram counts: all of them, or a fixed sample. */
  sampled: number;
  /** Values exactly 0. */
  zeros: number;
  /** Channels of the last axis, and those 0 on every example and position. */
  units: number;
  dead: number;
}

/** Values of one node's batch output a histogram counts at most; more are sampled (at fixed positions, so refreshes compare). */
export const ACTIVATION_SAMPLE = 4096;

/** Whether an output is rectified (a ReLU's, or pooled from one): its least value is exactly 0, so exact zeros mean units not firing. */
export const isRectified = (a: Pick<NodeActivations, 'stats'>): boolean => a.stats.count > 0 && a.stats.min === 0;

/** Dead units among per-unit peaks (the largest |value| of each unit over the batch): those whose peak is exactly 0. */
export function deadUnitsOf(peaks: ArrayLike<number>): number {
  let dead = 0;
  for (let i = 0; i < peaks.length; i++) if (peaks[i] === 0) dead++;
  return dead;
}

/**
 * `count` distinct positions in [0, size), sorted, the same for the same arguments: a seeded
 * pseudo-random choice, not a stride, so that a sample of a channels-last tensor meets every
 * channel instead of the few a stride that is a multiple of the channel count would.
 */
export function samplePositions(size: number, count: number, seed = 1): Int32Array {
  if (count >= size) return Int32Array.from({ length: size }, (_, i) => i);
  // Floyd's algorithm: exactly `count` distinct picks without an array of `size`.
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const picked = new Set<number>();
  for (let j = size - count; j < size; j++) {
    const t = Math.floor(next() * (j + 1));
    picked.add(picked.has(t) ? j : t);
  }
  return Int32Array.from([...picked].sort((a, b) => a - b));
}

/**
 * A node's batch figures from what the device reduced them to: exact count, extremes, sum and sum
 * of squares, zeros and per-unit peaks, and the values at the sample positions for the histogram.
 * With NaN or ∞ in the output, the device's sums are not finite: the figures then come from the
 * sample alone (statsOf leaves the non-finite values out and counts them).
 */
export function activationsOf(
  nodeId: string,
  examples: number,
  reduced: { count: number; min: number; max: number; sum: number; squares: number; nonFinite: number; zeros: number; peaks: ArrayLike<number> },
  sample: ArrayLike<number>,
): NodeActivations {
  const finite = reduced.count - reduced.nonFinite;
  let stats: TensorStats;
  if (reduced.nonFinite > 0 || !Number.isFinite(reduced.sum) || !Number.isFinite(reduced.squares)) {
    stats = { ...statsOf(sample), nonFinite: reduced.nonFinite };
  } else if (finite === 0) {
    stats = { count: 0, min: 0, max: 0, mean: 0, std: 0, norm: 0, nonFinite: 0 };
  } else {
    const mean = reduced.sum / finite;
    stats = {
      count: finite,
      min: reduced.min,
      max: reduced.max,
      mean,
      std: Math.sqrt(Math.max(0, reduced.squares / finite - mean * mean)),
      norm: Math.sqrt(reduced.squares),
      nonFinite: 0,
    };
  }
  return {
    nodeId,
    examples,
    stats,
    histogram: histogramOf(sample, HISTOGRAM_BINS, stats),
    sampled: sample.length,
    zeros: reduced.zeros,
    units: reduced.peaks.length,
    dead: deadUnitsOf(reduced.peaks),
  };
}

export const HISTOGRAM_BINS = 24;
/** A grid shows at most this many channels: more would be too small to read at a node's size. */
export const MAX_CHANNELS = 8;
/** The side a thumbnail or image is reduced to at most (a node's preview is about 64 × 40 CSS pixels). */
export const MAX_SIDE = 32;
export const MAX_CHANNEL_SIDE = 16;
export const MAX_HEAT_ROWS = 32;
export const MAX_HEAT_COLS = 64;
export const MAX_BARS = 64;

const product = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/** Whether the values look like class probabilities: none negative, and they sum to 1. */
export function looksLikeProbabilities(values: ArrayLike<number>): boolean {
  if (values.length < 2) return false;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) < 1e-3;
}

/** The kind of preview a tensor of this shape (no batch axis) gets; `values` tells probabilities from other vectors. */
export function previewKindOf(shape: readonly number[], values?: ArrayLike<number>): PreviewKind {
  if (shape.length === 3) return shape[2] === 1 || shape[2] === 3 ? 'image' : 'channels';
  if (shape.length >= 2) return 'heat';
  return values && looksLikeProbabilities(values) ? 'probabilities' : 'bars';
}

/** Count, min, max, mean, standard deviation and norm of the finite values (NaN and ±∞ are counted apart). */
export function statsOf(values: ArrayLike<number>): TensorStats {
  let count = 0,
    min = Infinity,
    max = -Infinity,
    sum = 0,
    squares = 0,
    nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    squares += v * v;
  }
  if (count === 0) return { count, min: 0, max: 0, mean: 0, std: 0, norm: 0, nonFinite };
  const mean = sum / count;
  // max(0, …): rounding can make E[x²] − E[x]² a hair negative for constant tensors.
  const std = Math.sqrt(Math.max(0, squares / count - mean * mean));
  return { count, min, max, mean, std, norm: Math.sqrt(squares), nonFinite };
}

/** Equal-width bins over [min, max] of the finite values; a constant tensor puts everything in the middle bin. */
export function histogramOf(values: ArrayLike<number>, bins = HISTOGRAM_BINS, range?: { min: number; max: number }): Histogram {
  const { min, max } = range ?? statsOf(values);
  const counts = new Array<number>(bins).fill(0);
  if (max === min) {
    let n = 0;
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) n++;
    counts[Math.floor(bins / 2)] = n;
    return { lo: min - 0.5, hi: max + 0.5, counts };
  }
  const scale = bins / (max - min);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    // The top edge belongs to the last bin.
    counts[Math.min(bins - 1, Math.floor((v - min) * scale))]!++;
  }
  return { lo: min, hi: max, counts };
}

/** Reduces a length-n axis to at most `most` cells: cell j averages source indices [j·n/m, (j+1)·n/m). */
function cellsOf(n: number, most: number): Array<[number, number]> {
  const m = Math.min(n, most);
  const out: Array<[number, number]> = [];
  for (let j = 0; j < m; j++) out.push([Math.floor((j * n) / m), Math.max(Math.floor((j * n) / m) + 1, Math.floor(((j + 1) * n) / m))]);
  return out;
}

/**
 * Average-pools a rows × cols grid (element (r, c) at `at(r, c)`) to at most maxRows × maxCols.
 * Averaging, not picking, so that a reduced map still shows every value's share.
 */
function pool2d(
  rows: number,
  cols: number,
  maxRows: number,
  maxCols: number,
  at: (r: number, c: number) => number,
): { shape: [number, number]; values: Float32Array } {
  const rs = cellsOf(rows, maxRows);
  const cs = cellsOf(cols, maxCols);
  const values = new Float32Array(rs.length * cs.length);
  rs.forEach(([r0, r1], i) => {
    cs.forEach(([c0, c1], j) => {
      let sum = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) sum += at(r, c);
      values[i * cs.length + j] = sum / ((r1 - r0) * (c1 - c0));
    });
  });
  return { shape: [rs.length, cs.length], values };
}

/**
 * The small picture of one example's tensor (row-major `values` in `shape`, no batch axis).
 * Images and channel grids are average-pooled to MAX_SIDE / MAX_CHANNEL_SIDE; a grid keeps the
 * first MAX_CHANNELS channels; heat maps and bar strips are pooled along their axes.
 */
export function pictureOf(shape: readonly number[], values: ArrayLike<number>): PreviewPicture {
  if (values.length !== product(shape)) throw new Error(`A preview of shape [${shape.join(', ')}] needs ${product(shape)} values, not ${values.length}.`);
  const kind = previewKindOf(shape, values);
  if (kind === 'image') {
    const [h, w, c] = shape as [number, number, number];
    const planes = Array.from({ length: c }, (_, k) => pool2d(h, w, MAX_SIDE, MAX_SIDE, (r, x) => values[(r * w + x) * c + k]!));
    const [ph, pw] = planes[0]!.shape;
    const out = new Float32Array(ph * pw * c);
    for (let i = 0; i < ph * pw; i++) for (let k = 0; k < c; k++) out[i * c + k] = planes[k]!.values[i]!;
    return { kind, shape: [ph, pw, c], values: out };
  }
  if (kind === 'channels') {
    const [h, w, c] = shape as [number, number, number];
    const shown = Math.min(c, MAX_CHANNELS);
    const planes = Array.from({ length: shown }, (_, k) => pool2d(h, w, MAX_CHANNEL_SIDE, MAX_CHANNEL_SIDE, (r, x) => values[(r * w + x) * c + k]!));
    const [ph, pw] = planes[0]!.shape;
    const out = new Float32Array(shown * ph * pw);
    planes.forEach((p, k) => out.set(p.values, k * ph * pw));
    return { kind, shape: [shown, ph, pw], values: out, channelsShown: shown, channelsTotal: c };
  }
  if (kind === 'heat') {
    const cols = shape[shape.length - 1]!;
    const rows = product(shape) / Math.max(1, cols);
    const pooled = pool2d(rows, cols, MAX_HEAT_ROWS, MAX_HEAT_COLS, (r, c) => values[r * cols + c]!);
    return { kind, shape: pooled.shape, values: pooled.values };
  }
  const n = values.length;
  const pooled = pool2d(1, n, 1, MAX_BARS, (_, c) => values[c]!);
  return { kind, shape: [pooled.shape[1]], values: pooled.values };
}

/** Everything a node's preview needs from one example's output. */
export function nodePreviewOf(nodeId: string, shape: readonly number[], values: ArrayLike<number>): NodePreview {
  const stats = statsOf(values);
  return { nodeId, shape: [...shape], stats, histogram: histogramOf(values, HISTOGRAM_BINS, stats), picture: pictureOf(shape, values) };
}

/** "1.23", "-0.0041", "1.2e+5": a figure short enough for a node and the inspector. */
export function formatFigure(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return v
    .toPrecision(3)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}

/** The buffers of previews and weights, to transfer rather than copy between worker and page. */
export function previewBuffers(previews: readonly NodePreview[]): ArrayBuffer[] {
  return previews.map((p) => p.picture.values.buffer as ArrayBuffer);
}
