import { describe, expect, it } from 'vitest';
import { MAX_VARIANTS, planSweep, suggestedValues, sweepChoices } from '../src/editor/train/sweep';
import { templateDocument } from '../templates/index';

const convmixer = () => {
  const t = templateDocument('convmixer', 'mnist');
  if ('error' in t) throw new Error(t.error);
  return t.doc;
};

describe('sweeps in the Train tab: what can be swept and the variants a draft makes', () => {
  it('offers the learning rate, batch size, epochs, block repeats and numeric node params', () => {
    const names = sweepChoices(convmixer()).map((c) => c.name);
    expect(names.slice(0, 3)).toEqual(['lr', 'batchSize', 'epochs']);
    expect(names).toContain('stem.dim');
    expect(names).toContain('mixer.repeat');
    expect(names).toContain('mixer.kernelSize');
    // Text params (activations) are not offered.
    expect(names.some((n) => n.endsWith('.activation'))).toBe(false);
    const dim = sweepChoices(convmixer()).find((c) => c.name === 'stem.dim')!;
    expect(dim).toMatchObject({ current: 64, integer: true, node: 'patch_embed' });
    expect(suggestedValues(dim)).toBe('64, 128');
    expect(suggestedValues(sweepChoices(convmixer())[0]!)).toBe('0.003, 0.009');
  });

  it('a grid of two widths: each variant compiled with its own plan and cost; the graph untouched', () => {
    const doc = convmixer();
    const before = JSON.stringify(doc);
    const planned = planSweep(doc, {
      params: [
        { name: 'stem.dim', values: '16, 32' },
        { name: 'lr', values: '1e-3' },
      ],
    });
    if ('error' in planned) throw new Error(planned.error);
    expect(planned.variants.map((v) => v.label)).toEqual(['stem.dim=16 · lr=0.001', 'stem.dim=32 · lr=0.001']);
    expect(planned.variants.every((v) => v.plan && !v.problem)).toBe(true);
    expect(planned.variants.map((v) => v.setup!.learningRate)).toEqual([0.001, 0.001]);
    const [a, b] = planned.variants.map((v) => v.cost!);
    expect(b!.macs).toBeGreaterThan(a!.macs);
    expect(b!.trainableParams).toBeGreaterThan(a!.trainableParams);
    expect(JSON.stringify(doc)).toBe(before);
  });

  it('refuses values that cannot work, in words, and more variants than a tab should train', () => {
    const doc = convmixer();
    const error = (params: { name: string; values: string }[], random?: number) => {
      const p = planSweep(doc, { params, random });
      return 'error' in p ? p.error : null;
    };
    expect(error([{ name: 'stem.dim', values: '16, 2.5' }])).toMatch(/stem\.dim takes whole numbers above 0; "2\.5" is not one/);
    expect(error([{ name: 'lr', values: 'fast' }])).toMatch(/Learning rate takes numbers above 0; "fast" is not one/);
    expect(error([{ name: 'batchSize', values: '0, 32' }])).toMatch(/Batch size takes whole numbers above 0/);
    expect(error([{ name: 'stem.dim', values: '' }])).toMatch(/Give stem\.dim one or more values/);
    expect(error([{ name: 'stem.dim', values: '16, 16' }])).toMatch(/lists a value twice/);
    expect(error([{ name: 'nope.units', values: '3' }])).toMatch(/not a param of this graph/);
    expect(error([])).toMatch(/Choose a param/);
    const many = Array.from({ length: MAX_VARIANTS + 1 }, (_, i) => i + 1).join(',');
    expect(error([{ name: 'epochs', values: many }])).toMatch(/17 variants is more than a tab trains in one go \(16\)/);
    // Random picks bring it under the limit.
    expect(error([{ name: 'epochs', values: many }], 3)).toBeNull();
  });

  it('a variant whose graph does not compile is kept, with why, and not trained', () => {
    const planned = planSweep(convmixer(), { params: [{ name: 'stem.patchSize', values: '2, 100' }] });
    if ('error' in planned) throw new Error(planned.error);
    expect(planned.variants[0]!.problem).toBeUndefined();
    expect(planned.variants[1]!.plan).toBeNull();
    expect(planned.variants[1]!.problem).toBeTruthy();
  });

  it('a variant whose training step does not fit in a tab at its own batch size is refused (PB310), the others train', () => {
    // ViT-B/16 at the paper's batch of 64 is refused Start; at 15 its step fits (references.test.ts, memory.test.ts).
    const t = templateDocument('vit', 'B/16');
    if ('error' in t) throw new Error(t.error);
    const planned = planSweep(t.doc, { params: [{ name: 'batchSize', values: '15, 16' }] });
    if ('error' in planned) throw new Error(planned.error);
    const [fits, past] = planned.variants;
    expect(fits!.problem).toBeUndefined();
    expect(fits!.plan).not.toBeNull();
    expect(past!.plan).toBeNull();
    expect(past!.problem).toMatch(/^A training step at batch 16 needs about [\d.]+ GB, more than the [\d.]+ GB a browser tab can give it/);
    expect(past!.problem).toContain('Lower the batch size to 15 or less');
  });
});
