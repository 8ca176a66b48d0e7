/**
 * The page's previews slice and the worker's pin (editor/preview/preview-refresh.ts refresh): a large graph
 * waits for the pin bar's button, and the worker is told to unpin so that its refreshes during a run
 * do not go on with the graph shown before. Headless: the stores without a DOM, a fake worker client.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Plan } from '../src/compiler/plan';
import type { PreviewSample } from '../src/runtime/worker/protocol';
import { MAIN_NETWORK } from '../src/document/schema';
import { graph } from './helpers/graphs';

const asked: Array<{ plan: Plan; sample: PreviewSample | null; inside: unknown }> = [];
vi.mock('../src/editor/train/controller', () => ({
  getClient: () => ({
    preview: async (plan: Plan, _seed: number, sample: PreviewSample | null, options: { inside?: unknown } = {}) => {
      asked.push({ plan, sample, inside: options.inside });
      return { answer: { previews: [], skipped: [], weights: { source: 'fresh', fromRun: 0, layers: 0 }, ms: 0 } };
    },
  }),
}));

const small = graph(
  [
    { id: 'in', type: 'Input', params: { shape: [4] } },
    { id: 'd', type: 'Dense', params: { units: 3 } },
  ],
  [['in', 'd']],
);
// 4,000 × 8,000 weights: past LARGE_PARAMS, so its previews wait for the button.
const large = graph(
  [
    { id: 'in', type: 'Input', params: { shape: [4000] } },
    { id: 'd', type: 'Dense', params: { units: 8000 } },
  ],
  [['in', 'd']],
);

describe('a large graph opened after a small one', () => {
  it('unpins the example in the worker instead of leaving the small graph pinned there', async () => {
    const { useEditor } = await import('../src/editor/store');
    const { setPin, usePreviews } = await import('../src/editor/preview/previews');
    useEditor.setState({ doc: small, tab: { kind: 'network', id: MAIN_NETWORK }, blockView: null } as never);
    setPin({ kind: 'auto' });
    await vi.waitFor(() => expect(asked.length).toBe(1));
    expect(asked[0]!.sample).not.toBeNull();
    useEditor.setState({ doc: large } as never);
    setPin({ kind: 'auto' });
    await vi.waitFor(() => expect(asked.length).toBe(2));
    expect(usePreviews.getState().large).toBe(true);
    expect(usePreviews.getState().previews.size).toBe(0);
    // The worker's last word is an unpin: its refreshes stop until the large graph's previews are asked.
    expect(asked[1]!.sample).toBeNull();
  });
});
