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

/**
 * The largest chroma Colour by class takes at a luminance: the YCbCr colour of luma Y and chroma r at
 * any angle stays in [0, 1] while 1.772·r (blue's reach, the widest) ≤ min(Y, 1 − Y).
 */
const maxChroma = (luminance: number): number => Math.min(luminance, 1 - luminance) / 1.772;

export const ClassColourSpec = define({
  type: 'ClassColour',
  label: 'Colour by class',
  category: 'Augment',
  kind: 'op',
  procedures: both,
  description:
    "Palette's colourisation target, made from the data alone: each grey image (in [0, 1]) times its class's colour, so the stroke takes the hue of its digit and black stays black. Class k of K gets the Rec. 601 YCbCr colour of luma Y (luminance) and chroma r at the angle 360°·k/K in the (Cb, Cr) plane: R = Y + 1.402·Cr, G = Y − 0.344136·Cb − 0.714136·Cr, B = Y + 1.772·Cb. Every colour has the same luma, so the grey image of the result (Luminance) is the digit times Y and says nothing of its colour: a network must recognise the shape to colour it.",
  inputs: [{ name: 'in', label: 'grey' }, { name: 'label' }],
  outputs: [{ name: 'out' }],
  params: z.object({
    luminance: z.number().min(0.05).max(0.95).default(0.5).describe('The luma Y every class colour shares.'),
    chroma: z.number().min(0).max(0.5).default(0.28).describe('How far from grey each colour is (its radius in the Cb, Cr plane).'),
  }),
  keyParams: ['luminance', 'chroma'],
  infer: (p, [x, label]) => {
    const bad = imageProblem(x!, 'in');
    if (bad) return bad;
    if (x![3] !== 1)
      return problem(`Received ${formatShape(x!)}, expected grey images (one channel).`, 'Feed it the image port of a grey data set such as MNIST.', 'in');
    if (label!.length !== 2 || label![1] === null)
      return problem(`Received ${formatShape(label!)}, expected one-hot labels (batch, classes).`, 'Feed it the label port of Data.', 'label');
    if (p.chroma > maxChroma(p.luminance) + 1e-9)
      return {
        code: 'PB300',
        param: 'chroma',
        message: `A chroma of ${p.chroma} takes some colours of luma ${p.luminance} outside [0, 1].`,
        help: `At this luminance the chroma can be at most ${maxChroma(p.luminance).toFixed(3)}.`,
      };
    return { out: [x![0]!, x![1]!, x![2]!, 3] };
  },
});

export const LuminanceSpec = define({
  type: 'Luminance',
  label: 'Luminance',
  category: 'Augment',
  kind: 'op',
  procedures: both,
  description:
    "The grey image of RGB images, by Rec. 601 luma: Y = 0.299·R + 0.587·G + 0.114·B (one channel). Palette's colourisation conditions on it. The weights sum to 1, so it gives the same grey on pixels in [0, 1] or scaled to [−1, 1].",
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => {
    const bad = imageProblem(x!, 'in');
    if (bad) return bad;
    if (x![3] !== 3)
      return problem(`Received ${formatShape(x!)}, expected RGB images (three channels).`, 'Feed it colour images, such as Colour by class makes.', 'in');
    return { out: [x![0]!, x![1]!, x![2]!, 1] };
  },
});

export const ColourisationScoreSpec = define({
  type: 'ColourisationScore',
  label: 'Colourisation error',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    "Samples the denoiser on held-out grey images and reports the squared error of its colours against the true ones over the whole image (every pixel and channel is generated: the mask is the whole image; pixels in [0, 1]), beside two answers that read no shape: the grey image times the training set's least-squares colour at each pixel (Σ grey·colour / Σ grey² over the training images: the colour a digit usually has there), and the grey image copied to every channel. Palette must beat them.",
  inputs: [
    { name: 'target', label: 'x₀' },
    { name: 'condition', label: 'grey' },
  ],
  outputs: [],
  params: z.object({
    metric: metricName('maskedMse'),
    baselineMetric: metricName('meanFillMse'),
    greyCopyMetric: metricName('greyCopyMse'),
    ...samplingParams,
  }),
  keyParams: ['metric', 'steps', 'examples'],
  infer: (_p, [target, condition]) =>
    imageProblem(target!, 'target') ??
    imageProblem(condition!, 'condition') ??
    (condition![1] === target![1] && condition![2] === target![2] && condition![3] === 1
      ? {}
      : problem(
          `Received ${formatShape(condition!)}, expected one-channel images the size of the target ${formatShape(target!)}.`,
          'Wire the grey image the network is given (Luminance of x₀).',
          'condition',
        )),
});

export const IMAGE_TO_IMAGE_PROGRAM_SPECS = [
  LowResolutionSpec,
  SquareMaskSpec,
  CompositeSpec,
  MaskedMseSpec,
  SuperResolutionScoreSpec,
  InpaintingScoreSpec,
  ClassColourSpec,
  LuminanceSpec,
  ColourisationScoreSpec,
];
