import { z } from 'zod';
import { formatShape } from '../shape';
import type { Shape, ShapeProblem } from '../spec';
import type { ProgramNodeSpec } from './specs';

/**
 * The procedure nodes of a capsule network's training (Sabour, Frosst & Hinton, 2017): they need the
 * labels, so they live in the procedure rather than in a network. Mask keeps only one digit capsule
 * for the decoder (the true class while training, the longest capsule otherwise); the margin loss
 * asks the true class's capsule to be long and the others short; the reconstruction loss is the
 * decoder's sum of squared errors, scaled down so that it does not dominate. The runtime is
 * runtime/program/capsules.ts.
 */
const define = <S extends z.ZodObject>(spec: ProgramNodeSpec<S>): ProgramNodeSpec<S> => spec;
const SCALAR: Shape = [];

const problem = (message: string, help: string, port: string): ShapeProblem => ({ code: 'PB301', message, help, port });

/** [batch, capsules, dim] with known sizes, or what is wrong. */
const capsulesProblem = (x: Shape, port: string): ShapeProblem | null =>
  x.length === 3 && x[1] !== null && x[2] !== null
    ? null
    : problem(`Received ${formatShape(x)} for "${port}", expected capsules (batch, capsules, dim).`, 'Wire the capsules a DigitCapsules layer outputs.', port);

/** One-hot labels with as many classes as there are capsules. */
const labelProblem = (label: Shape, classes: number | null, port = 'label'): ShapeProblem | null =>
  label.length === 2 && label[1] === classes
    ? null
    : problem(
        `Received ${formatShape(label)} for "${port}", expected one-hot labels (batch, ${classes ?? 'classes'}): one column per capsule.`,
        'Wire the label port of Data, with as many classes as the digit capsules.',
        port,
      );

export const MaskCapsulesSpec = define({
  type: 'MaskCapsules',
  label: 'Mask capsules',
  category: 'Tensors',
  kind: 'op',
  procedures: ['train', 'evaluate'],
  description:
    'Zeroes every capsule but one, so that the decoder reconstructs from one digit’s pose: the labelled class when a label is wired (training), otherwise the longest capsule (the prediction).',
  inputs: [{ name: 'capsules' }, { name: 'label', label: 'label (optional)', variadic: true, minConnections: 0 }],
  outputs: [{ name: 'out' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, [capsules, label]) => capsulesProblem(capsules!, 'capsules') ?? (label ? labelProblem(label, capsules![1]!) : null) ?? { out: capsules! },
});

export const MarginLossSpec = define({
  type: 'MarginLoss',
  label: 'Margin loss',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description:
    'Σₖ Tₖ·max(0, m⁺ − ‖vₖ‖)² + λ·(1 − Tₖ)·max(0, ‖vₖ‖ − m⁻)², averaged over the batch (CapsNet eq. 4): the true class’s capsule should be longer than m⁺, the others shorter than m⁻.',
  inputs: [{ name: 'lengths', label: 'capsule lengths' }, { name: 'label' }],
  outputs: [{ name: 'loss' }],
  params: z.object({
    mPlus: z.number().min(0).max(1).default(0.9).describe('m⁺: the length the true class’s capsule should reach (0.9 in the paper).'),
    mMinus: z.number().min(0).max(1).default(0.1).describe('m⁻: the length the other capsules should stay under (0.1 in the paper).'),
    lambda: z.number().min(0).default(0.5).describe('λ: the weight of the absent classes’ term, so that early training does not shrink every capsule (0.5).'),
  }),
  keyParams: ['mPlus', 'mMinus', 'lambda'],
  infer: (_p, [lengths, label]) => {
    if (lengths!.length !== 2 || lengths![1] === null)
      return problem(`Received ${formatShape(lengths!)} for "lengths", expected (batch, capsules).`, 'Wire a CapsuleLength output.', 'lengths');
    return labelProblem(label!, lengths![1]!) ?? { loss: SCALAR };
  },
});

const elements = (s: Shape): number | null => s.slice(1).reduce<number | null>((n, d) => (n === null || d === null ? null : n * d), 1);

export const ReconstructionLossSpec = define({
  type: 'ReconstructionLoss',
  label: 'Reconstruction loss',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description:
    'scale × the sum of squared differences between the reconstruction and the image, per example, averaged over the batch (CapsNet: 0.0005, so that it does not dominate the margin loss).',
  inputs: [{ name: 'reconstruction' }, { name: 'image' }],
  outputs: [{ name: 'loss' }],
  params: z.object({ scale: z.number().min(0).default(0.0005).describe('What the sum of squared errors is multiplied by (0.0005 in the paper).') }),
  keyParams: ['scale'],
  infer: (_p, [reconstruction, image]) => {
    const [a, b] = [elements(reconstruction!), elements(image!)];
    if (reconstruction!.length < 2 || a === null)
      return problem(
        `Received ${formatShape(reconstruction!)}, expected a batch of reconstructions with known sizes.`,
        'Wire the decoder’s output.',
        'reconstruction',
      );
    if (a !== b)
      return problem(
        `Received ${formatShape(reconstruction!)} (${a} values per example) and ${formatShape(image!)} (${b ?? 'unknown'}), expected as many values in the reconstruction as in the image.`,
        'Make the decoder’s last layer as wide as the image has pixels (784 for 28×28×1).',
        'image',
      );
    return { loss: SCALAR };
  },
});

export const CAPSULE_PROGRAM_SPECS = [MaskCapsulesSpec, MarginLossSpec, ReconstructionLossSpec];
