import * as tf from '@tensorflow/tfjs';

/** What PatchbayTimestepEmbedding takes: tfjs's own layer arguments plus the embedding's width. */
export type PatchbayTimestepEmbeddingArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Width of the embedding (DDPM: the UNet's base channels). */
  dim: number;
  /** The longest period of the sinusoids (10,000 as in the Transformer). */
  maxPeriod?: number;
};

/**
 * The sinusoidal timestep embedding of the diffusion UNets (improved-diffusion nn.timestep_embedding):
 * a timestep t [batch, 1] becomes [cos(t·f_0) … cos(t·f_{h−1}), sin(t·f_0) … sin(t·f_{h−1})] with
 * h = dim/2 and f_i = maxPeriod^(−i/h); an odd width gets a zero last. No weights: the dense layers
 * after it (in the UNet) learn what to make of it.
 */
export class PatchbayTimestepEmbedding extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayTimestepEmbedding';
  readonly dim: number;
  readonly maxPeriod: number;

  constructor(args: PatchbayTimestepEmbeddingArgs) {
    super(args);
    if (!Number.isInteger(args.dim) || args.dim < 2) throw new Error(`A timestep embedding needs a whole width of at least 2, got ${args.dim}.`);
    this.dim = args.dim;
    this.maxPeriod = args.maxPeriod ?? 10000;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, this.dim];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const t = tf.reshape(Array.isArray(inputs) ? inputs[0]! : inputs, [-1, 1]);
      const half = Math.floor(this.dim / 2);
      const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(this.maxPeriod) * i) / half));
      const args = tf.mul(t, tf.tensor2d(freqs, [1, half]));
      const parts = [tf.cos(args), tf.sin(args)];
      if (this.dim % 2 === 1) parts.push(tf.zeros([t.shape[0]!, 1]));
      return tf.concat(parts, 1);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, maxPeriod: this.maxPeriod };
  }
}
tf.serialization.registerClass(PatchbayTimestepEmbedding);
