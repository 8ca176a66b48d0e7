/**
 * The parts of the editor that load on first use (src/editor/lazy-part.tsx; issue 12's initial
 * JavaScript budget, test/initial-bundle.test.ts): the templates, the code view, the training
 * panel and the issues tab appear when asked for, and a part whose download fails says so in words,
 * offers to try again, and then works; the graph is untouched by the failure. The previews' refresh,
 * fetched right after the first paint, says so in the pin bar.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page, Route } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

let h: Harness;
const e2e = !!process.env.PATCHBAY_E2E;

const nodeCount = (page: Page) => page.locator('.react-flow__node').count();
/** The training panel's Start button: there once the panel's code has arrived. */
const startButton = (page: Page) => page.locator('#panel-train').getByRole('button', { name: 'Start', exact: true });

describe.skipIf(!e2e)('parts loaded on first use', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-lazy-dist');
  });

  afterAll(async () => {
    await h?.close();
  });

  test('templates, code and training open when asked for', async () => {
    const page = await openEditor(h);
    await shot(page, 'lazy-first-paint');

    await page.getByRole('button', { name: 'Templates', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Templates' });
    await dialog.getByRole('button', { name: 'Open ConvMixer mnist' }).waitFor();
    expect(await dialog.getByText('Loading the templates…').count()).toBe(0);
    await shot(page, 'lazy-templates-dialog');
    await page.keyboard.press('Escape');

    await openTemplate(page, 'ConvMixer', 'mnist');
    expect(await nodeCount(page)).toBeGreaterThan(3);
    await shot(page, 'lazy-template-opened');

    await page.getByRole('tab', { name: 'Code' }).click();
    await page.getByText('Live TypeScript; needs only @tensorflow/tfjs.').waitFor();
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    await startButton(page).waitFor();
    await shot(page, 'lazy-train-panel');
    await page.context().close();
  });

  test('a part whose download fails says why, and loads on a second try', async () => {
    const page = await openEditor(h);
    const abort = (route: Route) => route.abort('internetdisconnected');

    // The network drops the templates' chunk: the dialog says so, and Try again brings the list.
    const templatesChunk = /\/assets\/templates-[^/]+\.js$/;
    await page.route(templatesChunk, abort);
    await page.getByRole('button', { name: 'Templates', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Templates' });
    await dialog.locator('[role="alert"]', { hasText: 'The templates could not be loaded' }).waitFor();
    await shot(page, 'lazy-templates-failed');
    await page.unroute(templatesChunk);
    await dialog.getByRole('button', { name: 'Try again' }).click();
    await dialog.getByRole('button', { name: 'Open ConvMixer mnist' }).click();
    await dialog.waitFor({ state: 'detached' });
    const nodes = await nodeCount(page);
    expect(nodes).toBeGreaterThan(3);

    // The same for the training panel's chunk; the graph and the editor are untouched by the failure.
    const trainChunk = /\/assets\/TrainPanel-[^/]+\.js$/;
    await page.route(trainChunk, abort);
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const trainAlert = page.locator('#panel-train [role="alert"]', { hasText: 'The training panel could not be loaded' });
    await trainAlert.waitFor();
    await shot(page, 'lazy-train-failed');
    expect(await page.locator('.pb-crash').count()).toBe(0);
    expect(await nodeCount(page)).toBe(nodes);
    await page.unroute(trainChunk);
    await trainAlert.getByRole('button', { name: 'Try again' }).click();
    await startButton(page).waitFor();
    expect(await page.locator('#panel-train [role="alert"]').count()).toBe(0);
    await page.context().close();
  });

  test("the previews' code, fetched after the first paint, says in the pin bar when it fails, and loads on a second try", async () => {
    const refreshChunk = /\/assets\/preview-refresh-[^/]+\.js$/;
    const abort = (route: Route) => route.abort('internetdisconnected');
    const page = await openEditor(h, undefined, async (p) => {
      await p.route(refreshChunk, abort);
    });
    const bar = page.getByTestId('pin-bar');
    const alert = bar.locator('[role="alert"]', { hasText: 'The previews could not be loaded' });
    await alert.waitFor();
    // The editor itself works: a template opens with its shapes, and no node has a preview.
    await openTemplate(page, 'ConvMixer', 'mnist');
    expect(await nodeCount(page)).toBeGreaterThan(3);
    expect(await page.locator('.pb-node-shape', { hasText: '(None, ' }).count()).toBeGreaterThan(3);
    await alert.waitFor();
    await shot(page, 'lazy-previews-failed');
    expect(await page.locator('.pb-crash').count()).toBe(0);
    expect(await page.locator('[data-testid^="preview-"]').count()).toBe(0);
    await page.unroute(refreshChunk);
    await alert.getByRole('button', { name: 'Try again' }).click();
    await page.locator('canvas.pb-preview-canvas').first().waitFor({ timeout: 60_000 });
    expect(await bar.locator('[role="alert"]').count()).toBe(0);
    await bar.getByTestId('pin-label').filter({ hasNotText: 'Pinning an example' }).waitFor();
    await shot(page, 'lazy-previews-retried');
    await page.context().close();
  });
});
