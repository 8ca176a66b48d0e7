/**
 * The wires of a large graph zoomed far out, drawn as a few SVG paths instead of one React Flow edge
 * component per wire. Zoomed out, a wire is a thin line without a label; React Flow's edges were
 * 1,200 components with their own store subscriptions, two SVG paths each (the wire and its wide
 * invisible click target), and an edit that changes the shapes of every later node re-rendered all
 * of them twice (once for their new look, once when the nodes around them were measured again).
 * Here they are a few paths: known shapes and unknown shapes (dashed) per patch of the canvas, the
 * selection, and the wire a dragged node would be dropped into. The canvas picks a wire under the pointer from the same
 * curves (far-wires-geometry.ts), so wires stay clickable and a node can still be dropped onto one.
 */
import { memo, useCallback, useRef, type RefObject } from 'react';
import { ViewportPortal, useStore, type ReactFlowState } from '@xyflow/react';
import type { GraphEdge } from '../document/schema';
import { wireCurve, wirePathData, type PlacedNode, type WireCurve } from './far-wires-geometry';
import './far-wires.css';

/** One path per patch of the canvas and kind (see BUCKET): its key, whether its wires' shapes are unknown, its path data. */
interface Piece {
  key: string;
  unknown: boolean;
  d: string;
}

interface Drawn {
  pieces: Piece[];
  selected: string;
  drop: string;
}

/**
 * Wires are grouped into paths by where they start, in patches of this many flow units. One path for
 * all of them made Chromium raster every curve in every tile of a pan, and repaint the whole canvas
 * for each move of a drag (whose wires changed the one path); a patch's path has small bounds, and
 * a drag changes only the patches its node's wires start in (bench/canvas.bench.ts).
 */
const BUCKET = { width: 2400, height: 900 };

const sameDrawn = (a: Drawn, b: Drawn) =>
  a.selected === b.selected &&
  a.drop === b.drop &&
  a.pieces.length === b.pieces.length &&
  a.pieces.every((p, i) => p.key === b.pieces[i]!.key && p.d === b.pieces[i]!.d);

export const FarWires = memo(function FarWires({
  edges,
  unknown,
  selected,
  dropEdge,
  curves,
}: {
  edges: readonly GraphEdge[];
  /** Wires whose shape is not known (drawn dashed, as React Flow's pb-edge-unknown). */
  unknown: ReadonlySet<string>;
  selected: ReadonlySet<string>;
  dropEdge: string | null;
  /** Filled with every wire's curve, for the canvas to pick the wire under the pointer. */
  curves: RefObject<Map<string, WireCurve>>;
}) {
  /** Per wire: the two React Flow nodes its curve was computed from (React Flow replaces a node's object when it moves or is measured). */
  const cache = useRef(new Map<string, { source: unknown; target: unknown; d: string; bucket: string }>());
  const last = useRef<{ key: unknown[]; drawn: Drawn } | null>(null);
  // Runs on every React Flow store update (each step of a pan too): it only compares node objects
  // until one of them changed, and then joins the wires' path data again.
  const select = useCallback(
    (s: ReactFlowState): Drawn => {
      const lookup = s.nodeLookup as ReadonlyMap<string, PlacedNode>;
      const key = [edges, unknown, selected, dropEdge];
      let changed = !last.current || last.current.key.some((k, i) => k !== key[i]);
      const next = new Map<string, { source: unknown; target: unknown; d: string; bucket: string }>();
      for (const e of edges) {
        const source = lookup.get(e.source);
        const target = lookup.get(e.target);
        const prev = cache.current.get(e.id);
        if (prev && prev.source === source && prev.target === target) {
          next.set(e.id, prev);
          continue;
        }
        changed = true;
        const curve = wireCurve(e, source, target);
        if (curve) curves.current.set(e.id, curve);
        else curves.current.delete(e.id);
        const bucket = curve ? `${Math.floor(curve.sy / BUCKET.height)}/${Math.floor(curve.sx / BUCKET.width)}` : '';
        next.set(e.id, { source, target, d: curve ? wirePathData(curve) : '', bucket });
      }
      if (!changed && last.current) return last.current.drawn;
      for (const id of curves.current.keys()) if (!next.has(id)) curves.current.delete(id);
      cache.current = next;
      const groups = new Map<string, string[]>();
      const selectedPaths: string[] = [];
      let drop = '';
      for (const e of edges) {
        const { d, bucket } = next.get(e.id)!;
        if (!d) continue;
        const group = `${bucket}:${unknown.has(e.id) ? 'u' : 'k'}`;
        const list = groups.get(group);
        if (list) list.push(d);
        else groups.set(group, [d]);
        if (selected.has(e.id)) selectedPaths.push(d);
        if (e.id === dropEdge) drop = d;
      }
      const pieces = [...groups]
        .sort((x, y) => (x[0] < y[0] ? -1 : 1))
        .map(([group, list]) => ({ key: group, unknown: group.endsWith(':u'), d: list.join('') }));
      const drawn = { pieces, selected: selectedPaths.join(''), drop };
      last.current = { key, drawn: last.current && sameDrawn(last.current.drawn, drawn) ? last.current.drawn : drawn };
      return last.current.drawn;
    },
    [edges, unknown, selected, dropEdge, curves],
  );
  const drawn = useStore(select, sameDrawn);
  return (
    <ViewportPortal>
      <svg className="pb-far-wires" data-testid="far-wires" aria-hidden="true">
        {drawn.pieces.map((p) => (
          <path key={p.key} className={p.unknown ? 'pb-far-wire pb-far-wire-unknown' : 'pb-far-wire'} d={p.d} data-kind={p.unknown ? 'unknown' : 'known'} />
        ))}
        {drawn.selected && <path className="pb-far-wire pb-far-wire-selected" d={drawn.selected} data-testid="far-wires-selected" />}
        {drawn.drop && <path className="pb-far-wire pb-far-wire-drop" d={drawn.drop} data-testid="far-wires-drop" />}
      </svg>
    </ViewportPortal>
  );
});
