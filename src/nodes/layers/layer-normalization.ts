import { z } from 'zod';
import { formatShape, lastDim, requireRank } from '../shape';
import { defineSpec, IN, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const LayerNormalizationSpec = defineSpec({
  type: 'LayerNormalization',
  version: 1,
  label: 'LayerNormalization',
  category: 'Normalization',
  aliases: ['layernorm', 'ln', 'normalize'],
  description: 'Normalises each example over its last axis, as transformers and mixers do.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    epsilon: z.number().positive().default(1e-3).describe('Added to the variance for stability (timm Mixer/ViT use 1e-6, PyTorch 1e-5).'),
    center: z.boolean().default(true).describe('Learn an offset (beta).'),
    scale: z.boolean().default(true).describe('Learn a scale (gamma).'),
  }),
  keyParams: [],
  infer(_p, [x]) {
    const problem = requireRank(x!, 2, Infinity, 'LayerNormalization needs a feature axis.');
    if (problem) return problem;
    if (lastDim(x!) === null)
      return {
        code: 'PB305',
        port: 'in',
        message: `Received ${formatShape(x!)} with an unknown last axis, expected a known size.`,
        help: 'Give the input a fixed last dimension.',
      };
    return x!;
  },
  countParams(p, [x]) {
    const c = lastDim(x!) ?? 0;
    return { trainable: (p.center ? c : 0) + (p.scale ? c : 0), nonTrainable: 0 };
  },
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'layerNormalization', config: { axis: -1, epsilon: p.epsilon, center: p.center, scale: p.scale } }),
  examples: [
    { params: { epsilon: 1e-6 }, inputs: [[49, 16]] },
    { params: {}, inputs: [[10]] },
  ],
});
