/** Auto-layout with elkjs (layered, top to bottom), loaded only when used. */
import type { GraphBody, GraphDocument } from '../document/schema';
import { portsOf } from '../compiler/graph';
import { setPositions } from './graph-ops';

type Sizes = Map<string, { width: number; height: number }>;
type Positions = Map<string, { x: number; y: number }>;

const DEFAULT_SIZE = { width: 200, height: 90 };

/** ELK's four node-aligned placements and its balanced one: each draws some graphs better. */
const ALIGNMENTS = ['BALANCED', 'LEFTDOWN', 'RIGHTDOWN', 'LEFTUP', 'RIGHTUP'] as const;
/** Above this many nodes one placement is tried, not five (five on a 151-node residual stack: 0.55 s). */
const TRY_ALIGNMENTS_UP_TO = 150;

/**
 * Above this many nodes ELK (which runs on the main thread) would freeze the page: layers are placed
 * directly. Measured in Node 20 on a chain of Dense layers: 600 nodes 0.56 s, 1,500 nodes 5.7 s.
 */
const ELK_UP_TO = 600;

/**
 * The cheap layout for huge graphs, linear in their size: each node one layer below the deepest
 * node that feeds it, nodes side by side within a layer.
 */
function simpleLayers(nodes: GraphBody['nodes'], edges: GraphBody['edges'], sizes: Sizes): Positions {
  const ids = new Set(nodes.map((n) => n.id));
  const incoming = new Map<string, number>();
  const outgoing = new Map<string, string[]>();
  for (const e of edges) {
    if (!ids.has(e.source) || !ids.has(e.target) || e.source === e.target) continue;
    incoming.set(e.target, (incoming.get(e.target) ?? 0) + 1);
    outgoing.set(e.source, [...(outgoing.get(e.source) ?? []), e.target]);
  }
  const layer = new Map<string, number>();
  const queue = nodes.filter((n) => !incoming.get(n.id)).map((n) => n.id);
  for (const id of queue) layer.set(id, 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    for (const next of outgoing.get(id) ?? []) {
      layer.set(next, Math.max(layer.get(next) ?? 0, layer.get(id)! + 1));
      const left = incoming.get(next)! - 1;
      incoming.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  // Nodes on a cycle (refused by the editor, possible in a file) go below the rest.
  const deepest = Math.max(0, ...layer.values());
  const rows: string[][] = [];
  for (const n of nodes) (rows[layer.get(n.id) ?? deepest + 1] ??= []).push(n.id);
  const positions: Positions = new Map();
  let y = 0;
  for (const row of rows) {
    if (!row) continue;
    let x = 0;
    let height = 0;
    for (const id of row) {
      const size = sizes.get(id) ?? DEFAULT_SIZE;
      positions.set(id, { x, y });
      x += size.width + 40;
      height = Math.max(height, size.height);
    }
    y += height + 56;
  }
  return positions;
}

/** Top-left positions for the nodes (with the wires among them), laid out in layers from the inputs down. */
async function layered(doc: GraphDocument, nodes: GraphBody['nodes'], sizes: Sizes): Promise<Positions> {
  if (nodes.length > ELK_UP_TO) return simpleLayers(nodes, doc.edges, sizes);
  const { default: ELK } = await import('elkjs/lib/elk.bundled.js');
  const elk = new ELK();
  const ids = new Set(nodes.map((n) => n.id));
  const edges = doc.edges.filter((e) => e.source !== e.target && ids.has(e.source) && ids.has(e.target));
  const run = async (alignment: (typeof ALIGNMENTS)[number]): Promise<Positions> => {
    const graph = await elk.layout({
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'DOWN',
        'elk.spacing.nodeNode': '40',
        'elk.layered.spacing.nodeNodeBetweenLayers': '56',
        // Room between a skip wire and the chain it skips, for that chain's shape labels.
        'elk.spacing.edgeNode': '70',
        'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
        'elk.layered.nodePlacement.bk.fixedAlignment': alignment,
      },
      children: nodes.map((n) => ({ id: n.id, ...(sizes.get(n.id) ?? DEFAULT_SIZE) })),
      edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
    });
    const positions: Positions = new Map();
    for (const c of graph.children ?? []) positions.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
    return positions;
  };
  if (nodes.length > TRY_ALIGNMENTS_UP_TO) return run('BALANCED');
  // The canvas draws each wire as a curve straight from handle to handle, not along ELK's routes: a
  // wire that skips layers (a residual) can run through the nodes it skips, or under the shape
  // labels of its neighbours. Keep the placement where that happens least.
  let best: { positions: Positions; cost: number } | null = null;
  for (const alignment of ALIGNMENTS) {
    const positions = await run(alignment);
    const cost = drawingCost(doc, edges, positions, sizes);
    if (!best || cost < best.cost) best = { positions, cost };
    if (cost === 0) break;
  }
  return best!.positions;
}

type Rect = { x: number; y: number; w: number; h: number };
const LABEL = { w: 130, h: 18 };

/** Whether the segment a→b passes through the rectangle (Liang–Barsky clipping). */
function segmentHitsRect(a: { x: number; y: number }, b: { x: number; y: number }, r: Rect): boolean {
  let t0 = 0;
  let t1 = 1;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const edges: [number, number][] = [
    [-dx, a.x - r.x],
    [dx, r.x + r.w - a.x],
    [-dy, a.y - r.y],
    [dy, r.y + r.h - a.y],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) {
      if (t > t1) return false;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return false;
      if (t < t1) t1 = t;
    }
  }
  return true;
}

/**
 * How many times wires, drawn straight between their handles, cross a node they do not touch or
 * another wire's shape label: what makes a drawing hard to read.
 */
function drawingCost(doc: GraphDocument, edges: GraphBody['edges'], positions: Positions, sizes: Sizes): number {
  const blocks = new Map(doc.blocks.map((b) => [b.id, b]));
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const box = (id: string): Rect => ({ ...positions.get(id)!, w: (sizes.get(id) ?? DEFAULT_SIZE).width, h: (sizes.get(id) ?? DEFAULT_SIZE).height });
  const handle = (id: string, port: string, side: 'inputs' | 'outputs') => {
    const b = box(id);
    const list = portsOf(byId.get(id)!, blocks)?.[side] ?? [];
    const i = Math.max(
      0,
      list.findIndex((p) => p.name === port),
    );
    return { x: b.x + ((i + 1) / (Math.max(1, list.length) + 1)) * b.w, y: side === 'outputs' ? b.y + b.h : b.y };
  };
  const segments = edges.map((e) => ({ e, a: handle(e.source, e.sourcePort, 'outputs'), b: handle(e.target, e.targetPort, 'inputs') }));
  const labelled = new Set<string>();
  const labels: { e: GraphBody['edges'][number]; r: Rect }[] = [];
  for (const s of segments) {
    const port = `${s.e.source}\u0000${s.e.sourcePort}`;
    if (labelled.has(port)) continue; // the canvas labels one wire per output
    labelled.add(port);
    const mx = (s.a.x + s.b.x) / 2;
    const my = (s.a.y + s.b.y) / 2;
    labels.push({ e: s.e, r: { x: mx - LABEL.w / 2, y: my - LABEL.h / 2, w: LABEL.w, h: LABEL.h } });
  }
  let cost = 0;
  for (const s of segments) {
    for (const id of positions.keys()) {
      if (id === s.e.source || id === s.e.target) continue;
      const r = box(id);
      if (segmentHitsRect(s.a, s.b, { x: r.x + 2, y: r.y + 2, w: r.w - 4, h: r.h - 4 })) cost += 1;
    }
    for (const l of labels) {
      // A wire meets labels where it starts and ends (at its own source and target); elsewhere it should not.
      if (l.e === s.e || l.e.target === s.e.target) continue;
      const r = { ...l.r };
      if (l.e.source === s.e.source) {
        r.y += 6;
        r.h -= 6;
      } // leaving the same handle, both start together
      if (segmentHitsRect(s.a, s.b, r)) cost += 1;
    }
  }
  return cost;
}

/** Lays out every node of the graph (the "Tidy up" button). */
export async function autoLayout<D extends GraphDocument>(doc: D, sizes: Sizes): Promise<D> {
  return setPositions(doc, await layered(doc, doc.nodes, sizes)) as D;
}

/** Whether some node of the graph has no saved position (a hand-written or generated file). */
export const hasUnplaced = (body: GraphBody): boolean => body.nodes.some((n) => !n.position);

/**
 * Gives positions to the nodes that have none, leaving placed ones where they are: all of them laid
 * out when none has a position, else the unplaced ones laid out together to the right of the rest,
 * so that nothing overlaps. A failed layout falls back to a grid (every node still gets a place).
 */
export async function layoutUnplaced<D extends GraphDocument>(doc: D, sizes: Sizes): Promise<D> {
  const unplaced = doc.nodes.filter((n) => !n.position);
  if (!unplaced.length) return doc;
  let positions: Positions;
  try {
    positions = await layered(doc, unplaced, sizes);
  } catch (err) {
    console.warn('Auto-layout failed; placing the nodes on a grid', err);
    const columns = Math.ceil(Math.sqrt(unplaced.length));
    positions = new Map(unplaced.map((n, i) => [n.id, { x: (i % columns) * 260, y: Math.floor(i / columns) * 160 }]));
  }
  const placed = doc.nodes.filter((n) => n.position);
  if (placed.length) {
    const right = Math.max(...placed.map((n) => n.position!.x + (sizes.get(n.id) ?? DEFAULT_SIZE).width));
    const top = Math.min(...placed.map((n) => n.position!.y));
    const shifted: Positions = new Map();
    for (const [id, p] of positions) shifted.set(id, { x: p.x + right + 80, y: p.y + top });
    positions = shifted;
  }
  return setPositions(doc, positions) as D;
}
