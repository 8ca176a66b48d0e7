import { z } from 'zod';
import type { Dim, Shape, ShapeProblem } from './spec';

/** `[null, 28, 28, 1]` → `(None, 28, 28, 1)`, as Keras prints shapes. */
export function formatShape(shape: readonly Dim[]): string {
  return `(${shape.map((d) => (d === null ? 'None' : String(d))).join(', ')}${shape.length === 1 ? ',' : ''})`;
}

export function rankProblem(received: Shape, expected: string, help: string, port = 'in'): ShapeProblem {
  return {
    code: 'PB301',
    port,
    message: `Received an input of shape ${formatShape(received)} (rank ${received.length}), expected ${expected}.`,
    help,
  };
}

export function requireRank(shape: Shape, min: number, max: number, help: string, port = 'in'): ShapeProblem | null {
  if (shape.length >= min && shape.length <= max) return null;
  const expected = min === max ? `rank ${min}` : max === Infinity ? `rank ${min} or more` : `rank ${min} to ${max}`;
  return rankProblem(shape, expected, help, port);
}

export const lastDim = (shape: Shape): Dim => shape[shape.length - 1] ?? null;

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A pair param that may also be written as one number, as Keras accepts `kernelSize: 3`. */
export const pairValue = (min = 1) => z.union([z.number().int().min(min), z.tuple([z.number().int().min(min), z.number().int().min(min)])]);

/** A pair param with its default; the description goes last because zod wrappers drop it. */
export const pair = (description: string, fallback: number | [number, number], min = 1) => pairValue(min).default(fallback).describe(description);

export const asPair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export const padding = z
  .enum(['valid', 'same'])
  .default('valid')
  .describe('"valid": no padding, the output shrinks. "same": pad so that stride 1 keeps the size.');

/**
 * Output length of a sliding window, with Keras's rules (tfjs `convOutputLength`).
 * Returns null for an unknown input size.
 */
export function windowOutput(size: Dim, kernel: number, stride: number, pad: 'valid' | 'same', dilation = 1): Dim {
  if (size === null) return null;
  const effective = (kernel - 1) * dilation + 1;
  return pad === 'same' ? Math.ceil(size / stride) : Math.ceil((size - effective + 1) / stride);
}

/** Checks a 2-D window against an NHWC input; returns the spatial output or a problem. */
export function window2d(
  input: Shape,
  kernel: [number, number],
  strides: [number, number],
  pad: 'valid' | 'same',
  dilation: [number, number] = [1, 1],
  kernelParam = 'kernelSize',
): [Dim, Dim] | ShapeProblem {
  const out: Dim[] = [];
  for (let axis = 0; axis < 2; axis++) {
    const size = input[axis + 1] ?? null;
    const effective = (kernel[axis]! - 1) * dilation[axis]! + 1;
    if (pad === 'valid' && size !== null && effective > size) {
      return {
        code: 'PB303',
        param: kernelParam,
        message: `Received a ${kernel[0]}×${kernel[1]} window${dilation[axis]! > 1 ? ` (dilated to ${effective})` : ''} on an input of spatial size ${input[1]}×${input[2]}, expected a window no larger than the input with "valid" padding.`,
        help: `Use a ${kernelParam} of at most ${size}, or set padding to "same".`,
      };
    }
    out.push(windowOutput(size, kernel[axis]!, strides[axis]!, pad, dilation[axis]!));
  }
  return [out[0]!, out[1]!];
}

export const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'gelu',
  'gelu_new',
  'swish',
  'mish',
  'sigmoid',
  'hardSigmoid',
  'tanh',
  'softmax',
  'softplus',
  'softsign',
  'elu',
  'selu',
] as const;
export const activation = (fallback: (typeof ACTIVATIONS)[number] = 'linear') =>
  z
    .enum(ACTIVATIONS)
    .default(fallback)
    .describe('Activation applied to the output. "swish" is SiLU; "gelu" is the exact erf form, "gelu_new" the tanh approximation.');

export const initializer = (fallback: string) =>
  z
    .enum([
      'glorotUniform',
      'glorotNormal',
      'heNormal',
      'heUniform',
      'leCunNormal',
      'leCunUniform',
      'zeros',
      'ones',
      'randomNormal',
      'randomUniform',
      'truncatedNormal',
    ])
    .default(fallback as 'glorotNormal')
    .describe('How the weights start before training (tfjs defaults to glorotNormal).');
