import { z } from 'zod';
import { formatShape, product } from '../shape';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { VIEW } from '../cost';

export const ReshapeSpec = defineSpec({
  type: 'Reshape',
  version: 1,
  label: 'Reshape',
  category: 'Reshaping',
  aliases: ['view', 'tokens', 'to sequence'],
  description: 'Rearranges each example into a new shape with the same number of values. One axis may be -1 (inferred).',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    targetShape: z
      .array(
        z
          .number()
          .int()
          .min(-1)
          .refine((d) => d !== 0, 'an axis cannot be 0'),
      )
      .min(1)
      .default([-1])
      .describe('New shape without the batch, e.g. [196, 768]; one axis may be -1.'),
  }),
  keyParams: ['targetShape'],
  infer(p, [x]) {
    const target = p.targetShape;
    const wildcards = target.filter((d) => d === -1).length;
    if (wildcards > 1)
      return {
        code: 'PB300',
        param: 'targetShape',
        message: `Received targetShape [${target.join(', ')}] with ${wildcards} axes of -1, expected at most one.`,
        help: 'Write the size of all axes but one.',
      };
    const rest = x!.slice(1);
    if (rest.some((d) => d === null))
      return {
        code: 'PB305',
        port: 'in',
        message: `Received ${formatShape(x!)}, expected every axis but the batch to be known.`,
        help: 'Give the input a fixed shape.',
      };
    const total = product(rest as number[]);
    const known = product(target.filter((d) => d !== -1));
    if (wildcards === 1 ? total % known !== 0 : known !== total) {
      return {
        code: 'PB304',
        param: 'targetShape',
        message: `Received an input of shape ${formatShape(x!)} (${total} values per example), which cannot be reshaped to [${target.join(', ')}]${wildcards ? '' : ` (${known} values)`}.`,
        help: `Choose a targetShape whose sizes multiply to ${total}, or use -1 for one axis.`,
      };
    }
    return [x![0]!, ...target.map((d) => (d === -1 ? total / known : d))];
  },
  countParams: () => NO_PARAMS,
  // `$fillShape` resolves -1 from the input shape at build time (see compiler/plan.ts for why).
  // A view of the input: tfjs shares its data, so nothing new is kept.
  cost: VIEW,
  lower: (p) => ({ kind: 'layer', factory: 'reshape', config: { targetShape: { $fillShape: p.targetShape } } }),
  examples: [
    { params: { targetShape: [49, 16] }, inputs: [[7, 7, 16]] },
    { params: { targetShape: [-1, 4] }, inputs: [[8, 2]] },
    { params: { targetShape: [28, 28, 1] }, inputs: [[784]] },
  ],
});
