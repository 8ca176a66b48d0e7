import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphDocument } from '../src/document/schema';
import { analyze, lower } from '../src/compiler/index';
import type { Plan } from '../src/compiler/plan';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { emitPytorch, PYTORCH_FACTORIES, pytorchFiles, PytorchExportError } from '../src/compiler/emit-pytorch';
import { HELPERS } from '../src/compiler/pytorch-layers';
import { getLibraryBlock } from '../src/nodes/blocks/index';
import { NODE_SPECS } from '../src/nodes/registry';
import { buildModel } from '../src/runtime/build';
import { flowForward } from '../src/runtime/program/flows';
import { seededRandom } from '../src/runtime/data/dataset';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';
import { useCpuBackend } from './helpers/tf';

/**
 * The PyTorch export against tfjs: for every layer type (each spec example plus the padding and
 * layout cases that differ between the two), the library blocks and the ConvMixer and MLP-Mixer
 * `mnist` presets, the exported module has tfjs's trainable parameter count, gives tfjs's outputs on
 * tfjs's weights (loaded through weights.py; max abs difference ≤ 1e-5), and saves the weights back
 * to tfjs byte for byte. Needs Debian's python3-torch at /usr/bin/python3.
 */
const PYTHON = '/usr/bin/python3';
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const hasTorch = torchCheck.status === 0;
if (!hasTorch)
  console.warn(
    `Skipping the PyTorch export checks: ${PYTHON} cannot import torch (${(torchCheck.stderr || torchCheck.error?.message || '').trim().split('\n').pop()}). Install Debian's python3-torch.`,
  );

/** Factories whose layers the export writes; others must be refused by name. */
const covered = new Set(PYTORCH_FACTORIES);
const factoryOf = (type: string) => {
  const spec = NODE_SPECS.find((s) => s.type === type)!;
  const lowering = spec.lower(spec.params.parse({}) as never);
  return lowering.kind === 'layer' ? lowering.factory : null;
};

interface Case {
  id: string;
  doc: GraphDocument;
  /** A program's network to check (its id); a plain graph when left out. */
  network?: string;
  /** ActNorm's flag left at 0, so that the forward pass runs its data-dependent initialisation. */
  freshActNorm?: boolean;
  /** A flow network: the model's forward_flow must also give tfjs's log-determinant, and inverse give x back. */
  flow?: boolean;
}

/** One layer between Inputs and an Output: input i goes to the spec's port i (the last port takes the rest, as a variadic one). */
function layerCase(id: string, type: string, params: Record<string, unknown>, inputs: number[][], dtype: 'float32' | 'int32' = 'float32'): Case {
  const spec = NODE_SPECS.find((s) => s.type === type)!;
  const portOf = (i: number) => spec.inputs[Math.min(i, spec.inputs.length - 1)]!.name;
  return {
    id,
    doc: graph(
      [
        ...inputs.map((shape, i) => ({ id: `in${i}`, type: 'Input', params: { shape, dtype } })),
        { id: 'layer', type, name: `the ${type}`, params },
        { id: 'out', type: 'Output' },
      ],
      [...inputs.map((_, i): [string, string, string] => [`in${i}`, 'layer', portOf(i)]), ['layer', 'out']],
    ),
  };
}

function blockCase(id: string, block: string, params: Record<string, unknown>, input: number[], repeat = 1): Case {
  const def = getLibraryBlock(block)!;
  return {
    id,
    doc: graph(
      [
        { id: 'in', type: 'Input', params: { shape: input } },
        { id: 'b', type: 'Block', block, name: 'the block', params, repeat },
        { id: 'out', type: 'Output' },
      ],
      [
        ['in', 'b', 'x'],
        ['b', 'out', 'in', 'y'],
      ],
      { blocks: [def] },
    ),
  };
}

/** Every spec example of an exported layer type. */
const exampleCases: Case[] = NODE_SPECS.filter((s) => !s.internal && s.type !== 'Input' && s.type !== 'Output' && covered.has(factoryOf(s.type) ?? '')).flatMap(
  (spec) =>
    spec.examples.map((e, i) =>
      layerCase(`${spec.type} example ${i}`, spec.type, e.params as Record<string, unknown>, e.inputs, spec.type === 'Embedding' ? 'int32' : 'float32'),
    ),
);

/** Where PyTorch and tfjs differ: asymmetric "same" padding, transposed-convolution sizes, layouts, activations. */
const edgeCases: Case[] = [
  layerCase('Conv2D same, stride 2, even size (asymmetric)', 'Conv2D', { filters: 3, kernelSize: 3, strides: 2, padding: 'same' }, [[8, 8, 2]]),
  layerCase('Conv2D same, even kernel (asymmetric)', 'Conv2D', { filters: 3, kernelSize: [2, 4], padding: 'same' }, [[5, 6, 2]]),
  layerCase('Conv2D valid, no bias, relu', 'Conv2D', { filters: 2, kernelSize: 3, useBias: false, activation: 'relu' }, [[5, 5, 3]]),
  layerCase('DepthwiseConv2D same, stride 2, multiplier 3', 'DepthwiseConv2D', { kernelSize: 4, strides: 2, padding: 'same', depthMultiplier: 3 }, [[7, 8, 2]]),
  layerCase('SeparableConv2D same, even kernel', 'SeparableConv2D', { filters: 5, kernelSize: 2, padding: 'same', depthMultiplier: 2 }, [[6, 6, 3]]),
  layerCase('Conv2DTranspose kernel < stride', 'Conv2DTranspose', { filters: 2, kernelSize: 2, strides: 3 }, [[3, 4, 2]]),
  layerCase('Conv2DTranspose same, kernel 4 stride 2', 'Conv2DTranspose', { filters: 3, kernelSize: 4, strides: 2, padding: 'same' }, [[4, 5, 2]]),
  layerCase('Conv2DTranspose same, kernel 5 stride 2 (odd crop)', 'Conv2DTranspose', { filters: 2, kernelSize: 5, strides: 2, padding: 'same' }, [[3, 3, 2]]),
  layerCase('Conv2DTranspose same, kernel 1 stride 2', 'Conv2DTranspose', { filters: 2, kernelSize: 1, strides: 2, padding: 'same' }, [[3, 3, 2]]),
  layerCase('MaxPooling2D same, asymmetric', 'MaxPooling2D', { poolSize: 2, strides: 2, padding: 'same' }, [[5, 7, 2]]),
  layerCase('AveragePooling2D same, symmetric', 'AveragePooling2D', { poolSize: 3, strides: 1, padding: 'same' }, [[5, 5, 2]]),
  layerCase('AveragePooling2D same, asymmetric', 'AveragePooling2D', { poolSize: 2, strides: 2, padding: 'same' }, [[5, 7, 2]]),
  layerCase('Dense on images', 'Dense', { units: 3, activation: 'tanh' }, [[3, 4, 5]]),
  layerCase('BatchNormalization on tokens', 'BatchNormalization', { momentum: 0.9, epsilon: 1e-5 }, [[6, 4]]),
  layerCase('BatchNormalization without affine', 'BatchNormalization', { center: false, scale: false }, [[4, 4, 3]]),
  layerCase('LayerNormalization on images', 'LayerNormalization', { epsilon: 1e-6 }, [[3, 4, 5]]),
  layerCase('GroupNormalization on images', 'GroupNormalization', { groups: 2 }, [[3, 4, 6]]),
  layerCase('L2Normalize on image channels', 'L2Normalize', { axis: -1 }, [[3, 4, 5]]),
  layerCase('L2Normalize on image rows', 'L2Normalize', { axis: 1 }, [[3, 4, 5]]),
  layerCase('Flatten of an image', 'Flatten', {}, [[3, 4, 5]]),
  layerCase('Reshape image to image', 'Reshape', { targetShape: [6, 2, -1] }, [[3, 4, 5]]),
  layerCase('Reshape tokens to image', 'Reshape', { targetShape: [2, 3, 4] }, [[6, 4]]),
  layerCase('Permute an image', 'Permute', { dims: [2, 3, 1] }, [[3, 4, 5]]),
  layerCase('Permute an image to tokens order', 'Permute', { dims: [3, 1, 2] }, [[3, 4, 5]]),
  layerCase('Concatenate images on rows', 'Concatenate', { axis: 1 }, [
    [3, 4, 2],
    [2, 4, 2],
  ]),
  layerCase('Concatenate images on channels', 'Concatenate', {}, [
    [3, 4, 2],
    [3, 4, 5],
  ]),
  layerCase('Softmax over image channels', 'Activation', { activation: 'softmax' }, [[3, 4, 5]]),
  layerCase('UpSampling2D bilinear 3x', 'UpSampling2D', { size: 3, interpolation: 'bilinear' }, [[3, 4, 2]]),
  layerCase(
    'ZeroPadding2D asymmetric',
    'ZeroPadding2D',
    {
      padding: [
        [0, 2],
        [3, 1],
      ],
    },
    [[3, 4, 2]],
  ),
  ...['linear', 'relu', 'relu6', 'gelu', 'gelu_new', 'swish', 'mish', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'softsign', 'elu', 'selu'].map((a) =>
    layerCase(`Activation ${a}`, 'Activation', { activation: a }, [[7, 3]]),
  ),
  // Attention: the causal mask, several heads, heads narrower or wider than width / heads.
  layerCase('MultiHeadSelfAttention causal, 4 heads', 'MultiHeadSelfAttention', { numHeads: 4, causal: true }, [[6, 16]]),
  layerCase('MultiHeadSelfAttention 3 heads of 5 on width 9', 'MultiHeadSelfAttention', { numHeads: 3, keyDim: 5 }, [[4, 9]]),
  layerCase('MultiHeadSelfAttention one head, causal', 'MultiHeadSelfAttention', { numHeads: 1, causal: true }, [[5, 6]]),
  layerCase('MultiHeadSelfAttention 8 heads of 2', 'MultiHeadSelfAttention', { numHeads: 8 }, [[3, 16]]),
  layerCase('GELU quick on images', 'GELU', { approximate: 'quick' }, [[3, 4, 2]]),
  // Capsules: routing iterations, "same" padding with the odd pixel after, squash on image channels.
  layerCase('DigitCapsules 5 routings', 'DigitCapsules', { capsules: 4, capsuleDim: 6, routings: 5 }, [[20, 8]]),
  layerCase('DigitCapsules 2 routings, stddev and epsilon', 'DigitCapsules', { capsules: 3, capsuleDim: 2, routings: 2, weightStddev: 0.3, epsilon: 1e-3 }, [
    [7, 5],
  ]),
  layerCase(
    'PrimaryCapsules same, stride 2, even kernel (asymmetric)',
    'PrimaryCapsules',
    { capsules: 3, capsuleDim: 4, kernelSize: 4, strides: 2, padding: 'same' },
    [[7, 8, 3]],
  ),
  layerCase('PrimaryCapsules epsilon', 'PrimaryCapsules', { capsules: 2, capsuleDim: 3, kernelSize: 3, strides: 2, epsilon: 1e-2 }, [[6, 6, 2]]),
  layerCase('Squash on image channels', 'Squash', { epsilon: 1e-3 }, [[3, 4, 5]]),
  layerCase('CapsuleLength epsilon', 'CapsuleLength', { epsilon: 1e-2 }, [[4, 3]]),
  // Flow steps: the coupling masks and splits with odd sizes, ActNorm's data-dependent initialisation.
  layerCase('AffineCoupling vectors, odd width, parity 0, depth 1', 'AffineCoupling', { parity: 0, hidden: 6, depth: 1 }, [[5]]),
  layerCase('AffineCoupling checkerboard, parity 1, odd size', 'AffineCoupling', { parity: 1, hidden: 4, mask: 'checkerboard' }, [[5, 3, 3]]),
  layerCase('AffineCoupling channel mask, odd channels, parity 0', 'AffineCoupling', { parity: 0, hidden: 5, mask: 'channel' }, [[3, 4, 3]]),
  layerCase('AffineCoupling channel mask, odd channels, parity 1', 'AffineCoupling', { parity: 1, hidden: 5, mask: 'channel' }, [[3, 4, 5]]),
  { ...layerCase('ActNorm data-dependent initialisation, images', 'ActNorm', {}, [[3, 4, 5]]), freshActNorm: true },
  { ...layerCase('ActNorm data-dependent initialisation, vectors', 'ActNorm', {}, [[6]]), freshActNorm: true },
  layerCase('InvertibleConv1x1 on vectors of 5', 'InvertibleConv1x1', {}, [[5]]),
  layerCase('Squeeze of a 4×6×3 image', 'Squeeze', {}, [[4, 6, 3]]),
  // Diffusion: odd embedding widths, a residual block without a shortcut, several heads, a UNet with every kind of stage.
  layerCase('TimestepEmbedding odd width, period 1000', 'TimestepEmbedding', { dim: 9, maxPeriod: 1000 }, [[1]]),
  layerCase('TimeResBlock same channels, dropout (eval)', 'TimeResBlock', { filters: 6, groups: 3, dropout: 0.3 }, [[4, 5, 6], [5]]),
  layerCase('SpatialAttention 4 heads', 'SpatialAttention', { heads: 4, groups: 2 }, [[3, 3, 8]]),
  layerCase(
    'UNet 3 levels, 2 blocks, attention down and up, 2 heads',
    'UNet',
    { channels: 4, channelMult: [1, 2, 2], resBlocks: 2, attentionResolutions: [8, 2], groups: 2, heads: 2, dropout: 0.1, outChannels: 2 },
    [[8, 8, 2], [5]],
  ),
  // GLOM: one level (no top-down, a mean of three), a local radius on square grids, sharp and flat
  // consensus, many levels; patches back into images with channels, 1-pixel patches and one column.
  layerCase('GlomLevels 5 levels', 'GlomLevels', { levels: 5 }, [[6, 3]]),
  layerCase('GlomUpdate one level (bottom-up only, mean of three)', 'GlomUpdate', { hiddenUnits: 4 }, [
    [5, 1, 3],
    [5, 3],
  ]),
  layerCase('GlomUpdate two levels, sharpness 0.5', 'GlomUpdate', { hiddenUnits: 5, sharpness: 0.5 }, [
    [6, 2, 4],
    [6, 4],
  ]),
  layerCase('GlomUpdate radius 1 on a 4×4 grid, sharpness 30', 'GlomUpdate', { hiddenUnits: 3, sharpness: 30, radius: 1 }, [
    [16, 3, 4],
    [16, 4],
  ]),
  layerCase('GlomUpdate radius 2 on a 5×5 grid, 4 levels', 'GlomUpdate', { hiddenUnits: 6, radius: 2 }, [
    [25, 4, 3],
    [25, 3],
  ]),
  layerCase('GlomUpdate two columns', 'GlomUpdate', { hiddenUnits: 2 }, [
    [2, 3, 2],
    [2, 2],
  ]),
  layerCase('PatchesToImage 3 channels on a 3×3 grid', 'PatchesToImage', { patchSize: 2, channels: 3 }, [[9, 12]]),
  layerCase('PatchesToImage 1-pixel patches', 'PatchesToImage', { patchSize: 1, channels: 2 }, [[16, 2]]),
  layerCase('PatchesToImage one column', 'PatchesToImage', { patchSize: 3, channels: 1 }, [[1, 9]]),
];

/**
 * GLOM in one plain graph: a patch convolution into columns, levels, two updates (each with its own
 * weights: a graph's nodes do not share), the decoder and the patches laid back out as the image.
 * Rank-4 levels travel through the export as (N, width, columns, levels) between the layers.
 */
const glomGraphCase: Case = {
  id: 'GLOM graph: patches, levels, two updates, decoder, image',
  doc: graph(
    [
      { id: 'image', type: 'Input', params: { shape: [6, 6, 2] } },
      { id: 'embed', type: 'Conv2D', params: { filters: 5, kernelSize: 2, strides: 2 } },
      { id: 'rows', type: 'Reshape', params: { targetShape: [9, 5] } },
      { id: 'start', type: 'GlomLevels', params: { levels: 3 } },
      { id: 'first', type: 'GlomUpdate', params: { hiddenUnits: 4, radius: 1 } },
      { id: 'second', type: 'GlomUpdate', params: { hiddenUnits: 3, sharpness: 2 } },
      { id: 'flat', type: 'Reshape', params: { targetShape: [9, 15] } },
      { id: 'pixels', type: 'Dense', params: { units: 8 } },
      { id: 'picture', type: 'PatchesToImage', params: { patchSize: 2, channels: 2 } },
      { id: 'out', type: 'Output' },
    ],
    [
      ['image', 'embed'],
      ['embed', 'rows'],
      ['rows', 'start'],
      ['start', 'first'],
      ['rows', 'first', 'patches'],
      ['first', 'second'],
      ['rows', 'second', 'patches'],
      ['second', 'flat'],
      ['flat', 'pixels'],
      ['pixels', 'picture'],
      ['picture', 'out'],
    ],
  ),
};

const blockCases: Case[] = [
  blockCase('PatchEmbed block, BatchNorm and tokens', 'PatchEmbed', { dim: 6, patchSize: 2, activation: 'gelu', batchNorm: true, tokens: true }, [8, 8, 3]),
  blockCase('PatchEmbed block, plain', 'PatchEmbed', { dim: 4, patchSize: 3, activation: 'linear', batchNorm: false, tokens: false }, [9, 9, 2]),
  blockCase('ConvMixer block ×2', 'ConvMixerBlock', { kernelSize: 4, activation: 'relu' }, [6, 6, 8], 2),
  blockCase('Mixer block ×2', 'MixerBlock', { tokenMlpDim: 5, channelMlpDim: 12 }, [9, 8], 2),
];

function presetCase(template: string, preset: string): Case {
  const result = templateDocument(template, preset);
  if ('error' in result) throw new Error(result.error);
  return { id: `${template} --preset ${preset}`, doc: result.doc };
}

/** One network of a program template's preset (CLIP's towers, CapsNet's capsules and decoder). */
function networkCase(template: string, preset: string, network: string): Case {
  return { ...presetCase(template, preset), id: `${template} --preset ${preset}, network ${network}`, network };
}

const presetCases: Case[] = [
  presetCase('convmixer', 'mnist'),
  presetCase('mlp-mixer', 'mnist'),
  presetCase('vit', 'mnist'),
  networkCase('capsnet', 'small', 'model'),
  networkCase('capsnet', 'small', 'decoder'),
  networkCase('clip', 'mnist', 'model'),
  networkCase('clip', 'mnist', 'text'),
  { ...networkCase('realnvp', 'moons', 'model'), flow: true },
  { ...networkCase('glow', 'mnist', 'model'), flow: true },
  networkCase('ddpm', 'mnist', 'model'),
  // Palette colourise's UNet: a grey condition (1 channel) beside an RGB x_t (3).
  networkCase('palette', 'colourise', 'model'),
  networkCase('glom', 'tiny', 'model'),
  networkCase('glom', 'tiny', 'update'),
  networkCase('glom', 'tiny', 'decoder'),
  networkCase('glom', 'small', 'model'),
  networkCase('glom', 'small', 'update'),
  networkCase('glom', 'small', 'decoder'),
];

/** A case's plan: the graph's, or its program network's. */
function planOf(c: Case): Plan {
  if (c.network) {
    const lowered = lowerProgram(analyzeProgram(c.doc)!);
    const net = lowered.program?.networks.find((n) => n.id === c.network);
    if (!net) throw new Error(`${c.id}: ${lowered.diagnostics.map((d) => d.message).join('; ') || 'no such network'}`);
    return net.plan;
  }
  const { plan, diagnostics } = lower(analyze(c.doc));
  if (!plan) throw new Error(`${c.id}: ${diagnostics.map((d) => d.message).join('; ')}`);
  return plan;
}

let tf: typeof tfType;
let root: string;
beforeAll(async () => {
  tf = await useCpuBackend();
  root = mkdtempSync(join(tmpdir(), 'patchbay-pytorch-'));
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/**
 * Writes a case folder: the export, tfjs weights (randomised, BatchNorm statistics included, so that
 * no layout mistake hides behind zeros and ones), inputs and tfjs's outputs.
 */
/** A seed from the case's id (FNV-1a), so that adding a case never changes another case's draws. */
function seedOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h % 1_000_000;
}

function prepare(c: Case, index: number): { folder: string; trainable: number; nonTrainable: number } {
  const plan = planOf(c);
  const exported = emitPytorch(plan, c.network ? undefined : c.doc.training);
  const folder = join(root, `case${index}`);
  mkdirSync(join(folder, 'tfjs'), { recursive: true });
  for (const [name, text] of Object.entries(exported.files)) writeFileSync(join(folder, name), text);
  const random = seededRandom(1000 + seedOf(c.id));
  const model = buildModel(plan, { seed: seedOf(c.id) });
  const specs: Array<{ name: string; shape: number[]; dtype: string }> = [];
  const chunks: Buffer[] = [];
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const values = w.read().dataSync() as Float32Array;
    const name = w.originalName;
    // Kernels keep their initialiser's values, except zero-initialised ones (the last layers of
    // couplings, residual and attention blocks, the UNet's output), which get small random ones so
    // that every weight shows in the outputs. A 1×1 conv's permutation and signs stay as built (in a
    // whole flow its L and U too: random ones compound into ill-conditioned products); ActNorm's flag
    // says "initialised" unless the case tests the initialisation.
    const zeros = values.every((v) => v === 0);
    const built = name.endsWith('/permutation') || name.endsWith('/sign_s') || (c.flow === true && (name.endsWith('/lower') || name.endsWith('/upper')));
    const next = Float32Array.from(values, (v) =>
      name.endsWith('moving_variance')
        ? 0.5 + random()
        : name.endsWith('/initialized')
          ? c.freshActNorm
            ? 0
            : 1
          : built
            ? v
            : name.endsWith('kernel') || name.endsWith('embeddings')
              ? zeros
                ? (random() - 0.5) * 0.1
                : v
              : random() - 0.5,
    );
    w.write(tf.tensor(next, shape));
    specs.push({ name: w.originalName, shape, dtype: 'float32' });
    chunks.push(Buffer.from(next.buffer, next.byteOffset, next.byteLength));
  }
  writeFileSync(join(folder, 'tfjs', 'weights.bin'), Buffer.concat(chunks));
  writeFileSync(
    join(folder, 'tfjs', 'model.json'),
    JSON.stringify({ format: 'layers-model', modelTopology: null, weightsManifest: [{ paths: ['./weights.bin'], weights: specs }] }),
  );
  const inputs = model.inputs.map((input, i) => {
    const shape = [2, ...(input.shape.slice(1) as number[])];
    const count = shape.reduce((a, b) => a * b, 1);
    if (input.dtype === 'int32') {
      const nodes = [...c.doc.nodes, ...c.doc.networks.flatMap((n) => n.nodes)];
      const max = Number((nodes.find((n) => n.type === 'Embedding')?.params.inputDim as number | undefined) ?? 10);
      const ids = Int32Array.from({ length: count }, () => Math.floor(random() * max));
      writeFileSync(join(folder, `input${i}.bin`), Buffer.from(ids.buffer));
      return tf.tensor(ids, shape, 'int32');
    }
    // Flows see what they are trained on: glow starts with a logit step, defined on (0, 1) only.
    const xs = Float32Array.from({ length: count }, () => (c.flow ? random() : random() * 2 - 1));
    writeFileSync(join(folder, `input${i}.bin`), Buffer.from(xs.buffer));
    return tf.tensor(xs, shape);
  });
  const raw = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
  const outputs = Array.isArray(raw) ? raw : [raw];
  outputs.forEach((o, i) => writeFileSync(join(folder, `output${i}.bin`), Buffer.from((o.dataSync() as Float32Array).buffer)));
  if (c.flow) {
    // What the flow programs train on: Σ log|det J| per example, by the layers' own forwardFlow.
    const { z, logdet } = flowForward(tf, model, inputs[0]!);
    writeFileSync(join(folder, 'logdet.bin'), Buffer.from((logdet.dataSync() as Float32Array).slice().buffer));
    tf.dispose([z, logdet]);
  }
  writeFileSync(
    join(folder, 'case.json'),
    JSON.stringify({
      id: c.id,
      inputs: model.inputs.map((input) => ({ shape: [2, ...input.shape.slice(1)], dtype: input.dtype })),
      outputs: outputs.map((o) => ({ shape: o.shape })),
      flow: c.flow === true,
    }),
  );
  tf.dispose([...inputs, ...outputs]);
  model.dispose();
  return { folder, trainable: plan.count.trainable, nonTrainable: plan.count.nonTrainable };
}

describe('every registered layer type is exported or refused by name', () => {
  it('GLOM levels, update and patches to image export (they were refused by name before their emitters)', () => {
    for (const type of ['GlomLevels', 'GlomUpdate', 'PatchesToImage']) expect(covered.has(factoryOf(type) ?? ''), type).toBe(true);
  });

  it.each(NODE_SPECS.filter((s) => !s.internal && s.examples.length > 0 && s.type !== 'Input' && s.type !== 'Output').map((s) => [s.type, s] as const))(
    '%s',
    (_type, spec) => {
      const example = spec.examples[0]!;
      const c = layerCase(spec.type, spec.type, example.params as Record<string, unknown>, example.inputs, spec.type === 'Embedding' ? 'int32' : 'float32');
      const { plan } = lower(analyze(c.doc));
      if (!plan) return; // an example that needs a context this one-layer graph lacks
      if (covered.has(factoryOf(spec.type) ?? '')) {
        expect(() => emitPytorch(plan, undefined)).not.toThrow();
        return;
      }
      try {
        emitPytorch(plan, undefined);
        throw new Error(`${spec.type} is not in the export's table but exported`);
      } catch (err) {
        expect(err).toBeInstanceOf(PytorchExportError);
        expect((err as PytorchExportError).message).toContain(`"the_${spec.type}"`);
        expect((err as PytorchExportError).nodeId).toBe('layer');
      }
    },
  );
});

describe('a program exports one folder per network', () => {
  it.each([
    ['clip', 'mnist', ['model', 'text']],
    ['capsnet', 'small', ['model', 'decoder']],
    ['realnvp', 'moons', ['model']],
    ['glow', 'mnist', ['model']],
    ['ddpm', 'mnist', ['model']],
    ['ddpm', 'cifar10', ['model']],
    ['sr3', 'mnist', ['model']],
    ['palette', 'mnist', ['model']],
    ['palette', 'colourise', ['model']],
    ['glom', 'small', ['model', 'update', 'decoder']],
  ])('%s --preset %s', (template, preset, ids) => {
    const { doc } = presetCase(template, preset);
    const lowered = lowerProgram(analyzeProgram(doc)!);
    const exported = pytorchFiles({ program: lowered.program!, name: doc.name });
    expect(exported.networks.map((n) => n.folder)).toEqual(ids.map((id) => `networks/${id}`));
    for (const net of exported.networks) {
      expect(exported.files[`${net.folder}/model.py`]).toContain('def create_model():');
      expect(exported.files[`${net.folder}/weights.py`]).toContain('def load_tfjs_weights(');
      expect(net.trainableParams).toBe(net.plan.count.trainable);
    }
  });
});

describe.skipIf(!hasTorch)('the DDPM CIFAR-10 UNet in PyTorch (python3-torch)', () => {
  it("builds with the paper's 35,746,307 parameters, every one in weights.py's table (no forward pass: too slow here)", () => {
    const { doc } = presetCase('ddpm', 'cifar10');
    const lowered = lowerProgram(analyzeProgram(doc)!);
    const exported = pytorchFiles({ program: lowered.program!, name: doc.name });
    const folder = join(root, 'ddpm-cifar10');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'model.py'), exported.files['networks/model/model.py']!);
    writeFileSync(join(folder, 'weights.py'), exported.files['networks/model/weights.py']!);
    const script = [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(folder)})`,
      'import numpy as np',
      'import torch',
      'import model, weights',
      'm = model.create_model()',
      'state = m.state_dict()',
      'trainable = sum(p.numel() for p in m.parameters() if p.requires_grad)',
      'table = sum(int(np.prod(shape)) for _, _, _, shape in weights.WEIGHTS)',
      'sizes_match = all(state[key].numel() == int(np.prod(shape)) for _, key, _, shape in weights.WEIGHTS)',
      'print(trainable, table, len(weights.WEIGHTS) == len(state), sizes_match)',
    ].join('\n');
    const out = execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }).trim();
    expect(exported.networks[0]!.trainableParams).toBe(35_746_307);
    expect(out).toBe('35746307 35746307 True True');
  }, 120_000);
});

describe.skipIf(!hasTorch)('PyTorch export matches tfjs (python3-torch)', () => {
  const all = [...exampleCases, ...edgeCases, glomGraphCase, ...blockCases, ...presetCases];
  let results: Map<string, Record<string, unknown>>;
  let expected: Map<string, { folder: string; trainable: number; nonTrainable: number }>;

  beforeAll(() => {
    expected = new Map();
    const folders = all.map((c, i) => {
      const prepared = prepare(c, i);
      expected.set(c.id, prepared);
      return prepared.folder;
    });
    // One Python process for every case: importing torch takes seconds.
    const output = execFileSync(PYTHON, [join(__dirname, 'pytorch', 'check_export.py'), ...folders], { encoding: 'utf8', maxBuffer: 64 << 20 });
    results = new Map(
      output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .map((r, i) => [all[i]!.id, r]),
    );
  }, 300_000);

  it.each(all.map((c) => [c.id]))('%s', (id) => {
    const r = results.get(id)!;
    if (process.env.SHOW_PYTORCH) console.log(JSON.stringify(r));
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.case).toBe(id);
    expect(r.trainable).toBe(expected.get(id)!.trainable);
    expect(r.buffers).toBe(expected.get(id)!.nonTrainable);
    // A flow's z grows through its steps under the comparison's random weights (glow's 12 couplings
    // after the logit reach |z| ≈ 600), and float32 error grows with it: there, 2e-6 of the largest |z|.
    const flow = all.find((c) => c.id === id)!.flow === true;
    const outputTolerance = flow ? Math.max(1e-5, 2e-6 * (r.largestOutput as number)) : 1e-5;
    expect(r.maxDiff as number).toBeLessThanOrEqual(outputTolerance);
    expect(r.roundTrip).toBe(true);
    expect(r.unused).toEqual([]);
    if (flow) {
      expect(r.flowDiff as number).toBeLessThanOrEqual(outputTolerance);
      expect(r.logdetRelDiff as number).toBeLessThanOrEqual(1e-5);
      expect(r.inverseRelDiff as number).toBeLessThanOrEqual(1e-6);
    }
  });

  /**
   * GLOM's iterations share their weights: the glom procedures apply the update network three times.
   * In PyTorch that is one GlomUpdate module called three times. With the tfjs weights of the glom
   * tiny networks (their cases above), columns → update ×3 → decoder in PyTorch gives tfjs's chain
   * (the levels after every iteration and the reconstruction), and the gradient of the reconstruction
   * loss with respect to the update's weights, which autograd sums over the three calls, is tfjs's.
   */
  it('GLOM tiny: one update module applied three times gives the chain of tfjs, outputs and gradients', () => {
    const networks = ['model', 'update', 'decoder'].map((n) => {
      const id = `glom --preset tiny, network ${n}`;
      const folder = expected.get(id)!.folder;
      return {
        folder,
        model: buildWithCaseWeights(
          all.find((c) => c.id === id)!,
          folder,
        ),
      };
    });
    const [columns, update, decoder] = networks.map((n) => n.model) as [tfType.LayersModel, tfType.LayersModel, tfType.LayersModel];
    const chain = join(root, 'glom-chain');
    mkdirSync(chain, { recursive: true });
    const random = seededRandom(31);
    const pixels = Float32Array.from({ length: 2 * 28 * 28 }, () => random());
    writeFileSync(join(chain, 'image.bin'), Buffer.from(pixels.buffer));
    const image = tf.tensor(pixels, [2, 28, 28, 1]);
    const weights = update.trainableWeights.map((w) => w.read() as tfType.Variable);
    const trail: tfType.Tensor[] = [];
    const { grads } = tf.variableGrads(() => {
      const [patches, start] = columns.apply(image) as tfType.Tensor[];
      let levels = start!;
      for (let i = 0; i < 3; i++) {
        levels = update.apply([levels, patches!]) as tfType.Tensor;
        trail.push(tf.keep(levels));
      }
      const reconstruction = decoder.apply(levels) as tfType.Tensor;
      trail.push(tf.keep(reconstruction));
      return tf.mean(tf.square(tf.sub(reconstruction, image))) as tfType.Scalar;
    }, weights);
    trail.forEach((t, i) => writeFileSync(join(chain, `trail${i}.bin`), Buffer.from((t.dataSync() as Float32Array).slice().buffer)));
    const gradients = weights.map((w) => grads[w.name]!.dataSync() as Float32Array);
    writeFileSync(join(chain, 'gradients.bin'), Buffer.concat(gradients.map((g) => Buffer.from(g.slice().buffer))));
    tf.dispose([image, ...trail, ...Object.values(grads)]);
    networks.forEach((n) => n.model.dispose());
    const out = execFileSync(
      PYTHON,
      [join(__dirname, 'pytorch', 'check_glom_chain.py'), chain, ...networks.map((n) => n.folder), ...trail.map((t) => JSON.stringify(t.shape))],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(out) as {
      trailDiffs: number[];
      gradientRelDiff: number;
      gradientLargest: number;
      updateModules: number;
      gradientValues: number;
      expectedValues: number;
    };
    if (process.env.SHOW_PYTORCH) console.log(JSON.stringify(r));
    expect(r.updateModules).toBe(1);
    expect(r.trailDiffs).toHaveLength(4);
    for (const d of r.trailDiffs) expect(d).toBeLessThanOrEqual(1e-5);
    expect(r.gradientValues).toBe(r.expectedValues);
    expect(r.gradientLargest).toBeGreaterThan(0);
    expect(r.gradientRelDiff).toBeLessThanOrEqual(1e-4);
  }, 120_000);
});

/** A case's tfjs model with the weights prepare() wrote into its folder (tfjs/model.json + weights.bin, in model.weights order). */
function buildWithCaseWeights(c: Case, folder: string): tfType.LayersModel {
  const model = buildModel(planOf(c), {});
  const manifest = JSON.parse(readFileSync(join(folder, 'tfjs', 'model.json'), 'utf8')) as {
    weightsManifest: Array<{ weights: Array<{ name: string; shape: number[] }> }>;
  };
  const specs = manifest.weightsManifest[0]!.weights;
  const data = readFileSync(join(folder, 'tfjs', 'weights.bin'));
  const values = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  let offset = 0;
  model.weights.forEach((w, i) => {
    const spec = specs[i]!;
    expect(spec.name).toBe(w.originalName);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    w.write(tf.tensor(values.slice(offset, offset + count), spec.shape));
    offset += count;
  });
  return model;
}

describe.skipIf(!hasTorch)('RandomTranslation in PyTorch (python3-torch)', () => {
  it('moves each training image by a whole-pixel offset within the limit, zeros moving in, and passes through in eval mode', () => {
    const script = [
      'import torch',
      'import torch.nn as nn',
      'import torch.nn.functional as F',
      HELPERS.RandomTranslation,
      'torch.manual_seed(0)',
      'm = RandomTranslation(2)',
      'x = torch.arange(8 * 3 * 5 * 6, dtype=torch.float32).view(8, 3, 5, 6) + 1',
      'y = m(x)',
      'found = []',
      'for i in range(8):',
      '    for dy in range(-2, 3):',
      '        for dx in range(-2, 3):',
      '            z = torch.zeros_like(x[i])',
      '            z[:, max(dy, 0):5 + min(dy, 0), max(dx, 0):6 + min(dx, 0)] = x[i, :, max(-dy, 0):5 - max(dy, 0), max(-dx, 0):6 - max(dx, 0)]',
      '            if torch.equal(z, y[i]): found.append((dy, dx))',
      'm.eval()',
      'print(len(found), len(set(found)) > 1, torch.equal(m(x), x))',
    ].join('\n');
    const out = execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }).trim();
    // Each of the 8 images is exactly one shift (the values are distinct), the shifts differ, eval is the identity.
    expect(out).toBe('8 True True');
  });
});
