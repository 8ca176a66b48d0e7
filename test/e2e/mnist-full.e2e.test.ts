/**
 * MNIST's own 60,000 / 10,000 split in the Train tab, in real headless Chromium: the download is
 * refused (the asset route blocked) and said in words with Try again while the graph stays as it
 * was; tried again over a throttled connection, it shows how far it is and then that it is ready; a
 * small dense model trains on the 60,000 digits and is scored on the 10,000 test digits. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/mnist-full.e2e.test.ts
 * Screenshots land in .tmp/shots/mnist-full-*.png at 1280×800 and 1920×1080.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEditor, ROOT, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const docJson = (page: Page) =>
  page.evaluate(() => JSON.stringify((window as unknown as { patchbay: { getState(): { doc: unknown } } }).patchbay.getState().doc));

/** Logistic regression on 28×28 digits: a few seconds for an epoch of the 60,000 on wasm. */
const digitsGraph = {
  format: 'patchbay.graph',
  version: 1,
  name: 'Digits, one layer',
  nodes: [
    { id: 'in', type: 'Input', params: { shape: [28, 28, 1] }, position: { x: 0, y: 0 } },
    { id: 'flat', type: 'Flatten', params: {}, position: { x: 0, y: 120 } },
    { id: 'out', type: 'Dense', params: { units: 10, activation: 'softmax' }, position: { x: 0, y: 240 } },
  ],
  edges: [
    { id: 'e1', source: 'in', target: 'flat' },
    { id: 'e2', source: 'flat', target: 'out' },
  ],
  training: { optimizer: 'adam', learningRate: 0.01, batchSize: 500, epochs: 1, schedule: 'constant' },
};

const ASSETS = '**/data/mnist-full/*.gz';

describe.skipIf(!e2e)("MNIST's full split in Chromium", () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-mnist-full');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('a blocked download is said with Try again and the graph survives; tried again it shows progress, then a run is scored on the 10,000 test digits', async () => {
    const page = await openEditor(h, undefined, async (p) => {
      await p.route(ASSETS, (route) => route.abort('internetdisconnected'));
    });
    await page
      .getByLabel('Open a graph file')
      .setInputFiles({ name: 'digits.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(digitsGraph)) });
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(3);
    const before = await docJson(page);
    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByLabel('Dataset', { exact: true }).selectOption('mnist-full');

    // Refused: said in words a person can act on, with a way to try again; the graph and the setup are untouched.
    const error = page.getByTestId('data-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^MNIST's full set could not be loaded: check the connection, then try again\. \(.+\.gz: .+\)Try again$/);
    await shot(page, 'mnist-full-failed');
    expect(await docJson(page)).toBe(before);
    expect(await page.locator('.react-flow__node').count()).toBe(3);
    // Start on a failed download fails that run in the same words (the worker tries again, and is refused again).
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status')).toBe('failed');
    expect(await page.getByTestId('train-progress').textContent()).toMatch(/MNIST's full set could not be loaded: check the connection/);
    expect(await docJson(page)).toBe(before);

    // Tried again over a slow connection (3 MB/s): how far it is, in MB over the wire, then ready.
    await page.unroute(ASSETS);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 3e6, uploadThroughput: -1 });
    // The setup folded away when the run began: open it again, where the data is chosen.
    await page.locator('summary', { hasText: 'Training setup' }).click();
    await page.getByTestId('data-error').getByRole('button', { name: 'Try again' }).click();
    const progress = page.getByTestId('mnist-full').getByTestId('data-progress');
    await expect
      .poll(() => progress.textContent().catch(() => ''), { timeout: 60_000 })
      .toMatch(/Downloading MNIST's full set: \d+\.\d MB of 11\.\d MB \(\d+ %\)…/);
    await shot(page, 'mnist-full-downloading');
    const ready = page.getByTestId('data-ready');
    await ready.waitFor({ timeout: 90_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    expect(await ready.textContent()).toMatch(/^Ready: 60,000 training and 10,000 test digits \(11\.\d MB downloaded\)\.$/);
    // The pinned example for the previews is the first of its test digits, a 7.
    await expect.poll(() => page.getByTestId('pin-label').textContent()).toMatch(/MNIST \(full\) test digit #1 \(a 7\)/);

    // One epoch of the 60,000 (120 steps of 500), scored on all 10,000 test digits.
    await page.getByRole('button', { name: /^Start/ }).click();
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 110_000 }).toBe('completed');
    expect(await page.getByTestId('train-step').textContent()).toBe('Step 120 / 120');
    const accuracy = page.locator('.pb-train-acc');
    expect(await accuracy.textContent()).toMatch(/^Test accuracy \d+\.\d\d ?% on 10,000 test digits of MNIST \(full\)$/);
    // Logistic regression reaches ~90% on MNIST after one epoch; chance is 10%.
    expect(Number((await page.getByTestId('test-accuracy').textContent())!.replace(/[^\d.]/g, ''))).toBeGreaterThan(80);
    await shot(page, 'mnist-full-trained');
    expect(await docJson(page)).toBe(before);
  });

  test('files a host sends as stored gzip (application/gzip, no Content-Encoding, as the dev server and some static hosts do) are decompressed in the worker', async () => {
    const served: string[] = [];
    const page = await openEditor(h, undefined, async (p) => {
      await p.route(ASSETS, async (route) => {
        const name = route.request().url().split('/').pop()!;
        const body = readFileSync(join(ROOT, '.tmp/e2e-dist-mnist-full/data/mnist-full', name));
        // Stored gzip, as sent: the bytes start 1f 8b, so the page must decompress them itself.
        expect([body[0], body[1]]).toEqual([0x1f, 0x8b]);
        served.push(name);
        await route.fulfill({ status: 200, body, headers: { 'Content-Type': 'application/gzip' } });
      });
    });
    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByLabel('Dataset', { exact: true }).selectOption('mnist-full');
    const ready = page.getByTestId('data-ready');
    await ready.waitFor({ timeout: 60_000 });
    expect(await ready.textContent()).toMatch(/^Ready: 60,000 training and 10,000 test digits \(11\.\d MB downloaded\)\.$/);
    expect(served.sort()).toEqual(['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
  });
});
