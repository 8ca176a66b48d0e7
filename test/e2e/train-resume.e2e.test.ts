/**
 * A run survives a reload: leaving the page during a run asks first; after the reload the run is in
 * the history as "interrupted at step N" and goes on from its checkpoint, keeping its curves and
 * step count. Also the Train tab's check of a hand-built classifier and its one-click fixes. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/train-resume.e2e.test.ts
 * Screenshots land in .tmp/shots/train-resume-*.png and train-check-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

const panel = (page: Page) => page.locator('.pb-train');
const stepOf = async (page: Page) => Number((await page.getByTestId('train-step').textContent())?.match(/Step (\d+)/)?.[1] ?? 0);
const points = async (page: Page, id: string) => Number(await page.getByTestId(id).getAttribute('data-points'));
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');

describe.skipIf(!e2e)('a run survives a reload', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-train-resume');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('warn before leaving, reload mid-run, see it interrupted at step N, resume from N and finish', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect.poll(() => page.getByTestId('train-backend').textContent(), { timeout: 30_000 }).toMatch(/Available here/);
    await panel(page).getByLabel('Epochs').fill('3');
    await panel(page).getByLabel('Batch size').fill('32');
    await panel(page).getByLabel('Limit training examples').fill('256');
    await panel(page).getByLabel('Epochs').blur();

    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    // The progress line names the backend the run is on.
    expect(await page.getByTestId('train-speed').textContent()).toMatch(/steps\/s on (WASM|CPU|WebGL|WebGPU)$/);
    // While it runs, the history lists it as running, not as interrupted.
    await expect.poll(() => page.getByTestId('run-item').first().getAttribute('data-status')).toBe('running');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => runStatus(page)).toBe('paused');
    // A pause keeps a checkpoint where the run stands.
    const checkpointIsCurrent = async () => (await page.getByTestId('train-checkpoint').getAttribute('data-step')) === String(await stepOf(page));
    await expect.poll(checkpointIsCurrent, { timeout: 30_000 }).toBe(true);
    const n = await stepOf(page);
    expect(n).toBeLessThan(24);
    await shot(page, 'train-resume-00-paused');

    // Leaving asks first (a beforeunload dialog); accepting it reloads.
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.type());
      void d.accept();
    });
    await page.reload();
    await page.waitForSelector('body[data-ready="true"] .react-flow');
    expect(dialogs).toEqual(['beforeunload']);
    await page.getByRole('tab', { name: 'Train' }).click();
    const item = page.getByTestId('run-item').first();
    await expect.poll(() => item.getAttribute('data-status'), { timeout: 15_000 }).toBe('interrupted');
    expect(await item.getByTestId('run-badge').textContent()).toBe(`interrupted at step ${n}`);
    const resume = item.getByRole('button', { name: `Resume from step ${n}` });
    expect(await resume.isEnabled()).toBe(true);
    await item.scrollIntoViewIfNeeded();
    await shot(page, 'train-resume-01-interrupted');

    // Resume: the same run goes on from step N with its first N steps of curves, and no warning
    // is needed once it has ended.
    await resume.click();
    await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThan(n);
    expect(await page.getByTestId('train-step').textContent()).toMatch(/\/ 24$/);
    expect(await page.getByTestId('train-progress').textContent()).toContain(`Resumed from the checkpoint at step ${n}.`);
    await expect.poll(() => runStatus(page), { timeout: 90_000 }).toBe('completed');
    expect(await stepOf(page)).toBe(24);
    expect(await points(page, 'chart-loss')).toBe(24);
    // Still one run in the history: the resumed run is the same run, now completed.
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(1);
    await expect.poll(() => item.getAttribute('data-status')).toBe('completed');
    expect(await item.textContent()).toMatch(/24\/24 steps/);
    expect(await page.getByTestId('confusion-matrix').count()).toBe(1);
    await shot(page, 'train-resume-02-completed');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"] .react-flow');
    expect(dialogs).toEqual(['beforeunload']);
    await page.context().close();
  });
  test("the check names a hand-built classifier's real problems, fixes each in one undoable click, and Start refuses a model too large to train", async () => {
    const page = await openEditor(h);
    // Input 28×28×1 → Conv2D → Dense 10 (linear, wired straight to the image) → Output, as a newcomer builds it.
    const nodes = [
      { id: 'image', type: 'Input', params: { shape: [28, 28, 1] }, position: { x: 0, y: 0 } },
      { id: 'conv', type: 'Conv2D', params: { filters: 8, kernelSize: 3, activation: 'relu' }, position: { x: 0, y: 120 } },
      { id: 'classes', type: 'Dense', params: { units: 10 }, position: { x: 0, y: 360 } },
      { id: 'out', type: 'Output', params: {}, position: { x: 0, y: 480 } },
    ];
    const edges = [
      ['image', 'conv'],
      ['conv', 'classes'],
      ['classes', 'out'],
    ].map(([source, target], i) => ({ id: `e${i + 1}`, source, sourcePort: 'out', target, targetPort: 'in' }));
    const doc = { format: 'patchbay.graph', version: 1, name: 'My digits', nodeTypes: {}, nodes, edges, blocks: [], meta: {} };
    await page.getByLabel('Open a graph file').setInputFiles({ name: 'digits.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(doc)) });
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(4);
    await page.getByRole('tab', { name: 'Train' }).click();

    const check = page.getByTestId('train-check');
    await expect.poll(() => check.locator('li').count()).toBe(2);
    expect(await check.locator('li').first().textContent()).toMatch(/^Dense on an image acts per pixel\..*"classes" gets \(None, 26, 26, 8\)/);
    expect(await check.locator('li').nth(1).textContent()).toMatch(/^The last Dense has no softmax: cross-entropy needs probabilities\./);
    expect(await page.getByTestId('train-blocked').textContent()).toBe('Dense on an image acts per pixel: see the fix below.');
    expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
    // An image model: the drawing playground is there.
    expect(await page.getByTestId('playground').count()).toBe(1);
    await shot(page, 'train-check-00-problems');

    await page.getByRole('button', { name: 'Insert Flatten before Dense' }).click();
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(5);
    await expect.poll(() => check.locator('li').count()).toBe(1);
    expect(await page.getByTestId('train-blocked').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(false);
    await page.getByRole('button', { name: 'Use softmax on the last Dense' }).click();
    await expect.poll(() => page.getByTestId('train-check').count()).toBe(0);
    await shot(page, 'train-check-01-fixed');
    // Each fix is one undo step.
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => page.getByTestId('train-check').locator('li').count()).toBe(1);
    expect(await page.locator('.react-flow__node').count()).toBe(5);
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => page.getByTestId('train-check').locator('li').count()).toBe(2);
    expect(await page.locator('.react-flow__node').count()).toBe(4);
    await page.getByRole('button', { name: 'Redo' }).click();
    await page.getByRole('button', { name: 'Redo' }).click();
    await expect.poll(() => page.getByTestId('train-check').count()).toBe(0);

    // A Dense of 10^9 units cannot train in a tab: Start says why instead of letting tfjs fail to allocate.
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await page.locator('.react-flow__node[data-id="classes"]').click();
    await page.getByLabel('Units', { exact: true }).fill('1000000000');
    await page.getByLabel('Units', { exact: true }).blur();
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect
      .poll(() => page.getByTestId('train-blocked').textContent())
      .toMatch(
        /^Start is refused: a training step at batch 32 needs about 86\.7 TB, more than the 4\.29 GB a browser tab can give it: 86\.5 TB for the 5,409,000,000,080 parameters \(21\.6 TB of weights/,
      );
    expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
    await shot(page, 'train-check-02-too-large');
    await page.context().close();
  });
  test('charts: whole step ticks on a short run, and large losses with labels for people', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();
    // A finished 3-step run whose loss is in the tens of thousands (a diverging run looks like this).
    await page.evaluate(() => {
      const loss = [48213.7, 31007.25, 12345.678];
      const training = (window as unknown as { patchbayTraining: { setState(s: object): void } }).patchbayTraining;
      training.setState({
        run: {
          id: 'run-chart',
          graphKey: 'name:x',
          graphName: 'x',
          date: new Date().toISOString(),
          setup: {
            optimizer: 'adam',
            learningRate: 0.001,
            schedule: 'constant',
            warmupSteps: 0,
            weightDecay: 0,
            momentum: 0.9,
            batchSize: 32,
            epochs: 1,
            seed: 0,
            loss: 'categoricalCrossentropy',
          },
          backendChoice: 'auto',
          backend: { name: 'wasm', reason: 'test' },
          curves: { loss, accuracy: [0.1, 0.15, 0.2] },
          epochs: [],
          final: null,
          seconds: 2,
          stepsPerSecond: 1.5,
          planJson: '',
          plan: null,
          status: 'completed',
          data: { title: 'MNIST', inputShape: [28, 28, 1], classNames: ['0', '1'], trainCount: 96, testCount: 24 },
          dataRef: 'mnist',
          totalSteps: 3,
          last: { step: 3, totalSteps: 3, epoch: 1, loss: loss[2], accuracy: 0.2, learningRate: 0.001, stepsPerSecond: 1.5, secondsLeft: 0, tensors: 0 },
        },
        tick: 1,
      });
    });
    const chart = page.getByTestId('chart-loss');
    await expect.poll(() => chart.getAttribute('data-x-ticks')).toBeTruthy();
    const xTicks = (await chart.getAttribute('data-x-ticks'))!.split(' ');
    expect(xTicks.every((t) => /^[123]$/.test(t))).toBe(true);
    const yTicks = (await chart.getAttribute('data-y-ticks'))!.split(' ');
    expect(yTicks.length).toBeGreaterThan(1);
    for (const t of yTicks) expect(t).toMatch(/^\d{1,3}(\.\d)?k$/);
    expect(await page.getByTestId('train-progress').textContent()).toMatch(/1\.5 steps\/s on WASM.*loss 12\.35k/);
    await page.getByTestId('chart-loss').scrollIntoViewIfNeeded();
    await shot(page, 'train-chart-large-values');
    await page.context().close();
  });
});
