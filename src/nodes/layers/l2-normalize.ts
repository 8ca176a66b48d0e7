import { z } from 'zod';
import { formatShape, requireRank } from '../shape';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

/**
 * Unit-length vectors, as PyTorch's F.normalize (SimSiam, BYOL and CLIP normalise embeddings before
 * comparing them). Lowers to the custom layer PatchbayL2Normalize (src/runtime/layers).
 */
export const L2NormalizeSpec = defineSpec({
  type: 'L2Normalize',
  version: 1,
  label: 'L2 normalise',
  category: 'Normalization',
  aliases: ['l2norm', 'normalize', 'unit length', 'F.normalize'],
  description: 'Divides each vector along an axis by its Euclidean length, so it has length 1 (a zero vector stays zero). No weights.',
  inputs: [{ ...IN, minRank: 2 }],
  outputs: [OUT],
  params: z.object({
    axis: z.number().int().default(-1).describe('The axis whose vectors get unit length: -1 is the last (the features); axes count from 1 after the batch.'),
    epsilon: z
      .number()
      .positive()
      .default(1e-12)
      .describe('The smallest length divided by, so that a zero vector does not divide by zero (PyTorch uses 1e-12).'),
  }),
  keyParams: [],
  infer(p, [x]) {
    const problem = requireRank(x!, 2, Infinity, 'L2 normalise needs at least one axis besides the batch.');
    if (problem) return problem;
    const rank = x!.length;
    if (p.axis === 0 || p.axis >= rank || p.axis < -(rank - 1)) {
      return {
        code: 'PB300',
        param: 'axis',
        message: `Received axis ${p.axis} for an input of shape ${formatShape(x!)}, expected 1…${rank - 1} or -1…-${rank - 1}.`,
        help: 'Pick an axis other than the batch; -1 normalises the features.',
      };
    }
    return x!;
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayL2Normalize', custom: true, config: { axis: p.axis, epsilon: p.epsilon } }),
  examples: [
    { params: {}, inputs: [[16]] },
    { params: { axis: 1 }, inputs: [[5, 8]] },
    { params: { axis: -1, epsilon: 1e-6 }, inputs: [[3, 4, 6]] },
  ],
});
