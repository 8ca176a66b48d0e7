import * as tf from '@tensorflow/tfjs';

/** What PatchbayGlomUpdate takes: tfjs's own layer arguments (name, trainable…) plus its params. */
export type PatchbayGlomUpdateArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Hidden units of each bottom-up and top-down network (64 when left out). */
  hiddenUnits?: number;
  /** β in the consensus attention's softmax(β·cos(eᵢ, eⱼ)): how sharply a column listens to the columns most like it (8 when left out). */
  sharpness?: number;
  /** Attend only to columns at most this many grid steps away (Chebyshev); 0, the default, attends to every column. */
  radius?: number;
};

/**
 * One GLOM iteration (Hinton, 2021, "How to represent part-whole hierarchies in a neural network").
 * Inputs: the columns' level embeddings [batch, columns, L, D] and the patch embeddings [batch,
 * columns, D] (level 0, fixed); output: the next level embeddings, same shape. Each level's new
 * embedding is the mean of four contributions (three for the top level):
 *
 * - its own previous state;
 * - the bottom-up network applied to the level below (the patch embedding under level 1);
 * - the top-down network applied to the level above plus a learned embedding of the column's
 *   position (so one object-level vector can predict different parts at different places);
 * - the attention-weighted mean of the same level in the other columns, the weights
 *   softmax over columns of β·cos(eᵢ, eⱼ) (a column does not attend to itself): columns that already
 *   agree pull each other closer, which is how the islands of identical vectors form.
 *
 * Each level has its own bottom-up and top-down network (Dense → GELU → Dense on the layer-normalised
 * input), and every column shares them. The template applies this layer's network several times in a
 * row: the same weights at every iteration. The per-level networks are 2-D matMuls and the attention
 * a batched matMul with equal batch sizes (tfjs's gradient of a broadcast batched matMul is wrong,
 * tensorflow/tfjs#8721), so the layer has gradients on every backend. Written after lucidrains/glom-pytorch, with cosine attention.
 */
export class PatchbayGlomUpdate extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayGlomUpdate';
  readonly hiddenUnits: number;
  readonly sharpness: number;
  readonly radius: number;
  /** Named like tfjs's initialiser fields, so that a seeded build seeds it; each kernel derives its own seed from it. */
  kernelInitializer: ReturnType<typeof tf.initializers.zeros> = tf.initializers.glorotUniform({});
  private w = new Map<string, tf.LayerVariable>();

  constructor(args: PatchbayGlomUpdateArgs) {
    super(args);
    this.hiddenUnits = args.hiddenUnits ?? 64;
    this.sharpness = args.sharpness ?? 8;
    this.radius = args.radius ?? 0;
    if (!Number.isInteger(this.hiddenUnits) || this.hiddenUnits < 1)
      throw new Error(`GLOM update needs hiddenUnits to be a whole number of at least 1, got ${this.hiddenUnits}.`);
    if (!Number.isInteger(this.radius) || this.radius < 0) throw new Error(`GLOM update needs radius to be a whole number ≥ 0, got ${this.radius}.`);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const [levels, patches] = inputShape as tf.Shape[];
    if (!levels || !patches || levels.length !== 4 || patches.length !== 3 || levels.slice(1).some((d) => d == null))
      throw new Error(
        'GLOM update takes the level embeddings (batch, columns, levels, width) and the patch embeddings (batch, columns, width), with known sizes.',
      );
    const [columns, count, width] = [levels[1]!, levels[2]!, levels[3]!];
    if (patches[1] !== columns || patches[2] !== width)
      throw new Error(
        `GLOM update needs patch embeddings (batch, ${columns}, ${width}) to match the levels, got [${patches.map((d) => d ?? 'batch').join(', ')}].`,
      );
    const side = Math.round(Math.sqrt(columns));
    if (this.radius > 0 && side * side !== columns) throw new Error(`A local radius needs a square grid of columns, got ${columns} columns.`);
    const base = (this.kernelInitializer.getConfig() as { seed?: number }).seed;
    let k = 0;
    const nextSeed = () => (base === undefined ? {} : { seed: ((base + ++k * 7919) % 2147483646) + 1 });
    const add = (name: string, shape: number[], init: ReturnType<typeof tf.initializers.zeros>) =>
      this.w.set(name, this.addWeight(name, shape, 'float32', init));
    const h = this.hiddenUnits;
    // One Dense → GELU → Dense per level: kernels stacked on a first axis, one slice per level.
    const mlp = (prefix: string, groups: number) => {
      add(`${prefix}/kernel1`, [groups, width, h], tf.initializers.glorotUniform(nextSeed()));
      add(`${prefix}/bias1`, [groups, 1, h], tf.initializers.zeros());
      add(`${prefix}/kernel2`, [groups, h, width], tf.initializers.glorotUniform(nextSeed()));
      add(`${prefix}/bias2`, [groups, 1, width], tf.initializers.zeros());
    };
    mlp('bottomUp', count);
    if (count > 1) mlp('topDown', count - 1);
    add('position', [columns, width], tf.initializers.randomNormal({ mean: 0, stddev: 0.02, ...nextSeed() }));
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return (inputShape as tf.Shape[])[0]!;
  }

  /**
   * Dense → GELU → Dense for each group g of x [G, M, D] with its own weights, as one batched
   * product per layer (the batch is the group). Patchbay's wasm GEMM takes batched products as they
   * are; a loop of per-group slices and 2-D products cost GLOM's step ~15 ms of slicing, stacking
   * and their gradients.
   */
  private mlp(prefix: string, x: tf.Tensor): tf.Tensor {
    const w = (name: string) => this.w.get(`${prefix}/${name}`)!.read();
    const hidden = tf.add(tf.matMul(x, w('kernel1')), w('bias1'));
    const gelu = tf.mul(hidden, tf.sigmoid(tf.mul(hidden, 1.702)));
    return tf.add(tf.matMul(gelu, w('kernel2')), w('bias2'));
  }

  /** −1e9 where column i may not attend to column j (itself, or beyond the radius), 0 elsewhere. */
  private attentionMask(columns: number): tf.Tensor2D {
    const side = Math.round(Math.sqrt(columns));
    const mask = new Float32Array(columns * columns);
    for (let i = 0; i < columns; i++)
      for (let j = 0; j < columns; j++) {
        const far = this.radius > 0 && Math.max(Math.abs(Math.floor(i / side) - Math.floor(j / side)), Math.abs((i % side) - (j % side))) > this.radius;
        if (i === j || far) mask[i * columns + j] = -1e9;
      }
    return tf.tensor2d(mask, [columns, columns]);
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [levels, patches] = inputs as tf.Tensor[];
      const [n, columns, count, width] = levels!.shape as [number, number, number, number];
      const m = n * columns;
      const normalise = (x: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
      };
      // Levels first: [L, N·C, D], so each level's networks are one slice of a batched matMul.
      const byLevel = tf.reshape(tf.transpose(levels!, [2, 0, 1, 3]), [count, m, width]);
      const below =
        count > 1
          ? tf.concat([tf.reshape(patches!, [1, m, width]), tf.slice(byLevel, [0, 0, 0], [count - 1, m, width])], 0)
          : tf.reshape(patches!, [1, m, width]);
      const bottomUp = this.mlp('bottomUp', normalise(below));
      const parts = [byLevel, bottomUp];
      if (count > 1) {
        const above = tf.reshape(tf.slice(byLevel, [1, 0, 0], [count - 1, m, width]), [count - 1, n, columns, width]);
        const placed = tf.reshape(tf.add(above, this.w.get('position')!.read()), [count - 1, m, width]);
        // The top level has nothing above it: a zero contribution, and a mean over three instead of four.
        parts.push(tf.concat([this.mlp('topDown', normalise(placed)), tf.zeros([1, m, width])], 0));
      }
      // Consensus: each column's level attends to the same level of the other columns of its image.
      const perImage = tf.reshape(byLevel, [count * n, columns, width]);
      const unit = tf.div(perImage, tf.sqrt(tf.add(tf.sum(tf.square(perImage), -1, true), 1e-12)));
      const scores = tf.add(tf.mul(tf.matMul(unit, unit, false, true), this.sharpness), this.attentionMask(columns));
      parts.push(tf.reshape(tf.matMul(tf.softmax(scores), perImage), [count, m, width]));
      const contributions = Array.from({ length: count }, (_, l) => (l < count - 1 ? 4 : 3));
      const mean = tf.div(tf.addN(parts), tf.tensor3d(contributions, [count, 1, 1]));
      return tf.transpose(tf.reshape(mean, [count, n, columns, width]), [1, 2, 0, 3]);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), hiddenUnits: this.hiddenUnits, sharpness: this.sharpness, radius: this.radius };
  }
}
tf.serialization.registerClass(PatchbayGlomUpdate);
