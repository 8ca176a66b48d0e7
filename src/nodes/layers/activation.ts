import { z } from 'zod';
import { ACTIVATIONS } from '../shape';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const ActivationSpec = defineSpec({
  type: 'Activation',
  version: 1,
  label: 'Activation',
  category: 'Core',
  aliases: ['relu', 'gelu', 'swish', 'silu', 'sigmoid', 'tanh', 'softmax', 'nonlinearity'],
  description: 'Applies a nonlinearity element-wise; the shape does not change.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    activation: z
      .enum(ACTIVATIONS)
      .default('relu')
      .describe('The function: "swish" is SiLU; "gelu" is exact, "gelu_new" the tanh approximation; softmax acts on the last axis.'),
  }),
  keyParams: ['activation'],
  infer: (_p, [x]) => x!,
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'activation', config: { activation: p.activation } }),
  examples: [
    { params: { activation: 'gelu' }, inputs: [[7, 7, 4]] },
    { params: { activation: 'softmax' }, inputs: [[10]] },
  ],
});
