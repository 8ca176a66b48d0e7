/**
 * The Vision Transformer in real headless Chromium: open the ViT template from the Templates dialog,
 * see its attention layers with shapes on the canvas, train a few steps on MNIST in the worker (the
 * custom attention layers train there), and stop. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/vit.e2e.test.ts
 * Screenshots land in .tmp/shots/vit-*.png at 1280×800 and 1920×1080.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const panel = (page: Page) => page.locator('.pb-train');
const stepOf = async (page: Page) => Number((await page.getByTestId('train-step').textContent())?.match(/Step (\d+)/)?.[1] ?? 0);
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');

describe.skipIf(!e2e)('ViT in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-vit');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('open the ViT template, train a few steps on MNIST, stop', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'Vision Transformer', 'mnist');
    // The canvas shows the template's layers with their shapes: the class token adds one token.
    const state = () =>
      page.evaluate(() => {
        const s = (window as unknown as { patchbay: { getState(): { doc: { name: string; nodes: Array<{ type: string }> } } } }).patchbay.getState();
        return { name: s.doc.name, types: s.doc.nodes.map((n) => n.type) };
      });
    const doc = await state();
    expect(doc.name).toBe('ViT mnist');
    expect(doc.types).toEqual(expect.arrayContaining(['ClassToken', 'PositionEmbedding', 'TakeToken', 'Block']));
    await expect.poll(() => page.locator('.react-flow__node').count()).toBeGreaterThanOrEqual(10);
    expect(await page.locator('.react-flow').textContent()).toMatch(/Class token/);
    await shot(page, 'vit-00-template');

    await page.getByRole('tab', { name: 'Train' }).click();
    expect(await page.getByTestId('train-blocked').count()).toBe(0);
    await panel(page).getByLabel('Epochs').fill('1');
    await panel(page).getByLabel('Batch size').fill('16');
    await panel(page).getByLabel('Limit training examples').fill('64');
    await panel(page).getByLabel('Epochs').blur();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stepOf(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('train-step').textContent()).toMatch(/Step \d+ \/ 4/);
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).toMatch(/completed/);
    const run = page.getByTestId('run-item').first();
    expect(await run.getAttribute('data-status')).toBe('completed');
    expect(await run.textContent()).toMatch(/\d+\.\d\d%/);
    await shot(page, 'vit-01-trained');
  });
});
