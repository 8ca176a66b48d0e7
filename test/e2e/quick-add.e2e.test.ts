/**
 * Canvas gestures in real headless Chromium: the quick-add menu (double-click the canvas, or drop a
 * wire on empty space), dropping a node onto a wire, laying out a file saved without positions,
 * and editing inside a block (readable size, Tidy up, the body's own issues). Screenshots land in
 * .tmp/shots as quick-*.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { templateDocument } from '../../templates/index';
import type { GraphDocument } from '../../src/document/schema';
import { openEditor as openPage, openTemplate, shot, SMALL, startHarness, type Harness } from './harness';

let h: Harness;
const openEditor = (viewport = SMALL): Promise<Page> => openPage(h, viewport);

const node = (page: Page, id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
const nodeIds = (page: Page) => page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!));
const handle = (page: Page, nodeId: string, port: string, kind: 'source' | 'target') =>
  page.locator(`.react-flow__handle.${kind}[data-nodeid="${nodeId}"][data-handleid="${port}"]`);
const menu = (page: Page) => page.getByRole('dialog', { name: 'Add a node' });

/** The wires of the graph on show, as the store holds them. */
const wires = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { patchbay: { getState(): { doc: GraphDocument; blockView: { blockId: string } | null } } }).patchbay.getState();
    const body = s.blockView ? s.doc.blocks.find((b) => b.id === s.blockView!.blockId)! : s.doc;
    return body.edges.map((e) => `${e.source}.${e.sourcePort}->${e.target}.${e.targetPort}`).sort();
  });
const positions = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { patchbay: { getState(): { doc: GraphDocument; blockView: { blockId: string } | null } } }).patchbay.getState();
    const body = s.blockView ? s.doc.blocks.find((b) => b.id === s.blockView!.blockId)! : s.doc;
    return Object.fromEntries(body.nodes.map((n) => [n.id, n.position ?? null]));
  });

/** Screen boxes of every node on the canvas. */
const nodeBoxes = (page: Page) =>
  page.locator('.react-flow__node').evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { id: e.getAttribute('data-id')!, x: r.x, y: r.y, w: r.width, h: r.height };
    }),
  );
type Box = { id: string; x: number; y: number; w: number; h: number };
const overlapping = (boxes: Box[]) => {
  const pairs: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) pairs.push(`${a.id}×${b.id}`);
    }
  }
  return pairs;
};

/** A point on the empty canvas, relative to the canvas's top-left corner. */
async function canvasPoint(page: Page, x: number, y: number) {
  const c = (await page.locator('.pb-canvas').boundingBox())!;
  return { x: c.x + x, y: c.y + y };
}

async function dragFromPalette(page: Page, label: string, to: { x: number; y: number }) {
  const item = page.getByRole('complementary', { name: 'Palette' }).getByRole('button', { name: label, exact: true });
  await item.scrollIntoViewIfNeeded();
  const box = (await item.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 12 });
}

/** The middle of a wire on screen, read from its path. */
const wireMiddle = (page: Page, edgeId: string) =>
  page.evaluate((id) => {
    const path = document.querySelector<SVGPathElement>(`.react-flow__edge[data-id="${id}"] .react-flow__edge-path`)!;
    const p = path.getPointAtLength(path.getTotalLength() / 2);
    const m = path.getScreenCTM()!;
    return { x: p.x * m.a + m.e, y: p.y * m.d + m.f };
  }, edgeId);
const edgeIdOf = (page: Page, source: string, target: string) =>
  page.evaluate(
    ([a, b]) => {
      const s = (window as unknown as { patchbay: { getState(): { doc: GraphDocument } } }).patchbay.getState();
      return s.doc.edges.find((e) => e.source === a && e.target === b)!.id;
    },
    [source, target] as const,
  );

const e2e = !!process.env.PATCHBAY_E2E;

describe.skipIf(!e2e)('canvas gestures in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-quick-add-dist');
  });

  afterAll(async () => {
    await h?.close();
  });

  test('double-click the canvas, type, Enter: the node lands there; Escape closes; one undo step', async () => {
    const page = await openEditor();
    const at = await canvasPoint(page, 420, 260);
    await page.mouse.dblclick(at.x, at.y);
    await menu(page).waitFor();
    // The view did not zoom on the double-click.
    expect(await page.locator('.react-flow__viewport').evaluate((e) => getComputedStyle(e).transform)).toBe('matrix(1, 0, 0, 1, 0, 0)');
    await page.keyboard.type('dense');
    expect((await menu(page).getByRole('option').allTextContents())[0]).toMatch(/^Dense/);
    await shot(page, 'quick-01-menu');
    await page.keyboard.press('Enter');
    await menu(page).waitFor({ state: 'detached' });
    expect(await nodeIds(page)).toEqual(['dense']);
    const box = (await node(page, 'dense').boundingBox())!;
    expect(Math.abs(box.x + box.width / 2 - at.x)).toBeLessThan(60);
    expect(Math.abs(box.y - at.y)).toBeLessThan(60);

    // Arrows move the choice; the list follows the typing.
    await page.mouse.dblclick(at.x - 250, at.y);
    await menu(page).waitFor();
    await page.keyboard.type('pool');
    const options = await menu(page).getByRole('option').allTextContents();
    expect(options.length).toBeGreaterThan(2);
    await page.keyboard.press('ArrowDown');
    expect(await menu(page).getByRole('option', { selected: true }).textContent()).toBe(options[1]);
    await page.keyboard.press('Escape');
    await menu(page).waitFor({ state: 'detached' });
    expect(await nodeIds(page)).toEqual(['dense']);

    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeIds(page)).toEqual([]);

    // The help lists the gesture, from the same table as the keys.
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    expect(await help.getByRole('row').filter({ hasText: 'Double-click the canvas' }).textContent()).toMatch(/type to search/);
    expect(await help.getByRole('row').filter({ hasText: 'Redo' }).textContent()).toBe('Ctrl+Shift+Z or Ctrl+YRedo');
    await shot(page, 'quick-10-shortcuts');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
    await page.context().close();
  });

  test('drop a wire on empty space: only nodes that can take it are offered, the pick is placed and connected', async () => {
    const page = await openEditor();
    await page.getByRole('searchbox', { name: 'Search layers and blocks' }).fill('input');
    await page.getByRole('complementary', { name: 'Palette' }).getByRole('button', { name: 'Input', exact: true }).dblclick();
    await expect.poll(() => nodeIds(page)).toEqual(['input']);
    const out = (await handle(page, 'input', 'out', 'source').boundingBox())!;
    await page.mouse.move(out.x + out.width / 2, out.y + out.height / 2);
    await page.mouse.down();
    await page.mouse.move(out.x + 40, out.y + 130, { steps: 12 });
    await page.mouse.up();
    await menu(page).waitFor();
    expect(await menu(page).textContent()).toContain('Takes the output of “input”');
    const offered = await menu(page).getByRole('option').allTextContents();
    // An Input takes no wire; the (None, 28, 28, 1) image can feed Conv2D and Flatten.
    expect(offered.some((o) => o.startsWith('Input'))).toBe(false);
    expect(offered.some((o) => o.startsWith('Conv2D'))).toBe(true);
    expect(offered.some((o) => o.startsWith('Flatten'))).toBe(true);
    await page.keyboard.type('flat');
    await shot(page, 'quick-02-wire-menu');
    await page.keyboard.press('Enter');
    await expect.poll(() => wires(page)).toEqual(['input.out->flatten.in']);

    // From the Flatten's output to empty space on the left: a Dense takes the vector.
    const yOut = (await handle(page, 'flatten', 'out', 'source').boundingBox())!;
    await page.mouse.move(yOut.x + yOut.width / 2, yOut.y + yOut.height / 2);
    await page.mouse.down();
    await page.mouse.move(yOut.x - 220, yOut.y + 60, { steps: 12 });
    await page.mouse.up();
    await menu(page).waitFor();
    // A rank-2 vector cannot feed Conv2D: not offered this time.
    expect((await menu(page).getByRole('option').allTextContents()).some((o) => o.startsWith('Conv2D'))).toBe(false);
    await page.keyboard.type('dense');
    await page.keyboard.press('Enter');
    await expect.poll(() => wires(page)).toEqual(['flatten.out->dense.in', 'input.out->flatten.in']);

    // From an input handle backwards: the new node feeds it.
    await node(page, 'input').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => wires(page)).toEqual(['flatten.out->dense.in']);
    const inH = (await handle(page, 'flatten', 'in', 'target').boundingBox())!;
    await page.mouse.move(inH.x + inH.width / 2, inH.y + inH.height / 2);
    await page.mouse.down();
    await page.mouse.move(inH.x + 200, inH.y - 90, { steps: 12 });
    await page.mouse.up();
    await menu(page).waitFor();
    expect(await menu(page).textContent()).toContain('Feeds input “in” of “flatten”');
    await page.keyboard.type('input');
    await page.keyboard.press('Enter');
    await expect.poll(() => wires(page)).toEqual(['flatten.out->dense.in', 'input.out->flatten.in']);
    // Placing and connecting is one undo step.
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeIds(page)).toEqual(['flatten', 'dense']);
    expect(await wires(page)).toEqual(['flatten.out->dense.in']);
    await page.context().close();
  });

  test('drop a node on a wire: from the palette, and moved on the canvas; each is one undo step', async () => {
    const page = await openEditor();
    await openTemplate(page, 'ConvMixer', 'mnist');
    const e4 = await edgeIdOf(page, 'pool', 'head');
    const mid = await wireMiddle(page, e4);
    await dragFromPalette(page, 'Dropout', mid);
    await expect.poll(() => page.locator(`.react-flow__edge[data-id="${e4}"]`).getAttribute('class')).toContain('pb-edge-drop');
    await shot(page, 'quick-03-drop-highlight');
    await page.mouse.up();
    await expect.poll(() => wires(page)).toContain('pool.out->dropout.in');
    expect(await wires(page)).toContain('dropout.out->head.in');
    expect(await wires(page)).not.toContain('pool.out->head.in');
    await expect.poll(() => page.getByText('No errors').count()).toBe(1);
    await shot(page, 'quick-04-dropped-into-wire');
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeIds(page)).toEqual(['input', 'stem', 'mixer', 'pool', 'head', 'output']);
    expect(await wires(page)).toContain('pool.out->head.in');

    // A free node moved onto a wire goes into it; the move and the insertion undo together.
    const free = await canvasPoint(page, 120, 120);
    await page.mouse.dblclick(free.x, free.y);
    await menu(page).waitFor();
    await page.keyboard.type('batchnorm');
    await page.keyboard.press('Enter');
    await expect.poll(() => nodeIds(page)).toContain('batchnormalization');
    const before = (await positions(page)).batchnormalization;
    const e3 = await edgeIdOf(page, 'mixer', 'pool');
    const target = await wireMiddle(page, e3);
    const head = (await node(page, 'batchnormalization').locator('.pb-node-head').boundingBox())!;
    await page.mouse.move(head.x + 20, head.y + 8);
    await page.mouse.down();
    await page.mouse.move(target.x, target.y, { steps: 15 });
    await expect.poll(() => page.locator(`.react-flow__edge[data-id="${e3}"]`).getAttribute('class')).toContain('pb-edge-drop');
    await page.mouse.up();
    await expect.poll(() => wires(page)).toContain('mixer.y->batchnormalization.in');
    expect(await wires(page)).toContain('batchnormalization.out->pool.in');
    await page.keyboard.press('Control+z');
    await expect.poll(() => wires(page)).toContain('mixer.y->pool.in');
    expect((await positions(page)).batchnormalization).toEqual(before);
    await page.context().close();
  });

  test('a file without positions opens laid out: no node boxes overlap, and the open is one undo step', async () => {
    const page = await openEditor();
    const t = templateDocument('convmixer', 'mnist');
    if ('error' in t) throw new Error(t.error);
    const strip = (doc: GraphDocument): GraphDocument => ({
      ...doc,
      nodes: doc.nodes.map(({ position: _p, ...n }) => n),
      blocks: doc.blocks.map((b) => ({ ...b, nodes: b.nodes.map(({ position: _p, ...n }) => n) })),
    });
    const input = page.locator('input[type="file"]');
    await input.setInputFiles({ name: 'nopos.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(strip(t.doc))) });
    await expect.poll(() => nodeIds(page)).toHaveLength(6);
    await expect.poll(async () => Object.values(await positions(page)).every((p) => p !== null)).toBe(true);
    await page.waitForTimeout(400); // the view fits the laid-out graph (animated)
    const boxes = await nodeBoxes(page);
    expect(overlapping(boxes)).toEqual([]);
    // Top to bottom along the wires.
    const y = Object.fromEntries(boxes.map((b) => [b.id, b.y]));
    expect(y.input!).toBeLessThan(y.stem!);
    expect(y.head!).toBeLessThan(y.output!);
    await shot(page, 'quick-05-opened-without-positions');

    // A body without positions is laid out when the block opens.
    await node(page, 'mixer').dblclick();
    await expect.poll(() => nodeIds(page)).toHaveLength(7);
    await expect.poll(async () => Object.values(await positions(page)).every((p) => p !== null)).toBe(true);
    await page.waitForTimeout(400);
    expect(overlapping(await nodeBoxes(page))).toEqual([]);
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('button').click();

    // Some nodes placed, some not: the placed ones stay, the new ones go beside them.
    const partial = structuredClone(t.doc);
    partial.nodes.push({ id: 'extra_a', type: 'Dense', params: {} }, { id: 'extra_b', type: 'Dropout', params: {} });
    partial.edges.push({ id: 'x1', source: 'extra_a', sourcePort: 'out', target: 'extra_b', targetPort: 'in' });
    await input.setInputFiles({ name: 'partial.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(partial)) });
    await expect.poll(() => nodeIds(page)).toHaveLength(8);
    await expect.poll(async () => (await positions(page)).extra_b !== null).toBe(true);
    const p = await positions(page);
    for (const n of t.doc.nodes) expect(p[n.id]).toEqual(n.position);
    await page.waitForTimeout(400);
    expect(overlapping(await nodeBoxes(page))).toEqual([]);
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeIds(page)).toHaveLength(6);
    await page.context().close();
  });

  test("inside a block: readable nodes, Tidy up lays out the body, the issues are the body's own, help lines not hidden", async () => {
    const page = await openEditor();
    const t = templateDocument('convmixer', 'mnist');
    if ('error' in t) throw new Error(t.error);
    // An unwired outer node whose id is also a node id inside the block: its error belongs outside.
    const doc = structuredClone(t.doc);
    doc.nodes.push({ id: 'bn1', type: 'Dense', params: {}, position: { x: 600, y: 300 } });
    await page.locator('input[type="file"]').setInputFiles({ name: 'clash.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(doc)) });
    await expect.poll(() => nodeIds(page)).toHaveLength(7);
    await expect.poll(() => node(page, 'bn1').locator('.pb-node').getAttribute('class')).toMatch(/pb-node-(error|warning)/);
    await node(page, 'mixer').dblclick();
    await expect.poll(() => nodeIds(page)).toEqual(['x', 'depthwise', 'bn1', 'residual', 'pointwise', 'bn2', 'y']);
    await page.waitForTimeout(400);
    // The body's bn1 is fine: the outer bn1's problem is not drawn on it.
    expect(await node(page, 'bn1').locator('.pb-node').getAttribute('class')).not.toMatch(/pb-node-(error|warning)/);
    // Nodes at a readable zoom, not shrunk to fit the whole column.
    const zoom = await page.locator('.react-flow__viewport').evaluate((e) => new DOMMatrix(getComputedStyle(e).transform).a);
    expect(zoom).toBeGreaterThanOrEqual(0.8);
    await shot(page, 'quick-06-block-body');

    // Tidy up lays out the body (it did nothing inside a block before).
    const before = await positions(page);
    await page.getByRole('button', { name: 'Tidy up' }).click();
    await expect.poll(async () => JSON.stringify(await positions(page))).not.toBe(JSON.stringify(before));
    await page.waitForTimeout(400);
    expect(overlapping(await nodeBoxes(page))).toEqual([]);
    // Shape labels sit clear of each other and of the nodes.
    const labels = await page.locator('.react-flow__edge-textwrapper').evaluateAll((els) =>
      els.map((e, i) => {
        const r = e.getBoundingClientRect();
        return { id: `label${i}`, x: r.x, y: r.y, w: r.width, h: r.height };
      }),
    );
    // One label per output: the residual's second wire carries the same shape as its first.
    expect(labels.length).toBe(6);
    expect(overlapping([...labels, ...(await nodeBoxes(page))])).toEqual([]);
    await shot(page, 'quick-07-block-tidied');
    // One undo step puts the body back.
    await page.keyboard.press('Control+z');
    await expect.poll(async () => JSON.stringify(await positions(page))).toBe(JSON.stringify(before));

    // An unwired layer inside the body: its own issue, on the node and in the Issues tab.
    const at = await canvasPoint(page, 620, 230); // right of the chain: empty
    await page.mouse.dblclick(at.x, at.y);
    await menu(page).waitFor();
    await page.keyboard.type('dropout');
    await page.keyboard.press('Enter');
    await expect.poll(() => node(page, 'dropout').locator('.pb-node').getAttribute('class')).toMatch(/pb-node-error/);
    await page.getByRole('tab', { name: /Issues/ }).click();
    const issues = page.getByRole('list', { name: 'Issues' }).first();
    await expect.poll(() => issues.textContent()).toMatch(/dropout/);
    expect(await issues.textContent()).not.toMatch(/bn1/);
    await shot(page, 'quick-08-block-issues');

    // The inspector: the help line under a field is not covered by the "Link to a block param" select.
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await node(page, 'pointwise').click();
    const field = page.locator('.pb-field').filter({ has: page.getByLabel('Kernel size', { exact: true }) });
    const help = (await field.locator('.pb-field-help').boundingBox())!;
    const link = (await page.getByLabel('Link kernel size to a block param').boundingBox())!;
    expect(help.y + help.height).toBeLessThanOrEqual(link.y);
    await shot(page, 'quick-09-block-inspector');
    await page.context().close();
  });
});
