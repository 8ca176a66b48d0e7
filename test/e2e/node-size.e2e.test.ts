/**
 * An edit that breaks the graph changes what nodes say, not their size: each later node keeps the
 * room of its shape, parameter count and cost lines (placeholders show instead), and its preview
 * stays, dimmed as out of date, until the graph has no errors again. Without that, one typo made
 * React Flow measure every later node and move every wire twice (after the edit, then again when
 * the previews went), and the canvas jumped under the pointer. Counted as React Flow's
 * ResizeObserver sees them (any change of a node's box) on every node, in real headless Chromium, on a small residual net at working zoom and on a
 * 1,000-node one with the whole graph on screen. Screenshots land in .tmp/shots as node-size-*.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { residualConvGraph } from '../../bench/graphs';
import { LARGE, SHOTS, SMALL, openDocument, openEditor, openTemplate, settleView, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

/** Fits the whole graph in view and waits until the view and the rendered nodes stop changing. */
async function fitAll(page: Page): Promise<void> {
  await page.locator('.react-flow__controls-fitview').click();
  await settleView(page, { tries: 60 });
}

/**
 * Starts counting size changes of every node on the canvas as React Flow's ResizeObserver sees them,
 * against the first report: any change of the border box, to the 64th of a pixel. React Flow then
 * measures the node (whole pixels) and its handles again and renders it again, even when its whole
 * pixels did not change: a hold rounded to whole pixels did that to 993 of 1,000 nodes.
 */
const watchSizes = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { resized: Map<string, string>; sizeWatch: ResizeObserver };
    w.resized = new Map();
    const first = new Map<Element, string>();
    const size = (e: ResizeObserverEntry) => `${e.borderBoxSize[0]!.inlineSize}×${e.borderBoxSize[0]!.blockSize}`;
    w.sizeWatch = new ResizeObserver((entries) => {
      for (const e of entries) {
        const was = first.get(e.target);
        if (was === undefined) first.set(e.target, size(e));
        else if (size(e) !== was) w.resized.set((e.target as HTMLElement).dataset.id ?? '?', `${was} → ${size(e)}`);
      }
    });
    document.querySelectorAll('.react-flow__node').forEach((n) => w.sizeWatch.observe(n));
    return document.querySelectorAll('.react-flow__node').length;
  });
/** Nodes resized since watchSizes, with their first and last sizes (a few of them, for the failure message). */
const resizedNodes = (page: Page) =>
  page.evaluate(() => {
    const resized = [...(window as unknown as { resized: Map<string, string> }).resized];
    return resized.length ? [`${resized.length} nodes`, ...resized.slice(0, 6).map(([id, change]) => `${id}: ${change}`)] : [];
  });

/** Sets the selected Conv2D's filters in the inspector, as typing there would. */
async function setFilters(page: Page, value: number): Promise<void> {
  const input = page.getByLabel('Filters', { exact: true });
  await input.fill(String(value));
}

const staleMarked = (page: Page) => page.evaluate(() => !!document.querySelector('.pb-flow.pb-previews-stale'));

describe.skipIf(!e2e)('node sizes through an edit that breaks the graph', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-node-size-dist');
  });

  afterAll(async () => {
    await h?.close();
  });

  test('ConvMixer at working zoom (the normal picture)', async () => {
    const page = await openEditor(h, SMALL);
    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.waitForFunction(() => document.querySelectorAll('.pb-node-preview').length > 0, undefined, { timeout: 120_000 });
    await page.waitForTimeout(800);
    await expect(page.locator('[data-testid^="shape-"]').first().textContent()).resolves.toMatch(/^\(None, /);
    expect(await page.locator('.pb-held[data-held]').count()).toBe(0);
    await shot(page, 'node-size-convmixer');
    await page.context().close();
  }, 180_000);

  test('a small residual net: placeholders, dimmed previews, and no node resized', async () => {
    const page = await openEditor(h, SMALL);
    // Four to a row, so that the fit shows them at a zoom where lines and previews are drawn.
    await openDocument(page, residualConvGraph(14, 4));
    await fitAll(page);
    await page.waitForFunction(() => document.querySelectorAll('.pb-node-preview').length > 10, undefined, { timeout: 120_000 });
    await page.waitForTimeout(800);
    const last = (await page.locator('.react-flow__node').evaluateAll((ns) => ns.map((n) => (n as HTMLElement).dataset.id!))).at(-1)!;
    const shapeBefore = await page.getByTestId(`shape-${last}`).textContent();
    const previewsBefore = await page.locator('.pb-node-preview').count();
    await page.getByTestId('node-n1').click({ position: { x: 20, y: 12 } });
    await page.getByLabel('Filters', { exact: true }).waitFor();
    const watched = await watchSizes(page);
    expect(watched).toBe(14);

    await setFilters(page, 9);
    await expect.poll(() => page.getByTestId(`shape-${last}`).textContent()).toBe('…');
    // The refresh after the edit finds the graph broken: the previews stay, marked out of date.
    await expect.poll(() => staleMarked(page), { timeout: 20_000 }).toBe(true);
    await page.waitForTimeout(500);
    expect(await page.locator('.pb-node-preview').count()).toBe(previewsBefore);
    expect(await page.locator('[data-testid^="cost-unknown-"]').count()).toBeGreaterThan(5);
    expect(await page.getByTestId('preview-stale').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'node-size-broken.png') });
    expect(await resizedNodes(page)).toEqual([]);

    await page.getByTestId('node-n1').click({ position: { x: 20, y: 12 } });
    await setFilters(page, 8);
    await expect.poll(() => page.getByTestId(`shape-${last}`).textContent()).toBe(shapeBefore);
    await expect.poll(() => staleMarked(page), { timeout: 30_000 }).toBe(false);
    await page.waitForTimeout(500);
    expect(await page.locator('[data-testid^="cost-unknown-"]').count()).toBe(0);
    expect(await resizedNodes(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'node-size-fixed.png') });
    await page.context().close();
  }, 180_000);

  test('1,000 nodes on screen: an edit that breaks every residual join, and back, resizes no node', async () => {
    const page = await openEditor(h, LARGE);
    await openDocument(page, residualConvGraph(1000));
    await page.waitForTimeout(1500);
    await fitAll(page);
    // Zoomed this far out nodes are boxes without previews (Canvas.tsx's FarView): the pin bar says when they are in.
    await page.waitForFunction(() => document.querySelector('[data-testid="pin-label"]')?.getAttribute('data-status') === 'ready', undefined, {
      timeout: 180_000,
    });
    await page.waitForTimeout(1500);
    expect(await page.locator('.pb-node-far').count()).toBe(1000);
    await page.screenshot({ path: join(SHOTS, 'node-size-1000.png') });
    const box = (await page.getByTestId('node-n1').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.getByLabel('Filters', { exact: true }).waitFor();
    await page.waitForTimeout(500);
    expect(await watchSizes(page)).toBe(1000);

    await setFilters(page, 9);
    await expect.poll(() => page.getByTestId('node-n5').getAttribute('class'), { timeout: 30_000 }).toContain('pb-node-error');
    await expect.poll(() => staleMarked(page), { timeout: 30_000 }).toBe(true);
    await page.waitForTimeout(1000);
    expect(await resizedNodes(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'node-size-1000-broken.png') });

    await setFilters(page, 8);
    await expect.poll(() => page.getByTestId('node-n5').getAttribute('class'), { timeout: 30_000 }).not.toContain('pb-node-error');
    await expect.poll(() => staleMarked(page), { timeout: 60_000 }).toBe(false);
    await page.waitForTimeout(1000);
    expect(await resizedNodes(page)).toEqual([]);
    await page.context().close();
  }, 300_000);
});
