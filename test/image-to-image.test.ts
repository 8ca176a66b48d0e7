/**
 * SR3 and Palette: the resizing behind SR3's low-resolution input, Palette's mask, composite and
 * masked loss, the measures against hand-computed values, the conditional sampler keeping known
 * pixels, and the two templates end to end (conditioning shapes, a training step, the sampling
 * measures, the exported module under tsc --strict with the app's metrics).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { emitProgram } from '../src/compiler/emit-program';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import type { GraphDocument } from '../src/document/schema';
import { getProgramSpec } from '../src/nodes/program/specs';
import { seededRandom, type Dataset } from '../src/runtime/data/dataset';
import { conditionalMeasure, denoiserSetup } from '../src/runtime/program/denoiser';
import { diffusionSchedule, sampleDiffusion } from '../src/runtime/program/diffusion';
import {
  averagingMatrix,
  composite,
  conditionalScores,
  lowResolution,
  maskedMeanSquaredError,
  maskedMse,
  meanPsnr,
  meanRow,
  resizeMatrix,
  squareMask,
} from '../src/runtime/program/image-to-image';
import { ProgramRun } from '../src/runtime/program/run';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';
import { typecheckStrict } from './helpers/tsc';

const ROOT = join(import.meta.dirname, '..');
let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `at ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(tol);
};

describe('resizing', () => {
  it('bilinear 2 → 4 with half-pixel centres and repeated edges, by hand', () => {
    close(resizeMatrix('bilinear', 2, 4), [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  });

  it("bicubic 4 → 8: Keys' a = −0.5 weights at source x = 1.25, by hand, and every row sums to 1", () => {
    const m = resizeMatrix('bicubic', 4, 8);
    // Output 3 sits at x = (3 + ½)·4/8 − ½ = 1.25: taps at distances 1.25, 0.25, 0.75, 1.75.
    close(m.subarray(3 * 4, 4 * 4), [-0.0703125, 0.8671875, 0.2265625, -0.0234375]);
    for (let i = 0; i < 8; i++) expect(m.subarray(i * 4, (i + 1) * 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('averaging 4 → 2 takes the mean of each pair', () => {
    close(averagingMatrix(4, 2), [0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]);
  });

  it('lowResolution averages 4×4 blocks then upsamples: a JS loop over the same matrices agrees, and a constant image stays constant', () => {
    const random = seededRandom(1);
    const pixels = Float32Array.from({ length: 2 * 8 * 8 }, () => random());
    const x = tf.tensor4d(pixels, [2, 8, 8, 1]);
    const out = lowResolution(tf, x, 4, 'bilinear');
    expect(out.shape).toEqual([2, 8, 8, 1]);
    const up = resizeMatrix('bilinear', 2, 8);
    const expected = new Float32Array(2 * 64);
    for (let n = 0; n < 2; n++) {
      const small = [0, 0, 0, 0];
      for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) small[Math.floor(r / 4) * 2 + Math.floor(c / 4)]! += pixels[n * 64 + r * 8 + c]! / 16;
      for (let r = 0; r < 8; r++)
        for (let c = 0; c < 8; c++) {
          let v = 0;
          for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) v += up[r * 2 + i]! * up[c * 2 + j]! * small[i * 2 + j]!;
          expected[n * 64 + r * 8 + c] = v;
        }
    }
    close(out.dataSync(), expected, 1e-5);
    const flat = lowResolution(tf, tf.fill([1, 28, 28, 1], 0.3), 4, 'bicubic');
    close(flat.dataSync(), new Float32Array(784).fill(0.3), 1e-5);
    tf.dispose([x, out, flat]);
  });
});

describe('node shapes', () => {
  it('Low resolution refuses a factor that does not divide the side, and Composite refuses shapes that differ, saying what they received', () => {
    const low = getProgramSpec('LowResolution')!;
    expect(low.infer(low.params.parse({ factor: 5 }), [[null, 28, 28, 1]])).toMatchObject({
      code: 'PB300',
      message: expect.stringContaining('(None, 28, 28, 1)'),
    });
    const comp = getProgramSpec('Composite')!;
    expect(
      comp.infer({}, [
        [null, 28, 28, 1],
        [null, 28, 28, 1],
        [null, 14, 14, 1],
      ]),
    ).toMatchObject({
      code: 'PB301',
      message: expect.stringContaining('(None, 14, 14, 1)'),
    });
  });
});

describe("Palette's mask, composite and loss", () => {
  const ctx = { seed: 3, step: 5, nodeId: 'mask' };

  it('a square of size² ones per example inside the image, the same for the same seed and step, another for the next step', () => {
    const like = tf.zeros([4, 10, 10, 1]);
    const a = squareMask(tf, like, 4, 'random', ctx).dataSync();
    const b = squareMask(tf, like, 4, 'random', ctx).dataSync();
    const c = squareMask(tf, like, 4, 'random', { ...ctx, step: 6 }).dataSync();
    close(a, b);
    expect(Array.from(a)).not.toEqual(Array.from(c));
    for (let n = 0; n < 4; n++) {
      const rows = new Set<number>();
      const cols = new Set<number>();
      let ones = 0;
      for (let i = 0; i < 100; i++)
        if (a[n * 100 + i] === 1) {
          ones++;
          rows.add(Math.floor(i / 10));
          cols.add(i % 10);
        }
      expect(ones).toBe(16);
      expect([rows.size, cols.size]).toEqual([4, 4]);
      expect(Math.max(...rows) - Math.min(...rows)).toBe(3);
    }
    const centre = squareMask(tf, tf.zeros([1, 4, 4, 1]), 2, 'center', ctx).dataSync();
    expect(Array.from(centre)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    like.dispose();
  });

  it('composite takes inside where the mask is 1 and outside elsewhere', () => {
    const out = composite(tf, tf.tensor1d([1, 2, 3]), tf.tensor1d([7, 8, 9]), tf.tensor1d([1, 0, 1]));
    expect(Array.from(out.dataSync())).toEqual([1, 8, 3]);
  });

  it('the masked MSE averages over the masked elements only: by hand, and errors outside the mask change neither it nor its gradient there', () => {
    const mask = tf.tensor2d([
      [1, 0],
      [1, 0],
    ]);
    const b = tf.tensor2d([
      [0, 0],
      [0, 0],
    ]);
    const a1 = tf.tensor2d([
      [1, 5],
      [3, -7],
    ]);
    const a2 = tf.tensor2d([
      [1, 100],
      [3, 0],
    ]);
    // (1² + 3²) / 2 masked elements = 5.
    expect(maskedMeanSquaredError(tf, a1, b, mask).dataSync()[0]).toBeCloseTo(5, 6);
    expect(maskedMeanSquaredError(tf, a2, b, mask).dataSync()[0]).toBeCloseTo(5, 6);
    const grad = tf.grad((a: tfType.Tensor) => maskedMeanSquaredError(tf, a, b, mask))(a1);
    // d/da of Σ mask·a² / 2 = mask·a.
    close(grad.dataSync(), [1, 0, 3, 0]);
    tf.dispose([mask, b, a1, a2, grad]);
  });
});

describe('measures, by hand', () => {
  it('mean PSNR over images: 10·log10(1 / MSE) each, then the mean', () => {
    // Image 1: every pixel off by 0.5 → MSE 0.25 → 6.0206 dB; image 2: off by 0.1 → 20 dB.
    const psnr = meanPsnr([0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1], [0, 0, 0, 0, 0, 0, 0, 0], 4);
    expect(psnr).toBeCloseTo((10 * Math.log10(4) + 20) / 2, 4);
    expect(meanPsnr([0.2, 0.2], [0.2, 0.2], 2)).toBe(100);
  });

  it('masked MSE counts the masked pixels only; the mean row is per position', () => {
    expect(maskedMse([1, 9, 0.5, 9], [0, 0, 0, 0], [1, 0, 1, 0])).toBeCloseTo((1 + 0.25) / 2, 9);
    expect(Number.isNaN(maskedMse([1], [0], [0]))).toBe(true);
    close(meanRow([0, 1, 2, 4, 6, 8], 3), [2, 3.5, 5]);
  });
});

describe('conditional sampling', () => {
  it('feeds the condition as the third input and keeps the known pixels exactly; no tensor leaks', async () => {
    const seen: number[][] = [];
    // A stand-in denoiser that records its inputs' shapes and predicts ε from x_t and the condition.
    const model = {
      apply(inputs: tfType.Tensor[]) {
        seen.push(inputs.map((t) => t.rank));
        return tf.add(tf.mul(inputs[0]!, 0.5), tf.mul(inputs[2]!, 0.1));
      },
    };
    const image = tf.tidy(() => tf.sub(tf.mul(tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 1), 2), 1));
    const mask = squareMask(tf, image, 2, 'center', { seed: 0, step: 0, nodeId: 'm' });
    const condition = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 2);
    const before = tf.memory().numTensors;
    const out = await sampleDiffusion(tf, model, diffusionSchedule('cosine', 100), [4, 4, 1], {
      count: 2,
      seed: 1,
      steps: 5,
      sampler: 'ddim',
      condition,
      known: { image, mask },
    });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(seen.every((r) => r.join() === '4,2,4')).toBe(true);
    const [o, x, m] = [out.dataSync(), image.dataSync(), mask.dataSync()];
    for (let i = 0; i < o.length; i++) if (m[i] === 0) expect(o[i]).toBeCloseTo(Math.min(1, Math.max(0, x[i]! * 0.5 + 0.5)), 6);
    expect(Array.from(o).some((v, i) => m[i] === 1 && Math.abs(v - (x[i]! * 0.5 + 0.5)) > 1e-3)).toBe(true);
    tf.dispose([out, image, mask, condition]);
  });

  // A denoiser that knows the answer (ε = (x_t − √ᾱ·x₀)/√(1 − ᾱ) for the true x₀) must give back the
  // targets through the whole measure: sampler, condition, value ranges and scoring together. A
  // mismatch anywhere ([0, 1] against [−1, 1], a shifted timestep, rows out of order) shows here.
  it.each([
    ['superResolution', 'epsilon'],
    ['inpainting', 'epsilon'],
    ['superResolution', 'x0'],
    ['inpainting', 'x0'],
  ] as const)('%s: an oracle denoiser predicting %s scores the targets exactly (50 DDIM steps of T = 1000 cosine, η 0 and 1)', async (kind, prediction) => {
    const schedule = diffusionSchedule('cosine', 1000);
    const [n, size] = [4, 8];
    const pixels = Float32Array.from({ length: n * size * size }, (_, i) => (i % 3 === 0 ? 1 : (i % 7) / 7));
    const target = Float32Array.from(pixels, (v) => v * 2 - 1);
    const truth = tf.tensor4d(target, [n, size, size, 1]);
    const oracle = {
      apply(inputs: tfType.Tensor[]) {
        if (prediction === 'x0') return truth.clone();
        const a = schedule.alphasCumprod[inputs[1]!.dataSync()[0]!]!;
        return tf.div(tf.sub(inputs[0]!, tf.mul(truth, Math.sqrt(a))), Math.sqrt(1 - a));
      },
    };
    const image = tf.tensor4d(target, [n, size, size, 1]);
    const mask = squareMask(tf, image, 4, 'random', { seed: 2, step: 0, nodeId: 'm' });
    const condition = kind === 'superResolution' ? lowResolution(tf, image, 4, 'bicubic') : composite(tf, tf.zerosLike(image), image, mask);
    const rows = { target, condition: condition.dataSync() as Float32Array, mask: mask.dataSync() as Float32Array, size: size * size };
    try {
      for (const eta of [0, 1]) {
        const { score, baseline, outputs } = await conditionalScores(tf, oracle, [size, size, 1], kind, rows, undefined, {
          schedule: 'cosine',
          timesteps: 1000,
          steps: 50,
          eta,
          prediction,
          seed: 0,
          examples: n,
        });
        close(outputs, pixels, 1e-3);
        if (kind === 'superResolution') {
          expect(score).toBeGreaterThan(60);
          expect(baseline).toBeLessThan(30);
        } else {
          expect(score).toBeLessThan(1e-6);
          expect(baseline).toBeGreaterThan(1e-3);
        }
      }
    } finally {
      tf.dispose([truth, image, mask, condition]);
    }
  });
});

/** Faint digits-like strokes: bars at a per-class row, in noise. */
function bars(count: number): Dataset {
  const random = seededRandom(11);
  const make = (n: number) => {
    const x = new Float32Array(n * 784);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 10;
      for (let j = 0; j < 784; j++) x[i * 784 + j] = 0.2 * random();
      for (let c = 4; c < 24; c++) x[i * 784 + (4 + 2 * y[i]!) * 28 + c] += 0.8;
    }
    return { x, y, count: n };
  };
  return { name: 'bars', inputShape: [28, 28, 1], classNames: Array.from({ length: 10 }, (_, i) => String(i)), train: make(count), test: make(count / 4) };
}

/** The template with its sampling measure made cheap: `steps` DDIM steps on `examples` images. */
function quickProgram(id: string, steps: number, examples: number): PlanProgram {
  const t = templateDocument(id, 'mnist');
  if ('error' in t) throw new Error(t.error);
  const doc = structuredClone(t.doc) as GraphDocument;
  for (const proc of doc.program!.procedures)
    for (const node of proc.nodes)
      if (node.type === 'SuperResolutionScore' || node.type === 'InpaintingScore') Object.assign(node.params!, { steps, examples });
  const { program, diagnostics } = lowerProgram(analyzeProgram(doc)!);
  if (!program) throw new Error(diagnostics.map((d) => d.message).join('; '));
  return program;
}

describe.each([
  ['sr3', 'superResolution', ['bicubicPsnr', 'psnr', 'testLoss']],
  ['palette', 'inpainting', ['maskedMse', 'meanFillMse']],
] as const)('%s template', (id, kind, metricNames) => {
  it('lowers without problems: a denoiser of (x_t, t, condition) with 28×28×1 images, the measure, and the conditioning shapes', () => {
    const t = templateDocument(id, 'mnist');
    if ('error' in t) throw new Error(t.error);
    const analysis = analyzeProgram(t.doc)!;
    expect(analysis.diagnostics).toEqual([]);
    const { program } = lowerProgram(analysis);
    // The loss compares the output with x₀, so the samplers take it as x̂₀.
    expect(denoiserSetup(program!)).toEqual({
      network: 'model',
      procedure: 'train',
      schedule: 'cosine',
      timesteps: 1000,
      inputs: 3,
      ema: true,
      prediction: 'x0',
    });
    expect(conditionalMeasure(program!)?.kind).toBe(kind);
    const net = analysis.networks.find((n) => n.id === 'model')!;
    expect(net.inputs.map((i) => [i.port, i.shape])).toEqual([
      ['image', [null, 28, 28, 1]],
      ['timestep', [null, 1]],
      ['condition', [null, 28, 28, 1]],
    ]);
    const run = new ProgramRun(tf, program!, 0);
    try {
      const model = run.networks.get('model')!.model;
      expect(model.inputs.map((i) => i.shape)).toEqual([
        [null, 28, 28, 1],
        [null, 1],
        [null, 28, 28, 1],
      ]);
      expect(model.outputs[0]!.shape).toEqual([null, 28, 28, 1]);
    } finally {
      run.dispose();
    }
  });

  it('trains a step, measures with samples (score and baseline finite), shows input/output/target; the export passes tsc --strict and measures the same', async () => {
    const program = quickProgram(id, 2, 4);
    const ds = bars(40);
    const run = new ProgramRun(tf, program, 3);
    const dir = join(ROOT, '.tmp', 'image-to-image-export');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${id}.ts`);
    writeFileSync(file, emitProgram(program));
    try {
      const train = program.procedures.find((p) => p.kind === 'train')!;
      const record = { id: train.id, label: train.label, kind: train.kind, steps: 0, seconds: 0, curves: {} as Record<string, number[]> };
      const outcome = await run.train(train, ds, { seed: 3, batchSize: 8, epochs: 1, limit: 8 }, record);
      expect(outcome.status).toBe('completed');
      expect(Number.isFinite(record.curves.loss![0]!)).toBe(true);

      const app: Record<string, unknown> = {};
      const evaluation = program.procedures.find((p) => p.kind === 'evaluate')!;
      const before = tf.memory().numTensors;
      await run.evaluate(evaluation, ds, { seed: 3, batchSize: 8, epochs: 1 }, app);
      expect(tf.memory().numTensors).toBe(before);
      expect(Object.keys(app).sort()).toEqual([...metricNames]);
      for (const name of metricNames) expect(Number.isFinite(app[name] as number), name).toBe(true);

      const shown = await run.conditionalExamples(ds, 3, { seed: 0, steps: 2 });
      expect(shown.shape).toEqual([3, 28, 28, 1]);
      for (const a of [shown.input, shown.output, shown.target]) {
        expect(a.length).toBe(3 * 784);
        expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
      }
      // The target is the held-out image itself.
      close(shown.target, ds.test.x.subarray(0, 3 * 784), 1e-5);

      typecheckStrict(file);
      const exported = (await import(/* @vite-ignore */ file)) as {
        createNetworks(): Record<string, tfType.LayersModel>;
        createTrainer(
          nets: Record<string, tfType.LayersModel>,
          options: { seed: number },
        ): { procedures: Record<string, { kind: string; evaluate?: (data: unknown) => Promise<Record<string, number>> }>; dispose(): void };
      };
      const nets = exported.createNetworks();
      nets.model!.setWeights(run.networks.get('model')!.model.getWeights());
      const trainer = exported.createTrainer(nets, { seed: 3 });
      const batches = (split: Dataset['train']) => [
        tf.tidy(() => ({
          image: tf.tensor4d(split.x, [split.count, 28, 28, 1]),
          label: tf.oneHot(tf.tensor1d(Int32Array.from(split.y), 'int32'), 10).toFloat(),
        })),
      ];
      const data = { train: batches(ds.train), test: batches(ds.test) };
      try {
        const theirs = await trainer.procedures[evaluation.id]!.evaluate!(data);
        for (const name of metricNames) expect(Math.abs(theirs[name]! - (app[name] as number)), name).toBeLessThan(1e-4);
      } finally {
        tf.dispose([...data.train, ...data.test].flatMap((b) => [b.image, b.label]));
        trainer.dispose();
        for (const m of Object.values(nets)) m.dispose();
      }
    } finally {
      run.dispose();
    }
  }, 240_000);
});

describe('patchbay train and sample on the command line', () => {
  it('sr3: --json reports psnr, bicubicPsnr and testLoss; sample writes the outputs (.json) and input | output | target rows (.png)', async () => {
    const { run: runCli } = await import('../src/cli/main');
    const { readFileSync } = await import('node:fs');
    const dir = join(ROOT, '.tmp', 'image-to-image-cli');
    mkdirSync(dir, { recursive: true });
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), status: () => {} };
    expect(
      await runCli(['train', 'sr3', '--data', 'mnist', '--limit', '16', '--epochs', '1', '--backend', 'cpu', '--json', '--save', dir], io),
      err.join('\n'),
    ).toBe(0);
    const summary = JSON.parse(out.join('\n')) as { metrics: Record<string, number> };
    expect(Object.keys(summary.metrics).sort()).toEqual(['bicubicPsnr', 'psnr', 'testLoss']);
    expect(summary.metrics.bicubicPsnr).toBeGreaterThan(5);
    const json = join(dir, 'sr.json');
    expect(await runCli(['sample', 'sr3', '--weights', dir, '--count', '2', '--steps', '2', '--backend', 'cpu', '--out', json], io), err.join('\n')).toBe(0);
    const written = JSON.parse(readFileSync(json, 'utf8')) as { shape: number[]; data: number[] };
    expect(written.shape).toEqual([2, 28, 28, 1]);
    expect(written.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    const png = join(dir, 'sr.png');
    expect(await runCli(['sample', 'sr3', '--weights', dir, '--count', '2', '--steps', '2', '--backend', 'cpu', '--out', png], io), err.join('\n')).toBe(0);
    const bytes = readFileSync(png);
    // Three 28-pixel columns with 1-pixel borders: 3 × 29 + 1 = 88 wide, 2 rows: 59 high (IHDR's width and height).
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([88, 59]);
    expect(await runCli(['sample', 'sr3', '--weights', dir, '--count', '2', '--sampler', 'ancestral', '--backend', 'cpu', '--out', json], io)).not.toBe(0);
  }, 240_000);
});
