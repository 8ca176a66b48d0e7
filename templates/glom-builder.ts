/**
 * The GLOM template (Hinton, 2021, "How to represent part-whole hierarchies in a neural network"),
 * built with the program builder and written to templates/glom.json by scripts/gen-program-templates.ts.
 *
 * GLOM is an idea paper; this is an experiment in its spirit, sized to train on a CPU in minutes. A
 * 7×7 grid of columns, one per 4×4 patch of a 28×28 digit; each column holds three level embeddings.
 * One iteration (the GLOM update layer) moves every level towards the mean of its previous state, a
 * bottom-up prediction from the level below, a top-down prediction from the level above at the
 * column's position, and the same level of the columns that agree with it. The update is its own
 * network, applied four times in a row by the procedure: four applications of one network are four
 * iterations with the same weights, and the canvas marks them as shared. Trained as a denoising
 * autoencoder: corrupt the digit (blank patches, add noise), iterate, decode each column's levels
 * back into its patch, and compare with the clean digit.
 */
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, type GraphDocument, type NetworkDef, type ProcedureDef } from '../src/document/schema';
import { graphBuilder, type GraphBuilder } from './program-builder';

function network(id: string, label: string, description: string, build: (g: GraphBuilder) => void): NetworkDef {
  const g = graphBuilder();
  build(g);
  return { id, label, description, nodes: g.nodes, edges: g.edges };
}

function procedure(id: string, label: string, kind: 'train' | 'evaluate', build: (g: GraphBuilder) => void, epochs?: number): ProcedureDef {
  const g = graphBuilder();
  build(g);
  return { id, label, kind, ...(epochs ? { epochs } : {}), nodes: g.nodes, edges: g.edges };
}

/** The template's sizes: 4×4 patches of a 28×28 digit make a 7×7 grid of columns. */
export const GLOM = { patch: 4, grid: 7, levels: 3, width: 32, hidden: 32, iterations: 3, decoderHidden: 64, epochs: 5 };
const COLUMNS = GLOM.grid * GLOM.grid;
const CORRUPTION = { stddev: 0.3, dropPatches: 0.25, patchSize: GLOM.patch };

/**
 * Corrupts the digit, embeds its patches, runs the shared update `iterations` times and decodes: the
 * same chain in training and in the evaluation (frozen there). Returns the corrupted image and the
 * reconstruction node ids.
 */
function denoise(p: GraphBuilder, data: string, frozen: boolean): { corrupted: string; decoded: string; levels: string } {
  const weights = frozen ? { weights: 'frozen' } : {};
  const corrupted = p.add('corrupt', 'CorruptImage', CORRUPTION, [[data, 'image']]);
  const columns = p.add('columns', 'Network', { network: 'model', ...weights }, [[corrupted, 'out', 'image']]);
  let levels: [string, string] = [columns, 'levels'];
  for (let i = 1; i <= GLOM.iterations; i++) {
    const step = p.add(
      `iteration${i}`,
      'Network',
      { network: 'update', ...weights },
      [
        [levels[0], levels[1], 'levels'],
        [columns, 'patches', 'patches'],
      ],
      { name: `Iteration ${i}` },
    );
    levels = [step, 'next'];
  }
  const decoded = p.add('decoder', 'Network', { network: 'decoder', ...weights }, [[levels[0], levels[1], 'levels']]);
  return { corrupted, decoded, levels: levels[0] };
}

export function glom(): GraphDocument {
  const g = graphBuilder();
  const image = g.add('image', 'Input', { shape: [28, 28, 1] });
  const embed = g.add('patchEmbed', 'Conv2D', { filters: GLOM.width, kernelSize: GLOM.patch, strides: GLOM.patch, padding: 'valid' }, [[image]]);
  const patches = g.add('patchRows', 'Reshape', { targetShape: [COLUMNS, GLOM.width] }, [[embed]]);
  g.add('patches', 'Output', {}, [[patches]]);
  const start = g.add('start', 'GlomLevels', { levels: GLOM.levels }, [[patches]]);
  g.add('levels', 'Output', {}, [[start]]);

  return {
    format: DOCUMENT_FORMAT,
    version: DOCUMENT_VERSION,
    nodeTypes: {},
    blocks: [],
    name: 'GLOM',
    nodes: g.nodes,
    edges: g.edges,
    networks: [
      network(
        'update',
        'GLOM update',
        'One iteration: each level becomes the mean of its previous state, the bottom-up network of the level below, the top-down network of the level above with the column’s position, and attention-weighted agreement with the same level in the other columns. The procedures apply it several times with the same weights.',
        (u) => {
          const levels = u.add('levels', 'Input', { shape: [COLUMNS, GLOM.levels, GLOM.width] });
          const patchesIn = u.add('patches', 'Input', { shape: [COLUMNS, GLOM.width] });
          const update = u.add('update', 'GlomUpdate', { hiddenUnits: GLOM.hidden, sharpness: 8, radius: 0 }, [
            [levels, 'out', 'in'],
            [patchesIn, 'out', 'patches'],
          ]);
          u.add('next', 'Output', {}, [[update]]);
        },
      ),
      network(
        'decoder',
        'Decoder',
        'Decodes each column’s levels into its 4×4 patch of pixels (a linear last layer: the loss is on the pixel values), and lays the patches out as the 28×28 image.',
        (d) => {
          const levels = d.add('levels', 'Input', { shape: [COLUMNS, GLOM.levels, GLOM.width] });
          const rows = d.add('columnRows', 'Reshape', { targetShape: [COLUMNS, GLOM.levels * GLOM.width] }, [[levels]]);
          const hidden = d.add('hidden', 'Dense', { units: GLOM.decoderHidden, activation: 'relu' }, [[rows]]);
          const pixels = d.add('pixels', 'Dense', { units: GLOM.patch * GLOM.patch }, [[hidden]]);
          const image = d.add('image', 'PatchesToImage', { patchSize: GLOM.patch, channels: 1 }, [[pixels]]);
          d.add('reconstruction', 'Output', {}, [[image]]);
        },
      ),
    ],
    program: {
      mainNetwork: {
        label: 'Columns',
        description: 'Cuts the digit into a 7×7 grid of 4×4 patches, embeds each patch, and starts every column’s three levels from learned vectors.',
      },
      procedures: [
        procedure(
          'train',
          'Denoising',
          'train',
          (p) => {
            const data = p.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
            const { decoded, levels } = denoise(p, data, false);
            const loss = p.add('reconstruction', 'MeanSquaredError', {}, [
              [decoded, 'reconstruction', 'a'],
              [data, 'image', 'b'],
            ]);
            // The contrastive consensus term, off by default (weight 0, not computed); the contrastive preset turns it on.
            const consensus = p.add('consensus', 'GlomConsensusLoss', { temperature: 0.1, weight: 0 }, [[levels, 'next', 'levels']]);
            const total = p.add('total', 'WeightedSum', { weights: [1, 1] }, [
              [loss, 'loss', 'inputs'],
              [consensus, 'loss', 'inputs'],
            ]);
            p.add('minimize', 'Minimize', { optimizer: 'adam', learningRate: 2e-3, schedule: 'cosine' }, [[total, 'out', 'loss']]);
          },
          GLOM.epochs,
        ),
        procedure('evaluate', 'Evaluation', 'evaluate', (p) => {
          const data = p.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
          const { corrupted, decoded } = denoise(p, data, true);
          p.add('reconstructionLoss', 'MeanSquaredErrorMetric', { metric: 'reconstructionLoss' }, [
            [decoded, 'reconstruction', 'a'],
            [data, 'image', 'b'],
          ]);
          // The trivial answer: hand back the corrupted digit. A model that learned something beats it.
          p.add('corruptedBaseline', 'MeanSquaredErrorMetric', { metric: 'baselines.corruptedInput' }, [
            [corrupted, 'out', 'a'],
            [data, 'image', 'b'],
          ]);
          // Another: answer every digit with the mean training digit, without looking at the input.
          p.add('meanImageBaseline', 'MeanImageBaseline', { metric: 'baselines.meanImage' }, [[data, 'image', 'image']]);
        }),
      ],
    },
    training: {
      optimizer: 'adam',
      learningRate: 2e-3,
      schedule: 'cosine',
      warmupSteps: 0,
      weightDecay: 0,
      momentum: 0.9,
      loss: 'meanSquaredError',
      metrics: [],
      batchSize: 64,
      epochs: GLOM.epochs,
      seed: 0,
    },
    meta: {
      template: {
        id: 'glom',
        title: 'GLOM',
        description:
          'How to represent part-whole hierarchies in a neural network (Hinton), built as an experiment: columns of level embeddings over image patches, updated from below, from above and by agreement with the other columns, one update applied several times with shared weights, trained to denoise digits.',
        paper: 'arXiv:2102.12627',
        defaultPreset: 'small',
      },
      presets: [
        {
          name: 'small',
          description: `A ${GLOM.grid}×${GLOM.grid} grid of ${GLOM.patch}×${GLOM.patch} patches, ${GLOM.levels} levels of width ${GLOM.width}, networks of ${GLOM.hidden} hidden units, ${GLOM.iterations} iterations with shared weights; denoises digits with a quarter of the patches blanked and noise σ 0.3. ${GLOM.epochs} epochs (625 steps of 64) reach a held-out reconstruction loss (mean squared error) of 0.0297, against 0.0666 for handing back the corrupted digit and 0.0680 for the mean training digit (under 2 minutes on 2 cores, wasm).`,
          set: {},
        },
        {
          name: 'contrastive',
          description:
            'The small preset with GLOM’s contrastive consensus term added to the reconstruction loss (weight 0.05, τ 0.1): each column is pulled towards the mean of its neighbours in its own image and away from that mean in the other images. Its 5 epochs (625 steps of 64) reach a held-out reconstruction loss of 0.0308 (the small preset: 0.0297), against 0.0666 for the corrupted digit and 0.0680 for the mean digit, with the consensus term at 0.197 at the end (one run, 172 s on one thread, wasm).',
          set: { 'train/consensus': { weight: 0.05 } },
        },
        {
          name: 'tiny',
          description: 'Levels of width 8 and networks of 8 hidden units: for tests and quick checks on the cpu backend.',
          set: {
            'model/patchEmbed': { filters: 8 },
            'model/patchRows': { targetShape: [COLUMNS, 8] },
            'update/levels': { shape: [COLUMNS, GLOM.levels, 8] },
            'update/patches': { shape: [COLUMNS, 8] },
            'update/update': { hiddenUnits: 8 },
            'decoder/levels': { shape: [COLUMNS, GLOM.levels, 8] },
            'decoder/columnRows': { targetShape: [COLUMNS, GLOM.levels * 8] },
            'decoder/hidden': { units: 32 },
          },
        },
      ],
    },
  };
}
