/**
 * GLOM in real headless Chromium: the template opens with its columns, update and decoder networks,
 * the training procedure shows the update applied three times with shared weights, a short run
 * trains in the worker, the evaluation reports the reconstruction loss beside the corrupted input's,
 * and the island maps show each level's columns for held-out digits.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/glom.e2e.test.ts
 * Screenshots land in .tmp/shots/glom-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).textContent()) ?? '') : '');

describe.skipIf(!e2e)('GLOM in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-glom');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('open GLOM, see the shared iterations, train a few steps, see the reconstruction loss and the island maps', async () => {
    const page = await openEditor(h);
    // The tiny preset (width 8): the same graph, quick enough for a test run.
    await openTemplate(page, 'GLOM', 'tiny');
    for (const id of ['network-model', 'network-update', 'network-decoder', 'procedure-train', 'procedure-evaluate'])
      await page.getByTestId(`graph-tab-${id}`).waitFor();
    expect(await page.getByTestId('shape-start').textContent()).toBe('(None, 49, 3, 8)');
    await shot(page, 'glom-00-columns');
    await page.getByTestId('graph-tab-procedure-train').click();
    await page.getByTestId('node-iteration2').waitFor();
    for (const i of [1, 2, 3]) expect(await text(page, `shared-iteration${i}`)).toBe('shared weights ×3');
    expect(await page.getByTestId('shared-columns').count()).toBe(0);
    await shot(page, 'glom-01-procedure');

    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    await page.getByTestId('glom-islands').waitFor();
    await page.getByTestId('glom-islands-disabled').waitFor();
    await train.getByLabel('Batch size').fill('32');
    await train.getByLabel('Limit training examples').fill('64');
    await train.getByLabel('Batch size').blur();
    // The procedure keeps its own 5 epochs: 64 digits in batches of 32.
    await expect.poll(() => text(page, 'train-plan')).toMatch(/64 digits × 5 epochs = 10 steps of 32/);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 240_000 }).toBe('completed');
    await page.getByTestId('program-metrics').waitFor();
    expect(await text(page, 'metric-reconstructionLoss')).toMatch(/^Reconstruction loss0\.\d+$/);
    expect(await text(page, 'metric-baselines.corruptedInput')).toMatch(/^Baseline: [a-z ]+0\.0\d+$/);
    expect(await text(page, 'metric-baselines.meanImage')).toMatch(/^Baseline: [a-z ]+0\.0\d+$/);
    await page.getByTestId('program-metrics').scrollIntoViewIfNeeded();
    await shot(page, 'glom-02-metrics');

    expect(await page.getByTestId('glom-islands-disabled').count()).toBe(0);
    await page.getByTestId('glom-islands-show').click();
    const rows = page.getByTestId('glom-island-maps').locator('.pb-glom-row');
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(6);
    // Each row: the digit, its reconstruction, and one map per level.
    expect(await rows.first().locator('canvas').count()).toBe(5);
    expect(await rows.first().locator('canvas').nth(2).getAttribute('aria-label')).toMatch(/^Level 1: \d+ islands? covering \d+ of 49 columns$/);
    await page.getByTestId('glom-islands-threshold').selectOption('0.8');
    await page.getByTestId('glom-islands').scrollIntoViewIfNeeded();
    await shot(page, 'glom-03-islands');
  }, 360_000);
});
