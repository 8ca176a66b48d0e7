import { z } from 'zod';
import { requireRank } from '../shape';
import { defineSpec, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

const amount = z.number().int().min(0);

/** Keras accepts `1`, `[h, w]` or `[[top, bottom], [left, right]]`; this normalises all three. */
export function paddingAmounts(v: number | [number, number] | [[number, number], [number, number]]): [[number, number], [number, number]] {
  if (typeof v === 'number')
    return [
      [v, v],
      [v, v],
    ];
  if (typeof v[0] === 'number')
    return [
      [v[0], v[0]],
      [v[1] as number, v[1] as number],
    ];
  return v as [[number, number], [number, number]];
}

export const ZeroPadding2DSpec = defineSpec({
  type: 'ZeroPadding2D',
  version: 1,
  label: 'ZeroPadding2D',
  category: 'Reshaping',
  aliases: ['pad', 'padding'],
  description: 'Adds rows and columns of zeros around an image.',
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    padding: z
      .union([amount, z.tuple([amount, amount]), z.tuple([z.tuple([amount, amount]), z.tuple([amount, amount])])])
      .default(1)
      .describe('Zeros to add: one number, [height, width], or [[top, bottom], [left, right]].'),
  }),
  keyParams: ['padding'],
  infer(p, [x]) {
    const problem = requireRank(x!, 4, 4, 'ZeroPadding2D takes images shaped (batch, height, width, channels).');
    if (problem) return problem;
    const [[t, b], [l, r]] = paddingAmounts(p.padding);
    return [x![0]!, x![1] === null ? null : x![1]! + t + b, x![2] === null ? null : x![2]! + l + r, x![3]!];
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'zeroPadding2d', config: { padding: p.padding } }),
  examples: [
    { params: { padding: 1 }, inputs: [[5, 5, 2]] },
    {
      params: {
        padding: [
          [1, 2],
          [0, 3],
        ],
      },
      inputs: [[4, 4, 1]],
    },
  ],
});
