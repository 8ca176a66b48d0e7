import type { BlockDef } from '../../document/schema';

/**
 * One pre-norm Transformer encoder layer, as ViT's and CLIP's code has it: x + Attention(LN(x)), then
 * + MLP(LN(·)) with MLP = Dense(mlpDim) → GELU → Dense(width). LayerNorm's epsilon is a param because
 * the released models differ (ViT 1e-6, CLIP 1e-5); `causal` makes it a text (decoder-style) layer, and
 * `gelu: "quick"` gives CLIP's QuickGELU. Dropout after the attention and after the MLP, as ViT's
 * Encoder1DBlock (0 by default: the layers are then no-ops).
 */
export const TransformerBlock: BlockDef = {
  id: 'TransformerBlock',
  label: 'Transformer block',
  description: 'Pre-norm Transformer layer: LayerNorm → multi-head self-attention → skip, LayerNorm → MLP (GELU) → skip.',
  category: 'Blocks',
  keyParams: ['numHeads', 'mlpDim'],
  params: [
    { name: 'numHeads', kind: 'int', default: 4, min: 1, description: 'Attention heads; the width must be a multiple of it (ViT-B: 12).' },
    { name: 'mlpDim', kind: 'int', default: 256, min: 1, description: 'Hidden width of the MLP (4 × the width in ViT and CLIP).' },
    { name: 'epsilon', kind: 'number', default: 1e-6, description: "LayerNorm's epsilon: 1e-6 in ViT as released, 1e-5 in CLIP (PyTorch's default)." },
    { name: 'causal', kind: 'boolean', default: false, description: 'Each token attends only to the tokens before it (a text transformer).' },
    {
      name: 'gelu',
      kind: 'enum',
      default: 'none',
      options: ['none', 'tanh', 'quick'],
      description: "The MLP's GELU: 'none' exact (ViT), 'tanh' approximated, 'quick' QuickGELU x·σ(1.702x) (CLIP).",
    },
    {
      name: 'dropout',
      kind: 'number',
      default: 0,
      description: 'Dropout after the attention and after the MLP while training (ViT: 0.1 on small data, 0 when pre-training large).',
    },
    { name: 'attentionDropout', kind: 'number', default: 0, description: 'Dropout on the attention weights while training.' },
    { name: 'width', kind: 'int', derive: { input: 'x', axis: -1 }, description: 'Width of each token, read from the input.' },
  ],
  nodes: [
    { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
    { id: 'norm1', type: 'LayerNormalization', params: { epsilon: { $param: 'epsilon' } }, position: { x: 0, y: 140 } },
    {
      id: 'attention',
      type: 'MultiHeadSelfAttention',
      params: { numHeads: { $param: 'numHeads' }, causal: { $param: 'causal' }, dropout: { $param: 'attentionDropout' } },
      position: { x: 0, y: 280 },
    },
    { id: 'dropout1', type: 'Dropout', params: { rate: { $param: 'dropout' } }, position: { x: 0, y: 420 } },
    { id: 'skip1', type: 'Add', params: {}, position: { x: 240, y: 560 } },
    { id: 'norm2', type: 'LayerNormalization', params: { epsilon: { $param: 'epsilon' } }, position: { x: 240, y: 700 } },
    { id: 'mlp1', type: 'Dense', params: { units: { $param: 'mlpDim' } }, position: { x: 240, y: 840 } },
    { id: 'gelu', type: 'GELU', params: { approximate: { $param: 'gelu' } }, position: { x: 240, y: 980 } },
    { id: 'mlp2', type: 'Dense', params: { units: { $param: 'width' } }, position: { x: 240, y: 1120 } },
    { id: 'dropout2', type: 'Dropout', params: { rate: { $param: 'dropout' } }, position: { x: 240, y: 1260 } },
    { id: 'skip2', type: 'Add', params: {}, position: { x: 480, y: 1400 } },
    { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 480, y: 1540 } },
  ],
  edges: [
    { id: 'e1', source: 'x', sourcePort: 'out', target: 'norm1', targetPort: 'in' },
    { id: 'e2', source: 'norm1', sourcePort: 'out', target: 'attention', targetPort: 'in' },
    { id: 'e3', source: 'attention', sourcePort: 'out', target: 'dropout1', targetPort: 'in' },
    { id: 'e4', source: 'dropout1', sourcePort: 'out', target: 'skip1', targetPort: 'inputs' },
    { id: 'e5', source: 'x', sourcePort: 'out', target: 'skip1', targetPort: 'inputs' },
    { id: 'e6', source: 'skip1', sourcePort: 'out', target: 'norm2', targetPort: 'in' },
    { id: 'e7', source: 'norm2', sourcePort: 'out', target: 'mlp1', targetPort: 'in' },
    { id: 'e8', source: 'mlp1', sourcePort: 'out', target: 'gelu', targetPort: 'in' },
    { id: 'e9', source: 'gelu', sourcePort: 'out', target: 'mlp2', targetPort: 'in' },
    { id: 'e10', source: 'mlp2', sourcePort: 'out', target: 'dropout2', targetPort: 'in' },
    { id: 'e11', source: 'dropout2', sourcePort: 'out', target: 'skip2', targetPort: 'inputs' },
    { id: 'e12', source: 'skip1', sourcePort: 'out', target: 'skip2', targetPort: 'inputs' },
    { id: 'e13', source: 'skip2', sourcePort: 'out', target: 'y', targetPort: 'in' },
  ],
};
