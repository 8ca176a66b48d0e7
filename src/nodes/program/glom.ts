import { z } from 'zod';
import { formatShape } from '../shape';
import type { Shape, ShapeProblem } from '../spec';
import type { ProgramNodeSpec } from './specs';

/**
 * The procedure node of GLOM's training (Hinton, 2021, built as a denoising autoencoder): the
 * corruption the columns learn to see through. It belongs to evaluations too, unlike the training
 * augmentations, because the held-out reconstruction loss is measured on corrupted digits. The
 * runtime is runtime/program/glom.ts.
 */
const define = <S extends z.ZodObject>(spec: ProgramNodeSpec<S>): ProgramNodeSpec<S> => spec;

const imageProblem = (x: Shape): ShapeProblem | null =>
  x.length === 4
    ? null
    : {
        code: 'PB301',
        port: 'in',
        message: `Received ${formatShape(x)}, expected a batch of images (rank 4: batch, height, width, channels).`,
        help: 'Feed it the image port of Data.',
      };

export const CorruptImageSpec = define({
  type: 'CorruptImage',
  label: 'Corrupt image',
  category: 'Augment',
  kind: 'op',
  procedures: ['train', 'evaluate'],
  description:
    'Blanks a random share of the patches and adds Gaussian noise, clipped to [0, 1]: the corrupted input a denoising autoencoder reconstructs the clean image from. Seeded, so an evaluation sees the same corruption every time.',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({
    stddev: z.number().min(0).default(0.3).describe('Standard deviation of the noise added to every pixel.'),
    dropPatches: z.number().min(0).max(1).default(0.25).describe('Chance that each patch is blanked to zero.'),
    patchSize: z.number().int().min(1).default(4).describe('Side of the blanked squares, in pixels (the columns’ patch size).'),
  }),
  keyParams: ['stddev', 'dropPatches'],
  infer: (_p, [x]) => imageProblem(x!) ?? { out: x! },
});

export const GlomConsensusLossSpec = define({
  type: 'GlomConsensusLoss',
  label: 'Consensus loss (contrastive)',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description:
    'GLOM’s contrastive consensus term: per column and level, an InfoNCE that asks the column’s embedding to be closer to the mean of its grid neighbours in its own image than to that mean in the other images of the batch. Columns agree with their neighbours (islands) without every image becoming the same.',
  inputs: [{ name: 'levels' }],
  outputs: [{ name: 'loss' }],
  params: z.object({
    temperature: z.number().positive().default(0.1).describe('τ dividing the cosine similarities before the softmax over the batch.'),
    weight: z.number().min(0).default(1).describe('What the term is multiplied by; 0 turns it off (and skips computing it).'),
  }),
  keyParams: ['weight', 'temperature'],
  infer: (_p, [levels]): Record<string, Shape> | ShapeProblem => {
    const columns = levels![1];
    const side = columns == null ? NaN : Math.round(Math.sqrt(columns));
    if (levels!.length !== 4 || columns == null || side * side !== columns || levels![2] == null || levels![3] == null)
      return {
        code: 'PB301',
        port: 'levels',
        message: `Received ${formatShape(levels!)}, expected the levels of a square grid of columns (batch, columns, levels, width).`,
        help: 'Wire the output of the last GLOM update.',
      };
    return { loss: [] };
  },
});

export const MeanImageBaselineSpec = define({
  type: 'MeanImageBaseline',
  label: 'Mean image baseline',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    'The mean squared error of answering every held-out image with the mean training image: the trivial reconstruction, reported by name, that a denoiser must beat.',
  inputs: [{ name: 'image' }],
  outputs: [],
  params: z.object({
    metric: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, 'a name like "baselines.meanImage"')
      .default('baselines.meanImage')
      .describe('The name the result is reported under.'),
  }),
  keyParams: ['metric'],
  infer: (_p, [image]): Record<string, Shape> | ShapeProblem =>
    image!.length >= 2 && image!.slice(1).every((d) => d !== null)
      ? {}
      : {
          code: 'PB301',
          port: 'image',
          message: `Received ${formatShape(image!)}, expected a batch of examples with known sizes.`,
          help: 'Wire the image port of Data.',
        },
});

export const GLOM_PROGRAM_SPECS = [CorruptImageSpec, GlomConsensusLossSpec, MeanImageBaselineSpec];
