import type * as tfType from '@tensorflow/tfjs';
import { derivedSeed } from '../seeds';
import type { CollectedRows } from './updates';

type Tf = typeof tfType;
type T = tfType.Tensor;

/**
 * Normalizing flows over ordinary networks. A flow network is a chain of flow layers (affine
 * coupling, ActNorm, invertible 1×1 conv, squeeze, split, learned prior: src/runtime/layers), each
 * of which has `forwardFlow(x) → { y, logdet }` and `inverseFlow(y)`. So one set of weights, one
 * LayersModel (saved, loaded and exported like any other), runs forward for the density (z and
 * Σ log|det J|) and backward for sampling. The export copies these functions (npm run gen:program).
 *
 * Glow's multi-scale architecture factors half of the channels out after each level (the split
 * step): its forward pass hands back that half in standard form (ε) and adds its log-likelihood
 * to logdet, so that the flow NLL of the final z and the summed logdet is the whole NLL; its inverse
 * needs an ε back, the stored one (reconstruction) or a fresh draw from N(0, T²) (sampling).
 */
export interface FlowStep {
  forwardFlow(x: T): { y: T; logdet: T; factored?: T };
  inverseFlow(y: T, factored?: T): T;
  /** Steps that factor out part of their input (splits): the shape of that part for one example, from the kept part's. */
  factoredShape?(keptShape: number[]): number[];
  /**
   * A step whose inverse needs host values (the invertible 1×1 conv's W⁻¹, worked out in JS) reads
   * them here, asynchronously, for the `inverseFlow` calls that follow until `releaseInverse`:
   * webgpu has no synchronous read.
   */
  prepareInverse?(): Promise<void>;
  releaseInverse?(): void;
}

/** How the inverse gets the parts that splits factored out: given (one ε per split, in forward order), or drawn. */
export interface FlowInverseOptions {
  /** ε of each split in forward order, as flowForward returns them: the inverse then rebuilds x exactly. */
  factored?: T[];
  /** Standard deviation of the normal that missing ε are drawn from (Glow's temperature); 1 by default. */
  temperature?: number;
  /** Seed of those draws. */
  seed?: number;
}

/** The model's flow steps in order, or an error naming the first layer that is not one. */
export function flowSteps(model: tfType.LayersModel): FlowStep[] {
  return model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .map((l) => {
      const step = l as unknown as Partial<FlowStep>;
      if (typeof step.forwardFlow !== 'function' || typeof step.inverseFlow !== 'function')
        throw new Error(
          `Layer "${l.name}" (${l.getClassName()}) is not a flow step: a flow network holds only logit steps, couplings, ActNorm, invertible 1×1 convs, squeezes, splits and a learned prior.`,
        );
      return l as unknown as FlowStep;
    });
}

/**
 * x → z and log|det ∂z/∂x| per example ([batch]): the density direction, differentiable. With
 * splits, logdet also holds the factored-out halves' log-likelihoods and `factored` their ε (one
 * per split, in order), which flowInverse takes back.
 */
export function flowForward(tf: Tf, model: tfType.LayersModel, x: T): { z: T; logdet: T; factored: T[] } {
  let z = x;
  let logdet: T = tf.zeros([x.shape[0]!]);
  const factored: T[] = [];
  for (const step of flowSteps(model)) {
    const out = step.forwardFlow(z);
    z = out.y;
    logdet = tf.add(logdet, out.logdet);
    if (out.factored) factored.push(out.factored);
  }
  return { z, logdet, factored };
}

/**
 * z → x: the same steps backwards, each inverted (sampling). Each split takes its ε from
 * `options.factored` when given (the same x back), else draws it from N(0, temperature²).
 */
export function flowInverse(tf: Tf, model: tfType.LayersModel, z: T, options: FlowInverseOptions = {}): T {
  return tf.tidy(() => {
    const steps = flowSteps(model);
    const splits = steps.filter((s) => typeof s.factoredShape === 'function').length;
    if (options.factored && options.factored.length !== splits)
      throw new Error(`This flow factors out ${splits} part(s), but ${options.factored.length} were given to invert it.`);
    let k = splits;
    return steps.reduceRight((y, step) => {
      if (typeof step.factoredShape !== 'function') return step.inverseFlow(y);
      k--;
      const eps =
        options.factored?.[k] ??
        tf.randomNormal(
          [y.shape[0]!, ...step.factoredShape(y.shape.slice(1))],
          0,
          options.temperature ?? 1,
          'float32',
          derivedSeed(options.seed ?? 0, `flow-split-${k}`),
        );
      return step.inverseFlow(y, eps);
    }, z);
  });
}

/** −log p(x) per example in nats, for a standard normal prior: ½‖z‖² + (D/2)·ln 2π − log|det J|. */
export function flowNllPerExample(tf: Tf, z: T, logdet: T): T {
  const flat = tf.reshape(z, [z.shape[0]!, -1]);
  const d = flat.shape[1]!;
  return tf.sub(tf.add(tf.mul(tf.sum(tf.square(flat), 1), 0.5), 0.5 * d * Math.log(2 * Math.PI)), tf.reshape(logdet, [-1]));
}

/** The training loss: the mean negative log-likelihood in nats per example. */
export function flowNll(tf: Tf, z: T, logdet: T): T {
  return tf.mean(flowNllPerExample(tf, z, logdet));
}

/**
 * Uniform dequantisation (RealNVP, Glow): pixels in [0, 1] that came from `levels` grey levels become
 * (k + u) / levels with u ~ U[0, 1) drawn fresh per step and node, so the flow models a density
 * instead of spikes on a grid. Seeded like the augmentations.
 */
export function dequantize(tf: Tf, x: T, levels: number, ctx: { seed: number; step: number; nodeId: string }): T {
  const k = tf.round(tf.mul(x, levels - 1));
  return tf.div(tf.add(k, tf.randomUniform(x.shape, 0, 1, 'float32', derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`))), levels);
}

/**
 * Mean held-out NLL from collected z and logdet rows (nats per example), and bits per dimension
 * for data that came from `levels` grey levels scaled to [0, 1]: the discrete likelihood of a bin of
 * width 1/levels is p(x)/levels^D, so bits/dim = (NLL + D·ln levels) / (D·ln 2). D is the data's
 * dimension count, `dimensions` when given: a flow with splits ends in fewer values than it read
 * (the factored ones are in logdet), so z's count would be too small.
 */
export function flowLikelihood(z: CollectedRows, logdet: CollectedRows, levels: number, dimensions?: number): { nll: number; bitsPerDim: number } {
  const d = z.dim;
  let total = 0;
  for (let i = 0; i < z.count; i++) {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += z.data[i * d + j]! ** 2;
    total += 0.5 * sq + 0.5 * d * Math.log(2 * Math.PI) - logdet.data[i]!;
  }
  const nll = total / Math.max(1, z.count);
  const D = dimensions ?? d;
  return { nll, bitsPerDim: (nll + D * Math.log(levels)) / (D * Math.LN2) };
}

/**
 * The baseline a flow must beat: a full-covariance Gaussian fitted (maximum likelihood) to the
 * training rows, and its mean NLL on the held-out rows, in nats per example.
 */
export function gaussianBaselineNll(train: CollectedRows, test: CollectedRows): number {
  const d = train.dim;
  const mean = new Float64Array(d);
  for (let i = 0; i < train.count; i++) for (let j = 0; j < d; j++) mean[j]! += train.data[i * d + j]! / train.count;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < train.count; i++)
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) cov[a * d + b]! += ((train.data[i * d + a]! - mean[a]!) * (train.data[i * d + b]! - mean[b]!)) / train.count;
  for (let a = 0; a < d; a++) cov[a * d + a]! += 1e-6;
  // Cholesky: cov = L·Lᵀ, so log det = 2 Σ log L_ii and the Mahalanobis term is ‖L⁻¹(x − μ)‖².
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      let s = cov[i * d + j]!;
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!;
      l[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * d + j]!;
    }
  let logDet = 0;
  for (let i = 0; i < d; i++) logDet += 2 * Math.log(l[i * d + i]!);
  let total = 0;
  const v = new Float64Array(d);
  for (let n = 0; n < test.count; n++) {
    let q = 0;
    for (let i = 0; i < d; i++) {
      let s = test.data[n * d + i]! - mean[i]!;
      for (let k = 0; k < i; k++) s -= l[i * d + k]! * v[k]!;
      v[i] = s / l[i * d + i]!;
      q += v[i]! ** 2;
    }
    total += 0.5 * (q + logDet + d * Math.log(2 * Math.PI));
  }
  return total / Math.max(1, test.count);
}

/**
 * `count` samples of a flow: z from a seeded normal of one example's `shape` with standard
 * deviation `temperature` (Glow's T; 1 samples the model itself), every split's factored part
 * likewise, then the inverse. Asynchronous: steps that invert with host values read them first
 * (FlowStep.prepareInverse).
 */
export async function sampleFlow(tf: Tf, model: tfType.LayersModel, count: number, shape: number[], seed: number, temperature = 1): Promise<T> {
  const steps = flowSteps(model);
  try {
    for (const step of steps) await step.prepareInverse?.();
    return tf.tidy(() =>
      flowInverse(tf, model, tf.randomNormal([count, ...shape], 0, temperature, 'float32', derivedSeed(seed, 'flow-sample')), { temperature, seed }),
    );
  } finally {
    for (const step of steps) step.releaseInverse?.();
  }
}

/** A flow network applied in a procedure: its two outputs, z and logdet, in the Network node's port order. */
export function flowOutputs(tf: Tf, model: tfType.LayersModel, x: T): T[] {
  const { z, logdet } = flowForward(tf, model, x);
  return [z, logdet];
}
