import * as tf from '@tensorflow/tfjs';

/** What PatchbayPatchesToImage takes: tfjs's own layer arguments (name, trainable…) plus its params. */
export type PatchbayPatchesToImageArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Side of a square patch, in pixels. */
  patchSize: number;
  /** Channels of the image (1 for MNIST). */
  channels?: number;
};

/**
 * Lays a square grid of patches back out as an image: [batch, g·g, p·p·c] → [batch, g·p, g·p, c],
 * column k of the grid being patch row ⌊k/g⌋, patch column k mod g, and each patch's values row by
 * row, channels last (the order a p×p, stride p convolution reads them in). The inverse of cutting
 * an image into patches, so a per-column decoder can be compared with the whole image. Written as
 * reshape → rank-4 transpose → reshape, which has gradients on every backend. No weights.
 */
export class PatchbayPatchesToImage extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayPatchesToImage';
  readonly patchSize: number;
  readonly channels: number;

  constructor(args: PatchbayPatchesToImageArgs) {
    super(args);
    this.patchSize = args.patchSize;
    this.channels = args.channels ?? 1;
    for (const [key, v] of [
      ['patchSize', this.patchSize],
      ['channels', this.channels],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new Error(`Patches to image needs ${key} to be a whole number of at least 1, got ${v}.`);
  }

  /** The grid's side g from the column count, or an error when the columns do not make a square of whole patches. */
  private grid(shape: tf.Shape): number {
    const [columns, values] = [shape[1], shape[2]];
    const g = columns == null ? NaN : Math.round(Math.sqrt(columns));
    if (shape.length !== 3 || columns == null || g * g !== columns)
      throw new Error(`Patches to image takes a square grid of patches (batch, g·g columns, values), got input shape [${shape.join(', ')}].`);
    const per = this.patchSize * this.patchSize * this.channels;
    if (values !== per)
      throw new Error(
        `Patches to image needs ${per} values per column (${this.patchSize}×${this.patchSize}×${this.channels}), got ${values ?? 'an unknown number'}.`,
      );
    return g;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const side = this.grid(shape) * this.patchSize;
    return [shape[0] ?? null, side, side, this.channels];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const g = this.grid(x.shape);
      const [n, p, c] = [x.shape[0]!, this.patchSize, this.channels];
      // [(n, patch row), patch column, pixel row, (pixel column, channel)] → swap the middle two → rows of pixels.
      const rows = tf.transpose(tf.reshape(x, [n * g, g, p, p * c]), [0, 2, 1, 3]);
      return tf.reshape(rows, [n, g * p, g * p, c]);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), patchSize: this.patchSize, channels: this.channels };
  }
}
tf.serialization.registerClass(PatchbayPatchesToImage);
