/**
 * Activations over held-out examples, in real headless Chromium: ConvMixer `mnist` with its stem
 * made a plain ReLU (no BatchNorm after it, so the stem's output is the ReLU's) trains 12 steps;
 * the inspector shows, beside the pinned digit's output, the stem's output over 64 held-out digits
 * (figures, the share of exact zeros, dead units out of 64, a histogram of a fixed sample) and the
 * output's spread and the dead units' share over the steps; the head's gradients are those the
 * last step applied. And PB310 with activations: ViT-B/16 at the paper's batch of 64 is refused
 * with the largest batch that fits, which lifts the refusal.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/activations.e2e.test.ts
 * Screenshots land in .tmp/shots/activations-*.png at 1280×800 and 1920×1080.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { GraphDocument } from '../../src/document/schema';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

beforeAll(async () => {
  if (e2e) h = await startHarness('.tmp/e2e-activations');
});
afterAll(async () => {
  await h?.close();
});

const stepOf = async (page: Page) => Number((await page.getByTestId('train-step').textContent())?.match(/Step (\d+)/)?.[1] ?? 0);
const countsOf = async (page: Page, testId: string) => (await page.getByTestId(testId).first().getAttribute('data-counts'))!.split(',').map(Number);

describe.skipIf(!e2e)('activations over held-out examples', () => {
  test('a ReLU stem trains a few steps: its output over 64 digits, the dead units and their share over the steps', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');
    await expect.poll(() => page.getByTestId('pin-label').textContent(), { timeout: 60_000 }).toMatch(/^MNIST held-out digit #1 /);
    await page.evaluate(() => {
      const store = (window as unknown as { patchbay: { getState(): { edit(fn: (d: GraphDocument) => GraphDocument): void } } }).patchbay;
      store
        .getState()
        .edit((d) => ({ ...d, nodes: d.nodes.map((n) => (n.id === 'stem' ? { ...n, params: { ...n.params, activation: 'relu', batchNorm: false } } : n)) }));
    });

    const panel = page.locator('.pb-train');
    await page.getByRole('tab', { name: 'Train' }).click();
    await panel.getByLabel('Epochs').fill('1');
    await panel.getByLabel('Limit training examples').fill('384');
    await panel.getByLabel('Epochs').blur();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stepOf(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(1);
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await page.getByTestId('node-stem').click();

    // The last step (12 of 12) always refreshes.
    const batch = page.getByTestId('batch-activations');
    await expect.poll(() => batch.textContent(), { timeout: 120_000 }).toMatch(/Output over 64 held-out examples at step 12/);
    // The stem's output: 64 digits × 14 × 14 × 64 channels, a ReLU's: least value exactly 0.
    const text = (await batch.textContent())!;
    expect(text).toMatch(/Min0(?![.\d])/);
    const zeros = Number((await page.getByTestId('batch-zeros').textContent())!.replace('%', ''));
    expect(zeros).toBeGreaterThan(0);
    expect(zeros).toBeLessThan(100);
    const dead = (await page.getByTestId('batch-dead').textContent())!;
    const [, deadCount, units] = dead.match(/^(\d+) of (\d+) \(/)!;
    expect(Number(units)).toBe(64);
    expect(Number(deadCount)).toBeLessThanOrEqual(64);
    // The histogram counts a fixed sample of the 802,816 values, and says so.
    expect((await countsOf(page, 'batch-histogram')).reduce((a, b) => a + b, 0)).toBe(4096);
    expect(text).toContain('The histogram counts 4,096 of the 802,816 values');
    // The pinned digit's own output is still there above it.
    expect((await countsOf(page, 'preview-histogram')).reduce((a, b) => a + b, 0)).toBe(14 * 14 * 64);
    // Over the steps: the output's spread and the dead units' share (step 1 and step 12 at least).
    expect(Number(await page.getByTestId('activations-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    expect(Number(await page.getByTestId('dead-units-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    await batch.scrollIntoViewIfNeeded();
    await shot(page, 'activations-01-stem');
    await page.getByTestId('dead-units-chart').scrollIntoViewIfNeeded();
    await shot(page, 'activations-02-stem-over-steps');

    // The softmax head: never exactly 0, so no dead units; its gradients are the last step's.
    await page.getByTestId('node-head').click();
    await expect.poll(() => batch.textContent()).toMatch(/Output over 64 held-out examples at step 12/);
    expect(await page.getByTestId('batch-dead').count()).toBe(0);
    expect(await page.getByTestId('batch-zeros').count()).toBe(0);
    await expect.poll(() => page.getByTestId('preview-inspector').textContent()).toMatch(/The gradient step 12 applied/);
    expect((await countsOf(page, 'gradients-histogram')).reduce((a, b) => a + b, 0)).toBe(650);
    await page.getByTestId('gradients-histogram').scrollIntoViewIfNeeded();
    await shot(page, 'activations-03-head');

    // Another graph opened after the run, with nodes of the same ids (stem, head): its inspector shows
    // its own preview, not the ConvMixer run's weights, gradients or outputs over the batch.
    await openTemplate(page, 'MLP-Mixer', 'mnist');
    // Its own previews have come (norm is a node ConvMixer does not have).
    await page.getByTestId('preview-norm').waitFor({ timeout: 60_000 });
    await page.getByTestId('node-head').click();
    const inspector = page.getByTestId('preview-inspector');
    await inspector.waitFor();
    expect(await page.getByTestId('batch-activations').count()).toBe(0);
    expect(await inspector.textContent()).not.toMatch(/Weights at step|The gradient step/);
  });
  test('PB310 counts the activations: ViT-B/16 at batch 64 is refused with a batch that fits, and that batch lifts the refusal', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'Vision Transformer', 'B/16');
    await page.getByRole('tab', { name: 'Train' }).click();
    const blocked = page.getByTestId('train-blocked');
    await expect.poll(() => blocked.textContent()).toMatch(/^Start is refused: a training step at batch 64 needs about [\d.]+ GB/);
    const text = (await blocked.textContent())!;
    expect(text).toContain('The activations dominate.');
    const fits = Number(text.match(/Lower the batch size to (\d+) or less/)![1]);
    expect(fits).toBeGreaterThan(0);
    expect(fits).toBeLessThan(64);
    await blocked.scrollIntoViewIfNeeded();
    await shot(page, 'activations-04-vit-b16-refused');
    const panel = page.locator('.pb-train');
    await panel.getByLabel('Batch size').fill(String(fits + 1));
    await panel.getByLabel('Batch size').blur();
    await expect.poll(() => blocked.textContent()).toMatch(new RegExp(`at batch ${fits + 1} needs`));
    await panel.getByLabel('Batch size').fill(String(fits));
    await panel.getByLabel('Batch size').blur();
    // The memory refusal is gone (what remains, if anything, is that no data here fits a 224×224 input).
    await expect.poll(async () => ((await blocked.count()) ? await blocked.textContent() : '')).not.toMatch(/Start is refused/);
  });
});
