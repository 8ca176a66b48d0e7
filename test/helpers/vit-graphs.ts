import type { GraphDocument } from '../../src/document/schema';
import { TransformerBlock } from '../../src/nodes/blocks/transformer-block';
import { VitEncoderBlock } from '../../src/nodes/blocks/vit-encoder';
import { graph } from './graphs';

/**
 * A small ViT from the library's ViT encoder block (patch embed, class token, positions, Transformer
 * blocks ×6 inside, final LayerNorm): a block nested in a block, as placing it from the palette
 * gives. 16×16×1 images, 4×4 patches (16 tokens + class), width 16, 2 heads, MLP 32.
 */
export function vitEncoderGraph(): GraphDocument {
  return graph(
    [
      { id: 'image', type: 'Input', params: { shape: [16, 16, 1] } },
      { id: 'vit', type: 'Block', block: 'VitEncoder', name: 'vit', params: { dim: 16, patchSize: 4, numHeads: 2, mlpDim: 32 } },
      { id: 'cls', type: 'TakeToken', name: 'class token', params: {} },
      { id: 'head', type: 'Dense', params: { units: 5, activation: 'softmax' } },
      { id: 'out', type: 'Output', name: 'probabilities' },
    ],
    [
      ['image', 'vit', 'x'],
      ['vit', 'cls', 'in', 'y'],
      ['cls', 'head'],
      ['head', 'out'],
    ],
    { name: 'ViT encoder', blocks: [structuredClone(VitEncoderBlock), structuredClone(TransformerBlock)] },
  );
}

/**
 * A text-transformer-like graph from the Transformer block with CLIP's settings (causal, QuickGELU,
 * LayerNorm epsilon 1e-5): token ids → Embedding → position embedding → blocks ×2 → LayerNorm →
 * the end-of-text token (ids on the second port).
 */
export function causalTextGraph(): GraphDocument {
  return graph(
    [
      { id: 'ids', type: 'Input', params: { shape: [8], dtype: 'int32' } },
      { id: 'embed', type: 'Embedding', params: { inputDim: 20, outputDim: 12 } },
      { id: 'positions', type: 'PositionEmbedding', params: { stddev: 0.01 } },
      {
        id: 'blocks',
        type: 'Block',
        block: 'TransformerBlock',
        name: 'text',
        params: { numHeads: 3, mlpDim: 48, epsilon: 1e-5, causal: true, gelu: 'quick' },
        repeat: 2,
      },
      { id: 'norm', type: 'LayerNormalization', params: { epsilon: 1e-5 } },
      { id: 'eot', type: 'TakeToken', params: { mode: 'endOfText' } },
      { id: 'out', type: 'Output', name: 'text features' },
    ],
    [
      ['ids', 'embed'],
      ['embed', 'positions'],
      ['positions', 'blocks', 'x'],
      ['blocks', 'norm', 'in', 'y'],
      ['norm', 'eot'],
      ['ids', 'eot', 'ids'],
      ['eot', 'out'],
    ],
    { name: 'Causal text', blocks: [structuredClone(TransformerBlock)] },
  );
}
