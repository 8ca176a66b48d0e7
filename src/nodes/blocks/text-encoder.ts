import type { BlockDef } from '../../document/schema';

/**
 * CLIP's text encoder (Radford et al., 2021): token ids → token embedding + learned position
 * embedding → causal Transformer blocks (QuickGELU, LayerNorm epsilon 1e-5) → final LayerNorm → the
 * features at the end-of-text token (the largest id, per example) → a projection without bias into
 * the space shared with the images. Its input is the ids (batch, context), int32. The depth is the
 * repeat of the inner Transformer block (2 here): open the block to change it; the `clip` template
 * wires the same layers on its text network's canvas, so that its presets can set the depth.
 */
export const TextEncoderBlock: BlockDef = {
  id: 'TextEncoder',
  label: 'Text encoder',
  description:
    'Token and position embeddings, causal Transformer blocks (×2, open to change), a final LayerNorm, the end-of-text token, projected: token ids to one embedding per text.',
  category: 'Blocks',
  keyParams: ['width', 'embedDim'],
  params: [
    { name: 'vocabSize', kind: 'int', default: 1000, min: 1, description: 'Token ids run from 0 to vocabSize − 1 (CLIP: 49,408).' },
    { name: 'width', kind: 'int', default: 64, min: 1, description: 'Width of every token (CLIP ViT-B/32: 512).' },
    { name: 'numHeads', kind: 'int', default: 4, min: 1, description: 'Attention heads per block; the width must be a multiple of it (CLIP: width / 64).' },
    { name: 'mlpDim', kind: 'int', default: 256, min: 1, description: 'Hidden width of each MLP (4 × width in CLIP).' },
    { name: 'embedDim', kind: 'int', default: 64, min: 1, description: 'Size of the shared embedding the projection maps to (CLIP ViT-B/32: 512).' },
  ],
  nodes: [
    { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
    { id: 'tokens', type: 'Embedding', params: { inputDim: { $param: 'vocabSize' }, outputDim: { $param: 'width' } }, position: { x: 0, y: 140 } },
    { id: 'positions', type: 'PositionEmbedding', params: { stddev: 0.01 }, position: { x: 0, y: 280 } },
    {
      id: 'blocks',
      type: 'Block',
      block: 'TransformerBlock',
      params: { numHeads: { $param: 'numHeads' }, mlpDim: { $param: 'mlpDim' }, epsilon: 1e-5, causal: true, gelu: 'quick' },
      repeat: 2,
      position: { x: 0, y: 420 },
    },
    { id: 'norm', type: 'LayerNormalization', params: { epsilon: 1e-5 }, position: { x: 0, y: 560 } },
    { id: 'endOfText', type: 'TakeToken', params: { mode: 'endOfText' }, position: { x: 0, y: 700 } },
    { id: 'projection', type: 'Dense', params: { units: { $param: 'embedDim' }, useBias: false }, position: { x: 0, y: 840 } },
    { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 0, y: 980 } },
  ],
  edges: [
    { id: 'e1', source: 'x', sourcePort: 'out', target: 'tokens', targetPort: 'in' },
    { id: 'e2', source: 'tokens', sourcePort: 'out', target: 'positions', targetPort: 'in' },
    { id: 'e3', source: 'positions', sourcePort: 'out', target: 'blocks', targetPort: 'x' },
    { id: 'e4', source: 'blocks', sourcePort: 'y', target: 'norm', targetPort: 'in' },
    { id: 'e5', source: 'norm', sourcePort: 'out', target: 'endOfText', targetPort: 'in' },
    { id: 'e6', source: 'x', sourcePort: 'out', target: 'endOfText', targetPort: 'ids' },
    { id: 'e7', source: 'endOfText', sourcePort: 'out', target: 'projection', targetPort: 'in' },
    { id: 'e8', source: 'projection', sourcePort: 'out', target: 'y', targetPort: 'in' },
  ],
};
