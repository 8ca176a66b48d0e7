import { z } from 'zod';
import { ELEMENTWISE, perExample } from '../cost';
import { formatShape, lastDim } from '../shape';
import { defineSpec, IN, OUT, type Shape, type ShapeProblem } from '../spec';

/**
 * The flow steps (RealNVP, Glow): invertible layers whose log-determinant is known in closed form.
 * Each lowers to a custom layer (src/runtime/layers) that also has `forwardFlow(x) → { y, logdet }`
 * and `inverseFlow(y)` (a split also hands back and takes the half it factors out), so a network made only of them runs forward for the density and backward for
 * sampling from the same weights (src/runtime/program/flows.ts walks them).
 */

const known = (x: Shape, what: string): ShapeProblem | null =>
  x.slice(1).some((d) => d === null)
    ? {
        code: 'PB305',
        port: 'in',
        message: `Received ${formatShape(x)}, expected every axis but the batch to be known.`,
        help: `Give the ${what} a fixed input shape.`,
      }
    : null;

const vectorOrImage = (x: Shape, what: string): ShapeProblem | null =>
  x.length === 2 || x.length === 4
    ? known(x, what)
    : {
        code: 'PB301',
        port: 'in',
        message: `Received ${formatShape(x)} (rank ${x.length}), expected vectors (batch, features) or images (batch, height, width, channels).`,
        help: 'Flow steps work on vectors or on images.',
      };

/** Parameters of the vector conditioner MLPs (s and t): in → hidden × depth → out, each layer with a bias. */
function mlpParams(inputs: number, hidden: number, depth: number, outputs: number): number {
  return inputs * hidden + hidden + (depth - 1) * (hidden * hidden + hidden) + hidden * outputs + outputs;
}

export const AffineCouplingSpec = defineSpec({
  type: 'AffineCoupling',
  version: 1,
  label: 'Affine coupling',
  category: 'Core',
  aliases: ['coupling', 'realnvp', 'glow', 'flow'],
  description:
    'A flow step: keeps half of its input and moves the other half by a scale and a shift that a small network computes from the kept half (RealNVP, Glow). Invertible whatever that network is; log|det J| = Σ log(scale). Vectors split even/odd coordinates with MLPs s and t; images use a checkerboard or channel mask and a small conv net.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    parity: z.number().int().min(0).max(1).default(0).describe('Which half is kept: alternate 0 and 1 between couplings so that every value gets changed.'),
    mask: z
      .enum(['checkerboard', 'channel'])
      .default('checkerboard')
      .describe('Images: split by a checkerboard of pixels or by halves of the channels (vectors always split even/odd coordinates).'),
    hidden: z.number().int().min(1).default(24).describe("Width of the conditioner network's hidden layers (units for vectors, channels for images)."),
    depth: z.number().int().min(1).max(8).default(3).describe('Vectors: hidden layers of each of the MLPs s and t.'),
    scale: z
      .enum(['sigmoid', 'tanh'])
      .default('sigmoid')
      .describe(
        "Images: the scale from the conditioner's h, σ(h + 2) as Glow, or exp(tanh h), which stays in [1/e, e] so that sampling far in the tails cannot overflow.",
      ),
  }),
  keyParams: ['parity', 'hidden'],
  infer(p, [x]) {
    const problem = vectorOrImage(x!, 'coupling');
    if (problem) return problem;
    if (x!.length === 2 && (x![1] as number) < 2)
      return {
        code: 'PB301',
        port: 'in',
        message: `Received ${formatShape(x!)}, expected at least 2 features.`,
        help: 'A coupling needs two halves to split.',
      };
    if (x!.length === 4 && p.mask === 'channel' && (x![3] as number) < 2)
      return {
        code: 'PB300',
        param: 'mask',
        message: `Received ${formatShape(x!)}, expected at least 2 channels for a channel mask.`,
        help: 'Squeeze first, or use the checkerboard mask.',
      };
    return x!;
  },
  countParams(p, [x]) {
    if (x!.length === 2) {
      const d = x![1] as number;
      const kept = p.parity === 0 ? Math.ceil(d / 2) : Math.floor(d / 2);
      return { trainable: 2 * mlpParams(kept, p.hidden, p.depth, d - kept), nonTrainable: 0 };
    }
    const c = lastDim(x!) as number;
    return { trainable: 9 * c * p.hidden + p.hidden + p.hidden * p.hidden + p.hidden + 9 * p.hidden * 2 * c + 2 * c, nonTrainable: 0 };
  },
  cost(p, [x]) {
    if (x!.length === 2) {
      const d = x![1] as number;
      const kept = p.parity === 0 ? Math.ceil(d / 2) : Math.floor(d / 2);
      // s and t: kept → hidden → … → hidden → the moved half; kept for the backward pass: their hidden layers and the output.
      const mlp = kept * p.hidden + (p.depth - 1) * p.hidden * p.hidden + p.hidden * (d - kept);
      return { macs: 2 * mlp, activations: 2 * p.depth * p.hidden + d };
    }
    const positions = perExample(x!.slice(0, 3)) ?? 0;
    const c = lastDim(x!) as number;
    // The conditioner at every position: 3×3 c → hidden, 1×1 hidden → hidden, 3×3 hidden → 2c (shift and scale).
    return { macs: positions * (9 * c * p.hidden + p.hidden * p.hidden + 9 * p.hidden * 2 * c), activations: positions * (2 * p.hidden + 2 * c + c) };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'PatchbayAffineCoupling',
    custom: true,
    config: { parity: p.parity, mask: p.mask, hidden: p.hidden, depth: p.depth, scale: p.scale },
  }),
  examples: [
    { params: { parity: 0, hidden: 24, depth: 3 }, inputs: [[2]] },
    { params: { parity: 1, hidden: 8, depth: 2 }, inputs: [[5]] },
    { params: { parity: 0, hidden: 8, mask: 'checkerboard' }, inputs: [[4, 4, 2]] },
    { params: { parity: 1, hidden: 8, mask: 'channel' }, inputs: [[2, 2, 4]] },
    { params: { parity: 0, hidden: 8, mask: 'channel', scale: 'tanh' }, inputs: [[2, 2, 4]] },
  ],
});

export const ActNormSpec = defineSpec({
  type: 'ActNorm',
  version: 1,
  label: 'ActNorm',
  category: 'Normalization',
  aliases: ['actnorm', 'activation normalization', 'flow'],
  description:
    'A flow step (Glow): y = (x + b)·exp(log s) per channel, with b and s set from the first training batch so that it comes out with zero mean and unit variance, then trained. log|det J| = positions × Σ log s.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => vectorOrImage(x!, 'ActNorm') ?? x!,
  countParams: (_p, [x]) => ({ trainable: 2 * ((lastDim(x!) as number) ?? 0), nonTrainable: 1 }),
  cost: ELEMENTWISE,
  lower: () => ({ kind: 'layer', factory: 'PatchbayActNorm', custom: true, config: {} }),
  examples: [
    { params: {}, inputs: [[2]] },
    { params: {}, inputs: [[4, 4, 3]] },
  ],
});

export const InvertibleConv1x1Spec = defineSpec({
  type: 'InvertibleConv1x1',
  version: 1,
  label: 'Invertible 1×1 conv',
  category: 'Convolution',
  aliases: ['invconv', '1x1 conv', 'glow', 'flow'],
  description:
    'A flow step (Glow): multiplies every position’s channels by one learned invertible matrix W = P·L·(U + diag(s)) kept in LU form, so log|det J| = positions × Σ log|s| and the inverse is exact. Starts as a random rotation.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => vectorOrImage(x!, '1×1 convolution') ?? x!,
  countParams: (_p, [x]) => {
    const c = (lastDim(x!) as number) ?? 0;
    // L and U are stored as full matrices (masks keep them triangular); P and sign(s) are fixed.
    return { trainable: 2 * c * c + c, nonTrainable: c * c + c };
  },
  // Every position's channels times one c × c matrix.
  cost: (_p, [x]) => ({ macs: (perExample(x!.slice(0, -1).concat([1])) ?? 0) * ((lastDim(x!) as number) ?? 0) ** 2 }),
  lower: () => ({ kind: 'layer', factory: 'PatchbayInvertibleConv1x1', custom: true, config: {} }),
  examples: [
    { params: {}, inputs: [[2]] },
    { params: {}, inputs: [[3, 3, 4]] },
  ],
});

export const FlowSqueezeSpec = defineSpec({
  type: 'Squeeze',
  version: 1,
  label: 'Squeeze',
  category: 'Reshaping',
  aliases: ['space to depth', 'flow'],
  description: 'A flow step (RealNVP): every 2×2 patch of C channels becomes one pixel of 4C channels. A permutation: log|det J| = 0.',
  inputs: [IN],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer(_p, [x]) {
    if (x!.length !== 4)
      return {
        code: 'PB301',
        port: 'in',
        message: `Received ${formatShape(x!)} (rank ${x!.length}), expected images (batch, height, width, channels).`,
        help: 'Squeeze works on images.',
      };
    const problem = known(x!, 'squeeze');
    if (problem) return problem;
    const [, h, w, c] = x as [null, number, number, number];
    if (h % 2 || w % 2)
      return {
        code: 'PB301',
        port: 'in',
        message: `Received ${formatShape(x!)}, expected an even height and width.`,
        help: 'Pad or crop the image to an even size first.',
      };
    return [null, h / 2, w / 2, 4 * c];
  },
  countParams: () => ({ trainable: 0, nonTrainable: 0 }),
  // A rearrangement (reshape and transpose): no multiply–accumulates, a new tensor.
  cost: ELEMENTWISE,
  lower: () => ({ kind: 'layer', factory: 'PatchbayFlowSqueeze', custom: true, config: {} }),
  examples: [{ params: {}, inputs: [[4, 4, 1]] }],
});

export const FlowSplitSpec = defineSpec({
  type: 'FlowSplit',
  version: 1,
  label: 'Split (factor out)',
  category: 'Reshaping',
  aliases: ['factor out', 'multi-scale', 'split2d', 'glow', 'flow'],
  description:
    "A flow step (Glow's multi-scale architecture): keeps the first half of the channels and factors out the rest, which a Gaussian models whose mean and log-scale a zero-initialised 3×3 conv of the kept half gives. Adds the factored half's log-likelihood to log|det J|; sampling draws it from that prior (at a temperature).",
  inputs: [IN],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer(_p, [x]) {
    if (x!.length !== 4)
      return {
        code: 'PB301',
        port: 'in',
        message: `Received ${formatShape(x!)} (rank ${x!.length}), expected images (batch, height, width, channels).`,
        help: 'A split factors out channels of images: put it after a squeeze.',
      };
    const problem = known(x!, 'split');
    if (problem) return problem;
    const [, h, w, c] = x as [null, number, number, number];
    if (c < 2)
      return {
        code: 'PB301',
        port: 'in',
        message: `Received ${formatShape(x!)}, expected at least 2 channels.`,
        help: 'Squeeze first: a split keeps half of the channels and factors out the other half.',
      };
    return [null, h, w, Math.floor(c / 2)];
  },
  countParams(_p, [x]) {
    const c = lastDim(x!) as number;
    const kept = Math.floor(c / 2);
    const factored = c - kept;
    // The prior's 3×3 conv (kept → mean and log-scale of the factored half), its bias and its output log-scale.
    return { trainable: 9 * kept * 2 * factored + 2 * factored + 2 * factored, nonTrainable: 0 };
  },
  cost(_p, [x]) {
    const positions = perExample(x!.slice(0, 3)) ?? 0;
    const c = lastDim(x!) as number;
    const kept = Math.floor(c / 2);
    return { macs: positions * 9 * kept * 2 * (c - kept), activations: positions * (2 * (c - kept) + kept) };
  },
  lower: () => ({ kind: 'layer', factory: 'PatchbayFlowSplit', custom: true, config: {} }),
  examples: [
    { params: {}, inputs: [[4, 4, 4]] },
    { params: {}, inputs: [[2, 2, 3]] },
  ],
});

export const FlowPriorSpec = defineSpec({
  type: 'FlowPrior',
  version: 1,
  label: 'Learned prior',
  category: 'Normalization',
  aliases: ['learntop', 'prior', 'glow', 'flow'],
  description:
    "The last flow step (Glow's learned top prior): models the flow's output by a Gaussian with a learned mean and log-scale per channel (started at the standard normal), written as z = (h − mean)·exp(−log scale) so that z is standard normal. log|det J| = −positions × Σ log scale.",
  inputs: [IN],
  outputs: [OUT],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => vectorOrImage(x!, 'learned prior') ?? x!,
  countParams: (_p, [x]) => ({ trainable: 2 * ((lastDim(x!) as number) ?? 0), nonTrainable: 0 }),
  cost: ELEMENTWISE,
  lower: () => ({ kind: 'layer', factory: 'PatchbayFlowPrior', custom: true, config: {} }),
  examples: [
    { params: {}, inputs: [[2]] },
    { params: {}, inputs: [[3, 3, 4]] },
  ],
});

export const FlowLogitSpec = defineSpec({
  type: 'FlowLogit',
  version: 1,
  label: 'Logit',
  category: 'Normalization',
  aliases: ['logit', 'preprocessing', 'realnvp', 'glow', 'flow'],
  description:
    "A flow step for pixels (RealNVP's preprocessing), first in the flow: dequantised values x in [0, 1) become logit(α + (1 − 2α)·x), so the flow models values on the whole real line rather than a box with most of its mass in a thin slab at 0 (the background). Exact: log|det J| = Σ [log(1 − 2α) − log p − log(1 − p)], p = α + (1 − 2α)·x; the inverse is (σ(y) − α) / (1 − 2α).",
  inputs: [IN],
  outputs: [OUT],
  params: z.object({
    alpha: z
      .number()
      .gt(0)
      .lt(0.5)
      .default(1e-6)
      .describe('x is moved into [α, 1 − α] first, so that 0 and 1 stay finite (RealNVP: 0.05; small values keep the background sharp).'),
  }),
  keyParams: ['alpha'],
  infer: (_p, [x]) => vectorOrImage(x!, 'logit step') ?? x!,
  countParams: () => ({ trainable: 0, nonTrainable: 0 }),
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayFlowLogit', custom: true, config: { alpha: p.alpha } }),
  examples: [
    { params: { alpha: 1e-6 }, inputs: [[2]] },
    { params: { alpha: 0.05 }, inputs: [[4, 4, 1]] },
  ],
});

/** The node types a flow network is made of: a network of only these (between Input and Output) is a flow. */
export const FLOW_LAYER_TYPES: ReadonlySet<string> = new Set([
  AffineCouplingSpec.type,
  ActNormSpec.type,
  InvertibleConv1x1Spec.type,
  FlowSqueezeSpec.type,
  FlowSplitSpec.type,
  FlowPriorSpec.type,
  FlowLogitSpec.type,
]);
