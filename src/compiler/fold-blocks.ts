/**
 * Folding an imported (flat) graph's runs of layers into the library blocks they spell out: a
 * depthwise conv, BatchNorm, residual Add, pointwise conv and BatchNorm become one "ConvMixer
 * block"; consecutive equal blocks become one block node repeated. A fold is kept only when
 * expanding the block again ("ungroup") gives back the same layer types with the same params, in
 * the same order, so the folded graph builds the same model with its weights in the same order
 * (imported weights load by position). Anything that does not match stays as it was.
 */
import { getLibraryBlock, LIBRARY_BLOCKS } from '../nodes/blocks/index';
import { BLOCK_NODE_TYPE } from '../nodes/registry';
import type { BlockDef, GraphDocument, GraphEdge, GraphNode } from '../document/schema';
import { expandBlock } from './expand';
import { wire } from './graph';
import { analyze } from './infer';
import type { Shape } from '../nodes/spec';

export interface FoldedBlock {
  /** The block node's id and the library block it stands for. */
  nodeId: string;
  block: string;
  /** How many repetitions it holds. */
  repeat: number;
  /** The imported layers it replaced, by name, in order. */
  layers: string[];
}

type Params = Record<string, unknown>;

const isParamRef = (v: unknown): v is { $param: string } => typeof v === 'object' && v !== null && typeof (v as { $param?: unknown }).$param === 'string';
/** A param value as a block argument: a square pair is its side. */
const argOf = (v: unknown) => (Array.isArray(v) && v.length === 2 && v[0] === v[1] ? v[0] : v);
/** Params in a canonical form (sorted keys) for comparison. */
const canonical = (p: Params | null | undefined) => JSON.stringify(Object.fromEntries(Object.entries(p ?? {}).sort(([a], [b]) => a.localeCompare(b))));

/** Blocks that can be matched: one input, one output, no optional (`when`) layers, no nested blocks. */
const FOLDABLE: readonly BlockDef[] = LIBRARY_BLOCKS.filter(
  (b) =>
    b.nodes.filter((n) => n.type === 'BlockInput').length === 1 &&
    b.nodes.filter((n) => n.type === 'BlockOutput').length === 1 &&
    b.nodes.every((n) => n.when === undefined && n.type !== BLOCK_NODE_TYPE),
);

interface Match {
  def: BlockDef;
  /** Body node id → flat node id; the BlockInput maps to the node feeding the block. */
  map: Map<string, string>;
  /** The flat nodes replaced, in the body's order. */
  inner: string[];
  /** The flat node whose output leaves the block. */
  last: string;
  inputEdge: GraphEdge;
}

/** Tries to match `def`'s body with its first layer at flat node `startId`. */
function matchAt(def: BlockDef, doc: GraphDocument, startId: string, used: Set<string>, order: string[]): Match | null {
  const body = new Map(def.nodes.map((n) => [n.id, n]));
  const input = def.nodes.find((n) => n.type === 'BlockInput')!;
  const output = def.nodes.find((n) => n.type === 'BlockOutput')!;
  const internal = order.filter((id) => id !== input.id && id !== output.id);
  const first = internal[0];
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const start = byId.get(startId);
  if (!first || !start || start.type !== body.get(first)!.type || used.has(startId)) return null;
  const intoFirst = def.edges.filter((e) => e.target === first);
  if (intoFirst.length !== 1 || intoFirst[0]!.source !== input.id) return null;
  const startIn = doc.edges.filter((e) => e.target === startId);
  if (startIn.length !== 1 || startIn[0]!.targetPort !== intoFirst[0]!.targetPort) return null;
  const map = new Map<string, string>([
    [input.id, startIn[0]!.source],
    [first, startId],
  ]);
  const taken = new Set<string>([startId]);
  for (const id of internal.slice(1)) {
    const incoming = def.edges.filter((e) => e.target === id);
    const via = incoming[0];
    if (!via || !map.has(via.source)) return null;
    const wanted = incoming.map((e) => `${map.get(e.source)}→${e.targetPort}`).sort();
    const candidate = doc.edges
      .filter((e) => e.source === map.get(via.source) && e.targetPort === via.targetPort)
      .map((e) => byId.get(e.target))
      .find((n) => {
        if (!n || n.type !== body.get(id)!.type || taken.has(n.id) || used.has(n.id)) return false;
        const got = doc.edges
          .filter((e) => e.target === n.id)
          .map((e) => `${e.source}→${e.targetPort}`)
          .sort();
        return got.join() === wanted.join();
      });
    if (!candidate) return null;
    map.set(id, candidate.id);
    taken.add(candidate.id);
  }
  const lastBody = def.edges.find((e) => e.target === output.id)?.source;
  if (!lastBody || !map.has(lastBody) || lastBody === input.id) return null;
  const last = map.get(lastBody)!;
  // Nothing outside may read a layer inside the block, except its output.
  for (const id of taken) {
    if (id === last) continue;
    if (doc.edges.some((e) => e.source === id && !taken.has(e.target))) return null;
    if (byId.get(id)!.type === 'Output') return null;
  }
  if (doc.edges.some((e) => e.source === last && taken.has(e.target))) return null;
  return { def, map, inner: internal.map((id) => map.get(id)!), last, inputEdge: startIn[0]! };
}

/** The block's arguments read from the matched layers' params, or null when two layers disagree. */
function argsOf(match: Match, params: Map<string, Params | null>): Params | null {
  const args: Params = {};
  for (const node of match.def.nodes) {
    const flat = params.get(match.map.get(node.id) ?? '');
    for (const [key, value] of Object.entries(node.params)) {
      if (!isParamRef(value)) continue;
      const spec = match.def.params.find((p) => p.name === value.$param);
      if (!spec || spec.derive) continue;
      const got = argOf(flat?.[key]);
      if (got === undefined) return null;
      if (value.$param in args && canonical({ v: args[value.$param] }) !== canonical({ v: got })) return null;
      args[value.$param] = got;
    }
  }
  return args;
}

/** Replaces the matched layers by one block node. */
function foldInto(doc: GraphDocument, match: Match, args: Params, nodeId: string, name: string): GraphDocument {
  const inner = new Set(match.inner);
  const inPort = String(match.def.nodes.find((n) => n.type === 'BlockInput')!.params.name ?? 'x');
  const outPort = String(match.def.nodes.find((n) => n.type === 'BlockOutput')!.params.name ?? 'y');
  const position = doc.nodes.find((n) => n.id === match.inner[0])?.position;
  const block: GraphNode = { id: nodeId, type: BLOCK_NODE_TYPE, block: match.def.id, name, params: args, ...(position ? { position } : {}) };
  const nodes = doc.nodes.flatMap((n) => (n.id === match.inner[0] ? [block] : inner.has(n.id) ? [] : [n]));
  const edges: GraphEdge[] = [];
  for (const e of doc.edges) {
    if (e === match.inputEdge) edges.push({ ...e, target: nodeId, targetPort: inPort });
    else if (e.source === match.last && !inner.has(e.target)) edges.push({ ...e, source: nodeId, sourcePort: outPort });
    else if (!inner.has(e.target) && !inner.has(e.source)) edges.push(e);
  }
  const blocks = doc.blocks.some((b) => b.id === match.def.id) ? doc.blocks : [...doc.blocks, structuredClone(getLibraryBlock(match.def.id)!)];
  const nodeTypes = { ...doc.nodeTypes };
  for (const t of [BLOCK_NODE_TYPE, ...match.def.nodes.map((n) => n.type)]) nodeTypes[t] ??= 1;
  return { ...doc, nodes, edges, blocks, nodeTypes };
}

/**
 * True when expanding the block node gives the layers `original` had at `layers` (types and params,
 * in order): the fold changed nothing the model is built from. The block is checked alone, fed by
 * an input of the shape it gets in the graph, so each check costs the block's size, not the graph's.
 */
function sameLayers(
  folded: GraphDocument,
  node: GraphNode,
  inputShape: Shape,
  original: Map<string, { type: string; params: string }>,
  layers: string[],
): boolean {
  const def = folded.blocks.find((b) => b.id === node.block)!;
  const inPort = String(def.nodes.find((n) => n.type === 'BlockInput')!.params.name ?? 'x');
  const alone: GraphDocument = {
    ...folded,
    nodes: [{ id: '__input', type: 'Input', params: { shape: inputShape.slice(1), dtype: 'float32' } }, node],
    edges: [{ id: '__e', source: '__input', sourcePort: 'out', target: node.id, targetPort: inPort }],
    blocks: [def],
  };
  const expanded = expandBlock(alone, node.id);
  if ('error' in expanded) return false;
  const fresh = expanded.doc.nodes.filter((n) => n.id !== '__input');
  if (fresh.length !== layers.length) return false;
  const analysis = analyze(expanded.doc);
  return fresh.every((n, i) => {
    const was = original.get(layers[i]!)!;
    return n.type === was.type && canonical(analysis.main.nodes.get(n.id)?.params) === was.params;
  });
}

/**
 * Graphs larger than this are left flat: each fold is checked by analysing the whole graph, so the
 * work grows with the square of its size (the largest presets import with a few hundred layers).
 */
export const MAX_FOLD_NODES = 1000;

/** Folds every run of layers that matches a library block, then merges consecutive equal blocks into repeats. */
export function foldLibraryBlocks(doc: GraphDocument): { doc: GraphDocument; folded: FoldedBlock[] } {
  if (doc.nodes.length > MAX_FOLD_NODES) return { doc, folded: [] };
  const analysis = analyze(doc);
  const params = new Map(doc.nodes.map((n) => [n.id, analysis.main.nodes.get(n.id)?.params ?? null]));
  const original = new Map(doc.nodes.map((n) => [n.id, { type: n.type, params: canonical(params.get(n.id)) }]));
  const names = new Map(doc.nodes.map((n) => [n.id, n.name ?? n.id]));
  const ids = new Set(doc.nodes.map((n) => n.id));
  const used = new Set<string>();
  const folded: Array<FoldedBlock & { inner: string[]; inputShape: Shape }> = [];
  let current = doc;
  for (const def of FOLDABLE) {
    const order = wire(def, new Map([[def.id, def]]), def.id).order;
    for (const start of doc.nodes) {
      const match = matchAt(def, current, start.id, used, order);
      if (!match) continue;
      const args = argsOf(match, params);
      if (!args) continue;
      let nodeId = def.id.replace(/Block$/, '').toLowerCase() || 'block';
      for (let i = 2; ids.has(nodeId); i++) nodeId = `${def.id.replace(/Block$/, '').toLowerCase()}_${i}`;
      const name = def.label;
      const inputShape = analysis.main.nodes.get(match.inner[0]!)?.inputs[0];
      if (!inputShape || inputShape.slice(1).some((d) => d === null)) continue;
      const candidate = foldInto(current, match, args, nodeId, name);
      if (
        !sameLayers(
          candidate,
          candidate.nodes.find((n) => n.id === nodeId)!,
          inputShape,
          original,
          match.inner,
        )
      )
        continue;
      ids.add(nodeId);
      for (const id of match.inner) used.add(id);
      current = candidate;
      folded.push({ nodeId, block: def.id, repeat: 1, layers: match.inner.map((id) => names.get(id)!), inner: match.inner, inputShape });
    }
  }
  // Consecutive equal blocks, the first feeding only the second: one block node, repeated.
  for (let merged = true; merged;) {
    merged = false;
    for (const a of folded) {
      const out = current.edges.filter((e) => e.source === a.nodeId);
      const b = out.length === 1 ? folded.find((f) => f.nodeId === out[0]!.target) : undefined;
      const nodeA = current.nodes.find((n) => n.id === a.nodeId)!;
      const nodeB = b && current.nodes.find((n) => n.id === b.nodeId)!;
      if (!b || !nodeB || nodeB.block !== nodeA.block || canonical(nodeA.params) !== canonical(nodeB.params)) continue;
      if (current.edges.filter((e) => e.target === b.nodeId).length !== 1) continue;
      const repeat = a.repeat + b.repeat;
      const candidate: GraphDocument = {
        ...current,
        nodes: current.nodes.flatMap((n) => (n.id === b.nodeId ? [] : n.id === a.nodeId ? [{ ...n, repeat }] : [n])),
        edges: current.edges.flatMap((e) => (e === out[0] ? [] : e.source === b.nodeId ? [{ ...e, source: a.nodeId }] : [e])),
      };
      const inner = [...a.inner, ...b.inner];
      if (
        !sameLayers(
          candidate,
          candidate.nodes.find((n) => n.id === a.nodeId)!,
          a.inputShape,
          original,
          inner,
        )
      )
        continue;
      current = candidate;
      Object.assign(a, { repeat, inner, layers: [...a.layers, ...b.layers] });
      folded.splice(folded.indexOf(b), 1);
      merged = true;
      break;
    }
  }
  // Names follow the blocks that remain: "convmixer_1", "convmixer_2"…
  const counts = new Map<string, number>();
  const renamed = new Map<string, string>();
  for (const f of folded) {
    const def = getLibraryBlock(f.block)!;
    const k = (counts.get(f.block) ?? 0) + 1;
    counts.set(f.block, k);
    // Short names, as the templates name their blocks ("convmixer", "mixer"): the node shows its block's label beside it.
    const base = def.id.replace(/Block$/, '').toLowerCase();
    renamed.set(f.nodeId, folded.filter((g) => g.block === f.block).length > 1 ? `${base}_${k}` : base);
  }
  // The import lays layers out one per row: close the rows the folded layers left empty.
  let row = 0;
  current = {
    ...current,
    nodes: current.nodes.map((n) => ({
      ...n,
      ...(renamed.has(n.id) ? { name: renamed.get(n.id)! } : {}),
      ...(folded.length && n.position ? { position: { x: n.position.x, y: 120 * row++ } } : {}),
    })),
  };
  return { doc: current, folded: folded.map(({ nodeId, block, repeat, layers }) => ({ nodeId, block, repeat, layers })) };
}
