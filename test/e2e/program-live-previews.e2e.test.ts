/**
 * A program run's live previews in real headless Chromium: SimSiam `mnist` starts a long run in
 * the worker (1,536 steps of 16, stopped once the test has seen enough); while it trains, the
 * encoder's conv1 preview on the pinned digit changes and its inspector's weight norm and gradient
 * norm over the steps gain points; the projector's tab, shown during the run, gets refreshes of its
 * own nodes (fed the encoder's output) and says why it has no outputs over held-out examples.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/program-live-previews.e2e.test.ts
 * Screenshots land in .tmp/shots/program-live-*.png at 1280×800 and 1920×1080.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { dismissToasts, openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

beforeAll(async () => {
  if (e2e) h = await startHarness('.tmp/e2e-program-live-previews');
});
afterAll(async () => {
  await h?.close();
});

/** The run's status, read in the Train tab (the inspector's tab is shown again after). */
const runStatus = async (page: Page) => {
  await page.getByRole('tab', { name: 'Train', exact: true }).click();
  const status = await page.getByTestId('train-progress').getAttribute('data-status');
  await page.getByRole('tab', { name: 'Inspector', exact: true }).click();
  return status;
};
const meanOf = async (page: Page, id: string) => Number(await page.getByTestId(`preview-${id}`).getAttribute('data-mean'));
const pointsOf = async (page: Page, testId: string) =>
  (await page.getByTestId(testId).count()) ? Number(await page.getByTestId(testId).getAttribute('data-points')) : 0;
describe.skipIf(!e2e)("a program run's live previews", () => {
  test('SimSiam: the encoder and then the projector refresh during the run, previews and norms over the steps', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'SimSiam', 'mnist');
    await page.getByTestId('preview-conv1').waitFor({ timeout: 60_000 });
    const fresh = await meanOf(page, 'conv1');

    // A run far longer than the test watches (3 epochs of 512 steps of 16): the refreshes come while it trains.
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    await train.getByLabel('Epochs').fill('3');
    await train.getByLabel('Batch size').fill('16');
    await train.getByLabel('Limit training examples').fill('8192');
    await train.getByLabel('Epochs').blur();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByRole('tab', { name: 'Inspector', exact: true }).click();
    await page.getByTestId('node-conv1').click();

    // Step 1 always refreshes: the run's weights after one step, a first point over the steps.
    const inspector = page.getByTestId('preview-inspector');
    await expect.poll(() => pointsOf(page, 'weights-norm-chart'), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => inspector.textContent()).toMatch(/with the run's weights/);
    expect(await runStatus(page)).toBe('running');
    const afterFirst = await meanOf(page, 'conv1');
    expect(afterFirst).not.toBe(fresh);
    expect(await pointsOf(page, 'gradients-norm-chart')).toBeGreaterThanOrEqual(1);
    expect(await inspector.textContent()).toContain("before the optimizer's clipping and weight decay");
    // The encoder takes the digit itself: its outputs over held-out digits are measured too.
    await page.getByTestId('batch-activations').waitFor();

    // A later refresh, within the budget, still during the run: the preview and the charts move on.
    await expect.poll(() => pointsOf(page, 'weights-norm-chart'), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    expect(await runStatus(page)).toBe('running');
    expect(await meanOf(page, 'conv1')).not.toBe(afterFirst);
    expect(await pointsOf(page, 'gradients-norm-chart')).toBeGreaterThanOrEqual(2);
    await dismissToasts(page);
    await shot(page, 'program-live-01-encoder');
    await page.getByTestId('weights-norm-chart').scrollIntoViewIfNeeded();
    await shot(page, 'program-live-02-encoder-over-steps');

    // The projector's tab during the run: its own nodes refresh with the run's weights (fed the encoder's output).
    await page.getByTestId('graph-tab-network-projector').click();
    await page.getByTestId('node-hiddenDense').click();
    await expect.poll(() => pointsOf(page, 'weights-norm-chart'), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
    expect(await runStatus(page)).toBe('running');
    await expect.poll(() => inspector.textContent()).toMatch(/with the run's weights/);
    expect(await pointsOf(page, 'gradients-norm-chart')).toBeGreaterThanOrEqual(1);
    await page.getByTestId('batch-not-measured').waitFor();
    expect(await page.getByTestId('batch-activations').count()).toBe(0);
    const projector = await meanOf(page, 'hiddenDense');
    await expect.poll(() => pointsOf(page, 'weights-norm-chart'), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    expect(await meanOf(page, 'hiddenDense')).not.toBe(projector);
    expect(await runStatus(page)).toBe('running');
    await shot(page, 'program-live-03-projector');
    await page.getByTestId('batch-not-measured').scrollIntoViewIfNeeded();
    await shot(page, 'program-live-04-projector-inspector');

    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).not.toBe('running');
  });
});
