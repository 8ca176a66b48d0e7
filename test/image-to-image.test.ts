/**
 * SR3 and Palette: the resizing behind SR3's low-resolution input, Palette's mask, composite and
 * masked loss, its colourisation's class colours, luma and baselines, the measures against
 * hand-computed values, the conditional sampler keeping known pixels, and the templates end to end
 * (SR3, Palette's inpainting and colourisation presets: conditioning shapes, a training step, the
 * sampling measures, the exported module under tsc --strict with the app's metrics).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { emitProgram } from '../src/compiler/emit-program';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import type { GraphDocument } from '../src/document/schema';
import { applyPreset, presetsOf } from '../src/document/templates';
import { getProgramSpec } from '../src/nodes/program/specs';
import { seededRandom, type Dataset } from '../src/runtime/data/dataset';
import { conditionalMeasure, denoiserSetup } from '../src/runtime/program/denoiser';
import { diffusionSchedule, sampleDiffusion } from '../src/runtime/program/diffusion';
import {
  averagingMatrix,
  classColour,
  classColours,
  colourByGains,
  colourGains,
  composite,
  conditionalScores,
  greyToChannels,
  LUMA,
  lowResolution,
  luminance,
  maskedMeanSquaredError,
  maskedMse,
  meanPsnr,
  meanRow,
  meanSquaredDifference,
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

describe("Palette's colourisation: class colours, luma and baselines, by hand", () => {
  it('class colours by Rec. 601 YCbCr: 4 classes at luma 0.5, chroma 0.2 (0°: Cb = 0.2; 90°: Cr = 0.2; …), every one of luma 0.5', () => {
    const c = classColours(4, 0.5, 0.2);
    close(c.subarray(0, 3), [0.5, 0.5 - 0.344136 * 0.2, 0.5 + 1.772 * 0.2]);
    close(c.subarray(3, 6), [0.5 + 1.402 * 0.2, 0.5 - 0.714136 * 0.2, 0.5]);
    close(c.subarray(6, 9), [0.5, 0.5 + 0.344136 * 0.2, 0.5 - 1.772 * 0.2]);
    for (const [classes, luma, chroma] of [
      [4, 0.5, 0.2],
      [10, 0.5, 0.28],
      [7, 0.3, 0.15],
    ] as const) {
      const colour = classColours(classes, luma, chroma);
      for (let k = 0; k < classes; k++) {
        expect(colour[k * 3]! * 0.299 + colour[k * 3 + 1]! * 0.587 + colour[k * 3 + 2]! * 0.114).toBeCloseTo(luma, 5);
        for (let j = 0; j < 3; j++) expect(colour[k * 3 + j]!).toBeGreaterThanOrEqual(0);
        for (let j = 0; j < 3; j++) expect(colour[k * 3 + j]!).toBeLessThanOrEqual(1);
      }
    }
  });

  it('Colour by class multiplies each grey pixel by its class colour; Luminance gives back the grey times the luma', () => {
    // Two 1×2 images: pixels (1, 0.5) of class 1 and (0.25, 0) of class 0, of 4 classes.
    const grey = tf.tensor4d([1, 0.5, 0.25, 0], [2, 1, 2, 1]);
    const label = tf.tensor2d([
      [0, 1, 0, 0],
      [1, 0, 0, 0],
    ]);
    const out = classColour(tf, grey, label, 0.5, 0.2);
    expect(out.shape).toEqual([2, 1, 2, 3]);
    const [r1, g1, b1] = [0.5 + 1.402 * 0.2, 0.5 - 0.714136 * 0.2, 0.5];
    const [r0, g0, b0] = [0.5, 0.5 - 0.344136 * 0.2, 0.5 + 1.772 * 0.2];
    close(out.dataSync(), [r1, g1, b1, r1 / 2, g1 / 2, b1 / 2, r0 / 4, g0 / 4, b0 / 4, 0, 0, 0]);
    const y = luminance(tf, out);
    expect(y.shape).toEqual([2, 1, 2, 1]);
    close(y.dataSync(), [0.5, 0.25, 0.125, 0], 1e-6);
    // 0.299·1 + 0.587·0.5 + 0.114·0 on one RGB pixel.
    const one = luminance(tf, tf.tensor4d([1, 0.5, 0], [1, 1, 1, 3]));
    expect(one.dataSync()[0]).toBeCloseTo(0.299 + 0.2935, 6);
    expect(LUMA.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    tf.dispose([grey, label, out, y, one]);
  });

  it('the baseline: least-squares gain per pixel and channel (Σ grey·colour / Σ grey²), the overall gain where training never inked', () => {
    // 2 images × 2 pixels, 3 channels. Pixel 0: grey 1 with colour (1, 0, 0.5), grey 0.5 with (0, 0.5, 0.5); pixel 1 never inked.
    const grey = [1, 0, 0.5, 0];
    const colour = [1, 0, 0.5, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0];
    // ((1, 0, 0.5)·1 + (0, 0.5, 0.5)·0.5) / (1 + 0.25) = (0.8, 0.2, 0.6); pixel 1 takes all pixels' gain, the same here.
    const gains = colourGains(grey, colour, 2, 3);
    close(gains, [0.8, 0.2, 0.6, 0.8, 0.2, 0.6]);
    close(colourByGains([0.5, 0.2], gains, 2, 3), [0.4, 0.1, 0.3, 0.16, 0.04, 0.12]);
    // Clipped to [0, 1].
    close(colourByGains([1, 1], Float32Array.from([2, 0.5, -1, 1, 1, 1]), 2, 3), [1, 0.5, 0, 1, 1, 1]);
    close(greyToChannels([0.2, 0.7], 3), [0.2, 0.2, 0.2, 0.7, 0.7, 0.7]);
    expect(meanSquaredDifference([1, 0, 0.5], [0, 0, 0])).toBeCloseTo(1.25 / 3, 9);
  });

  it('Colour by class and Luminance refuse what they cannot colour, saying what they received', () => {
    const colour = getProgramSpec('ClassColour')!;
    expect(
      colour.infer(colour.params.parse({}), [
        [null, 28, 28, 3],
        [null, 10],
      ]),
    ).toMatchObject({ code: 'PB301', message: expect.stringContaining('(None, 28, 28, 3)') });
    expect(
      colour.infer(colour.params.parse({}), [
        [null, 28, 28, 1],
        [null, 28, 28, 1],
      ]),
    ).toMatchObject({ code: 'PB301', port: 'label' });
    // At luma 0.2 blue's reach allows a chroma of 0.2 / 1.772 = 0.113 at most.
    expect(
      colour.infer(colour.params.parse({ luminance: 0.2, chroma: 0.2 }), [
        [null, 28, 28, 1],
        [null, 10],
      ]),
    ).toMatchObject({
      code: 'PB300',
      param: 'chroma',
      help: expect.stringContaining('0.113'),
    });
    const luma = getProgramSpec('Luminance')!;
    expect(luma.infer({}, [[null, 28, 28, 1]])).toMatchObject({ code: 'PB301', message: expect.stringContaining('three channels') });
    const score = getProgramSpec('ColourisationScore')!;
    expect(
      score.infer(score.params.parse({}), [
        [null, 28, 28, 3],
        [null, 28, 28, 3],
      ]),
    ).toMatchObject({ code: 'PB301', port: 'condition' });
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

describe('the colourisation measure', () => {
  it('an oracle denoiser predicting x₀ scores the coloured targets exactly from their one-channel grey; the baselines, fitted on the training rows, by hand', async () => {
    const [n, size] = [4, 8];
    const random = seededRandom(4);
    const grey = Float32Array.from({ length: n * size * size }, () => random());
    const colours = classColours(4, 0.5, 0.2);
    const pixels = Float32Array.from(
      { length: n * size * size * 3 },
      (_, i) => grey[Math.floor(i / 3)]! * colours[(Math.floor(i / (size * size * 3)) % 4) * 3 + (i % 3)]!,
    );
    const target = Float32Array.from(pixels, (v) => v * 2 - 1);
    const truth = tf.tensor4d(target, [n, size, size, 3]);
    const condition = luminance(tf, truth);
    const seen: string[] = [];
    const oracle = {
      apply(inputs: tfType.Tensor[]) {
        seen.push(inputs.map((t) => t.shape.join('×')).join(' '));
        return truth.clone();
      },
    };
    const rows = { target, condition: condition.dataSync() as Float32Array, size: size * size * 3, conditionSize: size * size };
    // The training rows: the first two images again (their gains then predict them exactly, the others not).
    const train = { target: target.slice(0, 2 * size * size * 3), condition: rows.condition.slice(0, 2 * size * size) };
    try {
      const { score, baseline, greyCopy, outputs } = await conditionalScores(tf, oracle, [size, size, 3], 'colourisation', rows, train, {
        schedule: 'cosine',
        timesteps: 1000,
        steps: 10,
        eta: 1,
        prediction: 'x0',
        seed: 0,
        examples: n,
      });
      expect(seen[0]).toBe(`4×8×8×3 4×1 4×8×8×1`);
      close(outputs, pixels, 1e-3);
      expect(score).toBeLessThan(1e-6);
      const greyPixels = Float32Array.from(rows.condition, (v) => Math.min(1, Math.max(0, v * 0.5 + 0.5)));
      const gains = colourGains(greyPixels.subarray(0, 2 * 64), pixels.subarray(0, 2 * 64 * 3), 64, 3);
      expect(baseline).toBeCloseTo(meanSquaredDifference(colourByGains(greyPixels, gains, 64, 3), pixels), 6);
      expect(greyCopy).toBeCloseTo(meanSquaredDifference(greyToChannels(greyPixels, 3), pixels), 6);
      expect(baseline).toBeGreaterThan(1e-4);
      expect(greyCopy).toBeGreaterThan(1e-4);
    } finally {
      tf.dispose([truth, condition]);
    }
  });
});

describe("Palette's presets", () => {
  const doc = (preset: string) => {
    const t = templateDocument('palette', preset);
    if ('error' in t) throw new Error(t.error);
    return t.doc;
  };
  const types = (d: GraphDocument) => d.program!.procedures.flatMap((p) => p.nodes.map((n) => n.type));

  it('colourise brings its own procedures (Colour by class, Luminance of x₀ as the condition, the colourisation measure); mnist keeps inpainting', () => {
    expect(types(doc('colourise'))).toEqual(expect.arrayContaining(['ClassColour', 'Luminance', 'ColourisationScore', 'MeanSquaredError']));
    expect(types(doc('colourise'))).not.toContain('SquareMask');
    expect(types(doc('mnist'))).toEqual(expect.arrayContaining(['SquareMask', 'Composite', 'MaskedMeanSquaredError', 'InpaintingScore']));
    expect(types(doc('mnist'))).not.toContain('ClassColour');
    // Colourisation trains twice inpainting's epochs (the preset's training values), inpainting keeps the template's.
    expect([doc('mnist').training!.epochs, doc('colourise').training!.epochs]).toEqual([2, 4]);
  });

  it('a preset that brings procedures to a graph without a training program is refused in words', () => {
    const colourise = presetsOf(doc('mnist')).find((p) => p.name === 'colourise')!;
    const plain = templateDocument('convmixer', 'mnist');
    if ('error' in plain) throw new Error(plain.error);
    expect(() => applyPreset(plain.doc, { ...colourise, set: {} })).toThrow('Preset "colourise" brings procedures, but the template has no training program.');
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
function quickProgram(id: string, preset: string, steps: number, examples: number): PlanProgram {
  const t = templateDocument(id, preset);
  if ('error' in t) throw new Error(t.error);
  const doc = structuredClone(t.doc) as GraphDocument;
  for (const proc of doc.program!.procedures)
    for (const node of proc.nodes)
      if (['SuperResolutionScore', 'InpaintingScore', 'ColourisationScore'].includes(node.type)) Object.assign(node.params!, { steps, examples });
  const { program, diagnostics } = lowerProgram(analyzeProgram(doc)!);
  if (!program) throw new Error(diagnostics.map((d) => d.message).join('; '));
  return program;
}

describe.each([
  ['sr3', 'mnist', 'superResolution', ['bicubicPsnr', 'psnr', 'testLoss'], 1],
  ['palette', 'mnist', 'inpainting', ['maskedMse', 'meanFillMse'], 1],
  // Colourisation: RGB x_t and x̂₀ (3 channels) given the grey image (1).
  ['palette', 'colourise', 'colourisation', ['greyCopyMse', 'maskedMse', 'meanFillMse'], 3],
] as const)('%s template, preset %s', (id, preset, kind, metricNames, channels) => {
  it('lowers without problems: a denoiser of (x_t, t, condition) with 28×28 images, the measure, and the conditioning shapes', () => {
    const t = templateDocument(id, preset);
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
      ['image', [null, 28, 28, channels]],
      ['timestep', [null, 1]],
      ['condition', [null, 28, 28, 1]],
    ]);
    const run = new ProgramRun(tf, program!, 0);
    try {
      const model = run.networks.get('model')!.model;
      expect(model.inputs.map((i) => i.shape)).toEqual([
        [null, 28, 28, channels],
        [null, 1],
        [null, 28, 28, 1],
      ]);
      expect(model.outputs[0]!.shape).toEqual([null, 28, 28, channels]);
    } finally {
      run.dispose();
    }
  });

  it('trains a step, measures with samples (score and baseline finite), shows input/output/target; the export passes tsc --strict and measures the same', async () => {
    const program = quickProgram(id, preset, 2, 4);
    const ds = bars(40);
    const run = new ProgramRun(tf, program, 3);
    const dir = join(ROOT, '.tmp', 'image-to-image-export');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${id}-${preset}.ts`);
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
      expect(shown.shape).toEqual([3, 28, 28, channels]);
      for (const a of [shown.input, shown.output, shown.target]) {
        expect(a.length).toBe(3 * 784 * channels);
        expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
      }
      if (kind === 'colourisation') {
        // The target is the held-out digit times its class's colour (luma 0.5, chroma 0.28 of 10 hues); the input its grey
        // (the digit times the shared luma 0.5) on all three channels.
        const colours = classColours(10, 0.5, 0.28);
        const expected = Float32Array.from(
          { length: 3 * 784 * 3 },
          (_, i) => ds.test.x[Math.floor(i / 3)]! * colours[ds.test.y[Math.floor(i / (784 * 3))]! * 3 + (i % 3)]!,
        );
        close(shown.target, expected, 1e-5);
        close(
          shown.input,
          greyToChannels(
            ds.test.x.subarray(0, 3 * 784).map((v) => v * 0.5),
            3,
          ),
          1e-5,
        );
      }
      // The target is the held-out image itself.
      else close(shown.target, ds.test.x.subarray(0, 3 * 784), 1e-5);

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

  it('palette --preset colourise: --json reports maskedMse, meanFillMse and greyCopyMse; sample writes RGB outputs and a colour .png', async () => {
    const { run: runCli } = await import('../src/cli/main');
    const { readFileSync } = await import('node:fs');
    const dir = join(ROOT, '.tmp', 'image-to-image-cli-colourise');
    mkdirSync(dir, { recursive: true });
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), status: () => {} };
    const preset = ['--preset', 'colourise'];
    expect(
      await runCli(['train', 'palette', ...preset, '--data', 'mnist', '--limit', '16', '--epochs', '1', '--backend', 'cpu', '--json', '--save', dir], io),
      err.join('\n'),
    ).toBe(0);
    const summary = JSON.parse(out.join('\n')) as { metrics: Record<string, number> };
    expect(Object.keys(summary.metrics).sort()).toEqual(['greyCopyMse', 'maskedMse', 'meanFillMse']);
    for (const v of Object.values(summary.metrics)) expect(v).toBeGreaterThan(0);
    const json = join(dir, 'colour.json');
    expect(
      await runCli(['sample', 'palette', ...preset, '--weights', dir, '--count', '2', '--steps', '2', '--backend', 'cpu', '--out', json], io),
      err.join('\n'),
    ).toBe(0);
    const written = JSON.parse(readFileSync(json, 'utf8')) as { shape: number[]; data: number[] };
    expect(written.shape).toEqual([2, 28, 28, 3]);
    const png = join(dir, 'colour.png');
    expect(
      await runCli(['sample', 'palette', ...preset, '--weights', dir, '--count', '2', '--steps', '2', '--backend', 'cpu', '--out', png], io),
      err.join('\n'),
    ).toBe(0);
    const bytes = readFileSync(png);
    // Grey | sampled | original, 88 × 59 as SR3's, in colour (IHDR colour type 2: RGB).
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20), bytes[25]]).toEqual([88, 59, 2]);
  }, 240_000);
});
