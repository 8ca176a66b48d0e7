import * as tf from '@tensorflow/tfjs';

/** What PatchbayClassToken takes: tfjs's own layer arguments (name, trainable…); it has no params of its own. */
export type PatchbayClassTokenArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/**
 * Prepends one learned token to a sequence, as ViT's `[class]` token (its final state is what the
 * head reads): (batch, tokens, width) → (batch, tokens + 1, width). The token starts at zeros, as in
 * the reference JAX code. It is stored as a vector of the width, so decoupled weight decay, which
 * skips vectors, leaves it alone, as timm does.
 */
export class PatchbayClassToken extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayClassToken';
  tokenInitializer = tf.initializers.zeros();
  private token: tf.LayerVariable | null = null;

  constructor(args: PatchbayClassTokenArgs) {
    super(args ?? {});
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const width = shape[shape.length - 1];
    if (shape.length !== 3 || width == null)
      throw new Error(`ClassToken takes (batch, tokens, width) with a known width, got input shape [${shape.join(', ')}].`);
    this.token = this.addWeight('token', [width], 'float32', this.tokenInitializer);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, shape[1] == null ? null : shape[1] + 1, shape[2]!];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [batch, , width] = x.shape as [number, number, number];
      // One copy of the token per example; tile's gradient sums the copies back into the one token.
      const tokens = tf.tile(tf.reshape(this.token!.read(), [1, 1, width]), [batch, 1, 1]);
      return tf.concat([tokens, x], 1);
    });
  }
}
tf.serialization.registerClass(PatchbayClassToken);
