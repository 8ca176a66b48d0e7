import type { GraphDocument } from '../src/document/schema';
import { graph } from './helpers/graphs';

/**
 * A graph that touches most layer types, two inputs, a branch, a merge and two outputs: for export
 * equivalence beyond the templates.
 */
export function kitchenSink(): GraphDocument {
  return graph(
    [
      { id: 'image', type: 'Input', params: { shape: [12, 12, 3] } },
      { id: 'extra', type: 'Input', name: 'side features', params: { shape: [5] } },
      { id: 'pad', type: 'ZeroPadding2D', params: { padding: 1 } },
      { id: 'conv', type: 'Conv2D', params: { filters: 8, kernelSize: 3, activation: 'relu' } },
      { id: 'dw', type: 'DepthwiseConv2D', params: { kernelSize: 3, padding: 'same', depthMultiplier: 2 } },
      { id: 'sep', type: 'SeparableConv2D', params: { filters: 8, kernelSize: 3, padding: 'same' } },
      { id: 'sum', type: 'Add', params: {} },
      { id: 'bn', type: 'BatchNormalization' },
      { id: 'pool', type: 'MaxPooling2D', params: { poolSize: 2 } },
      { id: 'avg', type: 'AveragePooling2D', params: { poolSize: 2, padding: 'same' } },
      { id: 'up', type: 'UpSampling2D', params: { size: 2 } },
      { id: 'deconv', type: 'Conv2DTranspose', params: { filters: 4, kernelSize: 2, strides: 2 } },
      { id: 'gap', type: 'GlobalAveragePooling2D' },
      { id: 'tokens', type: 'Reshape', params: { targetShape: [-1, 4] } },
      { id: 'swap', type: 'Permute', params: { dims: [2, 1] } },
      { id: 'ln', type: 'LayerNormalization' },
      { id: 'seqpool', type: 'GlobalAveragePooling1D' },
      { id: 'flat', type: 'Flatten' },
      { id: 'features', type: 'Dense', params: { units: 6, activation: 'gelu' } },
      { id: 'gate', type: 'Dense', params: { units: 6, activation: 'sigmoid' } },
      { id: 'gated', type: 'Multiply' },
      { id: 'joined', type: 'Concatenate' },
      { id: 'drop', type: 'Dropout', params: { rate: 0.1 } },
      { id: 'act', type: 'Activation', params: { activation: 'tanh' } },
      { id: 'logits', type: 'Dense', params: { units: 3, activation: 'softmax' } },
      { id: 'aux', type: 'Dense', params: { units: 2 } },
      { id: 'out1', type: 'Output', name: 'classes' },
      { id: 'out2', type: 'Output', name: 'auxiliary' },
    ],
    [
      ['image', 'pad'],
      ['pad', 'conv'],
      ['conv', 'dw'],
      ['dw', 'sep'],
      ['sep', 'sum', 'inputs'],
      ['conv', 'sum', 'inputs'],
      ['sum', 'bn'],
      ['bn', 'pool'],
      ['pool', 'avg'],
      ['avg', 'up'],
      ['up', 'deconv'],
      ['deconv', 'gap'],
      ['pool', 'tokens'],
      ['tokens', 'swap'],
      ['swap', 'ln'],
      ['ln', 'seqpool'],
      ['seqpool', 'features'],
      ['avg', 'flat'],
      ['flat', 'joined', 'inputs'],
      ['extra', 'gate'],
      ['features', 'gated', 'inputs'],
      ['gate', 'gated', 'inputs'],
      ['gated', 'joined', 'inputs'],
      ['gap', 'joined', 'inputs'],
      ['joined', 'drop'],
      ['drop', 'act'],
      ['act', 'logits'],
      ['logits', 'out1'],
      ['gap', 'aux'],
      ['aux', 'out2'],
    ],
    { name: 'Kitchen sink' },
  );
}

/**
 * A graph that uses the custom layers (tfjs has neither): GroupNormalization on images (inside a
 * repeated residual block, its groups a block param) and on a rank-3 sequence, and L2 normalise on
 * the embedding. For export equivalence, the golden file and the save/load round trip.
 */
export function customLayers(): GraphDocument {
  const wire = (id: string, source: string, target: string, targetPort = 'in') => ({ id, source, sourcePort: 'out', target, targetPort });
  return graph(
    [
      { id: 'image', type: 'Input', params: { shape: [8, 8, 3] } },
      { id: 'stem', type: 'Conv2D', params: { filters: 8, kernelSize: 3, padding: 'same' } },
      { id: 'res', type: 'Block', block: 'GroupNormResBlock', name: 'res', params: { groups: 4 }, repeat: 2 },
      { id: 'gn', type: 'GroupNormalization', name: 'final norm', params: { groups: 2 } },
      { id: 'gap', type: 'GlobalAveragePooling2D' },
      { id: 'project', type: 'Dense', params: { units: 6 } },
      { id: 'l2', type: 'L2Normalize', name: 'unit embedding' },
      { id: 'tokens', type: 'Reshape', params: { targetShape: [-1, 8] } },
      { id: 'seqnorm', type: 'GroupNormalization', name: 'token norm', params: { groups: 2, epsilon: 1e-6 } },
      { id: 'seqpool', type: 'GlobalAveragePooling1D' },
      { id: 'emb', type: 'Output', name: 'embedding' },
      { id: 'tok', type: 'Output', name: 'tokens' },
    ],
    [
      ['image', 'stem'],
      ['stem', 'res', 'x'],
      ['res', 'gn', 'in', 'y'],
      ['gn', 'gap'],
      ['gap', 'project'],
      ['project', 'l2'],
      ['l2', 'emb'],
      ['res', 'tokens', 'in', 'y'],
      ['tokens', 'seqnorm'],
      ['seqnorm', 'seqpool'],
      ['seqpool', 'tok'],
    ],
    {
      name: 'Custom layers',
      blocks: [
        {
          id: 'GroupNormResBlock',
          label: 'GroupNorm res block',
          description: 'GroupNorm, swish, 3×3 conv, added to the input: the residual unit of the diffusion UNets.',
          category: 'Blocks',
          params: [
            { name: 'groups', kind: 'int', default: 4, min: 1, description: 'GroupNorm groups.' },
            { name: 'dim', kind: 'int', derive: { input: 'x', axis: -1 }, description: 'Channels, read from the input.' },
          ],
          nodes: [
            { id: 'x', type: 'BlockInput', params: { name: 'x' } },
            { id: 'norm', type: 'GroupNormalization', params: { groups: { $param: 'groups' } } },
            { id: 'act', type: 'Activation', params: { activation: 'swish' } },
            { id: 'conv', type: 'Conv2D', params: { filters: { $param: 'dim' }, kernelSize: 3, padding: 'same' } },
            { id: 'sum', type: 'Add', params: {} },
            { id: 'y', type: 'BlockOutput', params: { name: 'y' } },
          ],
          edges: [
            wire('b1', 'x', 'norm'),
            wire('b2', 'norm', 'act'),
            wire('b3', 'act', 'conv'),
            wire('b4', 'conv', 'sum', 'inputs'),
            wire('b5', 'x', 'sum', 'inputs'),
            wire('b6', 'sum', 'y'),
          ],
        },
      ],
    },
  );
}
