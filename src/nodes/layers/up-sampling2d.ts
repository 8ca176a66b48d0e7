import { z } from 'zod';
import { asPair, pairValue, requireRank } from '../shape';
import { defineSpec, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const UpSampling2DSpec = defineSpec({
  type: 'UpSampling2D',
  version: 1,
  label: 'UpSampling2D',
  category: 'Reshaping',
  aliases: ['upsample', 'resize', 'nearest'],
  description: 'Enlarges an image by repeating (nearest) or interpolating (bilinear) pixels.',
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    // tfjs needs [height, width] here (a single number gives NaN sizes), so parsing normalises it.
    size: pairValue().default(2).transform(asPair).describe('Upsampling factor: one number, or [height, width].'),
    interpolation: z.enum(['nearest', 'bilinear']).default('nearest').describe('How new pixels are filled.'),
  }),
  keyParams: ['size'],
  infer(p, [x]) {
    const problem = requireRank(x!, 4, 4, 'UpSampling2D takes images shaped (batch, height, width, channels).');
    if (problem) return problem;
    const [sh, sw] = asPair(p.size);
    return [x![0]!, x![1] === null ? null : x![1]! * sh, x![2] === null ? null : x![2]! * sw, x![3]!];
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'upSampling2d', config: { size: p.size, interpolation: p.interpolation } }),
  examples: [
    { params: { size: 2 }, inputs: [[7, 7, 4]] },
    { params: { size: [2, 3], interpolation: 'bilinear' }, inputs: [[4, 5, 2]] },
  ],
});
