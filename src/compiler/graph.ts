import { diagnostic, type Diagnostic } from '../document/diagnostics';
import type { BlockDef, GraphBody, GraphEdge, GraphNode } from '../document/schema';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import type { PortSpec } from '../nodes/spec';

/** The ports a node shows, whether it is a layer or a block instance. */
export interface NodePorts {
  inputs: PortSpec[];
  outputs: PortSpec[];
}

export function blockPorts(def: BlockDef): NodePorts {
  const named = (type: string, fallback: string) =>
    def.nodes.filter((n) => n.type === type).map((n) => ({ name: typeof n.params.name === 'string' ? n.params.name : fallback, node: n }));
  return {
    inputs: named('BlockInput', 'x').map(({ name, node }) => ({ name, ...inputRanks(def, node.id) })),
    outputs: named('BlockOutput', 'y').map(({ name }) => ({ name })),
  };
}

/**
 * A block input accepts the ranks the layers it feeds accept (a ConvMixer block needs an image), so
 * the editor can refuse a wrong wire into a block as it does into a layer. Conditional (`when`)
 * consumers are skipped: they may be switched off.
 */
function inputRanks(def: BlockDef, inputNodeId: string): { minRank?: number; maxRank?: number } {
  let minRank: number | undefined;
  let maxRank: number | undefined;
  for (const e of def.edges) {
    if (e.source !== inputNodeId) continue;
    const consumer = def.nodes.find((n) => n.id === e.target);
    const port = consumer && !consumer.when ? getSpec(consumer.type)?.inputs.find((p) => p.name === e.targetPort) : undefined;
    if (port?.minRank !== undefined) minRank = Math.max(minRank ?? 0, port.minRank);
    if (port?.maxRank !== undefined) maxRank = Math.min(maxRank ?? Infinity, port.maxRank);
  }
  return { ...(minRank !== undefined ? { minRank } : {}), ...(maxRank !== undefined ? { maxRank } : {}) };
}

export function portsOf(node: GraphNode, blocks: ReadonlyMap<string, BlockDef>): NodePorts | undefined {
  if (node.type === BLOCK_NODE_TYPE) {
    const def = node.block === undefined ? undefined : blocks.get(node.block);
    return def && blockPorts(def);
  }
  const spec = getSpec(node.type);
  return spec && { inputs: spec.inputs, outputs: spec.outputs };
}

/** A body's wiring, resolved: for each node, the edges into each of its input ports, in order. */
export interface Wiring {
  nodes: Map<string, GraphNode>;
  /** nodeId → port name → incoming edges (document order). */
  incoming: Map<string, Map<string, GraphEdge[]>>;
  outgoing: Map<string, GraphEdge[]>;
  /** Topological order of every node not caught in a cycle. */
  order: string[];
  diagnostics: Diagnostic[];
}

/**
 * Resolves edges against ports and sorts the nodes. Edges to missing nodes or ports are reported
 * and ignored; a second edge into a single-input port is reported and ignored; nodes on a cycle are
 * reported and left out of the order.
 */
export function wire(
  body: GraphBody,
  blocks: ReadonlyMap<string, BlockDef>,
  blockId?: string,
  portsOfNode: (n: GraphNode) => NodePorts | undefined = (n) => portsOf(n, blocks),
): Wiring {
  const diagnostics: Diagnostic[] = [];
  const nodes = new Map<string, GraphNode>();
  for (const n of body.nodes) if (!nodes.has(n.id)) nodes.set(n.id, n);
  const incoming = new Map<string, Map<string, GraphEdge[]>>();
  const outgoing = new Map<string, GraphEdge[]>();
  const ports = new Map<string, NodePorts | undefined>();
  const portsFor = (n: GraphNode) => {
    if (!ports.has(n.id)) ports.set(n.id, portsOfNode(n));
    return ports.get(n.id);
  };

  for (const edge of body.edges) {
    const source = nodes.get(edge.source);
    const target = nodes.get(edge.target);
    if (!source || !target) {
      const end = source ? 'target' : 'source';
      diagnostics.push(
        diagnostic('PB107', {
          message: `Edge "${edge.id}" has ${end} "${edge[end]}", but no node has that id.`,
          help: 'The edge is ignored; delete it or reconnect it.',
          blockId,
          nodeId: source?.id ?? target?.id,
        }),
      );
      continue;
    }
    const sp = portsFor(source);
    const tp = portsFor(target);
    // Nodes of unknown type report themselves; their edges still count as wiring (for the order
    // and for reachability) without port checks, so that nothing around them looks unconnected.
    if (sp && !sp.outputs.some((p) => p.name === edge.sourcePort)) {
      diagnostics.push(portProblem(source, edge.sourcePort, sp.outputs, 'output', blockId));
      continue;
    }
    const port = tp ? tp.inputs.find((p) => p.name === edge.targetPort) : { name: edge.targetPort, variadic: true };
    if (!port) {
      diagnostics.push(portProblem(target, edge.targetPort, tp!.inputs, 'input', blockId));
      continue;
    }
    let byPort = incoming.get(target.id);
    if (!byPort) incoming.set(target.id, (byPort = new Map()));
    const list = byPort.get(port.name) ?? [];
    if (list.length > 0 && !port.variadic) {
      diagnostics.push(
        diagnostic('PB203', {
          message: `Node "${target.id}" port "${port.name}" already receives "${list[0]!.source}"; edge "${edge.id}" from "${edge.source}" is a second connection.`,
          help: 'A layer input takes one tensor. Remove one edge, or join the tensors first with Add or Concatenate.',
          nodeId: target.id,
          port: port.name,
          blockId,
        }),
      );
      continue;
    }
    list.push(edge);
    byPort.set(port.name, list);
    const out = outgoing.get(source.id) ?? [];
    out.push(edge);
    outgoing.set(source.id, out);
  }

  const order = topologicalOrder(nodes, incoming, outgoing);
  if (order.length < nodes.size) {
    const placed = new Set(order);
    const stuck = [...nodes.keys()].filter((id) => !placed.has(id));
    const cycle = findCycle(stuck, incoming);
    for (const id of stuck) {
      if (!cycle.includes(id)) continue;
      diagnostics.push(
        diagnostic('PB202', {
          message: `Node "${id}" is on a cycle: ${[...cycle, cycle[0]].join(' → ')}.`,
          help: 'A network is computed front to back; remove one edge of the cycle. For recurrence, use a block with repeat.',
          nodeId: id,
          blockId,
        }),
      );
    }
  }
  return { nodes, incoming, outgoing, order, diagnostics };
}

function portProblem(node: GraphNode, port: string, available: PortSpec[], side: 'input' | 'output', blockId?: string): Diagnostic {
  return diagnostic('PB201', {
    message: `Received a connection to ${side} port "${port}" of node "${node.id}" (${node.type}), which has ${available.length ? `${side} ports ${available.map((p) => `"${p.name}"`).join(', ')}` : `no ${side} ports`}.`,
    help: 'Reconnect the edge to an existing port.',
    nodeId: node.id,
    port,
    blockId,
  });
}

/**
 * Kahn's algorithm, always taking the ready node that comes first in the document, so that emitted
 * code and summaries follow the order the graph was written in. O((n + e) log n).
 */
function topologicalOrder(nodes: Map<string, GraphNode>, incoming: Map<string, Map<string, GraphEdge[]>>, outgoing: Map<string, GraphEdge[]>): string[] {
  const index = new Map<string, number>();
  const ids = [...nodes.keys()];
  ids.forEach((id, i) => index.set(id, i));
  const indegree = new Int32Array(ids.length);
  for (const [id, byPort] of incoming) for (const list of byPort.values()) indegree[index.get(id)!]! += list.length;
  const ready = new MinHeap();
  indegree.forEach((d, i) => d === 0 && ready.push(i));
  const order: string[] = [];
  while (ready.size > 0) {
    const id = ids[ready.pop()]!;
    order.push(id);
    for (const edge of outgoing.get(id) ?? []) {
      const t = index.get(edge.target)!;
      if (--indegree[t]! === 0) ready.push(t);
    }
  }
  return order;
}

/** A binary min-heap of integers. */
class MinHeap {
  private items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(value: number): void {
    const a = this.items;
    a.push(value);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * One cycle among the nodes Kahn could not place, for a readable message. Every such node has a
 * predecessor that was not placed either, so walking predecessors must close a loop.
 */
function findCycle(stuck: string[], incoming: Map<string, Map<string, GraphEdge[]>>): string[] {
  const inStuck = new Set(stuck);
  const path: string[] = [];
  const index = new Map<string, number>();
  let current: string | undefined = stuck[0];
  while (current !== undefined && !index.has(current)) {
    index.set(current, path.length);
    path.push(current);
    const preds: string[] = [...(incoming.get(current)?.values() ?? [])].flat().map((e) => e.source);
    current = preds.find((s) => inStuck.has(s));
  }
  return current === undefined ? stuck : path.slice(index.get(current)).reverse();
}
