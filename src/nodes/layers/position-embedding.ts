import { z } from 'zod';
import { ELEMENTWISE } from '../cost';
import { formatShape } from '../shape';
import { defineSpec, IN, OUT } from '../spec';
import { tokenWidth } from './multi-head-self-attention';

/** Learned position embeddings, added (ViT, CLIP): lowers to the custom layer PatchbayPositionEmbedding (src/runtime/layers). */
export const PositionEmbeddingSpec = defineSpec({
  type: 'PositionEmbedding',
  version: 1,
  label: 'Position embedding',
  category: 'Core',
  aliases: ['pos embed', 'positional encoding', 'position encoding', 'learned positions'],
  description: 'Adds a learned vector per position to every example, so that attention can tell the tokens’ positions apart. Shape unchanged.',
  inputs: [{ ...IN, minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({
    stddev: z.number().positive().default(0.02).describe('Spread of the random start: a normal distribution with this standard deviation (0.02 in ViT).'),
  }),
  keyParams: [],
  infer(_p, [x]) {
    const width = tokenWidth(x!, 'Position embedding');
    if (typeof width !== 'number') return width;
    if (x![1] === null)
      return {
        code: 'PB305',
        port: 'in',
        message: `Received ${formatShape(x!)} with an unknown number of tokens, expected a known count.`,
        help: 'Learned positions need a fixed sequence length: give the input a fixed size.',
      };
    return x!;
  },
  countParams: (_p, [x]) => ({ trainable: (x![1] ?? 0) * (x![2] ?? 0), nonTrainable: 0 }),
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayPositionEmbedding', custom: true, config: { stddev: p.stddev } }),
  examples: [
    { params: {}, inputs: [[5, 6]] },
    { params: { stddev: 0.01 }, inputs: [[17, 64]] },
  ],
});
