import type { BlockDef } from '../../document/schema';

/**
 * Cuts the image into non-overlapping patch × patch squares and embeds each as a `dim` vector: a
 * Conv2D whose kernel and stride equal the patch size. ConvMixer follows it with its activation
 * and BatchNorm; MLP-Mixer and ViT flatten the grid into a sequence of tokens.
 */
export const PatchEmbedBlock: BlockDef = {
  id: 'PatchEmbed',
  label: 'Patch embed',
  description: 'Splits an image into patches and embeds each one (a strided Conv2D), optionally with BatchNorm and as a token sequence.',
  category: 'Blocks',
  keyParams: ['dim', 'patchSize'],
  params: [
    { name: 'dim', kind: 'int', default: 64, min: 1, description: 'Embedding size of each patch (output channels).' },
    { name: 'patchSize', kind: 'int', default: 2, min: 1, description: 'Side of each square patch, in pixels; also the stride.' },
    {
      name: 'activation',
      kind: 'enum',
      default: 'linear',
      options: ['linear', 'gelu', 'relu', 'swish'],
      description: 'Activation after the patch convolution (ConvMixer uses gelu).',
    },
    { name: 'batchNorm', kind: 'boolean', default: false, description: 'Follow with BatchNormalization, as ConvMixer does.' },
    { name: 'tokens', kind: 'boolean', default: false, description: 'Flatten the patch grid into a sequence (batch, patches, dim), as MLP-Mixer and ViT do.' },
  ],
  nodes: [
    { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
    {
      id: 'proj',
      type: 'Conv2D',
      params: { filters: { $param: 'dim' }, kernelSize: { $param: 'patchSize' }, strides: { $param: 'patchSize' }, activation: { $param: 'activation' } },
      position: { x: 0, y: 140 },
    },
    { id: 'bn', type: 'BatchNormalization', when: { $param: 'batchNorm' }, params: { momentum: 0.9, epsilon: 1e-5 }, position: { x: 0, y: 280 } },
    { id: 'flatten', type: 'Reshape', when: { $param: 'tokens' }, params: { targetShape: [-1, { $param: 'dim' }] }, position: { x: 0, y: 420 } },
    { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 0, y: 560 } },
  ],
  edges: [
    { id: 'e1', source: 'x', sourcePort: 'out', target: 'proj', targetPort: 'in' },
    { id: 'e2', source: 'proj', sourcePort: 'out', target: 'bn', targetPort: 'in' },
    { id: 'e3', source: 'bn', sourcePort: 'out', target: 'flatten', targetPort: 'in' },
    { id: 'e4', source: 'flatten', sourcePort: 'out', target: 'y', targetPort: 'in' },
  ],
};
