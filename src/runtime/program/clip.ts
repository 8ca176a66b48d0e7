import type * as tfType from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset';
import { derivedSeed } from '../seeds';

type Tf = typeof tfType;
type T = tfType.Tensor;

/**
 * CLIP on a labelled image set: captions made from sentence templates, a small word-level
 * tokenizer of our own, and the zero-shot classifier. The tokenizer is data (a vocabulary list and a
 * context length that travel in the document), so the app, the command line and the exported
 * trainer turn the same text into the same ids.
 *
 * Ids: 0 pads, 1 is a word the vocabulary lacks, 2 starts the text, 3… are the vocabulary's words
 * in order, and the end-of-text token is the highest id (vocabulary length + 3), so that the
 * end-of-text position is the argmax of the ids, as in CLIP.
 */
export const PAD_ID = 0;
export const UNKNOWN_ID = 1;
export const START_ID = 2;

/** Ids a vocabulary uses: its words plus padding, unknown, start and end of text. */
export const vocabularySize = (vocabulary: readonly string[]): number => vocabulary.length + 4;

/** The end-of-text id: the highest one. */
export const endOfTextId = (vocabulary: readonly string[]): number => vocabulary.length + 3;

/** Lower-case words of a text: letters and digits, everything else separates words. */
export function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * A text as `contextLength` ids: start, the words (unknown ones as UNKNOWN_ID), end of text, then
 * padding. A text too long keeps its first words and still ends with end of text.
 */
export function tokenize(vocabulary: readonly string[], contextLength: number, text: string): Int32Array {
  const index = new Map(vocabulary.map((w, i) => [w, i + 3]));
  const ids = new Int32Array(contextLength);
  const words = wordsOf(text).slice(0, Math.max(0, contextLength - 2));
  let at = 0;
  if (contextLength >= 2) ids[at++] = START_ID;
  for (const w of words) ids[at++] = index.get(w) ?? UNKNOWN_ID;
  ids[Math.min(at, contextLength - 1)] = endOfTextId(vocabulary);
  return ids;
}

/** A template with the class filled in: `{word}` becomes its word ("seven"), `{digit}` its symbol ("7"). */
export function fillTemplate(template: string, word: string, digit: string): string {
  return template.split('{word}').join(word).split('{digit}').join(digit);
}

/** Every word the templates can produce for these classes, in first-seen order (a vocabulary that covers them). */
export function vocabularyOf(templates: readonly string[], words: readonly string[], digits: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of templates) for (let c = 0; c < words.length; c++) for (const w of wordsOf(fillTemplate(t, words[c]!, digits[c] ?? ''))) out.add(w);
  return [...out];
}

export interface CaptionSettings {
  templates: string[];
  classWords: string[];
  classDigits: string[];
  vocabulary: string[];
  contextLength: number;
}

/**
 * One caption per example, for its class: a template drawn per example from a generator seeded by
 * the run's seed, the node and the step, so a rerun (or the exported trainer) writes the same
 * captions, and every step draws new ones. Returns the captions' texts (what the editor shows).
 */
export function captionTexts(classes: ArrayLike<number>, settings: CaptionSettings, ctx: { seed: number; step: number; nodeId: string }): string[] {
  const random = seededRandom(derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`));
  const out: string[] = [];
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i]!;
    const template = settings.templates[Math.floor(random() * settings.templates.length)]!;
    out.push(fillTemplate(template, settings.classWords[c] ?? String(c), settings.classDigits[c] ?? String(c)));
  }
  return out;
}

/** Texts as a [texts, contextLength] tensor of ids (float32: Embedding casts them, and ops pass one dtype). */
function tokenTensor(tf: Tf, texts: readonly string[], settings: Pick<CaptionSettings, 'vocabulary' | 'contextLength'>): T {
  const ids = new Float32Array(texts.length * settings.contextLength);
  texts.forEach((text, i) => ids.set(tokenize(settings.vocabulary, settings.contextLength, text), i * settings.contextLength));
  return tf.tensor2d(ids, [texts.length, settings.contextLength]);
}

/**
 * The Captions node: one-hot labels [batch, classes] → caption ids [batch, contextLength]. Which
 * template each example gets is drawn on the host (it does not depend on the class); every
 * template × class caption is tokenised into a table, and each example's row is gathered by
 * template·classes + argmax(label) on the backend, so the labels are never read back (webgpu has
 * no synchronous read, and this runs inside the training step). The same ids as `captionTexts`.
 */
export function captionTokens(tf: Tf, label: T, settings: CaptionSettings, ctx: { seed: number; step: number; nodeId: string }): T {
  const [batch, classes] = label.shape as [number, number];
  const random = seededRandom(derivedSeed(ctx.seed, `${ctx.nodeId}@${ctx.step}`));
  // Each example's first row in the table: its template's.
  const templateRow = new Int32Array(batch);
  for (let i = 0; i < batch; i++) templateRow[i] = Math.floor(random() * settings.templates.length) * classes;
  const texts = settings.templates.flatMap((template) =>
    Array.from({ length: classes }, (_, c) => fillTemplate(template, settings.classWords[c] ?? String(c), settings.classDigits[c] ?? String(c))),
  );
  return tf.tidy(() => {
    const rows = tf.add(tf.tensor1d(templateRow, 'int32'), tf.cast(tf.argMax(label, -1), 'int32'));
    return tf.gather(tokenTensor(tf, texts, settings), rows);
  });
}

/** The prompts' texts, class by class: class 0 with every template, then class 1… */
export function promptTexts(settings: Pick<CaptionSettings, 'templates' | 'classWords' | 'classDigits'>): string[] {
  return settings.classWords.flatMap((word, c) => settings.templates.map((t) => fillTemplate(t, word, settings.classDigits[c] ?? String(c))));
}

/** The Prompts node: every class written with every template, as ids [classes × templates, contextLength]. */
export function promptTokens(tf: Tf, settings: CaptionSettings): T {
  return tokenTensor(tf, promptTexts(settings), settings);
}

const unitRows = (tf: Tf, x: T) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12));

/**
 * CLIP's zero-shot classifier: each class's prompt embeddings are normalised, averaged and
 * normalised again (the paper's prompt ensembling), and each image scores `scale` × the cosine
 * similarity to every class. Images [batch, d], prompts [classes × templates, d] (class-major) →
 * logits [batch, classes].
 */
export function zeroShotLogits(tf: Tf, image: T, text: T, classes: number, scale: number): T {
  const rows = text.shape[0]!;
  if (rows % classes !== 0)
    throw new Error(`The zero-shot classifier received ${rows} prompt embeddings for ${classes} classes, expected the same number of prompts for every class.`);
  if (image.shape[1] !== text.shape[1])
    throw new Error(
      `The zero-shot classifier received image embeddings of size ${image.shape[1]} and text embeddings of size ${text.shape[1]}, expected one size.`,
    );
  const perClass = tf.reshape(unitRows(tf, text), [classes, rows / classes, text.shape[1]!]);
  const classVectors = unitRows(tf, tf.mean(perClass, 1));
  return tf.mul(tf.matMul(unitRows(tf, image), classVectors, false, true), scale);
}
