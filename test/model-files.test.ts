/**
 * Reading a model.json to import with its weight files, or a .zip of them (src/editor/model-files):
 * the weights come back byte for byte; a missing, short or oversized weight file, or an oversized
 * model.json or .zip, is a plain message, checked before anything large is read; and a weights
 * problem leaves the model.json's text, so the graph still opens.
 */
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { importModel } from '../src/compiler/import-keras';
import { MAX_IMPORTED_WEIGHT_BYTES, MAX_MODEL_JSON_BYTES, MAX_MODEL_ZIP_BYTES, readModelFiles, type ModelFiles } from '../src/editor/model-files';

/** A tfjs Layers model.json of a small Dense net (4 → 3 → 2), with its weights in `weights.bin`. */
function tinyModel() {
  const dense = (name: string, units: number, from: string) => ({
    class_name: 'Dense',
    name,
    config: { name, units, activation: 'relu', use_bias: true },
    inbound_nodes: [[[from, 0, 0, {}]]],
  });
  const modelTopology = {
    class_name: 'Model',
    config: {
      name: 'tiny',
      layers: [
        { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, 4], dtype: 'float32' }, inbound_nodes: [] },
        dense('hidden', 3, 'x'),
        dense('logits', 2, 'hidden'),
      ],
      input_layers: [['x', 0, 0]],
      output_layers: [['logits', 0, 0]],
    },
  };
  const weights = [
    { name: 'hidden/kernel', shape: [4, 3], dtype: 'float32' },
    { name: 'hidden/bias', shape: [3], dtype: 'float32' },
    { name: 'logits/kernel', shape: [3, 2], dtype: 'float32' },
    { name: 'logits/bias', shape: [2], dtype: 'float32' },
  ];
  const values = Float32Array.from({ length: 12 + 3 + 6 + 2 }, (_, i) => i / 10 - 1);
  const json = JSON.stringify({ modelTopology, format: 'layers-model', weightsManifest: [{ paths: ['./weights.bin'], weights }] });
  return { json, bin: new Uint8Array(values.buffer) };
}

const file = (name: string, data: string | Uint8Array) => ({ name, blob: new Blob([typeof data === 'string' ? data : (data as Uint8Array<ArrayBuffer>)]) });
/** A Blob that says it is `size` bytes but holds none: a check that reads it fails the test. */
const claimed = (name: string, size: number) => ({
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

function ok(result: ModelFiles | { error: string }): ModelFiles {
  if ('error' in result) throw new Error(result.error);
  return result;
}

describe('readModelFiles', () => {
  it('reads model.json with its weights.bin, byte for byte, and the model imports as a graph', async () => {
    const { json, bin } = tinyModel();
    const read = ok(await readModelFiles([file('model.json', json), file('weights.bin', bin)]));
    expect(read.weightsProblem).toBeNull();
    expect(read.weightFiles).toEqual(['weights.bin']);
    expect(read.weights!.weightSpecs.map((s) => s.name)).toEqual(['hidden/kernel', 'hidden/bias', 'logits/kernel', 'logits/bias']);
    expect(new Uint8Array(read.weights!.weightData)).toEqual(bin);
    expect(importModel(read.text).doc?.nodes.length).toBe(4);
  });

  it('says which weight file is missing, and keeps the model.json so the graph opens', async () => {
    const { json } = tinyModel();
    const read = ok(await readModelFiles([file('model.json', json)]));
    expect(read.weights).toBeNull();
    expect(read.weightsProblem).toContain('"weights.bin", which was not there');
    expect(importModel(read.text).doc).not.toBeNull();
  });

  it('refuses a weight file cut short (or too long) against the manifest', async () => {
    const { json, bin } = tinyModel();
    const short = ok(await readModelFiles([file('model.json', json), file('weights.bin', bin.subarray(0, bin.length - 4))]));
    expect(short.weights).toBeNull();
    expect(short.weightsProblem).toBe('weights.bin holds 88 bytes, but model.json describes 92 (4 weights): it is cut short, or it belongs to another model.');
    const long = ok(await readModelFiles([file('model.json', json), file('weights.bin', new Uint8Array(96))]));
    expect(long.weightsProblem).toContain('it is longer');
  });

  it('refuses weights over the limit, and an oversized model.json or .zip, without reading them', async () => {
    const huge = JSON.stringify({
      modelTopology: JSON.parse(tinyModel().json).modelTopology,
      weightsManifest: [{ paths: ['./weights.bin'], weights: [{ name: 'w', shape: [MAX_IMPORTED_WEIGHT_BYTES / 4 + 1], dtype: 'float32' }] }],
    });
    const read = ok(await readModelFiles([file('model.json', huge), claimed('weights.bin', MAX_IMPORTED_WEIGHT_BYTES + 4)]));
    expect(read.weightsProblem).toBe('model.json describes 1 GB of weights; Patchbay imports at most 1 GB, so they were not read.');
    expect(await readModelFiles([claimed('model.json', MAX_MODEL_JSON_BYTES + 1)])).toEqual({
      error: 'model.json is 16 MB; a model.json holds the topology, not the weights, and Patchbay reads one of up to 16 MB.',
    });
    expect(await readModelFiles([claimed('trained.zip', MAX_MODEL_ZIP_BYTES + 1)])).toEqual({
      error: 'trained.zip is 1.3 GB; Patchbay imports a model .zip of up to 1.3 GB. Nothing was read.',
    });
  });

  it('reads a .zip with model.json and its weights in a folder', async () => {
    const { json, bin } = tinyModel();
    const zip = zipSync({ 'run/tfjs/model.json': strToU8(json), 'run/tfjs/weights.bin': bin, 'run/metrics.json': strToU8('{}') });
    const read = ok(await readModelFiles([file('trained.zip', zip)]));
    expect(read.name).toBe('run/tfjs/model.json');
    expect(read.weightFiles).toEqual(['run/tfjs/weights.bin']);
    expect(new Uint8Array(read.weights!.weightData)).toEqual(bin);
  });

  it('names the problem in a .zip: two model.json, none, a short weight file, a damaged archive', async () => {
    const { json, bin } = tinyModel();
    const two = zipSync({ 'a/model.json': strToU8(json), 'b/model.json': strToU8(json) });
    expect(await readModelFiles([file('two.zip', two)])).toEqual({
      error: "two.zip holds 2 model.json files (a/model.json, b/model.json); import one folder's model.json and weight files.",
    });
    expect(await readModelFiles([file('none.zip', zipSync({ 'readme.txt': strToU8('hi') }))])).toEqual({ error: 'none.zip holds no model.json.' });
    const short = ok(await readModelFiles([file('short.zip', zipSync({ 'model.json': strToU8(json), 'weights.bin': bin.subarray(0, 40) }))]));
    expect(short.weightsProblem).toContain('weights.bin holds 40 bytes, but model.json describes 92');
    const damaged = await readModelFiles([file('bad.zip', new Uint8Array(100))]);
    expect('error' in damaged && damaged.error).toContain('could not be read as a zip archive');
  });

  it('asks for one model.json, and not a .zip beside other files', async () => {
    const { json, bin } = tinyModel();
    expect(await readModelFiles([file('weights.bin', bin)])).toEqual({ error: 'Pick a model.json (with its weight files).' });
    expect(await readModelFiles([file('a.json', json), file('b.json', json)])).toEqual({ error: 'Pick one model.json at a time (2 .json files were picked).' });
    expect(await readModelFiles([file('m.zip', new Uint8Array(10)), file('weights.bin', bin)])).toEqual({
      error: 'Pick either one .zip, or model.json together with its weight files, not both.',
    });
  });

  it('reports a hostile manifest (nesting, bad shapes) as a weights problem, not a crash', async () => {
    const deep = `{"modelTopology":{},"weightsManifest":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(ok(await readModelFiles([file('model.json', deep)])).weightsProblem).toContain('more than 64 levels deep');
    const badShape = JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [-1], dtype: 'float32' }] }] });
    expect(ok(await readModelFiles([file('model.json', badShape)])).weightsProblem).toBe('The weight "w" in model.json has no valid shape.');
  });
});
