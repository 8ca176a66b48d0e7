import * as tf from '@tensorflow/tfjs';

/*
 * tfjs's LayerNormalization, computed with a hand-written gradient.
 *
 * The stock layer tiles its [N,T,1] mean and variance and its [C] gamma and beta to the input's full
 * shape and calls batchNormalization, so its backward pass is the autodiff of moments, four tiles and
 * FusedBatchNorm: about a hundred kernels per layer. The closed form below is ~20 (one MLP-Mixer
 * step at batch 32 has nine of these layers; ~10 % of the step on wasm):
 *
 *   x̂ = (x − μ)·r,  r = 1/√(σ² + ε),  y = x̂·γ + β
 *   dx = r·(g − mean(g) − x̂·mean(g·x̂)),  g = dy·γ   (means over the normalised axis)
 *   dγ = Σ dy·x̂,  dβ = Σ dy   (sums over the other axes)
 *
 * Same class name, config and weights as the stock layer, so a saved model needs nothing of Patchbay
 * to load. Only the last-axis case is taken here, which is what Patchbay's LayerNormalization node
 * lowers to; anything else runs the stock code. Patchbay's TypeScript export carries this class as
 * well, so an exported model or trainer computes LayerNorm and its gradient with the same ops as
 * the app, to the last bit.
 */

type FastLayerNormalizationStockLayer = ReturnType<typeof tf.layers.layerNormalization>;
type FastLayerNormalizationArgs = Parameters<typeof tf.layers.layerNormalization>[0];
type FastLayerNormalizationStockClass = new (args?: FastLayerNormalizationArgs) => FastLayerNormalizationStockLayer;

/** The stock class (tfjs exports only its factory). */
const FastLayerNormalizationStock = tf.layers.layerNormalization({}).constructor as FastLayerNormalizationStockClass;

/** Fields of the stock layer that `call` reads (public in tfjs-layers' JS, not in its typings). */
interface FastLayerNormalizationFields {
  axis: number[];
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
}

/** Layer norm over the last axis with optional gamma/beta, as one custom-gradient op. */
export function fastLayerNormalizationLastAxis(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null, epsilon: number): tf.Tensor {
  const axis = x.rank - 1;
  const lead = Array.from({ length: axis }, (_, i) => i);
  const c = x.shape[axis]!;
  const ones = () => tf.ones([c]);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const mean = tf.mean(xi, axis, true);
    const centered = tf.sub(xi, mean);
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axis, true), epsilon));
    const xhat = tf.mul(centered, r);
    save([xhat, r, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = Array.isArray(dy) ? dy[0]! : dy;
        const [xh, rs, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dg = tf.mul(d, gm);
        const dx = tf.mul(rs, tf.sub(tf.sub(dg, tf.mean(dg, axis, true)), tf.mul(xh, tf.mean(tf.mul(dg, xh), axis, true))));
        return [dx, tf.sum(tf.mul(d, xh), lead), tf.sum(d, lead)];
      },
    };
  });
  // A missing gamma is a scale of ones, a missing beta an offset of zeros; their gradients are dropped.
  return op(x, gamma ?? ones(), beta ?? tf.zeros([c]));
}

export class FastLayerNormalization extends FastLayerNormalizationStock {
  /** Serialised as the stock layer: a saved model needs nothing of Patchbay to load. */
  static className = 'LayerNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const self = this as unknown as FastLayerNormalizationFields;
    if (self.axis.length !== 1 || self.axis[0] !== x.rank - 1) return super.call(inputs, kwargs);
    return tf.tidy(() => fastLayerNormalizationLastAxis(x, self.gamma?.read() ?? null, self.beta?.read() ?? null, self.epsilon));
  }
}
