import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main';
import { analyze, lower } from '../src/compiler/index';
import { importModel } from '../src/compiler/import-keras';
import { readModelFiles } from '../src/editor/model-files';
import { pytorchZip } from '../src/editor/pytorch-export';
import { templateDocument } from '../templates/index';

/**
 * The weights round trip from the editor's own "Export PyTorch" zip: the zip carries
 * tfjs-topology.json (built by the same helper the training worker runs), train.py trains the
 * ConvMixer mnist export in PyTorch (one CPU process, one epoch of the first 2,000 digits), and the
 * folder save_tfjs_weights writes, picked as model.json + weights.bin or as one .zip, imports in the
 * editor's path as a graph with the same trainable parameters whose weights score, on the app's
 * 2,000 test digits, the test accuracy PyTorch reported.
 */
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`Skipping the browser-export round trip: ${PYTHON} cannot import torch. Install Debian's python3-torch.`);

const dir = mkdtempSync(join(tmpdir(), 'patchbay-browser-roundtrip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { out: () => {}, err: () => {} };

describe.skipIf(!hasTorch)("the editor's PyTorch zip round-trips trained weights (python3-torch)", () => {
  it('trains in PyTorch and the weights it saves import with the graph and score what PyTorch reported', async () => {
    const template = templateDocument('convmixer', 'mnist');
    if ('error' in template) throw new Error(template.error);
    const doc = template.doc;
    const original = lower(analyze(doc)).plan!;

    const tf = await import('@tensorflow/tfjs');
    const { useWasmBackend } = await import('../src/runtime/wasm-backend');
    await useWasmBackend();
    await import('../src/runtime/custom-layers');
    const { tfjsTopologyOf } = await import('../src/runtime/tfjs-topology');
    const exported = await pytorchZip(doc, analyze(doc), null, async (plan) => tfjsTopologyOf(plan));
    if ('error' in exported) throw new Error(exported.error);
    const out = join(dir, 'export');
    const files = unzipSync(exported.zip);
    expect(Object.keys(files).sort()).toEqual(['README.md', 'model.py', 'tfjs-topology.json', 'train.py', 'weights.py']);
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      writeFileSync(join(out, path), bytes);
    }
    expect(await run(['data', 'mnist', '--out', join(dir, 'data.npz')], quiet)).toBe(0);
    const trained = spawnSync(PYTHON, ['train.py', '--data', '../data.npz', '--epochs', '1', '--limit', '2000', '--out', 'run', '--threads', '1'], {
      cwd: out,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    expect(trained.status, `${trained.stdout}\n${trained.stderr}`).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'run', 'metrics.json'), 'utf8')) as Record<string, number>;
    const modelJson = readFileSync(join(out, 'run', 'tfjs', 'model.json'));
    const weightsBin = readFileSync(join(out, 'run', 'tfjs', 'weights.bin'));
    expect(JSON.parse(modelJson.toString('utf8')).modelTopology).not.toBeNull();

    // Picked as two files, and as one .zip of the run folder: the same weights either way.
    const picked = await readModelFiles([
      { name: 'model.json', blob: new Blob([modelJson]) },
      { name: 'weights.bin', blob: new Blob([weightsBin]) },
    ]);
    const zipped = await readModelFiles([
      {
        name: 'run.zip',
        blob: new Blob([zipSync({ 'run/tfjs/model.json': modelJson, 'run/tfjs/weights.bin': weightsBin, 'run/metrics.json': strToU8('{}') })]),
      },
    ]);
    if ('error' in picked || 'error' in zipped) throw new Error('the trained weights could not be read');
    expect(picked.weightsProblem).toBeNull();
    expect(zipped.weightsProblem).toBeNull();
    expect(new Uint8Array(zipped.weights!.weightData)).toEqual(new Uint8Array(picked.weights!.weightData));

    // The graph the editor imports has the exported graph's parameters.
    const imported = importModel(picked.text, 'model');
    expect(imported.problems).toEqual([]);
    const plan = lower(analyze(imported.doc!)).plan!;
    expect(plan.count.trainable).toBe(original.count.trainable);
    expect(plan.count.nonTrainable).toBe(original.count.nonTrainable);

    // As the worker does for the playground: build the imported graph, load the weights, score the test digits.
    const { buildModel } = await import('../src/runtime/build');
    const { loadArtifactsInto } = await import('../src/runtime/saved-weights');
    const { evaluate } = await import('../src/runtime/training/train');
    const { loadMnistNode } = await import('../src/runtime/data/mnist-node');
    const model = buildModel(plan);
    await loadArtifactsInto(tf, model, picked.weights!);
    const ds = await loadMnistNode();
    const scored = await evaluate(tf, model, ds, ds.test);
    const correct = Math.round(scored.accuracy * ds.test.count);
    expect(Math.abs(correct - Math.round(metrics.test_accuracy * ds.test.count))).toBeLessThanOrEqual(1);

    // A barely trained model may pick one class for most digits: compare the probabilities themselves
    // with those of the model PyTorch saved (run/model.pt), on the first 100 test digits.
    const torch = spawnSync(
      PYTHON,
      [
        '-c',
        [
          'import sys, numpy as np, torch',
          "sys.path.insert(0, '.')",
          'from model import create_model',
          'm = create_model()',
          "m.load_state_dict(torch.load('run/model.pt'))",
          'm.eval()',
          "x = torch.from_numpy(np.load('../data.npz')['x_test'][:100]).permute(0, 3, 1, 2).contiguous()",
          'with torch.no_grad(): p = m(x)',
          'print(",".join(repr(float(v)) for v in p.flatten()))',
        ].join('\n'),
      ],
      { cwd: out, encoding: 'utf8', timeout: 120_000, env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    expect(torch.status, torch.stderr).toBe(0);
    const expected = torch.stdout.trim().split(',').map(Number);
    const x = tf.tensor4d(ds.test.x.subarray(0, 100 * 28 * 28), [100, 28, 28, 1]);
    const probabilities = tf.tidy(() => (model.predict(x) as typeof x).dataSync());
    x.dispose();
    model.dispose();
    expect(expected.length).toBe(1000);
    const maxDiff = Math.max(...expected.map((v, i) => Math.abs(v - probabilities[i]!)));
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    console.log(
      `Editor zip → PyTorch (1 epoch of 2,000 digits) → import: PyTorch test accuracy ${(metrics.test_accuracy * 100).toFixed(2)}%, the imported weights in tfjs ${(scored.accuracy * 100).toFixed(2)}%, probabilities of 100 digits within ${maxDiff.toExponential(1)}`,
    );
  }, 300_000);
});
