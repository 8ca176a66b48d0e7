import { z } from 'zod';
import { activation, asPair, initializer, lastDim, pair, padding, requireRank, window2d } from '../shape';
import { defineSpec, OUT } from '../spec';
import { stridesWithDilation } from './conv2d';
import { perExample, times } from '../cost';

export const DepthwiseConv2DSpec = defineSpec({
  type: 'DepthwiseConv2D',
  version: 1,
  label: 'DepthwiseConv2D',
  category: 'Convolution',
  aliases: ['depthwise', 'grouped convolution', 'spatial mixing'],
  description: 'A 2-D convolution applied to each channel separately (groups = channels), as in ConvMixer.',
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    kernelSize: pair('Window size: one number, or [height, width].', 3),
    strides: pair('Step between windows.', 1),
    padding,
    depthMultiplier: z.number().int().positive().default(1).describe('Output channels per input channel.'),
    dilationRate: pair('Spacing between kernel taps.', 1),
    activation: activation(),
    useBias: z.boolean().default(true).describe('Add a learned bias per output channel.'),
    depthwiseInitializer: initializer('glorotNormal'),
  }),
  keyParams: ['kernelSize', 'padding'],
  infer(p, [x]) {
    const problem =
      requireRank(x!, 4, 4, 'DepthwiseConv2D takes images shaped (batch, height, width, channels).') ?? stridesWithDilation(p.strides, p.dilationRate);
    if (problem) return problem;
    const hw = window2d(x!, asPair(p.kernelSize), asPair(p.strides), p.padding, asPair(p.dilationRate));
    if (!Array.isArray(hw)) return hw;
    const c = lastDim(x!);
    return [x![0]!, hw[0], hw[1], c === null ? null : c * p.depthMultiplier];
  },
  countParams(p, [x]) {
    const [kh, kw] = asPair(p.kernelSize);
    const out = (lastDim(x!) ?? 0) * p.depthMultiplier;
    return { trainable: kh * kw * out + (p.useBias ? out : 0), nonTrainable: 0 };
  },
  // Each output element sums a kh × kw window of one channel. Counted, although some published ConvMixer figures leave it out.
  cost(p, _inputs, out) {
    const [kh, kw] = asPair(p.kernelSize);
    return { macs: times(perExample(out), kh * kw) };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'depthwiseConv2d',
    config: {
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      depthMultiplier: p.depthMultiplier,
      dilationRate: p.dilationRate,
      activation: p.activation,
      useBias: p.useBias,
      depthwiseInitializer: p.depthwiseInitializer,
    },
  }),
  examples: [
    { params: { kernelSize: 5, padding: 'same' }, inputs: [[14, 14, 8]] },
    { params: { kernelSize: 3, strides: 2, depthMultiplier: 2 }, inputs: [[9, 9, 3]] },
  ],
});
