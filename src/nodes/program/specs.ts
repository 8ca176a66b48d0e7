import { z } from 'zod';
import type { DiagnosticCode } from '../../document/diagnostics';
import { formatShape } from '../shape';
import type { PortSpec, Shape, ShapeProblem } from '../spec';
import { CAPSULE_PROGRAM_SPECS } from './capsules';
import { CLIP_PROGRAM_SPECS } from './clip';
import { DIFFUSION_PROGRAM_SPECS } from './diffusion';
import { FLOW_PROGRAM_SPECS } from './flows';
import { GLOM_PROGRAM_SPECS } from './glom';
import { IMAGE_TO_IMAGE_PROGRAM_SPECS } from './image-to-image';

/**
 * The nodes of a training procedure: where data comes from, how networks are applied, what is
 * minimised and how, which update rules run after a step, and what is measured. Each is data: ports,
 * zod params (defaults and descriptions feed the inspector), shape inference on batch-first shapes
 * (a loss is the scalar shape `[]`), and the kind of step it becomes in the plan's program.
 *
 * Networks are not listed here: a `Network` node takes its ports from the network it applies, the
 * way a block instance takes them from its block (see compiler/program.ts).
 */
export type ProgramNodeKind = 'data' | 'op' | 'loss' | 'parameter' | 'minimize' | 'hook' | 'metric';

export type ProgramCategory = 'Data' | 'Augment' | 'Tensors' | 'Losses' | 'Training' | 'Evaluation';

export interface ProgramNodeSpec<S extends z.ZodObject = z.ZodObject> {
  type: string;
  label: string;
  category: ProgramCategory;
  description: string;
  kind: ProgramNodeKind;
  inputs: PortSpec[];
  outputs: PortSpec[];
  params: S;
  keyParams: (keyof z.output<S> & string)[];
  /** Output shapes by port, from the input shapes in port order (batch first; `[]` is a scalar). */
  infer(params: z.output<S>, inputs: Shape[]): Record<string, Shape> | ShapeProblem;
  /** Which procedures the node belongs in. */
  procedures: ReadonlyArray<'train' | 'evaluate'>;
}

export type AnyProgramSpec = ProgramNodeSpec<z.ZodObject>;

const define = <S extends z.ZodObject>(spec: ProgramNodeSpec<S>): ProgramNodeSpec<S> => spec;
const problem = (code: DiagnosticCode, message: string, help: string, port?: string): ShapeProblem => ({ code, message, help, ...(port ? { port } : {}) });
const SCALAR: Shape = [];
const same = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Two tensors a loss compares element by element must have one shape. */
function pairOf(inputs: Shape[], names: [string, string]): Shape | ShapeProblem {
  const [a, b] = inputs as [Shape, Shape];
  if (!same(a, b))
    return problem(
      'PB302',
      `Received ${formatShape(a)} for "${names[0]}" and ${formatShape(b)} for "${names[1]}", expected the same shape.`,
      'Compare outputs of the same size: check the projector and predictor widths.',
      names[1],
    );
  if (a.length < 2)
    return problem(
      'PB301',
      `Received ${formatShape(a)}, expected a batch of vectors (rank 2 or more).`,
      'Apply the loss to a network output, not to a scalar.',
      names[0],
    );
  return a;
}

/** Inference of a loss that compares two tensors element by element: one shape in, a scalar out. */
const comparing =
  (names: [string, string]) =>
  (_p: unknown, inputs: Shape[]): Record<string, Shape> | ShapeProblem => {
    const pair = pairOf(inputs, names);
    return Array.isArray(pair) ? { loss: SCALAR } : pair;
  };

/** A loss without params over two tensors of one shape (MSE, negative cosine, BYOL's). */
function pairLoss(type: string, label: string, description: string, ports: [string, string]) {
  return define({
    type,
    label,
    category: 'Losses',
    kind: 'loss',
    procedures: ['train'],
    description,
    inputs: ports.map((name) => ({ name })),
    outputs: [{ name: 'loss' }],
    params: z.object({}),
    keyParams: [],
    infer: comparing(ports),
  });
}

const both = ['train', 'evaluate'] as const;

// ── Data ────────────────────────────────────────────────────────────────────────────────────────

export const DataSpec = define({
  type: 'Data',
  label: 'Data',
  category: 'Data',
  kind: 'data',
  procedures: both,
  description:
    'A batch of the dataset the run trains on: images and their labels (one-hot). Training procedures get shuffled training batches; evaluations see the training split, then the held-out split.',
  inputs: [],
  outputs: [
    { name: 'image', label: 'image' },
    { name: 'label', label: 'label' },
  ],
  params: z.object({
    shape: z.array(z.number().int().positive()).min(1).default([28, 28, 1]).describe("One example's shape (no batch axis)."),
    classes: z.number().int().min(2).default(10).describe('How many classes the labels have.'),
  }),
  keyParams: ['shape'],
  infer: (p) => ({ image: [null, ...p.shape], label: [null, p.classes] }),
});

// ── Augmentations: each call draws fresh, seeded randomness, so two chains give two views ───────

const imageOnly = (x: Shape): ShapeProblem | null =>
  x.length === 4
    ? null
    : problem(
        'PB301',
        `Received ${formatShape(x)}, expected a batch of images (rank 4: batch, height, width, channels).`,
        'Feed it the image port of Data, or another augmentation.',
        'in',
      );

export const RandomTranslateSpec = define({
  type: 'RandomTranslate',
  label: 'Random translate',
  category: 'Augment',
  kind: 'op',
  procedures: ['train'],
  description: 'Shifts each image by a random whole number of pixels in each direction (zero fill).',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({ pixels: z.number().int().min(0).max(16).default(3).describe('Largest shift, in pixels, in each direction.') }),
  keyParams: ['pixels'],
  infer: (_p, [x]) => imageOnly(x!) ?? { out: x! },
});

export const RandomAffineSpec = define({
  type: 'RandomAffine',
  label: 'Random affine',
  category: 'Augment',
  kind: 'op',
  procedures: ['train'],
  description: 'Rotates, scales and shifts each image by its own random amount about its centre (nearest pixel, zero fill).',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z
    .object({
      degrees: z.number().min(0).max(180).default(15).describe('Largest rotation, in degrees, either way.'),
      minScale: z.number().positive().max(4).default(0.9).describe('Smallest zoom (below 1 shrinks the image).'),
      maxScale: z.number().positive().max(4).default(1.1).describe('Largest zoom (above 1 enlarges the image).'),
      pixels: z.number().int().min(0).max(16).default(2).describe('Largest shift, in pixels, in each direction.'),
    })
    .refine((p) => p.minScale <= p.maxScale, { message: 'The smallest zoom must not exceed the largest.', path: ['minScale'] }),
  keyParams: ['degrees', 'pixels'],
  infer: (_p, [x]) => imageOnly(x!) ?? { out: x! },
});

export const RandomFlipSpec = define({
  type: 'RandomFlip',
  label: 'Random flip',
  category: 'Augment',
  kind: 'op',
  procedures: ['train'],
  description: 'Mirrors each image left to right with a probability (not for digits, whose meaning a mirror changes).',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({ probability: z.number().min(0).max(1).default(0.5).describe('Chance that an image is mirrored.') }),
  keyParams: ['probability'],
  infer: (_p, [x]) => imageOnly(x!) ?? { out: x! },
});

export const GaussianNoiseSpec = define({
  type: 'GaussianNoise',
  label: 'Gaussian noise',
  category: 'Augment',
  kind: 'op',
  procedures: ['train'],
  description: 'Adds normal noise to every value.',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({ stddev: z.number().min(0).default(0.1).describe('Standard deviation of the noise.') }),
  keyParams: ['stddev'],
  infer: (_p, [x]) => ({ out: x! }),
});

export const RandomEraseSpec = define({
  type: 'RandomErase',
  label: 'Random erase',
  category: 'Augment',
  kind: 'op',
  procedures: ['train'],
  description: 'With a probability, sets a random square of each image to zero (Zhong et al., random erasing).',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({
    probability: z.number().min(0).max(1).default(0.5).describe('Chance that an image gets a square erased.'),
    size: z.number().min(0).max(1).default(0.3).describe('Side of the square, as a fraction of the image side.'),
  }),
  keyParams: ['probability', 'size'],
  infer: (_p, [x]) => imageOnly(x!) ?? { out: x! },
});

// ── Tensors ─────────────────────────────────────────────────────────────────────────────────────

export const StopGradientSpec = define({
  type: 'StopGradient',
  label: 'Stop gradient',
  category: 'Tensors',
  kind: 'op',
  procedures: ['train'],
  description: "Passes its input on unchanged, but no gradient flows back through it (SimSiam's z.detach()).",
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => ({ out: x! }),
});

export const FlattenBatchSpec = define({
  type: 'FlattenExamples',
  label: 'Flatten examples',
  category: 'Tensors',
  kind: 'op',
  procedures: both,
  description: 'Makes each example one vector (raw pixels for a baseline probe).',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [x]) => {
    const rest = x!.slice(1);
    if (rest.some((d) => d === null))
      return problem('PB305', `Received ${formatShape(x!)}, expected every axis but the batch to be known.`, 'Give the data a fixed shape.', 'in');
    return { out: [null, (rest as number[]).reduce((a, b) => a * b, 1)] };
  },
});

export const ParameterSpec = define({
  type: 'Parameter',
  label: 'Learned scalar',
  category: 'Tensors',
  kind: 'parameter',
  procedures: ['train'],
  description: "One number that training learns, outside any network (CLIP's temperature). Clamped after every step.",
  inputs: [],
  outputs: [{ name: 'out' }],
  params: z.object({
    init: z.number().default(1).describe('Starting value.'),
    min: z.number().default(-1e9).describe('Smallest value, applied after each step.'),
    max: z.number().default(1e9).describe('Largest value, applied after each step.'),
  }),
  keyParams: ['init'],
  infer: () => ({ out: SCALAR }),
});

export const MeanSpec = define({
  type: 'MeanOf',
  label: 'Mean of',
  category: 'Tensors',
  kind: 'loss',
  procedures: ['train'],
  description: 'The average of several losses (SimSiam and BYOL average the two symmetric terms).',
  inputs: [{ name: 'inputs', variadic: true, minConnections: 2 }],
  outputs: [{ name: 'out' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, inputs) =>
    inputs.every((s) => s.length === 0)
      ? { out: SCALAR }
      : problem('PB301', `Received ${inputs.map(formatShape).join(', ')}, expected scalars (losses).`, 'Wire losses into it.', 'inputs'),
});

export const WeightedSumSpec = define({
  type: 'WeightedSum',
  label: 'Weighted sum',
  category: 'Tensors',
  kind: 'loss',
  procedures: ['train'],
  description: 'w₁·a + w₂·b + …: losses added with weights (e.g. a margin loss plus 0.0005 × reconstruction).',
  inputs: [{ name: 'inputs', variadic: true, minConnections: 1 }],
  outputs: [{ name: 'out' }],
  params: z.object({ weights: z.array(z.number()).default([1, 1]).describe('One weight per input, in wiring order.') }),
  keyParams: ['weights'],
  infer: (p, inputs) => {
    if (!inputs.every((s) => s.length === 0))
      return problem('PB301', `Received ${inputs.map(formatShape).join(', ')}, expected scalars (losses).`, 'Wire losses into it.', 'inputs');
    if (p.weights.length !== inputs.length)
      return {
        code: 'PB300',
        param: 'weights',
        message: `Received ${p.weights.length} weights for ${inputs.length} inputs, expected one weight per input.`,
        help: 'Add or remove weights so each input has one.',
      };
    return { out: SCALAR };
  },
});

// ── Losses (scalar outputs; each shows its value on the canvas) ─────────────────────────────────

export const CrossEntropySpec = define({
  type: 'CrossEntropy',
  label: 'Cross-entropy',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description: 'Categorical cross-entropy between a prediction and one-hot labels, averaged over the batch.',
  inputs: [{ name: 'prediction' }, { name: 'label' }],
  outputs: [{ name: 'loss' }],
  params: z.object({ fromLogits: z.boolean().default(true).describe('The prediction is logits (no softmax yet); off when the network ends in softmax.') }),
  keyParams: ['fromLogits'],
  infer: comparing(['prediction', 'label']),
});

export const MseSpec = pairLoss('MeanSquaredError', 'Mean squared error', 'The mean of (a − b)² over every value.', ['a', 'b']);

export const NegativeCosineSpec = pairLoss(
  'NegativeCosine',
  'Negative cosine',
  "−cos(p, z) averaged over the batch (SimSiam's D(p, z)); −1 when they point the same way.",
  ['p', 'z'],
);

export const ByolLossSpec = pairLoss('NormalizedMSE', 'Normalised MSE (BYOL)', "‖p/‖p‖ − z/‖z‖‖² = 2 − 2·cos(p, z), averaged over the batch (BYOL's loss).", [
  'p',
  'z',
]);

export const InfoNceSpec = define({
  type: 'InfoNCE',
  label: 'InfoNCE',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description:
    'Symmetric contrastive loss: each a must pick its own b among the batch, and each b its a (CLIP). The logit scale multiplies the cosine similarities.',
  inputs: [{ name: 'a' }, { name: 'b' }, { name: 'scale', label: 'logit scale (optional)', variadic: true, minConnections: 0 }],
  outputs: [{ name: 'loss' }],
  params: z.object({
    scale: z.number().positive().default(14.3).describe('Logit scale used when nothing is wired into "scale" (1/τ; CLIP starts at 1/0.07).'),
    expScale: z.boolean().default(true).describe('A wired scale is a log: the loss uses exp(scale), as CLIP learns log(1/τ).'),
  }),
  keyParams: ['scale'],
  infer: (_p, inputs) => {
    const pair = pairOf(inputs.slice(0, 2), ['a', 'b']);
    if (!Array.isArray(pair)) return pair;
    if (inputs[2] && inputs[2].length !== 0)
      return problem('PB301', `Received ${formatShape(inputs[2])} for "scale", expected a scalar.`, 'Wire a Learned scalar into "scale".', 'scale');
    return { loss: SCALAR };
  },
});

export const DistillationSpec = define({
  type: 'DistillationLoss',
  label: 'Distillation loss',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description: 'α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(label, softmax(student)), Hinton et al. Both inputs are logits.',
  inputs: [{ name: 'student' }, { name: 'teacher' }, { name: 'label' }],
  outputs: [{ name: 'loss' }],
  params: z.object({
    temperature: z.number().positive().default(4).describe("T: how much the teacher's probabilities are softened."),
    alpha: z.number().min(0).max(1).default(0.9).describe('Weight of the soft-target term; the rest goes to the hard labels.'),
  }),
  keyParams: ['temperature', 'alpha'],
  infer: (_p, inputs) => {
    const a = pairOf([inputs[0]!, inputs[1]!], ['student', 'teacher']);
    if (!Array.isArray(a)) return a;
    const b = pairOf([inputs[0]!, inputs[2]!], ['student', 'label']);
    return Array.isArray(b) ? { loss: SCALAR } : b;
  },
});

// ── Training ────────────────────────────────────────────────────────────────────────────────────

export const MinimizeSpec = define({
  type: 'Minimize',
  label: 'Minimize',
  category: 'Training',
  kind: 'minimize',
  procedures: ['train'],
  description:
    'One optimizer: each step it lowers the loss wired in, over the networks listed (all those the loss reaches, when none are listed), except frozen and moving-average ones.',
  inputs: [{ name: 'loss' }],
  outputs: [],
  params: z.object({
    optimizer: z.enum(['adam', 'adamw', 'sgd']).default('adam').describe('adam, adamw (decoupled weight decay) or sgd with momentum.'),
    learningRate: z.number().positive().default(1e-3).describe('Peak learning rate.'),
    schedule: z.enum(['constant', 'cosine', 'onecycle', 'warmup-cosine']).default('cosine').describe('How the learning rate changes over the procedure.'),
    warmupSteps: z.number().int().min(0).default(0).describe('Steps of linear warm-up (warmup-cosine).'),
    weightDecay: z.number().min(0).default(0).describe('Decoupled weight decay per step (adamw, sgd); kernels only.'),
    momentum: z.number().min(0).max(1).default(0.9).describe('Momentum (sgd).'),
    clipNorm: z.number().min(0).default(0).describe("Clip the gradients' global norm to this (0: no clipping)."),
    networks: z.array(z.string()).default([]).describe('Networks this optimizer updates; empty: every network the loss reaches.'),
    learningRateMultipliers: z.record(z.string(), z.number().min(0)).default({}).describe('Per network: its learning rate is multiplied by this.'),
  }),
  keyParams: ['optimizer', 'learningRate'],
  infer: (_p, [loss]) =>
    loss!.length === 0
      ? {}
      : problem('PB301', `Received ${formatShape(loss!)}, expected a scalar loss.`, 'Wire a loss node (its "loss" port) into Minimize.', 'loss'),
});

export const DirectPredSpec = define({
  type: 'DirectPred',
  label: 'DirectPred',
  category: 'Training',
  kind: 'hook',
  procedures: ['train'],
  description:
    'Sets a linear predictor from the eigen-decomposition of the running correlation of its inputs every k steps, instead of learning it (Tian et al., 2021): W = U·diag(√(s/max s) + ε)·Uᵀ.',
  inputs: [{ name: 'in', label: 'predictor input' }],
  outputs: [],
  params: z.object({
    network: z.string().default('predictor').describe('The predictor network: one Dense layer without bias, as wide as its input.'),
    every: z.number().int().positive().default(1).describe('Set the predictor every k steps.'),
    rho: z.number().min(0).max(1).default(0.3).describe('ρ: the running correlation keeps this much of its past.'),
    epsilon: z.number().min(0).default(0.01).describe("ε added to each eigenvalue's weight."),
  }),
  keyParams: ['network', 'every'],
  infer: (_p, [x]) =>
    x!.length === 2
      ? {}
      : problem(
          'PB301',
          `Received ${formatShape(x!)}, expected a batch of vectors (rank 2).`,
          "Wire the input of the predictor (the projector's output).",
          'in',
        ),
});

// ── Evaluation: each collects its inputs over the data, then reports one number by name ─────────

const metricName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, 'a name like "knnAccuracy" or "baselines.rawPixelsLinearProbe"');

export const AccuracySpec = define({
  type: 'Accuracy',
  label: 'Accuracy',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description: 'How often the largest output is the true class, on the held-out split.',
  inputs: [{ name: 'prediction' }, { name: 'label' }],
  outputs: [],
  params: z.object({ metric: metricName.default('testAccuracy').describe('The name the result is reported under.') }),
  keyParams: ['metric'],
  infer: (_p, inputs) => {
    const pair = pairOf(inputs, ['prediction', 'label']);
    return Array.isArray(pair) ? {} : pair;
  },
});

const featuresAndLabels = (inputs: Shape[]): ShapeProblem | null => {
  const [f, y] = inputs as [Shape, Shape];
  if (f.length !== 2)
    return problem(
      'PB301',
      `Received ${formatShape(f)} for "features", expected a batch of vectors (rank 2).`,
      'Wire an embedding, or flatten images first.',
      'features',
    );
  if (y.length !== 2) return problem('PB301', `Received ${formatShape(y)} for "label", expected one-hot labels.`, 'Wire the label port of Data.', 'label');
  return null;
};

export const LinearProbeSpec = define({
  type: 'LinearProbe',
  label: 'Linear probe',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    "Trains a linear classifier on frozen features of the training split and reports its accuracy on the held-out split. Optionally the same probe on the networks' initial (untrained) weights, as a baseline.",
  inputs: [{ name: 'features' }, { name: 'label' }],
  outputs: [],
  params: z.object({
    metric: metricName.default('linearProbeAccuracy').describe('The name the result is reported under.'),
    randomInitMetric: z
      .union([metricName, z.literal('')])
      .default('')
      .describe('If set, the same probe on the networks as initialised, reported under this name.'),
    epochs: z.number().int().positive().default(30).describe("Passes of the probe's own training."),
    learningRate: z.number().positive().default(0.01).describe('Adam learning rate of the probe.'),
  }),
  keyParams: ['metric'],
  infer: (_p, inputs) => featuresAndLabels(inputs) ?? {},
});

export const KnnSpec = define({
  type: 'KNearestNeighbours',
  label: 'kNN accuracy',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description: 'Classifies each held-out example by a vote of its k nearest training examples (cosine similarity of features).',
  inputs: [{ name: 'features' }, { name: 'label' }],
  outputs: [],
  params: z.object({
    metric: metricName.default('knnAccuracy').describe('The name the result is reported under.'),
    k: z.number().int().positive().default(20).describe('Neighbours that vote.'),
  }),
  keyParams: ['metric', 'k'],
  infer: (_p, inputs) => featuresAndLabels(inputs) ?? {},
});

export const CollapseSpec = define({
  type: 'CollapseMonitor',
  label: 'Collapse monitor',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    'The standard deviation, per dimension, of the L2-normalised embedding on the held-out split, beside 1/√d: near 1/√d is healthy, near 0 is collapse (SimSiam §4.1).',
  inputs: [{ name: 'features' }],
  outputs: [],
  params: z.object({
    metric: metricName.default('collapseStd').describe('The name the result is reported under; the reference goes under "collapseReference".'),
  }),
  keyParams: ['metric'],
  infer: (_p, [f]) =>
    f!.length === 2 ? {} : problem('PB301', `Received ${formatShape(f!)}, expected a batch of vectors (rank 2).`, 'Wire an embedding.', 'features'),
});

/** Every procedure node type, in palette order. */
export const PROGRAM_SPECS: readonly AnyProgramSpec[] = [
  DataSpec,
  RandomTranslateSpec,
  RandomAffineSpec,
  RandomFlipSpec,
  GaussianNoiseSpec,
  RandomEraseSpec,
  StopGradientSpec,
  FlattenBatchSpec,
  ParameterSpec,
  MeanSpec,
  WeightedSumSpec,
  CrossEntropySpec,
  MseSpec,
  NegativeCosineSpec,
  ByolLossSpec,
  InfoNceSpec,
  DistillationSpec,
  MinimizeSpec,
  DirectPredSpec,
  AccuracySpec,
  LinearProbeSpec,
  KnnSpec,
  CollapseSpec,
  ...CAPSULE_PROGRAM_SPECS,
  ...CLIP_PROGRAM_SPECS,
  ...DIFFUSION_PROGRAM_SPECS,
  ...FLOW_PROGRAM_SPECS,
  ...GLOM_PROGRAM_SPECS,
  ...IMAGE_TO_IMAGE_PROGRAM_SPECS,
] as unknown as AnyProgramSpec[];

/** The node type that applies a network in a procedure; its ports are the network's inputs and outputs. */
export const NETWORK_NODE_TYPE = 'Network';

const byType = new Map(PROGRAM_SPECS.map((s) => [s.type, s]));
export const getProgramSpec = (type: string): AnyProgramSpec | undefined => byType.get(type);

/** Params of a Network node: which network, and which of its weights. */
export const NetworkNodeParams = z.object({
  network: z.string().min(1).describe('The network to apply.'),
  weights: z
    .enum(['online', 'frozen', 'ema'])
    .default('online')
    .describe('online: trained here; frozen: applied in inference mode and never updated (a teacher); ema: a moving-average copy of the network (a target).'),
  decay: z.number().min(0).max(1).default(0.99).describe('Moving average: the copy keeps this much of itself each step (τ).'),
  decaySchedule: z.enum(['constant', 'cosine']).default('cosine').describe('cosine: τ rises from its base to 1 over the run (BYOL); constant: τ stays.'),
});
export type NetworkNodeParams = z.infer<typeof NetworkNodeParams>;
