import { z } from 'zod';
import { formatShape, lastDim, requireRank } from '../shape';
import { defineSpec, IN, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const BatchNormalizationSpec = defineSpec({
  type: 'BatchNormalization',
  version: 1,
  label: 'BatchNormalization',
  category: 'Normalization',
  aliases: ['batchnorm', 'bn', 'normalize'],
  description: 'Normalises each channel over the batch. Moving mean and variance are kept for inference and are not trained.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    momentum: z.number().min(0).max(1).default(0.99).describe('Moving-average momentum (Keras convention; PyTorch momentum 0.1 is 0.9 here).'),
    epsilon: z.number().positive().default(1e-3).describe('Added to the variance for stability (PyTorch uses 1e-5).'),
    center: z.boolean().default(true).describe('Learn an offset (beta).'),
    scale: z.boolean().default(true).describe('Learn a scale (gamma).'),
  }),
  keyParams: [],
  infer(_p, [x]) {
    const problem = requireRank(x!, 2, Infinity, 'BatchNormalization needs a channel axis.');
    if (problem) return problem;
    if (lastDim(x!) === null)
      return {
        code: 'PB305',
        port: 'in',
        message: `Received ${formatShape(x!)} with an unknown channel axis, expected a known size.`,
        help: 'Give the input a fixed last dimension.',
      };
    return x!;
  },
  countParams(p, [x]) {
    const c = lastDim(x!) ?? 0;
    return { trainable: (p.center ? c : 0) + (p.scale ? c : 0), nonTrainable: 2 * c };
  },
  // Normalisation is element-wise work: no MACs by the papers' convention.
  cost: ELEMENTWISE,
  lower: (p) => ({
    kind: 'layer',
    factory: 'batchNormalization',
    config: { axis: -1, momentum: p.momentum, epsilon: p.epsilon, center: p.center, scale: p.scale },
  }),
  examples: [
    { params: {}, inputs: [[7, 7, 8]] },
    { params: { momentum: 0.9, epsilon: 1e-5, center: false }, inputs: [[12]] },
  ],
});
