/**
 * Previews beyond the main network's one Input, in real headless Chromium: the DDPM template's UNet
 * (Inputs x_t and t) previews every node on the pinned digit noised to the pinned timestep, and a new
 * timestep changes x_t; SimSiam's projector tab previews its nodes on the encoder's output; inside
 * ConvMixer's opened mixer block the inner nodes show that instance's tensors.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/previews-inside.e2e.test.ts
 * Screenshots land in .tmp/shots/previews-inside-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { dismissToasts, openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

beforeAll(async () => {
  if (e2e) h = await startHarness('.tmp/e2e-previews-inside');
});
afterAll(async () => {
  await h?.close();
});

const meanOf = async (page: Page, id: string) => Number(await page.getByTestId(`preview-${id}`).getAttribute('data-mean'));

describe.skipIf(!e2e)('previews of multi-input networks, a program’s other networks and inside blocks', () => {
  test('DDPM: every UNet node previews x_t and t; a new timestep changes x_t', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'DDPM', 'mnist');
    await expect.poll(() => page.getByTestId('pin-label').textContent(), { timeout: 60_000 }).toMatch(/^MNIST held-out digit #1 \(a \d\)$/);
    expect(await page.getByTestId('pin-note').textContent()).toMatch(/^Inputs as ".+" feeds them, at the pinned timestep$/);
    for (const id of ['image', 'timestep', 'embedding', 'unshuffle', 'patchAxes', 'packed', 'unet', 'unpacked', 'pixelAxes', 'shuffle', 'denoised'])
      await page.getByTestId(`preview-${id}`).waitFor({ timeout: 60_000 });
    // t is the middle timestep; x_t is an image (the digit scaled to [−1, 1] and noised).
    expect(await page.getByTestId('pin-timestep').inputValue()).toBe('500');
    expect(await meanOf(page, 'timestep')).toBe(500);
    expect(await page.getByTestId('preview-image').getAttribute('data-kind')).toBe('image');
    await dismissToasts(page);
    // The fit keeps the nodes clear of the two-row pin bar (it covered x_t's and t's names before).
    const clearOfPinBar = async () => {
      const bar = (await page.getByTestId('pin-bar').boundingBox())!;
      const tops = await page.locator('.react-flow__node').evaluateAll((nodes) => nodes.map((n) => n.getBoundingClientRect().top));
      return Math.min(...tops) - (bar.y + bar.height);
    };
    // The fit that opened the graph too: it came before the note's row, and the grown bar covered
    // the top of x_t and t (by 4.6 px) until the view fitted again.
    await expect.poll(clearOfPinBar).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Fit all nodes' }).click();
    await expect.poll(clearOfPinBar).toBeGreaterThan(0);
    // The minimap draws every node: React Flow's minimap sizes each from the node object the canvas
    // gave it, and one kept without a size after React Flow measured it was left out (5be7bd0).
    await expect.poll(() => page.locator('.pb-minimap .react-flow__minimap-node').count()).toBe(11);
    await shot(page, 'previews-inside-01-ddpm');

    // Timestep 20: the digit barely noised, so x_t moves towards 2x − 1 (mostly −1: a darker mean).
    const noisy = await meanOf(page, 'image');
    await page.getByTestId('pin-timestep').fill('20');
    await page.getByTestId('pin-timestep').press('Enter');
    await expect.poll(() => meanOf(page, 'timestep'), { timeout: 30_000 }).toBe(20);
    expect(await meanOf(page, 'image')).toBeLessThan(noisy);
    expect(await meanOf(page, 'image')).toBeLessThan(-0.5);
    await shot(page, 'previews-inside-02-ddpm-t20');
  });

  test("SimSiam: the projector's tab previews its nodes on the encoder's output", async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'SimSiam', 'mnist');
    // The tall encoder is fitted under the pin bar without falling below the zoom where nodes show
    // their details (the bar's room came out of the zoom once, and every node was an empty box).
    await expect.poll(() => page.locator('.pb-node-params').count()).toBeGreaterThan(0);
    expect(await page.locator('.pb-flow-far').count()).toBe(0);
    await page.getByTestId('graph-tab-network-projector').click();
    await expect.poll(() => page.getByTestId('pin-note').textContent(), { timeout: 60_000 }).toMatch(/^Inputs as ".+" feeds them$/);
    const nodes = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    for (const id of nodes.filter((n): n is string => !!n)) await page.getByTestId(`preview-${id}`).waitFor({ timeout: 60_000 });
    await dismissToasts(page);
    await shot(page, 'previews-inside-03-projector');
  });

  test("ConvMixer: inside the opened mixer block the nodes show that instance's tensors", async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.getByTestId('preview-stem').waitFor({ timeout: 60_000 });
    const stem = await meanOf(page, 'stem');
    await page.locator('.react-flow__node[data-id="mixer"]').dblclick();
    await expect.poll(() => page.getByTestId('pin-note').textContent(), { timeout: 60_000 }).toMatch(/^Inside "mixer" \(ConvMixer block\), repeat 1 of \d+$/);
    for (const id of ['x', 'depthwise', 'bn1', 'residual', 'pointwise', 'bn2', 'y']) await page.getByTestId(`preview-${id}`).waitFor({ timeout: 60_000 });
    // The block's input is the stem's output.
    expect(await meanOf(page, 'x')).toBeCloseTo(stem, 5);
    expect(await page.getByTestId('preview-depthwise').getAttribute('data-kind')).toBe('channels');
    // The inspector of an inner node: that instance's tensor, drawn large, and where it is from.
    await page.getByTestId('node-pointwise').click();
    await page.getByTestId('preview-inspector').waitFor();
    expect(await page.getByTestId('preview-inspector').textContent()).toMatch(/Inside "mixer" \(ConvMixer block\), repeat 1 of \d+\..*Shape\[14, 14, 64\]/);
    await dismissToasts(page);
    await shot(page, 'previews-inside-04-block');
    // The second repeat: its input is the first repeat's output.
    const firstOut = await meanOf(page, 'y');
    await page.getByTestId('pin-repeat-next').click();
    await expect.poll(() => page.getByTestId('pin-note').textContent()).toMatch(/, repeat 2 of \d+$/);
    await expect.poll(() => meanOf(page, 'x')).toBeCloseTo(firstOut, 5);
    // Back on the main graph: the main nodes' previews again.
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('button').click();
    await page.getByTestId('preview-head').waitFor({ timeout: 30_000 });
  });
});
