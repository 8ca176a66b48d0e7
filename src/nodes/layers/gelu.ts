import { z } from 'zod';
import { ELEMENTWISE } from '../cost';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';

/**
 * GELU in PyTorch's three forms: exact, tanh, and CLIP's QuickGELU x·σ(1.702x), which tfjs lacks. A
 * layer of its own (the custom PatchbayGelu) so that a block can choose the form with a param.
 */
export const GeluSpec = defineSpec({
  type: 'GELU',
  version: 1,
  label: 'GELU',
  category: 'Core',
  aliases: ['quickgelu', 'quick gelu', 'gelu', 'activation'],
  description: 'GELU element-wise: exact (x·Φ(x)), the tanh approximation, or QuickGELU x·σ(1.702x) as CLIP uses. Shape unchanged.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    approximate: z
      .enum(['none', 'tanh', 'quick'])
      .default('none')
      .describe('"none": exact GELU with erf (ViT). "tanh": the tanh approximation. "quick": QuickGELU, x·σ(1.702x) (CLIP).'),
  }),
  keyParams: ['approximate'],
  infer: (_p, [x]) => x!,
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayGelu', custom: true, config: { approximate: p.approximate } }),
  examples: [
    { params: {}, inputs: [[6, 8]] },
    { params: { approximate: 'quick' }, inputs: [[10]] },
    { params: { approximate: 'tanh' }, inputs: [[3, 3, 2]] },
  ],
});
