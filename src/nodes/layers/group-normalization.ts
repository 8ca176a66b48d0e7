import { z } from 'zod';
import { formatShape, lastDim, requireRank } from '../shape';
import { defineSpec, IN, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

/**
 * Group normalisation as PyTorch's nn.GroupNorm does it, channels last: the diffusion UNets' norm.
 * tfjs has none, so it lowers to the custom layer PatchbayGroupNormalization (src/runtime/layers).
 */
export const GroupNormalizationSpec = defineSpec({
  type: 'GroupNormalization',
  version: 1,
  label: 'GroupNormalization',
  category: 'Normalization',
  aliases: ['groupnorm', 'gn', 'group norm'],
  description:
    'Splits the channels into groups and normalises each group over its positions and channels, per example, then applies a learned scale and offset per channel (PyTorch GroupNorm). Independent of the batch size, as diffusion UNets need.',
  inputs: [{ ...IN, minRank: 2 }],
  outputs: [OUT],
  params: z.object({
    groups: z
      .number()
      .int()
      .min(1)
      .default(32)
      .describe(
        'How many groups the channels are split into; the channel count must be a multiple of it. 32 in the diffusion UNets; 1 normalises all channels together, as many groups as channels is instance norm.',
      ),
    epsilon: z.number().positive().default(1e-5).describe('Added to the variance for stability (PyTorch uses 1e-5).'),
  }),
  keyParams: ['groups'],
  infer(p, [x]) {
    const problem = requireRank(
      x!,
      2,
      Infinity,
      'GroupNormalization needs a channel axis last: (batch, channels), (batch, length, channels) or (batch, height, width, channels).',
    );
    if (problem) return problem;
    const channels = lastDim(x!);
    if (channels === null)
      return {
        code: 'PB305',
        port: 'in',
        message: `Received ${formatShape(x!)} with an unknown channel axis, expected a known size.`,
        help: 'Give the input a fixed last dimension.',
      };
    if (channels % p.groups !== 0) {
      const fits =
        divisors(channels)
          .filter((d) => d <= p.groups)
          .pop() ?? 1;
      return {
        code: 'PB300',
        param: 'groups',
        message: `Received ${p.groups} groups for ${channels} channels, expected a number of groups that divides the channel count.`,
        help: `Use ${fits} groups (or another divisor of ${channels}), or change the channels before this layer to a multiple of ${p.groups}.`,
      };
    }
    return x!;
  },
  countParams(_p, [x]) {
    // A scale and an offset per channel, as nn.GroupNorm(affine=True).
    return { trainable: 2 * (lastDim(x!) ?? 0), nonTrainable: 0 };
  },
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayGroupNormalization', custom: true, config: { groups: p.groups, epsilon: p.epsilon } }),
  examples: [
    { params: { groups: 4 }, inputs: [[6, 5, 8]] },
    { params: { groups: 2, epsilon: 1e-6 }, inputs: [[7, 6]] },
    { params: { groups: 1 }, inputs: [[12]] },
    { params: { groups: 32 }, inputs: [[4, 4, 64]] },
  ],
});

const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
