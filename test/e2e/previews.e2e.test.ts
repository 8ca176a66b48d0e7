/**
 * Previews on a pinned example, in real headless Chromium: the ConvMixer template pins its first
 * held-out digit and every node shows its output on it; an edit (kernel size 5 → 3) brings new
 * previews for the nodes it changed and leaves the stem's alone; another digit and a drawn one can
 * be pinned; a short run refreshes the selected node's weight and gradient histograms and their norms over steps.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/previews.e2e.test.ts
 * Screenshots land in .tmp/shots/previews-*.png at 1280×800 and 1920×1080.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { GraphDocument } from '../../src/document/schema';
import { chainGraph } from '../../bench/graphs';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

beforeAll(async () => {
  if (e2e) h = await startHarness('.tmp/e2e-previews');
});
afterAll(async () => {
  await h?.close();
});

const NODES = { input: 'image', stem: 'channels', mixer: 'channels', pool: 'bars', head: 'probabilities', output: 'probabilities' } as const;

const meanOf = async (page: Page, id: string) => Number(await page.getByTestId(`preview-${id}`).getAttribute('data-mean'));
const countsOf = async (page: Page, testId: string) => page.getByTestId(testId).first().getAttribute('data-counts');
const stepOf = async (page: Page) => Number((await page.getByTestId('train-step').textContent())?.match(/Step (\d+)/)?.[1] ?? 0);

function edit(page: Page, kernelSize: number) {
  return page.evaluate((k) => {
    const store = (window as unknown as { patchbay: { getState(): { edit(fn: (d: GraphDocument) => GraphDocument): void } } }).patchbay;
    store.getState().edit((d) => ({ ...d, nodes: d.nodes.map((n) => (n.id === 'mixer' ? { ...n, params: { ...n.params, kernelSize: k } } : n)) }));
  }, kernelSize);
}

describe.skipIf(!e2e)('previews on a pinned example', () => {
  test('ConvMixer: a pinned digit previews every node; an edit, another digit and a drawing update them; training moves the histograms', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');

    // The first held-out digit is pinned, and every node shows a preview of the kind its shape calls for.
    await expect.poll(() => page.getByTestId('pin-label').textContent(), { timeout: 60_000 }).toMatch(/^MNIST held-out digit #1 \(a \d\)$/);
    for (const [id, kind] of Object.entries(NODES)) {
      await page.getByTestId(`preview-${id}`).waitFor({ timeout: 30_000 });
      expect(await page.getByTestId(`preview-${id}`).getAttribute('data-kind'), id).toBe(kind);
    }
    // The input preview is the digit itself: MNIST pixels in [0, 1], mostly black.
    const inputMean = await meanOf(page, 'input');
    expect(inputMean).toBeGreaterThan(0.03);
    expect(inputMean).toBeLessThan(0.4);
    // Fresh weights: the head's probabilities are a softmax over 10 classes.
    await expect(page.getByTestId('preview-output').getAttribute('data-mean')).resolves.toMatch(/^0\.(1|0999)/);
    await shot(page, 'previews-01-pinned');

    // The inspector: the selected node's output drawn large, its figures and a histogram.
    await page.getByTestId('node-mixer').click();
    await page.getByTestId('preview-inspector').waitFor();
    expect(await page.getByTestId('preview-inspector').textContent()).toMatch(/Shape\[14, 14, 64\]Min.*Max.*Mean.*Std/);
    expect(await page.getByTestId('preview-inspector').textContent()).toMatch(/A block shows its last layer's output/);
    const histogram = (await countsOf(page, 'preview-histogram'))!.split(',').map(Number);
    expect(histogram.reduce((a, b) => a + b, 0)).toBe(14 * 14 * 64);
    await page.getByTestId('preview-histogram').scrollIntoViewIfNeeded();
    await shot(page, 'previews-02-inspector');

    // Kernel size 5 → 3: the mixer and everything after it change; the stem before it does not.
    const before = { stem: await meanOf(page, 'stem'), mixer: await meanOf(page, 'mixer'), pool: await meanOf(page, 'pool') };
    await edit(page, 3);
    await expect.poll(() => meanOf(page, 'mixer'), { timeout: 30_000 }).not.toBe(before.mixer);
    expect(await meanOf(page, 'pool')).not.toBe(before.pool);
    expect(await meanOf(page, 'stem')).toBe(before.stem);
    await shot(page, 'previews-03-kernel-3');

    // Another held-out digit: the input changes, and so does the label.
    await page.getByTestId('pin-next').click();
    await expect.poll(() => page.getByTestId('pin-label').textContent()).toMatch(/^MNIST held-out digit #2 \(a \d\)$/);
    await expect.poll(() => meanOf(page, 'input')).not.toBe(inputMean);

    // A drawn digit: a "7" drawn on the pad becomes the pinned example.
    await page.getByTestId('pin-draw').click();
    const box = (await page.getByTestId('pin-draw-canvas').boundingBox())!;
    const at = (x: number, y: number) => [box.x + box.width * x, box.y + box.height * y] as const;
    await page.mouse.move(...at(0.25, 0.2));
    await page.mouse.down();
    await page.mouse.move(...at(0.75, 0.2), { steps: 6 });
    await page.mouse.move(...at(0.4, 0.85), { steps: 8 });
    await page.mouse.up();
    await shot(page, 'previews-04-drawing');
    await page.getByTestId('pin-drawing').click();
    await expect.poll(() => page.getByTestId('pin-label').textContent()).toBe('Your drawing');
    await page.getByTestId('pin-prev').click();
    await expect.poll(() => page.getByTestId('pin-label').textContent()).toMatch(/^MNIST held-out digit #1 /);

    // A short run: the worker refreshes the previews and the weights' histograms as it trains, and at its last step.
    await page.getByRole('tab', { name: 'Train' }).click();
    const panel = page.locator('.pb-train');
    await panel.getByLabel('Epochs').fill('1');
    await panel.getByLabel('Limit training examples').fill('384');
    await panel.getByLabel('Epochs').blur();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stepOf(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(1);
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await page.getByTestId('node-head').click();
    // The first refresh (step 1) shows the head's weights; the last one (step 12) has moved them.
    await page.getByTestId('weights-histogram-kernel').waitFor({ timeout: 60_000 });
    const first = await countsOf(page, 'weights-histogram-kernel');
    const firstGradients = await countsOf(page, 'gradients-histogram');
    const firstNorm = await page.getByTestId('preview-inspector').textContent();
    await expect.poll(() => page.getByTestId('preview-inspector').textContent(), { timeout: 120_000 }).toMatch(/Weights at step 12/);
    expect(await countsOf(page, 'weights-histogram-kernel')).not.toBe(first);
    expect(firstGradients).toBeTruthy();
    expect(await countsOf(page, 'gradients-histogram')).not.toBe(firstGradients);
    expect(Number(await page.getByTestId('gradients-norm-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('preview-inspector').textContent()).not.toBe(firstNorm);
    expect(Number(await page.getByTestId('weights-norm-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    await page.getByTestId('weights-norm-chart').scrollIntoViewIfNeeded();
    await shot(page, 'previews-05-trained');
  });

  test('a 1,000-node chain: a made-up example is pinned (no data takes [64]) and only the nodes on screen draw previews', async () => {
    const page = await openEditor(h);
    await page
      .getByLabel('Open a graph file')
      .setInputFiles({ name: 'chain.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(chainGraph(1000))) });
    await expect.poll(() => page.getByTestId('pin-label').textContent(), { timeout: 60_000 }).toBe('A made-up example (no data fits this input)');
    await page.getByTestId('preview-n0').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('preview-n0').getAttribute('data-kind')).toBe('bars');
    // Input → GELU → LayerNorm → Dense…: a LayerNorm's output has mean 0 and std just under 1 (fresh gain 1, offset 0; its ε shrinks it).
    const norm = page.getByTestId('preview-n2');
    await norm.waitFor();
    expect(Math.abs(Number(await norm.getAttribute('data-mean')))).toBeLessThan(1e-3);
    expect(Number(await norm.getAttribute('data-std'))).toBeGreaterThan(0.9);
    expect(Number(await norm.getAttribute('data-std'))).toBeLessThan(1.0001);
    // Every node React Flow renders shows its preview; it renders only those on screen.
    const rendered = await page.locator('.react-flow__node').count();
    expect(rendered).toBeLessThan(1000);
    await expect.poll(() => page.locator('[data-testid^="preview-n"]').count()).toBe(rendered);
    await shot(page, 'previews-06-chain-1000');
  });
});
