/**
 * Browser sweep benchmark: builds and serves the app, opens the ConvMixer template (mnist preset) in
 * headless Chromium and runs a sweep from the Train tab (default: stem.dim = 32, 64), the variants one
 * after another in the worker. Reports the sweep's wall time from the click, each variant's run time,
 * ms/step, test accuracy and MACs, and the time between variants (the end of one run to the start of
 * the next: saving the run, compiling the next variant, building its model in the worker). Run with:
 *   npx tsx bench/browser-sweep.bench.ts
 * Environment: PARAM (stem.dim), VALUES ("32, 64"), EPOCHS (1), LIMIT (2000 digits; "" for all 8,000),
 * BATCH (the template's). About a minute on 2 cores with the defaults.
 */
import { openEditor, openTemplate, startHarness } from '../test/e2e/harness';

const PARAM = process.env.PARAM ?? 'stem.dim';
const VALUES = process.env.VALUES ?? '32, 64';
const EPOCHS = process.env.EPOCHS ?? '1';
const LIMIT = process.env.LIMIT ?? '2000';
const { BATCH } = process.env;

interface RunFigures {
  values?: Record<string, unknown>;
  date: string;
  seconds: number;
  stepsPerSecond: number;
  steps: number;
  testAccuracy: number | null;
  macs?: number;
  status: string;
}

async function main() {
  const h = await startHarness('.tmp/bench-dist-sweep');
  try {
    const page = await openEditor(h);
    await openTemplate(page, 'ConvMixer', 'mnist');
    await page.getByRole('tab', { name: 'Train' }).click();
    const form = page.locator('.pb-train');
    await form.getByLabel('Epochs').fill(EPOCHS);
    if (BATCH) await form.getByLabel('Batch size').fill(BATCH);
    await form.getByLabel('Limit training examples').fill(LIMIT);
    await form.getByLabel('Epochs').blur();
    await page.getByTestId('sweep').locator('summary').click();
    await page.getByLabel('Param to sweep 1').selectOption(PARAM);
    await page.getByLabel(`Values of ${PARAM}`).fill(VALUES);
    const button = page.getByRole('button', { name: /^Run sweep \(\d+ variants?\)$/ });
    await button.waitFor();
    console.log(
      `ConvMixer mnist, sweep ${PARAM} = ${VALUES}; ${EPOCHS} epoch(s) of ${LIMIT || 'all 8,000'} digits; ${await page.getByTestId('train-plan').textContent()}`,
    );
    const started = Date.now();
    await button.click();
    await page.waitForFunction(
      () => {
        const s = document.querySelector('[data-testid="sweep-progress"]')?.getAttribute('data-status');
        return s === 'finished' || s === 'stopped';
      },
      undefined,
      { timeout: 60 * 60_000, polling: 500 },
    );
    const wall = (Date.now() - started) / 1000;
    const runs = await page.evaluate(() =>
      (
        window as unknown as {
          patchbayTraining: {
            getState(): {
              runs: {
                sweep?: { values: Record<string, unknown> };
                date: string;
                seconds: number;
                stepsPerSecond: number;
                curves: { loss: number[] };
                final: { test: { accuracy: number } } | null;
                cost?: { macs: number };
                status: string;
              }[];
            };
          };
        }
      ).patchbayTraining
        .getState()
        .runs.map((r): RunFigures => ({
          values: r.sweep?.values,
          date: r.date,
          seconds: r.seconds,
          stepsPerSecond: r.stepsPerSecond,
          steps: r.curves.loss.length,
          testAccuracy: r.final?.test.accuracy ?? null,
          macs: r.cost?.macs,
          status: r.status,
        })),
    );
    runs.sort((a, b) => (a.date < b.date ? -1 : 1));
    for (const r of runs)
      console.log(
        `  ${JSON.stringify(r.values)}: ${r.status}, ${r.steps} steps in ${r.seconds.toFixed(1)} s (${(1000 / r.stepsPerSecond).toFixed(0)} ms/step as the run measured it), test accuracy ${r.testAccuracy === null ? '–' : `${(r.testAccuracy * 100).toFixed(2)}%`}, ${((r.macs ?? 0) / 1e6).toFixed(2)} M MACs`,
      );
    const gaps = runs.slice(1).map((r, i) => (Date.parse(r.date) - (Date.parse(runs[i]!.date) + runs[i]!.seconds * 1000)) / 1000);
    const inRuns = runs.reduce((s, r) => s + r.seconds, 0);
    console.log(
      `sweep wall time ${wall.toFixed(1)} s from the click; ${inRuns.toFixed(1)} s inside the runs (each from its start to its saved result, data and model build included); between variants ${gaps.map((g) => `${g.toFixed(2)} s`).join(', ')}`,
    );
  } finally {
    await h.close();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
