import { z } from 'zod';
import { activation, formatShape, initializer, lastDim, requireRank } from '../shape';
import { defineSpec, IN, OUT } from '../spec';
import { denseMacs } from '../cost';

export const DenseSpec = defineSpec({
  type: 'Dense',
  version: 1,
  label: 'Dense',
  category: 'Core',
  aliases: ['linear', 'fully connected', 'fc', 'mlp'],
  description: 'A learned linear map of the last axis, plus a bias and an activation. On a sequence it acts on each token.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    units: z.number().int().positive().default(10).describe("Size of the output's last axis."),
    activation: activation(),
    useBias: z.boolean().default(true).describe('Add a learned bias.'),
    kernelInitializer: initializer('glorotNormal'),
  }),
  keyParams: ['units', 'activation'],
  infer(p, [x]) {
    const rank = requireRank(x!, 2, Infinity, 'Dense needs at least a feature axis; connect it after Input, Flatten or another layer.');
    if (rank) return rank;
    if (lastDim(x!) === null) {
      return {
        code: 'PB305',
        port: 'in',
        message: `Received an input of shape ${formatShape(x!)} whose last axis is unknown, expected a known size.`,
        help: 'Give the input a fixed last dimension.',
      };
    }
    return [...x!.slice(0, -1), p.units];
  },
  countParams: (p, [x]) => ({ trainable: (lastDim(x!) ?? 0) * p.units + (p.useBias ? p.units : 0), nonTrainable: 0 }),
  // in × out per position (each token of a sequence, each pixel of an image).
  cost: (p, [x], out) => ({ macs: denseMacs(lastDim(x!), out) }),
  lower: (p) => ({
    kind: 'layer',
    factory: 'dense',
    config: { units: p.units, activation: p.activation, useBias: p.useBias, kernelInitializer: p.kernelInitializer },
  }),
  examples: [
    { params: { units: 10 }, inputs: [[784]] },
    { params: { units: 32, activation: 'gelu', useBias: false }, inputs: [[49, 16]] },
    { params: { units: 8 }, inputs: [[4, 4, 3]] },
  ],
});
