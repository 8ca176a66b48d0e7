import { z } from 'zod';
import { activation, asPair, initializer, lastDim, pair, padding, requireRank, window2d } from '../shape';
import { defineSpec, OUT, type ShapeProblem } from '../spec';
import { perExample, times } from '../cost';

const RANK_HELP = 'Conv2D takes images shaped (batch, height, width, channels); add a Reshape before it.';

/** tfjs rejects strides > 1 together with dilation > 1, so we say so before it does. */
export function stridesWithDilation(strides: number | readonly [number, number], dilation: number | readonly [number, number]): ShapeProblem | null {
  const s = asPair(strides);
  const d = asPair(dilation);
  if ((s[0] > 1 || s[1] > 1) && (d[0] > 1 || d[1] > 1)) {
    return {
      code: 'PB300',
      param: 'dilationRate',
      message: `Received strides ${s.join('×')} with dilation ${d.join('×')}, expected one of them to be 1.`,
      help: 'Set strides to 1 or dilationRate to 1.',
    };
  }
  return null;
}

export const Conv2DSpec = defineSpec({
  type: 'Conv2D',
  version: 1,
  label: 'Conv2D',
  category: 'Convolution',
  aliases: ['convolution', 'conv', 'cnn', 'patchify'],
  description: 'A 2-D convolution over (height, width) of an NHWC image, with learned filters.',
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    filters: z.number().int().positive().default(32).describe('Number of output channels.'),
    kernelSize: pair('Window size: one number, or [height, width].', 3),
    strides: pair('Step between windows; equal to kernelSize for non-overlapping patches.', 1),
    padding,
    dilationRate: pair('Spacing between kernel taps (atrous convolution).', 1),
    activation: activation(),
    useBias: z.boolean().default(true).describe('Add a learned bias per filter.'),
    kernelInitializer: initializer('glorotNormal'),
  }),
  keyParams: ['filters', 'kernelSize', 'strides'],
  infer(p, [x]) {
    const problem = requireRank(x!, 4, 4, RANK_HELP) ?? stridesWithDilation(p.strides, p.dilationRate);
    if (problem) return problem;
    const hw = window2d(x!, asPair(p.kernelSize), asPair(p.strides), p.padding, asPair(p.dilationRate));
    if (!Array.isArray(hw)) return hw;
    return [x![0]!, hw[0], hw[1], p.filters];
  },
  countParams(p, [x]) {
    const [kh, kw] = asPair(p.kernelSize);
    return { trainable: kh * kw * (lastDim(x!) ?? 0) * p.filters + (p.useBias ? p.filters : 0), nonTrainable: 0 };
  },
  // Each output element is a dot product over a kh × kw × in-channels window.
  cost(p, [x], out) {
    const [kh, kw] = asPair(p.kernelSize);
    return { macs: times(perExample(out), times(lastDim(x!), kh * kw)) };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'conv2d',
    config: {
      filters: p.filters,
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      dilationRate: p.dilationRate,
      activation: p.activation,
      useBias: p.useBias,
      kernelInitializer: p.kernelInitializer,
    },
  }),
  examples: [
    { params: { filters: 8, kernelSize: 3 }, inputs: [[28, 28, 1]] },
    { params: { filters: 16, kernelSize: 2, strides: 2 }, inputs: [[28, 28, 1]] },
    { params: { filters: 4, kernelSize: [3, 5], strides: [2, 1], padding: 'same' }, inputs: [[9, 11, 3]] },
    { params: { filters: 4, kernelSize: 3, dilationRate: 2 }, inputs: [[12, 12, 2]] },
  ],
});
