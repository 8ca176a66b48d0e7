/**
 * Where the wires of a large graph zoomed far out are drawn, and which one is under a point: the
 * same curves React Flow draws (its default bezier, from an output at the bottom of a node to an
 * input at its top), computed from React Flow's own measured nodes and handles, so that the picture
 * does not change when the canvas switches between its wires and FarWires.tsx.
 */
import type { GraphEdge } from '../document/schema';

/** What a wire needs of React Flow's internal node: where it is and where its handles are. */
export interface PlacedNode {
  internals: {
    positionAbsolute: { x: number; y: number };
    handleBounds?: {
      source?: ReadonlyArray<{ id?: string | null; x: number; y: number; width: number; height: number }> | null;
      target?: ReadonlyArray<{ id?: string | null; x: number; y: number; width: number; height: number }> | null;
    };
  };
}

/** A wire's two ends and its curve's two control points, in flow coordinates. */
export interface WireCurve {
  sx: number;
  sy: number;
  c1x: number;
  c1y: number;
  c2x: number;
  c2y: number;
  tx: number;
  ty: number;
}

/** React Flow's control offset (calculateControlOffset, curvature 0.25). */
function controlOffset(distance: number, curvature = 0.25): number {
  return distance >= 0 ? 0.5 * distance : curvature * 25 * Math.sqrt(-distance);
}

/**
 * The curve of a wire from `sourcePort` at the bottom of `source` to `targetPort` at the top of
 * `target`, or null while either handle is unknown (a node not measured yet has no wire, as in
 * React Flow).
 */
export function wireCurve(
  edge: Pick<GraphEdge, 'sourcePort' | 'targetPort'>,
  source: PlacedNode | undefined,
  target: PlacedNode | undefined,
): WireCurve | null {
  const out = source?.internals.handleBounds?.source?.find((h) => h.id === edge.sourcePort);
  const into = target?.internals.handleBounds?.target?.find((h) => h.id === edge.targetPort);
  if (!out || !into) return null;
  const sx = source!.internals.positionAbsolute.x + out.x + out.width / 2;
  const sy = source!.internals.positionAbsolute.y + out.y + out.height;
  const tx = target!.internals.positionAbsolute.x + into.x + into.width / 2;
  const ty = target!.internals.positionAbsolute.y + into.y;
  const offset = controlOffset(ty - sy);
  return { sx, sy, c1x: sx, c1y: sy + offset, c2x: tx, c2y: ty - offset, tx, ty };
}

const round = (v: number) => Math.round(v * 10) / 10;

/** The curve as SVG path data (one "M … C …" piece; pieces of several wires join into one path). */
export function wirePathData(c: WireCurve): string {
  return `M${round(c.sx)},${round(c.sy)}C${round(c.c1x)},${round(c.c1y)} ${round(c.c2x)},${round(c.c2y)} ${round(c.tx)},${round(c.ty)}`;
}

function pointOnCurve(c: WireCurve, t: number): [number, number] {
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const d = 3 * u * t * t;
  const e = t * t * t;
  return [a * c.sx + b * c.c1x + d * c.c2x + e * c.tx, a * c.sy + b * c.c1y + d * c.c2y + e * c.ty];
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Distance from a point to a curve, the curve taken as straight pieces (24 are close enough for picking). */
function nearest(c: WireCurve, x: number, y: number, pieces: number): number {
  let best = Infinity;
  let [ax, ay] = pointOnCurve(c, 0);
  for (let i = 1; i <= pieces; i++) {
    const [bx, by] = pointOnCurve(c, i / pieces);
    best = Math.min(best, distanceToSegment(x, y, ax, ay, bx, by));
    ax = bx;
    ay = by;
  }
  return best;
}

/** The wire nearest to a point within `tolerance` (flow units), or null. */
export function wireNear(wires: Iterable<[string, WireCurve]>, x: number, y: number, tolerance: number): string | null {
  let best: string | null = null;
  let bestDistance = tolerance;
  for (const [id, c] of wires) {
    // A cheap test first: the curve lies inside the box of its four points.
    if (x < Math.min(c.sx, c.c1x, c.c2x, c.tx) - tolerance || x > Math.max(c.sx, c.c1x, c.c2x, c.tx) + tolerance) continue;
    if (y < Math.min(c.sy, c.c1y, c.c2y, c.ty) - tolerance || y > Math.max(c.sy, c.c1y, c.c2y, c.ty) + tolerance) continue;
    const d = nearest(c, x, y, 24);
    if (d <= bestDistance) {
      bestDistance = d;
      best = id;
    }
  }
  return best;
}
