/**
 * The exported trainer of a training program (src/compiler/emit-program.ts): the copied runtime
 * sources are not stale, each template's module type-checks under --strict, and one step of the
 * exported trainer leaves the same weights as one step of the app's interpreter (ProgramRun) from
 * the same initial weights, batch, seed and step index, moving-average copies included, without
 * leaking tensors; and each evaluation of the exported trainer gives the app's metrics from the same
 * weights. Small data (32 or 320 synthetic 28×28 images, batches of 8) keeps it fast on the CPU.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GENERATED_PROGRAM_FILE, generateProgramSources } from '../scripts/gen-program-sources';
import { run as runCli } from '../src/cli/main';
import { emitProgram, opCall } from '../src/compiler/emit-program';
import { PROGRAM_SOURCES } from '../src/compiler/generated/program-sources';
import { PROGRAM_SPECS } from '../src/nodes/program/specs';
import { runOp } from '../src/runtime/program/ops';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import { seededRandom, shuffledIndices, type Dataset } from '../src/runtime/data/dataset';
import { ProgramRun, type ProcedureRecord } from '../src/runtime/program/run';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';
import { typecheckStrict } from './helpers/tsc';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, '.tmp', 'program-export');
const TEMPLATES = ['simsiam', 'byol', 'directpred', 'distillation', 'clip', 'capsnet tiny', 'glom tiny'];
const SEED = 3;
const BATCH = 8;
const LIMIT = 32;

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
  mkdirSync(OUT, { recursive: true });
  for (const id of TEMPLATES) writeFileSync(join(OUT, `${id}.ts`), emitProgram(programOf(id)));
});

/** A template's program: `id`, or `id preset` (CapsNet's tiny preset keeps its step quick on the cpu backend). */
function programOf(id: string): PlanProgram {
  const [template, preset] = id.split(' ');
  const r = templateDocument(template!, preset);
  if ('error' in r) throw new Error(r.error);
  const { program, diagnostics } = lowerProgram(analyzeProgram(r.doc)!);
  expect(diagnostics).toEqual([]);
  return program!;
}

/** Seeded 28×28×1 images in 10 classes: noise plus a bar whose row is the class (brightness 1 by default; fainter is harder). */
function images(count: number, bar = 1, noise = 0.2): Dataset {
  const random = seededRandom(11);
  const make = (n: number) => {
    const x = new Float32Array(n * 784);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 10;
      for (let j = 0; j < 784; j++) x[i * 784 + j] = noise * random();
      for (let c = 4; c < 24; c++) x[i * 784 + (4 + 2 * y[i]!) * 28 + c] += bar;
    }
    return { x, y, count: n };
  };
  return { name: 'bars', inputShape: [28, 28, 1], classNames: Array.from({ length: 10 }, (_, i) => String(i)), train: make(count), test: make(count / 4) };
}

/** The first batch ProgramRun.train draws with this seed (the same shuffle), as the exported trainer takes it. */
function firstBatch(ds: Dataset): { image: tfType.Tensor4D; label: tfType.Tensor2D } {
  const order = shuffledIndices(LIMIT, seededRandom(SEED));
  const x = new Float32Array(BATCH * 784);
  const labels = new Int32Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    x.set(ds.train.x.subarray(order[i]! * 784, (order[i]! + 1) * 784), i * 784);
    labels[i] = ds.train.y[order[i]!]!;
  }
  return tf.tidy(() => ({ image: tf.tensor4d(x, [BATCH, 28, 28, 1]), label: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tfType.Tensor2D }));
}

function maxDifference(a: tfType.Tensor[], b: tfType.Tensor[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((t, i) => {
    expect(t.shape).toEqual(b[i]!.shape);
    worst = Math.max(
      worst,
      tf.tidy(() => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!),
    );
  });
  return worst;
}

it('src/compiler/generated/program-sources.ts is what scripts/gen-program-sources.ts writes from the runtime now', () => {
  expect(readFileSync(GENERATED_PROGRAM_FILE, 'utf8')).toBe(generateProgramSources());
});

it("each template's exported module passes tsc --noEmit --strict", () => {
  typecheckStrict(TEMPLATES.map((id) => join(OUT, `${id}.ts`)));
});

it('patchbay export simsiam --out writes the whole module (networks and trainer), without a note', async () => {
  const file = join(OUT, 'cli-simsiam.ts');
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['export', 'simsiam', '--out', file], { out: (t) => out.push(t), err: (t) => err.push(t) });
  expect(code).toBe(0);
  expect(readFileSync(file, 'utf8')).toBe(emitProgram(programOf('simsiam')));
  const trainable = programOf('simsiam').count.trainable.toLocaleString('en-US');
  expect(err.join('\n')).toMatch(new RegExp(`^Wrote .*cli-simsiam\\.ts \\(${trainable} trainable params, 3 networks and a trainer\\)\\.$`));
  expect(readFileSync(file, 'utf8')).toContain('export function createTrainer(');
});

type Batch = { image: tfType.Tensor4D; label: tfType.Tensor2D };

interface ExportedModule {
  createNetworks: () => Record<string, tfType.LayersModel>;
  createTrainer: (
    nets: Record<string, tfType.LayersModel>,
    options: { seed: number },
  ) => {
    averages: Map<string, tfType.LayersModel>;
    procedures: Record<
      string,
      | {
          kind: 'train';
          trainStep: (batch: { image: tfType.Tensor4D; label: tfType.Tensor2D }, step: number, totalSteps: number) => Promise<Record<string, number>>;
        }
      | { kind: 'evaluate'; evaluate: (data: { train: Batch[]; test: Batch[] }) => Promise<Record<string, unknown>> }
    >;
    dispose: () => void;
  };
}

describe.each(TEMPLATES)('%s: one exported step equals one step in the app', (id) => {
  it('same weights (≤ 1e-5) for every network and moving-average copy, and no tensor leaked per step', async () => {
    const program = programOf(id);
    const ds = images(LIMIT);
    const run = new ProgramRun(tf, program, SEED);
    const module = (await import(/* @vite-ignore */ join(OUT, `${id}.ts`))) as ExportedModule;
    const nets = module.createNetworks();
    for (const net of program.networks) nets[net.id]!.setWeights(run.networks.get(net.id)!.model.getWeights());
    const trainer = module.createTrainer(nets, { seed: SEED });
    const batch = firstBatch(ds);
    const before = new Map(
      program.networks.map((n) => [
        n.id,
        run.networks
          .get(n.id)!
          .model.getWeights()
          .map((w) => w.clone()),
      ]),
    );
    try {
      const trainProcedures = program.procedures.filter((p) => p.kind === 'train');
      expect(trainProcedures.length).toBeGreaterThan(0);
      for (const proc of trainProcedures) {
        // The app: one step of the procedure (stopped after it), from the first of 4 batches.
        let steps = 0;
        const record: ProcedureRecord = { id: proc.id, label: proc.label, kind: 'train', steps: 0, seconds: 0, curves: {} };
        const outcome = await run.train(
          proc,
          ds,
          { seed: SEED, batchSize: BATCH, epochs: 1, epochsOverride: 1, limit: LIMIT, onStep: () => void steps++, shouldStop: () => steps >= 1 },
          record,
        );
        expect(outcome.status).toBe('stopped');
        expect(record.steps).toBe(1);
        // The export: the same step (index 0 of 4).
        const step = trainer.procedures[proc.id]!;
        if (step.kind !== 'train') throw new Error(`${proc.id} is not a training procedure in the export`);
        const losses = await step.trainStep(batch, 0, LIMIT / BATCH);
        for (const [node, curve] of Object.entries(record.curves)) expect(losses[node], `${proc.id}/${node}`).toBeCloseTo(curve[0]!, 5);
      }
      for (const net of program.networks) {
        const app = run.networks.get(net.id)!;
        // Every weight, LayerNorm's included: the export builds FastLayerNormalization as the app does.
        expect(maxDifference(app.model.getWeights(), nets[net.id]!.getWeights()), `${id}: network ${net.id}`).toBeLessThanOrEqual(1e-5);
        expect(!!app.ema, `${id}: a moving average of ${net.id} on both sides or neither`).toBe(trainer.averages.has(net.id));
        if (app.ema)
          expect(maxDifference(app.ema.getWeights(), trainer.averages.get(net.id)!.getWeights()), `${id}: moving average of ${net.id}`).toBeLessThanOrEqual(
            1e-5,
          );
      }
      // The comparison is not vacuous: the step moved the main network's weights.
      expect(maxDifference(before.get('model')!, nets.model!.getWeights())).toBeGreaterThan(1e-4);

      // A second exported step, once optimizer slots and moving-average copies exist, leaks nothing.
      const proc = trainProcedures[0]!;
      const step = trainer.procedures[proc.id]! as { trainStep: (b: typeof batch, s: number, t: number) => Promise<Record<string, number>> };
      const tensors = tf.memory().numTensors;
      await step.trainStep(batch, 1, LIMIT / BATCH);
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      tf.dispose([batch.image, batch.label, ...[...before.values()].flat()]);
      trainer.dispose();
      for (const m of Object.values(nets)) m.dispose();
      run.dispose();
    }
  });
});

/** A split as the exported evaluation takes it: batches of 256 in order, as ProgramRun.evaluate collects. */
function batchesOf(ds: Dataset, split: Dataset['train']): Batch[] {
  const batches: Batch[] = [];
  for (let start = 0; start < split.count; start += 256) {
    const n = Math.min(256, split.count - start);
    const x = split.x.subarray(start * 784, (start + n) * 784);
    const labels = Int32Array.from(split.y.subarray(start, start + n));
    batches.push(
      tf.tidy(() => ({
        image: tf.tensor4d(x, [n, 28, 28, 1]),
        label: tf.oneHot(tf.tensor1d(labels, 'int32'), ds.classNames.length).toFloat() as tfType.Tensor2D,
      })),
    );
  }
  return batches;
}

/** Nested results (`baselines.randomInitLinearProbe`) as one flat record of dotted names. */
function flatMetrics(metrics: Record<string, unknown>, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value === 'number') out[prefix + key] = value;
    else Object.assign(out, flatMetrics(value as Record<string, unknown>, `${prefix}${key}.`));
  }
  return out;
}

const EVALUATED: Record<string, string[]> = {
  simsiam: ['baselines.randomInitLinearProbe', 'baselines.rawPixelsLinearProbe', 'collapseReference', 'collapseStd', 'knnAccuracy', 'linearProbeAccuracy'],
  distillation: ['studentAloneAccuracy', 'teacherTestAccuracy', 'testAccuracy'],
  clip: ['testAccuracy', 'zeroShotAccuracy'],
};

describe.each(Object.keys(EVALUATED))('%s: the exported evaluation equals the app’s', (id) => {
  it('the same metrics (≤ 1e-6) from the same weights on 320 training and 80 held-out images, the baselines from the same initial weights, and no tensor leaked on either side', async () => {
    const program = programOf(id);
    // Faint bars in strong noise, so that no measure is at 0 or 1; 320 examples are two probe batches, so the probe's seeded shuffle matters.
    const ds = images(320, 0.5, 1);
    const run = new ProgramRun(tf, program, SEED);
    const module = (await import(/* @vite-ignore */ join(OUT, `${id}.ts`))) as ExportedModule;
    const nets = module.createNetworks();
    // Both sides start from the app's initial weights (the random-init baseline measures these)...
    for (const net of program.networks) nets[net.id]!.setWeights(run.networks.get(net.id)!.model.getWeights());
    const trainer = module.createTrainer(nets, { seed: SEED });
    // ...then both move to other weights (another seed's), so the current and initial networks differ.
    const other = new ProgramRun(tf, program, SEED + 1);
    for (const net of program.networks) {
      const weights = other.networks.get(net.id)!.model.getWeights();
      run.networks.get(net.id)!.model.setWeights(weights);
      nets[net.id]!.setWeights(weights);
    }
    other.dispose();
    const data = { train: batchesOf(ds, ds.train), test: batchesOf(ds, ds.test) };
    try {
      const evaluations = program.procedures.filter((p) => p.kind === 'evaluate');
      expect(evaluations.length).toBeGreaterThan(0);
      const app: Record<string, unknown> = {};
      const exported: Record<string, number> = {};
      for (const proc of evaluations) {
        const before = tf.memory().numTensors;
        await run.evaluate(proc, ds, { seed: SEED, batchSize: BATCH, epochs: 1 }, app);
        expect(tf.memory().numTensors, `${id}: tensors left by the app's ${proc.id}`).toBe(before);
        const procedure = trainer.procedures[proc.id]!;
        if (procedure.kind !== 'evaluate') throw new Error(`${proc.id} is not an evaluation in the export`);
        Object.assign(exported, flatMetrics(await procedure.evaluate(data)));
        expect(tf.memory().numTensors, `${id}: tensors left by the exported ${proc.id}`).toBe(before);
      }
      const expected = flatMetrics(app);
      expect(Object.keys(expected).sort()).toEqual(EVALUATED[id]);
      expect(Object.keys(exported).sort()).toEqual(EVALUATED[id]);
      // Not vacuous: accuracies away from 0 and 1, and the random-init baseline not the probe on the current weights.
      for (const name of EVALUATED[id]!.filter((n) => !n.startsWith('collapse'))) {
        expect(expected[name], name).toBeGreaterThan(0);
        expect(expected[name], name).toBeLessThan(1);
      }
      if (id === 'simsiam') expect(expected['baselines.randomInitLinearProbe']).not.toBe(expected.linearProbeAccuracy);
      for (const name of EVALUATED[id]!)
        expect(Math.abs(exported[name]! - expected[name]!), `${id}: ${name} (app ${expected[name]}, export ${exported[name]})`).toBeLessThanOrEqual(1e-6);
      // Both sides put the current weights back after measuring the baselines on the initial ones.
      for (const net of program.networks) expect(maxDifference(run.networks.get(net.id)!.model.getWeights(), nets[net.id]!.getWeights())).toBe(0);
    } finally {
      tf.dispose([...data.train, ...data.test].flatMap((b) => [b.image, b.label]));
      trainer.dispose();
      for (const m of Object.values(nets)) m.dispose();
      run.dispose();
    }
  });
});

describe('every op: the exported call runs what the interpreter runs', () => {
  /** Inputs per op, by its spec's inputs: images for augmentations, rows for the rest, one-hot labels. */
  const inputsFor = (op: string, count: number): tfType.Tensor[] => {
    const image = () => tf.randomUniform([3, 6, 6, 1], 0, 1, 'float32', 5);
    const rows = (seed: number) => tf.randomNormal([4, 5], 0, 1, 'float32', seed);
    const label = () => tf.oneHot(tf.tensor1d([0, 3, 1, 4], 'int32'), 5).toFloat();
    if (['RandomTranslate', 'RandomAffine', 'RandomFlip', 'GaussianNoise', 'RandomErase', 'FlattenExamples'].includes(op)) return [image()];
    if (op === 'CrossEntropy') return [tf.softmax(rows(1)), label()];
    if (op === 'Diffuse') return [rows(1), rows(2), tf.tensor2d([[0], [10], [500], [999]])];
    if (op === 'DiffusionHybridLoss') {
      const pixels = (seed: number, c = 1) => tf.randomUniform([4, 3, 3, c], -1, 1, 'float32', seed);
      return [pixels(1, 2), pixels(2), pixels(3), pixels(4), tf.tensor2d([[0], [10], [500], [999]])];
    }
    if (op === 'DistillationLoss') return [rows(1), rows(2), label()];
    if (op === 'MaskCapsules') return [tf.randomNormal([4, 5, 3], 0, 1, 'float32', 1), label()];
    if (op === 'MarginLoss') return [tf.randomUniform([4, 5], 0, 1, 'float32', 1), label()];
    if (op === 'Captions') return [tf.oneHot(tf.tensor1d([0, 3, 1, 9], 'int32'), 10).toFloat()];
    if (op === 'ZeroShotClassifier') return [rows(1), tf.randomNormal([20, 5], 0, 1, 'float32', 2)];
    if (op === 'Dequantize') return [image()];
    if (op === 'FlowNLL') return [rows(1), tf.randomNormal([4], 0, 1, 'float32', 2)];
    // Whole 4×4 patches (its default patch size) on 8×8 images; GLOM's levels: 4 images, a 2×2 grid, 3 levels of width 5.
    if (op === 'CorruptImage') return [tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 5)];
    // SR3's low resolution (factor 4) and Palette's square mask on 8×8 images.
    if (op === 'LowResolution' || op === 'SquareMask') return [tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 5)];
    // Palette's colourisation: grey images and their one-hot classes; RGB images for the luma.
    if (op === 'ClassColour') return [image(), tf.oneHot(tf.tensor1d([0, 3, 1], 'int32'), 5).toFloat()];
    if (op === 'Luminance') return [tf.randomUniform([3, 6, 6, 3], 0, 1, 'float32', 5)];
    if (op === 'GlomConsensusLoss') return [tf.randomNormal([4, 4, 3, 5], 0, 1, 'float32', 6)];
    return Array.from({ length: count }, (_, i) => rows(i + 1));
  };
  const ops = PROGRAM_SPECS.filter((s) => s.kind === 'op' || s.kind === 'loss');

  it('covers every op and loss node', () => {
    expect(ops.map((s) => s.type).sort()).toEqual([
      'Captions',
      'ClassColour',
      'Composite',
      'CorruptImage',
      'CrossEntropy',
      'Dequantize',
      'Diffuse',
      'DiffusionHybridLoss',
      'DiffusionNoise',
      'DiffusionTarget',
      'DiffusionTimestep',
      'DistillationLoss',
      'FlattenExamples',
      'FlowNLL',
      'GaussianNoise',
      'GlomConsensusLoss',
      'InfoNCE',
      'LowResolution',
      'Luminance',
      'MarginLoss',
      'MaskCapsules',
      'MaskedMeanSquaredError',
      'MeanOf',
      'MeanSquaredError',
      'NegativeCosine',
      'NormalizedMSE',
      'Prompts',
      'RandomAffine',
      'RandomErase',
      'RandomFlip',
      'RandomTranslate',
      'ReconstructionLoss',
      'ScaleShift',
      'SquareMask',
      'StopGradient',
      'WeightedSum',
      'ZeroShotClassifier',
    ]);
  });

  it('each op with its default params, at step 5 of seed 3, through the copied sources equals runOp', async () => {
    // One module: every copied declaration, then one function per op that makes the exported call.
    const calls = ops.map((spec) => {
      const config = spec.params.parse(spec.type === 'RandomFlip' || spec.type === 'RandomErase' ? { probability: 0.5 } : {}) as Record<string, unknown>;
      const count = spec.type === 'MeanOf' || spec.type === 'WeightedSum' || spec.type === 'InfoNCE' ? 2 : spec.inputs.length;
      if (spec.type === 'WeightedSum') config.weights = [0.25, 0.75];
      const names = ['a', 'b', 'c', 'd', 'e'].slice(0, count);
      const { code } = opCall(
        { kind: 'op', nodeId: `node ${spec.type}`, op: spec.type, config, inputs: names, output: 'out', loss: spec.kind === 'loss' },
        names,
      );
      return {
        spec,
        config,
        count,
        fn: `  ${spec.type}: (a: tfType.Tensor, b: tfType.Tensor, c: tfType.Tensor, d: tfType.Tensor, e: tfType.Tensor): tfType.Tensor => ${code},`,
      };
    });
    const source = [
      "import * as tf from '@tensorflow/tfjs';",
      "import type * as tfType from '@tensorflow/tfjs';",
      ...Object.values(PROGRAM_SOURCES).map((s) => s.source),
      'const seed = 3;',
      'const step = 5;',
      'export const OPS: Record<string, (a: tfType.Tensor, b: tfType.Tensor, c: tfType.Tensor, d: tfType.Tensor, e: tfType.Tensor) => tfType.Tensor> = {',
      ...calls.map((c) => c.fn),
      '};',
      '',
    ].join('\n\n');
    const file = join(OUT, 'ops.ts');
    writeFileSync(file, source);
    const { OPS } = (await import(/* @vite-ignore */ file)) as {
      OPS: Record<string, (a: tfType.Tensor, b?: tfType.Tensor, c?: tfType.Tensor, d?: tfType.Tensor, e?: tfType.Tensor) => tfType.Tensor>;
    };
    for (const { spec, config, count } of calls) {
      const inputs = inputsFor(spec.type, count);
      const exported = OPS[spec.type]!(inputs[0]!, inputs[1], inputs[2], inputs[3], inputs[4]);
      const app = runOp(tf, spec.type, config, inputs, { seed: 3, step: 5, nodeId: `node ${spec.type}` });
      expect(exported.shape, spec.type).toEqual(app.shape);
      expect(maxDifference([exported], [app]), spec.type).toBeLessThanOrEqual(1e-6);
      tf.dispose([...inputs, exported, app]);
    }
  });
});
