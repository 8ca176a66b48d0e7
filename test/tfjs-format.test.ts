import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fromModelJson, toModelJson, WEIGHTS_FILE } from '../src/runtime/tfjs-format';
import type { WeightArtifacts } from '../src/runtime/worker/protocol';
import { useCpuBackend } from './helpers/tf';

/** The exported files are tfjs's own format: tf.loadLayersModel reads them over HTTP, as a user's app would. */
describe('tfjs weights format (export / import without tfjs on the page)', () => {
  it('model.json + weights.bin load with tf.loadLayersModel and round-trip through import', async () => {
    const tf = await useCpuBackend();
    const input = tf.input({ shape: [4] });
    const hidden = tf.layers.dense({ units: 3, activation: 'relu', name: 'hidden' }).apply(input) as import('@tensorflow/tfjs').SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(hidden) as import('@tensorflow/tfjs').SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    let artifacts: WeightArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = {
          modelTopology: a.modelTopology as object,
          weightSpecs: a.weightSpecs!.map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype })),
          weightData: a.weightData as ArrayBuffer,
        };
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const json = JSON.stringify(toModelJson(artifacts!));
    const bin = Buffer.from(artifacts!.weightData);

    const server = createServer((req, res) => {
      if (req.url === '/m/model.json') res.end(json);
      else if (req.url === `/m/${WEIGHTS_FILE}`) res.end(bin);
      else res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const loaded = await tf.loadLayersModel(`http://127.0.0.1:${(server.address() as AddressInfo).port}/m/model.json`);
      const x = tf.tensor2d([[1, -2, 3, 0.5]]);
      expect(Array.from((loaded.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync())).toEqual(
        Array.from((model.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync()),
      );
    } finally {
      server.close();
    }

    const back = fromModelJson(json, new Map([[WEIGHTS_FILE, bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength)]]));
    expect(back.weightSpecs).toEqual(artifacts!.weightSpecs);
    expect(new Uint8Array(back.weightData)).toEqual(new Uint8Array(artifacts!.weightData));
  });

  it('says plainly what is wrong with files that do not fit', () => {
    expect(() => fromModelJson('{', new Map())).toThrow(/not valid JSON/);
    expect(() => fromModelJson('{"a":1}', new Map())).toThrow(/not a tfjs layers model/);
    const json = JSON.stringify({
      modelTopology: {},
      weightsManifest: [{ paths: ['./weights.bin'], weights: [{ name: 'k', shape: [2, 2], dtype: 'float32' }] }],
    });
    expect(() => fromModelJson(json, new Map())).toThrow(/needs the weight file "weights.bin"/);
    expect(() => fromModelJson(json, new Map([['weights.bin', new ArrayBuffer(8)]]))).toThrow(/holds 8 bytes, but model.json describes 16/);
  });
});
