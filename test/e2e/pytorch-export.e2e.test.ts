/**
 * "Export PyTorch" in the code panel downloads a zip with what `pytorchFiles` writes (model.py,
 * weights.py, train.py, README.md) and the tfjs-topology.json the training worker builds, and the
 * Python parses. Opening a model.json imports it as a graph; picked with its weights.bin (or as one
 * .zip), the weights become an "Imported weights" run scored on MNIST, and the playground uses them.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { analyze, lower } from '../../src/compiler/index';
import { pytorchFiles } from '../../src/compiler/emit-pytorch';
import { templateDocument } from '../../templates/index';
import { openEditor, openTemplate, ROOT, shot, startHarness, type Harness } from './harness';

const WORK = join(ROOT, '.tmp/e2e-pytorch-work');
const e2e = !!process.env.PATCHBAY_E2E;
let h: Harness;

describe.skipIf(!e2e)('Export PyTorch in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(WORK, { recursive: true });
    h = await startHarness('.tmp/e2e-pytorch-dist');
  });
  afterAll(async () => {
    await h?.close();
  });

  test('the button downloads the export of the graph on show as a zip', async () => {
    const page = await openEditor(h);
    await openTemplate(page, 'MLP-Mixer', 'mnist');
    await page.getByRole('tab', { name: 'Code' }).click();
    const button = page.getByRole('button', { name: 'Export PyTorch' });
    await button.waitFor();
    await shot(page, 'pytorch-export-button');
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect(download.suggestedFilename()).toBe('MLP-Mixer-mnist-pytorch.zip');
    const file = join(WORK, 'mixer.zip');
    await download.saveAs(file);
    const files = Object.fromEntries(Object.entries(unzipSync(new Uint8Array(readFileSync(file)))).map(([name, bytes]) => [name, strFromU8(bytes)]));

    const result = templateDocument('mlp-mixer', 'mnist');
    if ('error' in result) throw new Error(result.error);
    const { plan } = lower(analyze(result.doc));
    const expected = pytorchFiles({ plan: plan!, training: result.doc.training }).files;
    expect(Object.keys(files).sort()).toEqual(['README.md', 'model.py', 'tfjs-topology.json', 'train.py', 'weights.py']);
    for (const name of ['model.py', 'weights.py', 'train.py', 'README.md']) expect(files[name]).toBe(expected[name]);
    // The topology the worker built is the one the command line writes (tfjs in Node).
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await import('../../src/runtime/custom-layers');
    const { tfjsTopologyOf } = await import('../../src/runtime/tfjs-topology');
    expect(JSON.parse(files['tfjs-topology.json']!)).toEqual(tfjsTopologyOf(plan!));
    expect(files['model.py']).toContain('nn.ModuleList([MixerBlock() for _ in range(4)])');

    // The Python parses (when there is a Python to ask).
    const python = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import ast, sys\nfor p in sys.argv[1:]: ast.parse(open(p).read(), p)', ...['model.py', 'weights.py', 'train.py'].map((n) => join(WORK, n))],
      {
        encoding: 'utf8',
        input: (() => {
          for (const n of ['model.py', 'weights.py', 'train.py']) writeFileSync(join(WORK, n), files[n]!);
          return '';
        })(),
      },
    );
    if (!python.error) expect(python.status, python.stderr).toBe(0);
    await page.context().close();
  });

  test('opening a Keras model.json imports it as a graph; one with a layer Patchbay lacks names it and keeps the graph', async () => {
    const page = await openEditor(h);
    const layer = (className: string, name: string, config: object, from: string | null) => ({
      class_name: className,
      name,
      config: { name, ...config },
      inbound_nodes: from ? [[[from, 0, 0, {}]]] : [],
    });
    const model = (extra: object[]) => ({
      class_name: 'Functional',
      config: {
        name: 'tiny_mlp',
        layers: [
          layer('InputLayer', 'features', { batch_input_shape: [null, 4], dtype: 'float32' }, null),
          layer('Dense', 'hidden', { units: 8, activation: 'relu' }, 'features'),
          layer('Dense', 'logits', { units: 3, activation: 'softmax' }, 'hidden'),
          ...extra,
        ],
        output_layers: [['logits', 0, 0]],
      },
    });
    await page
      .getByLabel('Open a graph file')
      .setInputFiles({ name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(model([]))) });
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(4);
    await expect.poll(() => page.getByTestId('status-trainable').textContent()).toContain('67');
    await shot(page, 'pytorch-import-opened');
    await page.getByLabel('Open a graph file').setInputFiles({
      name: 'lstm.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(model([layer('LSTM', 'memory', { units: 4 }, 'logits')]))),
    });
    await expect.poll(() => page.getByText('Could not import lstm.json; your graph is unchanged').count()).toBe(1);
    await expect.poll(() => page.getByText('Layer "memory" (LSTM): Patchbay has no "LSTM" layer.').count()).toBe(1);
    expect(await page.locator('.react-flow__node').count()).toBe(4);
    await shot(page, 'pytorch-import-refused');

    // A tfjs model.json of the ConvMixer mnist preset: its 20 block layers fold back into ConvMixer block × 4.
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await import('../../src/runtime/custom-layers');
    const { tfjsTopologyOf } = await import('../../src/runtime/tfjs-topology');
    const convmixer = templateDocument('convmixer', 'mnist');
    if ('error' in convmixer) throw new Error(convmixer.error);
    const topology = tfjsTopologyOf(lower(analyze(convmixer.doc)).plan!);
    await page
      .getByLabel('Open a graph file')
      .setInputFiles({ name: 'convmixer.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ modelTopology: topology })) });
    await expect.poll(() => page.getByText('Imported convmixer.json as a graph of 7 nodes. 20 layers became ConvMixer block × 4.').count()).toBe(1);
    expect(await page.locator('.react-flow__node').count()).toBe(7);
    await expect.poll(() => page.getByTestId('status-trainable').textContent()).toContain('25,418');
    await shot(page, 'import-folded-convmixer');
    await page.context().close();
  });
  test('model.json with its weights.bin (or a .zip) opens as a graph with an Imported weights run, scored on MNIST, in the playground', async () => {
    // A small MLP trained in tfjs (Node) on 2,000 digits, saved as tfjs saves it, and its own score on the app's test digits.
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const { loadMnistNode } = await import('../../src/runtime/data/mnist-node');
    const { evaluate } = await import('../../src/runtime/training/train');
    const { artifactsOf } = await import('../../src/runtime/saved-weights');
    const { toModelJson } = await import('../../src/runtime/tfjs-format');
    const ds = await loadMnistNode();
    tf.setBackend('cpu');
    const mlp = tf.sequential({
      name: 'digits_mlp',
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1], name: 'flat' }),
        tf.layers.dense({ units: 32, activation: 'relu', name: 'hidden' }),
        tf.layers.dense({ units: 10, activation: 'softmax', name: 'digit' }),
      ],
    });
    mlp.compile({ optimizer: tf.train.adam(3e-3), loss: 'categoricalCrossentropy' });
    const n = 2000;
    const x = tf.tensor4d(ds.train.x.subarray(0, n * 784), [n, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(Array.from(ds.train.y.subarray(0, n)), 'int32'), 10);
    await mlp.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0 });
    tf.dispose([x, y]);
    const accuracy = (await evaluate(tf, mlp, ds, ds.test)).accuracy;
    const artifacts = await artifactsOf(tf, mlp);
    mlp.dispose();
    const modelJson = Buffer.from(JSON.stringify(toModelJson(artifacts)));
    const weightsBin = Buffer.from(artifacts.weightData);

    const page = await openEditor(h);
    page.on('console', (m) => m.type() === 'warning' && console.warn('page:', m.text()));
    const open = page.getByLabel('Open a graph file');
    await open.setInputFiles([
      { name: 'model.json', mimeType: 'application/json', buffer: modelJson },
      { name: 'weights.bin', mimeType: 'application/octet-stream', buffer: weightsBin },
    ]);
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(4);
    await expect
      .poll(() => page.getByText('Imported model.json as a graph of 4 nodes. Its weights are a run of their own in the Train tab').count(), { timeout: 60_000 })
      .toBe(1);
    await page.getByRole('tab', { name: 'Train' }).click();
    const run = page.getByTestId('run-item').filter({ hasText: 'imported weights' });
    await expect.poll(() => run.count()).toBe(1);
    // The score arrives after the run is listed (the worker evaluates the weights on MNIST's test split).
    await expect
      .poll(() => run.getByTestId('run-imported').textContent(), { timeout: 60_000 })
      .toBe("Imported with the graph from model.json + weights.bin; not trained here. Scored on MNIST's 2,000 test digits.");
    // The same weights and digits: the score tfjs gave in Node, up to a float near-tie on one digit.
    const shown = Number((await run.locator('.pb-run-acc').textContent())!.replace('%', ''));
    expect(Math.abs(shown - accuracy * 100)).toBeLessThanOrEqual(0.051);
    expect(accuracy).toBeGreaterThan(0.8);

    // The playground predicts with the imported weights.
    expect(await page.getByTestId('playground-disabled').count()).toBe(0);
    await page.getByTestId('playground').scrollIntoViewIfNeeded();
    const box = (await page.getByTestId('draw-canvas').boundingBox())!;
    const at = (fx: number, fy: number) => [box.x + box.width * fx, box.y + box.height * fy] as const;
    await page.mouse.move(...at(0.5, 0.15));
    await page.mouse.down();
    await page.mouse.move(...at(0.5, 0.85), { steps: 10 });
    await page.mouse.up();
    const probabilities = () =>
      page
        .getByTestId('probabilities')
        .locator('li')
        .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value') || NaN)));
    await expect.poll(async () => (await probabilities()).length).toBe(10);
    // The worker answers asynchronously: the ten rows can be drawn before their values arrive (NaN
    // until then), and on a loaded machine that takes longer than expect.poll's default second.
    await expect.poll(async () => Math.abs((await probabilities()).reduce((a, b) => a + b, 0) - 1), { timeout: 30_000 }).toBeLessThan(1e-3);
    await run.scrollIntoViewIfNeeded();
    await shot(page, 'import-weights-run');

    // A weight file cut short: the graph still opens, and the message says why the weights did not come.
    await open.setInputFiles([
      { name: 'model.json', mimeType: 'application/json', buffer: modelJson },
      { name: 'weights.bin', mimeType: 'application/octet-stream', buffer: weightsBin.subarray(0, 1000) },
    ]);
    await expect
      .poll(() =>
        page
          .getByText(`The weights were not imported: weights.bin holds 1,000 bytes, but model.json describes ${weightsBin.length.toLocaleString('en-US')}`)
          .count(),
      )
      .toBe(1);
    expect(await page.getByText('Imported model.json as a graph of 4 nodes. Its weights were not imported. Undo with Ctrl+Z.').count()).toBe(1);
    expect(await page.locator('.react-flow__node').count()).toBe(4);
    await shot(page, 'import-weights-short');

    // One .zip of the folder: a second imported run of the same graph.
    const { zipSync } = await import('fflate');
    const zip = zipSync({ 'trained/model.json': new Uint8Array(modelJson), 'trained/weights.bin': new Uint8Array(weightsBin) });
    await open.setInputFiles({ name: 'trained.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await expect.poll(() => run.count(), { timeout: 60_000 }).toBe(2);
    await page.context().close();
  });
});
