import * as tf from '@tensorflow/tfjs';

/** What PatchbayGlomLevels takes: tfjs's own layer arguments (name, trainable…) plus its params. */
export type PatchbayGlomLevelsArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Levels per column (L): part, object… (3 when left out). */
  levels?: number;
};

/**
 * The starting state of GLOM's columns (Hinton, 2021): [batch, columns, width] patch embeddings in,
 * [batch, columns, levels, width] out, every column starting from the same learned embedding per level
 * (as lucidrains/glom-pytorch's init_levels). The patch embeddings only give the shape here: what a
 * column sees of its patch reaches level 1 through the bottom-up network of the first iteration.
 */
export class PatchbayGlomLevels extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayGlomLevels';
  readonly levels: number;
  /** Named like tfjs's initialiser fields, so that a seeded build seeds it. */
  embeddingsInitializer: ReturnType<typeof tf.initializers.randomNormal>;
  private start: tf.LayerVariable | null = null;

  constructor(args: PatchbayGlomLevelsArgs) {
    super(args);
    this.levels = args.levels ?? 3;
    if (!Number.isInteger(this.levels) || this.levels < 1) throw new Error(`GLOM levels needs levels to be a whole number of at least 1, got ${this.levels}.`);
    this.embeddingsInitializer = tf.initializers.randomNormal({ mean: 0, stddev: 1 });
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 3 || shape[2] == null)
      throw new Error(`GLOM levels takes patch embeddings (batch, columns, width), got input shape [${shape.join(', ')}].`);
    this.start = this.addWeight('start', [this.levels, shape[2]], 'float32', this.embeddingsInitializer);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0] ?? null, shape[1] ?? null, this.levels, shape[2] ?? null];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const patches = Array.isArray(inputs) ? inputs[0]! : inputs;
      // [N, C, 1, D]·0 + [L, D] broadcasts to [N, C, L, D] (a broadcast add has gradients everywhere; tile has none at rank 4 on some backends).
      return tf.add(tf.mul(tf.expandDims(patches, 2), 0), this.start!.read());
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), levels: this.levels };
  }
}
tf.serialization.registerClass(PatchbayGlomLevels);
