import * as tf from '@tensorflow/tfjs';

/**
 * Glow's ActNorm, a flow step: y = (x + bias)·exp(logScale) per channel (the last axis). The first
 * batch it sees sets bias and logScale so that this batch comes out with zero mean and unit variance
 * per channel (data-dependent initialisation); after that both are ordinary trained weights. A
 * non-trainable `initialized` flag is saved with the weights, so loaded weights are never re-initialised.
 * log|det J| = (positions per example)·Σ logScale.
 */
export class PatchbayActNorm extends tf.layers.Layer {
  static className = 'PatchbayActNorm';
  private logScale: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;
  private initialized: tf.LayerVariable | null = null;
  /** Set once the first batch has been seen, so that later calls need not look at the flag again. */
  private known = false;

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`ActNorm needs a known channel axis last, got input shape [${shape.join(', ')}].`);
    this.logScale = this.addWeight('log_scale', [channels], 'float32', tf.initializers.zeros());
    this.bias = this.addWeight('bias', [channels], 'float32', tf.initializers.zeros());
    this.initialized = this.addWeight('initialized', [], 'float32', tf.initializers.zeros(), undefined, false);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /**
   * Sets bias and logScale from the first batch this layer sees, unless the saved flag says that
   * they are set already (loaded weights). The choice is made on the backend (where, not a read of
   * the flag): webgpu has no synchronous read, and this runs inside the forward pass. Outside any
   * gradient: the values are data.
   */
  private initializeFrom(x: tf.Tensor): void {
    if (this.known) return;
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    tf.tidy(() => {
      const done = tf.equal(this.initialized!.read(), 1);
      const { mean, variance } = tf.moments(x, axes);
      this.bias!.write(tf.where(done, this.bias!.read(), tf.neg(mean)));
      this.logScale!.write(tf.where(done, this.logScale!.read(), tf.neg(tf.log(tf.add(tf.sqrt(variance), 1e-6)))));
      this.initialized!.write(tf.scalar(1));
    });
    this.known = true;
  }

  private positions(x: tf.Tensor): number {
    return x.shape.slice(1, -1).reduce((a, b) => a * b, 1);
  }

  forwardFlow(x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor } {
    this.initializeFrom(x);
    const logScale = this.logScale!.read();
    const y = tf.mul(tf.add(x, this.bias!.read()), tf.exp(logScale));
    const logdet = tf.mul(tf.ones([x.shape[0]!]), tf.mul(tf.sum(logScale), this.positions(x)));
    return { y, logdet };
  }

  inverseFlow(y: tf.Tensor): tf.Tensor {
    return tf.sub(tf.mul(y, tf.exp(tf.neg(this.logScale!.read()))), this.bias!.read());
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    this.initializeFrom(x);
    return tf.tidy(() => this.forwardFlow(x).y);
  }
}
tf.serialization.registerClass(PatchbayActNorm);
