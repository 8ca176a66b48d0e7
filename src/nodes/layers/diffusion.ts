import { z } from 'zod';
import { formatShape, requireRank } from '../shape';
import { defineSpec, NO_PARAMS, OUT, type Shape, type ShapeProblem } from '../spec';
import { ELEMENTWISE } from '../cost';

/**
 * The diffusion UNets' layers (DDPM, improved DDPM, ADM): the sinusoidal timestep embedding, the
 * residual block that takes it, self-attention over an image's positions, and the whole UNet with
 * its skip connections as one layer (its size is a handful of params, so the papers' models are
 * presets). Each lowers to a custom layer in src/runtime/layers; the counts here are the papers'
 * formulas and test/conformance.test.ts holds them to the weights tfjs builds.
 */

const groups = (fallback: number) =>
  z.number().int().min(1).default(fallback).describe('GroupNorm groups: the channels must be a multiple of it (32 in DDPM; 8 suits 16–64 channels).');

function channelsProblem(what: string, channels: number | null, by: number, param: string, port = 'in'): ShapeProblem | null {
  if (channels === null)
    return { code: 'PB305', port, message: `Received an unknown channel axis, expected a known size.`, help: 'Give the input fixed channels.' };
  if (channels % by === 0) return null;
  return {
    code: 'PB300',
    param,
    message: `Received ${channels} channels for ${by} ${what}, expected a channel count that is a multiple of ${by}.`,
    help: `Use a ${param} value that divides ${channels}, or change the channels before this layer.`,
  };
}

const timestepHelp = 'Wire the timestep: a network Input of shape [1] that the Diffuse procedure fills with t per example.';

export const TimestepEmbeddingSpec = defineSpec({
  type: 'TimestepEmbedding',
  version: 1,
  label: 'Timestep embedding',
  category: 'Core',
  aliases: ['sinusoidal embedding', 'time embedding', 'diffusion timestep', 'positional encoding'],
  description:
    'Turns a diffusion timestep t (one number per example) into sinusoids of geometrically spaced frequencies, cos(t·f_i) then sin(t·f_i), f_i = 10000^(−i/half), as the diffusion UNets do. No weights.',
  inputs: [{ name: 'in', minRank: 2, maxRank: 2 }],
  outputs: [OUT],
  params: z.object({
    dim: z.number().int().min(2).default(64).describe("Width of the embedding (DDPM uses the UNet's base channels)."),
    maxPeriod: z.number().positive().default(10000).describe('The longest period of the sinusoids.'),
  }),
  keyParams: ['dim'],
  infer(p, [t]) {
    if (t![1] !== 1)
      return { code: 'PB302', port: 'in', message: `Received ${formatShape(t!)}, expected one timestep per example, (batch, 1).`, help: timestepHelp };
    return [null, p.dim];
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayTimestepEmbedding', custom: true, config: { dim: p.dim, maxPeriod: p.maxPeriod } }),
  examples: [
    { params: { dim: 16 }, inputs: [[1]] },
    { params: { dim: 7, maxPeriod: 100 }, inputs: [[1]] },
  ],
});

/** Images and an embedding: the two inputs of the blocks that take a timestep. */
function imageAndEmbedding(x: Shape, emb: Shape): ShapeProblem | null {
  return (
    requireRank(x, 4, 4, 'The block takes images shaped (batch, height, width, channels).') ??
    requireRank(emb, 2, 2, 'Wire a timestep embedding (batch, features) into "emb".', 'emb')
  );
}

export const TimeResBlockSpec = defineSpec({
  type: 'TimeResBlock',
  version: 1,
  label: 'Residual block (timestep)',
  category: 'Convolution',
  aliases: ['resblock', 'resnet block', 'adagn', 'scale shift', 'film', 'diffusion block'],
  description:
    "The diffusion UNets' residual block: GN, swish, conv 3×3, the timestep embedding added (DDPM) or as a scale and shift after the second GN (ADM's AdaGN), swish, dropout, a zero-initialised conv 3×3, plus the input (a 1×1 projection when the channels change).",
  inputs: [
    { name: 'in', minRank: 4, maxRank: 4 },
    { name: 'emb', label: 'timestep embedding', minRank: 2, maxRank: 2 },
  ],
  outputs: [OUT],
  params: z.object({
    filters: z.number().int().positive().default(64).describe('Output channels.'),
    groups: groups(32),
    dropout: z.number().min(0).max(1).default(0).describe('Dropout before the second convolution while training.'),
    scaleShift: z.boolean().default(false).describe('ADM: the embedding scales and shifts the normalised activations, instead of being added (DDPM).'),
  }),
  keyParams: ['filters', 'scaleShift'],
  infer(p, [x, emb]) {
    const problem =
      imageAndEmbedding(x!, emb!) ?? channelsProblem('groups', x![3]!, p.groups, 'groups') ?? channelsProblem('groups', p.filters, p.groups, 'groups');
    return problem ?? [null, x![1]!, x![2]!, p.filters];
  },
  countParams(p, [x, emb]) {
    const [c, e, o] = [x![3] ?? 0, emb![1] ?? 0, p.filters];
    return { trainable: resBlockCount(c, o, e, p.scaleShift), nonTrainable: 0 };
  },
  cost: (p, [x, emb]) => ({ macs: known(x![1], x![2], x![3], emb![1]) ? resBlockMacs(x![1]! * x![2]!, x![3]!, p.filters, emb![1]!, p.scaleShift) : null }),
  lower: (p) => ({
    kind: 'layer',
    factory: 'PatchbayTimeResBlock',
    custom: true,
    config: { filters: p.filters, groups: p.groups, dropout: p.dropout, scaleShift: p.scaleShift },
  }),
  examples: [
    { params: { filters: 8, groups: 4 }, inputs: [[6, 6, 4], [12]] },
    { params: { filters: 8, groups: 2, scaleShift: true }, inputs: [[5, 4, 8], [6]] },
  ],
});

export const SpatialAttentionSpec = defineSpec({
  type: 'SpatialAttention',
  version: 1,
  label: 'Spatial self-attention',
  category: 'Core',
  aliases: ['attention block', 'attnblock', 'self-attention', 'non-local'],
  description:
    "Self-attention over an image's positions, added to the input: GN, q, k and v from one dense layer, softmax(q·kᵀ/√d)·v per head, a zero-initialised projection (DDPM's AttnBlock; the UNets place it at chosen resolutions).",
  inputs: [{ name: 'in', minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    heads: z.number().int().min(1).default(1).describe('Attention heads; the channels must be a multiple of it (DDPM: 1, improved DDPM: 4).'),
    groups: groups(32),
  }),
  keyParams: ['heads'],
  infer(p, [x]) {
    return channelsProblem('groups', x![3]!, p.groups, 'groups') ?? channelsProblem('heads', x![3]!, p.heads, 'heads') ?? x!;
  },
  countParams: (_p, [x]) => ({ trainable: attentionCount(x![3] ?? 0), nonTrainable: 0 }),
  // q, k, v and the projection per position, plus the scores and the weighted sum (n² × channels each).
  cost: (p, [x]) =>
    known(x![1], x![2], x![3])
      ? { macs: attentionMacs(x![1]! * x![2]!, x![3]!), activations: p.heads * (x![1]! * x![2]!) ** 2 + 5 * x![1]! * x![2]! * x![3]! }
      : { macs: null },
  lower: (p) => ({ kind: 'layer', factory: 'PatchbaySpatialAttention', custom: true, config: { heads: p.heads, groups: p.groups } }),
  examples: [
    { params: { groups: 4 }, inputs: [[4, 4, 8]] },
    { params: { groups: 2, heads: 2 }, inputs: [[3, 5, 4]] },
  ],
});

const UNetParams = z.object({
  channels: z.number().int().positive().default(32).describe("Channels of the first level (DDPM's ch); the timestep MLP is 4× as wide."),
  channelMult: z.array(z.number().int().positive()).min(1).default([1, 2, 2]).describe('Channel multiplier per level; the image halves between levels.'),
  resBlocks: z.number().int().min(1).default(1).describe('Residual blocks per level going down (one more going up).'),
  attentionResolutions: z.array(z.number().int().positive()).default([7]).describe('Image sizes (height) where self-attention follows each residual block.'),
  outChannels: z.number().int().positive().default(1).describe('Output channels: the image channels, for ε prediction.'),
  dropout: z.number().min(0).max(1).default(0).describe('Dropout in the residual blocks while training (DDPM CIFAR-10: 0.1).'),
  groups: groups(8),
  heads: z.number().int().min(1).default(1).describe('Attention heads (DDPM: 1).'),
  scaleShift: z.boolean().default(false).describe("ADM's AdaGN in every residual block instead of DDPM's added embedding."),
});
export type UNetParams = z.output<typeof UNetParams>;

export const UNetSpec = defineSpec({
  type: 'UNet',
  version: 1,
  label: 'UNet (diffusion)',
  category: 'Convolution',
  aliases: ['unet', 'u-net', 'ddpm', 'denoiser', 'epsilon model'],
  description:
    'The DDPM UNet: conv in; per level residual blocks with the timestep (and attention at the listed sizes), a stride-2 conv between levels; a middle of residual, attention, residual; the way up over the skip connections saved going down, nearest ×2 and conv between levels; GN, swish, conv out. Takes the noisy image and a timestep embedding.',
  inputs: [
    { name: 'in', minRank: 4, maxRank: 4 },
    { name: 'emb', label: 'timestep embedding', minRank: 2, maxRank: 2 },
  ],
  outputs: [OUT],
  params: UNetParams,
  keyParams: ['channels', 'channelMult', 'attentionResolutions'],
  infer(p, [x, emb]) {
    const problem = imageAndEmbedding(x!, emb!);
    if (problem) return problem;
    const [h, w] = [x![1]!, x![2]!];
    const factor = 2 ** (p.channelMult.length - 1);
    if (h === null || w === null || h % factor !== 0 || w % factor !== 0)
      return {
        code: 'PB300',
        param: 'channelMult',
        message: `Received ${formatShape(x!)}: ${p.channelMult.length} levels halve the image ${p.channelMult.length - 1} times, so height and width must be multiples of ${factor}.`,
        help: 'Use fewer levels (entries in channelMult) or pad the image.',
      };
    for (const c of new Set([p.channels, ...p.channelMult.map((m) => m * p.channels)])) {
      const bad = channelsProblem('groups', c, p.groups, 'groups') ?? (p.attentionResolutions.length ? channelsProblem('heads', c, p.heads, 'heads') : null);
      if (bad) return bad;
    }
    return [null, h, w, p.outChannels];
  },
  countParams: (p, [x, emb]) => ({ trainable: unetParamCount(p, x![3] ?? 0, emb![1] ?? 0, x![1] ?? 0), nonTrainable: 0 }),
  cost: (p, [x, emb]) => ({ macs: known(x![1], x![2], x![3], emb![1]) ? unetMacs(p, x![3]!, emb![1]!, x![1]!, x![2]!) : null }),
  lower: (p) => ({
    kind: 'layer',
    factory: 'PatchbayUNet',
    custom: true,
    config: {
      channels: p.channels,
      channelMult: p.channelMult,
      resBlocks: p.resBlocks,
      attentionResolutions: p.attentionResolutions,
      outChannels: p.outChannels,
      dropout: p.dropout,
      groups: p.groups,
      heads: p.heads,
      scaleShift: p.scaleShift,
    },
  }),
  examples: [
    { params: { channels: 8, channelMult: [1, 2], attentionResolutions: [4], groups: 4 }, inputs: [[8, 8, 1], [8]] },
    {
      params: { channels: 4, channelMult: [1, 1, 2], resBlocks: 2, attentionResolutions: [], groups: 2, scaleShift: true, outChannels: 3 },
      inputs: [[8, 4, 3], [6]],
    },
  ],
});

/** Weights of one residual block c → o with an embedding of width e (the DDPM count; ADM's scale-shift doubles the embedding's dense). */
export function resBlockCount(c: number, o: number, e: number, scaleShift: boolean): number {
  const k = scaleShift ? 2 : 1;
  return 2 * c + (9 * c * o + o) + (e * k * o + k * o) + 2 * o + (9 * o * o + o) + (c !== o ? c * o + o : 0);
}

/** Weights of an attention block over c channels: GN, q/k/v and the projection. */
export const attentionCount = (c: number): number => 2 * c + 4 * (c * c + c);

/** Trainable weights of the UNet (the sum papers.md gives for DDPM: 35,746,307 for CIFAR-10). */
export function unetParamCount(p: UNetParams, inChannels: number, embDim: number, height: number): number {
  const ch = p.channels;
  const temb = 4 * ch;
  let total = embDim * temb + temb + temb * temb + temb + (9 * inChannels * ch + ch);
  const skips = [ch];
  let c = ch;
  let size = height;
  const levels = p.channelMult.length;
  for (let level = 0; level < levels; level++) {
    const o = ch * p.channelMult[level]!;
    for (let b = 0; b < p.resBlocks; b++) {
      total += resBlockCount(c, o, temb, p.scaleShift);
      c = o;
      if (p.attentionResolutions.includes(size)) total += attentionCount(c);
      skips.push(c);
    }
    if (level !== levels - 1) {
      total += 9 * c * c + c;
      skips.push(c);
      size = Math.ceil(size / 2);
    }
  }
  total += 2 * resBlockCount(c, c, temb, p.scaleShift) + attentionCount(c);
  for (let level = levels - 1; level >= 0; level--) {
    const o = ch * p.channelMult[level]!;
    for (let b = 0; b < p.resBlocks + 1; b++) {
      total += resBlockCount(c + skips.pop()!, o, temb, p.scaleShift);
      c = o;
      if (p.attentionResolutions.includes(size)) total += attentionCount(c);
    }
    if (level !== 0) {
      total += 9 * c * c + c;
      size *= 2;
    }
  }
  return total + 2 * c + (9 * c * p.outChannels + p.outChannels);
}

const known = (...dims: Array<number | null | undefined>): boolean => dims.every((d) => typeof d === 'number');

/** Multiply–accumulates of a residual block over n positions: two 3×3 convs, the embedding's dense, the 1×1 shortcut. */
export function resBlockMacs(n: number, c: number, o: number, e: number, scaleShift: boolean): number {
  return n * 9 * c * o + e * (scaleShift ? 2 : 1) * o + n * 9 * o * o + (c !== o ? n * c * o : 0);
}

/** Multiply–accumulates of attention over n positions and c channels: q, k, v, scores, weighted sum, projection. */
export const attentionMacs = (n: number, c: number): number => n * c * 3 * c + 2 * n * n * c + n * c * c;

/** Multiply–accumulates of the UNet for one example, walking the same stages as unetParamCount. */
export function unetMacs(p: UNetParams, inChannels: number, embDim: number, height: number, width: number): number {
  const ch = p.channels;
  const temb = 4 * ch;
  let [h, w] = [height, width];
  let total = embDim * temb + temb * temb + h * w * 9 * inChannels * ch;
  const skips = [ch];
  let c = ch;
  const levels = p.channelMult.length;
  for (let level = 0; level < levels; level++) {
    const o = ch * p.channelMult[level]!;
    for (let b = 0; b < p.resBlocks; b++) {
      total += resBlockMacs(h * w, c, o, temb, p.scaleShift);
      c = o;
      if (p.attentionResolutions.includes(h)) total += attentionMacs(h * w, c);
      skips.push(c);
    }
    if (level !== levels - 1) {
      [h, w] = [Math.ceil(h / 2), Math.ceil(w / 2)];
      total += h * w * 9 * c * c;
      skips.push(c);
    }
  }
  total += 2 * resBlockMacs(h * w, c, c, temb, p.scaleShift) + attentionMacs(h * w, c);
  for (let level = levels - 1; level >= 0; level--) {
    const o = ch * p.channelMult[level]!;
    for (let b = 0; b < p.resBlocks + 1; b++) {
      total += resBlockMacs(h * w, c + skips.pop()!, o, temb, p.scaleShift);
      c = o;
      if (p.attentionResolutions.includes(h)) total += attentionMacs(h * w, c);
    }
    if (level !== 0) {
      [h, w] = [2 * h, 2 * w];
      total += h * w * 9 * c * c;
    }
  }
  return total + h * w * 9 * c * p.outChannels;
}
