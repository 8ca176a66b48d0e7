import { z } from 'zod';
import { formatShape, product, requireRank } from '../shape';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { VIEW } from '../cost';

export const FlattenSpec = defineSpec({
  type: 'Flatten',
  version: 1,
  label: 'Flatten',
  category: 'Reshaping',
  aliases: ['vectorize', 'ravel'],
  description: 'Turns each example into one vector, keeping the batch axis.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer(_p, [x]) {
    // tfjs refuses rank 2 (min_ndim=3) rather than passing it through as Keras does.
    const problem = requireRank(x!, 3, Infinity, 'The input is already flat (batch, features); remove the Flatten.');
    if (problem) return problem;
    const rest = x!.slice(1);
    if (rest.some((d) => d === null))
      return {
        code: 'PB305',
        port: 'in',
        message: `Received ${formatShape(x!)}, expected every axis but the batch to be known.`,
        help: 'Give the input a fixed shape.',
      };
    return [x![0]!, product(rest as number[])];
  },
  countParams: () => NO_PARAMS,
  // A reshape: tfjs shares the input's data, so nothing new is kept.
  cost: VIEW,
  lower: () => ({ kind: 'layer', factory: 'flatten', config: {} }),
  examples: [
    { params: {}, inputs: [[7, 7, 4]] },
    { params: {}, inputs: [[5, 3]] },
  ],
  // Rank 2 is refused: see infer.
});
