/**
 * Writes the program templates (templates/simsiam.json, byol.json, directpred.json,
 * distillation.json) from the builders below. Run `npx tsx scripts/gen-program-templates.ts` after
 * changing them; test/program-templates.test.ts fails while a file is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, type GraphDocument, type NetworkDef, type ProcedureDef } from '../src/document/schema';
import { denseBnRelu, graphBuilder, type GraphBuilder } from '../templates/program-builder';

const ROOT = join(import.meta.dirname, '..');

function doc(fields: Omit<GraphDocument, 'format' | 'version' | 'nodeTypes' | 'blocks'> & Pick<GraphDocument, 'name' | 'nodes' | 'edges' | 'networks' | 'meta'>): GraphDocument {
  return { format: DOCUMENT_FORMAT, version: DOCUMENT_VERSION, nodeTypes: {}, blocks: [], ...fields };
}

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

/**
 * The small conv encoder the SSL templates share: 28×28×1 → 128 features. Strided convolutions
 * (16, 32, 64 filters) then a Dense layer over the flattened 4×4 grid, which keeps where strokes
 * are (a global pool would throw that away, and digits differ by where their strokes are).
 */
function encoder(g: GraphBuilder): void {
  const image = g.add('image', 'Input', { shape: [28, 28, 1] });
  let x = image;
  [16, 32, 64].forEach((filters, i) => {
    const c = g.add(`conv${i + 1}`, 'Conv2D', { filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false }, [[x]]);
    const b = g.add(`norm${i + 1}`, 'BatchNormalization', { momentum: 0.9 }, [[c]]);
    x = g.add(`relu${i + 1}`, 'Activation', { activation: 'relu' }, [[b]]);
  });
  const flat = g.add('flatten', 'Flatten', {}, [[x]]);
  const dense = g.add('embed', 'Dense', { units: 128, useBias: false }, [[flat]]);
  const norm = g.add('embedNorm', 'BatchNormalization', { momentum: 0.9 }, [[dense]]);
  const relu = g.add('embedRelu', 'Activation', { activation: 'relu' }, [[norm]]);
  g.add('features', 'Output', {}, [[relu]]);
}

/** Two augmented views of one batch: independent random translations and erasing. */
function twoViews(g: GraphBuilder): [string, string] {
  const data = g.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
  const views = [1, 2].map((i) => {
    const t = g.add(`translate${i}`, 'RandomTranslate', { pixels: 3 }, [[data, 'image']]);
    return g.add(`erase${i}`, 'RandomErase', { probability: 0.5, size: 0.3 }, [[t]]);
  });
  return views as [string, string];
}

/** The SSL evaluation: linear probe and kNN on encoder features, collapse on z, two baselines. */
function sslEvaluation(g: GraphBuilder): void {
  const data = g.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
  const f = g.add('encoder', 'Network', { network: 'model', weights: 'frozen' }, [[data, 'image', 'image']]);
  g.add('probe', 'LinearProbe', { metric: 'linearProbeAccuracy', randomInitMetric: 'baselines.randomInitLinearProbe' }, [[f, 'features', 'features'], [data, 'label', 'label']]);
  g.add('knn', 'KNearestNeighbours', { metric: 'knnAccuracy', k: 20 }, [[f, 'features', 'features'], [data, 'label', 'label']]);
  const z = g.add('projector', 'Network', { network: 'projector', weights: 'frozen' }, [[f, 'features', 'features']]);
  g.add('collapse', 'CollapseMonitor', { metric: 'collapseStd' }, [[z, 'z', 'features']]);
  const pixels = g.add('pixels', 'FlattenExamples', {}, [[data, 'image']]);
  g.add('pixelProbe', 'LinearProbe', { metric: 'baselines.rawPixelsLinearProbe' }, [[pixels, 'out', 'features'], [data, 'label', 'label']]);
}

function projector(): NetworkDef {
  return network('projector', 'Projector', 'Maps features to the 64-d space the loss compares (Dense–BN–ReLU, Dense–BN).', (g) => {
    const x = g.add('features', 'Input', { shape: [128] });
    const h = denseBnRelu(g, 'hidden', x, 256);
    const z = denseBnRelu(g, 'proj', h, 64, false);
    g.add('z', 'Output', {}, [[z]]);
  });
}

function simsiam(): GraphDocument {
  const g = graphBuilder();
  encoder(g);
  return doc({
    name: 'SimSiam',
    nodes: g.nodes,
    edges: g.edges,
    networks: [
      projector(),
      network('predictor', 'Predictor', 'The bottleneck predictor h (64 → 16 → 64) that SimSiam trains against the stopped target.', (p) => {
        const z = p.add('z', 'Input', { shape: [64] });
        const h = denseBnRelu(p, 'bottleneck', z, 16);
        const out = p.add('predict', 'Dense', { units: 64 }, [[h]]);
        p.add('p', 'Output', {}, [[out]]);
      }),
    ],
    program: {
      procedures: [
        procedure('pretrain', 'Self-supervised training', 'train', (p) => {
          const [v1, v2] = twoViews(p);
          const branch = (i: number, view: string) => {
            const f = p.add(`encoder${i}`, 'Network', { network: 'model' }, [[view, 'out', 'image']]);
            const z = p.add(`projector${i}`, 'Network', { network: 'projector' }, [[f, 'features', 'features']]);
            const q = p.add(`predictor${i}`, 'Network', { network: 'predictor' }, [[z, 'z', 'z']]);
            const stop = p.add(`stop${i}`, 'StopGradient', {}, [[z, 'z']]);
            return { q, stop };
          };
          const a = branch(1, v1);
          const b = branch(2, v2);
          const l1 = p.add('loss12', 'NegativeCosine', {}, [[a.q, 'p', 'p'], [b.stop, 'out', 'z']]);
          const l2 = p.add('loss21', 'NegativeCosine', {}, [[b.q, 'p', 'p'], [a.stop, 'out', 'z']]);
          const loss = p.add('loss', 'MeanOf', {}, [[l1, 'loss', 'inputs'], [l2, 'loss', 'inputs']]);
          p.add('minimize', 'Minimize', { optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4, schedule: 'cosine' }, [[loss, 'out', 'loss']]);
        }),
        procedure('evaluate', 'Evaluation', 'evaluate', sslEvaluation),
      ],
    },
    training: { optimizer: 'sgd', learningRate: 0.05, schedule: 'cosine', warmupSteps: 0, weightDecay: 0, momentum: 0.9, loss: 'categoricalCrossentropy', metrics: ['accuracy'], batchSize: 128, epochs: 8, seed: 0 },
    meta: {
      template: { id: 'simsiam', title: 'SimSiam', description: 'Exploring Simple Siamese Representation Learning (Chen & He): two views, one encoder, a predictor and a stop-gradient, no negatives.', paper: 'arXiv:2011.10566', defaultPreset: 'mnist' },
      presets: [{ name: 'mnist', description: 'Conv encoder (32-64-128, 128-d features), projector 256→64, predictor 64→16→64, on MNIST digits; linear probe, kNN and collapse monitor.', set: {} }],
    },
  });
}

const TEMPLATES: Record<string, () => GraphDocument> = { simsiam };

export function programTemplates(): Record<string, GraphDocument> {
  return Object.fromEntries(Object.entries(TEMPLATES).map(([name, make]) => [name, make()]));
}

export const serialise = (d: GraphDocument) => `${JSON.stringify(d, null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, d] of Object.entries(programTemplates())) writeFileSync(join(ROOT, 'templates', `${name}.json`), serialise(d));
}
