/**
 * A 1,000-node graph zoomed far out draws its wires as a few paths (FarWires.tsx) instead of 1,200
 * React Flow edges, in real headless Chromium: every wire is drawn, a click on one selects it, an
 * edit that breaks every residual join after it marks the right node and dashes the right wires,
 * and zoomed in React Flow's wires come back, labelled and attached to their handles although the
 * edit resized every later node. Screenshots land in .tmp/shots as far-wires-*.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { GraphDocument } from '../../src/document/schema';
import { residualConvGraph } from '../../bench/graphs';
import { LARGE, openDocument, openEditor, settleView as settle, shot, startHarness, zoomOf, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

/** How many wires the far-wires paths of a kind draw (one "M" per wire): known, unknown (dashed), selected. */
const piecesOf = (page: Page, kind: 'known' | 'unknown' | 'selected') =>
  page.evaluate(
    (kind) =>
      [...document.querySelectorAll(kind === 'selected' ? '[data-testid="far-wires-selected"]' : `[data-testid="far-wires"] path[data-kind="${kind}"]`)]
        .map((p) => (p.getAttribute('d') ?? '').split('M').length - 1)
        .reduce((a, b) => a + b, 0),
    kind,
  );

type Store = { getState(): { doc: GraphDocument; selectedEdges: string[]; selectedNodes: string[] } };
const state = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { patchbay: Store }).patchbay.getState();
    return { edges: s.doc.edges, selectedEdges: s.selectedEdges, selectedNodes: s.selectedNodes };
  });

/** Centre of a node's handle on screen (`source`: its output at the bottom, `target`: its input at the top). */
async function handleCentre(page: Page, nodeId: string, kind: 'source' | 'target') {
  const box = (await page.locator(`[data-testid="node-${nodeId}"] .react-flow__handle.${kind}`).first().boundingBox())!;
  return { x: box.x + box.width / 2, y: kind === 'source' ? box.y + box.height : box.y };
}

describe.skipIf(!e2e)('wires of a 1,000-node graph zoomed far out', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-far-wires-dist');
  });

  afterAll(async () => {
    await h?.close();
  });

  test('drawn as a few paths, clickable, dashed after a breaking edit; React Flow wires again close up, on their handles', async () => {
    const page = await openEditor(h, LARGE);
    const graph = residualConvGraph(1000);
    await openDocument(page, graph, 'residual.json');
    await page.getByTestId('node-n0').waitFor({ timeout: 60_000 });
    await settle(page);
    await page.getByRole('button', { name: 'Fit all nodes', exact: true }).click();
    await settle(page);
    expect(await zoomOf(page)).toBeLessThan(0.4);

    // Every wire is drawn, all of them as known shapes, and none is a React Flow edge.
    expect(await page.locator('.react-flow__edge').count()).toBe(0);
    expect(await page.locator('.react-flow__edge-text').count()).toBe(0);
    expect(await piecesOf(page, 'known')).toBe(graph.edges.length);
    expect(await piecesOf(page, 'unknown')).toBe(0);
    await shot(page, 'far-wires-01-whole-graph');

    // A click halfway between n1's output and n2's input (where their wire's curve passes) selects that wire.
    const wire = graph.edges.find((e) => e.source === 'n1' && e.target === 'n2')!;
    const from = await handleCentre(page, 'n1', 'source');
    const to = await handleCentre(page, 'n2', 'target');
    const pickWire = async () => {
      await page.mouse.click((from.x + to.x) / 2, (from.y + to.y) / 2);
      await expect.poll(async () => (await state(page)).selectedEdges).toEqual([wire.id]);
      expect(await piecesOf(page, 'selected')).toBe(1);
    };
    await pickWire();
    await shot(page, 'far-wires-01b-wire-picked');
    // A click on empty canvas away from every wire drops it.
    const flow = (await page.locator('.react-flow').boundingBox())!;
    await page.mouse.click(flow.x + flow.width - 40, flow.y + flow.height / 2);
    await expect.poll(async () => (await state(page)).selectedEdges).toEqual([]);
    expect(await page.getByTestId('far-wires-selected').count()).toBe(0);

    // So does picking a node. The first Conv2D's filters 8 → 9: its block's Add (n5) adds 8 channels to 9, and nothing after it has a shape.
    await pickWire();
    const n1 = (await page.getByTestId('node-n1').boundingBox())!;
    await page.mouse.click(n1.x + n1.width * 0.25, n1.y + n1.height / 2);
    await expect.poll(() => state(page)).toMatchObject({ selectedNodes: ['n1'], selectedEdges: [] });
    await page.getByLabel('Filters', { exact: true }).fill('9');
    // Far out a node is a box (Canvas.tsx's FarView): the broken join is marked.
    await expect.poll(() => page.getByTestId('node-n5').getAttribute('class')).toContain('pb-node-error');
    expect(await page.locator('.pb-node-error').count()).toBe(1);
    expect(await page.getByTestId('node-n5').getAttribute('class')).toContain('pb-node-error');
    // Known: the wires out of n0..n4 (n0→n1, n0→n5, n1→n2, n2→n3, n3→n4, n4→n5); every other one is dashed.
    const known = graph.edges.filter((e) => ['n0', 'n1', 'n2', 'n3', 'n4'].includes(e.source)).length;
    expect(known).toBe(6);
    await expect.poll(() => piecesOf(page, 'known')).toBe(known);
    expect(await piecesOf(page, 'unknown')).toBe(graph.edges.length - known);
    await shot(page, 'far-wires-02-broken-far');

    // Close up (the wheel over n5): React Flow's wires, with shape labels, and no far picture.
    const n5 = (await page.getByTestId('node-n5').boundingBox())!;
    await page.mouse.move(n5.x + n5.width / 2, n5.y + n5.height / 2);
    for (let i = 0; i < 14; i++) {
      await page.mouse.wheel(0, -120);
      await page.waitForTimeout(60);
    }
    await settle(page);
    expect(await zoomOf(page)).toBeGreaterThanOrEqual(0.4);
    expect(await page.getByTestId('far-wires').count()).toBe(0);
    expect(await page.locator('.react-flow__edge').count()).toBeGreaterThan(0);
    expect(await page.locator('.react-flow__edge-text').count()).toBeGreaterThan(0);
    expect(await page.locator('.react-flow__edge.pb-edge-unknown').count()).toBeGreaterThan(0);

    // Every later node lost its shape and cost with the edit (keeping its size: node-size.e2e): the
    // wire n5 → n6 still starts at n5's output and ends at n6's input, as measured now.
    const after = await state(page);
    const n5n6 = after.edges.find((e) => e.source === 'n5' && e.target === 'n6')!;
    const ends = await page.evaluate((id) => {
      const path = document.querySelector<SVGPathElement>(`.react-flow__edge[data-id="${id}"] .react-flow__edge-path`)!;
      const ctm = path.getScreenCTM()!;
      const at = (p: DOMPoint) => new DOMPoint(p.x, p.y).matrixTransform(ctm);
      const start = at(path.getPointAtLength(0));
      const end = at(path.getPointAtLength(path.getTotalLength()));
      return { start: { x: start.x, y: start.y }, end: { x: end.x, y: end.y } };
    }, n5n6.id);
    const out5 = await handleCentre(page, 'n5', 'source');
    const in6 = await handleCentre(page, 'n6', 'target');
    expect(Math.abs(ends.start.x - out5.x)).toBeLessThan(2);
    expect(Math.abs(ends.start.y - out5.y)).toBeLessThan(2);
    expect(Math.abs(ends.end.x - in6.x)).toBeLessThan(2);
    expect(Math.abs(ends.end.y - in6.y)).toBeLessThan(2);
    await shot(page, 'far-wires-03-broken-close-up');
  });
});
