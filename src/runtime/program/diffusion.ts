import type * as tfType from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset';
import { derivedSeed } from '../seeds';

/**
 * Diffusion in training programs: the noise schedules (DDPM's linear, improved DDPM's cosine), the
 * forward process q(x_t | x_0) with a timestep per example, and the ops of a diffusion procedure.
 * Plain functions of their inputs and config, like ops.ts: the interpreter calls them through
 * runDiffusionOp, and the exported trainer gets this file's text (scripts/gen-program-sources.ts).
 */

/** Every per-timestep quantity of one schedule, index t = 0 … T−1 (the papers' t = 1 … T), in float64. */
export interface DiffusionSchedule {
  kind: 'linear' | 'cosine';
  timesteps: number;
  betas: Float64Array;
  alphasCumprod: Float64Array;
  /** ᾱ_{t−1}, with ᾱ_{−1} = 1. */
  alphasCumprodPrev: Float64Array;
  sqrtAlphasCumprod: Float64Array;
  sqrtOneMinusAlphasCumprod: Float64Array;
  /** β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t): the variance of q(x_{t−1} | x_t, x_0). */
  posteriorVariance: Float64Array;
  /** log β̃_t with β̃_0 (which is 0) replaced by β̃_1, as improved-diffusion clips it. */
  posteriorLogVarianceClipped: Float64Array;
  /** The posterior mean is coef1·x_0 + coef2·x_t. */
  posteriorMeanCoef1: Float64Array;
  posteriorMeanCoef2: Float64Array;
}

/**
 * β_1 … β_T. Linear: DDPM's 1e-4 … 0.02 over T = 1000, both ends scaled by 1000/T for other T (improved
 * DDPM's rule; without it a short schedule never reaches noise). Cosine: improved DDPM's
 * ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2), s = 0.008, β_t = min(1 − ᾱ(t)/ᾱ(t−1), 0.999).
 */
export function diffusionBetas(kind: 'linear' | 'cosine', timesteps: number): Float64Array {
  const betas = new Float64Array(timesteps);
  if (kind === 'linear') {
    const scale = 1000 / timesteps;
    const [start, end] = [scale * 1e-4, scale * 0.02];
    for (let i = 0; i < timesteps; i++) betas[i] = timesteps === 1 ? start : start + ((end - start) * i) / (timesteps - 1);
    return betas;
  }
  const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  for (let i = 0; i < timesteps; i++) betas[i] = Math.min(1 - f((i + 1) / timesteps) / f(i / timesteps), 0.999);
  return betas;
}

/** The whole schedule from its betas (improved-diffusion's GaussianDiffusion.__init__, in float64). */
export function diffusionSchedule(kind: 'linear' | 'cosine', timesteps: number): DiffusionSchedule {
  if (!Number.isInteger(timesteps) || timesteps < 1) throw new Error(`A diffusion schedule needs a whole number of timesteps of at least 1, got ${timesteps}.`);
  return diffusionScheduleFromBetas(kind, diffusionBetas(kind, timesteps));
}

/** Every quantity from a list of betas (also used for a respaced schedule that samples in fewer steps). */
export function diffusionScheduleFromBetas(kind: 'linear' | 'cosine', betas: Float64Array): DiffusionSchedule {
  const n = betas.length;
  const make = () => new Float64Array(n);
  const [alphasCumprod, alphasCumprodPrev, sqrtAc, sqrtOneMinusAc, variance, logVariance, coef1, coef2] = [
    make(),
    make(),
    make(),
    make(),
    make(),
    make(),
    make(),
    make(),
  ];
  let product = 1;
  for (let i = 0; i < n; i++) {
    alphasCumprodPrev[i] = product;
    product *= 1 - betas[i]!;
    alphasCumprod[i] = product;
  }
  for (let i = 0; i < n; i++) {
    const [ac, prev, beta] = [alphasCumprod[i]!, alphasCumprodPrev[i]!, betas[i]!];
    sqrtAc[i] = Math.sqrt(ac);
    sqrtOneMinusAc[i] = Math.sqrt(1 - ac);
    variance[i] = (beta * (1 - prev)) / (1 - ac);
    coef1[i] = (beta * Math.sqrt(prev)) / (1 - ac);
    coef2[i] = ((1 - prev) * Math.sqrt(1 - beta)) / (1 - ac);
  }
  for (let i = 0; i < n; i++) logVariance[i] = Math.log(i === 0 && n > 1 ? variance[1]! : variance[i]!);
  return {
    kind,
    timesteps: n,
    betas,
    alphasCumprod,
    alphasCumprodPrev,
    sqrtAlphasCumprod: sqrtAc,
    sqrtOneMinusAlphasCumprod: sqrtOneMinusAc,
    posteriorVariance: variance,
    posteriorLogVarianceClipped: logVariance,
    posteriorMeanCoef1: coef1,
    posteriorMeanCoef2: coef2,
  };
}

/** A timestep per example, uniform over 0 … T−1, as a float column [batch, 1] (the network's timestep input). */
export function diffusionTimestep(tf: typeof tfType, x: tfType.Tensor, timesteps: number, ctx: { seed: number; step: number; nodeId: string }): tfType.Tensor {
  const random = seededRandom(derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`));
  const t = Float32Array.from({ length: x.shape[0]! }, () => Math.min(timesteps - 1, Math.floor(random() * timesteps)));
  return tf.tensor2d(t, [t.length, 1]);
}

/** Standard normal noise of the input's shape (ε), seeded by run, step and node. */
export function diffusionNoise(tf: typeof tfType, x: tfType.Tensor, ctx: { seed: number; step: number; nodeId: string }): tfType.Tensor {
  return tf.randomNormal(x.shape, 0, 1, 'float32', derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`));
}

/** q(x_t | x_0) sampled with the given noise: √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, t per example ([batch, 1]). */
export function diffusionForward(
  tf: typeof tfType,
  x0: tfType.Tensor,
  noise: tfType.Tensor,
  t: tfType.Tensor,
  kind: 'linear' | 'cosine',
  timesteps: number,
): tfType.Tensor {
  const schedule = diffusionSchedule(kind, timesteps);
  const index = tf.cast(tf.reshape(t, [-1]), 'int32');
  const perExample = [x0.shape[0]!, ...x0.shape.slice(1).map(() => 1)];
  const a = tf.reshape(tf.gather(tf.tensor1d(Float32Array.from(schedule.sqrtAlphasCumprod)), index), perExample);
  const b = tf.reshape(tf.gather(tf.tensor1d(Float32Array.from(schedule.sqrtOneMinusAlphasCumprod)), index), perExample);
  return tf.add(tf.mul(a, x0), tf.mul(b, noise));
}

/** x·scale + shift: images from [0, 1] to the [−1, 1] a diffusion model works in (scale 2, shift −1). */
export function scaleShift(tf: typeof tfType, x: tfType.Tensor, scale: number, shift: number): tfType.Tensor {
  return tf.add(tf.mul(x, scale), shift);
}

/** The Prediction target node: x₀ or ε, a copy of the chosen one (each op's output is its own tensor). */
export function diffusionTarget(tf: typeof tfType, x0: tfType.Tensor, noise: tfType.Tensor, predict: DiffusionPrediction): tfType.Tensor {
  return tf.clone(predict === 'x0' ? x0 : noise);
}

/** Runs one diffusion op of a procedure; undefined when `op` is not one (ops.ts's runOp asks here last). */
export function runDiffusionOp(
  tf: typeof tfType,
  op: string,
  config: Record<string, unknown>,
  inputs: tfType.Tensor[],
  ctx: { seed: number; step: number; nodeId: string },
): tfType.Tensor | undefined {
  const [a, b, c] = inputs;
  switch (op) {
    case 'DiffusionTimestep':
      return diffusionTimestep(tf, a!, config.timesteps as number, ctx);
    case 'DiffusionNoise':
      return diffusionNoise(tf, a!, ctx);
    case 'Diffuse':
      return diffusionForward(tf, a!, b!, c!, config.schedule as 'linear' | 'cosine', config.timesteps as number);
    case 'DiffusionTarget':
      return diffusionTarget(tf, a!, b!, config.predict as DiffusionPrediction);
    case 'ScaleShift':
      return scaleShift(tf, a!, config.scale as number, config.shift as number);
    case 'DiffusionHybridLoss':
      return diffusionHybridLoss(tf, a!, b!, c!, inputs[3]!, inputs[4]!, config.schedule as 'linear' | 'cosine', config.timesteps as number);
    default:
      return undefined;
  }
}

/** The mean of (a − b)² over two collected splits of one shape (the held-out ε-prediction loss). */
export function meanSquaredBetween(a: { data: Float32Array }, b: { data: Float32Array }): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i]! - b.data[i]!) ** 2;
  return a.data.length ? sum / a.data.length : Number.NaN;
}

/** The timesteps a sampler visits, increasing: `steps` of 0 … T−1 spread evenly (all of them when steps ≥ T). */
export function samplingTimesteps(timesteps: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`A sampler needs a whole number of steps of at least 1, got ${steps}.`);
  if (steps >= timesteps) return Array.from({ length: timesteps }, (_, i) => i);
  if (steps === 1) return [timesteps - 1];
  const out = new Set<number>();
  for (let j = 0; j < steps; j++) out.add(Math.round((j * (timesteps - 1)) / (steps - 1)));
  return [...out].sort((a, b) => a - b);
}

/** What a denoiser's output predicts: the noise ε added to x₀, or x₀ itself. */
export type DiffusionPrediction = 'epsilon' | 'x0';

export interface DiffusionSampleOptions {
  count: number;
  seed: number;
  /** How many of the T timesteps to visit (improved DDPM's respacing; DDIM's S). */
  steps: number;
  /** ancestral: DDPM's p(x_{t−1} | x_t) with the posterior variance; ddim: Song et al.'s update with η. */
  sampler: 'ancestral' | 'ddim';
  /** DDIM's η: 0 is deterministic, 1 has the ancestral sampler's variance. */
  eta?: number;
  /**
   * What the network's (first C) output channels predict: the noise ε (DDPM's parameterisation, the
   * default) or x₀ itself, which the sampler then takes as x̂₀ directly (denoiser.ts reads which from
   * the target the training loss compares the output with).
   */
  prediction?: DiffusionPrediction;
  /** Called after each step with the steps done; await it to keep a page responsive. */
  onStep?: (done: number, total: number) => void | Promise<void>;
  /**
   * Classifier guidance (Dhariwal & Nichol 2021): a noise-aware classifier's logits for (x_t, t), the
   * class to steer to and the scale s. Ancestral steps move the mean by s·Σ·∇ log p(y | x_t); DDIM
   * steps use ε̂ − √(1 − ᾱ)·s·∇ log p(y | x_t) (ADM's condition_mean and condition_score).
   */
  guidance?: { classifier: (x: tfType.Tensor, t: tfType.Tensor) => tfType.Tensor; label: number; scale: number };
  /** A conditional model's third input (SR3's upsampled image, Palette's masked one), [count, …]; the caller keeps it. */
  condition?: tfType.Tensor;
  /**
   * Palette's inpainting: outside `mask` (1 = generate) the pixels of `image` ([−1, 1]) are put back
   * into x before every step and at the end, as the network saw x_t in training. The caller keeps both.
   */
  known?: { image: tfType.Tensor; mask: tfType.Tensor };
}

/**
 * Draws `count` images with a network that predicts ε from (x_t, t) (inputs in that order, t as
 * [batch, 1]; with twice the image's channels out, ε̂ then improved DDPM's variance v), from seeded Gaussian noise, walking the visited timesteps τ_K > … > τ_1 backwards.
 * Each step predicts x̂₀ = (x_t − √(1 − ᾱ)·ε̂)/√ᾱ (or takes the output as x̂₀ with `prediction: 'x0'`,
 * and ε̂ = (x_t − √ᾱ·x̂₀)/√(1 − ᾱ)), clipped to [−1, 1], then:
 * - ancestral: x_prev = posterior mean of q(x_prev | x_t, x̂₀) + √β̃·z, with β' = 1 − ᾱ/ᾱ_prev for the
 *   respaced step (z = 0 at the last step);
 * - DDIM: x_prev = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev − σ²)·ε̂ + σ·z, σ = η·√((1 − ᾱ_prev)/(1 − ᾱ))·√(1 − ᾱ/ᾱ_prev).
 * One tidy per step (the previous x is freed as the next is made), so no tensor outlives the call
 * but the result: images [count, …shape] mapped from [−1, 1] to [0, 1]. When a step throws, the
 * running x is freed before the error goes on: nothing outlives a failed call.
 */
export async function sampleDiffusion(
  tf: typeof tfType,
  model: {
    apply(inputs: tfType.Tensor[], kwargs?: Record<string, unknown>): tfType.Tensor | tfType.Tensor[] | tfType.SymbolicTensor | tfType.SymbolicTensor[];
  },
  schedule: DiffusionSchedule,
  shape: number[],
  options: DiffusionSampleOptions,
): Promise<tfType.Tensor> {
  const visit = samplingTimesteps(schedule.timesteps, options.steps);
  const eta = options.eta ?? 0;
  const full = [options.count, ...shape];
  const known = options.known;
  const keepKnown = (y: tfType.Tensor) => (known ? tf.add(tf.mul(known.mask, y), tf.mul(tf.sub(1, known.mask), known.image)) : y);
  const noiseT = tf.randomNormal(full, 0, 1, 'float32', derivedSeed(options.seed, 'sample:x_T'));
  let x: tfType.Tensor;
  try {
    x = known ? tf.tidy(() => keepKnown(noiseT)) : noiseT;
  } finally {
    if (known) noiseT.dispose();
  }
  // x is the one tensor that lives between steps. A step that throws (a network that fails on these
  // inputs, an onStep that throws) leaves x as the last one made and the finally frees it; the
  // step's tidy frees its own intermediates as the error passes. So a failed draw leaks nothing.
  try {
    for (let i = visit.length - 1; i >= 0; i--) {
      const t = visit[i]!;
      const alphaBar = schedule.alphasCumprod[t]!;
      const alphaBarPrev = i > 0 ? schedule.alphasCumprod[visit[i - 1]!]! : 1;
      const last = i === 0;
      const previous = x;
      x = tf.tidy(() => {
        const inputs = [previous, tf.fill([options.count, 1], t), ...(options.condition ? [options.condition] : [])];
        const out = model.apply(inputs, { training: false }) as tfType.Tensor;
        // A network with learned variances (improved DDPM) outputs ε̂ then v: twice the image's channels.
        const channels = shape[shape.length - 1]!;
        const learned = out.shape[out.rank - 1] === 2 * channels;
        const [raw, v] = learned ? tf.split(out, 2, -1) : [out, undefined];
        const guide = options.guidance;
        const gradient = guide
          ? tf.grad((input: tfType.Tensor) => {
              const logits = guide.classifier(input, tf.fill([options.count, 1], t));
              return tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.fill([options.count], guide.label, 'int32'), logits.shape[1]!)));
            })(previous)
          : undefined;
        // An x₀-predicting network's ε̂, for guidance (ADM's condition_score works on ε̂).
        const predictsX0 = options.prediction === 'x0';
        const epsRaw = predictsX0 ? tf.div(tf.sub(previous, tf.mul(raw!, Math.sqrt(alphaBar))), Math.sqrt(1 - alphaBar)) : raw!;
        const guided = gradient && options.sampler === 'ddim';
        const eps = guided ? tf.sub(epsRaw, tf.mul(gradient, Math.sqrt(1 - alphaBar) * guide!.scale)) : epsRaw;
        // Unguided, an x₀ prediction is used as it is: through ε̂ and back it would lose digits where √ᾱ is tiny.
        const x0 = tf.clipByValue(predictsX0 && !guided ? raw! : tf.div(tf.sub(previous, tf.mul(eps, Math.sqrt(1 - alphaBar))), Math.sqrt(alphaBar)), -1, 1);
        const noise = () => tf.randomNormal(full, 0, 1, 'float32', derivedSeed(options.seed, `sample:z@${t}`));
        if (options.sampler === 'ancestral') {
          const beta = 1 - alphaBar / alphaBarPrev;
          const mean = tf.add(
            tf.mul(x0, (beta * Math.sqrt(alphaBarPrev)) / (1 - alphaBar)),
            tf.mul(previous, ((1 - alphaBarPrev) * Math.sqrt(1 - beta)) / (1 - alphaBar)),
          );
          const small = (beta * (1 - alphaBarPrev)) / (1 - alphaBar);
          // log Σ = frac·log β + (1 − frac)·log β̃, frac = (v + 1)/2 (β̃ clipped away from 0 as in training).
          const logSmall = Math.log(Math.max(small, schedule.posteriorVariance[Math.min(1, schedule.timesteps - 1)]!));
          const variance: tfType.Tensor | number = v
            ? tf.exp(tf.add(tf.mul(tf.div(tf.add(v, 1), 2), Math.log(beta)), tf.mul(tf.sub(1, tf.div(tf.add(v, 1), 2)), logSmall)))
            : small;
          const guided = gradient ? tf.add(mean, tf.mul(tf.mul(gradient, variance), guide!.scale)) : mean;
          return keepKnown(last ? guided : tf.add(guided, tf.mul(noise(), tf.sqrt(variance))));
        }
        // ε consistent with the clipped x̂₀ (improved-diffusion's _predict_eps_from_xstart).
        const epsClipped = tf.div(tf.sub(previous, tf.mul(x0, Math.sqrt(alphaBar))), Math.sqrt(1 - alphaBar));
        const sigma = eta * Math.sqrt((1 - alphaBarPrev) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarPrev);
        const direction = tf.add(tf.mul(x0, Math.sqrt(alphaBarPrev)), tf.mul(epsClipped, Math.sqrt(Math.max(0, 1 - alphaBarPrev - sigma * sigma))));
        return keepKnown(last || sigma === 0 ? direction : tf.add(direction, tf.mul(noise(), sigma)));
      });
      previous.dispose();
      await options.onStep?.(visit.length - i, visit.length);
    }
    return tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.5), 0.5), 0, 1));
  } finally {
    x.dispose();
  }
}

/** Φ(x) by improved-diffusion's tanh approximation (approx_standard_normal_cdf). */
export function approxStandardNormalCdf(tf: typeof tfType, x: tfType.Tensor): tfType.Tensor {
  return tf.mul(0.5, tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
}

/**
 * Improved DDPM's hybrid loss (Nichol & Dhariwal 2021, improved-diffusion training_losses with
 * learn_sigma and rescaled MSE): the network outputs 2C channels, ε̂ then v. L = mean‖ε − ε̂‖² +
 * (T/1000)·L_t, where L_t (in bits per dimension) is KL(q(x_{t−1} | x_t, x₀) ‖ p(x_{t−1} | x_t)) for
 * t > 0 and the discretised decoder NLL of x₀ at t = 0; p has the mean from ε̂ with its gradient
 * stopped (the VB term only trains the variance) and log Σ = frac·log β_t + (1 − frac)·log β̃_t,
 * frac = (v + 1)/2. Averaged over the batch. Masks come from x₀ and t, which are data: no
 * comparison lands on the gradient tape.
 */
export function diffusionHybridLoss(
  tf: typeof tfType,
  output: tfType.Tensor,
  noise: tfType.Tensor,
  x0: tfType.Tensor,
  xt: tfType.Tensor,
  t: tfType.Tensor,
  kind: 'linear' | 'cosine',
  timesteps: number,
): tfType.Tensor {
  const s = diffusionSchedule(kind, timesteps);
  const channels = x0.shape[x0.rank - 1]!;
  const [epsRaw, v] = tf.split(output, [channels, channels], -1);
  const n = x0.shape[0]!;
  const index = tf.cast(tf.reshape(t, [-1]), 'int32');
  const perExample = [n, ...x0.shape.slice(1).map(() => 1)];
  const at = (values: Float64Array) => tf.reshape(tf.gather(tf.tensor1d(Float32Array.from(values)), index), perExample);
  const mse = tf.mean(tf.squaredDifference(noise, epsRaw));
  // The mean's path is cut: the VB term trains only v (model_output.detach()).
  const eps = tf.customGrad(((e: tfType.Tensor) => ({ value: e.clone(), gradFunc: (dy: tfType.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<
    typeof tf.customGrad
  >[0])(epsRaw);
  const [ab, c1, c2] = [at(s.alphasCumprod), at(s.posteriorMeanCoef1), at(s.posteriorMeanCoef2)];
  const predX0 = tf.sub(tf.mul(tf.rsqrt(ab), xt), tf.mul(tf.sqrt(tf.sub(tf.reciprocal(ab), 1)), eps));
  const modelMean = tf.add(tf.mul(c1, predX0), tf.mul(c2, xt));
  const minLog = at(s.posteriorLogVarianceClipped);
  const maxLog = at(Float64Array.from(s.betas, Math.log));
  const frac = tf.div(tf.add(v, 1), 2);
  const modelLogVar = tf.add(tf.mul(frac, maxLog), tf.mul(tf.sub(1, frac), minLog));
  const trueMean = tf.add(tf.mul(c1, x0), tf.mul(c2, xt));
  const kl = tf.mul(
    0.5,
    tf.add(
      tf.sub(tf.sub(modelLogVar, minLog), 1),
      tf.add(tf.exp(tf.sub(minLog, modelLogVar)), tf.mul(tf.square(tf.sub(trueMean, modelMean)), tf.exp(tf.neg(modelLogVar)))),
    ),
  );
  // Discretised Gaussian log-likelihood of x₀ in 256 bins of [−1, 1] (the decoder at t = 0).
  const centered = tf.sub(x0, modelMean);
  const invStd = tf.exp(tf.mul(-0.5, modelLogVar));
  const cdfPlus = approxStandardNormalCdf(tf, tf.mul(invStd, tf.add(centered, 1 / 255)));
  const cdfMin = approxStandardNormalCdf(tf, tf.mul(invStd, tf.sub(centered, 1 / 255)));
  const low = tf.cast(tf.less(x0, -0.999), 'float32');
  const high = tf.mul(tf.cast(tf.greater(x0, 0.999), 'float32'), tf.sub(1, low));
  const middle = tf.sub(1, tf.add(low, high));
  const logProbs = tf.addN([
    tf.mul(low, tf.log(tf.maximum(cdfPlus, 1e-12))),
    tf.mul(high, tf.log(tf.maximum(tf.sub(1, cdfMin), 1e-12))),
    tf.mul(middle, tf.log(tf.maximum(tf.sub(cdfPlus, cdfMin), 1e-12))),
  ]);
  const perEx = (x: tfType.Tensor) => tf.div(tf.mean(tf.reshape(x, [n, -1]), 1), Math.LN2);
  const first = tf.cast(tf.equal(index, 0), 'float32');
  const vb = tf.add(tf.mul(first, perEx(tf.neg(logProbs))), tf.mul(tf.sub(1, first), perEx(kl)));
  return tf.add(mse, tf.mul(tf.mean(vb), timesteps / 1000));
}
