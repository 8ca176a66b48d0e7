/**
 * Pure edits of a GraphDocument. Every function returns a new document and keeps every node object it
 * did not change (the analyzer's cache is keyed by node identity).
 */
import {
  DOCUMENT_FORMAT,
  DOCUMENT_VERSION,
  isParamRef,
  type BlockDef,
  type BlockParam,
  type GraphDocument,
  type GraphEdge,
  type GraphNode,
} from '../document/schema';
import type { Analysis } from '../compiler/infer';
import { portsOf, type NodePorts } from '../compiler/graph';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import { getLibraryBlock } from '../nodes/blocks/index';
import { getProgramSpec, NETWORK_NODE_TYPE } from '../nodes/program/specs';
import { formatShape } from '../nodes/shape';
import type { Shape } from '../nodes/spec';

export function emptyDocument(name = 'Untitled'): GraphDocument {
  return { format: DOCUMENT_FORMAT, version: DOCUMENT_VERSION, name, nodeTypes: {}, nodes: [], edges: [], blocks: [], networks: [], meta: {} };
}

/** `Patch embed` → `patch_embed`, then `patch_embed_2`… unique among the document's ids. */
export function freshId(doc: GraphDocument, base: string, taken: Set<string> = new Set()): string {
  const stem =
    base
      .replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .toLowerCase() || 'node';
  const used = new Set([...doc.nodes.map((n) => n.id), ...taken]);
  if (!used.has(stem)) return stem;
  for (let i = 2; ; i++) if (!used.has(`${stem}_${i}`)) return `${stem}_${i}`;
}

export function freshEdgeId(doc: GraphDocument, taken: Set<string> = new Set()): string {
  const used = new Set([...doc.edges.map((e) => e.id), ...taken]);
  for (let i = doc.edges.length + 1; ; i++) if (!used.has(`e${i}`)) return `e${i}`;
}

/** What a palette item places: a layer type, a library block id, a procedure node type, or a Network node applying a network. */
export type PaletteItem =
  { kind: 'layer'; type: string } | { kind: 'block'; id: string } | { kind: 'procedure'; type: string } | { kind: 'network'; network: string; label: string };

export function addItem(doc: GraphDocument, item: PaletteItem, position: { x: number; y: number }): { doc: GraphDocument; id: string } {
  const pos = { x: Math.round(position.x), y: Math.round(position.y) };
  if (item.kind === 'procedure') {
    const spec = getProgramSpec(item.type);
    if (!spec) throw new Error(`Unknown procedure node type ${item.type}`);
    const id = freshId(doc, spec.label);
    return { doc: { ...doc, nodes: [...doc.nodes, { id, type: spec.type, params: {}, position: pos }] }, id };
  }
  if (item.kind === 'network') {
    const id = freshId(doc, item.network);
    return { doc: { ...doc, nodes: [...doc.nodes, { id, type: NETWORK_NODE_TYPE, params: { network: item.network }, position: pos }] }, id };
  }
  if (item.kind === 'layer') {
    const spec = getSpec(item.type);
    if (!spec) throw new Error(`Unknown node type ${item.type}`);
    const id = freshId(doc, spec.label);
    const node: GraphNode = { id, type: spec.type, params: {}, position: pos };
    return { doc: { ...doc, nodes: [...doc.nodes, node], nodeTypes: { ...doc.nodeTypes, [spec.type]: spec.version } }, id };
  }
  const lib = getLibraryBlock(item.id);
  const existing = doc.blocks.find((b) => b.id === item.id);
  const def = existing ?? lib;
  if (!def) throw new Error(`Unknown block ${item.id}`);
  const id = freshId(doc, def.label);
  const node: GraphNode = { id, type: BLOCK_NODE_TYPE, block: def.id, params: {}, position: pos };
  return {
    doc: { ...doc, nodes: [...doc.nodes, node], blocks: existing ? doc.blocks : [...doc.blocks, ...withNestedLibraryBlocks(def, doc.blocks)] },
    id,
  };
}

/**
 * A library block and the library blocks its body places (ViT encoder holds Transformer blocks), as
 * copies, leaving out those the document already defines: a placed block must compile on its own.
 */
function withNestedLibraryBlocks(def: BlockDef, have: readonly BlockDef[]): BlockDef[] {
  const out: BlockDef[] = [];
  const known = new Set(have.map((b) => b.id));
  const visit = (block: BlockDef) => {
    if (known.has(block.id)) return;
    known.add(block.id);
    out.push(structuredClone(block) as BlockDef);
    for (const inner of block.nodes) {
      const nested = inner.type === BLOCK_NODE_TYPE && inner.block !== undefined ? getLibraryBlock(inner.block) : undefined;
      if (nested) visit(nested);
    }
  };
  visit(def);
  return out;
}

export function updateNode(doc: GraphDocument, id: string, fn: (n: GraphNode) => GraphNode): GraphDocument {
  return { ...doc, nodes: doc.nodes.map((n) => (n.id === id ? fn(n) : n)) };
}

export function setParam(doc: GraphDocument, id: string, key: string, value: unknown): GraphDocument {
  return updateNode(doc, id, (n) => {
    const params = { ...n.params };
    if (value === undefined) delete params[key];
    else params[key] = value;
    return { ...n, params };
  });
}

export function removeItems(doc: GraphDocument, nodeIds: Set<string>, edgeIds: Set<string>): GraphDocument {
  return {
    ...doc,
    nodes: doc.nodes.filter((n) => !nodeIds.has(n.id)),
    edges: doc.edges.filter((e) => !edgeIds.has(e.id) && !nodeIds.has(e.source) && !nodeIds.has(e.target)),
  };
}

export interface Connection {
  source: string;
  sourcePort: string;
  target: string;
  targetPort: string;
}

const label = (doc: GraphDocument, id: string) => {
  const n = doc.nodes.find((x) => x.id === id);
  return n ? `"${n.name ?? n.id}"` : `"${id}"`;
};

/** Why a connection cannot work, in the words the user sees; null when it may be made. */
export function connectionProblem(
  doc: GraphDocument,
  analysis: Analysis,
  c: Connection,
  /** Output shapes of the graph on show (inside an open block: its first repetition's). */
  shapeOf: (nodeId: string, port: string) => Shape | undefined = (id, port) => analysis.main.nodes.get(id)?.outputs?.[port],
  /** The ports of a node of the graph on show (a procedure's nodes take theirs from specs or networks). */
  portsOfNode: (node: GraphNode) => NodePorts | undefined = (node) => portsOf(node, analysis.blocks),
): string | null {
  const source = doc.nodes.find((n) => n.id === c.source);
  const target = doc.nodes.find((n) => n.id === c.target);
  if (!source || !target) return 'One end of this connection no longer exists.';
  if (c.source === c.target) return `Refused: ${label(doc, c.source)} cannot feed itself; that would make a cycle.`;
  // A cycle: the target already reaches the source.
  const outgoing = new Map<string, string[]>();
  for (const e of doc.edges) outgoing.set(e.source, [...(outgoing.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const stack = [c.target];
  const parent = new Map<string, string>();
  while (stack.length) {
    const id = stack.pop()!;
    if (id === c.source) {
      const path = [id];
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) path.unshift(p);
      return `Refused: this connection would make a cycle (${[...path, c.target].map((x) => label(doc, x)).join(' → ')}). A network is computed front to back.`;
    }
    if (seen.has(id)) continue;
    seen.add(id);
    for (const next of outgoing.get(id) ?? []) {
      if (!seen.has(next)) {
        parent.set(next, id);
        stack.push(next);
      }
    }
  }
  const ports = portsOfNode(target);
  const port = ports?.inputs.find((p) => p.name === c.targetPort);
  if (ports && !port) return `Refused: ${label(doc, c.target)} has no input port "${c.targetPort}".`;
  if (port && !port.variadic) {
    const taken = doc.edges.find((e) => e.target === c.target && e.targetPort === c.targetPort);
    if (taken) {
      return `Refused: port "${c.targetPort}" of ${label(doc, c.target)} is already taken by ${label(doc, taken.source)}. A layer input takes one tensor; delete that wire first, or join the tensors with Add or Concatenate.`;
    }
  }
  if (port && (port.minRank !== undefined || port.maxRank !== undefined)) {
    const shape = shapeOf(c.source, c.sourcePort);
    if (shape) {
      const min = port.minRank ?? 0;
      const max = port.maxRank ?? Infinity;
      if (shape.length < min || shape.length > max) {
        const expected = min === max ? `rank ${min}` : max === Infinity ? `rank ${min} or more` : `rank ${min} to ${max}`;
        const type = getSpec(target.type)?.label ?? analysis.blocks.get(target.block ?? '')?.label ?? target.type;
        return `Refused: ${type} ${label(doc, c.target)} expects ${expected}, but ${label(doc, c.source)} gives ${formatShape(shape)} (rank ${shape.length}). Add a Reshape or Flatten in between.`;
      }
    }
  }
  return null;
}

export function connect(doc: GraphDocument, c: Connection): GraphDocument {
  const edge: GraphEdge = { id: freshEdgeId(doc), source: c.source, sourcePort: c.sourcePort, target: c.target, targetPort: c.targetPort };
  return { ...doc, edges: [...doc.edges, edge] };
}

/** What copy puts on the clipboard: the selected nodes and the edges between them. */
export interface Fragment {
  nodes: GraphNode[];
  edges: GraphEdge[];
  blocks: BlockDef[];
}

export function copyFragment(doc: GraphDocument, ids: Set<string>): Fragment | null {
  const nodes = doc.nodes.filter((n) => ids.has(n.id));
  if (!nodes.length) return null;
  const edges = doc.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  const blockIds = new Set(nodes.map((n) => n.block).filter((b): b is string => !!b));
  return structuredClone({ nodes, edges, blocks: doc.blocks.filter((b) => blockIds.has(b.id)) });
}

export function pasteFragment(doc: GraphDocument, frag: Fragment, offset = 40): { doc: GraphDocument; ids: string[] } {
  const rename = new Map<string, string>();
  const taken = new Set<string>();
  for (const n of frag.nodes) {
    const id = freshId(doc, n.id.replace(/_\d+$/, ''), taken);
    taken.add(id);
    rename.set(n.id, id);
  }
  const nodes = frag.nodes.map((n) => ({
    ...structuredClone(n),
    id: rename.get(n.id)!,
    name: undefined,
    position: { x: (n.position?.x ?? 0) + offset, y: (n.position?.y ?? 0) + offset },
  }));
  for (const n of nodes) if (n.name === undefined) delete n.name;
  const edgeTaken = new Set<string>();
  const edges = frag.edges.map((e) => {
    const id = freshEdgeId(doc, edgeTaken);
    edgeTaken.add(id);
    return { ...e, id, source: rename.get(e.source)!, target: rename.get(e.target)! };
  });
  const have = new Set(doc.blocks.map((b) => b.id));
  const nodeTypes = { ...doc.nodeTypes };
  for (const n of nodes) {
    const spec = getSpec(n.type);
    if (spec && nodeTypes[n.type] === undefined) nodeTypes[n.type] = spec.version;
  }
  return {
    doc: {
      ...doc,
      nodeTypes,
      nodes: [...doc.nodes, ...nodes],
      edges: [...doc.edges, ...edges],
      blocks: [...doc.blocks, ...frag.blocks.filter((b) => !have.has(b.id))],
    },
    ids: nodes.map((n) => n.id),
  };
}

export function setPositions(doc: GraphDocument, positions: Map<string, { x: number; y: number }>): GraphDocument {
  if (!positions.size) return doc;
  return {
    ...doc,
    nodes: doc.nodes.map((n) => {
      const p = positions.get(n.id);
      if (!p) return n;
      const pos = { x: Math.round(p.x), y: Math.round(p.y) };
      return n.position && n.position.x === pos.x && n.position.y === pos.y ? n : { ...n, position: pos };
    }),
  };
}

/**
 * Replaces the selected nodes with one block node whose new definition holds them. Wires that
 * entered the selection become the block's inputs (x, x2…), wires that left it its outputs (y, y2…).
 */
export function groupIntoBlock(doc: GraphDocument, ids: Set<string>): { doc: GraphDocument; id: string } | { error: string } {
  const chosen = doc.nodes.filter((n) => ids.has(n.id));
  if (!chosen.length) return { error: 'Select the nodes to group first.' };
  const io = chosen.find((n) => n.type === 'Input' || n.type === 'Output');
  if (io)
    return { error: `"${io.name ?? io.id}" is an ${io.type}; a block takes its inputs from outside and returns its outputs. Leave it out of the selection.` };
  const incoming = doc.edges.filter((e) => ids.has(e.target) && !ids.has(e.source));
  const outgoing = doc.edges.filter((e) => ids.has(e.source) && !ids.has(e.target));
  const internal = doc.edges.filter((e) => ids.has(e.source) && ids.has(e.target));

  const inPorts = new Map<string, string>();
  for (const e of incoming) {
    const key = `${e.source}\u0000${e.sourcePort}`;
    if (!inPorts.has(key)) inPorts.set(key, inPorts.size === 0 ? 'x' : `x${inPorts.size + 1}`);
  }
  const outPorts = new Map<string, string>();
  const outKey = (source: string, port: string) => `${source}\u0000${port}`;
  for (const e of outgoing) {
    const key = outKey(e.source, e.sourcePort);
    if (!outPorts.has(key)) outPorts.set(key, outPorts.size === 0 ? 'y' : `y${outPorts.size + 1}`);
  }
  if (outPorts.size === 0) {
    // Nothing consumes the group yet: expose its sinks so that the block still has an output.
    const feeding = new Set(internal.map((e) => e.source));
    for (const n of chosen) if (!feeding.has(n.id)) outPorts.set(outKey(n.id, 'out'), outPorts.size === 0 ? 'y' : `y${outPorts.size + 1}`);
  }

  const xs = chosen.map((n) => n.position?.x ?? 0);
  const ys = chosen.map((n) => n.position?.y ?? 0);
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  const maxY = Math.max(...ys);
  const bodyNodes: GraphNode[] = [];
  let k = 0;
  for (const name of inPorts.values()) bodyNodes.push({ id: `in_${name}`, type: 'BlockInput', params: { name }, position: { x: k++ * 200, y: 0 } });
  for (const n of chosen) bodyNodes.push({ ...structuredClone(n), position: { x: (n.position?.x ?? 0) - minX, y: (n.position?.y ?? 0) - minY + 120 } });
  k = 0;
  for (const name of outPorts.values())
    bodyNodes.push({ id: `out_${name}`, type: 'BlockOutput', params: { name }, position: { x: k++ * 200, y: maxY - minY + 240 } });
  let edgeN = 0;
  const bodyEdges: GraphEdge[] = [
    ...incoming.map((e) => ({
      id: `e${++edgeN}`,
      source: `in_${inPorts.get(`${e.source}\u0000${e.sourcePort}`)}`,
      sourcePort: 'out',
      target: e.target,
      targetPort: e.targetPort,
    })),
    ...internal.map((e) => ({ ...e, id: `e${++edgeN}` })),
    ...[...outPorts.entries()].map(([key, name]) => {
      const [source, sourcePort] = key.split('\u0000') as [string, string];
      return { id: `e${++edgeN}`, source, sourcePort, target: `out_${name}`, targetPort: 'in' };
    }),
  ];
  const taken = new Set(doc.blocks.map((b) => b.id));
  let n = 1;
  while (taken.has(`Group${n}`)) n++;
  const def: BlockDef = {
    id: `Group${n}`,
    label: `Group ${n}`,
    description: 'Nodes grouped in the editor.',
    category: 'Blocks',
    params: [],
    nodes: bodyNodes,
    edges: bodyEdges,
  };

  const rest = { ...doc, nodes: doc.nodes.filter((x) => !ids.has(x.id)), edges: doc.edges.filter((e) => !ids.has(e.source) && !ids.has(e.target)) };
  const id = freshId(rest, `group_${n}`);
  const blockNode: GraphNode = {
    id,
    type: BLOCK_NODE_TYPE,
    block: def.id,
    params: {},
    position: { x: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), y: minY },
  };
  const edges: GraphEdge[] = [...rest.edges];
  const used = new Set(edges.map((e) => e.id));
  const nextId = () => {
    let i = edges.length + 1;
    while (used.has(`e${i}`)) i++;
    used.add(`e${i}`);
    return `e${i}`;
  };
  for (const [key, name] of inPorts) {
    const [source, sourcePort] = key.split('\u0000') as [string, string];
    edges.push({ id: nextId(), source, sourcePort, target: id, targetPort: name });
  }
  for (const e of outgoing)
    edges.push({ id: nextId(), source: id, sourcePort: outPorts.get(outKey(e.source, e.sourcePort))!, target: e.target, targetPort: e.targetPort });
  // Keep the block where its first member stood, so the document order still reads front to back.
  const firstIndex = doc.nodes.findIndex((x) => ids.has(x.id));
  const nodes = [...rest.nodes];
  const before = doc.nodes.slice(0, firstIndex).filter((x) => !ids.has(x.id)).length;
  nodes.splice(before, 0, blockNode);
  return { doc: { ...rest, nodes, edges, blocks: [...doc.blocks, def] }, id };
}

/** Replaces one block definition; every other block keeps its object. */
function updateBlock(doc: GraphDocument, blockId: string, fn: (b: BlockDef) => BlockDef): GraphDocument {
  return { ...doc, blocks: doc.blocks.map((b) => (b.id === blockId ? fn(b) : b)) };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A new param of the block's signature, or why it cannot be added. */
export function addBlockParam(doc: GraphDocument, blockId: string, param: BlockParam): { doc: GraphDocument } | { error: string } {
  const def = doc.blocks.find((b) => b.id === blockId);
  if (!def) return { error: `There is no block "${blockId}".` };
  if (!IDENTIFIER.test(param.name)) return { error: `"${param.name}" cannot name a param: use letters, digits and _, starting with a letter.` };
  if (def.params.some((p) => p.name === param.name)) return { error: `The block already has a param "${param.name}".` };
  return { doc: updateBlock(doc, blockId, (b) => ({ ...b, params: [...b.params, param] })) };
}

/** Where a block param is used inside the block's body, as node ids. */
export function blockParamUses(def: BlockDef, name: string): string[] {
  const refers = (v: unknown): boolean => (isParamRef(v) ? v.$param === name : Array.isArray(v) && v.some(refers));
  return def.nodes.filter((n) => n.when?.$param === name || Object.values(n.params).some(refers)).map((n) => n.id);
}

/** Removes a param from the block's signature (and the values instances passed for it), unless the body still uses it. */
export function removeBlockParam(doc: GraphDocument, blockId: string, name: string): { doc: GraphDocument } | { error: string } {
  const def = doc.blocks.find((b) => b.id === blockId);
  if (!def) return { error: `There is no block "${blockId}".` };
  const uses = blockParamUses(def, name);
  if (uses.length) return { error: `"${name}" is still used by ${uses.map((u) => `"${u}"`).join(', ')}; set those values in the nodes first.` };
  const withoutParam = updateBlock(doc, blockId, (b) => ({ ...b, params: b.params.filter((p) => p.name !== name) }));
  return {
    doc: {
      ...withoutParam,
      nodes: withoutParam.nodes.map((n) => {
        if (n.type !== BLOCK_NODE_TYPE || n.block !== blockId || !(name in n.params)) return n;
        const params = { ...n.params };
        delete params[name];
        return { ...n, params };
      }),
    },
  };
}

/** Sets the default a block param takes when an instance does not set it. */
export function setBlockParamDefault(doc: GraphDocument, blockId: string, name: string, value: unknown): GraphDocument {
  return updateBlock(doc, blockId, (b) => ({ ...b, params: b.params.map((p) => (p.name === name ? { ...p, default: value } : p)) }));
}

/** One end of a wire being dragged: an output (`source`) or an input (`target`) of an existing node. */
export interface WireEnd {
  nodeId: string;
  port: string;
  side: 'source' | 'target';
}

/** The analysis of the graph on show, with the block definitions a trial edit added. */
const withBlocks = (analysis: Analysis, doc: GraphDocument): Analysis => {
  if (doc.blocks.every((b) => analysis.blocks.get(b.id) === b)) return analysis;
  const blocks = new Map(analysis.blocks);
  for (const b of doc.blocks) if (!blocks.has(b.id)) blocks.set(b.id, b);
  return { ...analysis, blocks };
};

/**
 * Places `item` and wires it to the dropped wire's end, through the first of its ports that can
 * take the wire; null when no port can (the quick-add menu does not offer it then).
 */
export function addConnected(
  doc: GraphDocument,
  analysis: Analysis,
  item: PaletteItem,
  position: { x: number; y: number },
  from: WireEnd,
  shapeOf?: (nodeId: string, port: string) => Shape | undefined,
  /** Ports of the graph's nodes, where they are not layers or blocks (a procedure's). */
  portsOfNode?: (node: GraphNode) => NodePorts | undefined,
): { doc: GraphDocument; id: string; connection: Connection } | null {
  const placed = addItem(doc, item, position);
  const node = placed.doc.nodes.find((n) => n.id === placed.id)!;
  const trialAnalysis = withBlocks(analysis, placed.doc);
  const ports = portsOfNode ? portsOfNode(node) : portsOf(node, trialAnalysis.blocks);
  if (!ports) return null;
  const candidates: Connection[] =
    from.side === 'source'
      ? ports.inputs.map((p) => ({ source: from.nodeId, sourcePort: from.port, target: placed.id, targetPort: p.name }))
      : ports.outputs.map((p) => ({ source: placed.id, sourcePort: p.name, target: from.nodeId, targetPort: from.port }));
  const connection = candidates.find((c) => connectionProblem(placed.doc, trialAnalysis, c, shapeOf, portsOfNode) === null);
  return connection ? { doc: connect(placed.doc, connection), id: placed.id, connection } : null;
}

/**
 * Whether a node may be dropped into a wire: it has an input and an output, is not wired yet, and
 * is not one of the wire's ends. (The full check, shapes included, runs on drop: insertIntoEdge.)
 */
export function canInsert(doc: GraphDocument, blocks: ReadonlyMap<string, BlockDef>, nodeId: string, edgeId: string): boolean {
  const node = doc.nodes.find((n) => n.id === nodeId);
  const edge = doc.edges.find((e) => e.id === edgeId);
  if (!node || !edge || edge.source === nodeId || edge.target === nodeId) return false;
  if (doc.edges.some((e) => e.source === nodeId || e.target === nodeId)) return false;
  const ports = portsOf(node, blocks);
  return !!ports && ports.inputs.length > 0 && ports.outputs.length > 0;
}

/**
 * Splits the wire A → B into A → node → B, through the node's first input and first output, or
 * says why not. `shapesOf` gives the output shapes of a trial document (the node's output shape is
 * known only once it is wired), so a rank the far end refuses is refused here too.
 */
export function insertIntoEdge(
  doc: GraphDocument,
  analysis: Analysis,
  nodeId: string,
  edgeId: string,
  shapesOf: (trial: GraphDocument) => ((nodeId: string, port: string) => Shape | undefined) | undefined,
): { doc: GraphDocument } | { error: string } {
  analysis = withBlocks(analysis, doc);
  if (!canInsert(doc, analysis.blocks, nodeId, edgeId))
    return { error: `${label(doc, nodeId)} needs an input and an output, and no wires yet, to go into a wire.` };
  const edge = doc.edges.find((e) => e.id === edgeId)!;
  const ports = portsOf(
    doc.nodes.find((n) => n.id === nodeId)!,
    analysis.blocks,
  )!;
  const without = { ...doc, edges: doc.edges.filter((e) => e.id !== edgeId) };
  const first: Connection = { source: edge.source, sourcePort: edge.sourcePort, target: nodeId, targetPort: ports.inputs[0]!.name };
  const firstProblem = connectionProblem(without, analysis, first, shapesOf(doc));
  if (firstProblem) return { error: firstProblem };
  const half = connect(without, first);
  const second: Connection = { source: nodeId, sourcePort: ports.outputs[0]!.name, target: edge.target, targetPort: edge.targetPort };
  const secondProblem = connectionProblem(half, analysis, second, shapesOf(half));
  if (secondProblem) return { error: secondProblem };
  // The new wires take the old one's place in the list, so the document still reads front to back.
  const joined = connect(half, second);
  const added = joined.edges.slice(-2);
  const at = doc.edges.findIndex((e) => e.id === edgeId);
  const edges = [...without.edges.slice(0, at), ...added, ...without.edges.slice(at)];
  return { doc: { ...joined, edges } };
}
