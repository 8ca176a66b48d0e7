/**
 * Writes the normalizing-flow templates (templates/realnvp.json, templates/glow.json). Run
 * `npx tsx scripts/gen-flow-templates.ts` after changing them; test/flows.test.ts fails while a file
 * is stale. Each is a program document: the flow is the main network (only flow layers, so its
 * Network node also outputs logdet), a training procedure minimises the flow NLL, and an evaluation
 * reports the held-out NLL (and a baseline or bits per dimension).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, type GraphDocument, type GraphNode, type ProcedureDef } from '../src/document/schema';
import { graphBuilder, type GraphBuilder } from '../templates/program-builder';

const ROOT = join(import.meta.dirname, '..');

function procedure(id: string, label: string, kind: 'train' | 'evaluate', build: (g: GraphBuilder) => void): ProcedureDef {
  const g = graphBuilder();
  build(g);
  return { id, label, kind, nodes: g.nodes, edges: g.edges };
}

const training = (learningRate: number, batchSize: number, epochs: number) => ({
  optimizer: 'adam' as const,
  learningRate,
  schedule: 'cosine' as const,
  warmupSteps: 0,
  weightDecay: 0,
  momentum: 0.9,
  loss: 'categoricalCrossentropy' as const,
  metrics: ['accuracy'],
  batchSize,
  epochs,
  seed: 0,
});

/**
 * RealNVP on 2-D points, as karpathy/pytorch-normalizing-flows' notebook: 9 affine couplings of
 * alternating parity, s and t each an MLP 1→24→24→24→1 with LeakyReLU(0.2): 22,914 parameters.
 */
export function realnvp(): GraphDocument {
  const g = graphBuilder();
  let x = g.add('x', 'Input', { shape: [2] });
  for (let i = 0; i < 9; i++) x = g.add(`coupling${i + 1}`, 'AffineCoupling', { parity: i % 2, hidden: 24, depth: 3 }, [[x]]);
  g.add('z', 'Output', {}, [[x]]);
  const train = procedure('train', 'Maximum likelihood', 'train', (p) => {
    const data = p.add('data', 'Data', { shape: [2], classes: 2 });
    const flow = p.add('flow', 'Network', { network: 'model' }, [[data, 'image', 'x']]);
    const nll = p.add('nll', 'FlowNLL', {}, [
      [flow, 'z', 'z'],
      [flow, 'logdet', 'logdet'],
    ]);
    p.add('minimize', 'Minimize', { optimizer: 'adam', learningRate: 2e-3, schedule: 'cosine' }, [[nll, 'loss', 'loss']]);
  });
  const evaluate = procedure('evaluate', 'Evaluation', 'evaluate', (p) => {
    const data = p.add('data', 'Data', { shape: [2], classes: 2 });
    const flow = p.add('flow', 'Network', { network: 'model', weights: 'frozen' }, [[data, 'image', 'x']]);
    p.add('likelihood', 'FlowLikelihood', { metric: 'testNll' }, [
      [flow, 'z', 'z'],
      [flow, 'logdet', 'logdet'],
    ]);
    p.add('gaussian', 'GaussianBaseline', { metric: 'baselines.gaussianNll' }, [[data, 'image', 'x']]);
  });
  return {
    format: DOCUMENT_FORMAT,
    version: DOCUMENT_VERSION,
    nodeTypes: {},
    blocks: [],
    name: 'RealNVP',
    nodes: g.nodes,
    edges: g.edges,
    networks: [],
    program: {
      mainNetwork: { label: 'Flow', description: 'The invertible network: forward gives z and log|det J|, backward turns noise into samples.' },
      procedures: [train, evaluate],
    },
    training: training(2e-3, 128, 150),
    meta: {
      template: {
        id: 'realnvp',
        title: 'RealNVP',
        description:
          'Density estimation using Real NVP (Dinh, Sohl-Dickstein & Bengio): affine couplings make an invertible network with an exact likelihood; it runs forward for the density and backward to sample.',
        paper: 'arXiv:1605.08803',
        defaultPreset: 'moons',
      },
      presets: [
        {
          name: 'moons',
          description: '9 affine couplings, s and t each an MLP 1→24→24→24→1 (22,914 params), on two moons; test NLL against a full-covariance Gaussian.',
          set: {},
        },
      ],
    },
  } as GraphDocument;
}

/**
 * Glow mnist's steps per level, coupling scale, learning rate and epochs, chosen with
 * scripts/glow-torch.py (the exported layers trained in PyTorch with this procedure, 2 epochs unless
 * said, test bits/dim; KID of 64 samples in scripts/diffusion-digit-score.ts's ConvMixer features,
 * real digits 0.0075):
 * - the template before (no logit step, K = 3, σ(h + 2), 1e-3): 5.56, samples dim speckled noise (T = 0.7
 *   KID 5.4; at T = 1 some samples overflow to NaN);
 * - the logit step first: 1.83 (α = 1e-6; 1e-3 1.82, 1e-2 2.64, RealNVP's 0.05 4.03), clean backgrounds
 *   and blobs; then lr 3e-3 1.68, exp(tanh) scale 1.71, K = 6 1.63, K = 6 + lr 3e-3 (σ) stroke-like
 *   shapes, T = 1 KID 0.77 but 5 of 64 samples overflowed; K = 6 + lr 3e-3 + exp(tanh) 1.47, T = 1 KID 0.45,
 *   none overflowed (this). K = 4 with it 1.51; 6 epochs at 1e-3 (K = 3) 1.66; 64-channel couplings
 *   (K = 6, σ, 176,520 params) 1.44 with no better samples; T = 0.7 and 0.85 gave fainter strokes and
 *   worse KID (10.9, 2.1) than T = 1. 4 epochs of this: 1.39, T = 1 KID 0.25, more strokes joined up (the
 *   default: about 4 minutes in the app's CLI).
 */
const GLOW_STEPS = 6;
const GLOW_SCALE = 'tanh';
const GLOW_LR = 3e-3;
const GLOW_EPOCHS = 4;
/** What `patchbay train glow` and `patchbay sample glow` measured with these defaults (the preset says it). */
const GLOW_MEASURED =
  'Measured from the CLI (WASM, 1 thread, load ~3-4): 1.39 bits/dim on the held-out digits after its 4 epochs (1,000 steps) in 243 s; 2 epochs 1.47 in 147 s; 5.52 before the logit step, K = 6 and the exp(tanh) scale. 64 samples at T = 1 (the default): clean backgrounds and centred, mostly joined strokes, some a recognisable 0, 1, 7 or 9, most still scribbles; KID 0.34 in the ConvMixer scorer (real digits 0.0075; 2 epochs 0.72; T = 0.85 0.80, T = 0.7 2.4, fainter).';

/**
 * A small Glow on MNIST with Glow's multi-scale architecture, after a logit step (RealNVP's
 * preprocessing of the dequantised pixels), L = 2 levels: each level squeezes (14×14×4, then 7×7×8)
 * and runs K steps of ActNorm → invertible 1×1 conv → affine coupling (channel mask, alternating,
 * exp(tanh) scale); after the first level a split factors out half of the channels (14×14×2,
 * modelled by a conditional Gaussian of the kept half), and a learned prior models the last level's
 * output. (L = 3 would need a third squeeze of 7×7, which is odd.)
 */
export function glow(): GraphDocument {
  const g = graphBuilder();
  const K = GLOW_STEPS;
  const L = 2;
  const LOGIT_ALPHA = 1e-6;
  // The chain of 43 nodes is laid out in five columns of nine, read top to bottom and left to right:
  // as one column it opened at a zoom of ~0.1, where no node shows its name or shape; columns of three
  // flow steps (four columns) opened at 0.399 and of two steps (six) at 0.359, under the 0.4 where
  // nodes show their details.
  const ROWS = 9;
  let placed = 0;
  const at = (): Partial<GraphNode> => {
    const [column, row] = [Math.floor(placed / ROWS), placed++ % ROWS];
    return { position: { x: column * 300, y: row * 130 } };
  };
  let x = g.add('x', 'Input', { shape: [28, 28, 1] }, [], at());
  // The logit step first (RealNVP's preprocessing): without it the flow has to squeeze the digits'
  // background, a slab 1/256 thick at 0, out of affine steps, and a 2-epoch run stalled at 5.5 bits/dim.
  x = g.add('logit', 'FlowLogit', { alpha: LOGIT_ALPHA }, [[x]], at());
  for (let level = 1; level <= L; level++) {
    x = g.add(`squeeze${level}`, 'Squeeze', {}, [[x]], at());
    for (let k = 1; k <= K; k++) {
      const id = `${level}_${k}`;
      x = g.add(`actnorm${id}`, 'ActNorm', {}, [[x]], at());
      x = g.add(`invconv${id}`, 'InvertibleConv1x1', {}, [[x]], at());
      x = g.add(`coupling${id}`, 'AffineCoupling', { parity: (k + 1) % 2, mask: 'channel', hidden: 32, scale: GLOW_SCALE }, [[x]], at());
    }
    if (level < L) x = g.add(`split${level}`, 'FlowSplit', {}, [[x]], at());
  }
  x = g.add('prior', 'FlowPrior', {}, [[x]], at());
  g.add('z', 'Output', {}, [[x]], at());
  const train = procedure('train', 'Maximum likelihood', 'train', (p) => {
    const data = p.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
    const deq = p.add('dequantize', 'Dequantize', { levels: 256 }, [[data, 'image']]);
    const flow = p.add('flow', 'Network', { network: 'model' }, [[deq, 'out', 'x']]);
    const nll = p.add('nll', 'FlowNLL', {}, [
      [flow, 'z', 'z'],
      [flow, 'logdet', 'logdet'],
    ]);
    p.add('minimize', 'Minimize', { optimizer: 'adam', learningRate: GLOW_LR, schedule: 'cosine', clipNorm: 50 }, [[nll, 'loss', 'loss']]);
  });
  const evaluate = procedure('evaluate', 'Evaluation', 'evaluate', (p) => {
    const data = p.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
    const deq = p.add('dequantize', 'Dequantize', { levels: 256 }, [[data, 'image']]);
    const flow = p.add('flow', 'Network', { network: 'model', weights: 'frozen' }, [[deq, 'out', 'x']]);
    // The dequantised digits go to "x" too: bits per dimension count all 784 of them, not only the
    // 7×7×8 values the flow ends in (the factored-out 14×14×2 are in logdet).
    p.add('likelihood', 'FlowLikelihood', { metric: 'testNll', bitsPerDimMetric: 'bitsPerDim', levels: 256 }, [
      [flow, 'z', 'z'],
      [flow, 'logdet', 'logdet'],
      [deq, 'out', 'x'],
    ]);
  });
  return {
    format: DOCUMENT_FORMAT,
    version: DOCUMENT_VERSION,
    nodeTypes: {},
    blocks: [],
    name: 'Glow',
    nodes: g.nodes,
    edges: g.edges,
    networks: [],
    program: {
      mainNetwork: { label: 'Flow', description: 'The invertible network: forward gives z and log|det J|, backward turns noise into samples.' },
      procedures: [train, evaluate],
    },
    training: training(GLOW_LR, 32, GLOW_EPOCHS),
    meta: {
      template: {
        id: 'glow',
        title: 'Glow',
        description:
          'Glow: Generative Flow with Invertible 1×1 Convolutions (Kingma & Dhariwal): steps of ActNorm, an LU-parameterised invertible 1×1 convolution and an affine coupling, on dequantised digits; reports bits per dimension.',
        paper: 'arXiv:1807.03039',
        defaultPreset: 'mnist',
      },
      presets: [
        {
          name: 'mnist',
          description: `Small multi-scale Glow on MNIST digits: a logit step, then ${L} levels (squeeze to 14×14×4, ${K} steps, split off 14×14×2; squeeze to 7×7×8, ${K} steps, learned prior), each step ActNorm, 1×1 conv and a channel coupling with a 32-channel conv net and an exp(tanh) scale; bits per dimension on held-out digits. ${GLOW_MEASURED}`,
          set: {},
        },
      ],
    },
  } as GraphDocument;
}

export function flowTemplates(): Record<string, GraphDocument> {
  return { realnvp: realnvp(), glow: glow() };
}

export const serialiseFlowTemplate = (d: GraphDocument) => `${JSON.stringify(d, null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, d] of Object.entries(flowTemplates())) {
    writeFileSync(join(ROOT, 'templates', `${name}.json`), serialiseFlowTemplate(d));
    console.log(`Wrote templates/${name}.json`);
  }
}
