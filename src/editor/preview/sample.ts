/**
 * Which example is pinned for the previews: by default the first held-out example of data that
 * fits the model's input (the Train tab's choice when it fits, else MNIST or a synthetic set of the
 * same shape); the person can step through held-out examples, draw a digit, or take a row of their
 * own CSV or images. A model no data fits gets a made-up example, and says so.
 */
import type { Dataset } from '../../runtime/data/dataset';
import { exampleSize } from '../../runtime/data/dataset';
import { SYNTHETIC, SYNTHETIC_NAMES, isSyntheticName } from '../../runtime/data/synthetic';
import type { PreviewSample, TrainData } from '../../runtime/worker/protocol';
import type { DataChoice } from '../training';
import { MNIST_FULL_INFO, MNIST_INFO } from '../training';
import type { Pin } from './keys';

export type NamedData = Exclude<TrainData, { kind: 'inline' }>;

export { heldOutIndexOf, type Pin } from './keys';

/** Where held-out examples come from for an input shape. */
export type SampleSource =
  | { kind: 'named'; data: NamedData; title: string; noun: string; count: number; classNames: readonly string[] }
  | { kind: 'user'; dataset: Dataset; title: string; noun: string; count: number; classNames: readonly string[] }
  | { kind: 'made-up' };

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function named(name: Exclude<DataChoice, 'csv' | 'images'>): SampleSource {
  if (name === 'mnist') return { kind: 'named', data: 'mnist', title: 'MNIST', noun: 'digit', count: MNIST_INFO.testCount, classNames: MNIST_INFO.classNames };
  // Its 10,000 test digits, downloaded with the set (the worker loads it for the first held-out example).
  if (name === 'mnist-full')
    return {
      kind: 'named',
      data: 'mnist-full',
      title: MNIST_FULL_INFO.title,
      noun: 'digit',
      count: MNIST_FULL_INFO.testCount,
      classNames: MNIST_FULL_INFO.classNames,
    };
  const info = SYNTHETIC[name];
  return {
    kind: 'named',
    data: { kind: 'synthetic', name },
    title: info.title,
    noun: info.inputShape.length === 1 ? 'point' : 'image',
    count: info.testCount,
    classNames: info.classNames,
  };
}

/** The data a model with this input draws its pinned examples from. */
export function sampleSourceFor(
  inputShape: readonly number[],
  choice: DataChoice,
  user: { csv: Dataset | undefined; images: Dataset | undefined },
): SampleSource {
  const own = choice === 'csv' ? user.csv : choice === 'images' ? user.images : undefined;
  if (own && same(own.inputShape, inputShape) && own.test.count + own.train.count > 0) {
    return {
      kind: 'user',
      dataset: own,
      title: own.name,
      noun: choice === 'csv' ? 'row' : 'image',
      count: own.test.count || own.train.count,
      classNames: own.classNames,
    };
  }
  if (
    (choice === 'mnist' || choice === 'mnist-full' || isSyntheticName(choice)) &&
    same(isSyntheticName(choice) ? SYNTHETIC[choice].inputShape : MNIST_INFO.inputShape, inputShape)
  )
    return named(choice);
  if (same(MNIST_INFO.inputShape, inputShape)) return named('mnist');
  const synthetic = SYNTHETIC_NAMES.find((n) => same(SYNTHETIC[n].inputShape, inputShape));
  return synthetic ? named(synthetic) : { kind: 'made-up' };
}

/**
 * A made-up example for a model no data fits: a smooth pattern in [0, 1] (a product of sines over
 * the axes), the same every time, so previews of two edits compare. Integer inputs (token ids) get zeros.
 */
export function madeUpExample(inputShape: readonly number[], dtype: 'float32' | 'int32' = 'float32'): Float32Array {
  const size = inputShape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(size);
  if (dtype === 'int32') return out;
  const strides = inputShape.map((_, i) => inputShape.slice(i + 1).reduce((a, d) => a * d, 1));
  for (let k = 0; k < size; k++) {
    let v = 1;
    inputShape.forEach((d, axis) => {
      const i = Math.floor(k / strides[axis]!) % d;
      // A phase off the middle, so the pattern is not mirror-symmetric (its channels and rows differ).
      v *= 0.5 + 0.5 * Math.sin(((i + 0.5) / d) * Math.PI * (axis + 1) + 0.7 * axis - 0.4);
    });
    out[k] = v;
  }
  return out;
}

/** The request's sample for a pin on a source; null when a drawing does not fit the input. */
export function sampleOf(pin: Pin, source: SampleSource, inputShape: readonly number[], dtype: 'float32' | 'int32'): PreviewSample | null {
  const size = inputShape.reduce((a, d) => a * d, 1);
  if (pin.kind === 'drawn') return pin.values.length === size ? { kind: 'values', values: Float32Array.from(pin.values) } : null;
  const index = pin.kind === 'held-out' ? pin.index : 0;
  if (source.kind === 'named') return { kind: 'held-out', data: source.data, index };
  if (source.kind === 'user') {
    const ds = source.dataset;
    const split = ds.test.count > 0 ? ds.test : ds.train;
    const per = exampleSize(ds);
    const i = Math.min(Math.max(0, index), split.count - 1);
    return { kind: 'values', values: Float32Array.from(split.x.subarray(i * per, (i + 1) * per)) };
  }
  return { kind: 'values', values: madeUpExample(inputShape, dtype) };
}

/** The pin in words, for the bar over the canvas: "MNIST digit #1 (a 7)". */
export function pinText(pin: Pin, source: SampleSource, label: number | undefined): string {
  if (pin.kind === 'drawn') return 'Your drawing';
  if (source.kind === 'made-up') return 'A made-up example (no data fits this input)';
  const index = pin.kind === 'held-out' ? pin.index : 0;
  const cls = label !== undefined ? source.classNames[label] : undefined;
  // MNIST's full set pins its own test digits; every other set's examples are held-out training ones.
  const split = source.kind === 'named' && source.data === 'mnist-full' ? 'test' : 'held-out';
  return `${source.title} ${split} ${source.noun} #${index + 1}${cls !== undefined ? ` (${source.noun === 'digit' ? 'a ' : 'class '}${cls})` : ''}`;
}
