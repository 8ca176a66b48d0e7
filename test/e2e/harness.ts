/**
 * The browser harness shared by end-to-end tests and browser benchmarks: a production build of the
 * editor served by `vite preview`, and Debian's /usr/bin/chromium driven by playwright-core.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { saveDocument } from '../../src/document/load';
import type { GraphDocument } from '../../src/document/schema';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = join(ROOT, '.tmp/shots');
export const SMALL = { width: 1280, height: 800 };
export const LARGE = { width: 1920, height: 1080 };

export interface Harness {
  browser: Browser;
  server: PreviewServer;
  url: string;
  close: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

/**
 * Builds the app into `outDir` (under .tmp), serves it and launches Chromium. `buildOptions` go to
 * vite's build (a profiling benchmark builds without minifying, so that profiles keep names).
 */
export async function startHarness(outDir: string, extraArgs: string[] = [], buildOptions: { minify?: boolean } = {}): Promise<Harness> {
  mkdirSync(SHOTS, { recursive: true });
  const out = join(ROOT, outDir);
  await build({ root: ROOT, logLevel: 'warn', build: { outDir: out, emptyOutDir: true, ...buildOptions } });
  const port = await freePort();
  const server = await preview({ root: ROOT, logLevel: 'warn', build: { outDir: out }, preview: { port, host: '127.0.0.1', strictPort: true } });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
  return {
    browser,
    server,
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

export async function openEditor(h: Harness, viewport = SMALL, init?: (page: Page) => Promise<void>): Promise<Page> {
  const context = await h.browser.newContext({ viewport, acceptDownloads: true, colorScheme: 'light' });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await init?.(page);
  await page.goto(h.url);
  await page.waitForSelector('body[data-ready="true"] .react-flow');
  return page;
}

/** Screenshots at both sizes; the page comes back at the size it had. */
export async function shot(page: Page, name: string) {
  const size = page.viewportSize() ?? SMALL;
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}-${size.width}x${size.height}.png`) });
  const other = size.width === SMALL.width ? LARGE : SMALL;
  await page.setViewportSize(other);
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(SHOTS, `${name}-${other.width}x${other.height}.png`) });
  await page.setViewportSize(size);
  await page.waitForTimeout(100);
}

export async function openTemplate(page: Page, title: string, preset: string) {
  await page.getByRole('button', { name: 'Templates', exact: true }).click();
  await page
    .getByRole('dialog', { name: 'Templates' })
    .getByRole('button', { name: `Open ${title} ${preset}` })
    .click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  await page.waitForTimeout(450); // the view fits itself to the new graph (animated)
}

/** Opens a document through the file input (a person's Open) and waits for its first node on the canvas. */
export async function openDocument(page: Page, doc: GraphDocument, name = 'graph.json'): Promise<void> {
  await page.getByLabel('Open a graph file').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(saveDocument(doc)) });
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length > 0, undefined, { timeout: 120_000 });
}

/** The viewport's transform as React Flow wrote it on the page. */
export const viewportTransform = (page: Page) => page.evaluate(() => (document.querySelector('.react-flow__viewport') as HTMLElement).style.transform);

/** The canvas's zoom, read from the viewport's transform. */
export const zoomOf = async (page: Page) => Number(/scale\(([\d.]+)\)/.exec(await viewportTransform(page))?.[1] ?? NaN);

/** Waits until the view and the number of rendered nodes stop changing (fits are animated; nodes mount as they come into view). */
export async function settleView(page: Page, { everyMs = 400, tries = 40 } = {}): Promise<void> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    await page.waitForTimeout(everyMs);
    const now = `${await viewportTransform(page)} ${await page.locator('.react-flow__node').count()}`;
    if (now === last) return;
    last = now;
  }
}

/**
 * Closes every toast (the "Opened …" note may cover a node or the pin bar), one at a time: a toast
 * can time out on its own between being found and being clicked, and a click on a vanished button
 * waits 30 s and fails the test (seen under load).
 */
export async function dismissToasts(page: Page, { tries = 20 } = {}): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const close = page.locator('.pb-toast').getByRole('button', { name: 'Dismiss' }).first();
    if (!(await close.count())) return;
    await close.click({ timeout: 1000 }).catch(() => undefined);
  }
  throw new Error(`Toasts were still open after ${tries} tries to dismiss them.`);
}
