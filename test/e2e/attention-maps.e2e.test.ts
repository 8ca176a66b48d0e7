/**
 * The attention view of the Vision Transformer in real headless Chromium: open the ViT template,
 * train a few steps on MNIST (64 digits), open the attention maps in the Train tab, and check that
 * every layer × (heads + average) heat map is drawn, that maps differ between heads and between
 * images, and that a drawn digit gets its own maps. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/attention-maps.e2e.test.ts
 * Screenshots land in .tmp/shots/attention-*.png.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, SHOTS, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const panel = (page: Page) => page.locator('.pb-train');
const view = (page: Page) => page.getByTestId('attention-maps');
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');

/** Each heat-map canvas of the grid, by layer and head: its pixels' mean and spread, and a short fingerprint of them. */
function cellPixels(page: Page) {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLCanvasElement>('[data-testid="attention-cell"]')].map((c) => {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      let squares = 0;
      const grey: number[] = [];
      for (let i = 0; i < data.length; i += 4) {
        const v = (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
        sum += v;
        squares += v * v;
        grey.push(v);
      }
      const n = grey.length;
      return { layer: c.dataset.layer, head: c.dataset.head, mean: sum / n, spread: Math.sqrt(squares / n - (sum / n) ** 2), grey };
    }),
  );
}

/** Mean absolute difference of two pictures' grey levels (0–255). */
const difference = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

describe.skipIf(!e2e)('ViT attention maps in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-attention');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('train the ViT a few steps, then see where the class token looks, per layer and head, for held-out and drawn digits', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'Vision Transformer', 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();

    // Before any run the view says what it needs.
    await expect.poll(() => view(page).count()).toBe(1);
    expect(await page.getByTestId('attention-disabled').textContent()).toMatch(/Finish a run/);
    expect(await page.getByTestId('attention-show').isDisabled()).toBe(true);

    await panel(page).getByLabel('Epochs').fill('1');
    await panel(page).getByLabel('Batch size').fill('16');
    await panel(page).getByLabel('Limit training examples').fill('64');
    await panel(page).getByLabel('Epochs').blur();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).toMatch(/completed/);

    await page.getByTestId('attention-show').scrollIntoViewIfNeeded();
    await page.getByTestId('attention-show').click();
    // 4 blocks × (4 heads + their average).
    await expect.poll(() => page.getByTestId('attention-cell').count(), { timeout: 60_000 }).toBe(20);
    expect(await page.getByTestId('attention-image').count()).toBe(8);
    expect(await view(page).getByText('Head 1', { exact: true }).count()).toBe(1);
    expect(await view(page).getByText('Average', { exact: true }).count()).toBe(1);
    expect(await page.getByTestId('attention-focus').textContent()).toMatch(
      /Layer 4, average of the heads · [\d.]+% on the class token itself, [\d.]+% on the 16 patches/,
    );

    const first = await cellPixels(page);
    expect(first.map((c) => `${c.layer}/${c.head}`)).toEqual([0, 1, 2, 3].flatMap((l) => ['0', '1', '2', '3', 'average'].map((hd) => `${l}/${hd}`)));
    // Drawn: not blank, with structure (the digit and the patch tints), in every map.
    for (const c of first) {
      expect(c.mean, `${c.layer}/${c.head}`).toBeGreaterThan(5);
      expect(c.spread, `${c.layer}/${c.head}`).toBeGreaterThan(5);
    }
    // Heads differ: in some layer, two heads tint the patches differently.
    const heads = first.filter((c) => c.head !== 'average');
    const headDifferences = [0, 1, 2, 3].map((l) => {
      const own = heads.filter((c) => c.layer === String(l));
      return Math.max(...own.slice(1).map((c) => difference(own[0]!.grey, c.grey)));
    });
    expect(Math.max(...headDifferences)).toBeGreaterThan(2);
    await view(page).scrollIntoViewIfNeeded();
    await view(page).screenshot({ path: join(SHOTS, 'attention-01-maps-1280x800.png') });
    await shot(page, 'attention-02-panel');

    // Another image gives other maps.
    await page.getByTestId('attention-image').nth(3).click();
    expect(await page.getByTestId('attention-image').nth(3).getAttribute('aria-selected')).toBe('true');
    await expect.poll(async () => difference((await cellPixels(page))[19]!.grey, first[19]!.grey)).toBeGreaterThan(2);

    // A map clicked is shown large.
    await page.getByTestId('attention-cell').nth(6).click(); // layer 2, head 2
    expect(await page.getByTestId('attention-focus').textContent()).toMatch(/^Layer 2, head 2/);

    // A drawn digit: a "7" drawn with the mouse becomes the last image, picked, with its own maps.
    const pad = page.getByTestId('attention-draw');
    await pad.scrollIntoViewIfNeeded();
    const box = (await pad.boundingBox())!;
    const at = (x: number, y: number) => [box.x + x * box.width, box.y + y * box.height] as const;
    await page.mouse.move(...at(0.25, 0.25));
    await page.mouse.down();
    await page.mouse.move(...at(0.75, 0.25), { steps: 6 });
    await page.mouse.move(...at(0.45, 0.8), { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('attention-image').count(), { timeout: 60_000 }).toBe(9);
    const drawnOption = page.getByTestId('attention-image').last();
    expect(await drawnOption.getAttribute('aria-selected')).toBe('true');
    expect(await drawnOption.textContent()).toMatch(/^drawn → .+$/);
    const drawn = await cellPixels(page);
    expect(drawn.every((c) => c.spread > 5)).toBe(true);
    await view(page).screenshot({ path: join(SHOTS, 'attention-03-drawn-1280x800.png') });

    // One colour scale for all maps: the maps are redrawn against the largest weight of all.
    await page.getByTestId('attention-shared-scale').check();
    await expect.poll(async () => Math.max(...(await cellPixels(page)).map((c, i) => difference(c.grey, drawn[i]!.grey)))).toBeGreaterThan(1);
    await view(page).screenshot({ path: join(SHOTS, 'attention-04-shared-scale-1280x800.png') });
  });
});
