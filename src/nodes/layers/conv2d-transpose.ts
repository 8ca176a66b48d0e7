import { z } from 'zod';
import { activation, asPair, lastDim, pair, padding, requireRank } from '../shape';
import { defineSpec, OUT, type Dim } from '../spec';
import { perExample, times } from '../cost';

/** tfjs `deconvLength`: the spatial size a transposed convolution produces. */
function transposedLength(size: Dim, stride: number, kernel: number, pad: 'valid' | 'same'): Dim {
  if (size === null) return null;
  return pad === 'same' ? size * stride : size * stride + Math.max(kernel - stride, 0);
}

export const Conv2DTransposeSpec = defineSpec({
  type: 'Conv2DTranspose',
  version: 1,
  label: 'Conv2DTranspose',
  category: 'Convolution',
  aliases: ['deconvolution', 'transposed convolution', 'upsample', 'upconv'],
  description: 'The transpose of a 2-D convolution: a learned upsampling, as in U-Net decoders.',
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    filters: z.number().int().positive().default(32).describe('Number of output channels.'),
    kernelSize: pair('Window size.', 3),
    strides: pair('Upsampling factor.', 1),
    padding,
    activation: activation(),
    useBias: z.boolean().default(true).describe('Add a learned bias per filter.'),
  }),
  keyParams: ['filters', 'kernelSize', 'strides'],
  infer(p, [x]) {
    const problem = requireRank(x!, 4, 4, 'Conv2DTranspose takes images shaped (batch, height, width, channels).');
    if (problem) return problem;
    const [kh, kw] = asPair(p.kernelSize);
    const [sh, sw] = asPair(p.strides);
    return [x![0]!, transposedLength(x![1]!, sh, kh, p.padding), transposedLength(x![2]!, sw, kw, p.padding), p.filters];
  },
  countParams(p, [x]) {
    const [kh, kw] = asPair(p.kernelSize);
    return { trainable: kh * kw * (lastDim(x!) ?? 0) * p.filters + (p.useBias ? p.filters : 0), nonTrainable: 0 };
  },
  // Each input element is spread over a kh × kw window of every filter (the count fvcore and ptflops use).
  cost(p, [x]) {
    const [kh, kw] = asPair(p.kernelSize);
    return { macs: times(perExample(x!), kh * kw * p.filters) };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'conv2dTranspose',
    config: { filters: p.filters, kernelSize: p.kernelSize, strides: p.strides, padding: p.padding, activation: p.activation, useBias: p.useBias },
  }),
  examples: [
    { params: { filters: 8, kernelSize: 2, strides: 2 }, inputs: [[7, 7, 4]] },
    { params: { filters: 3, kernelSize: 3, strides: 2, padding: 'same' }, inputs: [[5, 6, 2]] },
    { params: { filters: 2, kernelSize: 3 }, inputs: [[4, 4, 1]] },
  ],
});
