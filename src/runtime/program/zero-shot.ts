import type * as tfType from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { tokenize, zeroShotLogits } from './clip';

type Tf = typeof tfType;

/**
 * What the editor's zero-shot panel asks of a trained CLIP program: one prompt per class, written
 * by the person, embedded by the text network; held-out images (and one drawn image) embedded by the
 * image network; class probabilities from softmax(scale · cosine similarity).
 */
export interface ZeroShotRequest {
  /** One prompt per class, in class order. */
  prompts: string[];
  vocabulary: string[];
  contextLength: number;
  imageNetwork: string;
  textNetwork: string;
  /** The logit scale (CLIP uses 100). */
  scale: number;
  /** How many held-out examples to classify (the first ones of the test split). */
  testCount: number;
  /** A drawn image, one example's values in the Data shape, or none. */
  drawn?: Float32Array;
}

export interface ZeroShotAnswer {
  /** The held-out examples classified: their values (row-major, one example after another) and true classes. */
  images: Float32Array;
  labels: number[];
  /** Class probabilities per held-out example. */
  probabilities: number[][];
  /** Class probabilities of the drawn image, when one was sent. */
  drawn?: number[];
  /** Words of the prompts the tokenizer does not know (they read as "unknown word"). */
  unknownWords: string[];
}

/**
 * Runs the request on trained networks. Throws with a sentence for a person when it cannot.
 * Reads back with `data()` (webgpu has no synchronous read), so it answers a promise.
 */
export async function answerZeroShot(
  tf: Tf,
  networks: ReadonlyMap<string, tfType.LayersModel>,
  data: Dataset,
  request: ZeroShotRequest,
): Promise<ZeroShotAnswer> {
  const image = networks.get(request.imageNetwork);
  const text = networks.get(request.textNetwork);
  if (!image || !text) throw new Error(`The trained program has no network "${!image ? request.imageNetwork : request.textNetwork}".`);
  if (request.prompts.length !== data.classNames.length)
    throw new Error(`Received ${request.prompts.length} prompts for ${data.classNames.length} classes, expected one prompt per class.`);
  if (request.prompts.some((p) => !p.trim())) throw new Error('Every class needs a prompt: one is empty.');
  const known = new Set(request.vocabulary);
  const unknownWords = [
    ...new Set(
      request.prompts.flatMap((p) =>
        p
          .toLowerCase()
          .split(/[^a-z0-9]+/)
          .filter((w) => w && !known.has(w)),
      ),
    ),
  ];
  const per = data.inputShape.reduce((a, b) => a * b, 1);
  const count = Math.min(request.testCount, data.test.count);
  const images = data.test.x.slice(0, count * per);
  const labels = Array.from(data.test.y.subarray(0, count));
  const ids = new Float32Array(request.prompts.length * request.contextLength);
  request.prompts.forEach((p, i) => ids.set(tokenize(request.vocabulary, request.contextLength, p), i * request.contextLength));
  const drawnCount = request.drawn ? 1 : 0;
  const scores = tf.tidy(() => {
    const all = new Float32Array((count + drawnCount) * per);
    all.set(images);
    if (request.drawn) all.set(request.drawn.subarray(0, per), count * per);
    const imageEmbeddings = image.predict(tf.tensor(all, [count + drawnCount, ...data.inputShape])) as tfType.Tensor;
    const textEmbeddings = text.predict(tf.tensor2d(ids, [request.prompts.length, request.contextLength])) as tfType.Tensor;
    return tf.softmax(zeroShotLogits(tf, imageEmbeddings, textEmbeddings, request.prompts.length, request.scale));
  });
  const probabilities = (await scores.array().finally(() => scores.dispose())) as number[][];
  return { images, labels, probabilities: probabilities.slice(0, count), ...(request.drawn ? { drawn: probabilities[count] } : {}), unknownWords };
}
