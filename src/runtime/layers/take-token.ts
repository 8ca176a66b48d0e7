import * as tf from '@tensorflow/tfjs';

/** What PatchbayTakeToken takes: tfjs's own layer arguments (name…) plus which token to take. */
export type PatchbayTakeTokenArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /**
   * "first": the token at position 0 (ViT's class token). "endOfText": for each example, the token at
   * the position of the largest id in a second input of token ids (CLIP's end-of-text token, whose id
   * is the largest in its vocabulary).
   */
  mode?: 'first' | 'endOfText';
};

/**
 * Takes one token out of a sequence: (batch, tokens, width) → (batch, width). In "endOfText" mode the
 * position differs per example; it is chosen for the whole batch at once, as a one-hot row of the
 * argmax of the ids multiplied into the tokens (a batched matMul, whose gradient reaches the chosen
 * token), with no loop over examples. No weights.
 */
export class PatchbayTakeToken extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayTakeToken';
  readonly mode: 'first' | 'endOfText';

  constructor(args: PatchbayTakeTokenArgs) {
    super(args ?? {});
    this.mode = args?.mode ?? 'first';
    if (this.mode !== 'first' && this.mode !== 'endOfText') throw new Error(`TakeToken's mode is "first" or "endOfText", got "${String(this.mode)}".`);
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, shape[2]!];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const x = list[0]!;
      const [batch, tokens, width] = x.shape as [number, number, number];
      if (this.mode === 'first') return tf.reshape(tf.slice(x, [0, 0, 0], [batch, 1, width]), [batch, width]);
      const ids = list[1];
      if (!ids) throw new Error('TakeToken in "endOfText" mode needs a second input: the token ids, (batch, tokens).');
      const position = tf.argMax(tf.cast(ids, 'float32'), 1);
      const pick = tf.reshape(tf.oneHot(position, tokens), [batch, 1, tokens]);
      return tf.reshape(tf.matMul(pick, x), [batch, width]);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}
tf.serialization.registerClass(PatchbayTakeToken);
