/**
 * End-to-end: a training program's weights come back into the editor. A short CapsNet run exports
 * its weights.zip (a folder per network); a fresh page (its own browser storage) opens the same
 * template, imports the .zip as an "imported weights" run, scores it without training and sees the
 * test accuracy the original run reported. The same weights as a picked folder import too, and a
 * .zip whose folders hold the wrong network's weights is refused in words, the graph unchanged.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/program-weights-import.e2e.test.ts
 * Screenshots land in .tmp/shots/program-import-*.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { dismissToasts, openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const text = async (page: Page, testId: string) =>
  (await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).first().textContent()) ?? '') : '';
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');
const toastText = (page: Page) => page.locator('.pb-toast').allTextContents();

/** The tiny CapsNet with a short setup: 64 digits in one batch (the procedure keeps its 16 epochs), scored on 16 test digits. */
async function openCapsnet(page: Page) {
  await openTemplate(page, 'Capsule network', 'tiny');
  await page.getByRole('tab', { name: 'Train', exact: true }).click();
  const train = page.getByTestId('program-train');
  await train.getByLabel('Epochs').fill('1');
  await train.getByLabel('Batch size').fill('64');
  await train.getByLabel('Limit training examples').fill('64');
  await train.getByLabel('Epochs').blur();
  return train;
}

describe.skipIf(!e2e)("importing a program's weights, in Chromium", () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-program-weights-import');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('CapsNet: train, export weights.zip, import it in a fresh page, score it to the same test accuracy; a mismatched .zip is refused', async () => {
    // 1. A short run, and its weights as the page exports them.
    const first = await openEditor(h);
    await openCapsnet(first);
    await first.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => runStatus(first), { timeout: 240_000 }).toBe('completed');
    await expect.poll(() => text(first, 'metric-testAccuracy')).toMatch(/^Test accuracy\d+\.\d+%$/);
    const trainedMetrics = await text(first, 'program-metrics');
    const trained = /(\d+\.\d+%)/.exec(await text(first, 'metric-testAccuracy'))![1]!;
    const [download] = await Promise.all([first.waitForEvent('download'), first.getByRole('button', { name: 'Export weights' }).click()]);
    const zip = readFileSync((await download.path())!);
    const files = unzipSync(new Uint8Array(zip));
    expect(Object.keys(files).sort()).toEqual(['decoder/model.json', 'decoder/weights.bin', 'model/model.json', 'model/weights.bin']);
    await first.context().close();

    // 2. A fresh page with its own storage: the same template, no runs yet.
    const page = await openEditor(h);
    await openCapsnet(page);
    expect(await page.getByTestId('run-item').count()).toBe(0);
    const nodesBefore = await page.locator('.react-flow__node').count();
    // Another seed here: networks left at their seeded initialisation would score otherwise; imported ones do not depend on it.
    await page.getByTestId('program-train').getByLabel('Seed').fill('12345');
    await page.getByTestId('program-train').getByLabel('Seed').blur();

    // A .zip whose model folder holds the decoder's weights: refused, naming the network and the weight; nothing imported.
    const swapped = zipSync({ ...files, 'model/model.json': files['decoder/model.json']!, 'model/weights.bin': files['decoder/weights.bin']! }, { level: 0 });
    await page.getByLabel('Import weights (.zip)').setInputFiles({ name: 'swapped.zip', mimeType: 'application/zip', buffer: Buffer.from(swapped) });
    await expect.poll(() => toastText(page)).toContainEqual(expect.stringMatching(/Could not import these weights; your graph is unchanged/));
    const refusal = (await toastText(page)).find((t) => t.includes('Could not import'))!;
    expect(refusal).toMatch(
      /The weights in "model" do not fit network “Capsules”: its weight "[^"]+" \[[\d, ]+\] is not in the file \(the file has "[^"]+" \[[\d, ]+\] in its place\)\./,
    );
    await shot(page, 'program-import-00-refused');
    expect(await page.getByTestId('run-item').count()).toBe(0);
    expect(await page.locator('.react-flow__node').count()).toBe(nodesBefore);
    await dismissToasts(page);

    // Folder names are text in the message, never markup.
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const named = zipSync({ [`${hostile}/model.json`]: files['model/model.json']!, [`${hostile}/weights.bin`]: files['model/weights.bin']! }, { level: 0 });
    await page.getByLabel('Import weights (.zip)').setInputFiles({ name: 'named.zip', mimeType: 'application/zip', buffer: Buffer.from(named) });
    await expect.poll(async () => (await toastText(page)).join(' ')).toContain(`No folder in "named.zip" is named after a network of this program`);
    expect((await toastText(page)).join(' ')).toContain(JSON.stringify(hostile));
    expect(await page.locator('.pb-toast img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.getByTestId('run-item').count()).toBe(0);
    await dismissToasts(page);

    // The exported .zip: an imported run, not scored yet.
    await page.getByLabel('Import weights (.zip)').setInputFiles({ name: 'weights.zip', mimeType: 'application/zip', buffer: zip });
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(1);
    expect(await text(page, 'run-badge')).toBe('imported weights');
    expect(await text(page, 'run-imported')).toMatch(/^Imported from weights\.zip \(model, decoder\); not trained here\. Not scored yet/);
    expect((await toastText(page)).join(' ')).toMatch(/Imported the weights of 2 networks from weights\.zip/);
    await dismissToasts(page);
    await shot(page, 'program-import-01-imported');

    // Score: the evaluation alone, with both networks from the import, on the same 16 test digits.
    await page.getByRole('button', { name: 'Score', exact: true }).click();
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).toBe('completed');
    expect(await text(page, 'run-status')).toBe('Scored');
    expect(await text(page, 'run-scoring')).toBe('imported weights, no training');
    await expect.poll(() => text(page, 'metric-testAccuracy')).toMatch(/^Test accuracy\d+\.\d+%$/);
    expect(await text(page, 'program-metrics')).toBe(trainedMetrics);
    // No new run: the score is in the imported run's record.
    await expect.poll(() => text(page, 'run-imported')).toMatch(/Scored on MNIST's 16 test digits\.$/);
    expect(await page.getByTestId('run-item').count()).toBe(1);
    expect(await page.getByTestId('run-item').locator('.pb-run-acc').textContent()).toBe(trained);
    await shot(page, 'program-import-02-scored');

    // "Start networks from" offers the imported weights.
    await page.getByTestId('program-train').getByText('Training setup').click();
    const from = page.getByTestId('start-from');
    const options = await from.getByLabel('Start networks from').locator('option').allTextContents();
    expect(options[1]).toMatch(/^The weights imported /);
    // Both networks from it: the training procedure is skipped, and the new run scores what the import scored.
    await from.getByLabel('Start networks from').selectOption({ index: 1 });
    await from.getByLabel('Capsules').check();
    await from.getByLabel('Decoder').check();
    await expect.poll(async () => (await from.textContent()) ?? '').toMatch(/Skipped, as their networks come trained: Margin and reconstruction\./);
    await page.getByRole('button', { name: 'Start a new run' }).click();
    await expect.poll(() => page.getByTestId('run-item').count(), { timeout: 60_000 }).toBe(2);
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).toBe('completed');
    expect(await text(page, 'program-metrics')).toBe(trainedMetrics);
    expect(await text(page, 'run-from')).toMatch(/^model, decoder from the weights imported .+ \(1 procedure skipped\)$/);

    // The same weights as a picked folder (what patchbay train --save or weights.py write): a second imported run.
    const dir = mkdtempSync(join(tmpdir(), 'pb-weights-'));
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(join(dir, 'capsnet-run', dirname(path)), { recursive: true });
      writeFileSync(join(dir, 'capsnet-run', path), bytes);
    }
    await page.getByLabel('Import weights (a folder per network)').setInputFiles(join(dir, 'capsnet-run'));
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(3);
    expect(await text(page, 'run-imported')).toMatch(/^Imported from capsnet-run \(model, decoder\); not trained here/);
    await shot(page, 'program-import-03-folder');
    await dismissToasts(page);

    // The .zip's import scored again on MNIST's own 10,000 test digits (the Train tab's full MNIST), no limit: its record says so.
    const setup = page.getByTestId('program-train');
    if (!(await setup.getByLabel('Dataset').isVisible())) await setup.getByText('Training setup').click();
    await setup.getByLabel('Dataset').selectOption({ label: 'MNIST, full 60,000 / 10,000' });
    await setup.getByLabel('Limit training examples').fill('');
    await setup.getByLabel('Limit training examples').blur();
    const zipped = page.getByTestId('run-item').filter({ hasText: 'Imported from weights.zip' });
    await zipped.getByRole('button', { name: 'Score', exact: true }).click();
    await expect
      .poll(async () => (await zipped.getByTestId('run-imported').textContent()) ?? '', { timeout: 240_000 })
      .toMatch(/Scored on MNIST \(full\)'s 10,000 test digits\.$/);
    expect(await text(page, 'program-metrics')).toMatch(/^EvaluationTest accuracy\d+\.\d+%On the 10,000 test digits of MNIST \(full\)\.$/);
    expect(await zipped.locator('.pb-run-acc').textContent()).toBe(/(\d+\.\d+%)/.exec(await text(page, 'metric-testAccuracy'))![1]);
    await shot(page, 'program-import-04-mnist-full');
  }, 600_000);
});
