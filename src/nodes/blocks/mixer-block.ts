import type { BlockDef } from '../../document/schema';

/**
 * One MLP-Mixer layer (Tolstikhin et al.): token mixing, an MLP across the patches applied to each
 * channel, then channel mixing, an MLP across channels applied to each patch. Each is pre-normed
 * with LayerNorm (epsilon 1e-6 as in the reference code) and wrapped in a skip connection.
 */
export const MixerBlock: BlockDef = {
  id: 'MixerBlock',
  label: 'Mixer block',
  description: 'Token-mixing MLP then channel-mixing MLP, each with LayerNorm and a skip connection.',
  category: 'Blocks',
  keyParams: ['tokenMlpDim', 'channelMlpDim'],
  params: [
    { name: 'tokenMlpDim', kind: 'int', default: 256, min: 1, description: 'Hidden width of the token-mixing MLP (D_S).' },
    { name: 'channelMlpDim', kind: 'int', default: 2048, min: 1, description: 'Hidden width of the channel-mixing MLP (D_C).' },
    { name: 'tokens', kind: 'int', derive: { input: 'x', axis: 1 }, description: 'Number of patches, read from the input.' },
    { name: 'channels', kind: 'int', derive: { input: 'x', axis: -1 }, description: 'Channels, read from the input.' },
  ],
  nodes: [
    { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
    { id: 'norm1', type: 'LayerNormalization', params: { epsilon: 1e-6 }, position: { x: 0, y: 140 } },
    { id: 'toChannels', type: 'Permute', params: { dims: [2, 1] }, position: { x: 0, y: 280 } },
    { id: 'tokenMlp1', type: 'Dense', params: { units: { $param: 'tokenMlpDim' }, activation: 'gelu' }, position: { x: 0, y: 420 } },
    { id: 'tokenMlp2', type: 'Dense', params: { units: { $param: 'tokens' } }, position: { x: 0, y: 560 } },
    { id: 'toTokens', type: 'Permute', params: { dims: [2, 1] }, position: { x: 0, y: 700 } },
    { id: 'tokenSkip', type: 'Add', params: {}, position: { x: 240, y: 840 } },
    { id: 'norm2', type: 'LayerNormalization', params: { epsilon: 1e-6 }, position: { x: 240, y: 979 } },
    { id: 'channelMlp1', type: 'Dense', params: { units: { $param: 'channelMlpDim' }, activation: 'gelu' }, position: { x: 240, y: 1120 } },
    { id: 'channelMlp2', type: 'Dense', params: { units: { $param: 'channels' } }, position: { x: 240, y: 1260 } },
    { id: 'channelSkip', type: 'Add', params: {}, position: { x: 480, y: 1400 } },
    { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 480, y: 1540 } },
  ],
  edges: [
    { id: 'e1', source: 'x', sourcePort: 'out', target: 'norm1', targetPort: 'in' },
    { id: 'e2', source: 'norm1', sourcePort: 'out', target: 'toChannels', targetPort: 'in' },
    { id: 'e3', source: 'toChannels', sourcePort: 'out', target: 'tokenMlp1', targetPort: 'in' },
    { id: 'e4', source: 'tokenMlp1', sourcePort: 'out', target: 'tokenMlp2', targetPort: 'in' },
    { id: 'e5', source: 'tokenMlp2', sourcePort: 'out', target: 'toTokens', targetPort: 'in' },
    { id: 'e6', source: 'toTokens', sourcePort: 'out', target: 'tokenSkip', targetPort: 'inputs' },
    { id: 'e7', source: 'x', sourcePort: 'out', target: 'tokenSkip', targetPort: 'inputs' },
    { id: 'e8', source: 'tokenSkip', sourcePort: 'out', target: 'norm2', targetPort: 'in' },
    { id: 'e9', source: 'norm2', sourcePort: 'out', target: 'channelMlp1', targetPort: 'in' },
    { id: 'e10', source: 'channelMlp1', sourcePort: 'out', target: 'channelMlp2', targetPort: 'in' },
    { id: 'e11', source: 'channelMlp2', sourcePort: 'out', target: 'channelSkip', targetPort: 'inputs' },
    { id: 'e12', source: 'tokenSkip', sourcePort: 'out', target: 'channelSkip', targetPort: 'inputs' },
    { id: 'e13', source: 'channelSkip', sourcePort: 'out', target: 'y', targetPort: 'in' },
  ],
};
