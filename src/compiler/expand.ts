import type { BlockDef, GraphDocument, GraphEdge, GraphNode } from '../document/schema';
import { BLOCK_NODE_TYPE } from '../nodes/registry';
import { wire } from './graph';
import { analyze } from './infer';
import { resolveParams } from './params';

type Source = { source: string; sourcePort: string };

/**
 * Replaces a block instance by the layers it stands for ("ungroup"): one copy of the block body per
 * repetition, with the block's arguments written into the params and nodes whose `when` param is
 * false left out. The result is an ordinary graph that compiles to the same model. Returns an error
 * message instead when the block cannot be expanded as it stands.
 */
export function expandBlock(doc: GraphDocument, nodeId: string): { doc: GraphDocument } | { error: string } {
  const node = doc.nodes.find((n) => n.id === nodeId);
  if (!node || node.type !== BLOCK_NODE_TYPE) return { error: `Node "${nodeId}" is not a block.` };
  const def = doc.blocks.find((b) => b.id === node.block);
  if (!def) return { error: `Block "${node.block}" is not defined.` };
  const analysis = analyze(doc);
  const result = analysis.main.nodes.get(nodeId);
  if (!result?.outputs || !result.params) return { error: `Fix the problems of "${nodeId}" before expanding it.` };
  const inputPort = String(def.nodes.find((n) => n.type === 'BlockInput')?.params.name ?? 'x');
  const repeat = node.repeat ?? 1;
  const shapes = Object.values(result.outputs)[0];
  const input = result.inputs[0];
  if (repeat > 1 && (!shapes || !input || shapes.join() !== input.join())) {
    return { error: `Repetitions of "${nodeId}" change the tensor shape, so their params differ; expand a copy with repeat 1 first.` };
  }
  const args = result.params;
  const taken = new Set(doc.nodes.map((n) => n.id));
  const fresh = (base: string) => {
    let id = base;
    for (let i = 2; taken.has(id); i++) id = `${base}_${i}`;
    taken.add(id);
    return id;
  };
  const edgeIds = new Set(doc.edges.map((e) => e.id));
  const freshEdge = () => {
    let i = doc.edges.length;
    while (edgeIds.has(`e${i}`)) i++;
    edgeIds.add(`e${i}`);
    return `e${i}`;
  };

  // Where each input port of the block gets its tensor from, outside.
  const outerInputs = new Map<string, Source>();
  for (const e of doc.edges) if (e.target === nodeId) outerInputs.set(e.targetPort, { source: e.source, sourcePort: e.sourcePort });
  const order = wire(def, new Map(doc.blocks.map((b) => [b.id, b])), def.id).order;
  const byId = new Map(def.nodes.map((n) => [n.id, n]));
  const incoming = (id: string) => def.edges.filter((e) => e.target === id);
  const baseName = node.name?.trim() || node.id;
  const origin = node.position ?? { x: 0, y: 0 };

  const newNodes: GraphNode[] = [];
  const newEdges: GraphEdge[] = [];
  let current = outerInputs;
  let outputs = new Map<string, Source>();
  for (let r = 0; r < repeat; r++) {
    const value = new Map<string, Source>();
    const prefix = repeat > 1 ? `${baseName}_${r}` : baseName;
    for (const id of order) {
      const inner = byId.get(id)!;
      if (inner.type === 'BlockInput') {
        const port = String(inner.params.name ?? 'x');
        const from = current.get(port);
        if (from) value.set(id, from);
        continue;
      }
      const sources = incoming(id)
        .map((e) => value.get(e.source))
        .filter((s): s is Source => !!s);
      if (inner.type === 'BlockOutput') {
        if (sources[0]) outputs.set(String(inner.params.name ?? 'y'), sources[0]);
        continue;
      }
      if (inner.when && args[inner.when.$param] === false) {
        if (sources[0]) value.set(id, sources[0]);
        continue;
      }
      const newId = fresh(`${nodeId}_${r}_${id}`);
      const copy: GraphNode = { ...inner };
      delete copy.when; // resolved above: the node is kept only when its condition holds
      newNodes.push({
        ...copy,
        id: newId,
        name: `${prefix}_${inner.name?.trim() || inner.id}`,
        params: resolveParams(inner.params, args),
        position: { x: origin.x + (inner.position?.x ?? 0), y: origin.y + r * 700 + (inner.position?.y ?? 0) },
      });
      incoming(id).forEach((e) => {
        const from = value.get(e.source);
        if (from) newEdges.push({ id: freshEdge(), source: from.source, sourcePort: from.sourcePort, target: newId, targetPort: e.targetPort });
      });
      value.set(id, { source: newId, sourcePort: 'out' });
    }
    // Repeated blocks have one input and one output: this repetition's output feeds the next.
    if (r < repeat - 1) {
      current = new Map([[inputPort, [...outputs.values()][0]!]]);
      outputs = new Map();
    }
  }

  // Consumers of the block now read from the last repetition's outputs.
  const keptEdges: GraphEdge[] = [];
  for (const e of doc.edges) {
    if (e.target === nodeId) continue;
    if (e.source === nodeId) {
      const from = outputs.get(e.sourcePort);
      if (from) keptEdges.push({ ...e, source: from.source, sourcePort: from.sourcePort });
      continue;
    }
    keptEdges.push(e);
  }
  const nodes = doc.nodes.flatMap((n) => (n.id === nodeId ? newNodes : [n]));
  const stillUsed = (b: BlockDef) => nodes.some((n) => n.type === BLOCK_NODE_TYPE && n.block === b.id);
  return { doc: { ...doc, nodes, edges: [...keptEdges, ...newEdges], blocks: doc.blocks.filter(stillUsed) } };
}

/** Expands every block instance (one level at a time, until none is left). */
export function expandAllBlocks(doc: GraphDocument): { doc: GraphDocument } | { error: string } {
  let current = doc;
  for (let guard = 0; guard < 1000; guard++) {
    const block = current.nodes.find((n) => n.type === BLOCK_NODE_TYPE);
    if (!block) return { doc: current };
    const next = expandBlock(current, block.id);
    if ('error' in next) return next;
    current = next.doc;
  }
  return { error: 'Blocks are nested too deeply to expand.' };
}
