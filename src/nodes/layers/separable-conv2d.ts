import { z } from 'zod';
import { activation, asPair, lastDim, pair, padding, requireRank, window2d } from '../shape';
import { defineSpec, OUT } from '../spec';
import { stridesWithDilation } from './conv2d';
import { perExample, times } from '../cost';

export const SeparableConv2DSpec = defineSpec({
  type: 'SeparableConv2D',
  version: 1,
  label: 'SeparableConv2D',
  category: 'Convolution',
  aliases: ['separable', 'xception', 'mobilenet'],
  description: 'A depthwise convolution followed by a 1×1 pointwise convolution, as one layer.',
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    filters: z.number().int().positive().default(32).describe('Number of output channels.'),
    kernelSize: pair('Depthwise window size.', 3),
    strides: pair('Step between windows.', 1),
    padding,
    depthMultiplier: z.number().int().positive().default(1).describe('Depthwise output channels per input channel.'),
    dilationRate: pair('Spacing between kernel taps.', 1),
    activation: activation(),
    useBias: z.boolean().default(true).describe('Add a learned bias per filter.'),
  }),
  keyParams: ['filters', 'kernelSize'],
  infer(p, [x]) {
    const problem =
      requireRank(x!, 4, 4, 'SeparableConv2D takes images shaped (batch, height, width, channels).') ?? stridesWithDilation(p.strides, p.dilationRate);
    if (problem) return problem;
    const hw = window2d(x!, asPair(p.kernelSize), asPair(p.strides), p.padding, asPair(p.dilationRate));
    if (!Array.isArray(hw)) return hw;
    return [x![0]!, hw[0], hw[1], p.filters];
  },
  countParams(p, [x]) {
    const [kh, kw] = asPair(p.kernelSize);
    const mid = (lastDim(x!) ?? 0) * p.depthMultiplier;
    return { trainable: kh * kw * mid + mid * p.filters + (p.useBias ? p.filters : 0), nonTrainable: 0 };
  },
  // A depthwise step (kh·kw per mid channel) then a pointwise one (mid × filters), both at the output's resolution.
  cost(p, [x], out) {
    const [kh, kw] = asPair(p.kernelSize);
    // The depthwise result at the output's resolution is kept too, for the pointwise step's gradient.
    const depthwise = times(perExample(out.slice(0, -1).concat([1])), times(lastDim(x!), p.depthMultiplier));
    const output = perExample(out);
    return { macs: times(depthwise, kh * kw + p.filters), activations: depthwise === null || output === null ? null : depthwise + output };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'separableConv2d',
    config: {
      filters: p.filters,
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      depthMultiplier: p.depthMultiplier,
      dilationRate: p.dilationRate,
      activation: p.activation,
      useBias: p.useBias,
    },
  }),
  examples: [
    { params: { filters: 8, kernelSize: 3 }, inputs: [[12, 12, 4]] },
    { params: { filters: 6, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2 }, inputs: [[9, 9, 3]] },
  ],
});
