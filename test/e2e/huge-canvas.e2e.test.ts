/**
 * The canvas of a 1,000-node graph in real headless Chromium: the Controls' fit button brings every
 * node on screen (React Flow's own waited for nodes it had never measured, and did nothing), the
 * minimap is drawn on a canvas and moves the view, and a node dragged at that zoom lands where it
 * was let go. Screenshots land in .tmp/shots as huge-canvas-*.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { GraphDocument } from '../../src/document/schema';
import { residualConvGraph } from '../../bench/graphs';
import { LARGE, openDocument, openEditor, settleView as settle, shot, startHarness, viewportTransform as viewport, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

/** Nodes whose whole box lies inside the canvas. */
const nodesOnScreen = (page: Page) =>
  page.evaluate(() => {
    const flow = document.querySelector('.react-flow')!.getBoundingClientRect();
    return [...document.querySelectorAll('.react-flow__node')].filter((n) => {
      const r = n.getBoundingClientRect();
      return r.width > 0 && r.left >= flow.left && r.right <= flow.right && r.top >= flow.top && r.bottom <= flow.bottom;
    }).length;
  });

const positionOf = (page: Page, id: string) =>
  page.evaluate((id) => {
    const s = (window as unknown as { patchbay: { getState(): { doc: GraphDocument } } }).patchbay.getState();
    return s.doc.nodes.find((n) => n.id === id)!.position!;
  }, id);

describe.skipIf(!e2e)('a 1,000-node canvas', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-huge-canvas-dist');
  });

  afterAll(async () => {
    await h?.close();
  });

  test('fit shows every node, the canvas minimap moves the view, a node dragged far out lands where it is let go', async () => {
    const page = await openEditor(h, LARGE);
    const graph = residualConvGraph(1000);
    await openDocument(page, graph, 'residual.json');
    await page.getByTestId('node-n0').waitFor({ timeout: 60_000 });
    await settle(page);
    // A huge graph opens on its first nodes, readable: most of it is off screen and not rendered.
    expect(await page.locator('.react-flow__node').count()).toBeLessThan(300);
    expect(Number(/scale\(([\d.]+)\)/.exec(await viewport(page))![1])).toBeGreaterThanOrEqual(0.4);
    expect(await page.getByTestId('node-n0').isVisible()).toBe(true);
    await shot(page, 'huge-canvas-00-opened');

    // A large graph's minimap is one canvas, with the graph drawn on it.
    const minimap = page.locator('.pb-minimap-canvas');
    await expect.poll(() => minimap.locator('canvas').count()).toBe(1);
    expect(await page.locator('.react-flow__minimap svg').count()).toBe(0);
    const inked = await minimap.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n / (c.width * c.height);
    });
    expect(inked).toBeGreaterThan(0.05);

    // The minimap's node colour follows the light or dark scheme at once: before, it was read only
    // when the nodes changed, so a switch kept the old colour until the next edit.
    const drawnAndExpected = () =>
      minimap.locator('canvas').evaluate((c: HTMLCanvasElement) => {
        const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const counts = new Map<string, number>();
        for (let i = 0; i < data.length; i += 4)
          if (data[i + 3] === 255) counts.set(`${data[i]},${data[i + 1]},${data[i + 2]}`, (counts.get(`${data[i]},${data[i + 1]},${data[i + 2]}`) ?? 0) + 1);
        const drawn = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
        const probe = document.createElement('canvas').getContext('2d')!;
        probe.fillStyle = getComputedStyle(c).getPropertyValue('--muted').trim();
        probe.fillRect(0, 0, 1, 1);
        const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
        return { drawn, expected: `${r},${g},${b}` };
      });
    const light = await drawnAndExpected();
    expect(light.drawn).toBe(light.expected);
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(async () => (await drawnAndExpected()).drawn).not.toBe(light.drawn);
    const dark = await drawnAndExpected();
    expect(dark.expected).not.toBe(light.expected);
    expect(dark.drawn).toBe(dark.expected);
    await shot(page, 'huge-canvas-00b-dark-minimap');
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(async () => (await drawnAndExpected()).drawn).toBe(light.drawn);

    await page.getByRole('button', { name: 'Fit all nodes', exact: true }).click();
    await settle(page);
    expect(await nodesOnScreen(page)).toBe(1000);
    const zoom = Number(/scale\(([\d.]+)\)/.exec(await viewport(page))![1]);
    expect(zoom).toBeLessThan(0.4);
    // Zoomed that far out the nodes are boxes (huge-graphs.ts, DETAIL_ZOOM).
    expect(await page.locator('.pb-flow-far').count()).toBe(1);
    await shot(page, 'huge-canvas-01-fit-all');

    // Dragged at this zoom, a node moves by the mouse's travel divided by the zoom (React Flow starts
    // the drag on the first move, so the travel counted is that of the last nine of the ten moves).
    const before = await positionOf(page, 'n500');
    const box = (await page.getByTestId('node-n500').boundingBox())!;
    const x = box.x + box.width * 0.25;
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(x - 8 * i, y - 6 * i);
    await page.mouse.up();
    await expect.poll(async () => (await positionOf(page, 'n500')).x).not.toBe(before.x);
    const after = await positionOf(page, 'n500');
    expect(after.x - before.x).toBeCloseTo(-72 / zoom, -1);
    expect(after.y - before.y).toBeCloseTo(-54 / zoom, -1);

    // Pressing on the minimap's lower right centres the view there: the view moves up and left.
    const fitted = await viewport(page);
    const area = (await minimap.locator('.pb-minimap-area').boundingBox())!;
    await page.mouse.click(area.x + area.width * 0.9, area.y + area.height * 0.9);
    await expect.poll(() => viewport(page)).not.toBe(fitted);
    const [tx0, ty0] = /translate\(([-\d.]+)px, ([-\d.]+)px\)/.exec(fitted)!.slice(1).map(Number);
    const [tx1, ty1] = /translate\(([-\d.]+)px, ([-\d.]+)px\)/
      .exec(await viewport(page))!
      .slice(1)
      .map(Number);
    expect(tx1!).toBeLessThan(tx0!);
    expect(ty1!).toBeLessThan(ty0!);
    await shot(page, 'huge-canvas-02-minimap-moved');
  });
});
