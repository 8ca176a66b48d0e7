/**
 * Dropping a node onto a wire inserts it there (A → B becomes A → node → B). Shared by the palette
 * (a new node) and the canvas (a node moved onto a wire); the wire under the pointer is highlighted
 * through the store's `dropEdge` while the node hovers.
 */
import { analyze } from '../compiler/infer';
import type { Shape } from '../nodes/spec';
import type { GraphDocument } from '../document/schema';
import { insertIntoEdge } from './graph-ops';
import { viewResultsOf } from './program-view';
import { scopeDoc, unscopeDoc, useEditor } from './store';

/** Picks the wire at a screen point while the canvas draws its wires as one picture (FarWires.tsx), which has no element per wire. */
let farWireAt: ((clientX: number, clientY: number) => string | null) | null = null;
export function setFarWirePicker(pick: typeof farWireAt): void {
  farWireAt = pick;
}

/** The wire under a screen point on the canvas, if any (wires lie under nodes, so look through them). */
export function edgeIdAt(clientX: number, clientY: number, enabled = true): string | null {
  if (!enabled) return null;
  let onCanvas = false;
  for (const el of document.elementsFromPoint(clientX, clientY)) {
    if (!el.closest('.pb-canvas')) continue;
    if (el.closest('.react-flow__minimap, .react-flow__controls, .react-flow__panel')) return null;
    onCanvas = true;
    const edge = el.closest('.react-flow__edge');
    if (edge) return edge.getAttribute('data-id');
  }
  return onCanvas && farWireAt ? farWireAt(clientX, clientY) : null;
}

/** Output shapes of a trial version of the graph on show (inside a block: its open instance's). */
function shapesOf(trial: GraphDocument): (nodeId: string, port: string) => Shape | undefined {
  const s = useEditor.getState();
  // The tab's network as a document of its own (the main one is the document itself).
  const analysis = analyze(scopeDoc(unscopeDoc(s.doc, s.blockView, trial, s.tab), null, s.tab));
  const body = s.blockView ? analysis.main.nodes.get(s.blockView.nodeId)?.inner : analysis.main;
  return (id, port) => body?.nodes.get(id)?.outputs?.[port];
}

/**
 * Inserts `nodeId` (already in `scoped`, the graph on show) into the wire `edgeId` and commits the
 * result as one undo step, or, inside a drag gesture, as part of the drag's step. When the wire
 * cannot take the node, says why and returns false: the caller keeps the node where it was dropped.
 */
export function insertDropped(scoped: GraphDocument, nodeId: string, edgeId: string, options: { live?: boolean } = {}): boolean {
  const s = useEditor.getState();
  const result = insertIntoEdge(scoped, viewResultsOf(s).analysis, nodeId, edgeId, shapesOf);
  if ('error' in result) {
    s.toast({ kind: 'error', title: 'Not inserted into the wire', lines: [result.error] });
    return false;
  }
  if (options.live) s.editLive(() => result.doc);
  else s.edit(() => result.doc, { select: [nodeId] });
  return true;
}
