import * as tf from '@tensorflow/tfjs';

/** What PatchbayL2Normalize takes: tfjs's own layer arguments (name, trainable…) plus its two params. */
export type PatchbayL2NormalizeArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** The axis whose vectors get unit length; -1 is the last. */
  axis?: number;
  /** The smallest norm divided by, so that a zero vector stays zero (PyTorch's default, 1e-12, when left out). */
  epsilon?: number;
};

/**
 * Scales each vector along `axis` to unit Euclidean length, as PyTorch's `F.normalize` does:
 * x / max(‖x‖₂, epsilon). Written as x · rsqrt(max(Σx², epsilon²)), which is the same value and
 * keeps the gradient finite at a zero vector (the square root's derivative at 0 is infinite).
 * No weights.
 */
export class PatchbayL2Normalize extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayL2Normalize';
  readonly axis: number;
  readonly epsilon: number;

  constructor(args: PatchbayL2NormalizeArgs) {
    super(args);
    this.axis = args.axis ?? -1;
    this.epsilon = args.epsilon ?? 1e-12;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const squares = tf.sum(tf.square(x), this.axis, true);
      return tf.mul(x, tf.rsqrt(tf.maximum(squares, this.epsilon * this.epsilon)));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(PatchbayL2Normalize);
