/**
 * The `clip` program template (Radford et al., 2021, "Learning Transferable Visual Models From
 * Natural Language Supervision"), written by scripts/gen-program-templates.ts into templates/clip.json.
 *
 * Two networks: the image tower (the main network: a ViT encoder as CLIP's, conv patches without
 * bias, class token, position embedding, ln_pre, residual attention blocks, ln_post on the class
 * token, projection without bias) and the text tower (token and position embedding, causal
 * residual attention blocks, ln_final, the end-of-text token, projection without bias). Training:
 * digits paired with captions written from templates, the learned temperature (log(1/0.07),
 * clamped at log 100) and the symmetric InfoNCE over the batch. Evaluation: zero-shot accuracy on
 * the held-out digits with prompt templates training never saw, and a linear probe.
 *
 * The default preset is sized for MNIST on a CPU; `ViT-B/32` sets the released model's sizes.
 */
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, type GraphDocument, type NetworkDef, type ProcedureDef } from '../src/document/schema';
import { TransformerBlock } from '../src/nodes/blocks/transformer-block';
import { vocabularyOf } from '../src/runtime/program/clip';
import { graphBuilder, type GraphBuilder } from '../templates/program-builder';

const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const DIGITS = WORDS.map((_, i) => String(i));

/** The captions training sees. */
export const TRAIN_TEMPLATES = [
  'a photo of the number {word}',
  'a handwritten {digit}',
  'the digit {word}',
  'a photo of a {digit}',
  'an image of the digit {digit}',
  'the number {digit}',
  'a drawing of a {word}',
  'a handwritten {word}',
  'this is a {word}',
  'a scan of the number {word}',
  'a black and white photo of the digit {digit}',
  '{word}',
];

/** The zero-shot prompts: no template here is one training uses, and several words never occur in training. */
export const ZERO_SHOT_TEMPLATES = [
  'a picture of a {word}',
  'a close up of the handwritten number {word}',
  'there is a {digit} here',
  'a sketch of the digit {digit}',
];

/**
 * The tokenizer's words: every word the training and zero-shot templates can write (words only the
 * prompts use get ids, whose embeddings training never updates).
 */
export const VOCABULARY = vocabularyOf([...TRAIN_TEMPLATES, ...ZERO_SHOT_TEMPLATES], WORDS, DIGITS);

const CONTEXT = 12;

/** CLIP's ResidualAttentionBlock as the library's Transformer block: LayerNorm epsilon 1e-5 (PyTorch's), QuickGELU. */
const CLIP_LAYER = { epsilon: 1e-5, gelu: 'quick' };

/** The mnist sizes (the document's own values); ViT-B/32's are in the preset below. */
const MNIST = { image: 28, channels: 1, patch: 7, width: 64, layers: 2, heads: 4, textWidth: 64, textLayers: 2, textHeads: 4, embed: 64 };

/** The image tower, CLIP's VisionTransformer: image → embedding. */
function imageTower(g: GraphBuilder): void {
  const m = MNIST;
  const image = g.add('image', 'Input', { shape: [m.image, m.image, m.channels] });
  const conv = g.add('conv1', 'Conv2D', { filters: m.width, kernelSize: m.patch, strides: m.patch, padding: 'valid', useBias: false }, [[image]]);
  const patches = g.add('patches', 'Reshape', { targetShape: [-1, m.width] }, [[conv]]);
  const cls = g.add('classToken', 'ClassToken', {}, [[patches]]);
  const pos = g.add('positions', 'PositionEmbedding', { stddev: 0.01 }, [[cls]]);
  const lnPre = g.add('lnPre', 'LayerNormalization', { epsilon: 1e-5 }, [[pos]]);
  const blocks = g.add('transformer', 'Block', { ...CLIP_LAYER, numHeads: m.heads, mlpDim: 4 * m.width, causal: false }, [[lnPre, 'out', 'x']], {
    block: TransformerBlock.id,
    repeat: m.layers,
  });
  const take = g.add('classOut', 'TakeToken', { mode: 'first' }, [[blocks, 'y']]);
  const lnPost = g.add('lnPost', 'LayerNormalization', { epsilon: 1e-5 }, [[take]]);
  const proj = g.add('projection', 'Dense', { units: m.embed, useBias: false }, [[lnPost]]);
  g.add('embedding', 'Output', {}, [[proj]]);
}

function textTower(): NetworkDef {
  const m = MNIST;
  const g = graphBuilder();
  const tokens = g.add('tokens', 'Input', { shape: [CONTEXT], dtype: 'int32' });
  const embed = g.add('tokenEmbedding', 'Embedding', { inputDim: VOCABULARY.length + 4, outputDim: m.textWidth }, [[tokens]]);
  const pos = g.add('positions', 'PositionEmbedding', { stddev: 0.01 }, [[embed]]);
  const blocks = g.add('transformer', 'Block', { ...CLIP_LAYER, numHeads: m.textHeads, mlpDim: 4 * m.textWidth, causal: true }, [[pos, 'out', 'x']], {
    block: TransformerBlock.id,
    repeat: m.textLayers,
  });
  const ln = g.add('lnFinal', 'LayerNormalization', { epsilon: 1e-5 }, [[blocks, 'y']]);
  const eot = g.add('endOfText', 'TakeToken', { mode: 'endOfText' }, [[ln], [tokens, 'out', 'ids']]);
  const proj = g.add('projection', 'Dense', { units: m.embed, useBias: false }, [[eot]]);
  g.add('embedding', 'Output', {}, [[proj]]);
  return {
    id: 'text',
    label: 'Text tower',
    description:
      'Token and position embeddings, causal residual attention blocks, the final LayerNorm, the features at the end-of-text token, projected to the shared space.',
    nodes: g.nodes,
    edges: g.edges,
  };
}

const tokenizer = { classWords: WORDS, classDigits: DIGITS, vocabulary: VOCABULARY, contextLength: CONTEXT };

function procedure(id: string, label: string, kind: 'train' | 'evaluate', build: (g: GraphBuilder) => void, epochs?: number): ProcedureDef {
  const g = graphBuilder();
  build(g);
  return { id, label, kind, ...(epochs ? { epochs } : {}), nodes: g.nodes, edges: g.edges };
}

const train = procedure('contrastive', 'Contrastive training', 'train', (p) => {
  const data = p.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
  const captions = p.add('captions', 'Captions', { templates: TRAIN_TEMPLATES, ...tokenizer }, [[data, 'label', 'label']]);
  const image = p.add('imageTower', 'Network', { network: 'model' }, [[data, 'image', 'image']]);
  const text = p.add('textTower', 'Network', { network: 'text' }, [[captions, 'tokens', 'tokens']]);
  const scale = p.add('logitScale', 'Parameter', { init: Math.log(1 / 0.07), min: 0, max: Math.log(100) });
  const loss = p.add('loss', 'InfoNCE', { expScale: true }, [
    [image, 'embedding', 'a'],
    [text, 'embedding', 'b'],
    [scale, 'out', 'scale'],
  ]);
  p.add('minimize', 'Minimize', { optimizer: 'adamw', learningRate: 1e-3, schedule: 'warmup-cosine', warmupSteps: 50, weightDecay: 0.0001 }, [
    [loss, 'loss', 'loss'],
  ]);
});

const evaluate = procedure('evaluate', 'Zero-shot evaluation', 'evaluate', (p) => {
  const data = p.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
  const image = p.add('imageTower', 'Network', { network: 'model', weights: 'frozen' }, [[data, 'image', 'image']]);
  const prompts = p.add('prompts', 'Prompts', { templates: ZERO_SHOT_TEMPLATES, ...tokenizer });
  const text = p.add('textTower', 'Network', { network: 'text', weights: 'frozen' }, [[prompts, 'tokens', 'tokens']]);
  const logits = p.add('zeroShot', 'ZeroShotClassifier', { classes: 10, scale: 100 }, [
    [image, 'embedding', 'image'],
    [text, 'embedding', 'text'],
  ]);
  p.add('zeroShotAccuracy', 'Accuracy', { metric: 'zeroShotAccuracy' }, [
    [logits, 'logits', 'prediction'],
    [data, 'label', 'label'],
  ]);
  p.add('probe', 'LinearProbe', { metric: 'testAccuracy' }, [
    [image, 'embedding', 'features'],
    [data, 'label', 'label'],
  ]);
});

/** The released ViT-B/32: 224×224 RGB, patch 32, width 768, 12 layers (12 heads); text width 512, 12 layers (8 heads), vocabulary 49,408, context 77; embedding 512. */
const VIT_B_32 = {
  conv1: { filters: 768, kernelSize: 32, strides: 32 },
  patches: { targetShape: [-1, 768] },
  transformer: { numHeads: 12, mlpDim: 3072, repeat: 12 },
  projection: { units: 512 },
};

export function clip(): GraphDocument {
  const g = graphBuilder();
  imageTower(g);
  return {
    format: DOCUMENT_FORMAT,
    version: DOCUMENT_VERSION,
    nodeTypes: {},
    name: 'CLIP',
    nodes: g.nodes,
    edges: g.edges,
    blocks: [TransformerBlock],
    networks: [textTower()],
    program: {
      mainNetwork: { label: 'Image tower', description: "CLIP's ViT image encoder and its projection into the shared space." },
      procedures: [train, evaluate],
    },
    training: {
      optimizer: 'adamw',
      learningRate: 1e-3,
      schedule: 'warmup-cosine',
      warmupSteps: 50,
      weightDecay: 0.0001,
      momentum: 0.9,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      batchSize: 128,
      epochs: 6,
      seed: 0,
    },
    meta: {
      template: {
        id: 'clip',
        title: 'CLIP',
        description:
          'Learning Transferable Visual Models From Natural Language Supervision (Radford et al.): an image tower and a text tower trained so that each image picks its own caption in the batch, then zero-shot classification from written prompts.',
        paper: 'arXiv:2103.00020',
        defaultPreset: 'mnist',
      },
      presets: [
        {
          name: 'mnist',
          description: `Digits with captions from ${TRAIN_TEMPLATES.length} sentence templates and a ${VOCABULARY.length}-word tokenizer (context ${CONTEXT}); ViT 7×7 patches, width 64, 2 layers; text width 64, 2 causal layers; embedding 64. Zero-shot accuracy on the held-out digits with ${ZERO_SHOT_TEMPLATES.length} prompt templates training never saw.`,
          set: {},
        },
        {
          name: 'ViT-B/32',
          description:
            'The released CLIP ViT-B/32 sizes: 224×224 RGB, patch 32, width 768, 12 layers; text width 512, 12 causal layers, vocabulary 49,408, context 77; embedding 512 (151,277,313 params with the temperature). For its summary and export; training it needs its data.',
          set: {
            image: { shape: [224, 224, 3] },
            ...VIT_B_32,
            'text/tokens': { shape: [77] },
            'text/tokenEmbedding': { inputDim: 49_408, outputDim: 512 },
            'text/transformer': { numHeads: 8, mlpDim: 2048, repeat: 12 },
            'text/projection': { units: 512 },
            'contrastive/data': { shape: [224, 224, 3] },
            'contrastive/captions': { contextLength: 77 },
            'evaluate/data': { shape: [224, 224, 3] },
            'evaluate/prompts': { contextLength: 77 },
          },
        },
      ],
    },
  };
}
