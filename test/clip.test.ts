/**
 * CLIP's pieces that are ours: the word tokenizer, the captions written from templates (seeded),
 * the class prompts, the zero-shot classifier against a hand computation, and the node checks.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getProgramSpec } from '../src/nodes/program/specs';
import {
  captionTexts,
  endOfTextId,
  promptTexts,
  START_ID,
  tokenize,
  UNKNOWN_ID,
  vocabularyOf,
  vocabularySize,
  wordsOf,
  type CaptionSettings,
} from '../src/runtime/program/clip';
import { runOp } from '../src/runtime/program/ops';
import { accuracyOf } from '../src/runtime/program/metrics';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const DIGITS = WORDS.map((_, i) => String(i));
const TEMPLATES = ['a photo of the number {word}', 'a handwritten {digit}', 'the digit {word}'];
const settings = (over: Partial<CaptionSettings> = {}): CaptionSettings => ({
  templates: TEMPLATES,
  classWords: WORDS,
  classDigits: DIGITS,
  vocabulary: vocabularyOf(TEMPLATES, WORDS, DIGITS),
  contextLength: 8,
  ...over,
});

describe('tokenizer', () => {
  const vocabulary = ['a', 'photo', 'of', 'the', 'number', 'seven'];

  it('writes start, the word ids in vocabulary order, end of text (the highest id), then padding', () => {
    expect(Array.from(tokenize(vocabulary, 9, 'A photo of the number seven.'))).toEqual([START_ID, 3, 4, 5, 6, 7, 8, 9, 0]);
    expect(endOfTextId(vocabulary)).toBe(9);
    expect(vocabularySize(vocabulary)).toBe(10);
  });

  it('marks words it does not know, and cuts long texts so that they still end with end of text', () => {
    expect(Array.from(tokenize(vocabulary, 6, 'a picture of seven'))).toEqual([START_ID, 3, UNKNOWN_ID, 5, 8, 9]);
    expect(Array.from(tokenize(vocabulary, 4, 'a photo of the number seven'))).toEqual([START_ID, 3, 4, 9]);
  });

  it('splits on anything but letters and digits, lower-cased', () => {
    expect(wordsOf('  The digit: 7!  ')).toEqual(['the', 'digit', '7']);
  });

  it('builds a vocabulary that covers every caption the templates write', () => {
    const s = settings();
    for (let c = 0; c < 10; c++)
      for (const text of captionTexts([c], s, { seed: 1, step: c, nodeId: 'captions' }))
        expect(Array.from(tokenize(s.vocabulary, 8, text))).not.toContain(UNKNOWN_ID);
    expect(s.vocabulary).toEqual(expect.arrayContaining(['photo', 'handwritten', 'seven', '7', 'digit']));
  });
});

describe('captions', () => {
  const classes = Int32Array.from({ length: 200 }, (_, i) => i % 10);

  it("name each example's class, with templates drawn per example", () => {
    const texts = captionTexts(classes, settings(), { seed: 3, step: 0, nodeId: 'captions' });
    texts.forEach((t, i) => expect([`a photo of the number ${WORDS[i % 10]}`, `a handwritten ${i % 10}`, `the digit ${WORDS[i % 10]}`]).toContain(t));
    // Every template is used (200 draws of 3).
    for (const start of ['a photo', 'a handwritten', 'the digit']) expect(texts.some((t) => t.startsWith(start))).toBe(true);
  });

  it('are the same for the same seed, step and node, and differ for another seed or step', () => {
    const at = (seed: number, step: number) => captionTexts(classes, settings(), { seed, step, nodeId: 'captions' });
    expect(at(3, 5)).toEqual(at(3, 5));
    expect(at(3, 5)).not.toEqual(at(4, 5));
    expect(at(3, 5)).not.toEqual(at(3, 6));
  });

  it('the Captions op turns one-hot labels into the ids of those captions', () => {
    const label = tf.oneHot(tf.tensor1d([7, 2], 'int32'), 10).toFloat();
    const s = settings();
    const ctx = { seed: 9, step: 4, nodeId: 'captions' };
    const ids = runOp(tf, 'Captions', s as unknown as Record<string, unknown>, [label], ctx);
    expect(ids.shape).toEqual([2, 8]);
    const texts = captionTexts([7, 2], s, ctx);
    expect(Array.from(ids.dataSync())).toEqual([...tokenize(s.vocabulary, 8, texts[0]!), ...tokenize(s.vocabulary, 8, texts[1]!)]);
    tf.dispose([label, ids]);
  });

  it('the Captions op gathers each caption on the backend: the ids of captionTexts for 200 examples, no tensor left', () => {
    const s = settings();
    const ctx = { seed: 5, step: 11, nodeId: 'captions' };
    const label = tf.oneHot(tf.tensor1d(classes, 'int32'), 10).toFloat();
    const before = tf.memory().numTensors;
    const ids = runOp(tf, 'Captions', s as unknown as Record<string, unknown>, [label], ctx);
    expect(tf.memory().numTensors).toBe(before + 1);
    const expected = captionTexts(classes, s, ctx).flatMap((t) => Array.from(tokenize(s.vocabulary, 8, t)));
    expect(Array.from(ids.dataSync())).toEqual(expected);
    tf.dispose([label, ids]);
  });

  it('prompts write every class with every template, class by class', () => {
    const texts = promptTexts({ templates: ['a picture of a {word}', 'an image of {digit}'], classWords: ['zero', 'one'], classDigits: ['0', '1'] });
    expect(texts).toEqual(['a picture of a zero', 'an image of 0', 'a picture of a one', 'an image of 1']);
  });
});

describe('zero-shot classifier', () => {
  it("averages each class's normalised prompt embeddings and scores images by scaled cosine similarity", () => {
    // Two classes, two prompts each (class-major), 2-d embeddings.
    const text = tf.tensor2d([
      [2, 0], // class 0, prompt 1 → (1, 0)
      [0, 3], // class 0, prompt 2 → (0, 1); mean (0.5, 0.5) → (0.7071, 0.7071)
      [-1, 0], // class 1 → (-1, 0)
      [-5, 0], // class 1 → (-1, 0); mean (-1, 0)
    ]);
    const image = tf.tensor2d([
      [1, 1], // cos with class 0: 1, with class 1: -0.7071
      [-3, 1], // cos with class 0: (-3 + 1)/(√10·√2) = -0.4472, class 1: 3/√10 = 0.9487
    ]);
    const logits = runOp(tf, 'ZeroShotClassifier', { classes: 2, scale: 10 }, [image, text], { seed: 0, step: 0, nodeId: 'z' });
    const expected = [10, -7.0711, -4.4721, 9.4868];
    Array.from(logits.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    const accuracy = accuracyOf({ features: logits.dataSync() as Float32Array, dim: 2, labels: Int32Array.from([0, 0]), count: 2 });
    expect(accuracy).toBe(0.5);
    tf.dispose([text, image, logits]);
  });

  it('refuses prompts that do not divide among the classes, with the reason', () => {
    const text = tf.zeros([5, 2]);
    const image = tf.zeros([1, 2]);
    expect(() => runOp(tf, 'ZeroShotClassifier', { classes: 2, scale: 1 }, [image, text], { seed: 0, step: 0, nodeId: 'z' })).toThrow(
      /5 prompt embeddings for 2 classes/,
    );
    tf.dispose([text, image]);
  });
});

describe('node checks', () => {
  const infer = (type: string, params: Record<string, unknown>, inputs: (number | null)[][]) => {
    const spec = getProgramSpec(type)!;
    return spec.infer(spec.params.parse(params) as never, inputs);
  };

  it('refuse a template without the class, labels of another class count, and mismatched embeddings', () => {
    expect(infer('Captions', { templates: ['a photo of a digit'] }, [[null, 10]])).toMatchObject({ code: 'PB300', param: 'templates' });
    expect(infer('Captions', {}, [[null, 5]])).toMatchObject({ code: 'PB302', message: expect.stringContaining('5 classes, but 10 class words') });
    expect(
      infer('ZeroShotClassifier', {}, [
        [null, 64],
        [null, 32],
      ]),
    ).toMatchObject({ code: 'PB302' });
    expect(
      infer('ZeroShotClassifier', { classes: 3 }, [
        [null, 8],
        [10, 8],
      ]),
    ).toMatchObject({ code: 'PB302', param: 'classes' });
  });
});
