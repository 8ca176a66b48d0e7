/**
 * Editor speed in headless Chromium (run with `npx tsx bench/editor.bench.ts`; `npm run bench` runs
 * it too): time from navigation to every node on screen for ConvMixer 768/32 with its blocks
 * expanded and for a 1,000-node graph (restored from autosave, as after a reload), frame times while
 * dragging a node in the 1,000-node graph, and the time from a param edit to the new shape on
 * screen. Numbers depend on this machine; compare them within one run.
 */
import type { Page } from 'playwright-core';
import { expandAllBlocks } from '../src/compiler/expand';
import { saveDocument } from '../src/document/load';
import type { GraphDocument } from '../src/document/schema';
import { templateDocument } from '../templates/index';
import { FIT_FIRST } from '../src/editor/huge-graphs';
import { startHarness, openEditor, LARGE } from '../test/e2e/harness';
import { branchyGraph, chainGraph } from './graphs';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;

function withGridPositions(doc: GraphDocument, columns = 25): GraphDocument {
  return { ...doc, nodes: doc.nodes.map((n, i) => ({ ...n, position: n.position ?? { x: (i % columns) * 240, y: Math.floor(i / columns) * 150 } })) };
}

function expandedConvMixer(): GraphDocument {
  const r = templateDocument('convmixer', '768/32');
  if ('error' in r) throw new Error(r.error);
  const expanded = expandAllBlocks(r.doc);
  if ('error' in expanded) throw new Error(expanded.error);
  // Lay the layers out in columns so they do not pile up.
  return {
    ...expanded.doc,
    name: 'ConvMixer 768/32 expanded',
    nodes: expanded.doc.nodes.map((n, i) => ({ ...n, position: { x: Math.floor(i / 20) * 260, y: (i % 20) * 130 } })),
  };
}

/**
 * Fits the whole graph in view (the fit button) and waits until every node is in the DOM: a graph
 * of more than FIT_ALL_UP_TO nodes opens on its first FIT_FIRST (huge-graphs.ts), the rest unmounted.
 */
async function fitAll(page: Page, count: number): Promise<void> {
  // A fit asked for while a big graph is still opening can be overtaken by the opening view (its
  // first FIT_FIRST nodes): ask again until every node is mounted.
  const deadline = Date.now() + 120_000;
  for (;;) {
    await page.locator('.react-flow__controls-fitview').click();
    const mounted = await page
      .waitForFunction((n) => document.querySelectorAll('.react-flow__node').length >= n, count, { timeout: 5_000 })
      .then(() => true)
      .catch(() => false);
    if (mounted) break;
    if (Date.now() > deadline) throw new Error(`fewer than ${count} nodes mounted after fitting the view for 120 s`);
  }
  await page.waitForTimeout(1000);
}

/** Opens a document through the file input (a user's Open), fits it in view, then waits for autosave to store it. */
async function openDocument(page: Page, doc: GraphDocument): Promise<void> {
  await page
    .locator('input[type=file][accept*="json"]')
    .first()
    .setInputFiles({ name: 'graph.json', mimeType: 'application/json', buffer: Buffer.from(saveDocument(doc)) });
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length > 0, undefined, { timeout: 120_000 });
  await fitAll(page, doc.nodes.length);
  await page.waitForTimeout(1500); // autosave is debounced
}

/**
 * Reload: milliseconds from navigation start until the nodes the view opens on are in the DOM and
 * painted (a graph of more than FIT_ALL_UP_TO nodes opens on its first FIT_FIRST, and only those
 * on screen mount): when the count of nodes last changed, once it has held for 300 ms, plus the
 * two frames that painted it then.
 */
async function loadToInteractive(page: Page): Promise<number> {
  await page.reload();
  return page.evaluate(async () => {
    let last = -1;
    let since = 0;
    let painted = 0;
    for (;;) {
      const count = document.querySelectorAll('.react-flow__node').length;
      if (count !== last) {
        last = count;
        since = performance.now();
        const at = since;
        // Time to paint this count: two frames from when it appeared.
        void new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))).then(() => {
          if (since === at) painted = performance.now() - at;
        });
      } else if (count > 0 && performance.now() - since > 300) return since + painted;
      await new Promise((r) => setTimeout(r, 5));
    }
  });
}

async function dragFrames(page: Page, nodeId: string): Promise<number[]> {
  const box = await page.getByTestId(`node-${nodeId}`).boundingBox();
  if (!box) throw new Error(`node ${nodeId} is not on screen`);
  await page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; stopFrames: boolean };
    w.frames_ = [];
    w.stopFrames = false;
    let last = performance.now();
    const tick = (t: number) => {
      w.frames_.push(t - last);
      last = t;
      if (!w.stopFrames) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const x = box.x + box.width / 2;
  const y = box.y + 8;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 90; i++) {
    await page.mouse.move(x + i * 3, y + Math.sin(i / 8) * 40);
    await page.waitForTimeout(8);
  }
  await page.mouse.up();
  return page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; stopFrames: boolean };
    w.stopFrames = true;
    return w.frames_.slice(2);
  });
}

/** Zooms in with the mouse wheel over a node, as a person does to work on it. */
async function zoomInOn(page: Page, nodeId: string): Promise<void> {
  const box = (await page.getByTestId(`node-${nodeId}`).boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 12; i++) {
    await page.mouse.wheel(0, -120);
    await page.waitForTimeout(40);
  }
  await page.waitForTimeout(300);
}

/** Param edit → the new output shape on screen (the node's line, or far out the inspector's), at the next frame. */
async function editToScreen(page: Page, nodeId: string, units: number): Promise<number> {
  return page.evaluate(
    async ({ id, value }) => {
      const input = [...document.querySelectorAll('label')].find((l) => l.textContent === 'Units')!.control as HTMLInputElement;
      // Its shape line; zoomed far out, where nodes are boxes without lines (Canvas.tsx's FarView), the inspector's.
      const shown = () =>
        document.querySelector(`[data-testid="shape-${id}"]`)?.textContent ?? document.querySelector('[data-testid="inspector-shape"]')?.textContent ?? '';
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      const start = performance.now();
      setter.call(input, String(value));
      input.dispatchEvent(new Event('input', { bubbles: true }));
      while (!shown().includes(`, ${value})`)) await new Promise((r) => setTimeout(r, 0));
      await new Promise((r) => requestAnimationFrame(r));
      return performance.now() - start;
    },
    { id: nodeId, value: units },
  );
}

const h = await startHarness('.tmp/bench-editor-dist');
try {
  // tsx keeps function names with a `__name` helper that page functions would not find.
  const page = await openEditor(h, LARGE, async (p) => {
    await p.addInitScript('window.__name = (f) => f');
  });
  const results: string[] = [];

  const convmixer = expandedConvMixer();
  await openDocument(page, convmixer);
  const cmLoads = [await loadToInteractive(page), await loadToInteractive(page), await loadToInteractive(page)];
  results.push(
    `load to interactive, ConvMixer 768/32 expanded (${convmixer.nodes.length} nodes): median ${median(cmLoads).toFixed(0)} ms (${cmLoads.map((x) => x.toFixed(0)).join(', ')})`,
  );

  const big = withGridPositions(branchyGraph(1000));
  await openDocument(page, big);
  const bigLoads = [await loadToInteractive(page), await loadToInteractive(page), await loadToInteractive(page)];
  results.push(
    `load to interactive, 1,000-node graph (opens on its first ${FIT_FIRST} nodes): median ${median(bigLoads).toFixed(0)} ms (${bigLoads.map((x) => x.toFixed(0)).join(', ')})`,
  );

  const fpsLine = (what: string, frames: number[]) => {
    const mean = frames.reduce((a, b) => a + b, 0) / frames.length;
    return `${what}: ${frames.length} frames, mean ${mean.toFixed(1)} ms (${(1000 / mean).toFixed(0)} fps), median ${median(frames).toFixed(1)} ms, p95 ${p95(frames).toFixed(1)} ms`;
  };
  // The whole graph on screen: every node is drawn.
  await fitAll(page, big.nodes.length);
  await page.getByTestId('node-n0').click();
  results.push(fpsLine('drag a node in the 1,000-node graph, all 1,000 on screen', await dragFrames(page, 'n0')));
  // As a person works: zoomed in around the node (wheel over it), the rest of the graph off screen.
  await zoomInOn(page, 'n0');
  results.push(fpsLine('drag a node in the 1,000-node graph, zoomed in to work on it', await dragFrames(page, 'n0')));

  // Param edit → new shapes on screen. In a 1,000-node chain, changing a Dense width changes the
  // shapes of the few layers up to the next Dense: the everyday case.
  const chain = withGridPositions(chainGraph(1000));
  await openDocument(page, chain);
  await page.getByTestId('node-n3').click(); // n3 is a Dense (the chain cycles Dense, Activation, LayerNorm)
  const edits: number[] = [];
  for (let i = 0; i < 10; i++) edits.push(await editToScreen(page, 'n3', i % 2 ? 64 : 48 + i));
  results.push(
    `param edit → shape on screen, 1,000-node chain (a Dense width), all 1,000 on screen: median ${median(edits).toFixed(1)} ms, max ${Math.max(...edits).toFixed(1)} ms`,
  );
  await zoomInOn(page, 'n3');
  const zoomedEdits: number[] = [];
  for (let i = 0; i < 10; i++) zoomedEdits.push(await editToScreen(page, 'n3', i % 2 ? 64 : 48 + i));
  results.push(
    `param edit → shape on screen, 1,000-node chain, zoomed in to work on it: median ${median(zoomedEdits).toFixed(1)} ms, max ${Math.max(...zoomedEdits).toFixed(1)} ms`,
  );

  // Worst case: in the branchy graph a width change breaks every residual join after it, so every
  // later node and edge changes (shape gone, error marks).
  await openDocument(page, big);
  await page.getByTestId('node-n1').click();
  const worst: number[] = [];
  for (let i = 0; i < 6; i++) worst.push(await editToScreen(page, 'n1', i % 2 ? 64 : 48 + i));
  results.push(`param edit → shape on screen, 1,000-node branchy graph where all later nodes change: median ${median(worst).toFixed(1)} ms`);

  console.log('Editor in headless Chromium (software rendering), 1920×1080:');
  for (const r of results) console.log(`  ${r}`);
} finally {
  await h.close();
}
