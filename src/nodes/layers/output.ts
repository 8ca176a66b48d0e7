import { z } from 'zod';
import { defineSpec, IN, NO_PARAMS } from '../spec';
import { VIEW } from '../cost';

export const OutputSpec = defineSpec({
  type: 'Output',
  version: 1,
  label: 'Output',
  category: 'Inputs',
  aliases: ['result', 'prediction'],
  description: 'Marks a model output. Without any Output node, every node nothing consumes is an output.',
  inputs: [IN],
  outputs: [],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => x!,
  countParams: () => NO_PARAMS,
  // The model output is the last layer's tensor, not a new one.
  cost: VIEW,
  lower: () => ({ kind: 'identity' }),
  examples: [{ params: {}, inputs: [[10]] }],
});
