import type { BlockDef } from '../../document/schema';

/**
 * One ConvMixer layer (Trockman & Kolter): a residual depthwise convolution that mixes space, then
 * a pointwise (1×1) convolution that mixes channels, each followed by the activation and BatchNorm.
 * The residual wraps only the depthwise part, as in the released code.
 */
export const ConvMixerBlock: BlockDef = {
  id: 'ConvMixerBlock',
  label: 'ConvMixer block',
  description: 'Residual depthwise conv (spatial mixing) then pointwise conv (channel mixing), each with activation and BatchNorm.',
  category: 'Blocks',
  keyParams: ['kernelSize', 'activation'],
  params: [
    { name: 'kernelSize', kind: 'int', default: 9, min: 1, description: 'Side of the depthwise kernel.' },
    {
      name: 'activation',
      kind: 'enum',
      default: 'gelu',
      options: ['gelu', 'relu', 'swish'],
      description: 'Activation after each convolution (the released 768/32 model uses relu).',
    },
    { name: 'dim', kind: 'int', derive: { input: 'x', axis: -1 }, description: 'Channels, read from the input.' },
  ],
  nodes: [
    { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
    {
      id: 'depthwise',
      type: 'DepthwiseConv2D',
      params: { kernelSize: { $param: 'kernelSize' }, padding: 'same', activation: { $param: 'activation' } },
      position: { x: 0, y: 140 },
    },
    { id: 'bn1', type: 'BatchNormalization', params: { momentum: 0.9, epsilon: 1e-5 }, position: { x: 0, y: 280 } },
    { id: 'residual', type: 'Add', params: {}, position: { x: 240, y: 420 } },
    {
      id: 'pointwise',
      type: 'Conv2D',
      params: { filters: { $param: 'dim' }, kernelSize: 1, activation: { $param: 'activation' } },
      position: { x: 240, y: 560 },
    },
    { id: 'bn2', type: 'BatchNormalization', params: { momentum: 0.9, epsilon: 1e-5 }, position: { x: 240, y: 700 } },
    { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 240, y: 840 } },
  ],
  edges: [
    { id: 'e1', source: 'x', sourcePort: 'out', target: 'depthwise', targetPort: 'in' },
    { id: 'e2', source: 'depthwise', sourcePort: 'out', target: 'bn1', targetPort: 'in' },
    { id: 'e3', source: 'bn1', sourcePort: 'out', target: 'residual', targetPort: 'inputs' },
    { id: 'e4', source: 'x', sourcePort: 'out', target: 'residual', targetPort: 'inputs' },
    { id: 'e5', source: 'residual', sourcePort: 'out', target: 'pointwise', targetPort: 'in' },
    { id: 'e6', source: 'pointwise', sourcePort: 'out', target: 'bn2', targetPort: 'in' },
    { id: 'e7', source: 'bn2', sourcePort: 'out', target: 'y', targetPort: 'in' },
  ],
};
