import * as tf from '@tensorflow/tfjs';

/** ½·ln 2π: the normal density's constant, per dimension. */
const PatchbayFlowSplitHalfLogTwoPi = 0.5 * Math.log(2 * Math.PI);

/**
 * Glow's split (factor-out), a flow step of the multi-scale architecture: the first ⌊C/2⌋ channels
 * of an image are kept and go on through the flow; the other channels leave it here and are
 * modelled by a Gaussian whose mean and log-scale a 3×3 convolution of the kept half gives (Glow's
 * `split2d_prior`: a `conv2d_zeros`, weights and bias started at zero and its output scaled by
 * exp(3·logs), so that a new split's prior is the standard normal).
 *
 * Forward: y = the kept half; its "logdet" is log p(factored | kept) summed over the factored values
 * (the factored half's log-likelihood, constant included), so that Σ logdet plus the top prior's
 * log-density is the whole log-likelihood, and every factored value is counted exactly once. It
 * also hands back ε = (factored − mean)·exp(−logScale), the factored half in standard form.
 * Inverse: given the kept half and ε (stored from a forward pass, or drawn from N(0, T²) to sample
 * at temperature T), factored = mean + exp(logScale)·ε, and the two halves are put back together.
 */
export class PatchbayFlowSplit extends tf.layers.Layer {
  static className = 'PatchbayFlowSplit';
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;
  private outputLogScale: tf.LayerVariable | null = null;

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[3];
    if (shape.length !== 4 || c == null)
      throw new Error(`A split takes images [batch, height, width, channels] with known channels, got [${shape.join(', ')}].`);
    if (c < 2) throw new Error(`A split needs at least 2 channels (half are kept, half factored out), got ${c}: squeeze first.`);
    const [kept, factored] = this.halves(c);
    const zeros = tf.initializers.zeros();
    this.kernel = this.addWeight('prior_kernel', [3, 3, kept, 2 * factored], 'float32', zeros);
    this.bias = this.addWeight('prior_bias', [2 * factored], 'float32', zeros);
    this.outputLogScale = this.addWeight('prior_log_scale', [2 * factored], 'float32', zeros);
    this.built = true;
  }

  /** Channels kept (Glow's z1, the first ⌊C/2⌋) and factored out (z2, the rest). */
  private halves(c: number): [number, number] {
    const kept = Math.floor(c / 2);
    return [kept, c - kept];
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const [b, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [b ?? null, h ?? null, w ?? null, c == null ? null : Math.floor(c / 2)];
  }

  /** The factored half's shape for one example, from the kept half's: [H, W, C − ⌊C/2⌋] (C = 2·kept or 2·kept + 1). */
  factoredShape(keptShape: number[]): number[] {
    const [h, w] = keptShape;
    const factored = (this.kernel!.shape[3] as number) / 2;
    return [h!, w!, factored];
  }

  /** The conditional prior of the factored half: mean and log-scale per value, from the kept half. */
  private prior(kept: tf.Tensor): { mean: tf.Tensor; logScale: tf.Tensor } {
    const h = tf.mul(
      tf.add(tf.conv2d(kept as tf.Tensor4D, this.kernel!.read() as tf.Tensor4D, 1, 'same'), this.bias!.read()),
      tf.exp(tf.mul(this.outputLogScale!.read(), 3)),
    );
    const [mean, logScale] = tf.split(h, 2, 3);
    return { mean: mean!, logScale: logScale! };
  }

  forwardFlow(x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor; factored: tf.Tensor } {
    const [, h, w, c] = x.shape as [number, number, number, number];
    const [kept, factored] = this.halves(c);
    const [y, rest] = tf.split(x, [kept, factored], 3);
    const { mean, logScale } = this.prior(y!);
    const eps = tf.mul(tf.sub(rest!, mean), tf.exp(tf.neg(logScale)));
    const logp = tf.sub(tf.sum(tf.sub(tf.mul(tf.square(eps), -0.5), logScale), [1, 2, 3]), h * w * factored * PatchbayFlowSplitHalfLogTwoPi);
    return { y: y!, logdet: logp, factored: eps };
  }

  inverseFlow(y: tf.Tensor, factored?: tf.Tensor): tf.Tensor {
    if (!factored)
      throw new Error(`The split "${this.name}" needs the factored-out half (ε) to invert: pass the one its forward pass gave, or draw it from a normal.`);
    const { mean, logScale } = this.prior(y);
    return tf.concat([y, tf.add(mean, tf.mul(tf.exp(logScale), factored))], 3);
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    // The kept half only: the prior matters to the likelihood (forwardFlow), not to the output.
    return tf.tidy(() => tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, Math.floor(x.shape[3]! / 2)]));
  }
}
tf.serialization.registerClass(PatchbayFlowSplit);
