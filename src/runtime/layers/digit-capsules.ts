import * as tf from '@tensorflow/tfjs';

/** What PatchbayDigitCapsules takes: tfjs's own layer arguments (name, trainable…) plus its params. */
export type PatchbayDigitCapsulesArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Output capsules (10 in the paper: one per digit). */
  capsules: number;
  /** Length of each output capsule (16 in the paper). */
  capsuleDim: number;
  /** Routing iterations (3 in the paper). */
  routings?: number;
  /** Standard deviation of the normal draw the transform matrices start from (0.05 when left out). */
  weightStddev?: number;
  /** Added to ‖s‖² in the squash (1e-7 when left out). */
  epsilon?: number;
};

/**
 * Capsules routed by agreement (Sabour, Frosst & Hinton, 2017, procedure 1). Each input capsule i
 * (of inDim values) predicts each output capsule j through its own matrix W_ij (capsuleDim × inDim):
 * û_j|i = W_ij·u_i. Then, from logits b_ij = 0, `routings` times: c_i = softmax_j(b_i),
 * s_j = Σ_i c_ij·û_j|i, v_j = squash(s_j), and (except after the last) b_ij += û_j|i · v_j.
 * Input [batch, inCapsules, inDim], output [batch, capsules, capsuleDim]; weights
 * inCapsules·capsules·capsuleDim·inDim (1,152·10·16·8 = 1,474,560 in the paper).
 *
 * The predictions are one rank-3 matMul whose operands have the same batch size (tfjs's gradient of a
 * broadcast batched matMul is wrong, tensorflow/tfjs#8721); the routing sums are broadcast multiplies
 * and sums at rank 4 (no tile, which has no gradient at rank 5), so every step has gradients on every
 * backend. This layout was 5× faster on wasm than routing with rank-3 matMuls, which needed the
 * predictions transposed.
 */
export class PatchbayDigitCapsules extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayDigitCapsules';
  readonly capsules: number;
  readonly capsuleDim: number;
  readonly routings: number;
  readonly weightStddev: number;
  readonly epsilon: number;
  /** Named like tfjs's own initialiser fields, so that a seeded build seeds it. */
  kernelInitializer: ReturnType<typeof tf.initializers.randomNormal>;
  private kernel: tf.LayerVariable | null = null;

  constructor(args: PatchbayDigitCapsulesArgs) {
    super(args);
    for (const key of ['capsules', 'capsuleDim'] as const) {
      if (!Number.isInteger(args[key]) || args[key] < 1) throw new Error(`DigitCapsules needs ${key} to be a whole number of at least 1, got ${args[key]}.`);
    }
    this.capsules = args.capsules;
    this.capsuleDim = args.capsuleDim;
    this.routings = args.routings ?? 3;
    if (!Number.isInteger(this.routings) || this.routings < 1) throw new Error(`DigitCapsules needs at least 1 routing iteration, got ${this.routings}.`);
    this.weightStddev = args.weightStddev ?? 0.05;
    this.epsilon = args.epsilon ?? 1e-7;
    this.kernelInitializer = tf.initializers.randomNormal({ mean: 0, stddev: this.weightStddev });
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [inCapsules, inDim] = [shape[1], shape[2]];
    if (shape.length !== 3 || inCapsules == null || inDim == null)
      throw new Error(`DigitCapsules needs capsules (batch, capsules, dim) with known sizes, got input shape [${shape.join(', ')}].`);
    // W[i, j] is the capsuleDim × inDim matrix from input capsule i to output capsule j.
    this.kernel = this.addWeight('kernel', [inCapsules, this.capsules, this.capsuleDim, inDim], 'float32', this.kernelInitializer);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0] ?? null, this.capsules, this.capsuleDim];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const u = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [n, inCapsules, inDim] = u.shape as [number, number, number];
      const [outCapsules, outDim] = [this.capsules, this.capsuleDim];
      // û: one matMul per input capsule i, batched over them: [I, N, d] × [I, J·D, d]ᵀ → [I, N, J·D],
      // read as [I, N, J, D]. Laid out with i first, routing needs no transpose of this, the largest tensor.
      const w = tf.reshape(this.kernel!.read(), [inCapsules, outCapsules * outDim, inDim]);
      const uHat = tf.reshape(tf.matMul(tf.transpose(u, [1, 0, 2]), w, false, true), [inCapsules, n, outCapsules, outDim]);
      // Routing logits b[i, n, j], zero at the start; the coupling coefficients are a softmax over j (the last axis).
      let logits: tf.Tensor = tf.zeros([inCapsules, n, outCapsules]);
      let v: tf.Tensor = tf.zeros([n, outCapsules, outDim]);
      for (let r = 0; r < this.routings; r++) {
        const coupling = tf.expandDims(tf.softmax(logits), -1);
        // s_j = Σ_i c_ij·û_j|i: a weighted sum over the first axis → [N, J, D].
        const s = tf.sum(tf.mul(coupling, uHat), 0);
        const squaredNorm = tf.sum(tf.square(s), -1, true);
        v = tf.mul(s, tf.div(squaredNorm, tf.mul(tf.add(1, squaredNorm), tf.sqrt(tf.add(squaredNorm, this.epsilon)))));
        // Agreement û_j|i · v_j raises the logit of each input capsule that predicted v_j well.
        if (r < this.routings - 1) logits = tf.add(logits, tf.sum(tf.mul(uHat, v), -1));
      }
      return v;
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      capsules: this.capsules,
      capsuleDim: this.capsuleDim,
      routings: this.routings,
      weightStddev: this.weightStddev,
      epsilon: this.epsilon,
    };
  }
}
tf.serialization.registerClass(PatchbayDigitCapsules);
