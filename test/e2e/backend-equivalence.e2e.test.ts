/**
 * Every backend proven, not assumed: a test-only page (test/e2e/backends/) trains small versions of
 * the ConvMixer, MLP-Mixer and ViT graphs for three SGD steps on wasm, webgl and webgpu in headless
 * Chromium (WebGL and WebGPU on SwiftShader), from the same initial weights and batches, and the app's
 * own training loop (trainClassifier with its evaluation) for one epoch; a training program through
 * the app's interpreter (distillation's distilling step and its evaluation, with a linear probe, kNN
 * and the collapse monitor added) and Glow's flow layers, forward and sampled. The untrained
 * outputs, the three losses and the weights after the steps must agree with wasm's:
 *   outputs and losses within 1e-4 relative; each weight tensor within 1e-4 of its largest value
 *   (at least 1e-6 absolute, for biases that barely moved from zero).
 * float32 everywhere; the tolerance covers the reordering of sums between backends, not a lower
 * precision (WebGL runs with float32 textures here: EXT_color_buffer_float).
 * Programs and views read results with data(): on webgpu a synchronous read (dataSync) of a computed
 * tensor loses the device, which these cases would show as an error on webgpu.
 * Run with: npx vitest run -c vitest.e2e.config.ts test/e2e/backend-equivalence.e2e.test.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { ROOT } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
const OUT = join(ROOT, '.tmp/e2e-dist-backends');

interface CaseResult {
  losses: number[];
  output: number[];
  weights: number[][];
  error?: string;
}
interface ProgramResult {
  losses: number[];
  metrics: Record<string, number>;
  error?: string;
}
interface FlowResult {
  rotation: number[];
  z: number[];
  logdet: number[];
  actNorm: number[];
  samples: number[];
  error?: string;
}
interface Check {
  fatal?: string;
  probe: { available: string[]; reason: string };
  backends: Record<string, { active: string; reason: string; cases: Record<string, CaseResult>; programs: Record<string, ProgramResult>; flow: FlowResult }>;
}

const maxAbs = (xs: number[]) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
};

let server: PreviewServer;
let browser: Browser;
let check: Check;

describe.skipIf(!e2e)('training is the same on wasm, webgl and webgpu', () => {
  beforeAll(async () => {
    await build({
      root: ROOT,
      logLevel: 'warn',
      build: { outDir: OUT, emptyOutDir: true, rollupOptions: { input: join(ROOT, 'test/e2e/backends/index.html') } },
    });
    server = await preview({ root: ROOT, logLevel: 'warn', build: { outDir: OUT }, preview: { port: 0, host: '127.0.0.1' } });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--enable-unsafe-webgpu',
      ],
    });
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    page.on('console', (m) => {
      if (/^ *(wasm|webgl|webgpu) .*: [\d.]+ s$/.test(m.text())) console.log(m.text());
    });
    await page.goto(`${server.resolvedUrls!.local[0]!}test/e2e/backends/index.html`);
    await page.waitForFunction(() => (window as unknown as { __backendCheck?: unknown }).__backendCheck !== undefined, undefined, { timeout: 170_000 });
    check = (await page.evaluate(() => (window as unknown as { __backendCheck: unknown }).__backendCheck)) as Check;
    if (process.env.SHOW_BACKENDS) writeFileSync(join(ROOT, '.tmp/backend-check.json'), JSON.stringify(check));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('every backend starts as itself (no fallback)', () => {
    expect(check.fatal).toBeUndefined();
    expect(check.probe.available).toEqual(expect.arrayContaining(['webgpu', 'webgl', 'wasm']));
    for (const name of ['wasm', 'webgl', 'webgpu']) expect(check.backends[name]!.active, check.backends[name]!.reason).toBe(name);
  });

  test.each([['convmixer'], ['mlp-mixer'], ['vit'], ['app loop']])('%s: outputs, losses and trained weights agree with wasm', (id) => {
    const reference = check.backends.wasm!.cases[id]!;
    expect(reference.error).toBeUndefined();
    // The steps must move the weights, or equal weights prove nothing.
    const initialLoss = reference.losses[0]!;
    expect(reference.losses.every(Number.isFinite)).toBe(true);
    for (const name of ['webgl', 'webgpu']) {
      const got = check.backends[name]!.cases[id]!;
      expect(got.error, `${name}: ${got.error}`).toBeUndefined();
      expect(maxDiff(got.output, reference.output) / Math.max(maxAbs(reference.output), 1e-6), `${name} output`).toBeLessThanOrEqual(1e-4);
      expect(maxDiff(got.losses, reference.losses) / Math.abs(initialLoss), `${name} losses ${got.losses} vs ${reference.losses}`).toBeLessThanOrEqual(1e-4);
      expect(got.weights.length).toBe(reference.weights.length);
      // Adam (the app loop's optimizer) divides each gradient by its own running size, so a weight whose
      // gradient is ~0 moves by ±lr on sign noise: its weights are not comparable, its losses are.
      if (id === 'app loop') continue;
      got.weights.forEach((w, i) => {
        // Relative to the weight's scale, floored at 0.01 so that a bias that barely moved from zero is held to 1e-6 absolute.
        expect(maxDiff(w, reference.weights[i]!) / Math.max(maxAbs(reference.weights[i]!), 0.01), `${name} weight ${i}`).toBeLessThanOrEqual(1e-4);
      });
    }
  });
  // A training program through the app's interpreter (distillation's distilling step on 32 examples,
  // then its evaluation on 8 held out). The loss within 1e-4 relative; continuous measures (the collapse monitor) within 1e-4
  // relative; accuracies (teacher, students, kNN, linear probes) within one held-out example (1/8),
  // for a decision that sits on a tie.
  test('program distillation with a probe, kNN and the collapse monitor: losses and evaluation agree with wasm', () => {
    const reference = check.backends.wasm!.programs.distillation!;
    expect(reference.error).toBeUndefined();
    expect(reference.losses.length).toBe(1);
    expect(reference.losses.every(Number.isFinite)).toBe(true);
    expect(Object.keys(reference.metrics).sort()).toEqual([
      'baselines.randomInitLinearProbe',
      'collapseReference',
      'collapseStd',
      'knnAccuracy',
      'linearProbeAccuracy',
      'studentAloneAccuracy',
      'teacherTestAccuracy',
      'testAccuracy',
    ]);
    for (const name of ['webgl', 'webgpu']) {
      const got = check.backends[name]!.programs.distillation!;
      expect(got.error, `${name}: ${got.error}`).toBeUndefined();
      expect(maxDiff(got.losses, reference.losses) / Math.abs(reference.losses[0]!), `${name} losses ${got.losses} vs ${reference.losses}`).toBeLessThanOrEqual(
        1e-4,
      );
      expect(Object.keys(got.metrics).sort()).toEqual(Object.keys(reference.metrics).sort());
      for (const [metric, want] of Object.entries(reference.metrics)) {
        const have = got.metrics[metric]!;
        if (metric.startsWith('collapse')) expect(Math.abs(have - want) / want, `${name} ${metric}: ${have} vs ${want}`).toBeLessThanOrEqual(1e-4);
        else expect(Math.abs(have - want), `${name} ${metric}: ${have} vs ${want}`).toBeLessThanOrEqual(1 / 8 + 1e-9);
      }
    }
  });

  // Glow's layers: the seeded starting rotation (built in JS) equal to 1e-6; z, log|det J|, ActNorm's
  // data-dependent start and the samples (through W⁻¹) within 1e-4 of their largest value.
  test("flow layers: the 1×1 conv's starting rotation, ActNorm's start, z, log|det J| and samples agree with wasm", () => {
    const reference = check.backends.wasm!.flow;
    expect(reference.error).toBeUndefined();
    // The flag is set, and the start is not zero (or equal values would prove nothing).
    expect(reference.actNorm.at(-1)).toBe(1);
    expect(maxAbs(reference.actNorm.slice(0, -1))).toBeGreaterThan(0.1);
    for (const name of ['webgl', 'webgpu']) {
      const got = check.backends[name]!.flow;
      expect(got.error, `${name}: ${got.error}`).toBeUndefined();
      expect(maxDiff(got.rotation, reference.rotation), `${name} rotation`).toBeLessThanOrEqual(1e-6);
      for (const key of ['z', 'logdet', 'actNorm', 'samples'] as const)
        expect(maxDiff(got[key], reference[key]) / Math.max(maxAbs(reference[key]), 1e-6), `${name} ${key}`).toBeLessThanOrEqual(1e-4);
    }
  });
});
