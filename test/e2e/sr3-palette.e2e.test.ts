/**
 * SR3 and Palette in real headless Chromium: each template opens, a short run (64 digits, two steps)
 * trains in the worker, the evaluation reports the sampled measure beside its trivial answer (PSNR in
 * dB beside the bicubic upsampling; the masked error beside filling with the mean image; Palette
 * colourise's error beside the grey image times the usual colour), and the Train tab samples held-out
 * digits and shows input, output and target side by side (colourise: the grey input grey, the target
 * in colour), with the column names held below the sticky run header while the rows scroll.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/sr3-palette.e2e.test.ts
 * Screenshots land in .tmp/shots/sr3-*.png, palette-*.png and palette-colourise-*.png (…-examples-scrolled: the table scrolled).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).textContent()) ?? '') : '');

describe.skipIf(!e2e)('SR3 and Palette in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-sr3-palette');
  });
  afterAll(async () => {
    await h?.close();
  });

  test.each([
    ['SR3', 'mnist', 'sr3', /^PSNR of the samples\d+\.\d+ dB$/, /^PSNR of the bicubic upsampling\d+\.\d+ dB$/, 'psnr', 'bicubicPsnr'],
    [
      'Palette',
      'mnist',
      'palette',
      /^Squared error of the samples in the square0\.\d+$/,
      /^Squared error filling the square with the mean image0\.\d+$/,
      'maskedMse',
      'meanFillMse',
    ],
    [
      'Palette',
      'colourise',
      'palette-colourise',
      /^Squared error of the sampled colours0\.\d+$/,
      /^Squared error of the grey image times the usual colour at each pixel0\.\d+$/,
      'maskedMse',
      'meanFillMse',
    ],
  ])(
    'open %s %s, train two steps, see the measure beside its baseline and input / output / target',
    async (title, preset, id, scoreText, baselineText, score, baseline) => {
      const page = await openEditor(h);
      await openTemplate(page, title, preset);
      await page.getByTestId('graph-tab-procedure-evaluate').waitFor();
      await page.getByRole('tab', { name: 'Train', exact: true }).click();
      const train = page.getByTestId('program-train');
      await page.getByTestId('conditional-examples-disabled').waitFor();
      await train.getByLabel('Batch size').fill('32');
      await train.getByLabel('Limit training examples').fill('64');
      await train.getByLabel('Epochs').fill('1');
      await train.getByLabel('Epochs').blur();
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 300_000 }).toBe('completed');
      await page.getByTestId('program-metrics').waitFor();
      expect(await text(page, `metric-${score}`)).toMatch(scoreText);
      expect(await text(page, `metric-${baseline}`)).toMatch(baselineText);

      await page.getByTestId('conditional-examples-show').click();
      const rows = page.getByTestId('conditional-examples-table').locator('.pb-conditional-row');
      await expect.poll(() => rows.count(), { timeout: 120_000 }).toBe(6);
      expect(await rows.first().locator('canvas').count()).toBe(3);
      expect(await rows.first().locator('canvas').nth(2).getAttribute('aria-label')).toBe('Original, held-out digit 1');
      if (preset === 'colourise') {
        expect(await text(page, 'metric-greyCopyMse')).toMatch(/^Squared error of the grey image on every channel0\.\d+$/);
        // Pixels drawn with channels apart by more than 40 of 255: none in the grey input, many in the coloured original.
        const colourful = (k: number) =>
          rows
            .first()
            .locator('canvas')
            .nth(k)
            .evaluate((canvas: HTMLCanvasElement) => {
              const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
              let n = 0;
              for (let i = 0; i < d.length; i += 4) if (Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!) > 40) n++;
              return n;
            });
        expect(await colourful(0)).toBe(0);
        expect(await colourful(2)).toBeGreaterThan(20);
        expect(await page.getByTestId('conditional-examples').getByRole('heading').first().textContent()).toContain('Colourisation');
        // The task is in the graph: Colour by class and Luminance in the training procedure, and the measure's node shows its
        // result beside the usual-colour baseline.
        await page.getByTestId('graph-tab-procedure-train').click();
        await page.locator('.react-flow__node[data-id="colour"]').waitFor();
        await page.locator('.react-flow__node[data-id="grey"]').waitFor();
        await shot(page, `${id}-train-graph`);
        await page.getByTestId('graph-tab-procedure-evaluate').click();
        // The tab's nodes draw their content a frame after they mount (views are published in a layout effect).
        await expect.poll(() => text(page, 'live-colourisation'), { timeout: 15_000 }).toMatch(/^mse 0\.\d+ · usual colour 0\.\d+$/);
        await shot(page, `${id}-evaluate-graph`);
      }
      await page.getByTestId('conditional-examples').scrollIntoViewIfNeeded();
      await shot(page, `${id}-examples`);

      // Scrolled down the table (its third row at the top of the panel): the column names stay in
      // view, just below the sticky run header rather than under it, and the first rows pass beneath.
      await page.getByTestId('conditional-examples-table').evaluate((table) => {
        let scroller = table.parentElement;
        while (scroller && !(scroller.scrollHeight > scroller.clientHeight && /auto|scroll/.test(getComputedStyle(scroller).overflowY)))
          scroller = scroller.parentElement;
        const third = table.querySelectorAll('.pb-conditional-row [role="cell"]')[6]!;
        scroller!.scrollTop += third.getBoundingClientRect().top - scroller!.getBoundingClientRect().top;
      });
      const header = (await page.getByTestId('program-train').locator('.pb-train-controls').boundingBox())!;
      const name = (await page.getByTestId('conditional-examples-table').getByRole('columnheader').first().boundingBox())!;
      const firstRow = (await rows.first().getByRole('cell').first().boundingBox())!;
      const below = name.y - (header.y + header.height);
      expect(below).toBeGreaterThanOrEqual(0);
      expect(below).toBeLessThan(8);
      expect(firstRow.y).toBeLessThan(name.y);
      await shot(page, `${id}-examples-scrolled`);
    },
    480_000,
  );
});
