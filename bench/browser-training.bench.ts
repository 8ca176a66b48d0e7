/**
 * Browser training benchmark: builds and serves the app, opens it in headless Chromium, loads the
 * ConvMixer template (mnist preset), trains it in the Train tab on the full MNIST training split
 * (8,000 digits) and reports the backend, ms/step, epochs, final test accuracy, and the main
 * thread's long tasks (> 50 ms, from a PerformanceObserver('longtask') injected before the page
 * loads) during training. Run with:
 *   npx tsx bench/browser-training.bench.ts
 * Environment: EPOCHS (4, as the template), LR (0.003), SCHEDULE (onecycle), OPTIMIZER (adam), BATCH (32), BACKEND (auto), LIMIT (none).
 * Takes several minutes on 2 cores (about 250 ms/step on wasm).
 */
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, startHarness } from '../test/e2e/harness';

const EPOCHS = Number(process.env.EPOCHS ?? 4);
const LR = process.env.LR ?? '0.003';
const SCHEDULE = process.env.SCHEDULE ?? 'onecycle';
const OPTIMIZER = process.env.OPTIMIZER ?? 'adam';
const BATCH = Number(process.env.BATCH ?? 32);
const BACKEND = process.env.BACKEND ?? 'auto';
const LIMIT = process.env.LIMIT;

interface RunView {
  status: string;
  backend: { name: string; reason: string } | null;
  last: { step: number; totalSteps: number; epoch: number; loss: number } | null;
  epochs: { epoch: number; test: { accuracy: number } }[];
  final: { test: { accuracy: number } } | null;
  seconds: number;
  stepsPerSecond: number;
  message?: string;
}

const runView = (page: Page) => page.evaluate(() => {
  const s = (window as unknown as { patchbayTraining: { getState(): { run: unknown } } }).patchbayTraining.getState();
  return JSON.parse(JSON.stringify(s.run, (k, v) => (k === 'plan' || k === 'planJson' || k === 'curves' ? undefined : v))) as RunView | null;
});

async function main() {
  const started = Date.now();
  const h = await startHarness('.tmp/bench-dist');
  try {
    const page = await openEditor(h, { width: 1280, height: 800 }, async (p) => {
      await p.addInitScript(() => {
        const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
        w.__longTasks = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
        }).observe({ type: 'longtask', buffered: true });
      });
    });
    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();
    const form = page.locator('.pb-train');
    await form.getByLabel('Optimizer').selectOption(OPTIMIZER);
    await form.getByLabel('Schedule').selectOption(SCHEDULE);
    await form.getByLabel('Learning rate').fill(LR);
    await form.getByLabel('Batch size').fill(String(BATCH));
    await form.getByLabel('Epochs').fill(String(EPOCHS));
    await form.getByLabel('Limit training examples').fill(LIMIT ?? '');
    await form.getByLabel('Backend').selectOption(BACKEND);
    await page.waitForTimeout(300);
    const t0 = await page.evaluate(() => performance.now());
    await page.getByRole('button', { name: /^Start/ }).click();
    let lastPrint = 0;
    let view: RunView | null = null;
    for (;;) {
      await page.waitForTimeout(2000);
      view = await runView(page);
      if (!view) continue;
      if (!['starting', 'running', 'paused', 'stopping'].includes(view.status)) break;
      if (Date.now() - lastPrint > 30_000 && view.last) {
        lastPrint = Date.now();
        const acc = view.epochs.length ? ` test acc after epoch ${view.epochs.length}: ${(view.epochs[view.epochs.length - 1]!.test.accuracy * 100).toFixed(2)}%` : '';
        console.error(`  step ${view.last.step}/${view.last.totalSteps}, loss ${view.last.loss.toFixed(4)}${acc}`);
      }
    }
    const t1 = await page.evaluate(() => performance.now());
    const tasks = await page.evaluate(([a, b]) => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.filter((t) => t.start >= a! && t.start <= b!), [t0, t1]);
    const steps = view!.last?.step ?? 0;
    const lines = [
      `Patchbay browser training benchmark (headless Chromium, ConvMixer mnist preset, full MNIST training split unless LIMIT)`,
      `setup:                  ${OPTIMIZER} lr ${LR} ${SCHEDULE}, batch ${BATCH}, ${EPOCHS} epochs${LIMIT ? `, limit ${LIMIT}` : ''}`,
      `status:                 ${view!.status}${view!.message ? ` (${view!.message})` : ''}`,
      `backend:                ${view!.backend?.name ?? '?'} (${view!.backend?.reason ?? ''})`,
      `steps:                  ${steps}`,
      `ms/step:                ${view!.stepsPerSecond ? (1000 / view!.stepsPerSecond).toFixed(1) : '?'} (mean over the run, including per-epoch evaluation)`,
      `training wall time:     ${view!.seconds.toFixed(1)} s`,
      `epochs:                 ${view!.epochs.length}`,
      `test accuracy by epoch: ${view!.epochs.map((e) => `${(e.test.accuracy * 100).toFixed(2)}%`).join(', ')}`,
      `final test accuracy:    ${view!.final ? `${(view!.final.test.accuracy * 100).toFixed(2)}%` : '–'} (2,000 held-out digits)`,
      `main-thread tasks >50ms during training: ${tasks.length}, max ${tasks.length ? Math.max(...tasks.map((t) => t.duration)).toFixed(0) : 0} ms (over ${((t1 - t0) / 1000).toFixed(0)} s)${tasks.length ? `; at ${tasks.map((t) => `+${((t.start - t0) / 1000).toFixed(1)} s (${t.duration.toFixed(0)} ms)`).join(', ')} after pressing Start` : ''}`,
      `benchmark wall time:    ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
