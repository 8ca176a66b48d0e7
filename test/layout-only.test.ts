/**
 * Moving nodes must not re-run the compiler (bench/canvas.bench.ts: a drag on a 1,000-node graph
 * re-analysed it on every mouse move). What counts as "only moved", and that the editor's
 * analysis and program analysis are kept across a move and recomputed after a real edit.
 */
import { describe, expect, it } from 'vitest';
import { onlyPositionsDiffer } from '../src/editor/layout-only';
import { analysisOf } from '../src/editor/analysis';
import { setParam, setPositions } from '../src/editor/graph-ops';
import { residualConvGraph } from '../bench/graphs';
import type { GraphDocument } from '../src/document/schema';

const graph = (): GraphDocument => residualConvGraph(40, 8);
const move = (doc: GraphDocument, id: string, x: number) => setPositions(doc, new Map([[id, { x, y: 7 }]]));

describe('onlyPositionsDiffer', () => {
  it('is true for moved nodes, in the main graph and in a block body', () => {
    const doc = graph();
    expect(onlyPositionsDiffer(doc, move(doc, 'n3', 999))).toBe(true);
    expect(onlyPositionsDiffer(doc, { ...doc })).toBe(true);
    const withBlock: GraphDocument = { ...doc, blocks: [{ id: 'b', label: 'B', params: [], nodes: doc.nodes.slice(0, 2), edges: [] } as never] };
    const movedInBlock = { ...withBlock, blocks: [{ ...withBlock.blocks[0]!, nodes: [{ ...doc.nodes[0]!, position: { x: 5, y: 5 } }, doc.nodes[1]!] }] };
    expect(onlyPositionsDiffer(withBlock, movedInBlock)).toBe(true);
  });

  it('is false for any other change', () => {
    const doc = graph();
    expect(onlyPositionsDiffer(doc, setParam(doc, 'n1', 'filters', 16))).toBe(false);
    expect(onlyPositionsDiffer(doc, { ...doc, name: 'other' })).toBe(false);
    expect(onlyPositionsDiffer(doc, { ...doc, edges: doc.edges.slice(1) })).toBe(false);
    expect(onlyPositionsDiffer(doc, { ...doc, nodes: doc.nodes.slice(1) })).toBe(false);
    expect(onlyPositionsDiffer(doc, { ...doc, nodes: doc.nodes.map((n, i) => (i === 2 ? { ...n, name: 'renamed' } : n)) })).toBe(false);
    // A `position` that is a param, not the node's place on the canvas, counts.
    expect(onlyPositionsDiffer(doc, { ...doc, nodes: doc.nodes.map((n, i) => (i === 2 ? { ...n, params: { ...n.params, position: 1 } } : n)) })).toBe(false);
    const unplaced = { ...doc, nodes: doc.nodes.map((n, i) => (i === 2 ? { id: n.id, type: n.type, params: n.params } : n)) };
    expect(onlyPositionsDiffer(doc, unplaced)).toBe(false);
  });
});

describe('analysisOf across a drag', () => {
  it('keeps the analysis while nodes move and recomputes it after an edit', () => {
    const doc = graph();
    const first = analysisOf(doc);
    let moved = doc;
    for (let x = 0; x < 5; x++) moved = move(moved, 'n5', x * 10);
    expect(analysisOf(moved)).toBe(first);
    const edited = setParam(moved, 'n1', 'filters', 16);
    const second = analysisOf(edited);
    expect(second).not.toBe(first);
    expect(second.main.nodes.get('n1')?.outputs?.out).toEqual([null, 16, 16, 16]);
    // A graph whose shapes now disagree (the residual Add joins 8 and 16 channels) says so.
    expect(second.diagnostics.some((d) => d.severity === 'error')).toBe(true);
  });
});
