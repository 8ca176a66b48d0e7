/**
 * Hostile and huge inputs in the browser: builds and serves the app, opens it in headless Chromium
 * and, for each file, reports how long until the page showed the result, the longest main-thread
 * task and the total of long tasks (> 50 ms, from a PerformanceObserver('longtask') injected
 * before the page loads), and the peak extra memory of Chromium's processes (resident set, summed
 * over every process Chromium started, sampled every 50 ms from outside the page).
 *   - a 20,000-node graph (Open), a document nested 100,000 levels deep (Open);
 *   - a 50 MB CSV (Train tab, "Your CSV");
 *   - zip bombs (Train tab, "Your images"): 1 GB of zeros as a file that is not an image next to
 *     two real images (about 1 MB zipped), and an "image" that declares 1,000 bytes and inflates
 *     to 1 GB.
 * Run with:  npx tsx bench/hostile-inputs.bench.ts      (ONLY=doc,deep,csv,bomb,liar to pick)
 * Takes one to two minutes on 2 cores. The files are generated into a temporary folder, removed after.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openEditor, startHarness } from '../test/e2e/harness';
import { bigCsv, craftZip, deeplyNestedDocument, hugeChainDocument, tinyPng } from '../test/helpers/hostile-files';

const ONLY = process.env.ONLY?.split(',');
const DIR = mkdtempSync(join(tmpdir(), 'patchbay-hostile-'));
/** Playwright refuses in-memory files over 50 MB, so every file goes through the disk. */
function file(name: string, content: string | Uint8Array): string {
  const path = join(DIR, name);
  writeFileSync(path, content);
  return path;
}
const GiB = 1024 ** 3;

/** Resident memory (bytes) of every process descending from this one: Chromium's browser, renderers, GPU… */
function descendantsRss(): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      rss.set(Number(name), Number(fields[21]) * 4096);
    } catch {
      // The process ended while we looked.
    }
  }
  let total = 0;
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        total += rss.get(pid) ?? 0;
        break;
      }
    }
  }
  return total;
}

interface Measure {
  name: string;
  seconds: number;
  longestTaskMs: number;
  longTasksMs: number;
  longTasks: number;
  peakExtraMb: number;
  outcome: string;
}

async function measure(page: Page, name: string, act: () => Promise<void>, done: () => Promise<string>): Promise<Measure> {
  const m = await measureOnce(page, name, act, done);
  console.log(`  ${name}: ${m.seconds.toFixed(2)} s, longest task ${m.longestTaskMs.toFixed(0)} ms, peak +${m.peakExtraMb.toFixed(0)} MB: ${m.outcome}`);
  return m;
}

async function measureOnce(page: Page, name: string, act: () => Promise<void>, done: () => Promise<string>): Promise<Measure> {
  await page.evaluate(() => {
    (window as unknown as { __longtasks: number[] }).__longtasks = [];
  });
  const base = descendantsRss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, descendantsRss());
  }, 50);
  const started = performance.now();
  await act();
  const outcome = await done();
  const seconds = (performance.now() - started) / 1000;
  await page.waitForTimeout(300); // let a long task that is still running report itself
  clearInterval(timer);
  const tasks = await page.evaluate(() => (window as unknown as { __longtasks: number[] }).__longtasks);
  return {
    name,
    seconds,
    longestTaskMs: Math.max(0, ...tasks),
    longTasksMs: tasks.reduce((a, b) => a + b, 0),
    longTasks: tasks.length,
    peakExtraMb: (peak - base) / 1024 ** 2,
    outcome: outcome.replace(/\s+/g, ' ').slice(0, 160),
  };
}

/** Waits until `read` gives a non-empty answer (polling from Node, so a frozen page just delays it). */
async function until(read: () => Promise<string | null>, timeoutMs = 120_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const value = await read().catch(() => null);
    if (value) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  return 'timed out';
}

const toastText = (page: Page) =>
  page
    .locator('.pb-toast-error')
    .last()
    .textContent({ timeout: 100 })
    .catch(() => null);
const userData = (page: Page) =>
  page.evaluate(() => {
    const el = document.querySelector('[data-testid="user-data"]');
    const status = el?.getAttribute('data-status');
    if (status !== 'ready' && status !== 'error') return null;
    return `${status}: ${document.querySelector('[data-testid="data-error"]')?.textContent ?? document.querySelector('[data-testid="data-summary"]')?.textContent ?? ''}`;
  });

async function main() {
  const h = await startHarness('.tmp/bench-hostile');
  const results: Measure[] = [];
  const want = (k: string) => !ONLY || ONLY.includes(k);
  try {
    const page = await openEditor(h, undefined, async (p) => {
      await p.addInitScript(() => {
        const w = window as unknown as { __longtasks: number[] };
        w.__longtasks = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.__longtasks.push(e.duration);
        }).observe({ type: 'longtask', buffered: true });
      });
    });
    page.on('pageerror', (err) => console.log('  uncaught in the page:', err.message.slice(0, 200)));
    const input = page.getByLabel('Open a graph file');
    if (want('deep')) {
      const text = deeplyNestedDocument(100_000);
      results.push(
        await measure(
          page,
          'document nested 100,000 deep',
          () => input.setInputFiles(file('deep.json', text)),
          () => until(async () => (await toastText(page)) ?? null, 20_000),
        ),
      );
    }
    if (want('doc')) {
      const text = JSON.stringify(hugeChainDocument(20_000));
      console.log(`20,000-node document: ${(text.length / 1024 ** 2).toFixed(1)} MB`);
      results.push(
        await measure(
          page,
          '20,000-node document',
          () => input.setInputFiles(file('huge.json', text)),
          () =>
            until(
              async () =>
                (
                  await page
                    .locator('.pb-status')
                    .textContent({ timeout: 100 })
                    .catch(() => '')
                )?.includes('20000 nodes')
                  ? 'opened'
                  : null,
              180_000,
            ),
        ),
      );
      // Back to a small graph so that the Train tab measurements do not carry the big one.
      await page.getByRole('button', { name: 'New', exact: true }).click();
      await page.waitForTimeout(2000);
    }
    await page.getByRole('tab', { name: 'Train' }).click();
    const dataset = page.getByLabel('Dataset', { exact: true });
    if (want('csv')) {
      await dataset.selectOption('csv');
      const csv = file('big.csv', bigCsv(50 * 1024 ** 2));
      results.push(
        await measure(
          page,
          '50 MB CSV',
          () => page.getByLabel('Your CSV file').setInputFiles(csv),
          () => until(() => userData(page)),
        ),
      );
    }
    if (want('bomb') || want('liar')) await dataset.selectOption('images');
    if (want('bomb')) {
      const zip = Buffer.from(
        craftZip([
          { name: 'pets/cats/1.png', data: tinyPng(6, 5, [200, 30, 30]) },
          { name: 'pets/dogs/1.png', data: tinyPng(5, 5, [30, 30, 200]) },
          { name: 'pets/weights.bin', zeros: GiB },
        ]),
      );
      console.log(`bomb: ${(zip.length / 1024 ** 2).toFixed(2)} MB zipped, 1 GB inflated`);
      results.push(
        await measure(
          page,
          'zip: 1 GB non-image + 2 images',
          () => page.getByLabel('Your .zip of images').setInputFiles(file('bomb.zip', zip)),
          () => until(() => userData(page)),
        ),
      );
    }
    if (want('liar')) {
      const zip = Buffer.from(
        craftZip([
          { name: 'pets/cats/1.png', zeros: GiB, declaredSize: 1000 },
          { name: 'pets/dogs/1.png', data: tinyPng(5, 5, [30, 30, 200]) },
        ]),
      );
      results.push(
        await measure(
          page,
          'zip: "image" declaring 1 KB, inflating to 1 GB',
          () => page.getByLabel('Your .zip of images').setInputFiles(file('liar.zip', zip)),
          () => until(() => userData(page)),
        ),
      );
    }
  } finally {
    await h.close();
    rmSync(DIR, { recursive: true, force: true });
  }
  console.log('\ncase | time to result (s) | longest main-thread task (ms) | long tasks (count, total ms) | peak extra memory (MB) | outcome');
  for (const r of results) {
    console.log(
      `${r.name} | ${r.seconds.toFixed(2)} | ${r.longestTaskMs.toFixed(0)} | ${r.longTasks}, ${r.longTasksMs.toFixed(0)} | ${r.peakExtraMb.toFixed(0)} | ${r.outcome}`,
    );
  }
}

await main();
