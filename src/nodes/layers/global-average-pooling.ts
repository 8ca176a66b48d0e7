import { z } from 'zod';
import { requireRank } from '../shape';
import { defineSpec, NO_PARAMS, OUT } from '../spec';
import { ELEMENTWISE } from '../cost';

export const GlobalAveragePooling1DSpec = defineSpec({
  type: 'GlobalAveragePooling1D',
  version: 1,
  label: 'GlobalAveragePooling1D',
  category: 'Pooling',
  aliases: ['mean over tokens', 'sequence pooling', 'gap'],
  description: 'Averages a sequence (batch, steps, features) over its steps, as Mixer and ViT heads do.',
  inputs: [{ name: 'in', minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => requireRank(x!, 3, 3, 'GlobalAveragePooling1D takes sequences shaped (batch, steps, features).') ?? [x![0]!, x![2]!],
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: () => ({ kind: 'layer', factory: 'globalAveragePooling1d', config: {} }),
  examples: [{ params: {}, inputs: [[49, 16]] }],
});

export const GlobalAveragePooling2DSpec = defineSpec({
  type: 'GlobalAveragePooling2D',
  version: 1,
  label: 'GlobalAveragePooling2D',
  category: 'Pooling',
  aliases: ['global pool', 'gap', 'adaptive average pool'],
  description: 'Averages an image over height and width, leaving one value per channel.',
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => requireRank(x!, 4, 4, 'GlobalAveragePooling2D takes images shaped (batch, height, width, channels).') ?? [x![0]!, x![3]!],
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: () => ({ kind: 'layer', factory: 'globalAveragePooling2d', config: {} }),
  examples: [{ params: {}, inputs: [[7, 7, 16]] }],
});
