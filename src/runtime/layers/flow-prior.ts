import * as tf from '@tensorflow/tfjs';

/**
 * Glow's learned prior of the top level (`learntop`), as the last flow step: the flow's output h is
 * modelled by N(mean, exp(logScale)²) per channel (the last axis) instead of N(0, 1). Written as a
 * step, z = (h − mean)·exp(−logScale) with log|det J| = −(positions per example)·Σ logScale, so
 * that a standard normal on z is exactly that Gaussian on h, and the flow NLL needs no change.
 * Both start at zero (the standard normal), as Glow's zero-initialised prior convolution does.
 * Sampling at temperature T draws z from N(0, T²): h = mean + exp(logScale)·z.
 */
export class PatchbayFlowPrior extends tf.layers.Layer {
  static className = 'PatchbayFlowPrior';
  private mean: tf.LayerVariable | null = null;
  private logScale: tf.LayerVariable | null = null;

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`A learned prior needs a known channel axis last, got input shape [${shape.join(', ')}].`);
    this.mean = this.addWeight('mean', [channels], 'float32', tf.initializers.zeros());
    this.logScale = this.addWeight('log_scale', [channels], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  forwardFlow(x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor } {
    const logScale = this.logScale!.read();
    const positions = x.shape.slice(1, -1).reduce((a, b) => a * b, 1);
    const y = tf.mul(tf.sub(x, this.mean!.read()), tf.exp(tf.neg(logScale)));
    return { y, logdet: tf.mul(tf.ones([x.shape[0]!]), tf.mul(tf.sum(logScale), -positions)) };
  }

  inverseFlow(y: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(y, tf.exp(this.logScale!.read())), this.mean!.read());
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.forwardFlow(Array.isArray(inputs) ? inputs[0]! : inputs).y);
  }
}
tf.serialization.registerClass(PatchbayFlowPrior);
