/**
 * RealNVP in real headless Chromium: the template opens, its training procedure shows the flow's
 * Network node with z and logdet, a short run on two moons trains in the worker, and the Train tab
 * draws the learned density with the training points and samples; the evaluation reports the test
 * NLL beside the Gaussian baseline. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/flows.e2e.test.ts
 * Screenshots land in .tmp/shots/flows-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).textContent()) ?? '') : '');

describe.skipIf(!e2e)('RealNVP in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-flows');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('open RealNVP, train a few steps on two moons, see the density heat map with samples', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'RealNVP', 'moons');
    await page.getByTestId('graph-tab-procedure-train').click();
    await page.getByTestId('node-flow').waitFor();
    expect(await page.getByTestId('shape-nll').textContent()).toBe('()');
    await shot(page, 'flows-00-procedure');

    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    await train.getByLabel('Dataset').selectOption('moons');
    await train.getByLabel('Epochs').fill('6');
    await train.getByLabel('Epochs').blur();
    await expect.poll(() => text(page, 'train-plan')).toMatch(/× 6 epochs = 42 steps of 128/);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByTestId('flow-density').waitFor({ timeout: 120_000 });
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 180_000 }).toBe('completed');
    await page.getByTestId('program-metrics').waitFor();
    const nll = Number((await text(page, 'metric-testNll')).match(/-?\d+\.\d+/)?.[0]);
    const gaussian = Number((await text(page, 'metric-baselines.gaussianNll')).match(/-?\d+\.\d+/)?.[0]);
    expect(Number.isFinite(nll) && Number.isFinite(gaussian)).toBe(true);
    // Shown as nats, not as a percentage.
    expect(await text(page, 'metric-testNll')).toMatch(/\d nats$/);
    expect(await text(page, 'flow-density')).toContain('step 42');

    // The canvas holds a real picture: the heat map varies, and red sample dots are drawn on it.
    const pixels = await page
      .getByTestId('flow-density')
      .locator('canvas')
      .evaluate((c: HTMLCanvasElement) => {
        const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const colours = new Set<number>();
        let red = 0;
        for (let i = 0; i < data.length; i += 4) {
          colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
          if (data[i]! > 200 && data[i + 1]! < 100 && data[i + 2]! < 80) red++;
        }
        return { colours: colours.size, red };
      });
    expect(pixels.colours).toBeGreaterThan(50);
    expect(pixels.red).toBeGreaterThan(100);
    await page.getByTestId('flow-density').scrollIntoViewIfNeeded();
    await shot(page, 'flows-01-density');
  });
});
