/**
 * Importing a training program's weights (src/editor/train/program-weights-import): a weights.zip as
 * a program run exports it, or a picked folder, each with a folder per network, matched to the
 * program's networks by folder name and checked against each network's weights (names and shapes of
 * a fresh build of its plan, as the worker reports them); unknown folders listed, missing networks
 * allowed; mismatches, oversized or malformed files refused in words naming the network and the
 * first weight that differs, checked before the weight files are read.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { strToU8, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import { MAX_IMPORTED_WEIGHT_BYTES, MAX_MODEL_ZIP_BYTES, type PickedFile } from '../src/editor/model-files';
import { MAX_NETWORK_FOLDERS, readProgramWeights, weightsDifference, type ProgramWeightsImport } from '../src/editor/train/program-weights-import';
import { weightSpecsOf, type PlanWeightSpec } from '../src/runtime/plan-weight-specs';
import { ProgramRun } from '../src/runtime/program/run';
import { artifactsOf } from '../src/runtime/saved-weights';
import { toModelJson } from '../src/runtime/tfjs-format';
import type { WeightArtifacts } from '../src/runtime/worker/protocol';
import { templateDocument } from '../templates';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
let program: PlanProgram;
let expected: Record<string, PlanWeightSpec[]>;
let labels: Record<string, string>;
/** Each network's weights as a run of the program saves them (seeded, so that they differ per network). */
let saved: Record<string, WeightArtifacts>;

beforeAll(async () => {
  tf = await useCpuBackend();
  const t = templateDocument('distillation');
  if ('error' in t) throw new Error(t.error);
  program = lowerProgram(analyzeProgram(t.doc)!).program!;
  expected = Object.fromEntries(program.networks.map((n) => [n.id, weightSpecsOf(n.plan)]));
  labels = Object.fromEntries(program.networks.map((n) => [n.id, n.label]));
  const run = new ProgramRun(tf, program, 7);
  saved = {};
  for (const [id, state] of run.networks) saved[id] = await artifactsOf(tf, state.model);
  for (const state of run.networks.values()) {
    state.model.dispose();
    tf.dispose(state.initial);
  }
});

/** The files of a folder per network, as the export writes them, under `prefix`. */
function networkFiles(ids: Record<string, WeightArtifacts>, prefix = ''): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const [id, w] of Object.entries(ids)) {
    files[`${prefix}${id}/model.json`] = strToU8(JSON.stringify(toModelJson(w)));
    files[`${prefix}${id}/weights.bin`] = new Uint8Array(w.weightData);
  }
  return files;
}
const zipOf = (files: Record<string, Uint8Array>, name = 'weights.zip'): PickedFile => ({
  name,
  blob: new Blob([zipSync(files, { level: 0 }) as Uint8Array<ArrayBuffer>]),
});
const folderOf = (files: Record<string, Uint8Array>): PickedFile[] =>
  Object.entries(files).map(([name, bytes]) => ({ name, blob: new Blob([bytes as Uint8Array<ArrayBuffer>]) }));
/** A Blob that says it is `size` bytes but holds none: a check that reads it fails the test. */
const claimed = (name: string, size: number): PickedFile => ({
  name,
  blob: {
    size,
    text: () => Promise.reject(new Error('read a file that should have been refused by its size')),
    arrayBuffer: () => Promise.reject(new Error('read a file that should have been refused by its size')),
    slice: () => {
      throw new Error('read a file that should have been refused by its size');
    },
  } as unknown as Blob,
});

function ok(read: ProgramWeightsImport | { error: string }): ProgramWeightsImport {
  if ('error' in read) throw new Error(`expected the weights to be read, got: ${read.error}`);
  return read;
}
function refused(read: ProgramWeightsImport | { error: string }): string {
  if (!('error' in read)) throw new Error(`expected a refusal, got the networks ${Object.keys(read.networks).join(', ')}`);
  return read.error;
}
const bytesOf = (w: WeightArtifacts) => Array.from(new Uint8Array(w.weightData));

describe('weightsDifference', () => {
  const want = [
    { name: 'a/kernel', shape: [3, 2] },
    { name: 'a/bias', shape: [2] },
  ];
  it('is null for the same weights, in any order', () => {
    expect(weightsDifference(want, [...want].reverse())).toBeNull();
  });
  it('names a missing weight, and what the file has in its place', () => {
    expect(weightsDifference(want, [{ name: 'b/kernel', shape: [3, 2] }, want[1]!])).toBe(
      'its weight "a/kernel" [3, 2] is not in the file (the file has "b/kernel" [3, 2] in its place)',
    );
  });
  it('names the first weight whose shape differs', () => {
    expect(weightsDifference(want, [want[0]!, { name: 'a/bias', shape: [4] }])).toBe(
      'its weight "a/bias" has shape [4] in the file, but the network\'s is [2]',
    );
  });
  it('names a weight the network does not have', () => {
    expect(weightsDifference(want, [...want, { name: 'c/gamma', shape: [2] }])).toBe('the file holds a weight "c/gamma" [2] that the network does not have');
  });
});

describe('readProgramWeights', () => {
  it("reads the export's weights.zip: every network byte for byte", async () => {
    const read = ok(await readProgramWeights([zipOf(networkFiles(saved))], expected, labels));
    expect(read.source).toBe('weights.zip');
    expect(Object.keys(read.networks).sort()).toEqual(Object.keys(saved).sort());
    for (const [id, w] of Object.entries(saved)) {
      expect(bytesOf(read.networks[id]!)).toEqual(bytesOf(w));
      expect(read.networks[id]!.weightSpecs).toEqual(w.weightSpecs);
      expect(read.networks[id]!.modelTopology).toEqual(w.modelTopology);
    }
    expect(read.unknown).toEqual([]);
    expect(read.missing).toEqual([]);
  });

  it('reads a picked folder (relative paths) and a .zip of a folder, listing unknown folders and missing networks', async () => {
    const { teacher, model } = saved;
    const files = { ...networkFiles({ teacher: teacher!, model: model! }, 'run-3/'), ...networkFiles({ other: teacher! }, 'run-3/') };
    files['run-3/README.md'] = strToU8('torchrun wrote these');
    for (const picked of [folderOf(files), [zipOf(files, 'run-3.zip')]]) {
      const read = ok(await readProgramWeights(picked, expected, labels));
      expect(Object.keys(read.networks).sort()).toEqual(['model', 'teacher']);
      expect(bytesOf(read.networks.teacher!)).toEqual(bytesOf(teacher!));
      expect(read.unknown).toEqual(['run-3/other']);
      expect(read.missing).toEqual(['studentAlone']);
    }
    expect(ok(await readProgramWeights(folderOf(files), expected, labels)).source).toBe('run-3');
  });

  it("refuses one network's weights in another's folder, naming the network and the first differing weight", async () => {
    const error = refused(await readProgramWeights([zipOf(networkFiles({ model: saved.model!, teacher: saved.model! }))], expected, labels));
    // The student has the teacher's layer names with fewer units: the first kernel differs in shape.
    const [want, got] = [expected.teacher![0]!, saved.model!.weightSpecs[0]!];
    expect(want.name).toBe(got.name);
    expect(error).toBe(
      `The weights in "teacher" do not fit network “${labels.teacher}”: its weight "${want.name}" has shape [${got.shape.join(', ')}] in the file, but the network's is [${want.shape.join(', ')}].`,
    );
  });

  it('refuses a weight of another shape before reading any weight file', async () => {
    const w = saved.teacher!;
    const json = toModelJson(w);
    const specs = json.weightsManifest[0]!.weights.map((s, i) => (i === 1 ? { ...s, shape: [...s.shape.slice(0, -1), s.shape.at(-1)! + 1] } : s));
    const bad = { ...json, weightsManifest: [{ ...json.weightsManifest[0]!, weights: specs }] };
    const picked = [{ name: 'w/teacher/model.json', blob: new Blob([JSON.stringify(bad)]) }, claimed('w/teacher/weights.bin', w.weightData.byteLength)];
    const error = refused(await readProgramWeights(picked, expected, labels));
    expect(error).toContain(`do not fit network “${labels.teacher}”: its weight "${expected.teacher![1]!.name}" has shape`);
  });

  it('refuses a weight file cut short, naming the network', async () => {
    const files = networkFiles({ teacher: saved.teacher! });
    files['teacher/weights.bin'] = files['teacher/weights.bin']!.slice(0, 100);
    expect(refused(await readProgramWeights([zipOf(files)], expected, labels))).toMatch(
      new RegExp(`^Network “${labels.teacher}” \\("teacher"\\): .*cut short`),
    );
  });

  it('refuses files with no folder named after a network, listing the folders and the networks', async () => {
    const files = networkFiles({ '<img src=x onerror=alert(1)>': saved.teacher! });
    files['model.json'] = strToU8(JSON.stringify(toModelJson(saved.model!)));
    const error = refused(await readProgramWeights([zipOf(files)], expected, labels));
    expect(error).toContain('No folder in "weights.zip" is named after a network of this program (its networks: ');
    expect(error).toContain('"<img src=x onerror=alert(1)>", "(the top level)"');
  });

  it('refuses two folders for one network, no model.json, and a .zip beside other files', async () => {
    const two = { ...networkFiles({ teacher: saved.teacher! }, 'a/'), ...networkFiles({ teacher: saved.teacher! }, 'b/') };
    expect(refused(await readProgramWeights([zipOf(two)], expected, labels))).toBe(
      `"weights.zip" has two folders for network “${labels.teacher}”: "a/teacher" and "b/teacher". Keep one folder per network.`,
    );
    expect(refused(await readProgramWeights([zipOf({ 'notes.txt': strToU8('hi') })], expected, labels))).toMatch(/^"weights.zip" holds no model.json\. Pick /);
    expect(refused(await readProgramWeights([zipOf(two), folderOf(two)[0]!], expected, labels))).toBe('Pick either one .zip, or one folder, not both.');
  });

  it('refuses an oversized .zip, too many networks, and weights over the limit before reading them', async () => {
    expect(refused(await readProgramWeights([claimed('huge.zip', MAX_MODEL_ZIP_BYTES + 1)], expected, labels))).toMatch(
      /^"huge.zip" is .* Nothing was read\.$/,
    );
    const many: Record<string, Uint8Array> = {};
    for (let i = 0; i <= MAX_NETWORK_FOLDERS; i++) many[`n${i}/model.json`] = strToU8('{}');
    expect(refused(await readProgramWeights([zipOf(many)], expected, labels))).toContain(`a program has at most ${MAX_NETWORK_FOLDERS} networks`);
    // A network whose weights alone are over the limit: refused from its model.json, weights.bin never read.
    const big = [{ name: 'w', shape: [MAX_IMPORTED_WEIGHT_BYTES / 4 + 1] }];
    const json = JSON.stringify({
      modelTopology: null,
      weightsManifest: [{ paths: ['./weights.bin'], weights: big.map((s) => ({ ...s, dtype: 'float32' })) }],
    });
    const picked = [{ name: 'big/model.json', blob: new Blob([json]) }, claimed('big/weights.bin', MAX_IMPORTED_WEIGHT_BYTES + 4)];
    expect(refused(await readProgramWeights(picked, { big }, {}))).toMatch(/describe .* of weights; Patchbay imports at most .*, so they were not read\.$/);
  });

  it('refuses a model.json that is not JSON, or lists no weights', async () => {
    expect(refused(await readProgramWeights([zipOf({ 'teacher/model.json': strToU8('{ nope') })], expected, labels))).toBe(
      '"teacher/model.json": model.json is not valid JSON.',
    );
    expect(refused(await readProgramWeights([zipOf({ 'teacher/model.json': strToU8('{"modelTopology":null}') })], expected, labels))).toBe(
      '"teacher/model.json" lists no weights (its weightsManifest is empty or missing).',
    );
  });
});

/**
 * What a person who trained a program's networks in PyTorch brings back: the export's
 * networks/<id>/weights.py save_tfjs_weights each into DIR/<id>/ (here from seeded PyTorch
 * initialisations), picked as the folder DIR. Every network reads, and loads into the program's run
 * with PyTorch's values. Needs Debian's python3-torch at /usr/bin/python3.
 */
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`Skipping the PyTorch folder import: ${PYTHON} cannot import torch. Install Debian's python3-torch.`);

describe.skipIf(!hasTorch)("a program's networks saved by the PyTorch export's weights.py (python3-torch)", () => {
  it('CapsNet tiny: the folder of model/ and decoder/ reads and loads into the run, value for value', async () => {
    await import('../src/runtime/custom-layers');
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-program-weights-'));
    try {
      const quiet = { out: () => {}, err: () => {} };
      expect(await run(['export', 'capsnet', '--preset', 'tiny', '--format', 'pytorch', '--out', join(dir, 'export')], quiet)).toBe(0);
      const script = [
        'import importlib.util, sys, torch',
        'def load(path, name):',
        '    spec = importlib.util.spec_from_file_location(name, path)',
        '    module = importlib.util.module_from_spec(spec)',
        '    sys.modules[name] = module',
        '    spec.loader.exec_module(module)',
        '    return module',
        'for i, net in enumerate(["model", "decoder"]):',
        '    torch.manual_seed(i)',
        '    model = load(f"export/networks/{net}/model.py", "model").create_model()',
        '    load(f"export/networks/{net}/weights.py", "weights").save_tfjs_weights(model, f"pt-run/{net}")',
      ].join('\n');
      const saved = spawnSync(PYTHON, ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
      expect(saved.status, `${saved.stdout}\n${saved.stderr}`).toBe(0);

      const t = templateDocument('capsnet', 'tiny');
      if ('error' in t) throw new Error(t.error);
      const capsnet = lowerProgram(analyzeProgram(t.doc)!).program!;
      const want = Object.fromEntries(capsnet.networks.map((n) => [n.id, weightSpecsOf(n.plan)]));
      const picked = ['model', 'decoder'].flatMap((net) =>
        ['model.json', 'weights.bin'].map((file) => ({ name: `pt-run/${net}/${file}`, blob: new Blob([readFileSync(join(dir, 'pt-run', net, file))]) })),
      );
      const read = ok(await readProgramWeights(picked, want));
      expect(read.source).toBe('pt-run');
      expect(Object.keys(read.networks).sort()).toEqual(['decoder', 'model']);
      expect(read.missing).toEqual([]);

      const programRun = new ProgramRun(tf, capsnet, 1);
      try {
        for (const [id, w] of Object.entries(read.networks)) {
          await programRun.loadNetwork(id, w);
          // Each weight the network has now holds what PyTorch wrote for it (found by name in weights.bin).
          let offset = 0;
          const fromFile = new Map(
            w.weightSpecs.map((s) => {
              const n = s.shape.reduce((a, b) => a * b, 1);
              const values = new Float32Array(w.weightData, offset, n);
              offset += 4 * n;
              return [s.name, values];
            }),
          );
          for (const weight of programRun.networks.get(id)!.model.weights)
            expect(Array.from(weight.read().dataSync() as Float32Array)).toEqual(Array.from(fromFile.get(weight.originalName)!));
        }
      } finally {
        for (const state of programRun.networks.values()) {
          state.model.dispose();
          tf.dispose(state.initial);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
