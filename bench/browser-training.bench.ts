/**
 * Browser training benchmark: builds and serves the app, opens it in headless Chromium, loads a
 * template (ConvMixer, or MLP-Mixer with TEMPLATE=MLP-Mixer; mnist preset), trains it in the Train
 * tab on the full MNIST training split (8,000 digits) and reports the backend, ms/step, epochs, final
 * test accuracy, and the main thread's long tasks (> 50 ms, from a PerformanceObserver('longtask')
 * injected before the page loads) during training. Run with:
 *   npx tsx bench/browser-training.bench.ts
 *   TEMPLATE=MLP-Mixer npx tsx bench/browser-training.bench.ts
 * The template's own training setup is used; each of these environment variables, when set,
 * overrides its field in the form: EPOCHS, LR, SCHEDULE, OPTIMIZER, BATCH, BACKEND (auto), LIMIT (none).
 * Takes several minutes on 2 cores (ConvMixer about 250 ms/step on wasm).
 */
import type { Page } from 'playwright-core';
import { openEditor, openTemplate, startHarness } from '../test/e2e/harness';

const TEMPLATE = process.env.TEMPLATE ?? 'ConvMixer';
const { EPOCHS, LR, SCHEDULE, OPTIMIZER, BATCH, LIMIT } = process.env;
const BACKEND = process.env.BACKEND ?? 'auto';

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

const runView = (page: Page) =>
  page.evaluate(() => {
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
    await openTemplate(page, TEMPLATE, 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();
    const form = page.locator('.pb-train');
    if (OPTIMIZER) await form.getByLabel('Optimizer').selectOption(OPTIMIZER);
    if (SCHEDULE) await form.getByLabel('Schedule').selectOption(SCHEDULE);
    if (LR) await form.getByLabel('Learning rate').fill(LR);
    if (BATCH) await form.getByLabel('Batch size').fill(BATCH);
    if (EPOCHS) await form.getByLabel('Epochs').fill(EPOCHS);
    await form.getByLabel('Limit training examples').fill(LIMIT ?? '');
    const setup = {
      optimizer: await form.getByLabel('Optimizer').inputValue(),
      schedule: await form.getByLabel('Schedule').inputValue(),
      lr: await form.getByLabel('Learning rate').inputValue(),
      batch: await form.getByLabel('Batch size').inputValue(),
      epochs: await form.getByLabel('Epochs').inputValue(),
    };
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
        const acc = view.epochs.length
          ? ` test acc after epoch ${view.epochs.length}: ${(view.epochs[view.epochs.length - 1]!.test.accuracy * 100).toFixed(2)}%`
          : '';
        console.error(`  step ${view.last.step}/${view.last.totalSteps}, loss ${view.last.loss.toFixed(4)}${acc}`);
      }
    }
    const t1 = await page.evaluate(() => performance.now());
    const tasks = await page.evaluate(
      ([a, b]) => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.filter((t) => t.start >= a! && t.start <= b!),
      [t0, t1],
    );
    const steps = view!.last?.step ?? 0;
    const lines = [
      `Patchbay browser training benchmark (headless Chromium, ${TEMPLATE} mnist preset, full MNIST training split unless LIMIT)`,
      `setup (the form's):     ${setup.optimizer} lr ${setup.lr} ${setup.schedule}, batch ${setup.batch}, ${setup.epochs} epochs${LIMIT ? `, limit ${LIMIT}` : ''}`,
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
