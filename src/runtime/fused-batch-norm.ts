/**
 * Batch normalisation in training as three kernel calls on the wasm backend with Patchbay's SIMD
 * kernels: the batch's statistics, the normalisation (FusedBatchNorm, itself a SIMD kernel there),
 * and one closed-form backward pass. tfjs-layers computes it as tf.moments plus batchNormalization,
 * and its gradient as the autodiff of both: ~60 kernel calls per layer, each a pass over the
 * activation (Sub, Square, Mean, Tile, Multiply, Sum, RealDiv…). In a ConvMixer-64/4 training step
 * (batch 32, one thread) its nine layers cost ~35 ms that way.
 *
 * Only what the app builds takes this path: channels last (axis −1), with both γ and β, in
 * training, float32 on wasm with the SIMD module. Inference and every other case run the stock
 * layer. The statistics and gradient are the same formulas as the stock ones, summed in float32 in
 * another order, so they agree to float32 rounding (test/fused-batch-norm.test.ts). Patchbay's
 * TypeScript export does not carry this file: an exported model is the stock layer.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { heapOffset, runShares, runSummedShares, simdKernelsOf, simdParts, SHARE_MIN_VALUES, requireSimdKernels, type SimdHeapBackend } from './simd-kernels';
import { shareRanges } from './simd-threads';

export const BATCH_NORM_MOMENTS = 'PatchbayBatchNormMoments';
export const BATCH_NORM_GRAD = 'PatchbayBatchNormGrad';

/** Shares of c channels (multiples of 4) for the threads, each of at least SHARE_MIN_VALUES values. */
function channelShares(backend: unknown, rows: number, c: number): [number, number][] {
  return shareRanges(c, simdParts(backend), 4, Math.ceil(SHARE_MIN_VALUES / Math.max(rows, 1)));
}

/** Per-channel mean, variance and 1/√(variance + ε) of x [..., c] over all its rows. */
const momentsKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const { epsilon } = attrs as unknown as { epsilon: number };
  const simd = requireSimdKernels(backend, 'fused batch norm');
  const heap = backend as unknown as SimdHeapBackend;
  const c = x.shape[x.shape.length - 1]!;
  const [mean, variance, invStd] = [0, 1, 2].map(() => heap.makeOutput([c], 'float32')) as [TensorInfo, TensorInfo, TensorInfo];
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const at = (t: TensorInfo) => heapOffset(heap, t.dataId);
  // Shares of the channels (the sums run down each channel's column).
  const shares = channelShares(backend, rows, c).map(([k, count]) => [
    at(x) + 4 * k,
    at(mean) + 4 * k,
    at(variance) + 4 * k,
    at(invStd) + 4 * k,
    rows,
    count,
    c,
    epsilon,
  ]);
  runShares(backend, simd, 'channelMoments', shares);
  return [mean, variance, invStd];
};

/**
 * dx, dγ, dβ of y = γ·(x − mean)·invStd + β with the batch's own statistics: the sums over shares
 * of the rows (dβ = Σ dy, dγ = Σ dy·x̂; the caller's share into the outputs, the helpers' into
 * scratch, added up), then dx over shares of the rows.
 */
const gradKernel: KernelFunc = ({ inputs, backend }) => {
  const { x, dy, mean, invStd, gamma } = inputs as Record<'x' | 'dy' | 'mean' | 'invStd' | 'gamma', TensorInfo>;
  const simd = requireSimdKernels(backend, 'fused batch norm');
  const heap = backend as unknown as SimdHeapBackend;
  const c = x.shape[x.shape.length - 1]!;
  const dx = heap.makeOutput(x.shape.slice(), 'float32');
  const [dgamma, dbeta] = [heap.makeOutput([c], 'float32'), heap.makeOutput([c], 'float32')];
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const at = (t: TensorInfo) => heapOffset(heap, t.dataId);
  const ranges = shareRanges(rows, simdParts(backend), 1, Math.ceil(SHARE_MIN_VALUES / c));
  runSummedShares(heap, simd, 'batchNormGradSums', ranges.length, [at(dbeta), at(dgamma)], c, (i, [sumDy, sumDyXhat]) => {
    const [r0, n] = ranges[i]!;
    return [at(x) + 4 * r0 * c, at(dy) + 4 * r0 * c, at(mean), at(invStd), sumDy!, sumDyXhat!, n, c];
  });
  runShares(
    backend,
    simd,
    'batchNormGradDx',
    ranges.map(([r0, n]) => [at(x) + 4 * r0 * c, at(dy) + 4 * r0 * c, at(mean), at(invStd), at(gamma), at(dbeta), at(dgamma), at(dx) + 4 * r0 * c, n, c, rows]),
  );
  return [dx, dgamma, dbeta];
};

/** Registers both kernels for 'wasm'. Idempotent. */
export function registerFusedBatchNormKernels(): void {
  if (tf.getKernel(BATCH_NORM_MOMENTS, 'wasm') === undefined)
    tf.registerKernel({ kernelName: BATCH_NORM_MOMENTS, backendName: 'wasm', kernelFunc: momentsKernel });
  if (tf.getKernel(BATCH_NORM_GRAD, 'wasm') === undefined) tf.registerKernel({ kernelName: BATCH_NORM_GRAD, backendName: 'wasm', kernelFunc: gradKernel });
}

/** Whether x [..., c] would take the fused kernels now: float32, at least one row and channel, on wasm with the SIMD module. */
export function fusedBatchNormRuns(x: tf.Tensor): boolean {
  return (
    x.dtype === 'float32' &&
    x.rank >= 2 &&
    x.size > 0 &&
    tf.getBackend() === 'wasm' &&
    simdKernelsOf(tf.backend()) !== null &&
    tf.getKernel(BATCH_NORM_MOMENTS, 'wasm') !== undefined
  );
}

/**
 * Batch normalisation over every axis but the last, with the batch's statistics: the normalised
 * tensor (differentiable in x, γ and β) and the statistics (for the moving averages; not
 * differentiated). Callers check `fusedBatchNormRuns` first; γ and β hold one value per channel.
 */
export function fusedBatchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { normed: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  // The statistics outside the custom gradient (which keeps nothing its forward function makes but
  // its value): the closed-form gradient below already covers the path through them, and the tape
  // has no edge from them to the output, so autodiff never asks for their own gradient.
  const [mean, variance, invStd] = tf.engine().runKernel(BATCH_NORM_MOMENTS, { x }, { epsilon } as unknown as tf.NamedAttrMap) as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([xi, g, mean, invStd]);
    return {
      value: tf.batchNorm(xi, mean, variance, b, g, epsilon),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sGamma, sMean, sInvStd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const d = Array.isArray(dy) ? dy[0]! : dy;
        return tf.engine().runKernel(BATCH_NORM_GRAD, { x: sx, dy: d, mean: sMean, invStd: sInvStd, gamma: sGamma }) as tf.Tensor[];
      },
    };
  });
  return { normed: op(x, gamma, beta), mean, variance };
}

type StockLayer = ReturnType<typeof tf.layers.batchNormalization>;
type StockArgs = Parameters<typeof tf.layers.batchNormalization>[0];
/** The stock class (tfjs exports only its factory). */
const StockBatchNormalization = tf.layers.batchNormalization({}).constructor as new (args?: StockArgs) => StockLayer;

/** Fields of the stock layer that its `call` reads (public in tfjs-layers' JavaScript, not in its typings). */
interface StockFields {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** tfjs's BatchNormalization with the fused kernels in training where they run. Serialised as the stock layer. */
export class FusedBatchNormalization extends StockBatchNormalization {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const self = this as unknown as StockFields;
    const axis = self.axis >= 0 ? self.axis : self.axis + x.rank;
    if (!kwargs?.['training'] || axis !== x.rank - 1 || !self.gamma || !self.beta || !fusedBatchNormRuns(x)) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { normed, mean, variance } = fusedBatchNormTraining(x, self.gamma!.read(), self.beta!.read(), self.epsilon);
      // The moving averages as the stock layer updates them: v ← v − (v − batch value)·(1 − momentum).
      for (const [variable, value] of [
        [self.movingMean, mean],
        [self.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const current = variable.read();
          variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - self.momentum)));
        });
      }
      return normed;
    });
  }
}

registerFusedBatchNormKernels();
