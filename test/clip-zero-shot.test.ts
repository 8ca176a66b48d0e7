/**
 * The zero-shot panel's computation (runtime/program/zero-shot.ts) on hand-made networks whose
 * embeddings are known: typed prompts → text embeddings, held-out and drawn images → image
 * embeddings, probabilities = softmax(scale · cosine); and its refusals, said for a person.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import type { Dataset } from '../src/runtime/data/dataset';
import { answerZeroShot, type ZeroShotRequest } from '../src/runtime/program/zero-shot';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const vocabulary = ['up', 'right'];
/** Images are 2-d points; the image network passes them through. Words embed as directions: up (0, 1), right (1, 0). */
function networks() {
  const image = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, useBias: false, weights: [tf.tensor2d([1, 0, 0, 1], [2, 2])] })] });
  // ids: 0 pad, 1 unknown, 2 start, 3 "up", 4 "right", 5 end of text; the text embedding is the mean over the 4 positions.
  const table = tf.tensor2d([0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0], [6, 2]);
  const text = tf.sequential({
    layers: [tf.layers.embedding({ inputDim: 6, outputDim: 2, inputLength: 4, weights: [table] }), tf.layers.globalAveragePooling1d()],
  });
  return new Map<string, tfType.LayersModel>([
    ['model', image],
    ['text', text],
  ]);
}

const data: Dataset = {
  name: 'points',
  inputShape: [2],
  classNames: ['up', 'right'],
  train: { x: new Float32Array(0), y: new Uint8Array(0), count: 0 },
  test: { x: Float32Array.from([0, 2, 3, 1, -1, 0]), y: Uint8Array.from([0, 1, 1]), count: 3 },
};
const request = (over: Partial<ZeroShotRequest> = {}): ZeroShotRequest => ({
  prompts: ['up', 'right'],
  vocabulary,
  contextLength: 4,
  imageNetwork: 'model',
  textNetwork: 'text',
  scale: 2,
  testCount: 2,
  ...over,
});
const softmax2 = (a: number, b: number) => [Math.exp(a) / (Math.exp(a) + Math.exp(b)), Math.exp(b) / (Math.exp(a) + Math.exp(b))];

it('classifies held-out and drawn images by scaled cosine similarity to the typed prompts', async () => {
  const nets = networks();
  const answer = await answerZeroShot(tf, nets, data, request({ drawn: Float32Array.from([1, 1]) }));
  expect(answer.labels).toEqual([0, 1]);
  expect(Array.from(answer.images)).toEqual([0, 2, 3, 1]);
  // (0, 2): cos 1 with up, 0 with right. (3, 1): cos 1/√10 with up, 3/√10 with right. (1, 1): 1/√2 with both.
  const expected = [softmax2(2, 0), softmax2(2 / Math.sqrt(10), 6 / Math.sqrt(10))];
  answer.probabilities.forEach((row, i) => row.forEach((p, j) => expect(p).toBeCloseTo(expected[i]![j]!, 5)));
  answer.drawn!.forEach((p) => expect(p).toBeCloseTo(0.5, 5));
  expect(answer.unknownWords).toEqual([]);
  for (const m of nets.values()) m.dispose();
});

it('names unknown words, and refuses a prompt missing or a network the run lacks', async () => {
  const nets = networks();
  expect((await answerZeroShot(tf, nets, data, request({ prompts: ['up up', 'a right turn'] }))).unknownWords).toEqual(['a', 'turn']);
  await expect(answerZeroShot(tf, nets, data, request({ prompts: ['up'] }))).rejects.toThrow(
    'Received 1 prompts for 2 classes, expected one prompt per class.',
  );
  await expect(answerZeroShot(tf, nets, data, request({ prompts: ['up', '  '] }))).rejects.toThrow(/one is empty/);
  await expect(answerZeroShot(tf, nets, data, request({ textNetwork: 'words' }))).rejects.toThrow('The trained program has no network "words".');
  for (const m of nets.values()) m.dispose();
});
