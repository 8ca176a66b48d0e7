/**
 * The update rules of a training step, written once for two readers: the interpreter
 * (runtime/program/run.ts) calls them, and scripts/gen-program-sources.ts copies their text into
 * every exported trainer, so the exported step is this code, not a second copy of it. Hence this
 * file imports only tfjs types and runtime files the generator also copies.
 */
import type * as tfType from '@tensorflow/tfjs';
import { directPredWeights } from '../linalg';
import type { Collected } from './metrics';

type Tf = typeof tfType;
type T = tfType.Tensor;

/** How one Minimize node updates its weights: the plan's MinimizeConfig, less what chooses the weights. */
export interface MinimizerSettings {
  optimizer: 'adam' | 'adamw' | 'sgd';
  learningRate: number;
  momentum: number;
  weightDecay: number;
  clipNorm: number;
}

/** A network's trainable variables in its weight order: what one gradient tape differentiates. */
export function trainableVariables(model: tfType.LayersModel): tfType.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tfType.Variable);
}

/**
 * Disposes an optimizer and its learning-rate tensor: tfjs's MomentumOptimizer.dispose forgets the
 * rate tensor its SGD base keeps (one tensor left per optimizer); disposing it twice is harmless.
 */
export function disposeOptimizer(optimizer: tfType.Optimizer): void {
  const rate = (optimizer as unknown as { c?: tfType.Tensor }).c;
  optimizer.dispose();
  rate?.dispose();
}

/**
 * Sets an optimizer's learning rate for the next step. SGD and momentum keep it in a tensor made by
 * `setLearningRate` (assigning the field alone changes nothing); Adam reads the field.
 */
export function setOptimizerLearningRate(optimizer: tfType.Optimizer, learningRate: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(learningRate);
  else o.learningRate = learningRate;
}

/**
 * One Minimize node's optimizer(s) over a fixed list of variables. One optimizer per learning-rate
 * multiplier: Adam is invariant to the scale of its gradients, so scaling gradients would not do.
 * SGD's weight decay is added to the gradients of kernels (rank ≥ 2); AdamW's is decoupled (applied
 * to the weights after the step); gradients are clipped by their global norm when clipNorm > 0.
 */
export class Minimizer {
  readonly variables: tfType.Variable[] = [];
  private groups: Array<{ multiplier: number; optimizer: tfType.Optimizer; names: Set<string> }> = [];
  private kernels = new Set<string>();

  constructor(
    private tf: Tf,
    private settings: MinimizerSettings,
    groups: Array<{ variables: tfType.Variable[]; multiplier: number }>,
  ) {
    const byMultiplier = new Map<number, Set<string>>();
    for (const group of groups) {
      for (const v of group.variables) {
        this.variables.push(v);
        if (!byMultiplier.has(group.multiplier)) byMultiplier.set(group.multiplier, new Set());
        byMultiplier.get(group.multiplier)!.add(v.name);
        if (v.shape.length >= 2) this.kernels.add(v.name);
      }
    }
    for (const [multiplier, names] of byMultiplier) {
      const optimizer = settings.optimizer === 'sgd' ? tf.train.momentum(settings.learningRate, settings.momentum) : tf.train.adam(settings.learningRate);
      this.groups.push({ multiplier, names, optimizer });
    }
  }

  /** Applies one step's gradients (by variable name) at `learningRate`. */
  apply(grads: tfType.NamedTensorMap, learningRate: number): void {
    const tf = this.tf;
    const cfg = this.settings;
    let named = this.variables.flatMap((v) => (grads[v.name] ? [{ v, g: grads[v.name]! }] : []));
    if (cfg.optimizer === 'sgd' && cfg.weightDecay > 0)
      named = named.map(({ v, g }) => ({ v, g: this.kernels.has(v.name) ? tf.add(g, tf.mul(v, cfg.weightDecay)) : g }));
    if (cfg.clipNorm > 0) {
      const norm = tf.sqrt(tf.addN(named.map(({ g }) => tf.sum(tf.square(g)))));
      const factor = tf.minimum(1, tf.div(cfg.clipNorm, tf.maximum(norm, 1e-12)));
      named = named.map(({ v, g }) => ({ v, g: tf.mul(g, factor) }));
    }
    for (const group of this.groups) {
      setOptimizerLearningRate(group.optimizer, learningRate * group.multiplier);
      group.optimizer.applyGradients(named.filter(({ v }) => group.names.has(v.name)).map(({ v, g }) => ({ name: v.name, tensor: g })));
    }
    if (cfg.optimizer === 'adamw' && cfg.weightDecay > 0) {
      for (const group of this.groups) {
        const factor = 1 - learningRate * group.multiplier * cfg.weightDecay;
        for (const v of this.variables) if (group.names.has(v.name) && this.kernels.has(v.name)) v.assign(tf.mul(v, factor));
      }
    }
  }

  dispose(): void {
    for (const g of this.groups) disposeOptimizer(g.optimizer);
  }
}

/** The moving-average rule: ξ ← τ·ξ + (1 − τ)·θ over every weight of `target` (moving statistics included). */
export function followAverage(tf: Tf, online: tfType.LayersModel, target: tfType.LayersModel, decay: number): void {
  const from = online.weights;
  const to = target.weights;
  tf.tidy(() => {
    from.forEach((w, i) => to[i]!.write(tf.add(tf.mul(to[i]!.read(), decay), tf.mul(w.read(), 1 - decay))));
  });
}

/** A learned scalar's clamp after each step (optimizers skip constraints: tfjs#3979). */
export function clampParameter(tf: Tf, v: tfType.Variable, min: number, max: number): void {
  tf.tidy(() => v.assign(tf.clipByValue(v, min, max)));
}

/** DirectPred's settings (Tian et al. 2021): how often the predictor is set, and the correlation's moving average. */
export interface DirectPredSettings {
  every: number;
  rho: number;
  epsilon: number;
}

/**
 * One DirectPred update after step `step` (counted from 1): F̂ ← ρ·F̂ + (1 − ρ)·E[f fᵀ] over this
 * step's detached predictor inputs `f`, and every `every` steps the predictor's one kernel is set to
 * W from F̂'s eigen-decomposition. Returns the running correlation (pass it back next step; none
 * before the first). Does not dispose `f`.
 */
export async function directPredUpdate(
  tf: Tf,
  running: Float64Array | undefined,
  f: T,
  step: number,
  settings: DirectPredSettings,
  predictor: tfType.LayersModel,
): Promise<Float64Array> {
  const d = f.shape[1]!;
  const corr = tf.tidy(() => tf.div(tf.matMul(f, f, true, false), f.shape[0]!));
  const batch = await corr.data();
  corr.dispose();
  if (!running) running = Float64Array.from(batch);
  else for (let k = 0; k < running.length; k++) running[k] = settings.rho * running[k]! + (1 - settings.rho) * batch[k]!;
  if (step % settings.every === 0) {
    const w = directPredWeights(running, d, settings.epsilon);
    const layer = predictor.layers.find((l) => l.getWeights().length > 0)!;
    const kernel = tf.tensor2d(w, [d, d]);
    layer.setWeights([kernel]);
    kernel.dispose();
  }
  return running;
}

/** Sets `a.b.c` in a nested object of results (metric names with dots nest: `baselines.rawPixelsLinearProbe`). */
export function setMetric(metrics: Record<string, unknown>, name: string, value: number): void {
  const path = name.split('.');
  let at = metrics;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}

/** The class of each row of a flat [count × dim] matrix of one-hot labels or scores (argmax). */
export function argmaxRows(c: { data: Float32Array; dim: number; count: number }): Int32Array {
  const out = new Int32Array(c.count);
  for (let i = 0; i < c.count; i++) {
    let best = 0;
    for (let j = 1; j < c.dim; j++) if (c.data[i * c.dim + j]! > c.data[i * c.dim + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Rows collected over a split: one flat [count × dim] matrix. */
export interface CollectedRows {
  data: Float32Array;
  dim: number;
  count: number;
}

/**
 * Runs `forward` (inference) over each batch and gathers each tensor it returns as flat rows
 * ([batch, …] → [batch, features]), concatenated over the batches: what evaluation measures read.
 * Reads back with `data()`: webgpu has no synchronous read.
 */
export async function collectRows<B>(tf: Tf, batches: Iterable<B>, forward: (batch: B) => T[]): Promise<CollectedRows[]> {
  const chunks: Float32Array[][] = [];
  const dims: number[] = [];
  let count = 0;
  for (const batch of batches) {
    const outs = tf.tidy(() => forward(batch).map((t) => tf.reshape(t, [t.shape[0]!, -1])));
    try {
      for (const [i, o] of outs.entries()) {
        dims[i] = o.shape[1]!;
        (chunks[i] ??= []).push((await o.data()) as Float32Array);
      }
    } finally {
      tf.dispose(outs);
    }
    count += outs[0]?.shape[0] ?? 0;
  }
  return chunks.map((parts, i) => {
    const data = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      data.set(p, offset);
      offset += p.length;
    }
    return { data, dim: dims[i] ?? 0, count };
  });
}

/** Features with their classes (from one-hot labels, or none: every row class 0), as the measures take them. */
export function asCollected(features: CollectedRows, labels?: CollectedRows): Collected {
  return { features: features.data, dim: features.dim, labels: labels ? argmaxRows(labels) : new Int32Array(features.count), count: features.count };
}
