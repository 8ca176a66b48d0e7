import { describe, expect, it } from 'vitest';
import type { Dataset } from '../src/runtime/data/dataset';
import { heldOutIndexOf, madeUpExample, pinText, sampleOf, sampleSourceFor } from '../src/editor/preview/sample';

/** A CSV-like dataset of 3 features: test rows are [10, 11, 12], [20, 21, 22]. */
const csv: Dataset = {
  name: 'flowers.csv',
  inputShape: [3],
  classNames: ['a', 'b'],
  train: { count: 1, x: Float32Array.from([1, 2, 3]), y: Uint8Array.from([0]) },
  test: { count: 2, x: Float32Array.from([10, 11, 12, 20, 21, 22]), y: Uint8Array.from([1, 0]) },
};

describe('the pinned example', () => {
  it('comes from the data that fits the input: the Train tab choice first, then MNIST or a synthetic set of that shape', () => {
    const none = { csv: undefined, images: undefined };
    expect(sampleSourceFor([28, 28, 1], 'mnist', none)).toMatchObject({ kind: 'named', data: 'mnist', noun: 'digit' });
    // The Train tab says moons, but the model takes digits: MNIST, not moons.
    expect(sampleSourceFor([28, 28, 1], 'moons', none)).toMatchObject({ kind: 'named', data: 'mnist' });
    // A grey 28×28 model with "Shapes" chosen pins a shape.
    expect(sampleSourceFor([28, 28, 1], 'shapes', none)).toMatchObject({ kind: 'named', data: { kind: 'synthetic', name: 'shapes' } });
    expect(sampleSourceFor([2], 'mnist', none)).toMatchObject({ kind: 'named', data: { kind: 'synthetic', name: 'moons' }, noun: 'point' });
    expect(sampleSourceFor([32, 32, 3], 'mnist', none)).toMatchObject({ kind: 'named', data: { kind: 'synthetic', name: 'shapes-rgb' } });
    expect(sampleSourceFor([64], 'mnist', none)).toEqual({ kind: 'made-up' });
    expect(sampleSourceFor([3], 'csv', { csv, images: undefined })).toMatchObject({ kind: 'user', noun: 'row', count: 2 });
    // Your CSV of 3 columns does not fit a 4-feature model.
    expect(sampleSourceFor([4], 'csv', { csv, images: undefined })).toEqual({ kind: 'made-up' });
  });

  it("with MNIST's full split chosen, a digit model pins one of its 10,000 test digits; a 2-D model still pins a moon", () => {
    const none = { csv: undefined, images: undefined };
    const full = sampleSourceFor([28, 28, 1], 'mnist-full', none);
    expect(full).toMatchObject({ kind: 'named', data: 'mnist-full', title: 'MNIST (full)', noun: 'digit', count: 10_000 });
    expect(sampleOf({ kind: 'held-out', index: 9_999 }, full, [28, 28, 1], 'float32')).toEqual({ kind: 'held-out', data: 'mnist-full', index: 9_999 });
    expect(pinText({ kind: 'held-out', index: 0 }, full, 7)).toBe('MNIST (full) test digit #1 (a 7)');
    expect(sampleSourceFor([2], 'mnist-full', none)).toMatchObject({ kind: 'named', data: { kind: 'synthetic', name: 'moons' } });
  });

  it("a CSV row's values, a held-out index for named data, a drawing only when it fits", () => {
    const source = sampleSourceFor([3], 'csv', { csv, images: undefined });
    expect(sampleOf({ kind: 'held-out', index: 1 }, source, [3], 'float32')).toEqual({ kind: 'values', values: Float32Array.from([20, 21, 22]) });
    expect(sampleOf({ kind: 'auto' }, source, [3], 'float32')).toEqual({ kind: 'values', values: Float32Array.from([10, 11, 12]) });
    const mnist = sampleSourceFor([28, 28, 1], 'mnist', { csv: undefined, images: undefined });
    expect(sampleOf({ kind: 'held-out', index: 4 }, mnist, [28, 28, 1], 'float32')).toEqual({ kind: 'held-out', data: 'mnist', index: 4 });
    const drawn = { kind: 'drawn', values: new Float32Array(784).fill(1), after: 3 } as const;
    expect(sampleOf(drawn, mnist, [28, 28, 1], 'float32')).toMatchObject({ kind: 'values' });
    expect(sampleOf(drawn, mnist, [32, 32, 3], 'float32')).toBeNull();
    expect(heldOutIndexOf(drawn)).toBe(3);
    expect(pinText({ kind: 'held-out', index: 1 }, source, 0)).toBe('flowers.csv held-out row #2 (class a)');
    expect(pinText({ kind: 'auto' }, mnist, 7)).toBe('MNIST held-out digit #1 (a 7)');
    expect(pinText(drawn, mnist, undefined)).toBe('Your drawing');
  });

  it('a made-up example is a smooth pattern in [0, 1] that repeats; integer inputs get zeros', () => {
    const a = madeUpExample([4, 4, 2]);
    expect(a).toEqual(madeUpExample([4, 4, 2]));
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
    expect(new Set(a).size).toBeGreaterThan(4);
    // By hand for [2]: 0.5 + 0.5·sin((i + 0.5) / 2 · π − 0.4) → 0.5 + 0.5·sin(π/4 − 0.4), 0.5 + 0.5·sin(3π/4 − 0.4).
    expect(madeUpExample([2])[0]).toBeCloseTo(0.5 + 0.5 * Math.sin(Math.PI / 4 - 0.4), 6);
    expect(madeUpExample([2])[1]).toBeCloseTo(0.5 + 0.5 * Math.sin((3 * Math.PI) / 4 - 0.4), 6);
    expect(madeUpExample([5], 'int32')).toEqual(new Float32Array(5));
  });
});
