/**
 * A preview refresh keeps the preview object a node shows where the fresh one is equal to it
 * (editor/preview/preview-refresh.ts keepUnchanged), so that the node neither renders nor redraws
 * its canvas: fixing an edit that broke a 1,000-node graph brings back 1,000 previews equal to the
 * ones it dimmed. A preview that differs in any value is taken.
 */
import { describe, expect, it } from 'vitest';
import type { NodePreview } from '../src/runtime/preview-data';
import { keepUnchanged } from '../src/editor/preview/preview-refresh';

const preview = (nodeId: string, values: number[], mean = 0.5): NodePreview => ({
  nodeId,
  shape: [2, 2, 1],
  stats: { count: 4, min: 0, max: 1, mean, std: 0.25, norm: 1, nonFinite: 0 },
  histogram: { lo: 0, hi: 1, counts: [1, 2, 1] },
  picture: { kind: 'image', shape: [2, 2, 1], values: new Float32Array(values) },
});

describe('keepUnchanged', () => {
  it('keeps equal previews, takes changed and new ones', () => {
    const shown = new Map([
      ['a', preview('a', [0, 1, 0, 1])],
      ['b', preview('b', [0, 1, 0, 1])],
      ['c', preview('c', [NaN, 1, 0, 1])],
    ]);
    const fresh = [preview('a', [0, 1, 0, 1]), preview('b', [0, 1, 0, 0.5]), preview('c', [NaN, 1, 0, 1]), preview('d', [1, 1, 1, 1])];
    const kept = keepUnchanged(shown, fresh);
    expect(kept.get('a')).toBe(shown.get('a'));
    expect(kept.get('c')).toBe(shown.get('c'));
    expect(kept.get('b')).toBe(fresh[1]);
    expect(kept.get('d')).toBe(fresh[3]);
    // A figure alone differing is a different preview too.
    expect(keepUnchanged(shown, [preview('a', [0, 1, 0, 1], 0.6)]).get('a')).not.toBe(shown.get('a'));
    expect([...kept.keys()]).toEqual(['a', 'b', 'c', 'd']);
  });
});
