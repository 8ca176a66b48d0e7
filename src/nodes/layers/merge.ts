import { z } from 'zod';
import { formatShape } from '../shape';
import { defineSpec, NO_PARAMS, OUT, type Dim, type NodeSpec, type Shape, type ShapeProblem } from '../spec';
import { ELEMENTWISE } from '../cost';

const INPUTS = { name: 'inputs', variadic: true, minConnections: 2 };

/** Element-wise merges need equal shapes; an axis of size 1 broadcasts, as in tfjs. */
function broadcastShapes(inputs: Shape[], type: string): Shape | ShapeProblem {
  const rank = inputs[0]!.length;
  const mismatch = inputs.find((s) => s.length !== rank);
  if (mismatch) {
    return {
      code: 'PB301',
      port: 'inputs',
      message: `Received inputs of shapes ${inputs.map(formatShape).join(' and ')}, expected all of the same rank.`,
      help: `${type} combines tensors element-wise; reshape the inputs to one shape.`,
    };
  }
  const out: Dim[] = [];
  for (let axis = 0; axis < rank; axis++) {
    let dim: Dim = 1;
    for (const s of inputs) {
      const d = s[axis]!;
      if (d === null) {
        dim = dim === 1 ? null : dim;
        continue;
      }
      if (d === 1) continue;
      if (dim !== 1 && dim !== null && dim !== d) {
        return {
          code: 'PB302',
          port: 'inputs',
          message: `Received inputs of shapes ${inputs.map(formatShape).join(' and ')}, expected equal shapes (axis ${axis} differs: ${dim} vs ${d}).`,
          help: `Make the inputs of ${type} the same shape, e.g. with a Dense or Conv2D that changes the channels.`,
        };
      }
      dim = d;
    }
    out.push(axis === 0 ? null : dim);
  }
  return out;
}

const noParams = z.object({});

function elementwise(type: 'Add' | 'Multiply', factory: string, aliases: string[], description: string): NodeSpec<typeof noParams> {
  return defineSpec({
    type,
    version: 1,
    label: type,
    category: 'Merge',
    aliases,
    description,
    inputs: [INPUTS],
    outputs: [OUT],
    params: noParams,
    keyParams: [],
    infer: (_p, inputs) => broadcastShapes(inputs, type),
    countParams: () => NO_PARAMS,
    cost: ELEMENTWISE,
    lower: () => ({ kind: 'layer', factory, config: {} }),
    examples: [
      {
        params: {},
        inputs: [
          [7, 7, 4],
          [7, 7, 4],
        ],
      },
      { params: {}, inputs: [[8], [8], [8]] },
    ],
  });
}

export const AddSpec = elementwise(
  'Add',
  'add',
  ['residual', 'skip connection', 'sum', 'plus'],
  'Adds its inputs element-wise: the join of a residual (skip) connection.',
);
export const MultiplySpec = elementwise('Multiply', 'multiply', ['product', 'gate', 'elementwise'], 'Multiplies its inputs element-wise, as in gating.');

export const ConcatenateSpec = defineSpec({
  type: 'Concatenate',
  version: 1,
  label: 'Concatenate',
  category: 'Merge',
  aliases: ['concat', 'stack', 'join'],
  description: 'Joins its inputs along one axis; all other axes must match.',
  inputs: [INPUTS],
  outputs: [OUT],
  params: z.object({
    axis: z
      .number()
      .int()
      .refine((a) => a !== 0, 'the batch axis cannot be concatenated')
      .default(-1)
      .describe('Axis to join along; -1 is the last (channels).'),
  }),
  keyParams: ['axis'],
  infer(p, inputs) {
    const rank = inputs[0]!.length;
    const axis = p.axis < 0 ? rank + p.axis : p.axis;
    if (axis <= 0 || axis >= rank) {
      return {
        code: 'PB300',
        param: 'axis',
        message: `Received axis ${p.axis} for inputs of rank ${rank}, expected 1…${rank - 1} or -1…-${rank - 1}.`,
        help: 'Pick an axis other than the batch.',
      };
    }
    let total: Dim = 0;
    for (const s of inputs) {
      const other = s.findIndex((d, i) => i !== axis && i !== 0 && d !== inputs[0]![i]);
      if (s.length !== rank || other !== -1) {
        return {
          code: 'PB302',
          port: 'inputs',
          message: `Received inputs of shapes ${inputs.map(formatShape).join(' and ')}, expected them to match on every axis except ${p.axis}.`,
          help: 'Change the layers before Concatenate so the other axes agree, or concatenate on another axis.',
        };
      }
      total = total === null || s[axis] === null ? null : total + s[axis]!;
    }
    const out = [...inputs[0]!];
    out[axis] = total;
    return out;
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'concatenate', config: { axis: p.axis } }),
  examples: [
    {
      params: {},
      inputs: [
        [7, 7, 4],
        [7, 7, 6],
      ],
    },
    {
      params: { axis: 1 },
      inputs: [
        [3, 5],
        [2, 5],
      ],
    },
  ],
});
