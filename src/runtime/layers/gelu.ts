import * as tf from '@tensorflow/tfjs';

/** What PatchbayGelu takes: tfjs's own layer arguments (name…) plus the form of GELU. */
export type PatchbayGeluArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** "none": exact, x·Φ(x) with erf. "tanh": the tanh approximation. "quick": CLIP's QuickGELU, x·σ(1.702x). */
  approximate?: 'none' | 'tanh' | 'quick';
};

/**
 * GELU as PyTorch's nn.GELU(approximate=…), plus CLIP's QuickGELU x·σ(1.702·x) as approximate
 * "quick" (tfjs has no QuickGELU activation). One layer with a choice, so that a block can pick the
 * form with a param. No weights.
 */
export class PatchbayGelu extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayGelu';
  readonly approximate: 'none' | 'tanh' | 'quick';

  constructor(args: PatchbayGeluArgs) {
    super(args ?? {});
    this.approximate = args?.approximate ?? 'none';
    if (!['none', 'tanh', 'quick'].includes(this.approximate))
      throw new Error(`GELU's approximate is "none", "tanh" or "quick", got "${String(this.approximate)}".`);
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (this.approximate === 'quick') return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
      if (this.approximate === 'tanh') {
        const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.square(x)))));
        return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
      }
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), approximate: this.approximate };
  }
}
tf.serialization.registerClass(PatchbayGelu);
