/**
 * Layer normalisation over the last axis as one kernel forward and one backward on the wasm
 * backend with Patchbay's SIMD kernels. FastLayerNormalization (the class the export carries)
 * already computes the gradient in closed form, but as ~20 tfjs kernels per layer (Mean, Sub,
 * Square, Rsqrt, Multiply, Sum…), each a pass over the activation; an MLP-Mixer `mnist` step has
 * nine such layers, ~10 ms of its ~70 on one thread.
 *
 * Same formulas (x̂ = (x − μ)·r, y = x̂·γ + β; dx = r·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ), summed
 * in float32 in another order, so the results agree with FastLayerNormalization to float32 rounding
 * (test/fused-layers.test.ts). Only the app's runtime builds this subclass; the export builds
 * FastLayerNormalization. Elsewhere (other backends, no SIMD module, no γ or β, another axis) the
 * parent's code runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { FastLayerNormalization } from './fast-layer-normalization';
import { heapOffset, runShares, runSummedShares, simdKernelsOf, simdParts, SHARE_MIN_VALUES, requireSimdKernels, type SimdHeapBackend } from './simd-kernels';
import { shareRanges } from './simd-threads';

export const LAYER_NORM = 'PatchbayLayerNorm';
export const LAYER_NORM_GRAD = 'PatchbayLayerNormGrad';

/** Shares of the rows for the threads, each of at least SHARE_MIN_VALUES values. */
function rowShares(backend: unknown, rows: number, c: number): [number, number][] {
  return shareRanges(rows, simdParts(backend), 1, Math.ceil(SHARE_MIN_VALUES / Math.max(c, 1)));
}

/** y, and each row's mean and 1/√(variance + ε) (for the gradient). */
const layerNormKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', TensorInfo>;
  const { epsilon } = attrs as unknown as { epsilon: number };
  const simd = requireSimdKernels(backend, 'fused layer norm');
  const heap = backend as unknown as SimdHeapBackend;
  const c = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const out = heap.makeOutput(x.shape.slice(), 'float32');
  const [mean, invStd] = [heap.makeOutput([rows], 'float32'), heap.makeOutput([rows], 'float32')];
  const at = (t: TensorInfo) => heapOffset(heap, t.dataId);
  const shares = rowShares(backend, rows, c).map(([r0, n]) => [
    at(x) + 4 * r0 * c,
    at(gamma),
    at(beta),
    at(out) + 4 * r0 * c,
    at(mean) + 4 * r0,
    at(invStd) + 4 * r0,
    n,
    c,
    epsilon,
  ]);
  runShares(backend, simd, 'layerNorm', shares);
  return [out, mean, invStd];
};

/** dx, dγ, dβ. */
const layerNormGradKernel: KernelFunc = ({ inputs, backend }) => {
  const { x, dy, mean, invStd, gamma } = inputs as Record<'x' | 'dy' | 'mean' | 'invStd' | 'gamma', TensorInfo>;
  const simd = requireSimdKernels(backend, 'fused layer norm');
  const heap = backend as unknown as SimdHeapBackend;
  const c = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const dx = heap.makeOutput(x.shape.slice(), 'float32');
  const [dgamma, dbeta] = [heap.makeOutput([c], 'float32'), heap.makeOutput([c], 'float32')];
  const at = (t: TensorInfo) => heapOffset(heap, t.dataId);
  // Shares of the rows; each sums dγ and dβ over its own rows, added up at the end.
  const ranges = rowShares(backend, rows, c);
  runSummedShares(heap, simd, 'layerNormGrad', ranges.length, [at(dgamma), at(dbeta)], c, (i, [dgammaAt, dbetaAt]) => {
    const [r0, n] = ranges[i]!;
    return [at(x) + 4 * r0 * c, at(dy) + 4 * r0 * c, at(mean) + 4 * r0, at(invStd) + 4 * r0, at(gamma), at(dx) + 4 * r0 * c, dgammaAt!, dbetaAt!, n, c];
  });
  return [dx, dgamma, dbeta];
};

/** Registers both kernels for 'wasm'. Idempotent. */
export function registerFusedLayerNormKernels(): void {
  if (tf.getKernel(LAYER_NORM, 'wasm') === undefined) tf.registerKernel({ kernelName: LAYER_NORM, backendName: 'wasm', kernelFunc: layerNormKernel });
  if (tf.getKernel(LAYER_NORM_GRAD, 'wasm') === undefined)
    tf.registerKernel({ kernelName: LAYER_NORM_GRAD, backendName: 'wasm', kernelFunc: layerNormGradKernel });
}

/** Whether x would take the fused kernels now: float32, not empty, on wasm with the SIMD module. */
export function fusedLayerNormRuns(x: tf.Tensor): boolean {
  return (
    x.dtype === 'float32' &&
    x.rank >= 1 &&
    x.size > 0 &&
    tf.getBackend() === 'wasm' &&
    simdKernelsOf(tf.backend()) !== null &&
    tf.getKernel(LAYER_NORM, 'wasm') !== undefined
  );
}

/** Layer norm over the last axis by the fused kernels, differentiable in x, γ and β. Callers check `fusedLayerNormRuns` first. */
export function fusedLayerNormLastAxis(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, invStd] = tf.engine().runKernel(LAYER_NORM, { x: xi, gamma: g, beta: b }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    save([xi, g, mean!, invStd!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sGamma, sMean, sInvStd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const d = Array.isArray(dy) ? dy[0]! : dy;
        return tf.engine().runKernel(LAYER_NORM_GRAD, { x: sx, dy: d, mean: sMean, invStd: sInvStd, gamma: sGamma }) as tf.Tensor[];
      },
    };
  });
  return op(x, gamma, beta);
}

/** Fields of the stock layer that `call` reads (public in tfjs-layers' JavaScript, not in its typings). */
interface StockFields {
  axis: number[];
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
}

/** FastLayerNormalization with the fused kernels where they run. Serialised as the stock layer. */
export class FusedLayerNormalization extends FastLayerNormalization {
  static override className = 'LayerNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const self = this as unknown as StockFields;
    if (self.axis.length !== 1 || self.axis[0] !== x.rank - 1 || !self.gamma || !self.beta || !fusedLayerNormRuns(x)) return super.call(inputs, kwargs);
    return tf.tidy(() => fusedLayerNormLastAxis(x, self.gamma!.read(), self.beta!.read(), self.epsilon));
  }
}

registerFusedLayerNormKernels();
