/**
 * The diffusion samples grid in real headless Chromium: the ddpm template (mnist preset) trains a few
 * steps in the worker, the Train tab draws 16 samples from fixed noise, the slider steps through the
 * reverse process (the noise x_T looks different from the samples), Play runs it to the end, and a
 * new sampler redraws on request. The page's long tasks while the worker samples are measured and
 * printed (nothing asserted about time), with the share of the run the refreshes took. Run with:
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/diffusion-samples.e2e.test.ts
 * Screenshots land in .tmp/shots/diffusion-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, shot, startHarness, type Harness } from './harness';

const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;
const now = (page: Page) => page.evaluate(() => performance.now());
const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).count()) ? ((await page.getByTestId(testId).textContent()) ?? '') : '');

/** The grid canvas's pixels: how many distinct grey levels, how varied, and a fingerprint to compare frames by. */
const gridPixels = (page: Page) =>
  page.getByTestId('diffusion-grid').evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map<number, number>();
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) {
      counts.set(data[i]!, (counts.get(data[i]!) ?? 0) + 1);
      sum = (sum * 31 + data[i]!) % 1_000_000_007;
    }
    // The share of pixels off the commonest level: 0 for a constant picture.
    const varied = 1 - Math.max(...counts.values()) / (data.length / 4);
    return { levels: counts.size, varied, sum, width: c.width, height: c.height };
  });

describe.skipIf(!e2e)('Diffusion samples grid in Chromium', () => {
  beforeAll(async () => {
    h = await startHarness('.tmp/e2e-dist-diffusion-samples');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('train a few steps of ddpm, see the samples grid, step through the reverse process', async () => {
    // Which worker message each of the page's tasks handled: long tasks are put down to the message
    // whose handler began inside them (the Train tab renders from these handlers).
    const page = await openEditor(h, undefined, async (p) => {
      await p.addInitScript(() => {
        // [message type, when its handler began, ms until the handler and the render it queued (microtasks) were done]
        const handled: Array<[string, number, number]> = [];
        (window as unknown as { handled: typeof handled }).handled = handled;
        const own = Object.getOwnPropertyDescriptor(Worker.prototype, 'onmessage')!;
        Object.defineProperty(Worker.prototype, 'onmessage', {
          configurable: true,
          get() {
            return own.get!.call(this);
          },
          set(fn: ((e: MessageEvent) => unknown) | null) {
            own.set!.call(
              this,
              fn &&
                ((e: MessageEvent) => {
                  const began = performance.now();
                  const entry: [string, number, number] = [String((e.data as { type?: string })?.type), began, 0];
                  handled.push(entry);
                  try {
                    return fn.call(this, e);
                  } finally {
                    queueMicrotask(() => (entry[2] = performance.now() - began));
                  }
                }),
            );
          },
        });
      });
    });
    await openTemplate(page, 'DDPM', 'mnist');
    await page.getByRole('tab', { name: 'Train', exact: true }).click();
    const train = page.getByTestId('program-train');
    const panel = page.getByTestId('diffusion-samples');
    await panel.waitFor();
    expect(await text(page, 'diffusion-waiting')).toMatch(/^Start a run: 16 samples/);
    // The sampler is on show before the run, and a few steps keep the test quick.
    expect(await panel.getByLabel('Sampler').inputValue()).toBe('ancestral');
    await panel.getByLabel('Steps').fill('0');
    await panel.getByLabel('Steps').blur();
    await expect.poll(() => panel.getByRole('alert').textContent()).toMatch(/whole number from 1 to 1000/);
    await panel.getByLabel('Steps').fill('8');
    await panel.getByLabel('Steps').blur();
    // Whatever the preset's own setup: 96 digits, one epoch, batches of 32.
    await train.getByLabel('Epochs').fill('1');
    await train.getByLabel('Batch size').fill('32');
    await train.getByLabel('Limit training examples').fill('96');
    await train.getByLabel('Limit training examples').blur();
    await expect.poll(() => text(page, 'train-plan')).toMatch(/96 digits × 1 epoch = 3 steps of 32/);
    await shot(page, 'diffusion-00-before');

    // The page's long tasks from here on ([start, duration] in ms), and when each grid arrived.
    await page.evaluate(() => {
      const w = window as unknown as { longTasks: Array<[number, number]>; arrivals: number[] };
      w.longTasks = [];
      w.arrivals = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longTasks.push([e.startTime, e.duration]);
      }).observe({ type: 'longtask', buffered: false });
      new MutationObserver(() => w.arrivals.push(performance.now())).observe(document.querySelector('[data-testid="diffusion-samples"]')!, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
        attributeFilter: ['data-ms'],
      });
    });
    const runBegan = await now(page);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByTestId('diffusion-grid').waitFor({ timeout: 180_000 });
    await expect.poll(() => page.getByTestId('train-progress').getAttribute('data-status'), { timeout: 240_000 }).toBe('completed');
    // The last step's refresh: drawn with the moving-average weights of step 3.
    await expect.poll(() => text(page, 'diffusion-step'), { timeout: 60_000 }).toBe('step 3');
    const runEnded = await now(page);
    const meta = await text(page, 'diffusion-meta');
    expect(meta).toMatch(
      /^16 samples from seed 0, DDPM \(ancestral\) in 8 steps, with the moving-average weights of step 3; drawn in [\d.]+ s, [\d.]+% of the run's time so far\.$/,
    );
    expect(await text(page, 'diffusion-frame')).toBe('Samples · t = 0 · after 8 steps');

    const samples = await gridPixels(page);
    // A 4 × 4 grid of 28 × 28 images with 2-pixel gaps, not a constant picture.
    expect([samples.width, samples.height]).toEqual([118, 118]);
    // Its bottom at the window's: the run's progress box stays pinned over the top of the tab.
    await panel.evaluate((el) => el.scrollIntoView({ block: 'end' }));
    await shot(page, 'diffusion-01-samples');
    expect(samples.levels).toBeGreaterThan(2);
    expect(samples.varied).toBeGreaterThan(0.1);

    // The slider goes back to the noise x_T: another picture.
    const slider = page.getByTestId('diffusion-slider');
    expect(await slider.getAttribute('max')).toBe('8');
    await slider.fill('0');
    await expect.poll(() => text(page, 'diffusion-frame')).toBe('Noise x_T · t = 1000');
    const noise = await gridPixels(page);
    expect(noise.sum).not.toBe(samples.sum);
    expect(noise.levels).toBeGreaterThan(100);
    expect(noise.varied).toBeGreaterThan(0.5);
    await slider.fill('4');
    await expect.poll(() => text(page, 'diffusion-frame')).toMatch(/^x_t · t = \d+ · step 4 of 8$/);
    const middle = await gridPixels(page);
    expect(middle.sum).not.toBe(noise.sum);
    expect(middle.sum).not.toBe(samples.sum);
    await panel.evaluate((el) => el.scrollIntoView({ block: 'end' }));
    await shot(page, 'diffusion-02-reverse-process');

    // Play runs the process to the samples.
    const playBegan = await now(page);
    await page.getByTestId('diffusion-play').click();
    await expect.poll(() => text(page, 'diffusion-frame'), { timeout: 20_000 }).toBe('Samples · t = 0 · after 8 steps');
    expect((await gridPixels(page)).sum).toBe(samples.sum);
    const playEnded = await now(page);

    // Another sampler redraws on request from the trained networks, with the same fixed noise; then
    // Draw samples again. Only the worker samples meanwhile: the page receives and paints.
    const drawBegan = await now(page);
    await panel.getByLabel('Sampler').selectOption('ddim');
    await expect.poll(() => text(page, 'diffusion-meta'), { timeout: 60_000 }).toMatch(/^16 samples from seed 0, DDIM \(η = 0\) in 8 steps/);
    await page.getByTestId('diffusion-draw').click();
    await expect.poll(() => text(page, 'diffusion-draw'), { timeout: 60_000 }).toBe('Draw samples');
    const drawEnded = await now(page);
    await slider.fill('0');
    await expect.poll(() => text(page, 'diffusion-frame')).toBe('Noise x_T · t = 1000');
    expect((await gridPixels(page)).sum).toBe(noise.sum);

    const { longTasks, arrivals, handled } = await page.evaluate(() => {
      const w = window as unknown as { longTasks: Array<[number, number]>; arrivals: number[]; handled: Array<[string, number, number]> };
      return { longTasks: w.longTasks.slice(), arrivals: w.arrivals.slice(), handled: w.handled.slice() };
    });
    const cause = (start: number, duration: number) =>
      handled
        .filter(([, t]) => t >= start && t <= start + duration)
        .map(([type]) => type)
        .join('+') || 'no worker message';
    // The observer does see long tasks: a 120 ms busy loop on the page shows up.
    await page.evaluate(() =>
      setTimeout(() => {
        const end = performance.now() + 120;
        while (performance.now() < end);
      }, 0),
    );
    await expect.poll(() => page.evaluate(() => (window as unknown as { longTasks: unknown[] }).longTasks.length)).toBeGreaterThan(longTasks.length);
    const within = (from: number, to: number) => longTasks.filter(([start, duration]) => start + duration >= from && start <= to).map(([, d]) => d);
    const describe = (name: string, tasks: number[]) =>
      `${name}: ${tasks.length} long task${tasks.length === 1 ? '' : 's'}, max ${tasks.length ? Math.max(...tasks).toFixed(0) : 0} ms`;
    // Each long task of the run with its time from Start, beside the moments grids arrived (for telling them apart).
    const at = (t: number) => ((t - runBegan) / 1000).toFixed(1);
    console.log(
      [
        'diffusion samples, the page while the worker trains and samples (PerformanceObserver longtask):',
        `  ${describe('run (3 steps, grids at steps 1 and 3)', within(runBegan, runEnded))} [${longTasks
          .filter(([s]) => s <= runEnded)
          .map(([s, d]) => `${d.toFixed(0)} ms at ${at(s)} s (${cause(s, d)})`)
          .join(', ')}]; grids arrived at ${arrivals
          .filter((t) => t <= runEnded)
          .map(at)
          .join(', ')} s`,
        `  ${describe('playing the reverse process', within(playBegan, playEnded))}`,
        `  ${describe('two draws on request after the run', within(drawBegan, drawEnded))}`,
        `  handling a grid (message, render, paint): ${handled
          .filter(([type]) => type === 'diffusion-samples')
          .map(([, t, ms]) => `${ms.toFixed(0)} ms at ${at(t)} s`)
          .join(', ')}; the slowest other message: ${(() => {
          const [type, t, ms] = handled.filter(([type]) => type !== 'diffusion-samples').sort((a, b) => b[2] - a[2])[0] ?? ['none', runBegan, 0];
          return `${type} ${ms.toFixed(0)} ms at ${at(t)} s`;
        })()}`,
        // A step report only appends to the curves: its time says how much the busy worker slows the page's thread.
        `  handling step reports during the run (for comparison): ${handled
          .filter(([type]) => type === 'program-step')
          .map(([, , ms]) => `${ms.toFixed(0)} ms`)
          .join(', ')}`,
        `  long tasks that handled a grid from the worker: ${longTasks.filter(([s, d]) => cause(s, d).includes('diffusion-samples')).length} of ${handled.filter(([type]) => type === 'diffusion-samples').length} grids`,
        `  last live refresh ${meta.match(/drawn in ([\d.]+ s)/)?.[1]}, ${meta.match(/([\d.]+)% of the run/)?.[1]}% of the run's time so far`,
      ].join('\n'),
    );
  }, 400_000);
});
