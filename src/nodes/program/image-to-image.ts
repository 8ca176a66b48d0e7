import { z } from 'zod';
import { formatShape } from '../shape';
import type { Shape, ShapeProblem } from '../spec';
import type { ProgramNodeSpec } from './specs';

/**
 * The procedure nodes of conditional diffusion on images: SR3's low-resolution input (Saharia et al.
 * 2021) and Palette's inpainting mask, composite and masked loss (Saharia et al. 2022), and the two
 * measures that sample held-out outputs: PSNR against the upsampled input, masked error against
 * filling with the mean. runtime/program/image-to-image.ts runs them.
 */
const define = <S extends z.ZodObject>(spec: ProgramNodeSpec<S>): ProgramNodeSpec<S> => spec;
const problem = (message: string, help: string, port: string): ShapeProblem => ({ code: 'PB301', message, help, port });
const both = ['train', 'evaluate'] as const;
const same = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

const imageProblem = (x: Shape, port: string): ShapeProblem | null =>
  x.length === 4 && x.slice(1).every((d) => d !== null)
    ? null
    : problem(
        `Received ${formatShape(x)}, expected a batch of images of known size (batch, height, width, channels).`,
        'Feed it the image port of Data.',
        port,
      );

const metricName = (example: string) =>
  z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, `a name like "${example}"`)
    .default(example)
    .describe('The name the result is reported under.');

export const LowResolutionSpec = define({
  type: 'LowResolution',
  label: 'Low resolution, upsampled',
  category: 'Augment',
  kind: 'op',
  procedures: both,
  description:
    "SR3's condition: each image averaged down by the factor (28×28 → 7×7 for 4), then upsampled back to its size, bicubic (Keys, a = −0.5, as MATLAB's imresize) or bilinear. The network sees it beside x_t; its PSNR is the baseline.",
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({
    factor: z.number().int().min(2).default(4).describe('How many times smaller the low-resolution image is on each side.'),
    upsample: z.enum(['bicubic', 'bilinear']).default('bicubic').describe('How it is brought back to full size.'),
  }),
  keyParams: ['factor', 'upsample'],
  infer: (p, [x]) => {
    const bad = imageProblem(x!, 'in');
    if (bad) return bad;
    const [h, w] = [x![1]!, x![2]!];
    if (h !== w || h % p.factor !== 0)
      return {
        code: 'PB300',
        param: 'factor',
        message: `Received ${formatShape(x!)}, expected square images whose side divides by the factor ${p.factor}.`,
        help: 'Pick a factor that divides the image side (4 for 28×28).',
      };
    return { out: x! };
  },
});

export const SquareMaskSpec = define({
  type: 'SquareMask',
  label: 'Square mask',
  category: 'Augment',
  kind: 'op',
  procedures: both,
  description:
    "Palette's inpainting mask: 1 inside a square (what the network fills in), 0 elsewhere, of the input's shape; at a random place per example (seeded, so an evaluation sees the same squares every time) or in the centre.",
  inputs: [{ name: 'in', label: 'like' }],
  outputs: [{ name: 'out' }],
  params: z.object({
    size: z.number().int().min(1).default(14).describe('Side of the square, in pixels.'),
    placement: z.enum(['random', 'center']).default('random').describe('Where the square goes.'),
  }),
  keyParams: ['size', 'placement'],
  infer: (_p, [x]) => imageProblem(x!, 'in') ?? { out: x! },
});

export const CompositeSpec = define({
  type: 'Composite',
  label: 'Composite by mask',
  category: 'Tensors',
  kind: 'op',
  procedures: both,
  description:
    'mask·inside + (1 − mask)·outside. Palette feeds the network x_t inside the mask and the known image outside it, and conditions on the image with the masked square replaced.',
  inputs: [{ name: 'inside' }, { name: 'outside' }, { name: 'mask' }],
  outputs: [{ name: 'out' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [inside, outside, mask]) =>
    same(inside!, outside!) && same(inside!, mask!)
      ? { out: inside! }
      : problem(
          `Received ${formatShape(inside!)}, ${formatShape(outside!)} and ${formatShape(mask!)} for inside, outside and mask, expected one shape.`,
          'Make the mask from the image with Square mask.',
          'mask',
        ),
});

export const MaskedMseSpec = define({
  type: 'MaskedMeanSquaredError',
  label: 'Masked MSE',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description:
    "Palette's inpainting loss: (a − b)² averaged over the masked elements only, so the known pixels, which the network is given, count for nothing.",
  inputs: [{ name: 'a', label: 'prediction' }, { name: 'b', label: 'target' }, { name: 'mask' }],
  outputs: [{ name: 'loss' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [a, b, mask]) =>
    same(a!, b!) && same(a!, mask!) && a!.length >= 2
      ? { loss: [] }
      : problem(
          `Received ${formatShape(a!)}, ${formatShape(b!)} and ${formatShape(mask!)} for prediction, target and mask, expected one shape.`,
          'Compare ε̂ with ε under the Square mask.',
          'mask',
        ),
});

/** What both sampling measures share: which weights sample, how many steps, on how many held-out images. */
const samplingParams = {
  weights: z.enum(['ema', 'online']).default('ema').describe('Sample with the moving-average copy of the denoiser (if the run keeps one) or its own weights.'),
  steps: z.number().int().min(1).max(1000).default(50).describe('DDIM steps per sample.'),
  eta: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe("DDIM's η: 0 walks deterministically from the seeded noise; 1 adds fresh noise each step as ancestral sampling does."),
  examples: z.number().int().min(1).max(10_000).default(200).describe('How many held-out images are sampled and scored (the first ones).'),
};

const targetAndCondition = (target: Shape, condition: Shape): ShapeProblem | null =>
  imageProblem(target, 'target') ??
  (same(target, condition)
    ? null
    : problem(
        `Received ${formatShape(condition)}, expected the target's shape ${formatShape(target)}.`,
        'Wire the condition the network is given.',
        'condition',
      ));

export const SuperResolutionScoreSpec = define({
  type: 'SuperResolutionScore',
  label: 'Super-resolution PSNR',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    "Samples the denoiser (the network the training procedure applies to Diffuse's x_t) conditioned on each held-out image's upsampled low resolution, and reports the mean PSNR (dB, pixels in [0, 1]) against the original, beside the PSNR of the upsampled input itself: SR3 must beat it.",
  inputs: [
    { name: 'target', label: 'x₀' },
    { name: 'condition', label: 'upsampled' },
  ],
  outputs: [],
  params: z.object({ metric: metricName('psnr'), baselineMetric: metricName('bicubicPsnr'), ...samplingParams }),
  keyParams: ['metric', 'steps', 'examples'],
  infer: (_p, [target, condition]) => targetAndCondition(target!, condition!) ?? {},
});

export const InpaintingScoreSpec = define({
  type: 'InpaintingScore',
  label: 'Inpainting error',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    'Samples the denoiser on held-out images with their masked square to fill (the known pixels put back every step), and reports the mean squared error on the masked pixels (in [0, 1]), beside filling the square with the mean training image: Palette must beat it.',
  inputs: [{ name: 'target', label: 'x₀' }, { name: 'condition', label: 'masked' }, { name: 'mask' }],
  outputs: [],
  params: z.object({ metric: metricName('maskedMse'), baselineMetric: metricName('meanFillMse'), ...samplingParams }),
  keyParams: ['metric', 'steps', 'examples'],
  infer: (_p, [target, condition, mask]) =>
    targetAndCondition(target!, condition!) ??
    (same(target!, mask!)
      ? {}
      : problem(`Received ${formatShape(mask!)}, expected the target's shape ${formatShape(target!)}.`, 'Wire the Square mask.', 'mask')),
});

export const IMAGE_TO_IMAGE_PROGRAM_SPECS = [LowResolutionSpec, SquareMaskSpec, CompositeSpec, MaskedMseSpec, SuperResolutionScoreSpec, InpaintingScoreSpec];
