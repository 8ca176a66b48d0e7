/**
 * CLIP in real headless Chromium: the template opens with its two towers and two procedures, a
 * short contrastive run trains in the worker, the evaluation reports zero-shot accuracy, and the
 * zero-shot panel classifies held-out digits and a drawn digit with prompts typed here. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/clip.e2e.test.ts
 * Screenshots land in .tmp/shots/clip-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).textContent()) ?? '') : '');

describe.skipIf(!e2e)('CLIP in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-clip');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('open CLIP, train a few steps, see zero-shot accuracy, classify digits with typed prompts and a drawn digit', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'CLIP', 'mnist');
    for (const id of ['network-model', 'network-text', 'procedure-contrastive', 'procedure-evaluate']) await page.getByTestId(`graph-tab-${id}`).waitFor();
    await page.getByTestId('graph-tab-procedure-contrastive').click();
    await page.getByTestId('node-captions').waitFor();
    expect(await page.getByTestId('shape-captions').textContent()).toBe('(None, 12)');
    expect(await page.getByTestId('shape-loss').textContent()).toBe('()');
    await shot(page, 'clip-00-contrastive');

    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    // Before a run the panel is there, but waits for trained networks.
    await page.getByTestId('zero-shot').waitFor();
    await page.getByTestId('zero-shot-disabled').waitFor();
    expect(await page.getByTestId('zero-shot-prompt-7').inputValue()).toBe('a picture of a seven');
    await train.getByLabel('Epochs').fill('1');
    await train.getByLabel('Batch size').fill('64');
    await train.getByLabel('Limit training examples').fill('256');
    await train.getByLabel('Epochs').blur();
    await expect.poll(() => text(page, 'train-plan')).toMatch(/256 digits × 1 epoch = 4 steps of 64/);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 180_000 }).toBe('completed');
    await page.getByTestId('program-metrics').waitFor();
    expect(await text(page, 'metric-zeroShotAccuracy')).toMatch(/\d+\.\d+%/);
    expect(await text(page, 'metric-testAccuracy')).toMatch(/\d+\.\d+%/);

    // The panel: a typed prompt (with a word the tokenizer lacks), held-out digits classified.
    expect(await page.getByTestId('zero-shot-disabled').count()).toBe(0);
    await page.getByTestId('zero-shot-prompt-3').fill('a blurry three');
    await page.getByTestId('zero-shot-classify').click();
    await expect.poll(() => page.getByTestId('zero-shot-cell').count(), { timeout: 60_000 }).toBe(12);
    expect(await text(page, 'zero-shot-score')).toMatch(/^\d+ of 12 held-out digits classified correctly/);
    expect(await text(page, 'zero-shot-unknown')).toContain('blurry');

    // A drawn digit: probabilities over the ten prompts that sum to 1.
    const box = (await page.getByTestId('zero-shot-draw').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 8 });
    await page.mouse.up();
    await page.getByTestId('zero-shot-drawn').waitFor({ timeout: 60_000 });
    const values = await page
      .getByTestId('zero-shot-drawn')
      .locator('li')
      .evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-value'))));
    expect(values).toHaveLength(10);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    await page.getByTestId('zero-shot').scrollIntoViewIfNeeded();
    await shot(page, 'clip-01-zero-shot');

    // The image tower's attention maps: 2 blocks × (4 heads + average) over its 4×4 patches; the tower
    // embeds, it does not classify, so the digits show their true class only.
    await page.getByTestId('attention-show').scrollIntoViewIfNeeded();
    await page.getByTestId('attention-show').click();
    await expect.poll(() => page.getByTestId('attention-cell').count(), { timeout: 60_000 }).toBe(10);
    expect(await page.getByTestId('attention-focus').textContent()).toMatch(
      /^Layer 2, average of the heads · [\d.]+% on the class token itself, [\d.]+% on the 16 patches/,
    );
    expect(await page.getByTestId('attention-image').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^\d$/)]));
    expect((await page.getByTestId('attention-image').allTextContents()).some((t) => t.includes('→'))).toBe(false);
    await page.getByTestId('attention-maps').scrollIntoViewIfNeeded();
    await shot(page, 'clip-02-attention');
  });
});
