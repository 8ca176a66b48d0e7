import type * as tfType from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';

type Tf = typeof tfType;

/**
 * What the editor's island maps ask of a trained GLOM program (the glom template): held-out digits
 * run through the columns network, the shared update network `iterations` times, and the decoder;
 * then, for each level, how similar each column's embedding is to its grid neighbours'. GLOM's claim
 * is that columns settle into islands of near-identical vectors (one island per part or object), so
 * high similarity inside a part and a drop at its border is what the maps should show.
 */
export interface GlomIslandsRequest {
  /** The network that embeds patches and starts the levels (outputs: patch embeddings, levels). */
  columnsNetwork: string;
  /** The update network, applied `iterations` times with the same weights. */
  updateNetwork: string;
  /** The network that decodes the levels into an image. */
  decoderNetwork: string;
  iterations: number;
  /** How many held-out examples (the first ones of the test split). */
  testCount: number;
}

export interface GlomIslandsAnswer {
  height: number;
  width: number;
  /** Side of the grid of columns, and levels per column. */
  grid: number;
  levels: number;
  images: Float32Array;
  reconstructions: Float32Array;
  labels: number[];
  /**
   * Cosine similarity between neighbouring columns after the last iteration, per example and level:
   * first the grid × (grid − 1) horizontal pairs (column (r, c) with (r, c + 1)), then the
   * (grid − 1) × grid vertical pairs ((r, c) with (r + 1, c)).
   */
  similarities: Float32Array;
}

/** Values per example and level in `similarities`. */
export const neighbourPairs = (grid: number) => 2 * grid * (grid - 1);

/** Islands of one level: union of neighbouring columns whose similarity reaches the threshold; an island id per column. */
export function islandsOf(similarities: ArrayLike<number>, offset: number, grid: number, threshold: number): number[] {
  const parent = Array.from({ length: grid * grid }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const join = (a: number, b: number) => (parent[find(a)] = find(b));
  const across = grid * (grid - 1);
  for (let r = 0; r < grid; r++)
    for (let c = 0; c < grid - 1; c++) if (similarities[offset + r * (grid - 1) + c]! >= threshold) join(r * grid + c, r * grid + c + 1);
  for (let r = 0; r < grid - 1; r++)
    for (let c = 0; c < grid; c++) if (similarities[offset + across + r * grid + c]! >= threshold) join(r * grid + c, (r + 1) * grid + c);
  return parent.map((_, i) => find(i));
}

/**
 * Runs the request on trained networks. Throws with a sentence for a person when it cannot.
 * Reads back with `data()` (webgpu has no synchronous read), so it answers a promise.
 */
export async function answerGlomIslands(
  tf: Tf,
  networks: ReadonlyMap<string, tfType.LayersModel>,
  data: Dataset,
  request: GlomIslandsRequest,
): Promise<GlomIslandsAnswer> {
  const [columns, update, decoder] = [request.columnsNetwork, request.updateNetwork, request.decoderNetwork].map((id) => {
    const model = networks.get(id);
    if (!model) throw new Error(`The trained program has no network "${id}".`);
    return model;
  }) as [tfType.LayersModel, tfType.LayersModel, tfType.LayersModel];
  const [height, width] = data.inputShape as [number, number];
  const per = data.inputShape.reduce((a, b) => a * b, 1);
  const count = Math.max(1, Math.min(request.testCount, data.test.count));
  const images = data.test.x.slice(0, count * per);
  const computed = tf.tidy(() => {
    const out = columns.predict(tf.tensor(images, [count, ...data.inputShape])) as tfType.Tensor[];
    const patches = Array.isArray(out) ? out.find((t) => t.rank === 3) : undefined;
    let levels = Array.isArray(out) ? out.find((t) => t.rank === 4) : undefined;
    if (!patches || !levels)
      throw new Error(
        `The network "${request.columnsNetwork}" should output patch embeddings (batch, columns, width) and levels (batch, columns, levels, width).`,
      );
    for (let i = 0; i < request.iterations; i++) levels = update.predict([levels, patches]) as tfType.Tensor;
    const reconstructions = decoder.predict(levels) as tfType.Tensor;
    const [, cols, levelCount, dim] = levels.shape as [number, number, number, number];
    const grid = Math.round(Math.sqrt(cols));
    if (grid * grid !== cols) throw new Error(`The island maps need a square grid of columns, but there are ${cols}.`);
    // Unit vectors laid out as the grid: [n, levels, grid, grid, dim].
    const unit = tf.transpose(tf.reshape(levels, [count, grid, grid, levelCount, dim]), [0, 3, 1, 2, 4]);
    const normed = tf.div(unit, tf.sqrt(tf.add(tf.sum(tf.square(unit), -1, true), 1e-12)));
    const cos = (a: tfType.Tensor, b: tfType.Tensor) => tf.sum(tf.mul(a, b), -1);
    const across = cos(tf.slice(normed, [0, 0, 0, 0, 0], [-1, -1, grid, grid - 1, -1]), tf.slice(normed, [0, 0, 0, 1, 0], [-1, -1, grid, grid - 1, -1]));
    const down = cos(tf.slice(normed, [0, 0, 0, 0, 0], [-1, -1, grid - 1, grid, -1]), tf.slice(normed, [0, 0, 1, 0, 0], [-1, -1, grid - 1, grid, -1]));
    const similarities = tf.concat([tf.reshape(across, [count, levelCount, -1]), tf.reshape(down, [count, levelCount, -1])], -1);
    return { grid, levelCount, reconstructions, similarities };
  });
  try {
    return {
      height,
      width,
      grid: computed.grid,
      levels: computed.levelCount,
      images,
      // Copies: the answer's buffers are transferred to the page, and must not be a backend's own memory.
      reconstructions: ((await computed.reconstructions.data()) as Float32Array).slice(),
      labels: Array.from(data.test.y.subarray(0, count)),
      similarities: ((await computed.similarities.data()) as Float32Array).slice(),
    };
  } finally {
    tf.dispose([computed.reconstructions, computed.similarities]);
  }
}
