/**
 * tfjs's Adam update with one SIMD kernel call per variable on the wasm backend, where tfjs makes
 * ~13 kernel calls per variable (plus a scalar tensor for each JavaScript number it multiplies by):
 * about 700 calls a step for the MLP-Mixer's 54 variables, most of them on tiny tensors, so the
 * time went to tfjs's per-call JavaScript rather than to arithmetic.
 *
 * The kernel (adamUpdate in scripts/simd-kernels/source.ts) does tfjs's float32 operations in
 * tfjs's order with tfjs's float32 constants, so weights and moments are the same to the bit
 * (test/fused-adam.test.ts). The optimizer object stays tfjs's AdamOptimizer: its moments, step
 * count, getWeights/setWeights and serialisation are untouched. On any other backend, or where the
 * SIMD kernels are missing, or for a variable that is not float32, tfjs's own update runs.
 */
import type * as tfType from '@tensorflow/tfjs';
import { heapOffset, simdKernelsOf, type WasmHeapBackend } from './simd-kernels';

type Tf = typeof tfType;

/** The AdamOptimizer fields the update reads (public in tfjs's JavaScript, private in its typings). */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tfType.Variable;
  accBeta2: tfType.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tfType.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tfType.Variable } | undefined)[];
  incrementIterations(): void;
}

type Gradients = tfType.NamedTensorMap | { name: string; tensor: tfType.Tensor }[];

/** Makes `optimizer` (if it is tfjs's Adam) update through the SIMD kernel whenever the wasm backend has it. */
export function fuseAdamOnWasm(tf: Tf, optimizer: tfType.Optimizer): void {
  if (optimizer.getClassName() !== 'Adam') return;
  const stock = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads: Gradients) => {
    if (tf.getBackend() !== 'wasm' || !fusedUpdate(tf, optimizer as unknown as AdamFields, grads)) stock(grads);
  };
}

/** tfjs's AdamOptimizer.applyGradients with the per-variable arithmetic in one kernel; false (nothing done) where it cannot run. */
function fusedUpdate(tf: Tf, adam: AdamFields, grads: Gradients): boolean {
  const backend = tf.backend() as unknown as WasmHeapBackend & { makeOutput(shape: number[], dtype: 'float32'): tfType.TensorInfo };
  const simd = simdKernelsOf(backend);
  if (!simd) return false;
  const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
  const gradientOf = (i: number, name: string) => (Array.isArray(grads) ? grads[i]!.tensor : grads[name]);
  const variables = tf.engine().registeredVariables;
  if (names.some((name, i) => variables[name]?.dtype !== 'float32' || (gradientOf(i, name) ?? { dtype: 'float32' }).dtype !== 'float32')) return false;
  const f = Math.fround;
  tf.tidy(() => {
    // As tfjs: 1 − β^t in float32 tensors, read back once for the kernel.
    const oneMinusAccBeta1 = f(tf.sub(1, adam.accBeta1).dataSync()[0]!);
    const oneMinusAccBeta2 = f(tf.sub(1, adam.accBeta2).dataSync()[0]!);
    names.forEach((name, i) => {
      const value = variables[name]!;
      if (adam.accumulatedFirstMoment[i] == null) {
        adam.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      if (adam.accumulatedSecondMoment[i] == null) {
        adam.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      const gradient = gradientOf(i, name);
      if (gradient == null) return;
      const m = adam.accumulatedFirstMoment[i]!.variable;
      const v = adam.accumulatedSecondMoment[i]!.variable;
      const outs = [0, 1, 2].map(() => backend.makeOutput(value.shape.slice(), 'float32'));
      const [newValue, newM, newV] = outs.map((info) => tf.engine().makeTensorFromTensorInfo(info));
      if (value.size > 0) {
        simd.adamUpdate(
          heapOffset(backend, value.dataId),
          heapOffset(backend, gradient.dataId),
          heapOffset(backend, m.dataId),
          heapOffset(backend, v.dataId),
          heapOffset(backend, newValue!.dataId),
          heapOffset(backend, newM!.dataId),
          heapOffset(backend, newV!.dataId),
          value.size,
          f(adam.beta1),
          f(1 - adam.beta1),
          f(adam.beta2),
          f(1 - adam.beta2),
          oneMinusAccBeta1,
          oneMinusAccBeta2,
          f(adam.epsilon),
          f(-adam.learningRate),
        );
      }
      m.assign(newM!);
      v.assign(newV!);
      value.assign(newValue!);
    });
    adam.accBeta1.assign(tf.mul(adam.accBeta1, adam.beta1));
    adam.accBeta2.assign(tf.mul(adam.accBeta2, adam.beta2));
  });
  adam.incrementIterations();
  return true;
}
