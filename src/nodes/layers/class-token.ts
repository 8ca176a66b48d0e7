import { z } from 'zod';
import { ELEMENTWISE } from '../cost';
import { defineSpec, IN, OUT } from '../spec';
import { tokenWidth } from './multi-head-self-attention';

/** ViT's `[class]` token: lowers to the custom layer PatchbayClassToken (src/runtime/layers). */
export const ClassTokenSpec = defineSpec({
  type: 'ClassToken',
  version: 1,
  label: 'Class token',
  category: 'Core',
  aliases: ['cls', 'cls token', '[class]'],
  description: 'Puts one learned token in front of the sequence (tokens + 1); its final state is what a ViT head reads (with Take token).',
  inputs: [{ ...IN, minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer(_p, [x]) {
    const width = tokenWidth(x!, 'Class token');
    if (typeof width !== 'number') return width;
    return [x![0]!, x![1] === null ? null : x![1]! + 1, width];
  },
  countParams: (_p, [x]) => ({ trainable: x![2] ?? 0, nonTrainable: 0 }),
  cost: ELEMENTWISE,
  lower: () => ({ kind: 'layer', factory: 'PatchbayClassToken', custom: true, config: {} }),
  examples: [{ params: {}, inputs: [[4, 6]] }],
});
