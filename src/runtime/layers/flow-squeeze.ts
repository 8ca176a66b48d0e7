import * as tf from '@tensorflow/tfjs';

/**
 * RealNVP's squeeze, a flow step: each 2×2×C patch of an image becomes one 1×1×4C pixel, so that
 * later couplings and 1×1 convolutions mix neighbouring pixels. A permutation: its log-determinant
 * is 0, and `inverseFlow` puts every value back.
 */
export class PatchbayFlowSqueeze extends tf.layers.Layer {
  static className = 'PatchbayFlowSqueeze';

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const [b, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [b ?? null, h == null ? null : h / 2, w == null ? null : w / 2, c == null ? null : c * 4];
  }

  /** y and its log|det J| per example (0: a squeeze only moves values). */
  forwardFlow(x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor } {
    const [b, h, w, c] = x.shape as [number, number, number, number];
    if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`Squeeze needs an even height and width, got ${h}×${w}.`);
    const y = tf.reshape(tf.transpose(tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 2, 4, 5]), [b, h / 2, w / 2, 4 * c]);
    return { y, logdet: tf.zeros([b]) };
  }

  inverseFlow(y: tf.Tensor): tf.Tensor {
    const [b, h, w, c4] = y.shape as [number, number, number, number];
    const c = c4 / 4;
    return tf.reshape(tf.transpose(tf.reshape(y, [b, h, w, 2, 2, c]), [0, 1, 3, 2, 4, 5]), [b, 2 * h, 2 * w, c]);
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.forwardFlow(Array.isArray(inputs) ? inputs[0]! : inputs).y);
  }
}
tf.serialization.registerClass(PatchbayFlowSqueeze);
