import * as tf from '@tensorflow/tfjs';

/** What PatchbayTimeResBlock takes: tfjs's own layer arguments plus the block's params. */
export type PatchbayTimeResBlockArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Output channels; a 1×1 shortcut is added when they differ from the input's. */
  filters: number;
  /** GroupNorm groups (32 in DDPM). */
  groups?: number;
  /** Dropout before the second convolution while training. */
  dropout?: number;
  /** ADM's AdaGN: the embedding gives a scale and shift after the second norm, instead of an added bias. */
  scaleShift?: boolean;
};

/**
 * The diffusion UNets' residual block with a timestep embedding: inputs x [batch, H, W, C] and an
 * embedding [batch, E]. h = conv3×3(swish(GN(x))); then either h + dense(swish(emb)) before the
 * second GN (DDPM) or GN(h)·(1 + scale) + shift (ADM); swish, dropout, a zero-initialised conv3×3;
 * plus x (through a 1×1 projection when C ≠ filters). The same block PatchbayUNet uses inside.
 */
export class PatchbayTimeResBlock extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayTimeResBlock';
  readonly filters: number;
  readonly groups: number;
  readonly dropout: number;
  readonly scaleShift: boolean;
  /** Named like tfjs's initialiser fields, so that a seeded build seeds it; each kernel derives its own seed from it. */
  kernelInitializer: ReturnType<typeof tf.initializers.zeros> = tf.initializers.glorotUniform({});
  /** Dropout's seed; a seeded run sets it before each training step (seedStep), so masks repeat with the run. */
  seed: number | undefined = undefined;
  private w = new Map<string, tf.LayerVariable>();
  private inChannels = 0;

  constructor(args: PatchbayTimeResBlockArgs) {
    super(args);
    this.filters = args.filters;
    this.groups = args.groups ?? 32;
    this.dropout = args.dropout ?? 0;
    this.scaleShift = args.scaleShift ?? false;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const [x, emb] = inputShape as tf.Shape[];
    if (!x || !emb || x.length !== 4 || emb.length !== 2)
      throw new Error('A residual block takes images [batch, height, width, channels] and an embedding [batch, features].');
    const [c, e, o] = [x[3]!, emb[1]!, this.filters];
    for (const n of [c, o])
      if (n % this.groups !== 0) throw new Error(`GroupNorm splits ${n} channels into ${this.groups} groups, but ${n} is not a multiple of ${this.groups}.`);
    const base = (this.kernelInitializer.getConfig() as { seed?: number }).seed;
    let k = 0;
    const glorot = () => tf.initializers.glorotUniform(base === undefined ? {} : { seed: ((base + ++k * 7919) % 2147483646) + 1 });
    const add = (name: string, shape: number[], init: ReturnType<typeof tf.initializers.zeros>) =>
      this.w.set(name, this.addWeight(name, shape, 'float32', init));
    add('norm1/gamma', [c], tf.initializers.ones());
    add('norm1/beta', [c], tf.initializers.zeros());
    add('conv1/kernel', [3, 3, c, o], glorot());
    add('conv1/bias', [o], tf.initializers.zeros());
    add('temb/kernel', [e, this.scaleShift ? 2 * o : o], glorot());
    add('temb/bias', [this.scaleShift ? 2 * o : o], tf.initializers.zeros());
    add('norm2/gamma', [o], tf.initializers.ones());
    add('norm2/beta', [o], tf.initializers.zeros());
    add('conv2/kernel', [3, 3, o, o], tf.initializers.zeros());
    add('conv2/bias', [o], tf.initializers.zeros());
    if (c !== o) {
      add('shortcut/kernel', [c, o], glorot());
      add('shortcut/bias', [o], tf.initializers.zeros());
    }
    this.inChannels = c;
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const x = (inputShape as tf.Shape[])[0]!;
    return [x[0]!, x[1]!, x[2]!, this.filters];
  }

  private get(name: string): tf.Tensor {
    return this.w.get(name)!.read();
  }

  private norm(name: string, x: tf.Tensor): tf.Tensor {
    const c = x.shape[3]!;
    const grouped = tf.reshape(x, [x.shape[0]!, -1, this.groups, c / this.groups]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const normalized = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, 1e-5))), x.shape);
    return tf.add(tf.mul(normalized, this.get(`${name}/gamma`)), this.get(`${name}/beta`));
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const [x, emb] = inputs as tf.Tensor[];
      const swish = (t: tf.Tensor) => tf.mul(t, tf.sigmoid(t));
      const conv = (name: string, t: tf.Tensor) =>
        tf.add(tf.conv2d(t as tf.Tensor4D, this.get(`${name}/kernel`) as tf.Tensor4D, 1, 'same'), this.get(`${name}/bias`));
      let h = conv('conv1', swish(this.norm('norm1', x!)));
      const e = tf.reshape(tf.add(tf.matMul(swish(emb!) as tf.Tensor2D, this.get('temb/kernel') as tf.Tensor2D), this.get('temb/bias')), [
        x!.shape[0]!,
        1,
        1,
        -1,
      ]);
      if (this.scaleShift) {
        const [scale, shift] = tf.split(e, 2, 3);
        h = tf.add(tf.mul(this.norm('norm2', h), tf.add(scale!, 1)), shift!);
      } else h = this.norm('norm2', tf.add(h, e));
      h = swish(h);
      if (kwargs.training === true && this.dropout > 0) h = tf.dropout(h, this.dropout, undefined, this.seed);
      h = conv('conv2', h);
      if (this.inChannels === this.filters) return tf.add(x!, h);
      const [b, height, width, c] = x!.shape as [number, number, number, number];
      const shortcut = tf.add(tf.matMul(tf.reshape(x!, [-1, c]) as tf.Tensor2D, this.get('shortcut/kernel') as tf.Tensor2D), this.get('shortcut/bias'));
      return tf.add(tf.reshape(shortcut, [b, height, width, this.filters]), h);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, groups: this.groups, dropout: this.dropout, scaleShift: this.scaleShift };
  }
}
tf.serialization.registerClass(PatchbayTimeResBlock);
