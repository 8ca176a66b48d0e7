import * as tf from '@tensorflow/tfjs';

/** What PatchbayGroupNormalization takes: tfjs's own layer arguments (name, trainable…) plus its two params. */
export type PatchbayGroupNormalizationArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** How many groups the channels are split into; the channel count must be a multiple of it. */
  groups: number;
  /** Added to the variance for stability (PyTorch's default, 1e-5, when left out). */
  epsilon?: number;
};

/**
 * Group normalisation (Wu & He, 2018) with PyTorch's `nn.GroupNorm` semantics, channels last: the
 * channels of each example are split into `groups` groups, and each group is normalised over all its
 * positions and its channels together (mean and biased variance), then scaled and shifted by a
 * learned per-channel gamma and beta. Works on any rank from 2 up: [batch, channels],
 * [batch, length, channels], [batch, height, width, channels]…
 */
export class PatchbayGroupNormalization extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayGroupNormalization';
  readonly groups: number;
  readonly epsilon: number;
  /** Named like tfjs's own initialiser fields, so that a seeded build finds them (these two are constant: nothing to seed). */
  gammaInitializer = tf.initializers.ones();
  betaInitializer = tf.initializers.zeros();
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;

  constructor(args: PatchbayGroupNormalizationArgs) {
    super(args);
    if (!Number.isInteger(args.groups) || args.groups < 1)
      throw new Error(`GroupNormalization needs a whole number of groups of at least 1, got ${args.groups}.`);
    this.groups = args.groups;
    this.epsilon = args.epsilon ?? 1e-5;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (shape.length < 2 || channels == null) throw new Error(`GroupNormalization needs a known channel axis last, got input shape [${shape.join(', ')}].`);
    if (channels % this.groups !== 0)
      throw new Error(`GroupNormalization splits ${channels} channels into ${this.groups} groups, but ${channels} is not a multiple of ${this.groups}.`);
    this.gamma = this.addWeight('gamma', [channels], 'float32', this.gammaInitializer);
    this.beta = this.addWeight('beta', [channels], 'float32', this.betaInitializer);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const channels = x.shape[x.rank - 1]!;
      // [batch, positions, groups, channels per group]: each group's statistics span axes 1 and 3.
      const grouped = tf.reshape(x, [x.shape[0]!, -1, this.groups, channels / this.groups]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      const normalized = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(tf.reshape(normalized, x.shape), this.gamma!.read()), this.beta!.read());
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(PatchbayGroupNormalization);
