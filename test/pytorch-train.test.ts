import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main';
import { fromModelJson } from '../src/runtime/tfjs-format';
import { templateDocument } from '../templates/index';

/**
 * The PyTorch export trains with torchrun on two CPU processes (gloo, DistributedDataParallel, a
 * DistributedSampler) for one epoch of the ConvMixer mnist preset on the app's MNIST split (the
 * first 1,000 training digits, to keep CI quick), and the tfjs weights it writes open with tfjs (the
 * editor's format: model.json with its topology + weights.bin) and score the test accuracy PyTorch
 * reported on the same 2,000 test digits.
 */
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`Skipping the torchrun training check: ${PYTHON} cannot import torch. Install Debian's python3-torch.`);

const dir = mkdtempSync(join(tmpdir(), 'patchbay-torchrun-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quiet = { out: () => {}, err: () => {} };

describe.skipIf(!hasTorch)('torchrun trains the ConvMixer mnist export (python3-torch)', () => {
  it('trains one epoch on 2 CPU processes and its tfjs weights score the accuracy PyTorch reported', async () => {
    const out = join(dir, 'convmixer');
    expect(await run(['export', 'convmixer', '--preset', 'mnist', '--format', 'pytorch', '--out', out], quiet)).toBe(0);
    expect(await run(['data', 'mnist', '--out', join(dir, 'data.npz')], quiet)).toBe(0);

    // Debian's torch 1.13 on Python 3.11 cannot parse torchrun's default "--redirects 0" (a zero
    // IntFlag is no member there); "--redirects 1 --tee 1" sends stdout to the console and a log.
    const trained = spawnSync(
      PYTHON,
      [
        '-m',
        'torch.distributed.run',
        '--redirects',
        '1',
        '--tee',
        '1',
        '--nproc_per_node=2',
        'train.py',
        '--data',
        '../data.npz',
        '--epochs',
        '1',
        '--limit',
        '1000',
        '--out',
        'run',
      ],
      { cwd: out, encoding: 'utf8', timeout: 240_000, env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    expect(trained.status, `${trained.stdout}\n${trained.stderr}`).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'run', 'metrics.json'), 'utf8')) as Record<string, number>;
    expect(metrics.world_size).toBe(2);
    // 1,000 digits in two shards of 500, each process at the graph's batch size.
    const preset = templateDocument('convmixer', 'mnist');
    if ('error' in preset) throw new Error(preset.error);
    expect(metrics.steps).toBe(Math.ceil(500 / preset.doc.training!.batchSize));
    expect(existsSync(join(out, 'run', 'checkpoint.pt'))).toBe(true);

    // PyTorch's predictions of the test digits from the model it saved, for a per-digit comparison.
    const predictedByTorch = spawnSync(
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
          "d = np.load('../data.npz')",
          "x = torch.from_numpy(d['x_test']).permute(0, 3, 1, 2).contiguous()",
          'with torch.no_grad(): p = m(x)',
          'print(",".join(str(int(i)) for i in p.argmax(-1)))',
          'print(",".join(repr(float(v)) for v in p[:100].flatten()))',
        ].join('\n'),
      ],
      { cwd: out, encoding: 'utf8', timeout: 120_000 },
    );
    expect(predictedByTorch.status, predictedByTorch.stderr).toBe(0);
    const [idsLine, probabilitiesLine] = predictedByTorch.stdout.trim().split('\n');
    const torchIds = idsLine!.split(',').map(Number);
    const torchProbabilities = probabilitiesLine!.split(',').map(Number);

    const tf = await import('@tensorflow/tfjs');
    const { useWasmBackend } = await import('../src/runtime/wasm-backend');
    await useWasmBackend();
    await import('../src/runtime/custom-layers');
    const artifacts = fromModelJson(
      readFileSync(join(out, 'run', 'tfjs', 'model.json'), 'utf8'),
      new Map([['weights.bin', readFileSync(join(out, 'run', 'tfjs', 'weights.bin')).buffer as ArrayBuffer]]),
    );
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const { loadMnistNode } = await import('../src/runtime/data/mnist-node');
    const ds = await loadMnistNode();
    let correct = 0;
    let disagreements = 0;
    let maxDiff = 0;
    for (let start = 0; start < ds.test.count; start += 250) {
      const count = Math.min(250, ds.test.count - start);
      const size = 28 * 28;
      const x = tf.tensor4d(ds.test.x.subarray(start * size, (start + count) * size), [count, 28, 28, 1]);
      const predicted = (model.predict(x) as typeof x).argMax(-1);
      const ids = predicted.dataSync();
      if (start === 0) {
        // The probabilities themselves, not only the winners: a barely trained model may pick one class for most digits.
        const probabilities = tf.tidy(() => (model.predict(x.slice(0, 100)) as typeof x).dataSync());
        for (let i = 0; i < torchProbabilities.length; i++) maxDiff = Math.max(maxDiff, Math.abs(probabilities[i]! - torchProbabilities[i]!));
      }
      for (let i = 0; i < count; i++) {
        if (ids[i] === ds.test.y[start + i]) correct++;
        if (ids[i] !== torchIds[start + i]) disagreements++;
      }
      tf.dispose([x, predicted]);
    }
    model.dispose();
    // The same weights and digits: the same predictions, up to a float near-tie on one digit.
    expect(torchIds.length).toBe(ds.test.count);
    expect(disagreements).toBeLessThanOrEqual(1);
    expect(torchProbabilities.length).toBe(100 * 10);
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(correct - Math.round(metrics.test_accuracy * ds.test.count))).toBeLessThanOrEqual(1);
    console.log(
      `torchrun 2×CPU, 1 epoch of 1,000 digits: PyTorch test accuracy ${(metrics.test_accuracy * 100).toFixed(2)}%, the tfjs weights in tfjs ${((correct / ds.test.count) * 100).toFixed(2)}%, ${disagreements} of ${ds.test.count} predictions differ, probabilities of 100 digits within ${maxDiff.toExponential(1)}`,
    );
  }, 300_000);
});
