/**
 * Sweeps and the comparison view in real headless Chromium: a two-value sweep of the ConvMixer
 * template's width trains two tiny runs one after another in the worker, each a run in the history
 * labelled by its value, the user's graph untouched; the comparison shows both in its curves and
 * table (sortable, Pareto front marked) and exports CSV; a sweep can be stopped. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/sweep.e2e.test.ts
 * Screenshots land in .tmp/shots/sweep-*.png.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const panel = (page: Page) => page.locator('.pb-train');
const sweepStatus = (page: Page) => page.getByTestId('sweep-progress').getAttribute('data-status');
const stemDim = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { patchbay: { getState(): { doc: { nodes: { id: string; params: Record<string, unknown> }[] } } } }).patchbay
        .getState()
        .doc.nodes.find((n) => n.id === 'stem')?.params.dim,
  );

describe.skipIf(!e2e)('sweeps and the comparison view in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-sweep');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('sweep two widths of ConvMixer, compare the two runs, export CSV, stop a sweep', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect.poll(() => page.getByTestId('train-backend').textContent(), { timeout: 30_000 }).toMatch(/Available here: .*wasm/);

    // Tiny runs: 64 digits in batches of 32, one epoch = 2 steps per variant.
    await panel(page).getByLabel('Epochs').fill('1');
    await panel(page).getByLabel('Batch size').fill('32');
    await panel(page).getByLabel('Limit training examples').fill('64');
    await panel(page).getByLabel('Epochs').blur();

    await page.getByTestId('sweep').locator('summary').click();
    await page.getByLabel('Param to sweep 1').selectOption('stem.dim');
    // Choosing a param suggests its value and twice it.
    expect(await page.getByLabel('Values of stem.dim').inputValue()).toBe('64, 128');
    await page.getByLabel('Values of stem.dim').fill('16, 32');
    const variants = page.getByTestId('sweep-variants').locator('li');
    await expect.poll(() => variants.count()).toBe(2);
    expect(await variants.nth(0).textContent()).toMatch(/stem\.dim=16.*MACs/);
    // A value that is not a whole number is refused before anything trains.
    await page.getByLabel('Values of stem.dim').fill('16, 2.5');
    await expect.poll(() => page.getByTestId('sweep-problem').textContent()).toMatch(/whole numbers above 0; "2\.5" is not one/);
    await page.getByLabel('Values of stem.dim').fill('16, 32');
    await page.getByTestId('sweep').scrollIntoViewIfNeeded();
    await shot(page, 'sweep-00-setup');

    const started = Date.now();
    await page.getByRole('button', { name: 'Run sweep (2 variants)' }).click();
    await expect.poll(() => sweepStatus(page), { timeout: 15_000 }).toBe('running');
    // The run on screen says which variant it is (not that the graph changed: the graph is the user's, untouched).
    await expect.poll(() => page.getByTestId('sweep-run-note').textContent(), { timeout: 30_000 }).toMatch(/Sweep variant 1 of 2: stem\.dim=16/);
    expect(await page.getByTestId('graph-changed').count()).toBe(0);
    await shot(page, 'sweep-01-running');
    await expect.poll(() => sweepStatus(page), { timeout: 240_000, interval: 500 }).toBe('finished');
    const wall = (Date.now() - started) / 1000;
    console.log(`sweep of two ConvMixer variants (stem.dim 16, 32; 2 steps of 32 each, 16 test digits): ${wall.toFixed(1)} s from the click`);
    expect(await page.getByTestId('sweep-summary').textContent()).toMatch(/2 of 2 variants trained/);

    // The user's graph is untouched; both variants are runs in the history, labelled by their value.
    expect(await stemDim(page)).toBe(64);
    const items = page.getByTestId('run-item');
    await expect.poll(() => items.count()).toBe(2);
    const labels = await page.getByTestId('run-sweep').allTextContents();
    expect(labels.sort()).toEqual(['sweep 1/2stem.dim=16', 'sweep 2/2stem.dim=32']);
    expect(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).toEqual(['completed', 'completed']);
    // What each variant cost, as its run measured it (for the report; nothing here asserts a time).
    const figures = await page.evaluate(() =>
      (
        window as unknown as {
          patchbayTraining: {
            getState(): { runs: { sweep?: { values: Record<string, unknown> }; seconds: number; stepsPerSecond: number; cost?: { macs: number } }[] };
          };
        }
      ).patchbayTraining
        .getState()
        .runs.map((r) => ({ values: r.sweep?.values, seconds: r.seconds, stepsPerSecond: r.stepsPerSecond, macs: r.cost?.macs })),
    );
    console.log('sweep runs:', JSON.stringify(figures));

    await page.getByRole('button', { name: 'Compare the sweep' }).click();
    const dialog = page.getByRole('dialog', { name: 'Compare runs' });
    await dialog.waitFor();
    const rows = dialog.getByTestId('comparison-row');
    await expect.poll(() => rows.count()).toBe(2);
    // Both runs' curves are in the charts: two steps each, one series per run in the legend.
    expect(Number(await dialog.getByTestId('compare-loss').getAttribute('data-points'))).toBe(2);
    const legend = await dialog.getByTestId('compare-loss').locator('.u-legend').textContent();
    expect(legend).toContain('stem.dim=16');
    expect(legend).toContain('stem.dim=32');
    // MACs grow with the width; the narrower run is always on the front (nothing is cheaper).
    await dialog.getByRole('button', { name: 'MACs' }).click();
    const firstRun = () => rows.first().locator('td').first().textContent();
    expect(await firstRun()).toContain('stem.dim=16');
    expect(await rows.first().getAttribute('data-pareto')).toBe('true');
    await dialog.getByRole('button', { name: 'MACs' }).click();
    expect(await firstRun()).toContain('stem.dim=32');
    expect(await dialog.locator('th[aria-sort="descending"]').textContent()).toMatch(/MACs/);
    expect(await dialog.getByTestId('pareto-plot').locator('circle').count()).toBe(2);
    await shot(page, 'sweep-02-compare');

    const download = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Export CSV' }).click();
    const csv = readFileSync((await (await download).path())!, 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe(
      'run,date,status,stem.dim,testAccuracy,testLoss,trainLoss,trainableParams,macs,stepMs,seconds,steps,learningRate,batchSize,paretoAccuracyVsMacs',
    );
    expect(csv).toHaveLength(3);
    // Sorted as on screen: widest first.
    expect(csv[1]).toMatch(/^stem\.dim=32,[^,]+,completed,32,0?\.?\d/);
    expect(csv[2]).toMatch(/^stem\.dim=16,[^,]+,completed,16,.*,2,0\.\d+,32,true$/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // A sweep can be stopped: the variant training stops, the rest are skipped, the graph is unchanged.
    await page.getByLabel('Param to sweep 1').selectOption('lr');
    await page.getByLabel('Values of Learning rate').fill('0.001, 0.002, 0.004');
    await page.getByRole('button', { name: 'Run sweep (3 variants)' }).click();
    await expect.poll(() => page.getByTestId('sweep-variant').first().getAttribute('data-status'), { timeout: 15_000 }).toBe('training');
    await page.getByRole('button', { name: 'Stop sweep' }).click();
    await expect.poll(() => sweepStatus(page), { timeout: 60_000 }).toBe('stopped');
    const states = await page.getByTestId('sweep-variant').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    expect(states.slice(1)).toEqual(['skipped', 'skipped']);
    expect(['stopped', 'completed']).toContain(states[0]);
    expect(
      await page.evaluate(
        () =>
          (window as unknown as { patchbay: { getState(): { doc: { training?: { learningRate?: number } } } } }).patchbay.getState().doc.training?.learningRate,
      ),
    ).not.toBe(0.002);
    await expect.poll(() => items.count()).toBe(3);
    await page.getByTestId('sweep-progress').scrollIntoViewIfNeeded();
    await shot(page, 'sweep-03-stopped');
    // The history: each variant labelled by its values; the sweep's two runs still ticked for comparing.
    await page.getByRole('button', { name: 'Compare 2 runs' }).scrollIntoViewIfNeeded();
    await shot(page, 'sweep-04-history');

    // After a reload the runs keep their labels and costs: the sweep can be compared again from the history.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"] .react-flow');
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect.poll(() => items.count()).toBe(3);
    // Only the two-run sweep offers it (the stopped sweep made one run).
    expect(await page.getByRole('button', { name: 'Compare its sweep' }).count()).toBe(2);
    await items.filter({ hasText: 'stem.dim=16' }).getByRole('button', { name: 'Compare its sweep' }).click();
    const again = page.getByRole('dialog', { name: 'Compare runs' });
    await expect.poll(() => again.getByTestId('comparison-row').count()).toBe(2);
    const narrow = again.getByTestId('comparison-row').filter({ hasText: 'stem.dim=16' }).locator('td');
    expect(await narrow.nth(5).textContent()).toBe('527k');
    expect(await narrow.nth(4).textContent()).toBe('3,290');
  }, 420_000);
});
