import { DOCUMENT_VERSION, type GraphDocument, type GraphEdge, type GraphNode } from '../../src/document/schema';

let counter = 0;

/** A document from nodes and `[source, target, targetPort?, sourcePort?]` wires, for tests. */
export function graph(
  nodes: Array<Partial<GraphNode> & { id: string; type: string }>,
  wires: Array<[string, string, string?, string?]>,
  extra: Partial<GraphDocument> = {},
): GraphDocument {
  return {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    name: 'test graph',
    nodeTypes: {},
    nodes: nodes.map((n) => ({ params: {}, ...n })),
    edges: wires.map(([source, target, targetPort = 'in', sourcePort = 'out']): GraphEdge => ({ id: `e${++counter}`, source, sourcePort, target, targetPort })),
    blocks: [],
    networks: [],
    meta: {},
    ...extra,
  };
}
