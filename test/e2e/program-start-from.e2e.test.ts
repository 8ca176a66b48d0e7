/**
 * End-to-end: a training program's run keeps its networks' weights, exports them as a .zip (a
 * folder per network), and a new run takes the teacher from it: the teacher's procedure is skipped
 * and the teacher scores what it scored. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/program-start-from.e2e.test.ts
 * Screenshots land in .tmp/shots/start-from-*.png.
 */
import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const text = async (page: Page, testId: string) =>
  (await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).first().textContent()) ?? '') : '';
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');

describe.skipIf(!e2e)('starting a program from a past run, in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-start-from');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('distillation: a quick run, its weights as a .zip, then a run that takes the teacher from it', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'Knowledge distillation', 'mnist');
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    await train.getByLabel('Epochs').fill('1');
    await train.getByLabel('Batch size').fill('64');
    await train.getByLabel('Limit training examples').fill('128');
    await train.getByLabel('Epochs').blur();
    // No past run yet: nothing to start from.
    expect(await page.getByTestId('start-from').count()).toBe(0);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => runStatus(page), { timeout: 240_000 }).toBe('completed');
    // The evaluation's table renders just after the status turns to completed.
    await expect.poll(() => text(page, 'metric-teacherTestAccuracy')).toMatch(/\d+\.\d+%/);
    const teacherBefore = await text(page, 'metric-teacherTestAccuracy');
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(1);

    // Its weights: one .zip with a folder per network, each readable by tf.loadLayersModel.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export weights' }).click()]);
    expect(download.suggestedFilename()).toBe('weights.zip');
    const files = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    expect(Object.keys(files).sort()).toEqual([
      'model/model.json',
      'model/weights.bin',
      'studentAlone/model.json',
      'studentAlone/weights.bin',
      'teacher/model.json',
      'teacher/weights.bin',
    ]);
    const teacherJson = JSON.parse(strFromU8(files['teacher/model.json']!));
    const bytes = teacherJson.weightsManifest[0].weights.reduce((s: number, w: { shape: number[] }) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    expect(files['teacher/weights.bin']!.byteLength).toBe(bytes);

    // Start networks from that run: the teacher only; its procedure is skipped.
    await train.getByText('Training setup').click();
    const from = page.getByTestId('start-from');
    await from.getByLabel('Start networks from').selectOption({ index: 1 });
    expect(await from.textContent()).toMatch(/Tick the networks to take/);
    await from.getByLabel('Teacher').check();
    await expect.poll(async () => (await from.textContent()) ?? '').toMatch(/Skipped, as their networks come trained: Train the teacher\./);
    await shot(page, 'start-from-00-choice');
    await page.getByRole('button', { name: 'Start a new run' }).click();
    // The new run is in the history once it starts (the first run's "completed" must not be read as its end).
    await expect.poll(() => page.getByTestId('run-item').count(), { timeout: 60_000 }).toBe(2);
    await expect.poll(() => runStatus(page), { timeout: 240_000 }).toBe('completed');
    // The same teacher on the same held-out digits.
    await expect.poll(() => text(page, 'metric-teacherTestAccuracy')).toBe(teacherBefore);
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(2);
    expect(await text(page, 'run-from')).toMatch(/^teacher from the run of .+ \(1 procedure skipped\)$/);
    await shot(page, 'start-from-01-done');
  }, 900_000);
});
