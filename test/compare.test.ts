import { describe, expect, it } from 'vitest';
import { csvCell, csvText, paretoFront } from '../src/document/compare';
import { parseSweepValues, sweepVariants, SweepUsageError, variantLabel } from '../src/document/sweep';
import { templateDocument } from '../templates/index';

const convmixer = () => {
  const t = templateDocument('convmixer', 'mnist');
  if ('error' in t) throw new Error(t.error);
  return t.doc;
};

describe('the Pareto front of accuracy against cost', () => {
  const front = (points: [number | null, number | null][]) =>
    paretoFront(
      points,
      (p) => p[0],
      (p) => p[1],
    );

  it('keeps what nothing beats on both, drops what is beaten on one and tied on the other', () => {
    // [accuracy, cost]
    expect(
      front([
        [0.9, 100],
        [0.95, 200],
        [0.9, 150], // as accurate as the first, costlier
        [0.97, 400],
        [0.96, 400], // as costly as the one before, less accurate
        [0.8, 50],
        [0.85, 300], // beaten by the first on both
      ]),
    ).toEqual([true, true, false, true, false, true, false]);
  });

  it('two identical points are both on the front; a run without accuracy or cost is never on it and beats nothing', () => {
    expect(
      front([
        [0.9, 10],
        [0.9, 10],
      ]),
    ).toEqual([true, true]);
    expect(
      front([
        [null, 1],
        [0.5, null],
        [0.4, 100],
        [Number.NaN, 5],
      ]),
    ).toEqual([false, false, true, false]);
    expect(front([])).toEqual([]);
  });
});

describe('CSV cells', () => {
  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('plain')).toBe('plain');
  });

  it('text that a spreadsheet would run as a formula starts with an apostrophe; numbers stay numbers', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
    expect(csvCell(-0.5)).toBe('-0.5');
    expect(csvCell(1e-3)).toBe('0.001');
  });

  it('empty for null, undefined and non-finite numbers; rows end with a line break', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(true)).toBe('true');
    expect(
      csvText([
        ['run', 'acc'],
        ['a,b', 0.5],
      ]),
    ).toBe('run,acc\n"a,b",0.5\n');
  });
});

describe('sweep variants', () => {
  it('a grid over a node param and the learning rate: new documents, the original untouched', () => {
    const doc = convmixer();
    const before = JSON.stringify(doc);
    const variants = sweepVariants(doc, [
      { name: 'stem.dim', values: [32, 48] },
      { name: 'lr', values: [0.001, 0.003] },
    ]);
    expect(variants.map((v) => v.values)).toEqual([
      { 'stem.dim': 32, lr: 0.001 },
      { 'stem.dim': 32, lr: 0.003 },
      { 'stem.dim': 48, lr: 0.001 },
      { 'stem.dim': 48, lr: 0.003 },
    ]);
    expect(variants.map((v) => v.doc.nodes.find((n) => n.id === 'stem')!.params.dim)).toEqual([32, 32, 48, 48]);
    expect(variants.map((v) => v.doc.training?.learningRate)).toEqual([0.001, 0.003, 0.001, 0.003]);
    // Everything else is shared with the original, which is unchanged.
    expect(variants[0]!.doc.nodes.find((n) => n.id === 'head')).toBe(doc.nodes.find((n) => n.id === 'head'));
    expect(JSON.stringify(doc)).toBe(before);
  });

  it('random picks are distinct, seeded and at most the grid', () => {
    const doc = convmixer();
    const params = [
      { name: 'depth', values: [1, 2, 3] },
      { name: 'batchSize', values: [16, 32] },
    ];
    const picks = sweepVariants(doc, params, { random: 3, seed: 5 });
    expect(picks).toHaveLength(3);
    expect(new Set(picks.map((p) => variantLabel(p.values))).size).toBe(3);
    expect(sweepVariants(doc, params, { random: 3, seed: 5 }).map((p) => p.values)).toEqual(picks.map((p) => p.values));
    expect(picks.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(picks.every((p) => p.doc.nodes.find((n) => n.id === 'mixer')!.repeat === p.values.depth)).toBe(true);
    expect(sweepVariants(doc, params, { random: 50 })).toHaveLength(6);
  });

  it('a node id with a dot in it is found whole', () => {
    const doc = convmixer();
    const dotted = { ...doc, nodes: doc.nodes.map((n) => (n.id === 'head' ? { ...n, id: 'cls.head' } : n)) };
    const [variant] = sweepVariants(dotted, [{ name: 'cls.head.units', values: [12] }]);
    expect(variant!.doc.nodes.find((n) => n.id === 'cls.head')!.params.units).toBe(12);
  });

  it('an unknown name is refused before any variant is made; values and labels in words', () => {
    expect(() => sweepVariants(convmixer(), [{ name: 'width', values: [1] }])).toThrow(SweepUsageError);
    expect(parseSweepValues(' 32, 64 ,, 1e-3,adam')).toEqual([32, 64, 0.001, 'adam']);
    expect(variantLabel({ 'stem.dim': 32, lr: 0.001 })).toBe('stem.dim=32 · lr=0.001');
  });
});
