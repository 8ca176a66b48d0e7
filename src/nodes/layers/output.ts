import { z } from 'zod';
import { defineSpec, IN, NO_PARAMS } from '../spec';

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
  lower: () => ({ kind: 'identity' }),
  examples: [{ params: {}, inputs: [[10]] }],
});
