import { z } from 'zod';
import { requireRank } from '../shape';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

/**
 * Augmentation as a layer (Keras's RandomTranslation): a classifier graph carries its own
 * augmentation, trained by the ordinary loop and kept in the export. Lowers to the custom layer
 * PatchbayRandomTranslation (src/runtime/layers), whose shifts the training loop seeds every step.
 */
export const RandomTranslationSpec = defineSpec({
  type: 'RandomTranslation',
  version: 1,
  label: 'Random translation',
  category: 'Core',
  aliases: ['augment', 'augmentation', 'shift', 'jitter', 'translate'],
  description:
    'While training, moves each image by a random whole number of pixels up or down and left or right (zeros fill in); passes images through unchanged at inference. No weights.',
  inputs: [{ ...IN, minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    pixels: z.number().int().min(0).max(64).default(2).describe('The largest shift in pixels, on each axis; 0 turns it off.'),
  }),
  keyParams: ['pixels'],
  infer(p, [x]) {
    const problem = requireRank(x!, 4, 4, 'Random translation moves images: put it after an image Input of shape [height, width, channels].');
    if (problem) return problem;
    const [, h, w] = x!;
    if ((h !== null && p.pixels >= h!) || (w !== null && p.pixels >= w!)) {
      return {
        code: 'PB300',
        param: 'pixels',
        message: `Received a shift of ${p.pixels} pixels for ${h}×${w} images, expected less than the image's side.`,
        help: 'Use a shift of a few pixels (2 suits 28×28 digits).',
      };
    }
    return x!;
  },
  countParams: () => NO_PARAMS,
  // Shifting pixels multiplies nothing (and it is the identity at inference).
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayRandomTranslation', custom: true, config: { pixels: p.pixels } }),
  examples: [
    { params: {}, inputs: [[28, 28, 1]] },
    { params: { pixels: 4 }, inputs: [[16, 12, 3]] },
  ],
});
