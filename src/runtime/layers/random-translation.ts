import * as tf from '@tensorflow/tfjs';

/** What PatchbayRandomTranslation takes: tfjs's own layer arguments (name…) plus its params. */
export type PatchbayRandomTranslationArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** The largest shift, in pixels, up or down and left or right. */
  pixels?: number;
  /** Seeds the shifts; a training loop sets it before each step so that a run repeats exactly. Math.random when left out. */
  seed?: number;
};

/** A small 32-bit generator (mulberry32): the same shifts from the same seed in the app and an export. */
function PatchbayRandomTranslationRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Data augmentation inside the model, as Keras's RandomTranslation: while training, each image of the
 * batch moves by its own whole-pixel offset in [-pixels, pixels] on both axes, and what moves in from
 * outside is zero; at inference it passes the input through unchanged. The move is one gather over
 * precomputed indices (exact, the same on every backend, one kernel for the batch, with a gradient).
 * No weights.
 */
export class PatchbayRandomTranslation extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayRandomTranslation';
  readonly pixels: number;
  seed: number | undefined;

  constructor(args: PatchbayRandomTranslationArgs) {
    super(args);
    this.pixels = args.pixels ?? 2;
    this.seed = args.seed;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (!kwargs.training || this.pixels === 0) return tf.clone(x);
      const [n, h, w, channels] = x.shape as [number, number, number, number];
      const random = this.seed === undefined ? Math.random : PatchbayRandomTranslationRandom(this.seed);
      const span = 2 * this.pixels + 1;
      // Row n·h·w of the flattened input is a row of zeros: the source of every pixel moved in from outside.
      const zeroRow = n * h * w;
      const index = new Int32Array(n * h * w);
      for (let i = 0; i < n; i++) {
        const dy = Math.floor(random() * span) - this.pixels;
        const dx = Math.floor(random() * span) - this.pixels;
        for (let r = 0; r < h; r++) {
          const from = r - dy;
          for (let c = 0; c < w; c++) {
            const fromCol = c - dx;
            index[(i * h + r) * w + c] = from >= 0 && from < h && fromCol >= 0 && fromCol < w ? (i * h + from) * w + fromCol : zeroRow;
          }
        }
      }
      const rows = tf.concat([tf.reshape(x, [n * h * w, channels]), tf.zeros([1, channels])]);
      return tf.reshape(tf.gather(rows, tf.tensor1d(index, 'int32')), [n, h, w, channels]);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), pixels: this.pixels };
  }
}
tf.serialization.registerClass(PatchbayRandomTranslation);
