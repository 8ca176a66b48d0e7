/**
 * CapsNet in real headless Chromium: the template opens with its capsule network, decoder and
 * training procedure (mask, margin loss, reconstruction loss), a short run trains in the worker, and
 * the capsule views show held-out digits beside their reconstructions and the tweak-a-dimension row.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/capsnet.e2e.test.ts
 * Screenshots land in .tmp/shots/capsnet-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).textContent()) ?? '') : '');

describe.skipIf(!e2e)('CapsNet in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-capsnet');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('open CapsNet, train a few steps, see reconstructions beside their inputs and tweak a pose dimension', async () => {
    const page = await openEditor(h);
    // The tiny preset (8 filters, 144 primary capsules): the same graph, quick enough for a test run.
    await openTemplate(page, 'Capsule network', 'tiny');
    for (const id of ['network-model', 'network-decoder', 'procedure-train', 'procedure-evaluate']) await page.getByTestId(`graph-tab-${id}`).waitFor();
    expect(await page.getByTestId('shape-digitCaps').textContent()).toBe('(None, 10, 16)');
    expect(await page.getByTestId('shape-primaryCaps').textContent()).toBe('(None, 144, 8)');
    await shot(page, 'capsnet-00-network');
    await page.getByTestId('graph-tab-procedure-train').click();
    await page.getByTestId('node-mask').waitFor();
    expect(await page.getByTestId('shape-margin').textContent()).toBe('()');
    await shot(page, 'capsnet-01-procedure');

    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    await page.getByTestId('capsule-views').waitFor();
    await page.getByTestId('capsule-views-disabled').waitFor();
    await train.getByLabel('Epochs').fill('1');
    await train.getByLabel('Batch size').fill('32');
    await train.getByLabel('Limit training examples').fill('32');
    await train.getByLabel('Epochs').blur();
    // The procedure keeps its own 16 epochs: 32 digits in one batch of 32 each.
    await expect.poll(() => text(page, 'train-plan')).toMatch(/32 digits × 16 epochs = 16 steps of 32/);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 240_000 }).toBe('completed');
    await page.getByTestId('program-metrics').waitFor();
    expect(await text(page, 'metric-testAccuracy')).toMatch(/\d+\.\d+%/);

    expect(await page.getByTestId('capsule-views-disabled').count()).toBe(0);
    await page.getByTestId('capsule-views-show').click();
    const pairs = page.getByTestId('capsule-reconstructions').locator('button');
    await expect.poll(() => pairs.count(), { timeout: 60_000 }).toBe(8);
    // Each pair: the input and its reconstruction, drawn.
    expect(await pairs.first().locator('canvas').count()).toBe(2);
    expect(await page.getByTestId('capsule-tweaks').locator('canvas').count()).toBe(11);
    // Another digit and another dimension.
    await pairs.nth(3).click();
    await expect.poll(() => pairs.nth(3).getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('capsule-tweak-dim').selectOption('5');
    expect(await page.getByTestId('capsule-tweaks').locator('canvas').first().getAttribute('aria-label')).toBe('Dimension 5 moved by -0.25');
    await page.getByTestId('capsule-views').scrollIntoViewIfNeeded();
    await shot(page, 'capsnet-02-reconstructions');
  }, 360_000);
});
