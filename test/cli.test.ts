import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'patchbay.js');
const run = promisify(execFile);

/** Runs the real CLI the way `npx patchbay` does, in a child process. */
async function patchbay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'patchbay-cli-'));

describe('patchbay CLI', () => {
  it('lists templates and presets', async () => {
    const { code, stdout } = await patchbay('templates');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^convmixer\s+ConvMixer/m);
    expect(stdout).toMatch(/--preset 768\/32/);
    expect(stdout).toMatch(/--preset L\/16/);
  });

  it('summary --json gives the documented fields', async () => {
    const { code, stdout } = await patchbay('summary', 'convmixer', '--preset', '768/32', '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.trainableParams).toBe(21_110_248);
    expect(summary.nonTrainableParams).toBe(99_840);
    expect(summary.inputs).toEqual([{ name: 'image', shape: [null, 224, 224, 3] }]);
    expect(summary.outputs).toEqual([{ name: 'probabilities', shape: [null, 1000] }]);
    expect(summary.nodes.map((n: { type: string }) => n.type)).toContain('ConvMixer block ×32');
    // Only PB310: a training step at batch 32 keeps about 16 GB of activations, more than a tab has.
    expect(summary.diagnostics.map((d: { code: string }) => d.code)).toEqual(['PB310', 'PB310']);
  });

  it('summary prints a table', async () => {
    const { stdout } = await patchbay('summary', 'mlp-mixer');
    expect(stdout).toMatch(/Trainable params: 148,110/);
  });

  it('check exits 0 on a good file and 1 with messages (no stack trace) on a bad one', async () => {
    const good = await patchbay('check', 'convmixer');
    expect(good.code).toBe(0);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, readFileSync(join(ROOT, 'test/fixtures/documents/bad-params.json')));
    const { code, stderr } = await patchbay('check', bad);
    expect(code).toBe(1);
    expect(stderr).toMatch(/error PB300 \(node dense, param units\)/);
    expect(stderr).toMatch(/error PB107/);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('explains unreadable input with exit code 2', async () => {
    const notJson = join(tmp, 'broken.json');
    writeFileSync(notJson, '{ "format": ');
    expect(await patchbay('check', notJson)).toMatchObject({ code: 2, stderr: expect.stringMatching(/PB100.*not valid JSON/) });
    expect(await patchbay('check', join(tmp, 'missing.json'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/no such file/) });
    expect(await patchbay('summary', 'resnet')).toMatchObject({ code: 2, stderr: expect.stringMatching(/No template "resnet"/) });
    expect(await patchbay('summary', 'convmixer', '--preset', 'huge')).toMatchObject({ code: 2, stderr: expect.stringMatching(/no preset "huge"/) });
    expect(await patchbay('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown command "frobnicate"/) });
    expect(await patchbay('summary', 'convmixer', '--bogus')).toMatchObject({ code: 2 });
  });

  it('export writes a TypeScript module', async () => {
    const out = join(tmp, 'convmixer.ts');
    const { code, stderr } = await patchbay('export', 'convmixer', '--out', out);
    expect(code).toBe(0);
    expect(stderr).toMatch(/Wrote .*convmixer\.ts \(25,418 trainable params\)/);
    const source = readFileSync(out, 'utf8');
    expect(source).toMatch(/export function createModel\(\): tf\.LayersModel/);
    expect(source).toBe(readFileSync(join(ROOT, 'test/golden/convmixer-mnist.ts'), 'utf8'));
  });

  it('export refuses a graph with errors', async () => {
    const bad = join(tmp, 'bad2.json');
    writeFileSync(bad, readFileSync(join(ROOT, 'test/fixtures/documents/bad-params.json')));
    const { code, stdout, stderr } = await patchbay('export', bad);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/Nothing was exported/);
  });

  it('train runs real steps on wasm and prints JSON metrics', async () => {
    const { code, stdout } = await patchbay('train', 'convmixer', '--data', 'mnist', '--limit', '64', '--batch-size', '16', '--epochs', '1', '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ status: 'completed', backend: 'wasm', steps: 4 });
    expect(result.test.accuracy).toBeGreaterThanOrEqual(0);
    expect(result.test.accuracy).toBeLessThanOrEqual(1);
    expect(result.stepsPerSecond).toBeGreaterThan(0);
    expect(result.epochs).toHaveLength(1);
  });

  it('train explains a model that does not fit the data, and bad flags', async () => {
    expect(await patchbay('train', 'mlp-mixer', '--preset', 'S/16', '--data', 'mnist')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/takes \(None, 224, 224, 3\), but mnist digits are \(None, 28, 28, 1\)/),
    });
    expect(await patchbay('train', 'convmixer', '--data', 'cifar')).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown dataset "cifar"/) });
    expect(await patchbay('train', 'convmixer')).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs --data/) });
    expect(await patchbay('train', 'convmixer', '--data', 'mnist', '--epochs', '0')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--epochs takes a whole number/),
    });
    expect(await patchbay('train', 'convmixer', '--data', 'mnist', '--backend', 'tpu')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--backend takes wasm or cpu/),
    });
  });

  const moonsGraph = {
    format: 'patchbay.graph',
    version: 1,
    name: 'moons mlp',
    nodes: [
      { id: 'in', type: 'Input', params: { shape: [2] } },
      { id: 'hidden', type: 'Dense', params: { units: 16, activation: 'relu' } },
      { id: 'out', type: 'Dense', params: { units: 2, activation: 'softmax' } },
    ],
    edges: [
      { id: 'e1', source: 'in', target: 'hidden' },
      { id: 'e2', source: 'hidden', target: 'out' },
    ],
  };

  it('trains a tiny graph on the two moons for a few steps', async () => {
    const file = join(tmp, 'moons.json');
    writeFileSync(file, JSON.stringify(moonsGraph));
    const { code, stdout, stderr } = await patchbay(
      'train',
      file,
      '--data',
      'moons',
      '--limit',
      '128',
      '--batch-size',
      '32',
      '--epochs',
      '2',
      '--backend',
      'cpu',
      '--json',
    );
    expect(stderr).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'completed', backend: 'cpu', steps: 8, epochs: [{ epoch: 1 }, { epoch: 2 }] });
  });

  it('trains on a CSV (label by name), and a bad cell exits 2 naming its row and column', async () => {
    const file = join(tmp, 'moons3.json');
    writeFileSync(
      file,
      JSON.stringify({ ...moonsGraph, nodes: moonsGraph.nodes.map((n) => (n.id === 'out' ? { ...n, params: { units: 3, activation: 'softmax' } } : n)) }),
    );
    const rows = Array.from({ length: 30 }, (_, i) => `${['a', 'b', 'c'][i % 3]},${i % 3},${(i * 7) % 5}`);
    const good = join(tmp, 'good.csv');
    writeFileSync(good, `kind,x,y\r\n${rows.join('\r\n')}\r\n`);
    const ok = await patchbay('train', file, '--data', good, '--label', 'kind', '--epochs', '1', '--batch-size', '8', '--backend', 'cpu', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'completed', steps: 3 });

    const bad = join(tmp, 'bad.csv');
    writeFileSync(bad, 'x,y,kind\n1,2,a\n3,4,b\n5,n/a,a\n');
    const { code, stderr } = await patchbay('train', file, '--data', bad, '--backend', 'cpu');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^bad\.csv: Row 4, column "y" \(the 2nd\): the cell holds "n\/a", which is not a number/);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('train says what to change when the data and the model disagree', async () => {
    const file = join(tmp, 'moons2.json');
    writeFileSync(file, JSON.stringify(moonsGraph));
    expect(await patchbay('train', 'convmixer', '--data', 'moons')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/The model takes \(None, 28, 28, 1\), but two moons examples are \(None, 2\): set the Input shape to \[2\]/),
    });
    expect(await patchbay('train', file, '--data', 'spirals')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/outputs \(None, 2\), but spirals has 3 classes: end with Dense\(3\)/),
    });
    expect(await patchbay('train', file, '--data', 'pets.zip')).toMatchObject({ code: 2, stderr: expect.stringMatching(/browser editor/) });
    expect(await patchbay('train', file, '--data', 'moons', '--label', 'y')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--label only applies to a CSV/),
    });
    expect(await patchbay('train', file, '--data', join(tmp, 'nope.csv'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/no such file/) });
  });
  it('prints document strings with control characters visible, and caps long diagnostic lists', async () => {
    const nodes = [{ id: 'in', type: 'Input', params: { shape: [4] } }];
    // 2,000 Dense nodes with an invalid width: 2,000 errors, and each id carries an escape sequence.
    for (let i = 0; i < 2000; i++) nodes.push({ id: `d${i}\u001b[2J\u001b]0;owned\u0007`, type: 'Dense', params: { units: 0 } } as never);
    const edges = nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: 'in', sourcePort: 'out', target: n.id, targetPort: 'in' }));
    const file = join(tmp, 'hostile-names.json');
    writeFileSync(file, JSON.stringify({ format: 'patchbay.graph', version: 1, name: 'clear\u001b[2J\u001b[Hscreen\nfake: no problems found', nodes, edges }));
    const { code, stderr } = await patchbay('check', file);
    expect(code).toBe(1);
    expect(stderr).not.toContain('\u001b');
    expect(stderr).not.toContain('\u0007');
    expect(stderr).toContain('node d0\\u001b[2J\\u001b]0;owned\\u0007');
    expect(stderr).toMatch(/… and 1,950 more \(--json lists them all\)\./);
    expect(stderr.split('\n').length).toBeLessThan(200);
    const named = await patchbay('summary', file);
    expect(named.stdout).toContain('Model: "clear\\u001b[2J\\u001b[Hscreen\\nfake: no problems found"');
    expect(named.stdout).not.toContain('\u001b');
  });

  it('runs a training program: metrics by name in --json, each network saved with --save', async () => {
    const summary = JSON.parse((await patchbay('summary', 'distillation', '--preset', 'hinton', '--json')).stdout);
    expect(summary.networks).toEqual([
      { name: 'model', trainableParams: 1_276_810, nonTrainableParams: 0 },
      { name: 'teacher', trainableParams: 2_395_210, nonTrainableParams: 0 },
      { name: 'studentAlone', trainableParams: 1_276_810, nonTrainableParams: 0 },
    ]);
    expect(summary.trainableParams).toBe(1_276_810 * 2 + 2_395_210);
    const dir = join(tmp, 'saved');
    const { code, stdout, stderr } = await patchbay('train', 'simsiam', '--data', 'mnist', '--limit', '256', '--epochs', '1', '--json', '--save', dir);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.status).toBe('completed');
    expect(Object.keys(result.metrics).sort()).toEqual(['baselines', 'collapseReference', 'collapseStd', 'knnAccuracy', 'linearProbeAccuracy']);
    expect(Object.keys(result.metrics.baselines).sort()).toEqual(['randomInitLinearProbe', 'rawPixelsLinearProbe']);
    expect(result.metrics.collapseReference).toBeCloseTo(1 / Math.sqrt(128), 6);
    expect(result.procedures.map((p: { id: string; steps: number }) => [p.id, p.steps])).toEqual([
      ['pretrain', 2],
      ['evaluate', 0],
    ]);
    for (const net of ['model', 'projector', 'predictor']) {
      const saved = JSON.parse(readFileSync(join(dir, net, 'model.json'), 'utf8'));
      expect(saved.format).toBe('layers-model');
      expect(saved.weightsManifest[0].paths).toEqual(['weights.bin']);
    }
  });

  it('names a file once in its message', async () => {
    const empty = join(tmp, 'empty.csv');
    writeFileSync(empty, '');
    const { code, stderr } = await patchbay('train', join(ROOT, 'test/fixtures/documents/v1.json'), '--data', empty);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('empty.csv is empty: it needs a header row and at least two rows of data.');
  });
});
