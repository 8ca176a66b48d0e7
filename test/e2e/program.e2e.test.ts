/**
 * End-to-end test of training programs in real headless Chromium: the SimSiam template from the
 * Templates dialog, its tabs (networks and procedures), shapes on a procedure's wires, the weights
 * badge of a frozen network, an edit in a procedure tab undone and redone, a short run in the worker
 * with the loss values on the loss nodes changing, the evaluation's results (the collapse monitor
 * on its node), and Stop. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/program.e2e.test.ts
 * Screenshots land in .tmp/shots/program-*.png at 1280×800 and 1920×1080.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { GraphDocument } from '../../src/document/schema';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

interface Exposed {
  patchbay: { getState(): { doc: GraphDocument; tab: { kind: string; id: string } } };
}
const state = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as Exposed).patchbay.getState();
    return { doc: s.doc, tab: s.tab };
  });
const viewPixels = async (page: Page) =>
  (await state(page)).doc.program!.procedures.find((p) => p.id === 'pretrain')!.nodes.find((n) => n.id === 'affine1')!.params.pixels;
const runStatus = (page: Page) => page.getByTestId('train-progress').getAttribute('data-status');
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).textContent()) ?? '') : '');

describe.skipIf(!e2e)('training programs in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-program');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('open SimSiam, switch tabs, edit a procedure with undo, train a few steps with live losses, see the evaluation, stop', async () => {
    const page = await openEditor(h);
    // A plain document shows no tabs.
    expect(await page.locator('.pb-graph-tabs').count()).toBe(0);

    await openTemplate(page, 'SimSiam', 'mnist');
    for (const id of ['network-model', 'network-projector', 'network-predictor', 'procedure-pretrain', 'procedure-evaluate']) {
      await page.getByTestId(`graph-tab-${id}`).waitFor();
    }
    expect(await page.getByTestId('graph-tab-network-model').getAttribute('aria-selected')).toBe('true');
    await page.getByTestId('node-conv1').waitFor();
    // Every network counts in the status bar (encoder, projector and predictor).
    expect(await page.getByTestId('status-trainable').textContent()).toMatch(/in 3 networks/);
    await shot(page, 'program-00-main-network');

    // Another network: its own nodes and shapes.
    await page.getByTestId('graph-tab-network-projector').click();
    await page.getByTestId('node-hiddenDense').waitFor();
    expect(await page.getByTestId('node-conv1').count()).toBe(0);
    expect(await page.getByTestId('shape-projDense').textContent()).toBe('(None, 128)');
    await shot(page, 'program-01-projector');

    // The training procedure: procedure nodes, Network nodes with their network's label and size, shapes on the wires.
    await page.getByTestId('graph-tab-procedure-pretrain').click();
    await page.getByTestId('node-encoder1').waitFor();
    expect(await page.getByTestId('node-encoder1').textContent()).toMatch(/Network · Encoder/);
    expect(await page.getByTestId('node-encoder1').textContent()).toMatch(/params/);
    expect(await page.getByTestId('shape-projector1').textContent()).toBe('(None, 128)');
    expect(await page.getByTestId('shape-erase1').textContent()).toBe('(None, 28, 28, 1)');
    expect(await page.getByTestId('shape-loss').textContent()).toBe('()');
    const wireLabels = await page.locator('.react-flow__edge-text').allTextContents();
    expect(wireLabels).toContain('(None, 128)');
    expect(wireLabels).toContain('(None, 28, 28, 1)');
    // The palette offers the procedure's nodes and one entry per network.
    const palette = page.getByRole('complementary', { name: 'Palette' });
    for (const name of ['Negative cosine', 'Stop gradient', 'Minimize', 'Projector', 'Predictor'])
      await palette.getByRole('button', { name, exact: true }).waitFor();
    expect(await palette.getByRole('button', { name: 'Dense', exact: true }).count()).toBe(0);
    await shot(page, 'program-02-procedure');

    // An edit in the procedure tab is one undo step, and undo stays in the tab.
    await page.getByTestId('node-affine1').click();
    const inspector = page.locator('.pb-tabpanel');
    await inspector.getByLabel('Pixels').fill('5');
    await inspector.getByLabel('Pixels').blur();
    await expect.poll(() => viewPixels(page)).toBe(5);
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await page.keyboard.press('Control+z');
    await expect.poll(() => viewPixels(page)).toBe(3);
    expect((await state(page)).tab).toEqual({ kind: 'procedure', id: 'pretrain' });
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => viewPixels(page)).toBe(5);
    // A node from the palette lands in the procedure, not in the main network; undo takes it away.
    const before = (await state(page)).doc;
    await palette.getByRole('button', { name: 'Gaussian noise', exact: true }).dblclick();
    await expect.poll(async () => (await state(page)).doc.program!.procedures[0]!.nodes.length).toBe(before.program!.procedures[0]!.nodes.length + 1);
    expect((await state(page)).doc.nodes.length).toBe(before.nodes.length);
    await page.getByTestId('node-gaussian_noise').waitFor();
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.getByTestId('node-gaussian_noise').count()).toBe(0);

    // A problem in a procedure: its tab is marked, Issues lists it, and a click there opens the tab on the node.
    await page.getByTestId('node-stop1').click();
    await page.keyboard.press('Delete');
    await page.getByTestId('graph-tab-procedure-pretrain').locator('.pb-graph-tab-error').waitFor();
    await page.getByTestId('graph-tab-network-model').click();
    await page.getByRole('tab', { name: /^Issues/ }).click();
    await page.locator('.pb-diag-item', { hasText: 'loss21' }).first().click();
    await expect.poll(async () => (await state(page)).tab).toEqual({ kind: 'procedure', id: 'pretrain' });
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { patchbay: { getState(): { selectedNodes: string[] } } }).patchbay.getState().selectedNodes))
      .toEqual(['loss21']);
    await shot(page, 'program-02a-issue');
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.getByTestId('node-stop1').count()).toBe(1);
    expect(await page.locator('.pb-graph-tab-error').count()).toBe(0);
    await page.getByRole('tab', { name: 'Inspector', exact: true }).click();
    await page.getByRole('button', { name: 'Fit view', exact: true }).click();
    await page.waitForTimeout(400);

    // A Network node's inspector: which network (a choice of the document's), which weights.
    await page.getByTestId('node-encoder1').click();
    expect(await inspector.getByLabel('Network', { exact: true }).inputValue()).toBe('model');
    expect(await inspector.getByLabel('Network', { exact: true }).locator('option').allTextContents()).toEqual([
      'Encoder (model)',
      'Projector (projector)',
      'Predictor (predictor)',
    ]);
    await inspector.getByLabel('Weights').selectOption('ema');
    await expect.poll(() => text(page, 'badge-encoder1')).toBe('EMA τ 0.99→1');
    await inspector.getByLabel('Decay schedule').waitFor();
    await shot(page, 'program-02b-network-node');
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.getByTestId('badge-encoder1').count()).toBe(0);

    // The summary: one table per network, then the totals of all.
    await page.getByRole('tab', { name: 'Summary', exact: true }).click();
    for (const id of ['model', 'projector', 'predictor']) await page.getByTestId(`summary-${id}`).waitFor();
    const total = Number((await text(page, 'summary-total')).replace(/,/g, ''));
    const [trainable, frozen] = [await text(page, 'status-trainable'), await text(page, 'status-non-trainable')].map((t) =>
      Number(t.replace(/,/g, '').match(/\d+/)![0]),
    );
    expect(total).toBe(trainable! + frozen!);
    await shot(page, 'program-02c-summary');
    await page.getByRole('tab', { name: 'Inspector', exact: true }).click();

    // The evaluation: a frozen encoder says so.
    await page.getByTestId('graph-tab-procedure-evaluate').click();
    await page.getByTestId('node-collapse').waitFor();
    expect(await page.getByTestId('badge-encoder').textContent()).toBe('frozen');
    await shot(page, 'program-03-evaluate');

    // Train: a quick run on the first 256 digits, batch 64, 1 epoch (4 steps), then the evaluation.
    await page.getByTestId('graph-tab-procedure-pretrain').click();
    await page.getByTestId('node-loss12').waitFor();
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    await train.getByLabel('Epochs').fill('1');
    await train.getByLabel('Batch size').fill('64');
    await train.getByLabel('Limit training examples').fill('256');
    await train.getByLabel('Epochs').blur();
    await expect.poll(() => text(page, 'train-plan')).toMatch(/256 digits × 1 epoch = 4 steps of 64/);
    expect(await page.getByTestId('playground').count()).toBe(0);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    // The loss node shows this step's value, and it changes as training goes.
    await expect.poll(() => text(page, 'live-loss12'), { timeout: 90_000 }).toMatch(/loss −?\d/);
    const first = await text(page, 'live-loss12');
    await expect.poll(() => text(page, 'live-loss12'), { timeout: 90_000 }).not.toBe(first);
    expect(await text(page, 'live-loss')).toMatch(/loss −?\d/);
    await expect.poll(() => page.getByTestId('chart-pretrain').getAttribute('data-points'), { timeout: 60_000 }).not.toBe('0');
    await shot(page, 'program-04-training');
    await expect.poll(() => runStatus(page), { timeout: 180_000 }).toBe('completed');
    // The evaluation's results: in the Train tab, and the collapse monitor on its node.
    await page.getByTestId('program-metrics').waitFor();
    expect(await text(page, 'metric-linearProbeAccuracy')).toMatch(/\d+\.\d+%/);
    expect(await text(page, 'metric-knnAccuracy')).toMatch(/\d+\.\d+%/);
    expect(await text(page, 'metric-baselines.rawPixelsLinearProbe')).toMatch(/\d+\.\d+%/);
    expect(await text(page, 'metric-collapseStd')).toMatch(/1\/√d = 0\.0884/);
    await page.getByTestId('graph-tab-procedure-evaluate').click();
    await expect.poll(() => text(page, 'live-collapse')).toMatch(/std 0\.\d+ · 1\/√d 0\.0884/);
    expect(await text(page, 'live-probe')).toMatch(/\d+\.\d% · untrained \d+\.\d%/);
    await shot(page, 'program-05-evaluated');
    // The run is in the history.
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(1);

    // Stop a second run mid-way.
    await train.getByText('Training setup').click();
    await train.getByLabel('Limit training examples').fill('1024');
    await page.getByRole('button', { name: 'Start a new run' }).click();
    const stepNow = async () => Number((await text(page, 'train-step')).match(/Step (\d+)/)?.[1] ?? 0);
    await expect.poll(stepNow, { timeout: 90_000 }).toBeGreaterThanOrEqual(1);
    // Pause holds the run between steps; Resume goes on.
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => runStatus(page)).toBe('paused');
    await page.waitForTimeout(1500);
    const pausedAt = await stepNow();
    await page.waitForTimeout(1500);
    expect(await stepNow()).toBe(pausedAt);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(stepNow, { timeout: 60_000 }).toBeGreaterThan(pausedAt);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => runStatus(page), { timeout: 60_000 }).toBe('stopped');
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(2);
  });

  test('distillation: three networks and four procedures fit the tab strip; metric nodes wait for results', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'Knowledge distillation', 'mnist');
    await page.getByTestId('graph-tab-procedure-evaluate').click();
    await page.getByTestId('node-teacher').waitFor();
    // The tab on show is scrolled into view.
    const tab = (await page.getByTestId('graph-tab-procedure-evaluate').boundingBox())!;
    const strip = (await page.locator('.pb-graph-tabs').boundingBox())!;
    expect(tab.x + tab.width).toBeLessThanOrEqual(strip.x + strip.width + 1);
    expect(await page.getByTestId('badge-teacher').textContent()).toBe('frozen');
    await shot(page, 'program-07-distillation');
    // Double-clicking a Network node opens its network.
    await page.getByTestId('node-teacher').dblclick();
    await expect.poll(() => page.getByTestId('graph-tab-network-teacher').getAttribute('aria-selected')).toBe('true');
    expect((await state(page)).tab).toEqual({ kind: 'network', id: 'teacher' });
  });

  test('BYOL: moving-average targets show their decay, live while training', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'BYOL', 'mnist');
    await page.getByTestId('graph-tab-procedure-pretrain').click();
    await page.getByTestId('node-targetEncoder1').waitFor();
    expect(await text(page, 'badge-targetEncoder1')).toBe('EMA τ 0.99→1');
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    await train.getByLabel('Epochs').fill('1');
    await train.getByLabel('Batch size').fill('64');
    await train.getByLabel('Limit training examples').fill('192');
    await train.getByLabel('Epochs').blur();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    // τ follows the cosine schedule from 0.99 towards 1, step by step.
    await expect.poll(() => text(page, 'badge-targetEncoder1'), { timeout: 90_000 }).toMatch(/^EMA τ (0\.99\d\d|1\.0000)$/);
    await expect.poll(() => runStatus(page), { timeout: 180_000 }).toBe('completed');
    await shot(page, 'program-06-byol');
  });
});
