import type * as tfType from '@tensorflow/tfjs';
import { seededRandom, shuffledIndices } from '../data/dataset';

type Tf = typeof tfType;

/**
 * Evaluation measures over collected features: each takes plain arrays (features row-major, one
 * class id per example), so evaluation procedures gather once and measure several ways.
 */
export interface Collected {
  features: Float32Array;
  dim: number;
  labels: Int32Array;
  count: number;
}

export function accuracyOf(predictions: Collected): number {
  let correct = 0;
  for (let i = 0; i < predictions.count; i++) {
    let best = 0;
    for (let j = 1; j < predictions.dim; j++) if (predictions.features[i * predictions.dim + j]! > predictions.features[i * predictions.dim + best]!) best = j;
    if (best === predictions.labels[i]) correct++;
  }
  return correct / predictions.count;
}

/** Rows scaled to unit length, so that dot products are cosine similarities. */
function normalizedRows(tf: Tf, c: Collected): tfType.Tensor2D {
  return tf.tidy(() => {
    const x = tf.tensor2d(c.features, [c.count, c.dim]);
    return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tfType.Tensor2D;
  });
}

/**
 * kNN accuracy (cosine similarity): each test example takes the majority class of its k nearest
 * training examples, ties to the nearer neighbours' class. Similarities are computed in chunks so
 * memory stays at chunk × train. Reads back with `data()`: webgpu has no synchronous read.
 */
export async function knnAccuracy(tf: Tf, train: Collected, test: Collected, k: number, classes: number): Promise<number> {
  const bank = normalizedRows(tf, train);
  const kk = Math.min(k, train.count);
  let correct = 0;
  try {
    for (let start = 0; start < test.count; start += 256) {
      const count = Math.min(256, test.count - start);
      const indices = tf.tidy(() => {
        const q = normalizedRows(tf, { ...test, features: test.features.subarray(start * test.dim, (start + count) * test.dim), count });
        return tf.topk(tf.matMul(q, bank, false, true), kk).indices;
      });
      const nearest = await indices.data().finally(() => indices.dispose());
      for (let i = 0; i < count; i++) {
        const votes = new Float64Array(classes);
        // Nearer neighbours weigh a little more, which breaks ties towards them.
        for (let j = 0; j < kk; j++) votes[train.labels[nearest[i * kk + j]!]!]! += 1 + (kk - j) * 1e-6;
        let best = 0;
        for (let c = 1; c < classes; c++) if (votes[c]! > votes[best]!) best = c;
        if (best === test.labels[start + i]) correct++;
      }
    }
  } finally {
    bank.dispose();
  }
  return correct / test.count;
}

/**
 * A linear probe: a softmax classifier trained with Adam on standardised frozen features of the
 * training split, then scored on the held-out split. Seeded, so it repeats exactly.
 */
export async function linearProbeAccuracy(
  tf: Tf,
  train: Collected,
  test: Collected,
  classes: number,
  options: { epochs: number; learningRate: number; seed: number },
): Promise<number> {
  const dim = train.dim;
  // Standardise with the training split's statistics (features of an untrained net can be tiny or huge).
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < train.count; i++)
    for (let j = 0; j < dim; j++) {
      const v = train.features[i * dim + j]!;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  const std = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    mean[j]! /= train.count;
    std[j] = Math.sqrt(Math.max(sq[j]! / train.count - mean[j]! ** 2, 0)) || 1;
  }
  const standardise = (c: Collected) => {
    const out = new Float32Array(c.features.length);
    for (let i = 0; i < c.count; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = (c.features[i * dim + j]! - mean[j]!) / std[j]!;
    return out;
  };
  const xs = standardise(train);
  // Made inside tidy so the zeros they start from are freed (a variable made from a tensor leaves that tensor alive).
  const [w, b] = tf.tidy(() => [tf.variable(tf.zeros([dim, classes])), tf.variable(tf.zeros([classes]))]);
  const optimizer = tf.train.adam(options.learningRate);
  const random = seededRandom(options.seed);
  const batch = 256;
  const x = new Float32Array(batch * dim);
  const y = new Int32Array(batch);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = shuffledIndices(train.count, random);
    for (let start = 0; start < train.count; start += batch) {
      const n = Math.min(batch, train.count - start);
      for (let i = 0; i < n; i++) {
        const from = order[start + i]!;
        x.set(xs.subarray(from * dim, (from + 1) * dim), i * dim);
        y[i] = train.labels[from]!;
      }
      tf.tidy(() => {
        const xb = tf.tensor2d(x.subarray(0, n * dim), [n, dim]);
        const yb = tf.oneHot(tf.tensor1d(y.subarray(0, n), 'int32'), classes).toFloat();
        optimizer.minimize(() => tf.neg(tf.mean(tf.sum(tf.mul(yb, tf.logSoftmax(tf.add(tf.matMul(xb, w), b))), -1))) as tfType.Scalar, false, [w, b]);
      });
    }
  }
  const logits = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(standardise(test), [test.count, dim]), w), b));
  try {
    return accuracyOf({ features: (await logits.data()) as Float32Array, dim: classes, labels: test.labels, count: test.count });
  } finally {
    tf.dispose([logits, w, b]);
    optimizer.dispose();
  }
}

/**
 * SimSiam's collapse measure (§4.1): the standard deviation over examples of the L2-normalised
 * embedding, averaged over dimensions. A healthy d-dimensional embedding sits near 1/√d; a
 * collapsed one (every example mapped to one vector) near 0.
 */
export function collapseStd(features: Collected): { std: number; reference: number } {
  const { dim, count } = features;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += features.features[i * dim + j]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < dim; j++) {
      const v = features.features[i * dim + j]! / norm;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  }
  let sum = 0;
  for (let j = 0; j < dim; j++) {
    const m = mean[j]! / count;
    sum += Math.sqrt(Math.max(sq[j]! / count - m * m, 0));
  }
  return { std: sum / dim, reference: 1 / Math.sqrt(dim) };
}
