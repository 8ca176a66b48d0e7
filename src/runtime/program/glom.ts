import type * as tfType from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset';
import { derivedSeed } from '../seeds';

type Tf = typeof tfType;
type T = tfType.Tensor;

/**
 * The corruption of GLOM's denoising autoencoder (nodes/program/glom.ts): blank a random share of the
 * patches and add Gaussian noise to every pixel, then clip to [0, 1] so that it is still an image.
 * Seeded by run, step and node, like every random op, so the evaluation's corruption repeats and
 * the exported trainer draws the same; the exported trainer copies this function (npm run gen:program).
 */
export function corruptImage(tf: Tf, x: T, stddev: number, dropPatches: number, patchSize: number, ctx: { seed: number; step: number; nodeId: string }): T {
  const [n, h, w] = x.shape as [number, number, number, number];
  const seed = derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`);
  const random = seededRandom(seed);
  const keep = new Float32Array(n * h * w).fill(1);
  const [rows, cols] = [Math.ceil(h / patchSize), Math.ceil(w / patchSize)];
  for (let i = 0; i < n; i++)
    for (let pr = 0; pr < rows; pr++)
      for (let pc = 0; pc < cols; pc++) {
        if (random() >= dropPatches) continue;
        for (let r = pr * patchSize; r < Math.min(h, (pr + 1) * patchSize); r++)
          keep.fill(0, (i * h + r) * w + pc * patchSize, (i * h + r) * w + Math.min(w, (pc + 1) * patchSize));
      }
  const blanked = tf.mul(x, tf.tensor4d(keep, [n, h, w, 1]));
  const noisy = stddev > 0 ? tf.add(blanked, tf.randomNormal(x.shape, 0, stddev, 'float32', seed)) : blanked;
  return tf.clipByValue(noisy, 0, 1);
}

/**
 * GLOM's contrastive consensus term (Hinton, 2021, section on learning islands), as an InfoNCE per
 * column and level: a column's embedding should be closer (cosine) to the mean of its grid
 * neighbours' embeddings in its own image than to that neighbourhood mean at the same place in the
 * other images of the batch. So columns agree with their neighbours (islands), but not by making
 * every image's columns the same (the negatives). `levels` is [batch, columns, levels, width] on a
 * square grid; averaged over columns, levels and examples, then times `weight` (0 turns the term off
 * without computing it, so a template can carry it switched off).
 */
export function glomConsensusLoss(tf: Tf, levels: T, temperature: number, weight: number): T {
  if (weight === 0) return tf.zeros([]);
  const [n, columns, count, width] = levels.shape as [number, number, number, number];
  const side = Math.round(Math.sqrt(columns));
  if (side * side !== columns) throw new Error(`The consensus loss needs a square grid of columns, got ${columns}.`);
  // Row c of the neighbourhood matrix averages the 4-neighbours of column c.
  const adjacency = new Float32Array(columns * columns);
  for (let c = 0; c < columns; c++) {
    const [r, k] = [Math.floor(c / side), c % side];
    const near = [
      [r - 1, k],
      [r + 1, k],
      [r, k - 1],
      [r, k + 1],
    ].filter(([a, b]) => a! >= 0 && a! < side && b! >= 0 && b! < side);
    for (const [a, b] of near) adjacency[c * columns + a! * side + b!] = 1 / near.length;
  }
  const unit = (x: T) => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12)));
  const z = unit(levels);
  // Neighbourhood means with one 2-D matMul: columns first, everything else as columns of the matrix.
  const byColumn = tf.reshape(tf.transpose(z, [1, 0, 2, 3]), [columns, n * count * width]);
  const mean = tf.transpose(tf.reshape(tf.matMul(tf.tensor2d(adjacency, [columns, columns]), byColumn), [columns, n, count, width]), [0, 2, 1, 3]);
  const target = unit(tf.reshape(mean, [columns * count, n, width]));
  const query = tf.reshape(tf.transpose(z, [1, 2, 0, 3]), [columns * count, n, width]);
  // For each (column, level): a batch × batch table of similarities; the diagonal holds the positives.
  const logits = tf.div(tf.matMul(query, target, false, true), temperature);
  const positives = tf.mul(tf.logSoftmax(logits), tf.eye(n));
  return tf.mul(tf.neg(tf.div(tf.sum(positives), columns * count * n)), weight);
}

/**
 * The mean squared error of predicting every held-out example by the mean training example (pixel by
 * pixel): the trivial answer a reconstruction must beat without looking at its input. Rows as
 * collectRows gives them (one example per row).
 */
export function meanImageBaselineMse(
  train: { data: Float32Array; dim: number; count: number },
  test: { data: Float32Array; dim: number; count: number },
): number {
  const d = train.dim;
  const mean = new Float64Array(d);
  for (let i = 0; i < train.count; i++) for (let j = 0; j < d; j++) mean[j]! += train.data[i * d + j]! / train.count;
  let sum = 0;
  for (let i = 0; i < test.count; i++) for (let j = 0; j < d; j++) sum += (test.data[i * d + j]! - mean[j]!) ** 2;
  return sum / (test.count * d);
}
