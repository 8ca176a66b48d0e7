/**
 * Conditional diffusion on images: SR3 (Saharia et al. 2021, super-resolution) and Palette (Saharia
 * et al. 2022, image-to-image: inpainting). The network sees the condition concatenated to x_t; these
 * are the procedure ops that make the condition (a low-resolution copy upsampled back, a masked
 * image), Palette's loss on the masked region only, and the measures (PSNR against the upsampled
 * input, masked error against filling with the mean). Plain functions of tensors and numbers, so the
 * exported trainer copies them (scripts/gen-program-sources.ts).
 */
import type * as tfType from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset';
import { derivedSeed } from '../seeds';
import { diffusionSchedule, sampleDiffusion, type DiffusionPrediction } from './diffusion';

type Tf = typeof tfType;
type T = tfType.Tensor;

/**
 * The matrix [to, from] that resizes one axis from `from` samples to `to`, with half-pixel centres
 * (source x = (i + ½)·from/to − ½) and edges repeated. Bilinear: the two nearest samples. Bicubic:
 * Keys' cubic convolution with a = −0.5 (MATLAB's imresize, the upsampling SR3 compares with) over
 * the four nearest. Rows sum to 1.
 */
export function resizeMatrix(kind: 'bilinear' | 'bicubic', from: number, to: number): Float32Array {
  const m = new Float32Array(to * from);
  const clamp = (j: number) => Math.min(from - 1, Math.max(0, j));
  const cubic = (d: number) => {
    const a = -0.5;
    const x = Math.abs(d);
    if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
    if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
    return 0;
  };
  for (let i = 0; i < to; i++) {
    const x = ((i + 0.5) * from) / to - 0.5;
    const lo = Math.floor(x);
    if (kind === 'bilinear') {
      const f = x - lo;
      m[i * from + clamp(lo)]! += 1 - f;
      m[i * from + clamp(lo + 1)]! += f;
    } else for (let j = lo - 1; j <= lo + 2; j++) m[i * from + clamp(j)]! += cubic(x - j);
  }
  return m;
}

/** The matrix [to, from] that averages each block of `from / to` samples (area downsampling). */
export function averagingMatrix(from: number, to: number): Float32Array {
  const f = from / to;
  const m = new Float32Array(to * from);
  for (let i = 0; i < to; i++) for (let j = 0; j < f; j++) m[i * from + i * f + j] = 1 / f;
  return m;
}

/** y = M·X·Mᵀ on each image's height and width ([batch, h, w, c] → [batch, rows(M), rows(M), c]). */
function resizeBoth(tf: Tf, x: T, m: Float32Array, to: number): T {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const mt = tf.transpose(tf.tensor2d(m, [to, w]));
  const overWidth = tf.reshape(tf.matMul(tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [-1, w]), mt), [n, c, h, to]);
  const overHeight = tf.reshape(tf.matMul(tf.reshape(tf.transpose(overWidth, [0, 1, 3, 2]), [-1, h]), mt), [n, c, to, to]);
  return tf.transpose(overHeight, [0, 3, 2, 1]);
}

/**
 * SR3's input: each image averaged down by `factor` (28×28 → 7×7 for factor 4), then upsampled back
 * to its size (bicubic or bilinear): the blurry image the network conditions on, and the baseline its
 * output must beat. Square images only.
 */
export function lowResolution(tf: Tf, x: T, factor: number, upsample: 'bilinear' | 'bicubic'): T {
  const size = x.shape[1]!;
  const small = size / factor;
  return resizeBoth(tf, resizeBoth(tf, x, averagingMatrix(size, small), small), resizeMatrix(upsample, small, size), size);
}

/**
 * Palette's inpainting mask: 1 inside a `size`×`size` square (what the network fills), 0 elsewhere,
 * of the input's shape. The square sits at a random place per example (seeded by run, step and node,
 * so an evaluation sees the same squares every time), or in the centre.
 */
export function squareMask(tf: Tf, x: T, size: number, placement: 'random' | 'center', ctx: { seed: number; step: number; nodeId: string }): T {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const random = seededRandom(derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`));
  const mask = new Float32Array(n * h * w * c);
  const [sh, sw] = [Math.min(size, h), Math.min(size, w)];
  for (let i = 0; i < n; i++) {
    const top = placement === 'center' ? Math.floor((h - sh) / 2) : Math.floor(random() * (h - sh + 1));
    const left = placement === 'center' ? Math.floor((w - sw) / 2) : Math.floor(random() * (w - sw + 1));
    for (let r = top; r < top + sh; r++) mask.fill(1, ((i * h + r) * w + left) * c, ((i * h + r) * w + left + sw) * c);
  }
  return tf.tensor4d(mask, [n, h, w, c]);
}

/** mask·inside + (1 − mask)·outside: the known pixels kept, the masked ones taken from `inside`. */
export function composite(tf: Tf, inside: T, outside: T, mask: T): T {
  return tf.add(tf.mul(mask, inside), tf.mul(tf.sub(1, mask), outside));
}

/**
 * Palette's inpainting loss: the squared error of a and b averaged over the masked elements only
 * (Σ mask·(a − b)² / Σ mask), so the known pixels, which the network is given, count for nothing.
 */
export function maskedMeanSquaredError(tf: Tf, a: T, b: T, mask: T): T {
  return tf.div(tf.sum(tf.mul(mask, tf.squaredDifference(a, b))), tf.maximum(tf.sum(mask), 1));
}

/** Rec. 601 luma weights (JPEG's YCbCr): Y = 0.299·R + 0.587·G + 0.114·B. */
export const LUMA: readonly [number, number, number] = [0.299, 0.587, 0.114];

/**
 * ClassColour's palette, [classes, 3] RGB: class k gets luma `luma` and chroma `chroma` at the
 * angle 2πk/classes in the (Cb, Cr) plane, by Rec. 601 YCbCr (R = Y + 1.402·Cr, G = Y − 0.344136·Cb −
 * 0.714136·Cr, B = Y + 1.772·Cb). Every class's colour has the same luma Y, so the grey (luma) image of a
 * coloured digit says nothing about its colour: only its shape does.
 */
export function classColours(classes: number, luma: number, chroma: number): Float32Array {
  const out = new Float32Array(classes * 3);
  for (let k = 0; k < classes; k++) {
    const angle = (2 * Math.PI * k) / classes;
    const [cb, cr] = [chroma * Math.cos(angle), chroma * Math.sin(angle)];
    out.set([luma + 1.402 * cr, luma - 0.344136 * cb - 0.714136 * cr, luma + 1.772 * cb], k * 3);
  }
  return out;
}

/**
 * Palette's colourisation target: each grey image ([batch, h, w, 1], in [0, 1]) times its class's
 * colour (classColours; `label` one-hot [batch, classes]), [batch, h, w, 3]. Black stays black and the
 * stroke takes the hue of its digit's class.
 */
export function classColour(tf: Tf, image: T, label: T, luma: number, chroma: number): T {
  const classes = label.shape[1]!;
  const colours = tf.matMul(label, tf.tensor2d(classColours(classes, luma, chroma), [classes, 3]));
  return tf.mul(image, tf.reshape(colours, [-1, 1, 1, 3]));
}

/** The grey image of RGB ones, [batch, h, w, 3] → [batch, h, w, 1]: Σ LUMA·channel. Affine maps such as [0, 1] → [−1, 1] commute with it (the weights sum to 1). */
export function luminance(tf: Tf, x: T): T {
  return tf.sum(tf.mul(x, tf.tensor1d(LUMA as unknown as number[])), -1, true);
}

/** Runs one image-to-image op; undefined when `op` is not one (ops.ts's runOp asks here). */
export function runImageToImageOp(
  tf: Tf,
  op: string,
  config: Record<string, unknown>,
  inputs: T[],
  ctx: { seed: number; step: number; nodeId: string },
): T | undefined {
  const [a, b, c] = inputs;
  switch (op) {
    case 'LowResolution':
      return lowResolution(tf, a!, config.factor as number, config.upsample as 'bilinear' | 'bicubic');
    case 'SquareMask':
      return squareMask(tf, a!, config.size as number, config.placement as 'random' | 'center', ctx);
    case 'Composite':
      return composite(tf, a!, b!, c!);
    case 'MaskedMeanSquaredError':
      return maskedMeanSquaredError(tf, a!, b!, c!);
    case 'ClassColour':
      return classColour(tf, a!, b!, config.luminance as number, config.chroma as number);
    case 'Luminance':
      return luminance(tf, a!);
    default:
      return undefined;
  }
}

/**
 * Mean PSNR over images, in dB, for pixels in [0, 1]: 10·log₁₀(1 / MSE) per image (`size` values
 * each), then averaged; an exact match counts as 100 dB rather than infinity.
 */
export function meanPsnr(output: ArrayLike<number>, target: ArrayLike<number>, size: number): number {
  const count = Math.floor(target.length / size);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    let se = 0;
    for (let j = i * size; j < (i + 1) * size; j++) se += (output[j]! - target[j]!) ** 2;
    sum += Math.min(100, 10 * Math.log10(size / Math.max(se, 1e-300)));
  }
  return count ? sum / count : Number.NaN;
}

/** Σ mask·(output − target)² / Σ mask: the error on the masked pixels only (NaN when nothing is masked). */
export function maskedMse(output: ArrayLike<number>, target: ArrayLike<number>, mask: ArrayLike<number>): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < target.length; i++) {
    se += mask[i]! * (output[i]! - target[i]!) ** 2;
    n += mask[i]!;
  }
  return n ? se / n : Number.NaN;
}

/** The mean example of `count` rows of `size` values. */
export function meanRow(rows: ArrayLike<number>, size: number): Float32Array {
  const count = Math.floor(rows.length / size);
  const sum = new Float64Array(size);
  for (let i = 0; i < count * size; i++) sum[i % size]! += rows[i]!;
  return Float32Array.from(sum, (s) => s / Math.max(count, 1));
}

/** What sampling a conditional diffusion model needs: the schedule it trained with and the sampler's steps. */
export interface ConditionalSampling {
  schedule: 'linear' | 'cosine';
  timesteps: number;
  steps: number;
  /** DDIM's η: 0 walks deterministically from the seeded noise, 1 adds the ancestral sampler's noise at each step. */
  eta?: number;
  /** What the network predicts (ε unless said): denoiser.ts reads it from the training loss. */
  prediction?: DiffusionPrediction;
  seed: number;
  /** Images sampled at once (memory: a batch of the network's activations). */
  batch?: number;
  /** One condition's shape when it differs from the output's (colourisation: a grey [h, w, 1] for an RGB [h, w, 3]). */
  conditionShape?: number[];
}

/**
 * Samples an output for every condition (rows of one image each, in the [−1, 1] the model works in)
 * with DDIM over `steps` timesteps, the condition as the network's third input. With `known`
 * (Palette's inpainting) the pixels outside the mask are put back from the known image at every step,
 * as the network saw them in training. Returns the outputs in [0, 1], row by row.
 */
export async function sampleConditioned(
  tf: Tf,
  model: { apply(inputs: T[], kwargs?: Record<string, unknown>): T | T[] | tfType.SymbolicTensor | tfType.SymbolicTensor[] },
  shape: number[],
  condition: Float32Array,
  known: { image: Float32Array; mask: Float32Array } | undefined,
  options: ConditionalSampling,
): Promise<Float32Array> {
  const size = shape.reduce((a, b) => a * b, 1);
  const conditionShape = options.conditionShape ?? shape;
  const conditionSize = conditionShape.reduce((a, b) => a * b, 1);
  const count = Math.floor(condition.length / conditionSize);
  const out = new Float32Array(count * size);
  const batch = options.batch ?? 100;
  const schedule = diffusionSchedule(options.schedule, options.timesteps);
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const rows = (a: Float32Array) => tf.tensor(a.subarray(start * size, (start + n) * size), [n, ...shape]);
    const cond = tf.tensor(condition.subarray(start * conditionSize, (start + n) * conditionSize), [n, ...conditionShape]);
    const given = known ? { image: rows(known.image), mask: rows(known.mask) } : undefined;
    try {
      const images = await sampleDiffusion(tf, model, schedule, shape, {
        count: n,
        seed: derivedSeed(options.seed, `conditioned@${start}`),
        steps: options.steps,
        sampler: 'ddim',
        eta: options.eta ?? 0,
        prediction: options.prediction ?? 'epsilon',
        condition: cond,
        known: given,
      });
      try {
        out.set((await images.data()) as Float32Array, start * size);
      } finally {
        images.dispose();
      }
    } finally {
      tf.dispose([cond, ...(given ? [given.image, given.mask] : [])]);
    }
  }
  return out;
}

/** From the [−1, 1] a diffusion model works in to [0, 1] pixels, clipped. */
export const toPixels = (x: ArrayLike<number>): Float32Array => Float32Array.from(x, (v) => Math.min(1, Math.max(0, v * 0.5 + 0.5)));

/** Held-out rows a sampling measure collected: the targets and conditions in [−1, 1], and Palette's mask. */
export interface ConditionalRows {
  target: Float32Array;
  condition: Float32Array;
  mask?: Float32Array;
  /** Values per image. */
  size: number;
  /** Values per condition, when not `size` (colourisation: the grey image of an RGB target). */
  conditionSize?: number;
}

/** The kinds of image-to-image measure: SR3's super-resolution, Palette's inpainting and colourisation. */
export type ConditionalKind = 'superResolution' | 'inpainting' | 'colourisation';

/** Mean squared difference of two equally long arrays (NaN when empty). */
export function meanSquaredDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let se = 0;
  for (let i = 0; i < b.length; i++) se += (a[i]! - b[i]!) ** 2;
  return b.length ? se / b.length : Number.NaN;
}

/**
 * Colourisation's baseline, fitted on training rows in [0, 1]: per pixel and channel, the least-squares
 * gain g = Σ grey·colour / Σ grey² over the images, so that grey·g is the best colour a fixed multiple of
 * the grey value gives there (what the average digit at that place is coloured; no shape is read).
 * A pixel never inked in training takes the gain of all pixels together. Returns [pixels · channels].
 */
export function colourGains(grey: ArrayLike<number>, colour: ArrayLike<number>, pixels: number, channels: number): Float32Array {
  const count = Math.floor(grey.length / pixels);
  const [num, den] = [new Float64Array(pixels * channels), new Float64Array(pixels)];
  for (let i = 0; i < count; i++)
    for (let p = 0; p < pixels; p++) {
      const g = grey[i * pixels + p]!;
      den[p]! += g * g;
      for (let c = 0; c < channels; c++) num[p * channels + c]! += g * colour[(i * pixels + p) * channels + c]!;
    }
  const total = den.reduce((a, b) => a + b, 0);
  const overall = Array.from({ length: channels }, (_, c) => (total ? num.filter((_, j) => j % channels === c).reduce((a, b) => a + b, 0) / total : 0));
  return Float32Array.from(num, (v, j) => (den[Math.floor(j / channels)]! > 0 ? v / den[Math.floor(j / channels)]! : overall[j % channels]!));
}

/** grey·gain per pixel and channel (colourGains), clipped to [0, 1]: rows of [pixels · channels]. */
export function colourByGains(grey: ArrayLike<number>, gains: Float32Array, pixels: number, channels: number): Float32Array {
  const count = Math.floor(grey.length / pixels);
  const out = new Float32Array(count * pixels * channels);
  for (let i = 0; i < count * pixels; i++)
    for (let c = 0; c < channels; c++) out[i * channels + c] = Math.min(1, Math.max(0, grey[i]! * gains[(i % pixels) * channels + c]!));
  return out;
}

/** The grey image repeated on every channel: rows of [pixels · channels]. */
export function greyToChannels(grey: ArrayLike<number>, channels: number): Float32Array {
  const out = new Float32Array(grey.length * channels);
  for (let i = 0; i < grey.length; i++) out.fill(grey[i]!, i * channels, (i + 1) * channels);
  return out;
}

/**
 * SR3's and Palette's measures on the first `examples` held-out images: samples an output for each
 * condition, then scores it against the target, beside the trivial answer. Super-resolution: mean
 * PSNR of the samples and of the upsampled input itself. Inpainting: the squared error on the masked
 * pixels of the samples and of the mean training image (from `train`'s targets) put in the square.
 * Colourisation: the squared error over the whole image (every pixel and channel is generated) of the
 * samples, of the grey image times the training set's least-squares colour at each pixel (colourGains,
 * fitted on `train`), and of the grey image copied to every channel (`greyCopy`). Without `train` the
 * baselines are fitted on the held-out rows themselves. Errors and PSNR on pixels in [0, 1].
 */
export async function conditionalScores(
  tf: Tf,
  model: { apply(inputs: T[], kwargs?: Record<string, unknown>): T | T[] | tfType.SymbolicTensor | tfType.SymbolicTensor[] },
  shape: number[],
  kind: ConditionalKind,
  rows: ConditionalRows,
  train: { target: Float32Array; condition?: Float32Array } | undefined,
  options: ConditionalSampling & { examples: number },
): Promise<{ score: number; baseline: number; greyCopy?: number; outputs: Float32Array }> {
  const n = Math.min(options.examples, Math.floor(rows.target.length / rows.size));
  const first = (a: Float32Array) => a.subarray(0, n * rows.size);
  const target = toPixels(first(rows.target));
  if (kind === 'colourisation') {
    const pixels = shape[0]! * shape[1]!;
    const channels = rows.size / pixels;
    const greySize = rows.conditionSize ?? rows.size;
    if (greySize !== pixels) throw new Error(`A colourisation score needs a one-channel condition: got ${greySize} values for ${pixels} pixels.`);
    const condition = rows.condition.subarray(0, n * greySize);
    const outputs = await sampleConditioned(tf, model, shape, condition, undefined, { ...options, conditionShape: [shape[0]!, shape[1]!, 1] });
    const fit = train?.condition ? { grey: train.condition, colour: train.target } : { grey: condition, colour: first(rows.target) };
    const gains = colourGains(toPixels(fit.grey), toPixels(fit.colour), pixels, channels);
    const grey = toPixels(condition);
    return {
      score: meanSquaredDifference(outputs, target),
      baseline: meanSquaredDifference(colourByGains(grey, gains, pixels, channels), target),
      greyCopy: meanSquaredDifference(greyToChannels(grey, channels), target),
      outputs,
    };
  }
  if (kind === 'superResolution') {
    const outputs = await sampleConditioned(tf, model, shape, first(rows.condition), undefined, options);
    return { score: meanPsnr(outputs, target, rows.size), baseline: meanPsnr(toPixels(first(rows.condition)), target, rows.size), outputs };
  }
  if (!rows.mask) throw new Error('An inpainting score needs the mask.');
  const mask = first(rows.mask);
  const outputs = await sampleConditioned(tf, model, shape, first(rows.condition), { image: first(rows.target), mask }, options);
  const mean = meanRow(toPixels(train?.target ?? first(rows.target)), rows.size);
  const fill = Float32Array.from(target, (v, i) => (mask[i]! > 0 ? mean[i % rows.size]! : v));
  return { score: maskedMse(outputs, target, mask), baseline: maskedMse(fill, target, mask), outputs };
}
