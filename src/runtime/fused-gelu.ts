/**
 * tfjs-layers' "gelu" activation as one kernel forward and one backward on the wasm backend with
 * Patchbay's SIMD kernels, instead of five forward (RealDiv, Erf, Add, Multiply ×2) and about ten
 * backward, each a pass over the whole activation. Measured in a ConvMixer-64/4 training step (batch
 * 32, one thread): its nine GELUs on 32×14×14×64 values cost ~35 ms as separate kernels.
 *
 * The kernels compute the stock activation's float32 operations in their order, and the gradient as
 * tfjs's autodiff of them does, so a fused step gives the same bits as the composed one on the same
 * backend (test/fused-gelu.test.ts). Elsewhere (cpu, WebGL, WebGPU, wasm without the SIMD module,
 * other dtypes) the stock code runs.
 *
 * The activation is swapped where tfjs-layers looks it up (its serialisation registry, by the name
 * "gelu"), so every layer that says `activation: 'gelu'` gets it, and a saved model still names the
 * stock activation. Patchbay's TypeScript export does not carry this file: an exported model
 * computes the same function with tfjs's stock activation, to float32 rounding of the SIMD erf.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { heapOffset, runElementwise, simdKernelsOf, requireSimdKernels, type SimdHeapBackend } from './simd-kernels';
import { PatchbayGelu } from './layers/gelu';

/** Kernel names: Patchbay's own, so that they cannot meet a tfjs kernel. */
export const FUSED_GELU = 'PatchbayFusedGelu';
export const FUSED_GELU_GRAD = 'PatchbayFusedGeluGrad';

/** y = gelu(x) and cdf = Φ(x), which the gradient reads. */
const geluKernel: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const simd = requireSimdKernels(backend, 'fused GELU');
  const heap = backend as unknown as SimdHeapBackend;
  const [out, cdf] = [heap.makeOutput(x.shape.slice(), 'float32'), heap.makeOutput(x.shape.slice(), 'float32')];
  const size = tf.util.sizeFromShape(x.shape);
  if (size > 0) runElementwise(backend, simd, 'gelu', [heapOffset(heap, x.dataId), heapOffset(heap, out.dataId), heapOffset(heap, cdf.dataId)], size);
  return [out, cdf];
};

const geluGradKernel: KernelFunc = ({ inputs, backend }) => {
  const { x, cdf, dy } = inputs as { x: TensorInfo; cdf: TensorInfo; dy: TensorInfo };
  const simd = requireSimdKernels(backend, 'fused GELU');
  const heap = backend as unknown as SimdHeapBackend;
  const out = heap.makeOutput(x.shape.slice(), 'float32');
  const size = tf.util.sizeFromShape(x.shape);
  if (size > 0)
    runElementwise(
      backend,
      simd,
      'geluGrad',
      [heapOffset(heap, x.dataId), heapOffset(heap, cdf.dataId), heapOffset(heap, dy.dataId), heapOffset(heap, out.dataId)],
      size,
    );
  return out;
};

/** Registers both kernels for 'wasm'. Idempotent. */
export function registerFusedGeluKernels(): void {
  if (tf.getKernel(FUSED_GELU, 'wasm') === undefined) tf.registerKernel({ kernelName: FUSED_GELU, backendName: 'wasm', kernelFunc: geluKernel });
  if (tf.getKernel(FUSED_GELU_GRAD, 'wasm') === undefined) tf.registerKernel({ kernelName: FUSED_GELU_GRAD, backendName: 'wasm', kernelFunc: geluGradKernel });
}

/** Whether `x` would take the fused kernels now: float32 on a wasm backend with the SIMD module attached. */
export function fusedGeluRuns(x: tf.Tensor): boolean {
  return x.dtype === 'float32' && tf.getBackend() === 'wasm' && simdKernelsOf(tf.backend()) !== null && tf.getKernel(FUSED_GELU, 'wasm') !== undefined;
}

/**
 * GELU by the fused kernel, its gradient by the other. A custom gradient rather than a registered
 * one: the forward kernel's second output (cdf) is only for the gradient, and a kernel's output that
 * nothing downstream uses would get a zero-filled gradient of its own in every backward pass.
 * Callers check `fusedGeluRuns` first.
 */
export const fusedGelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const [y, cdf] = tf.engine().runKernel(FUSED_GELU, { x }) as tf.Tensor[];
  save([x, cdf!]);
  return {
    value: y!,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.engine().runKernel(FUSED_GELU_GRAD, { x: saved[0]!, cdf: saved[1]!, dy: Array.isArray(dy) ? dy[0]! : dy }) as tf.Tensor,
  };
}) as (x: tf.Tensor) => tf.Tensor;

type ActivationClass = new () => { apply(x: tf.Tensor): tf.Tensor };

/** The stock "gelu" activation class, found where tfjs-layers keeps it (tfjs does not export it). */
function stockGelu(): ActivationClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap['gelu'];
  if (!entry) throw new Error('tfjs-layers has no "gelu" activation registered.');
  return entry[0] as unknown as ActivationClass;
}

const StockGelu = stockGelu();

/** tfjs-layers' gelu with the fused kernels where they run. Registered under the stock name. */
export class FusedGeluActivation extends StockGelu {
  static className = 'gelu';

  override apply(x: tf.Tensor): tf.Tensor {
    return fusedGeluRuns(x) ? fusedGelu(x) : super.apply(x);
  }
}

/**
 * The GELU node's layer (PatchbayGelu) with the fused kernels for its exact form where they run (the
 * ViT and transformer blocks use it). PatchbayGelu composes 0.5·x·(1 + erf(x·(1/√2))), the stock
 * activation x·0.5·(1 + erf(x/√2)): the same function, rounded in another order, so this agrees with
 * PatchbayGelu to float32 rounding rather than to the bit. 'tanh' and 'quick' run PatchbayGelu's code.
 * Only the app's runtime builds it (custom-layers.ts); the export carries PatchbayGelu.
 */
export class FusedPatchbayGelu extends PatchbayGelu {
  static override className = 'PatchbayGelu';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (this.approximate === 'none' && fusedGeluRuns(x)) return tf.tidy(() => fusedGelu(x));
    return super.call(inputs);
  }
}
// Not registered for deserialisation: a saved model loads as PatchbayGelu (the app builds its models
// from plans, through custom-layers.ts, and gets this class there).

// Where tfjs-layers looks "gelu" up. Layers built before this keep the stock activation, so it runs
// when this module is first imported (build.ts and custom-layers.ts import it).
registerFusedGeluKernels();
tf.serialization.registerClass(FusedGeluActivation as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
