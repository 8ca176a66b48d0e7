import type { BlockDef } from '../../document/schema';

/**
 * A small convolutional stem before a ViT's patch embedding, as the hybrid ViT of the paper (§3.1)
 * and "Early convolutions help transformers see better" (Xiao et al. 2021): a 3×3 convolution with
 * GELU gives the patches local features (edges, strokes), which helps a transformer learn from
 * little data. With `enabled` off the image passes through unchanged (the paper's plain ViT).
 */
export const ConvStemBlock: BlockDef = {
  id: 'ConvStem',
  label: 'Conv stem',
  description: 'A 3×3 convolution with GELU before the patch embedding (a hybrid ViT); off, the image passes through.',
  category: 'Blocks',
  keyParams: ['filters', 'enabled'],
  params: [
    { name: 'filters', kind: 'int', default: 32, min: 1, description: 'Channels of the convolution.' },
    { name: 'enabled', kind: 'boolean', default: true, description: 'Apply the convolution; off, the image goes straight on (the plain ViT).' },
  ],
  nodes: [
    { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
    {
      id: 'conv',
      type: 'Conv2D',
      when: { $param: 'enabled' },
      params: { filters: { $param: 'filters' }, kernelSize: 3, padding: 'same', activation: 'gelu' },
      position: { x: 0, y: 140 },
    },
    { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 0, y: 280 } },
  ],
  edges: [
    { id: 'e1', source: 'x', sourcePort: 'out', target: 'conv', targetPort: 'in' },
    { id: 'e2', source: 'conv', sourcePort: 'out', target: 'y', targetPort: 'in' },
  ],
};
