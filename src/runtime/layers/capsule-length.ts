import * as tf from '@tensorflow/tfjs';

/** What PatchbayCapsuleLength takes: tfjs's own layer arguments (name, trainable…) plus its one param. */
export type PatchbayCapsuleLengthArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Added to ‖v‖² under the square root, so that a zero capsule has a finite gradient (1e-7 when left out). */
  epsilon?: number;
};

/**
 * The length of each capsule: [batch, capsules, dim] → [batch, capsules], √(‖v‖² + ε). After a squash
 * the length is the probability that the capsule's entity is present, which the margin loss and the
 * accuracy read (the class is the longest digit capsule). No weights.
 */
export class PatchbayCapsuleLength extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayCapsuleLength';
  readonly epsilon: number;

  constructor(args: PatchbayCapsuleLengthArgs) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-7;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return shape.slice(0, -1);
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const v = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.sqrt(tf.add(tf.sum(tf.square(v), -1), this.epsilon));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(PatchbayCapsuleLength);
