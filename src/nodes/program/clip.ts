import { z } from 'zod';
import { formatShape } from '../shape';
import type { Shape, ShapeProblem } from '../spec';
import type { ProgramNodeSpec } from './specs';

/**
 * The procedure nodes CLIP needs on a labelled image set (Radford et al., 2021): Captions writes a
 * sentence for each example's class from templates and tokenizes it, Prompts writes every class
 * with the evaluation's own templates, and the zero-shot classifier scores images against the
 * prompts' embeddings. The tokenizer is a word list and a context length in the params, so it
 * travels with the document (runtime/program/clip.ts turns text into ids).
 */
const define = <S extends z.ZodObject>(spec: ProgramNodeSpec<S>): ProgramNodeSpec<S> => spec;

const text = z.string().min(1).max(200);

const tokenizerParams = {
  vocabulary: z
    .array(z.string().regex(/^[a-z0-9]+$/, 'a vocabulary word is lower-case letters and digits'))
    .min(1)
    .max(100_000)
    .default(['a', 'photo', 'of', 'the', 'number'])
    .describe('The words the tokenizer knows, in id order (ids 0–2 are padding, unknown word and start; the end of text is the highest id).'),
  contextLength: z.number().int().min(2).max(1024).default(16).describe('Ids per text: longer texts are cut, shorter ones padded.'),
};

const classParams = {
  templates: z
    .array(text)
    .min(1)
    .max(200)
    .default(['a photo of the number {word}'])
    .describe('Sentences with {word} (the class word, "seven") or {digit} (its symbol, "7") where the class goes.'),
  classWords: z
    .array(z.string().min(1).max(100))
    .min(2)
    .default(['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'])
    .describe('Each class as a word, in class order.'),
  classDigits: z
    .array(z.string().min(1).max(100))
    .default(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    .describe('Each class as a symbol, in class order (for {digit}).'),
};

type ClassParams = { templates: string[]; classWords: string[]; classDigits: string[] };

/** Templates that cannot tell classes apart, or a symbol list of the wrong length, are refused with the reason. */
function classProblem(p: ClassParams): ShapeProblem | null {
  const blind = p.templates.find((t) => !t.includes('{word}') && !t.includes('{digit}'));
  if (blind !== undefined)
    return {
      code: 'PB300',
      param: 'templates',
      message: `The template "${blind}" has no {word} or {digit}, so it would write the same sentence for every class.`,
      help: 'Put {word} or {digit} where the class goes.',
    };
  if (p.templates.some((t) => t.includes('{digit}')) && p.classDigits.length !== p.classWords.length)
    return {
      code: 'PB300',
      param: 'classDigits',
      message: `Received ${p.classDigits.length} class symbols for ${p.classWords.length} class words, expected one symbol per class.`,
      help: 'Give every class a symbol, in class order.',
    };
  return null;
}

export const CaptionsSpec = define({
  type: 'Captions',
  label: 'Captions',
  category: 'Data',
  kind: 'op',
  procedures: ['train', 'evaluate'],
  description:
    'Writes a sentence about each example\'s class ("a photo of the number seven", "a handwritten 7"), a template drawn per example and per step from the run\'s seed, and tokenizes it: labels in, token ids out. Digits with these captions are a captioned data set for CLIP.',
  inputs: [{ name: 'label', label: 'label (one-hot)' }],
  outputs: [{ name: 'tokens' }],
  params: z.object({ ...classParams, ...tokenizerParams }),
  keyParams: ['contextLength'],
  infer: (p, [label]): Record<string, Shape> | ShapeProblem => {
    const bad = classProblem(p);
    if (bad) return bad;
    if (label!.length !== 2)
      return {
        code: 'PB301',
        port: 'label',
        message: `Received ${formatShape(label!)}, expected one-hot labels (batch, classes).`,
        help: 'Wire the label port of Data.',
      };
    if (label![1] !== null && label![1] !== p.classWords.length)
      return {
        code: 'PB302',
        port: 'label',
        param: 'classWords',
        message: `Received labels of ${label![1]} classes, but ${p.classWords.length} class words, expected one word per class.`,
        help: 'Give every class a word, in class order.',
      };
    return { tokens: [null, p.contextLength] as Shape };
  },
});

export const PromptsSpec = define({
  type: 'Prompts',
  label: 'Class prompts',
  category: 'Data',
  kind: 'op',
  procedures: ['train', 'evaluate'],
  description:
    'Every class written with every template ("a picture of a {word}"), tokenized: classes × templates texts, class by class. Feed them to the text network and the zero-shot classifier; use templates that training never saw to test zero-shot transfer.',
  inputs: [],
  outputs: [{ name: 'tokens' }],
  params: z.object({ ...classParams, ...tokenizerParams }),
  keyParams: ['contextLength'],
  infer: (p): Record<string, Shape> | ShapeProblem => classProblem(p) ?? { tokens: [p.classWords.length * p.templates.length, p.contextLength] as Shape },
});

export const ZeroShotSpec = define({
  type: 'ZeroShotClassifier',
  label: 'Zero-shot classifier',
  category: 'Evaluation',
  kind: 'op',
  procedures: ['train', 'evaluate'],
  description:
    "CLIP's zero-shot classifier: each class's prompt embeddings are normalised and averaged, and each image scores scale × its cosine similarity to every class. Wire the logits into Accuracy (named zeroShotAccuracy).",
  inputs: [
    { name: 'image', label: 'image embeddings' },
    { name: 'text', label: 'prompt embeddings' },
  ],
  outputs: [{ name: 'logits' }],
  params: z.object({
    classes: z.number().int().min(2).default(10).describe('How many classes the prompts describe (the prompts come class by class).'),
    scale: z.number().positive().default(100).describe('Logit scale of the cosine similarities (CLIP uses 100).'),
  }),
  keyParams: ['classes'],
  infer: (p, [image, text]): Record<string, Shape> | ShapeProblem => {
    for (const [name, s] of [
      ['image', image!],
      ['text', text!],
    ] as const)
      if (s.length !== 2)
        return {
          code: 'PB301',
          port: name,
          message: `Received ${formatShape(s)} for "${name}", expected a batch of embeddings (rank 2).`,
          help: 'Wire a network output.',
        };
    if (image![1] !== null && text![1] !== null && image![1] !== text![1])
      return {
        code: 'PB302',
        port: 'text',
        message: `Received image embeddings of size ${image![1]} and prompt embeddings of size ${text![1]}, expected one size.`,
        help: 'Project both towers to the same embedding width.',
      };
    const rows = text![0];
    if (typeof rows === 'number' && rows % p.classes !== 0)
      return {
        code: 'PB302',
        param: 'classes',
        message: `Received ${rows} prompts for ${p.classes} classes, expected the same number of prompts for every class.`,
        help: 'Set classes to the number of class words of the Prompts node.',
      };
    return { logits: [null, p.classes] as Shape };
  },
});

export const CLIP_PROGRAM_SPECS = [CaptionsSpec, PromptsSpec, ZeroShotSpec] as const;
