import { z } from 'zod';
import { defineSpec, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const InputSpec = defineSpec({
  type: 'Input',
  version: 1,
  label: 'Input',
  category: 'Inputs',
  aliases: ['placeholder', 'data'],
  description: 'Where data enters the model. The shape excludes the batch dimension.',
  inputs: [],
  outputs: [OUT],
  params: z.object({
    shape: z
      .array(z.number().int().positive())
      .min(1)
      .default([28, 28, 1])
      .describe('Shape of one example, without the batch: [28, 28, 1] for an MNIST digit.'),
    dtype: z.enum(['float32', 'int32']).default('float32').describe('Element type: float32 for images and features, int32 for token ids.'),
  }),
  keyParams: ['shape'],
  infer: (p) => [null, ...p.shape],
  countParams: () => NO_PARAMS,
  // The batch itself is kept for the backward pass of the first layer: its size counts as activation.
  cost: ELEMENTWISE,
  lower: () => ({ kind: 'input' }),
  examples: [
    { params: { shape: [28, 28, 1] }, inputs: [] },
    { params: { shape: [16] }, inputs: [] },
  ],
});
