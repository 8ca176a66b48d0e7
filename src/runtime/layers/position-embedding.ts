import * as tf from '@tensorflow/tfjs';

/** What PatchbayPositionEmbedding takes: tfjs's own layer arguments (name, trainable…) plus its param. */
export type PatchbayPositionEmbeddingArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Standard deviation of the normal distribution the embeddings start from (0.02 as ViT's code when left out). */
  stddev?: number;
};

/**
 * Learned position embeddings, added: one learned vector per position, (tokens, width), added to every
 * example of a (batch, tokens, width) input, as ViT and CLIP do. The number of tokens is fixed when the
 * layer builds.
 */
export class PatchbayPositionEmbedding extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayPositionEmbedding';
  readonly stddev: number;
  embeddingsInitializer: ReturnType<typeof tf.initializers.randomNormal>;
  private embeddings: tf.LayerVariable | null = null;

  constructor(args: PatchbayPositionEmbeddingArgs) {
    super(args ?? {});
    this.stddev = args?.stddev ?? 0.02;
    this.embeddingsInitializer = tf.initializers.randomNormal({ mean: 0, stddev: this.stddev });
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [, tokens, width] = shape;
    if (shape.length !== 3 || tokens == null || width == null)
      throw new Error(`PositionEmbedding takes (batch, tokens, width) with a known number of tokens and width, got input shape [${shape.join(', ')}].`);
    this.embeddings = this.addWeight('embeddings', [tokens, width], 'float32', this.embeddingsInitializer);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.add(x, this.embeddings!.read());
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), stddev: this.stddev };
  }
}
tf.serialization.registerClass(PatchbayPositionEmbedding);
