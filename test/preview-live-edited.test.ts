/**
 * A classifier run's refreshes in the page (editor/preview/preview-refresh.ts onLive): they replace the
 * canvas previews only while the graph on show is the plan the run trains; after an edit the edit's
 * own previews stand and the slice says why. Headless: the stores driven without a DOM or a worker.
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import type { Plan } from '../src/compiler/plan';
import type { PreviewAnswer } from '../src/runtime/preview';
import type { NodePreview } from '../src/runtime/preview-data';
import { useEditor } from '../src/editor/store';
import { graphKeyOf } from '../src/editor/runs-db';
import { useTraining, type LiveRun } from '../src/editor/training';
import { usePreviews } from '../src/editor/preview/previews';
import { onLive } from '../src/editor/preview/preview-refresh';
import { previewKey } from '../src/editor/preview/target';
import { MAIN_NETWORK } from '../src/document/schema';
import { graph } from './helpers/graphs';

const doc = graph(
  [
    { id: 'in', type: 'Input', params: { shape: [4] } },
    { id: 'd', type: 'Dense', params: { units: 3 } },
  ],
  [['in', 'd']],
);
const planOf = (units: number): Plan => lower(analyze({ ...doc, nodes: doc.nodes.map((n) => (n.id === 'd' ? { ...n, params: { units } } : n)) })).plan!;

/** A refresh's answer whose node `d` has a preview of mean `mean`, to tell refreshes apart. */
const answerOf = (mean: number): PreviewAnswer => ({
  previews: [{ nodeId: 'd', stats: { mean } } as unknown as NodePreview],
  skipped: [],
  weights: { source: 'run', fromRun: 1, layers: 1 },
  ms: 1,
});

describe("a classifier run's refreshes and an edit", () => {
  it("replace the previews of the run's own plan, and leave an edited graph's previews alone, saying so", () => {
    useEditor.setState({ doc, tab: { kind: 'network', id: MAIN_NETWORK }, blockView: null } as never);
    const trained = planOf(3);
    const run = { id: 'run-1', graphKey: graphKeyOf(doc), planJson: JSON.stringify(trained), plan: trained, status: 'running' } as unknown as LiveRun;
    useTraining.setState({ run });
    // The previews on show were asked for the run's plan.
    usePreviews.setState({ enabled: true, view: previewKey(MAIN_NETWORK, undefined), planJson: JSON.stringify(trained), previews: new Map() });
    onLive('run-1', 10, answerOf(1), [], [], undefined);
    expect((usePreviews.getState().previews.get('d') as unknown as { stats: { mean: number } }).stats.mean).toBe(1);
    expect(usePreviews.getState().editedSinceRun).toBe(false);
    // Dense 3 → 5: the edit's previews (mean 2) are on show; the run's next refresh must not replace them.
    const edited = new Map([['d', { nodeId: 'd', stats: { mean: 2 } } as unknown as NodePreview]]);
    usePreviews.setState({ planJson: JSON.stringify(planOf(5)), previews: edited });
    onLive('run-1', 20, answerOf(3), [], [], undefined);
    expect(usePreviews.getState().previews).toBe(edited);
    expect(usePreviews.getState().editedSinceRun).toBe(true);
    // The run's weights still come (the inspector shows them beside the words).
    expect(usePreviews.getState().weightsStep).toBe(20);
    // While an edit waits for its previews (planJson null) the refreshes wait too.
    usePreviews.setState({ planJson: null });
    onLive('run-1', 30, answerOf(4), [], [], undefined);
    expect(usePreviews.getState().previews).toBe(edited);
    // The edit undone: the run's plan is on show again, and its refreshes apply again.
    usePreviews.setState({ planJson: JSON.stringify(trained) });
    onLive('run-1', 40, answerOf(5), [], [], undefined);
    expect((usePreviews.getState().previews.get('d') as unknown as { stats: { mean: number } }).stats.mean).toBe(5);
    expect(usePreviews.getState().editedSinceRun).toBe(false);
  });
});
