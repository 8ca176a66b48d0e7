import type * as tfType from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset';
import { derivedSeed } from '../seeds';
import { runDiffusionOp } from './diffusion';
import { marginLoss, maskCapsules, reconstructionLoss } from './capsules';
import { captionTokens, promptTokens, zeroShotLogits, type CaptionSettings } from './clip';
import { dequantize, flowNll } from './flows';
import { corruptImage, glomConsensusLoss } from './glom';
import { runImageToImageOp } from './image-to-image';

type Tf = typeof tfType;
type T = tfType.Tensor;

/**
 * The tensor operations of a procedure (augmentations, stop-gradient, losses), as pure functions of
 * their inputs and config. Random ones draw from a seed made from the run's seed, the step and the
 * node, so two views of a batch differ, every step differs, and a rerun (or the exported trainer)
 * repeats them exactly. Written with batched ops only, so each has gradients on every backend.
 */
export interface OpContext {
  seed: number;
  step: number;
  nodeId: string;
}

/** A JS generator for one op at one step: per-example offsets, flips and boxes. */
const rngFor = (ctx: OpContext) => seededRandom(derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`));

const l2normalize = (tf: Tf, x: T) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12));

/**
 * Moves each example's pixels by a per-example offset with one gather over precomputed indices:
 * exact, the same on every backend (cropAndResize's coordinate conventions differ between the CPU
 * and WASM kernels), and one kernel call for the whole batch. `source(i, r, c)` gives the pixel of
 * example i that lands at (r, c), or null for zero fill.
 */
function remap(tf: Tf, x: T, source: (i: number, r: number, c: number) => [number, number] | null): T {
  const [n, h, w, ch] = x.shape as [number, number, number, number];
  // Row n·h·w of the flattened input is a zero row, for pixels that come from outside the image.
  const zero = n * h * w;
  const index = new Int32Array(n * h * w);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const from = source(i, r, c);
        index[(i * h + r) * w + c] = from && from[0] >= 0 && from[0] < h && from[1] >= 0 && from[1] < w ? (i * h + from[0]) * w + from[1] : zero;
      }
    }
  }
  const rows = tf.concat([tf.reshape(x, [n * h * w, ch]), tf.zeros([1, ch])]);
  return tf.reshape(tf.gather(rows, tf.tensor1d(index, 'int32')), [n, h, w, ch]);
}

function randomTranslate(tf: Tf, x: T, pixels: number, ctx: OpContext): T {
  if (pixels === 0) return x.clone();
  const random = rngFor(ctx);
  const offsets = Array.from(
    { length: x.shape[0]! },
    () => [Math.floor(random() * (2 * pixels + 1)) - pixels, Math.floor(random() * (2 * pixels + 1)) - pixels] as const,
  );
  return remap(tf, x, (i, r, c) => [r - offsets[i]![0], c - offsets[i]![1]]);
}

/**
 * Where output pixel (r, c) of an h×w image takes its value from when the image is rotated by
 * `angle` radians and scaled by `scale` about its centre, then moved by (dy, dx) pixels: the inverse
 * map, so that every output pixel has exactly one source (nearest pixel; null outside).
 */
export function affineSource(h: number, w: number, angle: number, scale: number, dy: number, dx: number): (r: number, c: number) => [number, number] | null {
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  return (r, c) => {
    const y = r - cy - dy;
    const x = c - cx - dx;
    // The inverse rotation (by −angle) of the offset from the centre, then the inverse scale.
    // (+ 0 turns a rounded −0 into 0.)
    const sr = Math.round(cy + cos * y - sin * x) + 0;
    const sc = Math.round(cx + sin * y + cos * x) + 0;
    return sr >= 0 && sr < h && sc >= 0 && sc < w ? [sr, sc] : null;
  };
}

/**
 * Rotates, scales and moves each image by its own random draw (angle within ±degrees, scale within
 * [minScale, maxScale], a whole-pixel shift within ±pixels), nearest pixel, zero fill: the affine
 * augmentation digit models are usually trained with.
 */
function randomAffine(tf: Tf, x: T, degrees: number, minScale: number, maxScale: number, pixels: number, ctx: OpContext): T {
  const [n, h, w] = x.shape as [number, number, number, number];
  const random = rngFor(ctx);
  const maps = Array.from({ length: n }, () => {
    const angle = ((random() * 2 - 1) * degrees * Math.PI) / 180;
    const scale = minScale + random() * (maxScale - minScale);
    const dy = Math.floor(random() * (2 * pixels + 1)) - pixels;
    const dx = Math.floor(random() * (2 * pixels + 1)) - pixels;
    return affineSource(h, w, angle, scale, dy, dx);
  });
  return remap(tf, x, (i, r, c) => maps[i]!(r, c));
}

function randomFlip(tf: Tf, x: T, probability: number, ctx: OpContext): T {
  const random = rngFor(ctx);
  const w = x.shape[2]!;
  const flip = Array.from({ length: x.shape[0]! }, () => random() < probability);
  return remap(tf, x, (i, r, c) => [r, flip[i] ? w - 1 - c : c]);
}

function randomErase(tf: Tf, x: T, probability: number, size: number, ctx: OpContext): T {
  const [n, h, w] = x.shape as [number, number, number, number];
  const random = rngFor(ctx);
  const keep = new Float32Array(n * h * w).fill(1);
  const side = Math.max(1, Math.round(size * Math.min(h, w)));
  for (let i = 0; i < n; i++) {
    if (random() >= probability) continue;
    const top = Math.floor(random() * (h - side + 1));
    const left = Math.floor(random() * (w - side + 1));
    for (let r = top; r < top + side; r++) keep.fill(0, i * h * w + r * w + left, i * h * w + r * w + left + side);
  }
  return tf.mul(x, tf.tensor4d(keep, [n, h, w, 1]));
}

/** The identity forward, a zero gradient backward: tfjs has no stop_gradient (tfjs#967). */
function stopGradient(tf: Tf, x: T): T {
  const op = tf.customGrad(((input: T) => ({ value: input.clone(), gradFunc: (dy: T) => tf.zerosLike(dy) })) as unknown as Parameters<Tf['customGrad']>[0]);
  return op(x);
}

function crossEntropy(tf: Tf, prediction: T, label: T, fromLogits: boolean): T {
  const logProbs = fromLogits ? tf.logSoftmax(prediction) : tf.log(tf.clipByValue(prediction, 1e-7, 1 - 1e-7));
  return tf.neg(tf.mean(tf.sum(tf.mul(label, logProbs), -1)));
}

function infoNce(tf: Tf, a: T, b: T, scale: T | number): T {
  const n = a.shape[0]!;
  const logits = tf.mul(tf.matMul(l2normalize(tf, a), l2normalize(tf, b), false, true), scale);
  const labels = tf.oneHot(tf.range(0, n, 1, 'int32'), n).toFloat();
  return tf.div(tf.add(crossEntropy(tf, logits, labels, true), crossEntropy(tf, tf.transpose(logits), labels, true)), 2);
}

function distillation(tf: Tf, student: T, teacher: T, label: T, temperature: number, alpha: number): T {
  const soft = tf.softmax(tf.div(teacher, temperature));
  const kl = tf.mean(tf.sum(tf.mul(soft, tf.sub(tf.log(tf.maximum(soft, 1e-12)), tf.logSoftmax(tf.div(student, temperature)))), -1));
  const hard = crossEntropy(tf, student, label, true);
  return tf.add(tf.mul(kl, alpha * temperature * temperature), tf.mul(hard, 1 - alpha));
}

function gaussianNoise(tf: Tf, x: T, stddev: number, ctx: OpContext): T {
  return tf.add(x, tf.randomNormal(x.shape, 0, stddev, 'float32', derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`)));
}

/** Each example as one row: [batch, …] → [batch, features]. */
const flattenExamples = (tf: Tf, x: T): T => tf.reshape(x, [x.shape[0]!, -1]);

const meanOf = (tf: Tf, inputs: T[]): T => tf.div(tf.addN(inputs), inputs.length);

const weightedSum = (tf: Tf, inputs: T[], weights: number[]): T => tf.addN(inputs.map((x, i) => tf.mul(x, weights[i]!)));

const meanSquaredError = (tf: Tf, a: T, b: T): T => tf.mean(tf.squaredDifference(a, b));

/** SimSiam's D(p, z): minus the mean cosine similarity of the rows. */
const negativeCosine = (tf: Tf, a: T, b: T): T => tf.neg(tf.mean(tf.sum(tf.mul(l2normalize(tf, a), l2normalize(tf, b)), -1)));

/** BYOL's loss: 2 − 2·cos(a, b), averaged over the rows. */
const normalizedMse = (tf: Tf, a: T, b: T): T => tf.mean(tf.sub(2, tf.mul(2, tf.sum(tf.mul(l2normalize(tf, a), l2normalize(tf, b)), -1))));

/**
 * Runs one op of a procedure. The exported trainer calls the functions above directly, with the
 * same arguments this switch passes (test/program-export.test.ts checks every op against it).
 */
export function runOp(tf: Tf, op: string, config: Record<string, unknown>, inputs: T[], ctx: OpContext): T {
  const [a, b, c] = inputs;
  switch (op) {
    case 'RandomTranslate':
      return randomTranslate(tf, a!, config.pixels as number, ctx);
    case 'RandomAffine':
      return randomAffine(tf, a!, config.degrees as number, config.minScale as number, config.maxScale as number, config.pixels as number, ctx);
    case 'RandomFlip':
      return randomFlip(tf, a!, config.probability as number, ctx);
    case 'GaussianNoise':
      return gaussianNoise(tf, a!, config.stddev as number, ctx);
    case 'RandomErase':
      return randomErase(tf, a!, config.probability as number, config.size as number, ctx);
    case 'StopGradient':
      return stopGradient(tf, a!);
    case 'FlattenExamples':
      return flattenExamples(tf, a!);
    case 'MeanOf':
      return meanOf(tf, inputs);
    case 'WeightedSum':
      return weightedSum(tf, inputs, config.weights as number[]);
    case 'CrossEntropy':
      return crossEntropy(tf, a!, b!, config.fromLogits as boolean);
    case 'MeanSquaredError':
      return meanSquaredError(tf, a!, b!);
    case 'NegativeCosine':
      return negativeCosine(tf, a!, b!);
    case 'NormalizedMSE':
      return normalizedMse(tf, a!, b!);
    case 'InfoNCE':
      return infoNce(tf, a!, b!, c ? (config.expScale ? tf.exp(c) : c) : (config.scale as number));
    case 'DistillationLoss':
      return distillation(tf, a!, b!, c!, config.temperature as number, config.alpha as number);
    case 'MaskCapsules':
      return maskCapsules(tf, a!, b);
    case 'MarginLoss':
      return marginLoss(tf, a!, b!, config.mPlus as number, config.mMinus as number, config.lambda as number);
    case 'ReconstructionLoss':
      return reconstructionLoss(tf, a!, b!, config.scale as number);
    case 'FlowNLL':
      return flowNll(tf, a!, b!);
    case 'Dequantize':
      return dequantize(tf, a!, config.levels as number, ctx);
    case 'Captions':
      return captionTokens(tf, a!, config as unknown as CaptionSettings, ctx);
    case 'Prompts':
      return promptTokens(tf, config as unknown as CaptionSettings);
    case 'CorruptImage':
      return corruptImage(tf, a!, config.stddev as number, config.dropPatches as number, config.patchSize as number, ctx);
    case 'GlomConsensusLoss':
      return glomConsensusLoss(tf, a!, config.temperature as number, config.weight as number);
    case 'ZeroShotClassifier':
      return zeroShotLogits(tf, a!, b!, config.classes as number, config.scale as number);
    default: {
      const diffusion = runDiffusionOp(tf, op, config, inputs, ctx);
      if (diffusion) return diffusion;
      const imageToImage = runImageToImageOp(tf, op, config, inputs, ctx);
      if (imageToImage) return imageToImage;
      throw new Error(`The runtime has no op "${op}".`);
    }
  }
}

/** BYOL's τ_k (deepmind-research byol/utils/schedules.py target_ema): from τ_base up to 1 on a cosine. */
export function emaDecayAt(base: number, schedule: 'constant' | 'cosine', step: number, total: number): number {
  if (schedule === 'constant' || total <= 0) return base;
  return 1 - ((1 - base) * (Math.cos((Math.PI * Math.min(step, total)) / total) + 1)) / 2;
}
