import * as tf from '@tensorflow/tfjs';

/** What PatchbayAffineCoupling takes: tfjs's own layer arguments plus the coupling's params. */
export type PatchbayAffineCouplingArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Which half is kept and conditions the other: 0 or 1 (alternate it between couplings). */
  parity: number;
  /** Images: split by a checkerboard of pixels or by halves of the channels. Vectors split even/odd coordinates. */
  mask?: 'checkerboard' | 'channel';
  /** Width of the conditioner's hidden layers (units for vectors, channels for images). */
  hidden: number;
  /** Hidden layers of each vector conditioner (s and t each get this many). */
  depth?: number;
  /** Images: the scale from the conditioner's h, σ(h + 2) as Glow or exp(tanh h), bounded both ways. */
  scale?: 'sigmoid' | 'tanh';
};

/**
 * An affine coupling, a flow step (RealNVP, Glow): half of the input is kept, and a small network of
 * that half gives a scale and a shift for the other half, so the step is invertible whatever the
 * network is, and its Jacobian is triangular: log|det J| = Σ log(scale).
 *
 * - Vectors [batch, D] (RealNVP on 2-D data, as karpathy/pytorch-normalizing-flows' AffineHalfFlow):
 *   the even (parity 0) or odd coordinates are kept; two MLPs s and t of `depth` hidden layers with
 *   LeakyReLU(0.2) map them to y_b = x_b·exp(s) + t.
 * - Images [batch, H, W, C] (Glow): a checkerboard or channel mask m; a conv net (3×3 conv, ReLU,
 *   1×1, ReLU, 3×3 conv started at zero) of m·x gives shift and h; y = m·x + (1 − m)·(x + shift)·scale,
 *   scale = σ(h + 2) (Glow) or exp(tanh h). σ(h + 2) only shrinks and its inverse divides by it, so a
 *   sample from far in the prior's tails can overflow to infinity; exp(tanh h) lies in [1/e, e].
 * The last layer of every conditioner starts at zero, so a new coupling is (nearly) the identity.
 */
export class PatchbayAffineCoupling extends tf.layers.Layer {
  static className = 'PatchbayAffineCoupling';
  readonly parity: number;
  readonly mask: 'checkerboard' | 'channel';
  readonly hidden: number;
  readonly depth: number;
  readonly scale: 'sigmoid' | 'tanh';
  /** Named like tfjs's initialiser fields, so that a seeded build seeds them. */
  kernelInitializer = tf.initializers.glorotUniform({});
  private weightsOf: tf.LayerVariable[] = [];
  private vector = true;

  constructor(args: PatchbayAffineCouplingArgs) {
    super(args);
    if (args.parity !== 0 && args.parity !== 1) throw new Error(`An affine coupling's parity is 0 or 1, got ${args.parity}.`);
    if (!Number.isInteger(args.hidden) || args.hidden < 1) throw new Error(`An affine coupling needs at least 1 hidden unit, got ${args.hidden}.`);
    this.parity = args.parity;
    this.mask = args.mask ?? 'checkerboard';
    this.hidden = args.hidden;
    this.depth = args.depth ?? 3;
    this.scale = args.scale ?? 'sigmoid';
    if (this.scale !== 'sigmoid' && this.scale !== 'tanh') throw new Error(`An affine coupling's scale is "sigmoid" or "tanh", got "${String(args.scale)}".`);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const zeros = tf.initializers.zeros();
    const add = (name: string, dims: number[], init: ReturnType<typeof tf.initializers.zeros>) =>
      this.weightsOf.push(this.addWeight(name, dims, 'float32', init));
    if (shape.length === 2) {
      const d = shape[1];
      if (d == null || d < 2) throw new Error(`An affine coupling of vectors needs at least 2 known features, got [${shape.join(', ')}].`);
      this.vector = true;
      const [kept, changed] = this.vectorSplit(d);
      // s and t are two MLPs of the same widths, held stacked ([2, in, out] per layer) and run as one
      // batched product: half the variables and kernels of two separate nets, the same parameters.
      let width = kept.length;
      for (let i = 0; i <= this.depth; i++) {
        const out = i === this.depth ? changed.length : this.hidden;
        const kernel = this.addWeight(i === this.depth ? 'kernel_out' : `kernel_${i}`, [2, width, out], 'float32', zeros);
        if (i < this.depth) {
          // One draw of the seeded initialiser for both nets, [width, 2·out] split into s's and t's halves.
          const init = tf.tidy(() => tf.transpose(tf.reshape(this.kernelInitializer.apply([width, 2 * out]), [width, 2, out]), [1, 0, 2]));
          kernel.write(init);
          init.dispose();
        }
        this.weightsOf.push(kernel);
        add(i === this.depth ? 'bias_out' : `bias_${i}`, [2, 1, out], zeros);
        width = out;
      }
    } else if (shape.length === 4) {
      const c = shape[3];
      if (c == null || shape[1] == null || shape[2] == null)
        throw new Error(`An affine coupling of images needs a known height, width and channels, got [${shape.join(', ')}].`);
      if (this.mask === 'channel' && c < 2) throw new Error(`A channel mask needs at least 2 channels, got ${c}.`);
      this.vector = false;
      add('conv1_kernel', [3, 3, c, this.hidden], this.kernelInitializer);
      add('conv1_bias', [this.hidden], zeros);
      add('mix_kernel', [this.hidden, this.hidden], this.kernelInitializer);
      add('mix_bias', [this.hidden], zeros);
      add('conv2_kernel', [3, 3, this.hidden, 2 * c], zeros);
      add('conv2_bias', [2 * c], zeros);
    } else throw new Error(`An affine coupling takes vectors [batch, features] or images [batch, height, width, channels], got [${shape.join(', ')}].`);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** Vector coordinates kept (conditioning) and changed, by parity. */
  private vectorSplit(d: number): [number[], number[]] {
    const even = Array.from({ length: d }, (_, i) => i).filter((i) => i % 2 === 0);
    const odd = Array.from({ length: d }, (_, i) => i).filter((i) => i % 2 === 1);
    return this.parity === 0 ? [even, odd] : [odd, even];
  }

  /** s(a) and t(a): both MLPs at once, [2, batch, in] through batched products. */
  private scaleAndShift(a: tf.Tensor): { s: tf.Tensor; t: tf.Tensor } {
    const w = this.weightsOf.map((v) => v.read());
    let h: tf.Tensor = tf.stack([a, a]);
    for (let i = 0; i <= this.depth; i++) {
      h = tf.add(tf.matMul(h as tf.Tensor3D, w[2 * i] as tf.Tensor3D), w[2 * i + 1]!);
      if (i < this.depth) h = tf.leakyRelu(h, 0.2);
    }
    const [s, t] = tf.unstack(h);
    return { s: s!, t: t! };
  }

  /** The image mask m (1 where kept), [1, H, W, C]. */
  private imageMask(h: number, w: number, c: number): tf.Tensor {
    const m = new Float32Array(h * w * c);
    for (let r = 0; r < h; r++)
      for (let q = 0; q < w; q++)
        for (let k = 0; k < c; k++) {
          const kept = this.mask === 'checkerboard' ? (r + q + this.parity) % 2 === 0 : k < c / 2 !== (this.parity === 1);
          m[(r * w + q) * c + k] = kept ? 1 : 0;
        }
    return tf.tensor4d(m, [1, h, w, c]);
  }

  /** shift and log(scale) for the changed part, from the kept part m·x. */
  private imageConditioner(kept: tf.Tensor): { shift: tf.Tensor; logScale: tf.Tensor } {
    const [n, h, w, c] = kept.shape as [number, number, number, number];
    const v = this.weightsOf.map((x) => x.read());
    const a = tf.relu(tf.add(tf.conv2d(kept as tf.Tensor4D, v[0] as tf.Tensor4D, 1, 'same'), v[1]!));
    // The 1×1 convolution as a dense product: the same map, far cheaper to differentiate on the CPU.
    const b = tf.relu(tf.add(tf.reshape(tf.matMul(tf.reshape(a, [-1, this.hidden]) as tf.Tensor2D, v[2] as tf.Tensor2D), [n, h, w, this.hidden]), v[3]!));
    const out = tf.add(tf.conv2d(b as tf.Tensor4D, v[4] as tf.Tensor4D, 1, 'same'), v[5]!);
    const [shift, raw] = tf.split(out, [c, c], 3);
    if (this.scale === 'tanh') return { shift: shift!, logScale: tf.tanh(raw!) };
    // log σ(h + 2) as −softplus(−(h + 2)): tf.logSigmoid's gradient reads a tensor that the gradient tape has already freed.
    return { shift: shift!, logScale: tf.neg(tf.softplus(tf.neg(tf.add(raw!, 2)))) };
  }

  forwardFlow(x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor } {
    if (this.vector) {
      const [kept, changed] = this.vectorSplit(x.shape[1]!);
      const a = tf.gather(x, kept, 1);
      const b = tf.gather(x, changed, 1);
      const { s, t } = this.scaleAndShift(a);
      const yb = tf.add(tf.mul(b, tf.exp(s)), t);
      return { y: this.unsplit(a, yb, kept, changed), logdet: tf.sum(s, 1) };
    }
    const [, h, w, c] = x.shape as [number, number, number, number];
    const m = this.imageMask(h, w, c);
    const free = tf.sub(1, m);
    const { shift, logScale } = this.imageConditioner(tf.mul(x, m));
    const y = tf.add(tf.mul(x, m), tf.mul(free, tf.mul(tf.add(x, shift), tf.exp(logScale))));
    return { y, logdet: tf.sum(tf.mul(free, logScale), [1, 2, 3]) };
  }

  inverseFlow(y: tf.Tensor): tf.Tensor {
    if (this.vector) {
      const [kept, changed] = this.vectorSplit(y.shape[1]!);
      const a = tf.gather(y, kept, 1);
      const yb = tf.gather(y, changed, 1);
      const { s, t } = this.scaleAndShift(a);
      const b = tf.mul(tf.sub(yb, t), tf.exp(tf.neg(s)));
      return this.unsplit(a, b, kept, changed);
    }
    const [, h, w, c] = y.shape as [number, number, number, number];
    const m = this.imageMask(h, w, c);
    const { shift, logScale } = this.imageConditioner(tf.mul(y, m));
    return tf.add(tf.mul(y, m), tf.mul(tf.sub(1, m), tf.sub(tf.mul(y, tf.exp(tf.neg(logScale))), shift)));
  }

  /** Puts the kept and changed coordinates back in their places. */
  private unsplit(a: tf.Tensor, b: tf.Tensor, kept: number[], changed: number[]): tf.Tensor {
    const order = [...kept, ...changed];
    const back = order.map((_, i) => order.indexOf(i));
    return tf.gather(tf.concat([a, b], 1), back, 1);
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.forwardFlow(Array.isArray(inputs) ? inputs[0]! : inputs).y);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), parity: this.parity, mask: this.mask, hidden: this.hidden, depth: this.depth, scale: this.scale };
  }
}
tf.serialization.registerClass(PatchbayAffineCoupling);
