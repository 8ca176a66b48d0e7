import { z } from 'zod';
import { formatShape, requireRank, window2d } from '../shape';
import { ELEMENTWISE, perExample, times } from '../cost';
import { defineSpec, IN, NO_PARAMS, OUT, type Shape, type ShapeProblem } from '../spec';

/**
 * Capsule layers (Sabour, Frosst & Hinton, 2017, "Dynamic routing between capsules"): vectors whose
 * length is the probability that an entity is present and whose direction is its pose. Each lowers
 * to a custom layer in src/runtime/layers (primary-capsules, squash, digit-capsules, capsule-length).
 */

const epsilon = z.number().positive().default(1e-7).describe('Added to ‖s‖² under the square root, so that a zero vector keeps a finite gradient.');

const unknownAxis = (x: Shape, what: string): ShapeProblem => ({
  code: 'PB305',
  port: 'in',
  message: `Received ${formatShape(x)} with an unknown ${what}, expected known sizes.`,
  help: 'Give the input fixed sizes (every axis but the batch).',
});

export const PrimaryCapsulesSpec = defineSpec({
  type: 'PrimaryCapsules',
  version: 1,
  label: 'PrimaryCapsules',
  category: 'Convolution',
  aliases: ['capsules', 'capsnet', 'primary caps'],
  description:
    'A convolution with capsules × capsuleDim filters whose output is read as capsules of capsuleDim values at every position, each squashed so its length lies in [0, 1) (CapsNet).',
  inputs: [{ ...IN, minRank: 4, maxRank: 4 }],
  outputs: [OUT],
  params: z.object({
    capsules: z.number().int().positive().default(32).describe('Capsule types per position (32 in the paper).'),
    capsuleDim: z.number().int().positive().default(8).describe('Values per capsule (8 in the paper).'),
    kernelSize: z.number().int().positive().default(9).describe('Square window of the convolution (9 in the paper).'),
    strides: z.number().int().positive().default(2).describe('Step of the convolution (2 in the paper).'),
    padding: z.enum(['valid', 'same']).default('valid').describe('"valid": no padding (the paper). "same": pad so that stride 1 keeps the size.'),
    epsilon,
  }),
  keyParams: ['capsules', 'capsuleDim', 'kernelSize', 'strides'],
  infer(p, [x]) {
    const problem = requireRank(x!, 4, 4, 'PrimaryCapsules takes images shaped (batch, height, width, channels), such as the output of a Conv2D.');
    if (problem) return problem;
    const hw = window2d(x!, [p.kernelSize, p.kernelSize], [p.strides, p.strides], p.padding);
    if (!Array.isArray(hw)) return hw;
    if (hw[0] === null || hw[1] === null || x![3] === null) return unknownAxis(x!, 'size');
    return [x![0]!, hw[0] * hw[1] * p.capsules, p.capsuleDim];
  },
  countParams(p, [x]) {
    const filters = p.capsules * p.capsuleDim;
    return { trainable: p.kernelSize * p.kernelSize * (x![3] ?? 0) * filters + filters, nonTrainable: 0 };
  },
  cost(p, [x], out) {
    // The convolution: one k·k·channels dot product per output value (the squash is element-wise).
    return { macs: times(perExample(out), p.kernelSize * p.kernelSize * (x![3] ?? 0) || null) };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'PatchbayPrimaryCapsules',
    custom: true,
    config: { capsules: p.capsules, capsuleDim: p.capsuleDim, kernelSize: p.kernelSize, strides: p.strides, padding: p.padding, epsilon: p.epsilon },
  }),
  examples: [
    { params: { capsules: 4, capsuleDim: 8, kernelSize: 9, strides: 2 }, inputs: [[20, 20, 6]] },
    { params: { capsules: 2, capsuleDim: 4, kernelSize: 3, strides: 1, padding: 'same' }, inputs: [[5, 5, 3]] },
  ],
});

const capsulesIn = (x: Shape): ShapeProblem | null =>
  requireRank(x, 3, 3, 'Capsules are shaped (batch, capsules, dim): wire PrimaryCapsules or DigitCapsules, or Reshape to that.') ??
  (x[1] === null || x[2] === null ? unknownAxis(x, 'capsule count or dimension') : null);

export const SquashSpec = defineSpec({
  type: 'Squash',
  version: 1,
  label: 'Squash',
  category: 'Core',
  aliases: ['capsule', 'squash'],
  description: 'v = ‖s‖²/(1 + ‖s‖²) · s/‖s‖ along the last axis: keeps each vector’s direction and maps its length into [0, 1) (CapsNet eq. 1).',
  inputs: [{ ...IN, minRank: 2 }],
  outputs: [OUT],
  params: z.object({ epsilon }),
  keyParams: [],
  infer(_p, [x]) {
    return requireRank(x!, 2, Infinity, 'Squash acts on vectors along the last axis: give it (batch, …, dim).') ?? x!;
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbaySquash', custom: true, config: { epsilon: p.epsilon } }),
  examples: [
    { params: {}, inputs: [[6, 8]] },
    { params: { epsilon: 1e-9 }, inputs: [[5]] },
  ],
});

export const DigitCapsulesSpec = defineSpec({
  type: 'DigitCapsules',
  version: 1,
  label: 'DigitCapsules',
  category: 'Core',
  aliases: ['dynamic routing', 'routing by agreement', 'capsules', 'digitcaps'],
  description:
    'Capsules routed by agreement: every input capsule predicts every output capsule through its own matrix, and a few routing iterations send each input mostly to the outputs that agree with its prediction (CapsNet procedure 1).',
  inputs: [{ ...IN, minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({
    capsules: z.number().int().positive().default(10).describe('Output capsules (10 for MNIST: one per digit class).'),
    capsuleDim: z.number().int().positive().default(16).describe('Values per output capsule (16 in the paper).'),
    routings: z.number().int().min(1).max(10).default(3).describe('Routing iterations (3 in the paper; 1 is a plain average of the predictions).'),
    weightStddev: z.number().positive().default(0.05).describe('Standard deviation of the normal draw the transform matrices start from.'),
    epsilon,
  }),
  keyParams: ['capsules', 'capsuleDim', 'routings'],
  infer(p, [x]) {
    return capsulesIn(x!) ?? [x![0]!, p.capsules, p.capsuleDim];
  },
  countParams(p, [x]) {
    // One capsuleDim × inDim matrix per (input capsule, output capsule) pair; no biases.
    return { trainable: (x![1] ?? 0) * p.capsules * p.capsuleDim * (x![2] ?? 0), nonTrainable: 0 };
  },
  cost(p, [x], out) {
    const [inCapsules, inDim] = [x![1] ?? null, x![2] ?? null];
    const pairs = times(inCapsules, p.capsules * p.capsuleDim);
    // û = W·u (I·J·D·d), then per iteration s = Σ c·û (I·J·D) and, except after the last, the agreements û·v (I·J·D).
    const macs = times(pairs, inDim === null ? null : inDim + p.routings + (p.routings - 1));
    // Kept for the backward pass: û, the coupling coefficients of every iteration, and the output.
    const kept = pairs === null || inCapsules === null ? null : pairs + p.routings * inCapsules * p.capsules + (perExample(out) ?? 0);
    return { macs, activations: kept };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'PatchbayDigitCapsules',
    custom: true,
    config: { capsules: p.capsules, capsuleDim: p.capsuleDim, routings: p.routings, weightStddev: p.weightStddev, epsilon: p.epsilon },
  }),
  examples: [
    { params: { capsules: 3, capsuleDim: 4, routings: 3 }, inputs: [[12, 8]] },
    { params: { capsules: 10, capsuleDim: 16, routings: 1 }, inputs: [[6, 4]] },
  ],
});

export const CapsuleLengthSpec = defineSpec({
  type: 'CapsuleLength',
  version: 1,
  label: 'CapsuleLength',
  category: 'Core',
  aliases: ['capsule length', 'norm', 'length'],
  description: 'The length of each capsule, (batch, capsules, dim) → (batch, capsules): the probability that its entity is present; the class is the longest.',
  inputs: [{ ...IN, minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({ epsilon }),
  keyParams: [],
  infer(_p, [x]) {
    return capsulesIn(x!) ?? [x![0]!, x![1]!];
  },
  countParams: () => NO_PARAMS,
  cost: ELEMENTWISE,
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayCapsuleLength', custom: true, config: { epsilon: p.epsilon } }),
  examples: [{ params: {}, inputs: [[10, 16]] }],
});
