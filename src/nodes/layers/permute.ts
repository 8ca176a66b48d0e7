import { z } from 'zod';
import { formatShape } from '../shape';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const PermuteSpec = defineSpec({
  type: 'Permute',
  version: 1,
  label: 'Permute',
  category: 'Reshaping',
  aliases: ['transpose', 'swap axes'],
  description: 'Reorders the axes of each example. Axes are numbered from 1 (the batch axis stays first).',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    dims: z.array(z.number().int().min(1)).min(1).default([2, 1]).describe('The new order of axes, 1-based: [2, 1] swaps tokens and channels.'),
  }),
  keyParams: ['dims'],
  infer(p, [x]) {
    const rank = x!.length - 1;
    const sorted = [...p.dims].sort((a, b) => a - b);
    if (p.dims.length !== rank || sorted.some((d, i) => d !== i + 1)) {
      return {
        code: 'PB300',
        param: 'dims',
        message: `Received dims [${p.dims.join(', ')}] for an input of shape ${formatShape(x!)}, expected a permutation of 1…${rank}.`,
        help: `List each of the ${rank} non-batch axes exactly once, e.g. [${Array.from({ length: rank }, (_, i) => rank - i).join(', ')}].`,
      };
    }
    return [x![0]!, ...p.dims.map((d) => x![d]!)];
  },
  countParams: () => NO_PARAMS,
  // A transpose copies the data but multiplies nothing.
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'permute', config: { dims: p.dims } }),
  examples: [
    { params: { dims: [2, 1] }, inputs: [[49, 16]] },
    { params: { dims: [3, 1, 2] }, inputs: [[4, 5, 6]] },
  ],
});
