/**
 * The Train tab's check of a hand-built classifier: it names the real problem (a Dense on an image,
 * a last Dense without softmax) and its fixes are document edits that leave a graph that fits.
 */
import { describe, expect, it } from 'vitest';
import { analyze, lower } from '../src/compiler/index';
import { TrainingSchema } from '../src/document/schema';
import { dataMismatch } from '../src/runtime/data/fit';
import { checkModel } from '../src/editor/train/model-check';
import { formatNumber } from '../src/editor/train/format';
import { graph } from './helpers/graphs';

const MNIST = { title: 'MNIST', noun: 'digits', inputShape: [28, 28, 1], classes: 10 };
const setup = TrainingSchema.parse({});

/** Input 28×28×1 → Conv2D → [Flatten →] Dense 10 (linear: Keras's default) → Output. */
function newcomer(flatten: boolean) {
  return graph(
    [
      { id: 'image', type: 'Input', params: { shape: [28, 28, 1] }, position: { x: 0, y: 0 } },
      { id: 'conv', type: 'Conv2D', params: { filters: 8, kernelSize: 3, activation: 'relu' }, position: { x: 0, y: 100 } },
      ...(flatten ? [{ id: 'flat', type: 'Flatten', position: { x: 0, y: 200 } }] : []),
      { id: 'classes', type: 'Dense', params: { units: 10 }, position: { x: 0, y: 300 } },
      { id: 'out', type: 'Output', position: { x: 0, y: 400 } },
    ],
    flatten
      ? [
          ['image', 'conv'],
          ['conv', 'flat'],
          ['flat', 'classes'],
          ['classes', 'out'],
        ]
      : [
          ['image', 'conv'],
          ['conv', 'classes'],
          ['classes', 'out'],
        ],
  );
}

describe('the Train tab check', () => {
  it('names a last Dense without softmax, and its fix sets softmax on that Dense only', () => {
    const doc = newcomer(true);
    const problems = checkModel(doc, analyze(doc), setup);
    expect(problems.map((p) => [p.id, p.nodeId, p.title, p.fixLabel])).toEqual([
      ['no-softmax', 'classes', 'The last Dense has no softmax: cross-entropy needs probabilities', 'Use softmax on the last Dense'],
    ]);
    expect(problems[0]!.detail).toMatch(/"classes" ends in no activation \("linear", the default\)/);
    const fixed = problems[0]!.fix(doc);
    expect(fixed.nodes.find((n) => n.id === 'classes')!.params).toEqual({ units: 10, activation: 'softmax' });
    expect(fixed.nodes.find((n) => n.id === 'conv')).toBe(doc.nodes.find((n) => n.id === 'conv'));
    expect(checkModel(fixed, analyze(fixed), setup)).toEqual([]);
    // Not a problem when the loss does not read probabilities.
    expect(checkModel(doc, analyze(doc), TrainingSchema.parse({ loss: 'meanSquaredError' }))).toEqual([]);
  });

  it('looks past a Dropout before the output, and accepts a softmax Activation at the end', () => {
    const doc = graph(
      [
        { id: 'x', type: 'Input', params: { shape: [4] } },
        { id: 'd', type: 'Dense', params: { units: 3, activation: 'relu' } },
        { id: 'drop', type: 'Dropout', params: { rate: 0.2 } },
      ],
      [
        ['x', 'd'],
        ['d', 'drop'],
      ],
    );
    expect(checkModel(doc, analyze(doc), setup).map((p) => [p.id, p.nodeId])).toEqual([['no-softmax', 'd']]);
    expect(checkModel(doc, analyze(doc), setup)[0]!.detail).toMatch(/ends in "relu"/);
    const withSoftmax = graph(
      [...doc.nodes, { id: 'sm', type: 'Activation', params: { activation: 'softmax' } }],
      [
        ['x', 'd'],
        ['d', 'drop'],
        ['drop', 'sm'],
      ],
    );
    expect(checkModel(withSoftmax, analyze(withSoftmax), setup)).toEqual([]);
  });

  it('says a Dense on an image acts per pixel (not what the data check would say), and inserts a Flatten before it', () => {
    const doc = newcomer(false);
    const analysis = analyze(doc);
    const plan = lower(analysis).plan!;
    // What the data check alone says: a true fact that points at the wrong fix.
    expect(dataMismatch(plan, MNIST)).toMatch(/outputs \(None, 26, 26, 10\)/);
    const problems = checkModel(doc, analysis, setup);
    expect(problems.map((p) => p.id)).toEqual(['dense-on-image', 'no-softmax']);
    const perPixel = problems[0]!;
    expect(perPixel.title).toBe('Dense on an image acts per pixel');
    expect(perPixel.fixLabel).toBe('Insert Flatten before Dense');
    expect(perPixel.blocking).toBe(true);
    expect(perPixel.detail).toMatch(/"classes" gets \(None, 26, 26, 8\).*ends in \(None, 26, 26, 10\)/);

    const flattened = perPixel.fix(doc);
    const flat = flattened.nodes.find((n) => n.type === 'Flatten')!;
    expect(flat.position).toEqual({ x: 0, y: 200 });
    expect(flattened.edges.filter((e) => e.target === flat.id || e.source === flat.id).map((e) => [e.source, e.target])).toEqual([
      ['conv', flat.id],
      [flat.id, 'classes'],
    ]);
    expect(flattened.edges).toHaveLength(doc.edges.length + 1);
    const after = analyze(flattened);
    expect(after.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const fixedBoth = checkModel(flattened, after, setup)[0]!.fix(flattened);
    expect(checkModel(fixedBoth, analyze(fixedBoth), setup)).toEqual([]);
    expect(dataMismatch(lower(analyze(fixedBoth)).plan!, MNIST)).toBeNull();
  });

  it('leaves a Dense on an image alone when the model still ends in one row per example', () => {
    const doc = graph(
      [
        { id: 'image', type: 'Input', params: { shape: [8, 8, 3] } },
        { id: 'pixelwise', type: 'Dense', params: { units: 4, activation: 'relu' } },
        { id: 'gap', type: 'GlobalAveragePooling2D' },
        { id: 'classes', type: 'Dense', params: { units: 2, activation: 'softmax' } },
      ],
      [
        ['image', 'pixelwise'],
        ['pixelwise', 'gap'],
        ['gap', 'classes'],
      ],
    );
    expect(checkModel(doc, analyze(doc), setup)).toEqual([]);
  });
});

describe('numbers for people', () => {
  it('rounds to a few significant digits, groups large values and shortens tiny ones', () => {
    expect([1.6726, 0.0123456, 12345, 1234567, 999.5, 3e-7, 0, -0.25, 2].map((v) => formatNumber(v))).toEqual([
      '1.67',
      '0.0123',
      '12.3k',
      '1.23M',
      '1,000',
      '3e-7',
      '0',
      '−0.25',
      '2',
    ]);
    expect(formatNumber(2.302585, 4)).toBe('2.303');
    expect(formatNumber(Number.NaN)).toBe('NaN');
  });
});
