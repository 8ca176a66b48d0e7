import { z } from 'zod';
import { formatShape, requireRank } from '../shape';
import { ELEMENTWISE } from '../cost';
import { defineSpec, IN, NO_PARAMS, OUT, type Shape, type ShapeProblem } from '../spec';

/**
 * GLOM's layers (Hinton, 2021, "How to represent part-whole hierarchies in a neural network"):
 * columns of level embeddings over image patches, the iteration that updates every level from
 * below, above, itself and the same level in other columns, and the layout of per-column pixels back
 * into an image. Each lowers to a custom layer in src/runtime/layers (glom-levels, glom-update,
 * patches-to-image); the glom template wires them into a denoising autoencoder.
 */

const problem = (message: string, help: string, port = 'in'): ShapeProblem => ({ code: 'PB305', port, message, help });

const knownColumns = (x: Shape, port = 'in'): ShapeProblem | null =>
  x[1] === null || x[2] === null
    ? problem(`Received ${formatShape(x)} with unknown sizes, expected known sizes.`, 'Give the input fixed sizes (every axis but the batch).', port)
    : null;

export const GlomLevelsSpec = defineSpec({
  type: 'GlomLevels',
  version: 1,
  label: 'GLOM levels',
  category: 'Core',
  aliases: ['glom', 'columns', 'part-whole', 'levels'],
  description:
    "GLOM's starting state: patch embeddings (batch, columns, width) in, (batch, columns, levels, width) out, every column starting each level from the same learned vector.",
  inputs: [{ ...IN, minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({ levels: z.number().int().min(1).max(8).default(3).describe('Levels per column (part, object…): 3 in the template.') }),
  keyParams: ['levels'],
  infer(p, [x]) {
    return (
      requireRank(x!, 3, 3, 'GLOM levels takes patch embeddings (batch, columns, width): Reshape a patch convolution to that.') ??
      knownColumns(x!) ?? [x![0]!, x![1]!, p.levels, x![2]!]
    );
  },
  countParams: (p, [x]) => ({ trainable: p.levels * (x![2] ?? 0), nonTrainable: 0 }),
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayGlomLevels', custom: true, config: { levels: p.levels } }),
  examples: [
    { params: { levels: 3 }, inputs: [[4, 5]] },
    { params: { levels: 1 }, inputs: [[9, 2]] },
  ],
});

/** Trainable weights of one GLOM update: 2L − 1 two-layer networks and a position embedding per column. */
export function glomUpdateParams(columns: number, levels: number, width: number, hidden: number): number {
  return (2 * levels - 1) * (2 * width * hidden + hidden + width) + columns * width;
}

export const GlomUpdateSpec = defineSpec({
  type: 'GlomUpdate',
  version: 1,
  label: 'GLOM update',
  category: 'Core',
  aliases: ['glom', 'islands', 'consensus', 'part-whole', 'bottom-up', 'top-down'],
  description:
    'One GLOM iteration: each level becomes the mean of its previous state, a bottom-up network of the level below, a top-down network of the level above with the column’s position, and attention-weighted agreement with the same level in the other columns. Apply its network several times for several iterations with shared weights.',
  inputs: [
    { name: 'in', label: 'levels', minRank: 4, maxRank: 4 },
    { name: 'patches', label: 'patch embeddings', minRank: 3, maxRank: 3 },
  ],
  outputs: [OUT],
  params: z.object({
    hiddenUnits: z.number().int().positive().default(64).describe('Hidden units of each bottom-up and top-down network.'),
    sharpness: z.number().positive().default(8).describe('β in softmax(β·cos) of the consensus attention: higher listens mostly to the most similar columns.'),
    radius: z.number().int().min(0).default(0).describe('Attend only to columns at most this many grid steps away; 0 attends to every column of the image.'),
  }),
  keyParams: ['hiddenUnits', 'sharpness'],
  infer(_p, [levels, patches]) {
    const rank = requireRank(levels!, 4, 4, 'Wire the level embeddings (batch, columns, levels, width) from GLOM levels or an earlier update.');
    if (rank) return rank;
    if (levels!.slice(1).some((d) => d === null))
      return problem(`Received ${formatShape(levels!)} with unknown sizes, expected known sizes.`, 'Give the levels fixed sizes (every axis but the batch).');
    if (patches!.length !== 3 || patches![1] !== levels![1] || patches![2] !== levels![3])
      return problem(
        `Received ${formatShape(patches!)} for the patch embeddings and ${formatShape(levels!)} for the levels, expected (batch, ${levels![1]}, ${levels![3]}): one embedding per column, as wide as a level.`,
        'Wire the same patch embeddings GLOM levels was built from.',
        'patches',
      );
    return levels!;
  },
  countParams: (p, [levels]) => ({ trainable: glomUpdateParams(levels![1] ?? 0, levels![2] ?? 0, levels![3] ?? 0, p.hiddenUnits), nonTrainable: 0 }),
  cost(p, [levels]) {
    const [c, l, d] = [levels![1], levels![2], levels![3]];
    if (c == null || l == null || d == null) return { macs: null };
    // 2L − 1 networks of two matMuls per column, and per level the C×C similarities and weighted sums.
    // Kept for the backward pass: each network's normalised input and hidden values before and after
    // GELU, the scores and softmax of each level, and the output.
    return {
      macs: (2 * l - 1) * c * 2 * d * p.hiddenUnits + l * c * c * d * 2,
      activations: (2 * l - 1) * c * (d + 2 * p.hiddenUnits) + 2 * l * c * c + c * l * d,
    };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'PatchbayGlomUpdate',
    custom: true,
    config: { hiddenUnits: p.hiddenUnits, sharpness: p.sharpness, radius: p.radius },
  }),
  examples: [
    {
      params: { hiddenUnits: 6 },
      inputs: [
        [4, 3, 5],
        [4, 5],
      ],
    },
    {
      params: { hiddenUnits: 3, radius: 1 },
      inputs: [
        [9, 1, 2],
        [9, 2],
      ],
    },
  ],
});

export const PatchesToImageSpec = defineSpec({
  type: 'PatchesToImage',
  version: 1,
  label: 'Patches to image',
  category: 'Reshaping',
  aliases: ['unpatchify', 'depth to space', 'glom', 'patches'],
  description:
    'Lays a square grid of patches back out as an image: (batch, g·g columns, p·p·c values) → (batch, g·p, g·p, c), in the order a p×p, stride p convolution reads them.',
  inputs: [{ ...IN, minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({
    patchSize: z.number().int().positive().default(4).describe('Side of a square patch, in pixels.'),
    channels: z.number().int().positive().default(1).describe('Channels of the image (1 for MNIST).'),
  }),
  keyParams: ['patchSize'],
  infer(p, [x]) {
    const rank = requireRank(x!, 3, 3, 'Give it one row of pixel values per column: (batch, columns, values).') ?? knownColumns(x!);
    if (rank) return rank;
    const g = Math.round(Math.sqrt(x![1]!));
    if (g * g !== x![1])
      return problem(
        `Received ${formatShape(x!)}: ${x![1]} columns do not make a square grid.`,
        'Use a square grid of patches (7×7 = 49 for 28×28 digits in 4×4 patches).',
      );
    const per = p.patchSize * p.patchSize * p.channels;
    if (x![2] !== per)
      return problem(
        `Received ${formatShape(x!)}, expected ${per} values per column (${p.patchSize}×${p.patchSize}×${p.channels}).`,
        `Make the layer before it ${per} units wide, or change patchSize and channels.`,
      );
    return [x![0]!, g * p.patchSize, g * p.patchSize, p.channels];
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayPatchesToImage', custom: true, config: { patchSize: p.patchSize, channels: p.channels } }),
  examples: [
    { params: { patchSize: 2, channels: 1 }, inputs: [[9, 4]] },
    { params: { patchSize: 3, channels: 2 }, inputs: [[4, 18]] },
  ],
});

export const GLOM_LAYER_SPECS = [GlomLevelsSpec, GlomUpdateSpec, PatchesToImageSpec];
