import * as tf from '@tensorflow/tfjs';

/** What PatchbayFlowLogit takes: tfjs's own layer arguments plus the squeeze toward the open interval. */
export type PatchbayFlowLogitArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** x is first moved into [alpha, 1 − alpha], so that 0 and 1 stay finite. */
  alpha?: number;
};

/**
 * RealNVP's logit preprocessing as the first flow step: dequantised pixels x in [0, 1) become
 * y = logit(α + (1 − 2α)·x), so that the flow models values on the whole real line instead of a
 * box with most of its mass in a thin slab at 0 (the background of digits), which affine steps
 * cannot spread out. The map is a bijection of (0, 1) with a known derivative, so the likelihood
 * stays exact: log|det J| = Σ [log(1 − 2α) − log p − log(1 − p)], p = α + (1 − 2α)·x.
 * The inverse is (σ(y) − α) / (1 − 2α). No weights.
 */
export class PatchbayFlowLogit extends tf.layers.Layer {
  static className = 'PatchbayFlowLogit';
  readonly alpha: number;

  constructor(args: PatchbayFlowLogitArgs = {}) {
    super(args);
    const alpha = args.alpha ?? 1e-6;
    if (!(alpha > 0 && alpha < 0.5)) throw new Error(`A logit step's alpha is between 0 and 0.5 (exclusive), got ${alpha}.`);
    this.alpha = alpha;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  forwardFlow(x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor } {
    const p = tf.add(tf.mul(x, 1 - 2 * this.alpha), this.alpha);
    const logP = tf.log(p);
    const logQ = tf.log1p(tf.neg(p));
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
    const perValue = tf.sub(tf.sub(Math.log(1 - 2 * this.alpha), logP), logQ);
    return { y: tf.sub(logP, logQ), logdet: tf.sum(perValue, axes) };
  }

  inverseFlow(y: tf.Tensor): tf.Tensor {
    return tf.div(tf.sub(tf.sigmoid(y), this.alpha), 1 - 2 * this.alpha);
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.forwardFlow(Array.isArray(inputs) ? inputs[0]! : inputs).y);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}
tf.serialization.registerClass(PatchbayFlowLogit);
