/**
 * What each node costs, in real headless Chromium: the ConvMixer template shows MACs and activation
 * memory on its nodes and in the summary (the same numbers the compiler counts), Profile times every
 * node in the training worker and shows it on the canvas and in the summary, and an edit hides the
 * time of the node it changed while the others keep theirs. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/cost.e2e.test.ts
 * Screenshots land in .tmp/shots/cost-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatCount } from '../../src/compiler/cost';
import { formatBytes } from '../../src/compiler/memory';
import { analyze } from '../../src/compiler/infer';
import { summarize } from '../../src/compiler/summary';
import type { GraphDocument } from '../../src/document/schema';
import { templateDocument } from '../../templates/index';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

beforeAll(async () => {
  if (e2e) h = await startHarness('.tmp/e2e-cost');
});
afterAll(async () => {
  await h?.close();
});

function expectedSummary() {
  const t = templateDocument('convmixer', 'mnist');
  if ('error' in t) throw new Error(t.error);
  return summarize(analyze(t.doc));
}

describe.skipIf(!e2e)('costs and Profile in the editor', () => {
  test('ConvMixer: costs on the nodes and in the summary; Profile times each node; an edit hides the time it made stale', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');
    const expected = expectedSummary();
    const row = (id: string) => expected.nodes.find((r) => r.nodeId === id)!;

    // On the canvas: the compiler's counts, small, on each node that computes.
    for (const id of ['stem', 'mixer', 'head']) await expect(page.getByTestId(`macs-${id}`).textContent()).resolves.toBe(`${formatCount(row(id).macs)} MACs`);
    await expect(page.getByTestId('cost-pool').textContent()).resolves.toBe(formatBytes(row('pool').activationBytes));
    expect(await page.getByTestId('macs-pool').count()).toBe(0);

    // In the summary: totals for one example and for the training batch.
    await page.getByRole('tab', { name: 'Summary' }).click();
    await expect(page.getByTestId('summary-macs').textContent()).resolves.toBe(formatCount(expected.macs));
    await expect(page.getByTestId('summary-activations').textContent()).resolves.toBe(formatBytes(expected.activationBytes));
    // ConvMixer's depthwise convolutions are counted, and the summary says so.
    await expect(page.getByTestId('summary-cost-note').first().textContent()).resolves.toMatch(
      /Depthwise convolutions are counted .* some published ConvMixer figures leave them out\./,
    );

    // Profile: forward and forward + backward in the worker, per node.
    await page.getByTestId('profile-run').click();
    await page.getByTestId('profile-result').waitFor({ timeout: 90_000 });
    const result = await page.getByTestId('profile-result').textContent();
    expect(result).toMatch(
      /Measured on (wasm|webgl|webgpu|cpu), batch of 32, median of 3 passes: the whole model takes [\d.]+ (ms|s) forward and [\d.]+ (ms|s) forward \+ backward\./,
    );
    for (const id of ['stem', 'mixer', 'pool', 'head'])
      await expect(page.getByTestId(`time-${id}`).textContent()).resolves.toMatch(/^[\d.]+ (ms|s) \/ [\d.]+ (ms|s)$/);
    expect(await page.getByRole('columnheader', { name: 'Time' }).count()).toBe(1);
    await expect(page.getByTestId('summary-time-mixer').textContent()).resolves.toMatch(/^[\d.]+ (ms|s)[\d.]+ (ms|s)$/);
    await shot(page, 'cost-profiled');

    // An edit to the mixer (kernel 5 → 7) makes its time stale: it goes; the pooling's inputs did not change, its time stays.
    await page.evaluate(() => {
      const store = (window as unknown as { patchbay: { getState(): { edit(fn: (d: GraphDocument) => GraphDocument): void } } }).patchbay;
      store.getState().edit((d) => ({ ...d, nodes: d.nodes.map((n) => (n.id === 'mixer' ? { ...n, params: { ...n.params, kernelSize: 7 } } : n)) }));
    });
    await page.getByTestId('time-mixer').waitFor({ state: 'detached' });
    expect(await page.getByTestId('time-pool').count()).toBe(1);
    // The estimate follows the edit at once: 4 × 14·14·64·(7·7) depthwise MACs instead of (5·5).
    const grew = 4 * 14 * 14 * 64 * (49 - 25);
    await expect(page.getByTestId('macs-mixer').textContent()).resolves.toBe(`${formatCount(row('mixer').macs + grew)} MACs`);
    await expect(page.getByTestId('profile-result').textContent()).resolves.toMatch(/The graph changed since/);
    await shot(page, 'cost-after-edit');
  });
});
