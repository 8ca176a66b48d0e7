/**
 * The threaded wasm backend in headless Chromium, from the minified production build (where the
 * stock tfjs start-up hung): served with the COOP/COEP headers (vite.config.ts) the page is
 * cross-origin isolated, the worker starts wasm on one thread per core and trains; with the
 * headers stripped from the page, it trains on one thread and the backend line says why. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/wasm-threads.e2e.test.ts
 * Screenshots: .tmp/shots/wasm-threads-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

/** Opens the Training setup section (folded while a run goes) and brings the backend line into view. */
async function showBackendLine(page: Page): Promise<void> {
  const setup = page.locator('details.pb-setup:not(.pb-sweep)');
  if ((await setup.getAttribute('open')) === null) await setup.locator('summary').click();
  await page.getByTestId('train-backend').scrollIntoViewIfNeeded();
}

const stepOf = async (page: Page) => Number((await page.getByTestId('train-step').textContent())?.match(/Step (\d+)/)?.[1] ?? 0);

/** A few steps of ConvMixer on 64 digits; returns the backend line once a step has run. */
async function trainFewSteps(page: Page): Promise<string> {
  await openTemplate(page, 'ConvMixer', 'mnist');
  await page.getByRole('tab', { name: 'Train' }).click();
  const panel = page.locator('.pb-train');
  await expect.poll(() => page.getByTestId('train-backend').textContent(), { timeout: 30_000 }).toMatch(/Available here: .*wasm/);
  await panel.getByLabel('Backend').selectOption('wasm');
  await panel.getByLabel('Epochs').fill('1');
  await panel.getByLabel('Batch size').fill('16');
  await panel.getByLabel('Limit training examples').fill('64');
  await panel.getByLabel('Epochs').blur();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect.poll(() => stepOf(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(2);
  return (await page.getByTestId('train-backend').textContent()) ?? '';
}

describe.skipIf(!e2e)('threaded wasm in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-wasm-threads');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('isolated: the worker trains on wasm with one thread per core', async () => {
    const page = await openEditor(h);
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const line = await trainFewSteps(page);
    const expected = Math.min(cores, 8);
    // On a one-core machine the threaded build would honestly report one thread.
    expect(line).toMatch(expected > 1 ? new RegExp(`Active: WASM, ${expected} threads, SIMD kernels; chosen by you`) : /Active: WASM, one thread/);
    // Patchbay's SIMD module attached to the threaded build's shared memory (the line says 'no SIMD kernels (why)' where not).
    expect(line).toMatch(/, SIMD kernels; /);
    await showBackendLine(page);
    await shot(page, 'wasm-threads-isolated');
    expect(errors.filter((e) => /is not defined|pthread|wasm/i.test(e))).toEqual([]);
    await page.context().close();
  });

  test('not isolated: one thread, and the backend line says why', async () => {
    const page = await openEditor(h, undefined, async (p) => {
      // The page without its COOP/COEP headers, as a host that does not send them would serve it.
      await p.route('**/*', async (route) => {
        if (route.request().resourceType() !== 'document') return route.continue();
        const response = await route.fetch();
        const headers = { ...response.headers() };
        delete headers['cross-origin-opener-policy'];
        delete headers['cross-origin-embedder-policy'];
        await route.fulfill({ response, headers });
      });
    });
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    const line = await trainFewSteps(page);
    expect(line).toMatch(/Active: WASM, one thread: the page is not cross-origin isolated/);
    // The plain SIMD build's memory: Patchbay's SIMD module attached there too.
    expect(line).toMatch(/, SIMD kernels; /);
    await showBackendLine(page);
    await shot(page, 'wasm-threads-not-isolated');
    await page.context().close();
  });
});
