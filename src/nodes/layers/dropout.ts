import { z } from 'zod';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const DropoutSpec = defineSpec({
  type: 'Dropout',
  version: 1,
  label: 'Dropout',
  category: 'Core',
  aliases: ['regularization'],
  description: 'During training, zeroes a random fraction of values and rescales the rest; does nothing at inference.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({ rate: z.number().min(0).lt(1).default(0.5).describe('Fraction of values dropped, from 0 up to (not including) 1.') }),
  keyParams: ['rate'],
  infer: (_p, [x]) => x!,
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'dropout', config: { rate: p.rate } }),
  examples: [{ params: { rate: 0.25 }, inputs: [[32]] }],
});
