/**
 * Zoomed far out (below DETAIL_ZOOM), a node is drawn as a box of its own size with its name
 * (Canvas.tsx's FarView), in real headless Chromium: no lines, handles shown or previews; a broken
 * node turns red (the wires after it, whose shapes are unknown, are dashed); zooming back in restores
 * the whole node with its shape line, and no node changes size on the way out or back. Screenshots
 * land in .tmp/shots as far-nodes-*.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { residualConvGraph } from '../../bench/graphs';
import { SMALL, openDocument, openEditor, settleView, shot, startHarness, zoomOf, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

/** Each node body's border box, to the 64th of a pixel, by node id. */
const bodySizes = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll<HTMLElement>('[data-testid^="node-"]')].map((n) => {
        const r = n.getBoundingClientRect();
        const zoom = Number(/scale\(([\d.]+)\)/.exec((document.querySelector('.react-flow__viewport') as HTMLElement).style.transform)![1]);
        return [n.dataset.testid!.slice(5), `${Math.round((r.width / zoom) * 4) / 4}×${Math.round((r.height / zoom) * 4) / 4}`];
      }),
    ),
  );

const classOf = async (page: Page, id: string) => (await page.getByTestId(`node-${id}`).getAttribute('class')) ?? '';

/** Zooms with the mouse wheel over a node (negative steps zoom in). */
async function wheelOver(page: Page, id: string, steps: number): Promise<void> {
  const box = (await page.getByTestId(`node-${id}`).boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < Math.abs(steps); i++) {
    await page.mouse.wheel(0, steps < 0 ? -120 : 120);
    await page.waitForTimeout(60);
  }
  await settleView(page);
}

describe.skipIf(!e2e)('nodes zoomed far out', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-far-nodes-dist');
  });

  afterAll(async () => {
    await h?.close();
  });

  test('are boxes with their names, a broken one red, and whole again close up, at the same size', async () => {
    const page = await openEditor(h, SMALL);
    // 120 layers in rows of 12: the whole graph fits at about a third of full size.
    const graph = residualConvGraph(120, 12);
    await openDocument(page, graph, 'residual.json');
    await settleView(page);
    await page.getByRole('button', { name: 'Fit all nodes', exact: true }).click();
    await settleView(page);
    expect(await zoomOf(page)).toBeLessThan(0.4);

    // Every node is a box with its name; no shape lines, no previews.
    await expect.poll(() => page.locator('.pb-node-far').count()).toBe(graph.nodes.length);
    expect(await page.locator('[data-testid^="shape-"]').count()).toBe(0);
    expect(await page.locator('.pb-node-preview').count()).toBe(0);
    expect(await page.getByTestId('node-n6').textContent()).toBe('n6');
    expect(await page.getByTestId('node-n6').getAttribute('title')).toContain('n6 · Conv2D');
    const farSizes = await bodySizes(page);
    await shot(page, 'far-nodes-01-far');

    // The first Conv2D's filters 8 → 9: its block's Add (n5) adds 8 channels to 9 and turns red;
    // nothing after it has a shape; what comes before is as it was.
    const n1 = (await page.getByTestId('node-n1').boundingBox())!;
    await page.mouse.click(n1.x + n1.width / 2, n1.y + n1.height / 2);
    await page.getByLabel('Filters', { exact: true }).fill('9');
    await expect.poll(() => classOf(page, 'n5')).toContain('pb-node-error');
    expect(await page.locator('.pb-node-error').count()).toBe(1);
    expect(await page.getByTestId('node-n5').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('node-n5').getAttribute('title')).toMatch(/expected equal shapes/);
    const red = await page.evaluate(() => {
      const probe = document.createElement('div');
      probe.style.color = 'var(--error)';
      document.querySelector('.react-flow')!.append(probe);
      const colour = getComputedStyle(probe).color;
      probe.remove();
      return { error: colour, box: getComputedStyle(document.querySelector('[data-testid="node-n5"]')!).backgroundColor };
    });
    expect(red.box).toBe(red.error);
    // The nodes after it are boxes as before (their shapes are unknown: their wires are dashed).
    expect(await page.locator('.pb-node-far').count()).toBe(graph.nodes.length);
    for (const id of ['n0', 'n1', 'n4', 'n6', 'n119']) expect(await classOf(page, id)).not.toContain('pb-node-error');
    const dashed = graph.edges.filter((e) => !['n0', 'n1', 'n2', 'n3', 'n4'].includes(e.source)).length;
    await expect.poll(() => page.locator('.react-flow__edge.pb-edge-unknown').count()).toBe(dashed);
    await shot(page, 'far-nodes-02-broken-far');
    expect(await bodySizes(page)).toEqual(farSizes);

    // Close up, around the broken join: whole nodes again, with their lines, and still marked.
    await wheelOver(page, 'n5', -8);
    expect(await zoomOf(page)).toBeGreaterThanOrEqual(0.4);
    expect(await page.locator('.pb-node-far').count()).toBe(0);
    await expect.poll(() => page.getByTestId('shape-n5').textContent()).toBe('no shape');
    expect(await page.getByTestId('shape-n6').textContent()).toBe('…');
    expect(await page.getByTestId('shape-n4').textContent()).toMatch(/16, 16, 9\)$/);
    expect(await classOf(page, 'n5')).toContain('pb-node-error');
    expect(await page.getByTestId('node-n1').locator('.pb-node-params').textContent()).toContain('filters 9');
    await shot(page, 'far-nodes-03-broken-close');

    // Fixed, and zoomed out again once its previews are back (they widen a node: a box keeps the
    // size its node had close up): nothing is marked, and no node changed size on the way out.
    await page.getByLabel('Filters', { exact: true }).fill('8');
    await expect.poll(() => page.getByTestId('shape-n6').textContent()).not.toBe('…');
    await expect
      .poll(
        () =>
          page.evaluate(
            () => document.querySelector('[data-testid="pin-label"]')?.getAttribute('data-status') === 'ready' && !document.querySelector('.pb-previews-stale'),
          ),
        { timeout: 60_000 },
      )
      .toBe(true);
    await page.waitForTimeout(500);
    const closeSizes = await bodySizes(page);
    expect(Object.keys(closeSizes)).toHaveLength(graph.nodes.length);
    await page.getByRole('button', { name: 'Fit all nodes', exact: true }).click();
    await settleView(page);
    await expect.poll(() => page.locator('.pb-node-far').count()).toBe(graph.nodes.length);
    expect(await page.locator('.pb-node-error').count()).toBe(0);
    expect(await bodySizes(page)).toEqual(closeSizes);
    await page.context().close();
  }, 180_000);
});
