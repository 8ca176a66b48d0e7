import { z } from 'zod';
import { requireRank } from '../shape';
import { defineSpec, IN, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const EmbeddingSpec = defineSpec({
  type: 'Embedding',
  version: 1,
  label: 'Embedding',
  category: 'Core',
  aliases: ['lookup', 'token embedding', 'word vectors'],
  description: 'Maps integer ids (batch, steps) to learned vectors (batch, steps, outputDim).',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    inputDim: z.number().int().positive().default(1000).describe('Vocabulary size: ids run from 0 to inputDim - 1.'),
    outputDim: z.number().int().positive().default(64).describe('Length of each learned vector.'),
  }),
  keyParams: ['inputDim', 'outputDim'],
  infer: (p, [x]) =>
    requireRank(x!, 2, 2, 'Embedding takes integer ids shaped (batch, steps); set the Input dtype to int32 and its shape to [steps].') ?? [
      x![0]!,
      x![1]!,
      p.outputDim,
    ],
  countParams: (p) => ({ trainable: p.inputDim * p.outputDim, nonTrainable: 0 }),
  // A table lookup: no multiply–accumulates.
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'embedding', config: { inputDim: p.inputDim, outputDim: p.outputDim } }),
  examples: [{ params: { inputDim: 50, outputDim: 8 }, inputs: [[12]] }],
});
