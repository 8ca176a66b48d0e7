/**
 * "Export PyTorch" in the code panel downloads a zip with what `pytorchFiles` writes (model.py,
 * weights.py, train.py, README.md), and the Python parses.
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
    expect(Object.keys(files).sort()).toEqual(['README.md', 'model.py', 'train.py', 'weights.py']);
    for (const name of ['model.py', 'weights.py', 'train.py']) expect(files[name]).toBe(expected[name]);
    expect(files['README.md']).toContain('Exported from the editor');
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
    await page.context().close();
  });
});
