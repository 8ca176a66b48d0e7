/**
 * The browser's MNIST file decodes to exactly the numbers the CLI reads from the `mnist` package, so
 * a run in the page repeats the CLI's run: every pixel of both splits, in the same order. And a
 * damaged file is refused in words.
 */
import { describe, expect, it } from 'vitest';
import { decodeMnist, encodeMnist } from '../src/runtime/data/mnist-binary';
import { mnistFromDigits, type MnistDigits } from '../src/runtime/data/mnist';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const packageDigits = (): MnistDigits => Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);

describe('the browser’s MNIST file', () => {
  it('decodes to the same float32 pixels, labels and split as the package the CLI reads', async () => {
    const fromPackage = await loadMnistNode();
    const bytes = encodeMnist(packageDigits());
    const decoded = mnistFromDigits(decodeMnist(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer));
    for (const split of ['train', 'test'] as const) {
      const [a, b] = [fromPackage[split], decoded[split]];
      expect(b.count).toBe(a.count);
      expect(Buffer.from(b.y).equals(Buffer.from(a.y))).toBe(true);
      const differing = a.x.findIndex((v, i) => v !== b.x[i]);
      expect(differing, `first differing pixel: ${differing}`).toBe(-1);
    }
    // Not trivially equal: the digits have many grey levels between 0 and 1.
    expect(new Set(fromPackage.test.x).size).toBeGreaterThan(200);
  });

  it('refuses a file with a wrong header, a wrong version or missing digits', () => {
    const bytes = encodeMnist([new Float32Array(28 * 28 * 2).fill(0.5)]);
    const copy = () => bytes.slice().buffer as ArrayBuffer;
    const wrongMagic = copy();
    new DataView(wrongMagic).setUint32(0, 0);
    expect(() => decodeMnist(wrongMagic)).toThrow(/not in Patchbay's format/);
    const wrongVersion = copy();
    new DataView(wrongVersion).setUint16(4, 9, true);
    expect(() => decodeMnist(wrongVersion)).toThrow(/format version 9/);
    expect(() => decodeMnist(copy().slice(0, 100))).toThrow(/truncated/);
  });
});
