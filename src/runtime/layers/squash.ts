import * as tf from '@tensorflow/tfjs';

/** What PatchbaySquash takes: tfjs's own layer arguments (name, trainable…) plus its one param. */
export type PatchbaySquashArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Added to ‖s‖² under the square root, so that a zero vector has a finite gradient (1e-7 when left out). */
  epsilon?: number;
};

/**
 * The capsule non-linearity of Sabour, Frosst & Hinton (2017), eq. 1, along the last axis:
 * v = ‖s‖² / (1 + ‖s‖²) · s / ‖s‖. A vector keeps its direction (the pose) and its length is pushed
 * into [0, 1) (the probability that the entity exists): short vectors shrink to almost zero, long ones
 * approach length 1. Written as s · ‖s‖² / ((1 + ‖s‖²) · √(‖s‖² + ε)). No weights.
 */
export class PatchbaySquash extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbaySquash';
  readonly epsilon: number;

  constructor(args: PatchbaySquashArgs) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-7;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => PatchbaySquashOf(Array.isArray(inputs) ? inputs[0]! : inputs, this.epsilon));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

/** squash(s) along the last axis (eq. 1 of the paper). */
export function PatchbaySquashOf(s: tf.Tensor, epsilon: number): tf.Tensor {
  const squaredNorm = tf.sum(tf.square(s), -1, true);
  return tf.mul(s, tf.div(squaredNorm, tf.mul(tf.add(1, squaredNorm), tf.sqrt(tf.add(squaredNorm, epsilon)))));
}
tf.serialization.registerClass(PatchbaySquash);
