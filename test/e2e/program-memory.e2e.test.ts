/**
 * A training program too large for a tab is refused Start as a classifier is, from one estimate of
 * its whole training step (compiler/program-memory.ts): CLIP ViT-B/32 at its batch of 128 holds both
 * towers in one step. The batch it proposes lifts the refusal. Screenshot program-memory-01-refused.
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/program-memory.e2e.test.ts
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

describe.skipIf(!e2e)('a program past a tab’s memory', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-program-memory');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('CLIP ViT-B/32 at batch 128 is refused Start for both towers together; the proposed batch lifts it', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'CLIP', 'ViT-B/32');
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    const blocked = page.getByTestId('train-blocked');
    const text = async () => ((await blocked.count()) ? ((await blocked.textContent()) ?? '') : '');
    await expect.poll(text).toMatch(/^Start is refused: a training step of “Contrastive training” at batch 128 needs about 13\.2 GB/);
    const refusal = await text();
    expect(refusal).toContain('applying “Image tower” once, “Text tower” once');
    expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
    const fits = Number(/Lower the batch size to (\d+) or less/.exec(refusal)![1]);
    expect(fits).toBeGreaterThan(0);
    await blocked.scrollIntoViewIfNeeded();
    await shot(page, 'program-memory-01-refused');
    await train.getByLabel('Batch size').fill(String(fits + 1));
    await train.getByLabel('Batch size').blur();
    await expect.poll(text).toMatch(new RegExp(`at batch ${fits + 1} needs`));
    await train.getByLabel('Batch size').fill(String(fits));
    await train.getByLabel('Batch size').blur();
    await expect.poll(text).not.toMatch(/Start is refused/);
  });
});
