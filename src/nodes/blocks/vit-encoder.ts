import type { BlockDef } from '../../document/schema';

/**
 * ViT's encoder (Dosovitskiy et al.): the image cut into patch × patch squares, each embedded as a
 * token (a Conv2D whose kernel and stride are the patch size, flattened), a learned class token in
 * front, learned position embeddings added, Transformer blocks, and a final LayerNorm. The output is
 * the token sequence; Take token then reads the class token for a head. The depth is the repeat of
 * the inner Transformer block (6 here): open the block to change it. The `vit` template wires the
 * same layers on the canvas, so that its presets can set the depth.
 */
export const VitEncoderBlock: BlockDef = {
  id: 'VitEncoder',
  label: 'ViT encoder',
  description: 'Patch embedding, class token, position embedding, Transformer blocks (×6, open to change) and a final LayerNorm: an image to a token sequence.',
  category: 'Blocks',
  keyParams: ['dim', 'patchSize'],
  params: [
    { name: 'dim', kind: 'int', default: 64, min: 1, description: 'Width of every token (ViT-B: 768).' },
    { name: 'patchSize', kind: 'int', default: 4, min: 1, description: 'Side of each square patch in pixels (16 in ViT-B/16).' },
    { name: 'numHeads', kind: 'int', default: 4, min: 1, description: 'Attention heads per block; dim must be a multiple of it.' },
    { name: 'mlpDim', kind: 'int', default: 128, min: 1, description: 'Hidden width of each MLP (4 × dim in the paper).' },
    { name: 'epsilon', kind: 'number', default: 1e-6, description: "LayerNorm's epsilon (1e-6 in ViT as released)." },
    { name: 'dropout', kind: 'number', default: 0, description: 'Dropout after each attention and MLP while training.' },
  ],
  nodes: [
    { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
    {
      id: 'patches',
      type: 'Conv2D',
      params: { filters: { $param: 'dim' }, kernelSize: { $param: 'patchSize' }, strides: { $param: 'patchSize' } },
      position: { x: 0, y: 140 },
    },
    { id: 'tokens', type: 'Reshape', params: { targetShape: [-1, { $param: 'dim' }] }, position: { x: 0, y: 280 } },
    { id: 'cls', type: 'ClassToken', params: {}, position: { x: 0, y: 420 } },
    { id: 'positions', type: 'PositionEmbedding', params: {}, position: { x: 0, y: 560 } },
    {
      id: 'blocks',
      type: 'Block',
      block: 'TransformerBlock',
      params: { numHeads: { $param: 'numHeads' }, mlpDim: { $param: 'mlpDim' }, epsilon: { $param: 'epsilon' }, dropout: { $param: 'dropout' } },
      repeat: 6,
      position: { x: 0, y: 700 },
    },
    { id: 'norm', type: 'LayerNormalization', params: { epsilon: { $param: 'epsilon' } }, position: { x: 0, y: 840 } },
    { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 0, y: 980 } },
  ],
  edges: [
    { id: 'e1', source: 'x', sourcePort: 'out', target: 'patches', targetPort: 'in' },
    { id: 'e2', source: 'patches', sourcePort: 'out', target: 'tokens', targetPort: 'in' },
    { id: 'e3', source: 'tokens', sourcePort: 'out', target: 'cls', targetPort: 'in' },
    { id: 'e4', source: 'cls', sourcePort: 'out', target: 'positions', targetPort: 'in' },
    { id: 'e5', source: 'positions', sourcePort: 'out', target: 'blocks', targetPort: 'x' },
    { id: 'e6', source: 'blocks', sourcePort: 'y', target: 'norm', targetPort: 'in' },
    { id: 'e7', source: 'norm', sourcePort: 'out', target: 'y', targetPort: 'in' },
  ],
};
