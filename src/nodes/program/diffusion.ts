import { z } from 'zod';
import { formatShape } from '../shape';
import type { Shape, ShapeProblem } from '../spec';
import type { ProgramNodeSpec } from './specs';

/**
 * The procedure nodes of denoising diffusion (Ho et al. 2020; Nichol & Dhariwal 2021): draw a
 * timestep and Gaussian noise per example, and make x_t from x_0 by the forward process
 * q(x_t | x_0) of a schedule; with the network's prediction of the noise and Mean squared error
 * this is DDPM's L_simple. runtime/program/diffusion.ts runs them (and the schedules live there).
 */
const define = <S extends z.ZodObject>(spec: ProgramNodeSpec<S>): ProgramNodeSpec<S> => spec;
const problem = (message: string, help: string, port: string): ShapeProblem => ({ code: 'PB301', message, help, port });
const both = ['train', 'evaluate'] as const;

export const timestepsParam = z.number().int().min(1).max(100_000).default(1000).describe('T: how many noise levels the schedule has.');
export const scheduleParam = z
  .enum(['linear', 'cosine'])
  .default('cosine')
  .describe("linear: DDPM's β from 1e-4 to 0.02 (×1000/T); cosine: improved DDPM's ᾱ = cos² curve, gentler at both ends.");

const batchOf = (x: Shape, port: string): ShapeProblem | null =>
  x.length >= 2 ? null : problem(`Received ${formatShape(x)}, expected a batch (rank 2 or more).`, 'Wire the image port of Data.', port);

export const DiffusionTimestepSpec = define({
  type: 'DiffusionTimestep',
  label: 'Random timestep',
  category: 'Tensors',
  kind: 'op',
  procedures: both,
  description: 'A timestep t per example, uniform over 0 … T−1 (seeded by run, step and node), as a column (batch, 1) to feed the network and Diffuse.',
  inputs: [{ name: 'in', label: 'batch' }],
  outputs: [{ name: 'out' }],
  params: z.object({ timesteps: timestepsParam }),
  keyParams: ['timesteps'],
  infer: (_p, [x]) => batchOf(x!, 'in') ?? { out: [null, 1] },
});

export const DiffusionNoiseSpec = define({
  type: 'DiffusionNoise',
  label: 'Gaussian noise ε',
  category: 'Tensors',
  kind: 'op',
  procedures: both,
  description: "Standard normal noise ε of the input's shape, fresh every step (seeded): what Diffuse adds and what the network learns to predict.",
  inputs: [{ name: 'in', label: 'like' }],
  outputs: [{ name: 'out' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => ({ out: x! }),
});

export const DiffuseSpec = define({
  type: 'Diffuse',
  label: 'Diffuse q(x_t | x₀)',
  category: 'Tensors',
  kind: 'op',
  procedures: both,
  description: 'The forward process: x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, each example at its own timestep. Give it the same T as the Random timestep node.',
  inputs: [
    { name: 'x0', label: 'x₀' },
    { name: 'noise', label: 'ε' },
    { name: 't', label: 't' },
  ],
  outputs: [{ name: 'out' }],
  params: z.object({ schedule: scheduleParam, timesteps: timestepsParam }),
  keyParams: ['schedule', 'timesteps'],
  infer: (_p, [x0, noise, t]) => {
    const sameShape = x0!.length === noise!.length && x0!.every((d, i) => d === noise![i]);
    if (!sameShape)
      return problem(
        `Received ${formatShape(x0!)} for x₀ and ${formatShape(noise!)} for ε, expected the same shape.`,
        'Make ε from x₀ with Gaussian noise ε.',
        'noise',
      );
    if (t!.length !== 2 || t![1] !== 1)
      return problem(`Received ${formatShape(t!)} for t, expected one timestep per example, (batch, 1).`, 'Wire a Random timestep node into t.', 't');
    return { out: x0! };
  },
});

/**
 * What the denoiser learns to predict, as a choice on the canvas: the loss compares the network's
 * output with this node's. The samplers read the choice from it (runtime/program/denoiser.ts), so a
 * preset can switch a template between ε and x₀ without rewiring it.
 */
export const DiffusionTargetSpec = define({
  type: 'DiffusionTarget',
  label: 'Prediction target',
  category: 'Tensors',
  kind: 'op',
  procedures: both,
  description:
    'What the denoiser predicts: the noise ε (DDPM), or the clean image x₀ (which a small network trained briefly gets right far sooner: its ε errors are multiplied by √((1 − ᾱ)/ᾱ) in x̂₀). Wire its output into the loss against the network.',
  inputs: [
    { name: 'x0', label: 'x₀' },
    { name: 'noise', label: 'ε' },
  ],
  outputs: [{ name: 'out' }],
  params: z.object({ predict: z.enum(['epsilon', 'x0']).default('epsilon').describe('ε (the noise) or x₀ (the clean image).') }),
  keyParams: ['predict'],
  infer: (_p, [x0, noise]) => {
    const sameShape = x0!.length === noise!.length && x0!.every((d, i) => d === noise![i]);
    if (!sameShape)
      return problem(
        `Received ${formatShape(x0!)} for x₀ and ${formatShape(noise!)} for ε, expected the same shape.`,
        'Wire the x₀ and ε that Diffuse takes.',
        'noise',
      );
    return { out: x0! };
  },
});

export const ScaleShiftSpec = define({
  type: 'ScaleShift',
  label: 'Scale and shift',
  category: 'Tensors',
  kind: 'op',
  procedures: both,
  description: 'x·scale + shift: e.g. pixels from [0, 1] to the [−1, 1] diffusion models work in (scale 2, shift −1).',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({
    scale: z.number().default(2).describe('Multiplies every value.'),
    shift: z.number().default(-1).describe('Then added to every value.'),
  }),
  keyParams: ['scale', 'shift'],
  infer: (_p, [x]) => ({ out: x! }),
});

export const HybridLossSpec = define({
  type: 'DiffusionHybridLoss',
  label: 'Hybrid loss (improved DDPM)',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description:
    "Improved DDPM's L_simple + λ·L_vlb (λ = 0.001 as T/1000 on the per-step bound): the network outputs ε̂ and v (twice the image's channels); the bound trains only the variance, log Σ = frac·log β + (1 − frac)·log β̃ with frac = (v + 1)/2, the mean's gradient stopped.",
  inputs: [
    { name: 'output', label: 'ε̂ and v' },
    { name: 'noise', label: 'ε' },
    { name: 'x0', label: 'x₀' },
    { name: 'xt', label: 'x_t' },
    { name: 't', label: 't' },
  ],
  outputs: [{ name: 'loss' }],
  params: z.object({ schedule: scheduleParam, timesteps: timestepsParam }),
  keyParams: ['schedule', 'timesteps'],
  infer: (_p, [output, noise, x0, xt, t]) => {
    const same = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);
    if (!same(noise!, x0!) || !same(xt!, x0!))
      return problem(
        `Received ${formatShape(noise!)}, ${formatShape(x0!)} and ${formatShape(xt!)} for ε, x₀ and x_t, expected one shape.`,
        'Wire the Gaussian noise, the scaled image and Diffuse.',
        'noise',
      );
    const c = x0![x0!.length - 1];
    const o = output!;
    if (o.length !== x0!.length || o[o.length - 1] !== (c === null || c === undefined ? null : 2 * c) || !o.slice(1, -1).every((d, i) => d === x0![i + 1]))
      return problem(
        `Received ${formatShape(o)} for the network output, expected ${formatShape([...x0!.slice(0, -1), c == null ? null : 2 * c])}: ε̂ and v, twice the image's channels.`,
        "Give the network's last layer twice the image's channels.",
        'output',
      );
    if (t!.length !== 2 || t![1] !== 1)
      return problem(`Received ${formatShape(t!)} for t, expected one timestep per example, (batch, 1).`, 'Wire a Random timestep node into t.', 't');
    return { loss: [] };
  },
});

export const HeldOutMseSpec = define({
  type: 'MeanSquaredErrorMetric',
  label: 'Mean squared error (held out)',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description: "The mean of (a − b)² over the held-out split, reported by name: a diffusion model's ε-prediction loss on digits it never trained on.",
  inputs: [{ name: 'a' }, { name: 'b' }],
  outputs: [],
  params: z.object({
    metric: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, 'a name like "testLoss"')
      .default('testLoss')
      .describe('The name the result is reported under.'),
  }),
  keyParams: ['metric'],
  infer: (_p, [a, b]) => {
    const sameShape = a!.length === b!.length && a!.every((d, i) => d === b![i]);
    return sameShape
      ? {}
      : problem(`Received ${formatShape(a!)} and ${formatShape(b!)}, expected the same shape.`, 'Compare the prediction with its target.', 'b');
  },
});

export const DIFFUSION_PROGRAM_SPECS = [
  DiffusionTimestepSpec,
  DiffusionNoiseSpec,
  DiffuseSpec,
  DiffusionTargetSpec,
  ScaleShiftSpec,
  HybridLossSpec,
  HeldOutMseSpec,
];
