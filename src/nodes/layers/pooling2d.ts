import { z } from 'zod';
import { asPair, pair, pairValue, padding, requireRank, window2d } from '../shape';
import { defineSpec, NO_PARAMS, OUT, type NodeSpec } from '../spec';
import { ELEMENTWISE } from '../cost';

const poolingParams = z.object({
  poolSize: pair('Window size.', 2),
  strides: z.union([pairValue(), z.null()]).default(null).describe('Step between windows; empty means the pool size.'),
  padding,
});

function poolingSpec(type: 'MaxPooling2D' | 'AveragePooling2D', factory: string, aliases: string[], what: string): NodeSpec<typeof poolingParams> {
  return defineSpec({
    type,
    version: 1,
    label: type,
    category: 'Pooling',
    aliases,
    description: `Downsamples an image by taking the ${what} of each window, per channel.`,
    inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
    outputs: [OUT],
    params: poolingParams,
    keyParams: ['poolSize', 'strides'],
    infer(p, [x]) {
      const problem = requireRank(x!, 4, 4, `${type} takes images shaped (batch, height, width, channels).`);
      if (problem) return problem;
      const hw = window2d(x!, asPair(p.poolSize), asPair(p.strides ?? p.poolSize), p.padding, [1, 1], 'poolSize');
      if (!Array.isArray(hw)) return hw;
      return [x![0]!, hw[0], hw[1], x![3]!];
    },
    countParams: () => NO_PARAMS,
    cost: ELEMENTWISE,
    lower: (p) => ({ kind: 'layer', factory, config: { poolSize: p.poolSize, strides: p.strides ?? p.poolSize, padding: p.padding } }),
    examples: [
      { params: { poolSize: 2 }, inputs: [[28, 28, 3]] },
      { params: { poolSize: 3, strides: 2, padding: 'same' }, inputs: [[9, 10, 2]] },
    ],
  });
}

export const MaxPooling2DSpec = poolingSpec('MaxPooling2D', 'maxPooling2d', ['max pool', 'downsample'], 'maximum');
export const AveragePooling2DSpec = poolingSpec('AveragePooling2D', 'averagePooling2d', ['average pool', 'mean pool', 'downsample'], 'mean');
