/**
 * Whether two versions of a document differ only in where nodes sit on the canvas. Dragging a node
 * makes a new document on every mouse move; nothing the compiler derives (shapes, counts,
 * diagnostics, the plan, previews) depends on positions, so such a change must not re-run it.
 * Measured in bench/canvas.bench.ts: re-analysing a 1,000-node network on every move of a drag.
 */
import type { GraphDocument, GraphNode } from '../document/schema';

/** Deep equality that skips `position` on graph nodes (objects in a `nodes` array). Unchanged parts compare by identity, so a drag costs one pass over the node list. */
function equalBesidesPositions(a: unknown, b: unknown, inNodes: boolean): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equalBesidesPositions(a[i], b[i], inNodes)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (const k of keys) {
    if (!(k in y)) return false;
    if (inNodes && k === 'position') continue;
    // A node's own fields are compared as data (params may hold a `nodes` key of their own).
    if (!equalBesidesPositions(x[k], y[k], !inNodes && k === 'nodes')) return false;
  }
  return true;
}

/** True when `b` is `a` with at most some node positions changed (a document, or one of its networks, procedures or blocks). */
export function onlyPositionsDiffer<T extends GraphDocument | { nodes: unknown }>(a: T, b: T): boolean {
  return equalBesidesPositions(a, b, false);
}

/** True when node `b` is node `a`, at most moved. */
export function sameNodeBesidesPosition(a: GraphNode, b: GraphNode): boolean {
  return equalBesidesPositions(a, b, true);
}
