/**
 * End-to-end tests of the Train tab's datasets in real headless Chromium: a 2-D graph opened from a
 * file trains on the two moons in the worker; a model that does not fit a dataset is told what to
 * change; a CSV with a bad cell names the row and column and leaves the graph alone; a good CSV and
 * a .zip of images (one with an unreadable image) are summarised. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/data.e2e.test.ts
 * Screenshots land in .tmp/shots/data-*.png at 1280×800 and 1920×1080.
 */
import { deflateSync } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const stepOf = async (page: Page) => Number((await page.getByTestId('train-step').textContent())?.match(/Step (\d+)/)?.[1] ?? 0);
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');
const docJson = (page: Page) =>
  page.evaluate(() => JSON.stringify((window as unknown as { patchbay: { getState(): { doc: unknown } } }).patchbay.getState().doc));

const moonsGraph = {
  format: 'patchbay.graph',
  version: 1,
  name: 'Moons MLP',
  nodes: [
    { id: 'in', type: 'Input', params: { shape: [2] }, position: { x: 0, y: 0 } },
    { id: 'hidden', type: 'Dense', params: { units: 16, activation: 'relu' }, position: { x: 0, y: 120 } },
    { id: 'out', type: 'Dense', params: { units: 2, activation: 'softmax' }, position: { x: 0, y: 240 } },
  ],
  edges: [
    { id: 'e1', source: 'in', target: 'hidden' },
    { id: 'e2', source: 'hidden', target: 'out' },
  ],
  training: { optimizer: 'adam', learningRate: 0.02, batchSize: 32, epochs: 2, schedule: 'constant' },
};

/** A tiny solid-colour RGB PNG (zlib from Node, CRC-32 by hand). */
function png(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(rgb, y * (1 + width * 3) + 1 + x * 3);
  return new Uint8Array(
    Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]),
  );
}

describe.skipIf(!e2e)('datasets in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-data');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('train a 2-D graph on the two moons; a bad CSV names the row and column; a good CSV and a zip of images are summarised', async () => {
    const page = await openEditor(h);
    await page
      .getByLabel('Open a graph file')
      .setInputFiles({ name: 'moons.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(moonsGraph)) });
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(3);
    await page.getByRole('tab', { name: 'Train' }).click();
    const dataset = page.getByLabel('Dataset', { exact: true });

    // MNIST does not fit a 2-D model, and the tab says exactly what to change.
    await dataset.selectOption('mnist');
    await expect
      .poll(() => page.getByTestId('train-blocked').textContent())
      .toMatch(/The model takes \(None, 2\), but MNIST digits are \(None, 28, 28, 1\): set the Input shape to \[28, 28, 1\]/);
    await dataset.selectOption('spirals');
    await expect.poll(() => page.getByTestId('train-blocked').textContent()).toMatch(/outputs \(None, 2\), but spirals has 3 classes: end with Dense\(3\)/);
    expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);

    await dataset.selectOption('moons');
    expect(await page.getByTestId('train-blocked').count()).toBe(0);
    expect(await page.getByTestId('data-summary').textContent()).toMatch(/Two moons.*800 train and 200 test examples of shape \(None, 2\)/);
    expect(await page.getByTestId('train-plan').textContent()).toBe('800 examples × 2 epochs = 50 steps of 32');
    await shot(page, 'data-00-moons-setup');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('train-step').textContent()).toMatch(/Step \d+ \/ 50/);
    await expect.poll(() => runStatus(page), { timeout: 60_000 }).toBe('completed');
    expect(await stepOf(page)).toBe(50);
    const accuracy = Number((await page.getByTestId('test-accuracy').textContent())!.replace('%', ''));
    expect(accuracy).toBeGreaterThan(75);
    expect(await page.getByTestId('confusion-matrix').locator('tbody th').allTextContents()).toEqual(['upper moon', 'lower moon']);
    // Drawing is for image models: a model of 2-D points has no playground.
    expect(await page.getByTestId('playground').count()).toBe(0);
    await shot(page, 'data-01-moons-trained');

    // Your CSV: a bad cell is named by row and column; the graph is untouched.
    const before = await docJson(page);
    await page.locator('details.pb-setup:not(.pb-sweep) > summary').click();
    await dataset.selectOption('csv');
    await expect.poll(() => page.getByTestId('train-blocked').textContent()).toMatch(/Choose a CSV file/);
    await page
      .getByLabel('Your CSV file')
      .setInputFiles({ name: 'points.csv', mimeType: 'text/csv', buffer: Buffer.from('x,y,label\n0.1,0.2,a\n0.3,oops,b\n0.5,0.6,a\n') });
    const error = page.getByTestId('data-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/points\.csv: Row 3, column "y" \(the 2nd\): the cell holds "oops", which is not a number/);
    expect(await page.getByTestId('train-blocked').textContent()).toMatch(/points\.csv cannot be used/);
    expect(await docJson(page)).toBe(before);
    await error.scrollIntoViewIfNeeded();
    await shot(page, 'data-02-csv-error');

    // A good CSV with three classes (label picked by name): summarised, and the output must be Dense(3).
    const rows = Array.from({ length: 30 }, (_, i) => `${['setosa', 'versicolor', 'virginica'][i % 3]},${(i % 3) + 0.1 * (i % 5)},${i % 7}`);
    await page
      .getByLabel('Your CSV file')
      .setInputFiles({ name: 'iris.csv', mimeType: 'text/csv', buffer: Buffer.from(`species,petal,sepal\r\n${rows.join('\r\n')}\r\n`) });
    await expect.poll(() => page.getByTestId('data-error').count()).toBe(1); // the last column ("sepal") is not a usable label…
    await page.getByLabel('Label column').selectOption('species');
    await expect.poll(() => page.getByTestId('data-error').count()).toBe(0);
    expect(await page.getByTestId('data-summary').textContent()).toMatch(
      /iris\.csv: 30 examples of shape \(None, 2\), 3 classes \(setosa, versicolor, virginica\); 24 train, 6 test/,
    );
    expect(await page.getByTestId('data-counts').locator('tbody tr').count()).toBe(3);
    expect(await page.getByTestId('train-blocked').textContent()).toMatch(/but iris\.csv has 3 classes: end with Dense\(3\)/);
    await page.getByTestId('data-summary').scrollIntoViewIfNeeded();
    await shot(page, 'data-03-csv-loaded');

    // A two-class CSV fits the model: it trains in the worker (the data crosses as an inline dataset).
    const two = Array.from({ length: 40 }, (_, i) => `${(i % 2) * 2 + 0.01 * i},${i % 3},${i % 2 ? 'right' : 'left'}`);
    await page.getByLabel('Your CSV file').setInputFiles({ name: 'two.csv', mimeType: 'text/csv', buffer: Buffer.from(`x,y,side\n${two.join('\n')}\n`) });
    await expect.poll(() => page.getByTestId('train-blocked').count()).toBe(0);
    const runs = await page.getByTestId('run-item').count();
    await page.getByRole('button', { name: 'Start a new run' }).click();
    await expect.poll(() => runStatus(page), { timeout: 60_000 }).toBe('completed');
    expect(await page.getByTestId('train-step').textContent()).toBe('Step 2 / 2');
    expect(await page.getByTestId('confusion-matrix').locator('tbody th').allTextContents()).toEqual(['left', 'right']);
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(runs + 1);
    expect(await page.getByTestId('run-item').first().textContent()).toMatch(/two\.csv, 32 examples/);

    // Your images: a zip with an unreadable image is named; then a good one is summarised.
    await page.locator('details.pb-setup:not(.pb-sweep) > summary').click();
    await dataset.selectOption('images');
    const zip = (broken: boolean) =>
      Buffer.from(
        zipSync({
          'pets/cats/1.png': png(6, 5, [200, 30, 30]),
          'pets/cats/2.png': png(5, 5, [220, 40, 20]),
          'pets/cats/3.png': png(4, 4, [180, 20, 40]),
          'pets/dogs/1.png': png(5, 5, [30, 30, 200]),
          'pets/dogs/2.png': png(7, 5, [20, 60, 220]),
          ...(broken ? { 'pets/dogs/broken.png': strToU8('not a png') } : {}),
        }),
      );
    await page.getByLabel('Your .zip of images').setInputFiles({ name: 'pets.zip', mimeType: 'application/zip', buffer: zip(true) });
    await expect.poll(() => page.getByTestId('data-error').textContent(), { timeout: 20_000 }).toMatch(/The image "pets\/dogs\/broken\.png" could not be read/);
    await page.getByLabel('Your .zip of images').setInputFiles({ name: 'pets.zip', mimeType: 'application/zip', buffer: zip(false) });
    await expect.poll(() => page.getByTestId('user-data').getAttribute('data-status'), { timeout: 20_000 }).toBe('ready');
    expect(await page.getByTestId('data-summary').textContent()).toMatch(
      /pets: 5 examples of shape \(None, 28, 28, 1\) \(resized to the model's input\), 2 classes \(cats, dogs\)/,
    );
    expect(await page.getByTestId('train-blocked').textContent()).toMatch(
      /pets examples are images, resized to the model's input: set the Input shape to \[height, width, 1\]/,
    );
    expect(await docJson(page)).toBe(before);
    await page.getByTestId('data-summary').scrollIntoViewIfNeeded();
    await shot(page, 'data-04-images');
    await page.context().close();
  });
});
