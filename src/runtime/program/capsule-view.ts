import type * as tfType from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';

type Tf = typeof tfType;

/**
 * What the editor's capsule views ask of a trained capsule network (the capsnet template): held-out
 * digits beside the decoder's reconstructions from their winning capsule, and the paper's "tweak a
 * dimension" figure (Sabour et al., 2017, fig. 4): the winning capsule's pose with one of its
 * dimensions moved by each of a few offsets, decoded, so that what each dimension encodes shows.
 */
export interface CapsuleViewRequest {
  /** The network whose outputs include the digit capsules (batch, classes, dim). */
  capsuleNetwork: string;
  /** The network that decodes masked capsules into an image. */
  decoderNetwork: string;
  /** How many held-out examples to reconstruct (the first ones of the test split). */
  testCount: number;
  /** Which of them the tweak view perturbs. */
  tweakExample: number;
  /** Offsets added to one pose dimension at a time (the paper: −0.25 to 0.25 in steps of 0.05). */
  offsets: number[];
}

export interface CapsuleViewAnswer {
  /** Image shape (height, width) for drawing. */
  height: number;
  width: number;
  /** The held-out inputs and their reconstructions, one example after another, row-major. */
  images: Float32Array;
  reconstructions: Float32Array;
  labels: number[];
  /** The longest capsule of each example: the prediction the decoder reconstructs from. */
  predictions: number[];
  /** The tweak grid: one row per pose dimension, one image per offset (dims × offsets images). */
  tweaks: Float32Array;
  dims: number;
}

/**
 * Runs the request on trained networks. Throws with a sentence for a person when it cannot.
 * Reads back with `data()` (webgpu has no synchronous read), so it answers a promise; the tweak
 * grid needs the winning class first, so it is built in a second pass.
 */
export async function answerCapsuleView(
  tf: Tf,
  networks: ReadonlyMap<string, tfType.LayersModel>,
  data: Dataset,
  request: CapsuleViewRequest,
): Promise<CapsuleViewAnswer> {
  const caps = networks.get(request.capsuleNetwork);
  const decoder = networks.get(request.decoderNetwork);
  if (!caps || !decoder) throw new Error(`The trained program has no network "${!caps ? request.capsuleNetwork : request.decoderNetwork}".`);
  const [height, width] = data.inputShape as [number, number];
  const per = data.inputShape.reduce((a, b) => a * b, 1);
  const count = Math.max(1, Math.min(request.testCount, data.test.count));
  const images = data.test.x.slice(0, count * per);
  const labels = Array.from(data.test.y.subarray(0, count));
  const example = Math.min(Math.max(0, request.tweakExample), count - 1);
  const first = tf.tidy(() => {
    const x = tf.tensor(images, [count, ...data.inputShape]);
    const out = caps.predict(x) as tfType.Tensor | tfType.Tensor[];
    const capsules = (Array.isArray(out) ? out : [out]).find((t) => t.rank === 3);
    if (!capsules) throw new Error(`The network "${request.capsuleNetwork}" has no capsule output (batch, capsules, dim): wire DigitCapsules to an Output.`);
    const classes = capsules.shape[1]!;
    const predicted = tf.argMax(tf.sum(tf.square(capsules), -1), -1);
    const masked = tf.mul(capsules, tf.expandDims(tf.oneHot(predicted, classes).toFloat(), -1));
    // The example's masked capsules, which the tweak grid perturbs.
    const one = tf.slice(masked, [example, 0, 0], [1, classes, capsules.shape[2]!]);
    return { predicted, one, reconstructions: decoder.predict(masked) as tfType.Tensor };
  });
  const held: tfType.Tensor[] = [first.predicted, first.one, first.reconstructions];
  try {
    const [, classes, dims] = first.one.shape as [number, number, number];
    const predictions = Array.from(await first.predicted.data());
    const winner = predictions[example]!;
    // dims × offsets copies of the example, each with one pose value of the winning capsule moved.
    const shifts = new Float32Array(dims * request.offsets.length * classes * dims);
    for (let d = 0; d < dims; d++)
      request.offsets.forEach((offset, k) => {
        shifts[((d * request.offsets.length + k) * classes + winner) * dims + d] = offset;
      });
    const tweaks = tf.tidy(() => decoder.predict(tf.add(first.one, tf.tensor3d(shifts, [dims * request.offsets.length, classes, dims]))) as tfType.Tensor);
    held.push(tweaks);
    return {
      height,
      width,
      images,
      // Copies: the answer's buffers are transferred to the page, and must not be a backend's own memory.
      reconstructions: ((await first.reconstructions.data()) as Float32Array).slice(),
      labels,
      predictions,
      tweaks: ((await tweaks.data()) as Float32Array).slice(),
      dims,
    };
  } finally {
    tf.dispose(held);
  }
}
