import { z } from 'zod';
import { formatShape } from '../shape';
import type { Shape, ShapeProblem } from '../spec';
import { FLOW_LAYER_TYPES } from '../layers/flows';
import type { ProgramNodeSpec } from './specs';

/**
 * The procedure nodes of normalizing flows (RealNVP, Glow). A flow network (only flow layers between
 * Input and Output) gets a second output on its Network node, `logdet` (Σ log|det J| per example),
 * beside z; the loss is the negative log-likelihood of x under a standard normal prior on z. Images
 * are dequantised first. The runtime is runtime/program/flows.ts.
 */
const define = <S extends z.ZodObject>(spec: ProgramNodeSpec<S>): ProgramNodeSpec<S> => spec;
const SCALAR: Shape = [];
const problem = (message: string, help: string, port: string): ShapeProblem => ({ code: 'PB301', message, help, port });

/** z (any batch of examples) and logdet ([batch]). */
function zAndLogdet(inputs: Shape[]): ShapeProblem | null {
  const [z, logdet] = inputs as [Shape, Shape];
  if (z.length < 2) return problem(`Received ${formatShape(z)} for "z", expected a batch of examples.`, "Wire the flow network's z output.", 'z');
  if (logdet.length !== 1)
    return problem(
      `Received ${formatShape(logdet)} for "logdet", expected one number per example (batch,).`,
      "Wire the flow network's logdet output.",
      'logdet',
    );
  return null;
}

const metricName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, 'a name like "testNll"');

export const FlowNllSpec = define({
  type: 'FlowNLL',
  label: 'Flow NLL',
  category: 'Losses',
  kind: 'loss',
  procedures: ['train'],
  description:
    '−log p(x) = ½‖z‖² + (D/2)·ln 2π − Σ log|det J|, averaged over the batch, in nats per example: the exact negative log-likelihood of a flow with a standard normal prior.',
  inputs: [{ name: 'z' }, { name: 'logdet' }],
  outputs: [{ name: 'loss' }],
  params: z.object({}),
  keyParams: [],
  infer: (_p, inputs) => zAndLogdet(inputs) ?? { loss: SCALAR },
});

export const DequantizeSpec = define({
  type: 'Dequantize',
  label: 'Dequantize',
  category: 'Augment',
  kind: 'op',
  procedures: ['train', 'evaluate'],
  description:
    'Pixels in [0, 1] from a number of grey levels become (level + u) / levels with fresh uniform noise u, so a flow learns a density rather than spikes.',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  params: z.object({ levels: z.number().int().min(2).max(65536).default(256).describe('Grey levels of the data (256 for 8-bit images).') }),
  keyParams: ['levels'],
  infer: (_p, [x]) => ({ out: x! }),
});

export const FlowLikelihoodSpec = define({
  type: 'FlowLikelihood',
  label: 'Flow likelihood',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    'The mean negative log-likelihood of the held-out split in nats per example, and optionally bits per dimension for images: (NLL + D·ln levels) / (D·ln 2). D is the dimension count of what is wired into "x" (the data), else of z: wire x when the flow factors dimensions out (splits).',
  inputs: [{ name: 'z' }, { name: 'logdet' }, { name: 'x', label: 'data (optional: its dimensions count)', variadic: true, minConnections: 0 }],
  outputs: [],
  params: z.object({
    metric: metricName.default('testNll').describe('The name the NLL (nats) is reported under.'),
    bitsPerDimMetric: z
      .union([metricName, z.literal('')])
      .default('')
      .describe('If set, bits per dimension are reported under this name (images).'),
    levels: z.number().int().min(2).default(256).describe('Grey levels the data was quantised to (bits per dimension count the discrete bins).'),
  }),
  keyParams: ['metric'],
  infer: (_p, inputs) => zAndLogdet(inputs) ?? {},
});

export const GaussianBaselineSpec = define({
  type: 'GaussianBaseline',
  label: 'Gaussian baseline',
  category: 'Evaluation',
  kind: 'metric',
  procedures: ['evaluate'],
  description:
    'Fits a full-covariance Gaussian to the training split and reports its mean NLL (nats per example) on the held-out split: the number a flow must beat.',
  inputs: [{ name: 'x' }],
  outputs: [],
  params: z.object({ metric: metricName.default('gaussianNll').describe('The name the result is reported under.') }),
  keyParams: ['metric'],
  infer: (_p, [x]) =>
    x!.length === 2 && x![1] !== null
      ? {}
      : problem(`Received ${formatShape(x!)}, expected a batch of vectors (batch, features).`, 'Wire 2-D data (or flattened examples).', 'x'),
});

export const FLOW_PROGRAM_SPECS = [FlowNllSpec, DequantizeSpec, FlowLikelihoodSpec, GaussianBaselineSpec] as const;

/** The extra output a flow network's Network node has: Σ log|det J| per example, beside z. */
export const LOGDET_PORT = 'logdet';

/** A flow network holds only flow layers (at least one) between its one Input and one Output. */
export function isFlowNetwork(nodes: ReadonlyArray<{ type: string }>): boolean {
  const body = nodes.filter((n) => n.type !== 'Input' && n.type !== 'Output');
  const count = (type: string) => nodes.filter((n) => n.type === type).length;
  return count('Input') === 1 && count('Output') === 1 && body.length > 0 && body.every((n) => FLOW_LAYER_TYPES.has(n.type));
}
