/**
 * RealNVP in real headless Chromium: the template opens, its training procedure shows the flow's
 * Network node with z and logdet, a short run on two moons trains in the worker, and the Train tab
 * draws the learned density with the training points and samples; the evaluation reports the test
 * NLL beside the Gaussian baseline. Glow (a flow on digits) trains 2 steps and its Train tab draws 16
 * samples from fixed noise, redrawn at another temperature after the run. Run with:
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

  test('open Glow, train 2 steps on digits, see 16 samples drawn in the grid, redraw at another temperature', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'Glow', 'mnist');
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    const panel = page.getByTestId('flow-samples');
    await panel.waitFor();
    // RealNVP's 2-D view is for points only.
    expect(await page.getByTestId('flow-density').count()).toBe(0);
    expect(await text(page, 'flow-samples-waiting')).toMatch(/^Start a run: 16 samples/);
    expect(await panel.getByLabel('Temperature', { exact: true }).inputValue()).toBe('1');
    await panel.getByLabel('Temperature', { exact: true }).fill('3');
    await panel.getByLabel('Temperature', { exact: true }).blur();
    await expect.poll(() => panel.getByRole('alert').textContent()).toMatch(/number from 0 to 2/);
    await panel.getByLabel('Temperature', { exact: true }).fill('1');
    await panel.getByLabel('Temperature', { exact: true }).blur();
    await train.getByLabel('Epochs').fill('1');
    await train.getByLabel('Batch size').fill('32');
    await train.getByLabel('Limit training examples').fill('64');
    await train.getByLabel('Limit training examples').blur();
    await expect.poll(() => text(page, 'train-plan')).toMatch(/64 digits × 1 epoch = 2 steps of 32/);

    // The page's long tasks during the run, printed (nothing asserted about time): the grid is painted on the main thread.
    await page.evaluate(() => {
      const w = window as unknown as { longTasks: Array<[number, number]>; grids: number[]; began: number };
      w.longTasks = [];
      w.grids = [];
      w.began = performance.now();
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longTasks.push([e.startTime, e.duration]);
      }).observe({ type: 'longtask', buffered: false });
      // When each grid arrived (its caption changes), to tell its paint from the run's start.
      new MutationObserver(() => w.grids.push(performance.now())).observe(document.querySelector('[data-testid="flow-samples"]')!, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByTestId('flow-grid').waitFor({ timeout: 180_000 });
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 300_000 }).toBe('completed');
    await expect.poll(() => text(page, 'flow-samples-step'), { timeout: 60_000 }).toBe('step 2');
    expect(await text(page, 'flow-samples-meta')).toMatch(
      /^16 samples from seed 0 at temperature 1, with the weights of step 2; drawn in [\d.]+ s, [\d.]+% of the run's time so far\.$/,
    );

    // Each of the 16 tiles (28 × 28, 2-pixel gaps, 4 to a row) is a picture: several grey levels, not one.
    const tiles = () =>
      page.getByTestId('flow-grid').evaluate((c: HTMLCanvasElement) => {
        const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const out: Array<{ levels: number; nan: number }> = [];
        let sum = 0;
        for (let n = 0; n < 16; n++) {
          const levels = new Set<number>();
          let nan = 0;
          for (let y = 0; y < 28; y++)
            for (let x = 0; x < 28; x++) {
              const at = 4 * ((Math.floor(n / 4) * 30 + y) * c.width + (n % 4) * 30 + x);
              levels.add(data[at]!);
              if (data[at]! === 220 && data[at + 1]! === 40) nan++;
              sum = (sum * 31 + data[at]!) % 1_000_000_007;
            }
          out.push({ levels: levels.size, nan });
        }
        return { size: [c.width, c.height], tiles: out, sum };
      });
    const first = await tiles();
    expect(first.size).toEqual([118, 118]);
    for (const tile of first.tiles) {
      expect(tile.nan).toBe(0);
      expect(tile.levels).toBeGreaterThan(4);
    }
    await panel.evaluate((el) => el.scrollIntoView({ block: 'end' }));
    await shot(page, 'flows-02-glow-samples');
    const timing = await page.evaluate(() => {
      const w = window as unknown as { longTasks: Array<[number, number]>; grids: number[]; began: number };
      return { longTasks: w.longTasks, grids: w.grids, began: w.began };
    });
    const at = (t: number) => Math.round(t - timing.began);
    console.log(
      `glow run: long tasks [start ms, ms] ${JSON.stringify(timing.longTasks.map(([t, d]) => [at(t), Math.round(d)]))}; panel changes at ${JSON.stringify(timing.grids.map(at))} ms`,
    );

    // After the run, a new temperature redraws the same noise at a smaller spread.
    await panel.getByLabel('Temperature', { exact: true }).fill('0.5');
    await panel.getByLabel('Temperature', { exact: true }).blur();
    await expect.poll(() => text(page, 'flow-samples-meta'), { timeout: 60_000 }).toMatch(/at temperature 0\.5,/);
    const cooler = await tiles();
    expect(cooler.sum).not.toBe(first.sum);
    await shot(page, 'flows-03-glow-cooler');
  });
});
