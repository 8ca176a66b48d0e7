import type * as tfType from '@tensorflow/tfjs';

/**
 * The procedure ops of a capsule network (nodes/program/capsules.ts): masking by label or by the
 * longest capsule, the margin loss and the scaled reconstruction loss. Plain batched ops, so each has
 * gradients on every backend; the exported trainer copies these functions (npm run gen:program).
 */

type Tf = typeof tfType;
type T = tfType.Tensor;

/**
 * Keeps one capsule per example, zeroing the rest: the labelled one when `label` (one-hot) is given,
 * else the longest. The choice carries no gradient (it is a one-hot mask); the kept capsule does.
 */
export function maskCapsules(tf: Tf, capsules: T, label?: T): T {
  const classes = capsules.shape[1]!;
  const chosen = label ?? tf.oneHot(tf.argMax(tf.sum(tf.square(capsules), -1), -1), classes).toFloat();
  return tf.mul(capsules, tf.expandDims(chosen, -1));
}

/** Σₖ Tₖ·max(0, m⁺ − ‖vₖ‖)² + λ·(1 − Tₖ)·max(0, ‖vₖ‖ − m⁻)² per example, averaged over the batch (eq. 4). */
export function marginLoss(tf: Tf, lengths: T, label: T, mPlus: number, mMinus: number, lambda: number): T {
  const present = tf.mul(label, tf.square(tf.relu(tf.sub(mPlus, lengths))));
  const absent = tf.mul(tf.sub(1, label), tf.square(tf.relu(tf.sub(lengths, mMinus))));
  return tf.mean(tf.sum(tf.add(present, tf.mul(absent, lambda)), -1));
}

/** scale × Σ (reconstruction − image)² per example, averaged over the batch. */
export function reconstructionLoss(tf: Tf, reconstruction: T, image: T, scale: number): T {
  const n = reconstruction.shape[0]!;
  const squared = tf.squaredDifference(tf.reshape(reconstruction, [n, -1]), tf.reshape(image, [n, -1]));
  return tf.mul(tf.mean(tf.sum(squared, -1)), scale);
}
