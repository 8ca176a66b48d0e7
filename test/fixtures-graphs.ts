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
      { id: 'sum', type: 'Add' },
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
      ['image', 'pad'], ['pad', 'conv'], ['conv', 'dw'], ['dw', 'sep'], ['sep', 'sum', 'inputs'], ['conv', 'sum', 'inputs'],
      ['sum', 'bn'], ['bn', 'pool'], ['pool', 'avg'], ['avg', 'up'], ['up', 'deconv'], ['deconv', 'gap'],
      ['pool', 'tokens'], ['tokens', 'swap'], ['swap', 'ln'], ['ln', 'seqpool'], ['seqpool', 'features'], ['avg', 'flat'], ['flat', 'joined', 'inputs'],
       ['extra', 'gate'], ['features', 'gated', 'inputs'], ['gate', 'gated', 'inputs'],
      ['gated', 'joined', 'inputs'], ['gap', 'joined', 'inputs'], ['joined', 'drop'], ['drop', 'act'], ['act', 'logits'],
      ['logits', 'out1'], ['gap', 'aux'], ['aux', 'out2'],
    ],
    { name: 'Kitchen sink' },
  );
}
