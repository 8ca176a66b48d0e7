import * as tf from '@tensorflow/tfjs';

/** What PatchbaySpatialAttention takes: tfjs's own layer arguments plus its params. */
export type PatchbaySpatialAttentionArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Attention heads; the channels must be a multiple of it (DDPM: 1). */
  heads?: number;
  /** GroupNorm groups before q, k, v (32 in DDPM). */
  groups?: number;
};

/**
 * Self-attention over the positions of an image, residual, as the diffusion UNets place it at
 * chosen resolutions (DDPM's AttnBlock, ADM's AttentionBlock): x + proj(attention(q, k, v)) with
 * q, k, v one dense layer on GN(x), per head softmax(q·kᵀ/√d)·v, and a zero-initialised proj.
 * Matrix products keep equal batch dims (tfjs#8721: a broadcast one has a wrong gradient).
 */
export class PatchbaySpatialAttention extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbaySpatialAttention';
  readonly heads: number;
  readonly groups: number;
  /** Named like tfjs's initialiser fields, so that a seeded build seeds the q, k, v kernel. */
  kernelInitializer: ReturnType<typeof tf.initializers.zeros> = tf.initializers.glorotUniform({});
  private w = new Map<string, tf.LayerVariable>();

  constructor(args: PatchbaySpatialAttentionArgs) {
    super(args);
    this.heads = args.heads ?? 1;
    this.groups = args.groups ?? 32;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[3];
    if (shape.length !== 4 || c == null) throw new Error('Spatial attention takes images [batch, height, width, channels] with known channels.');
    if (c % this.groups !== 0) throw new Error(`GroupNorm splits ${c} channels into ${this.groups} groups, but ${c} is not a multiple of ${this.groups}.`);
    if (c % this.heads !== 0) throw new Error(`Attention splits ${c} channels into ${this.heads} heads, but ${c} is not a multiple of ${this.heads}.`);
    const add = (name: string, s: number[], init: ReturnType<typeof tf.initializers.zeros>) => this.w.set(name, this.addWeight(name, s, 'float32', init));
    add('norm/gamma', [c], tf.initializers.ones());
    add('norm/beta', [c], tf.initializers.zeros());
    add('qkv/kernel', [c, 3 * c], this.kernelInitializer);
    add('qkv/bias', [3 * c], tf.initializers.zeros());
    add('proj/kernel', [c, c], tf.initializers.zeros());
    add('proj/bias', [c], tf.initializers.zeros());
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const get = (name: string) => this.w.get(name)!.read();
      const [b, height, width, c] = x.shape as [number, number, number, number];
      const [n, heads, d] = [height * width, this.heads, c / this.heads];
      const grouped = tf.reshape(x, [b, -1, this.groups, c / this.groups]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      const normed = tf.add(
        tf.mul(tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, 1e-5))), [b * n, c]), get('norm/gamma')),
        get('norm/beta'),
      );
      const qkv = tf.reshape(tf.add(tf.matMul(normed as tf.Tensor2D, get('qkv/kernel') as tf.Tensor2D), get('qkv/bias')), [b, n, 3 * c]);
      const perHead = (part: number) =>
        tf.reshape(tf.transpose(tf.reshape(tf.slice(qkv, [0, 0, part * c], [b, n, c]), [b, n, heads, d]), [0, 2, 1, 3]), [b * heads, n, d]);
      const [q, k, v] = [perHead(0), perHead(1), perHead(2)];
      const weights = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)));
      const mixed = tf.reshape(tf.transpose(tf.reshape(tf.matMul(weights, v), [b, heads, n, d]), [0, 2, 1, 3]), [b * n, c]);
      const out = tf.add(tf.matMul(mixed as tf.Tensor2D, get('proj/kernel') as tf.Tensor2D), get('proj/bias'));
      return tf.add(x, tf.reshape(out, [b, height, width, c]));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, groups: this.groups };
  }
}
tf.serialization.registerClass(PatchbaySpatialAttention);
