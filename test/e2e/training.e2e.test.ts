/**
 * End-to-end tests of the Train tab in real headless Chromium: a short MNIST run of the ConvMixer
 * template on wasm in the worker, pause / resume / stop, the run history in IndexedDB across a
 * reload, weights export and import, run comparison and the drawing playground. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/training.e2e.test.ts
 * Screenshots land in .tmp/shots/train-*.png at 1280×800 and 1920×1080.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, ROOT, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const panel = (page: Page) => page.locator('.pb-train');
const stepOf = async (page: Page) => Number((await page.getByTestId('train-step').textContent())?.match(/Step (\d+)/)?.[1] ?? 0);
const points = async (page: Page, id: string) => Number(await page.getByTestId(id).getAttribute('data-points'));
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');

async function drawDigit(page: Page) {
  const box = (await page.getByTestId('draw-canvas').boundingBox())!;
  // A "7": a top bar, then a diagonal down to the left.
  const at = (x: number, y: number) => [box.x + box.width * x, box.y + box.height * y] as const;
  await page.mouse.move(...at(0.25, 0.2));
  await page.mouse.down();
  await page.mouse.move(...at(0.75, 0.2), { steps: 8 });
  await page.mouse.move(...at(0.4, 0.85), { steps: 10 });
  await page.mouse.up();
}

async function probabilities(page: Page): Promise<number[]> {
  return page
    .getByTestId('probabilities')
    .locator('li')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value') || NaN)));
}

describe.skipIf(!e2e)('training in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-train');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('train a short run, pause, stop, keep it across a reload, compare runs, export and import weights, draw a digit', async () => {
    const page = await openEditor(h);
    // An empty graph cannot train, and the tab says why.
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect.poll(() => page.getByTestId('train-blocked').textContent()).toMatch(/error|Input/);
    expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
    expect(await page.getByTestId('playground').count()).toBe(0);

    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();
    expect(await page.getByTestId('train-blocked').count()).toBe(0);
    // The backend probe answers from the worker: a software GPU here, so Auto means wasm.
    await expect.poll(() => page.getByTestId('train-backend').textContent(), { timeout: 30_000 }).toMatch(/Available here: .*wasm/);

    // Setup edits are document changes: one undo step each.
    await panel(page).getByLabel('Epochs').fill('2');
    await panel(page).getByLabel('Batch size').fill('32');
    await panel(page).getByLabel('Limit training examples').fill('256');
    await panel(page).getByLabel('Epochs').blur();
    await expect
      .poll(() =>
        page.evaluate(
          () => (window as unknown as { patchbay: { getState(): { doc: { training?: { epochs?: number } } } } }).patchbay.getState().doc.training?.epochs,
        ),
      )
      .toBe(2);
    await shot(page, 'train-00-setup');

    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('train-step').textContent()).toMatch(/Step \d+ \/ 16/);
    expect(await page.getByTestId('train-backend').textContent()).toMatch(/Active: WASM/);
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => runStatus(page)).toBe('paused');
    // A step that was under way when Pause was pressed may still report (after a preview refresh);
    // once the count has settled, it must stay put while paused.
    let pausedAt = await stepOf(page);
    for (let settled = false, i = 0; !settled && i < 30; i++) {
      await page.waitForTimeout(600);
      const now = await stepOf(page);
      settled = now === pausedAt;
      pausedAt = now;
    }
    await page.waitForTimeout(1200);
    expect(await stepOf(page)).toBe(pausedAt);
    await shot(page, 'train-01-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => stepOf(page), { timeout: 30_000 }).toBeGreaterThan(pausedAt);
    await expect.poll(() => points(page, 'chart-loss')).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => runStatus(page), { timeout: 60_000 }).toMatch(/stopped|completed/);
    const first = page.getByTestId('run-item').first();
    await expect.poll(() => first.getAttribute('data-status')).toMatch(/stopped|completed/);
    expect(await page.getByTestId('run-item').count()).toBe(1);
    expect(await first.textContent()).toMatch(/\d+\.\d\d%/);
    expect(await points(page, 'chart-loss')).toBe(await stepOf(page));

    // The playground uses the run's weights: 10 probabilities that sum to 1.
    expect(await page.getByTestId('playground-disabled').count()).toBe(0);
    await page.getByTestId('playground').scrollIntoViewIfNeeded();
    await drawDigit(page);
    await expect.poll(async () => (await probabilities(page)).filter(Number.isFinite).length).toBe(10);
    const probs = await probabilities(page);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    await shot(page, 'train-02-stopped-playground');

    // Export weights: tfjs's format, model.json + weights.bin.
    await first.scrollIntoViewIfNeeded();
    const downloads: import('playwright-core').Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await first.getByRole('button', { name: 'Export weights' }).click();
    await expect.poll(() => downloads.length).toBe(2);
    const files = new Map<string, string>();
    for (const d of downloads) {
      const to = join(ROOT, '.tmp/e2e', d.suggestedFilename());
      await d.saveAs(to);
      files.set(d.suggestedFilename(), to);
    }
    const modelJson = JSON.parse(readFileSync(files.get('model.json')!, 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['./weights.bin']);
    const bytes = (modelJson.weightsManifest[0].weights as { shape: number[] }[]).reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * 4, 0);
    expect(readFileSync(files.get('weights.bin')!).byteLength).toBe(bytes);
    expect(modelJson.modelTopology.class_name).toMatch(/Model|Functional/);

    // Reload: the history comes back from IndexedDB.
    await page.waitForTimeout(400);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"] .react-flow');
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(1);
    expect(await page.getByTestId('run-item').first().getAttribute('data-status')).toMatch(/stopped|completed/);
    expect(await page.getByTestId('playground-disabled').count()).toBe(1);

    // Import the exported weights: the next run starts from them.
    await page.getByLabel('Import weights (model.json and weights.bin)').setInputFiles([files.get('model.json')!, files.get('weights.bin')!]);
    await expect.poll(() => page.locator('.pb-note').filter({ hasText: 'imported weights' }).count()).toBe(1);
    await expect.poll(() => page.getByTestId('playground-disabled').count()).toBe(0);

    // A second, complete run (1 epoch of 8 steps). Changing the graph meanwhile leaves the run alone.
    await panel(page).getByLabel('Epochs').fill('1');
    await panel(page).getByLabel('Limit training examples').fill('256');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await page.locator('.react-flow__node[data-id="mixer"]').click();
    await page.getByLabel('Repeat').fill('5');
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect.poll(() => page.getByTestId('graph-changed').count()).toBe(1);
    await expect.poll(() => runStatus(page), { timeout: 60_000 }).toBe('completed');
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(2);
    expect(await page.getByTestId('run-item').first().getAttribute('data-status')).toBe('completed');
    expect(await page.getByTestId('test-accuracy').textContent()).toMatch(/%$/);
    expect(await page.getByTestId('confusion-matrix').locator('tbody tr').count()).toBe(10);
    expect(await points(page, 'chart-loss')).toBe(8);
    await shot(page, 'train-03-completed');

    // Compare: tick both runs, their loss curves overlay.
    for (const box of await page.getByTestId('run-item').getByRole('checkbox').all()) await box.check();
    await expect.poll(() => page.getByTestId('chart-compare').count()).toBe(1);
    expect(await points(page, 'chart-compare')).toBeGreaterThanOrEqual(8);
    await page.getByTestId('chart-compare').scrollIntoViewIfNeeded();
    await shot(page, 'train-04-compare');
    await page.context().close();
  });
});
