/**
 * The worker's side of the diffusion samples grid (runtime/worker/diffusion-grid.ts) on the ddpm
 * template as it trains, on wasm as in the browser: grids at the first and last step from the
 * moving-average copy, a person's request answered after the step under way or at once when the run
 * is over, the same fixed noise every time, refusals in words, and no tensor left by a draw.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { seededRandom, type Dataset } from '../src/runtime/data/dataset';
import { ProgramRun, runProgram } from '../src/runtime/program/run';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { registerWasmTrainingKernels } from '../src/runtime/wasm-kernels';
import { DiffusionGrid } from '../src/runtime/worker/diffusion-grid';
import type { FromWorker } from '../src/runtime/worker/protocol';
import { templateDocument } from '../templates/index';

beforeAll(async () => {
  await useWasmBackend();
  registerWasmTrainingKernels();
});

/** Faint bars at a per-class row, in noise: 28 × 28 digits-like images. */
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

describe('diffusion samples grid in the worker', () => {
  it('grids at the first and last step from the moving average, requests at the next step or at once, no tensor left', async () => {
    const t = templateDocument('ddpm', 'mnist');
    if ('error' in t) throw new Error(t.error);
    const { program } = lowerProgram(analyzeProgram(t.doc)!);
    const run = new ProgramRun(tf, program!, 0);
    const posted: Array<Extract<FromWorker, { type: 'diffusion-samples' }>> = [];
    let paused = false;
    const grid = new DiffusionGrid(
      tf,
      (m) => {
        if (m.type === 'diffusion-samples') posted.push(m);
      },
      () => paused,
      () => Promise.resolve(),
    );
    grid.begin('run-1', program!, run, 0, { sampler: 'ddim', steps: 3 });
    const steps: number[] = [];
    await runProgram(tf, run, bars(12), {
      seed: 0,
      batchSize: 4,
      epochs: 1,
      limit: 12,
      onStep: async (report) => {
        steps.push(report.step);
        // Asked during step 2: answered after that step, with the new sampler.
        if (report.procedure === 'train' && report.step === 2) await grid.request('run-1', { sampler: 'ancestral', steps: 2 });
        await grid.afterStep(report);
      },
    });
    grid.end();
    const drawn = posted.map((m) => [m.samples?.step, m.samples?.settings.sampler, m.samples?.weights, m.samples?.frames.length]);
    expect(drawn).toEqual([
      [1, 'ddim', 'ema', 4],
      [2, 'ancestral', 'ema', 3],
      [3, 'ancestral', 'ema', 3],
    ]);
    expect(posted[0]!.samples!.shape).toEqual([16, 28, 28, 1]);
    expect(posted[0]!.samples!.share).toBeGreaterThan(0);

    // Over: a request draws at once, with the same fixed noise (x_T) as before.
    const before = tf.memory().numTensors;
    await grid.request('run-1', { sampler: 'ddim', steps: 3 });
    expect(tf.memory().numTensors).toBe(before);
    const last = posted.at(-1)!.samples!;
    expect(last).toMatchObject({ step: 3, weights: 'ema', settings: { sampler: 'ddim', steps: 3 } });
    expect(last.share).toBeUndefined();
    expect(Array.from(last.frames[0]!.images)).toEqual(Array.from(posted[0]!.samples!.frames[0]!.images));
    // The same weights and seed: the same samples again.
    await grid.request('run-1', { sampler: 'ddim', steps: 3 });
    expect(Array.from(posted.at(-1)!.samples!.frames.at(-1)!.images)).toEqual(Array.from(last.frames.at(-1)!.images));

    // Another run's id: refused in words, nothing drawn.
    const count = posted.length;
    await grid.request('run-0', { sampler: 'ddim', steps: 3 });
    expect(posted.length).toBe(count + 1);
    expect(posted.at(-1)!.error).toMatch(/^The networks of that run are gone/);
    // Bad settings from the page: an answer with the reason, not a crash.
    await grid.request('run-1', { sampler: 'ddim', steps: 5000 });
    expect(posted.at(-1)!.error).toBe('Could not draw samples: Sampler steps must be a whole number from 1 to 1000 (the schedule’s T).'.replace('’', "'"));
    paused = true;
    run.dispose();
  }, 120_000);
});
