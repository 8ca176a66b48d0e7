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
