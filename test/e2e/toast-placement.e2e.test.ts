/**
 * Where notes land on the canvas, in real headless Chromium: the "Opened <template>" note must not
 * cover what a person uses right after opening: the toolbar, the graph tabs and the pin bar at the top
 * of the canvas (where the note used to sit), the zoom controls and the minimap at its bottom corners.
 * Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/toast-placement.e2e.test.ts
 * Screenshots land in .tmp/shots/toast-placement-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { LARGE, SMALL, openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

beforeAll(async () => {
  if (e2e) h = await startHarness('.tmp/e2e-toast-placement');
});
afterAll(async () => {
  await h?.close();
});

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** The boxes of everything the note must leave uncovered, by name (those on screen). */
async function boxesToKeepClear(page: Page): Promise<Record<string, Box>> {
  const out: Record<string, Box> = {};
  for (const [name, selector] of Object.entries({
    toolbar: '.pb-toolbar',
    tabs: '.pb-graph-tabs',
    'pin bar': '[data-testid="pin-bar"]',
    controls: '.react-flow__controls',
    minimap: '.react-flow__minimap',
  })) {
    for (const [i, el] of (await page.locator(selector).all()).entries()) {
      const box = await el.boundingBox();
      if (box && box.width > 0 && box.height > 0) out[`${name}${i ? ` ${i + 1}` : ''}`] = box;
    }
  }
  return out;
}

describe.skipIf(!e2e)('toast placement', () => {
  test.each([
    ['DDPM', 'mnist', SMALL],
    ['SimSiam', 'mnist', LARGE],
  ] as const)('the "Opened %s" note covers neither tabs, pin bar, toolbar, controls nor minimap', async (title, preset, viewport) => {
    const page = await openEditor(h, viewport);
    await openTemplate(page, title, preset);
    // Measured at once: an info note closes itself after a few seconds.
    const note = page.locator('.pb-toast').filter({ hasText: /^Opened / });
    const box = (await note.boundingBox())!;
    expect(box).not.toBeNull();
    const clear = await boxesToKeepClear(page);
    expect(Object.keys(clear)).toEqual(expect.arrayContaining(['toolbar', 'tabs', 'pin bar', 'controls', 'minimap']));
    for (const [name, other] of Object.entries(clear)) expect(overlaps(box, other), `the note covers the ${name}`).toBe(false);
    await shot(page, `toast-placement-${title.toLowerCase()}`);
    await page.context().close();
  });
});
