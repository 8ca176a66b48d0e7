import * as tf from '@tensorflow/tfjs';

/** What PatchbayPrimaryCapsules takes: tfjs's own layer arguments (name, trainable…) plus its params. */
export type PatchbayPrimaryCapsulesArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Capsule types per position (32 in the paper): the convolution has capsules × capsuleDim filters. */
  capsules: number;
  /** Length of each capsule vector (8 in the paper). */
  capsuleDim: number;
  /** Square window of the convolution (9 in the paper). */
  kernelSize: number;
  /** Step of the convolution (2 in the paper). */
  strides: number;
  /** 'valid' (the paper) or 'same'. */
  padding?: 'valid' | 'same';
  /** Added to ‖s‖² in the squash (1e-7 when left out). */
  epsilon?: number;
};

/**
 * The primary capsule layer of Sabour, Frosst & Hinton (2017): one convolution with
 * capsules × capsuleDim filters (and a bias), whose output [batch, h, w, capsules·capsuleDim] is read
 * as h·w·capsules capsules of capsuleDim values each (channel c·capsuleDim + d is dimension d of
 * capsule type c), then squashed so that each capsule's length lies in [0, 1). Output
 * [batch, h·w·capsules, capsuleDim]; in the paper's MNIST network 6·6·32 = 1,152 capsules of 8-D.
 */
export class PatchbayPrimaryCapsules extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayPrimaryCapsules';
  readonly capsules: number;
  readonly capsuleDim: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: 'valid' | 'same';
  readonly epsilon: number;
  /** Named like tfjs's own initialiser fields, so that a seeded build seeds it. */
  kernelInitializer = tf.initializers.glorotUniform({});
  biasInitializer = tf.initializers.zeros();
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: PatchbayPrimaryCapsulesArgs) {
    super(args);
    for (const key of ['capsules', 'capsuleDim', 'kernelSize', 'strides'] as const) {
      if (!Number.isInteger(args[key]) || args[key] < 1) throw new Error(`PrimaryCapsules needs ${key} to be a whole number of at least 1, got ${args[key]}.`);
    }
    this.capsules = args.capsules;
    this.capsuleDim = args.capsuleDim;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides;
    this.padding = args.padding ?? 'valid';
    this.epsilon = args.epsilon ?? 1e-7;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[3];
    if (shape.length !== 4 || channels == null)
      throw new Error(`PrimaryCapsules needs images (batch, height, width, channels), got input shape [${shape.join(', ')}].`);
    const filters = this.capsules * this.capsuleDim;
    this.kernel = this.addWeight('kernel', [this.kernelSize, this.kernelSize, channels, filters], 'float32', this.kernelInitializer);
    this.bias = this.addWeight('bias', [filters], 'float32', this.biasInitializer);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const side = (n: number | null) =>
      n == null ? null : this.padding === 'same' ? Math.ceil(n / this.strides) : Math.ceil((n - this.kernelSize + 1) / this.strides);
    const [h, w] = [side(shape[1] ?? null), side(shape[2] ?? null)];
    return [shape[0] ?? null, h == null || w == null ? null : h * w * this.capsules, this.capsuleDim];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const conv = tf.add(tf.conv2d(x, this.kernel!.read() as tf.Tensor4D, this.strides, this.padding), this.bias!.read());
      const s = tf.reshape(conv, [x.shape[0], -1, this.capsuleDim]);
      // squash (eq. 1): s · ‖s‖² / ((1 + ‖s‖²) · √(‖s‖² + ε)).
      const squaredNorm = tf.sum(tf.square(s), -1, true);
      return tf.mul(s, tf.div(squaredNorm, tf.mul(tf.add(1, squaredNorm), tf.sqrt(tf.add(squaredNorm, this.epsilon)))));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      capsules: this.capsules,
      capsuleDim: this.capsuleDim,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      epsilon: this.epsilon,
    };
  }
}
tf.serialization.registerClass(PatchbayPrimaryCapsules);
