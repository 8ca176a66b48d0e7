import { DOCUMENT_VERSION, type GraphDocument, type GraphEdge, type GraphNode } from '../src/document/schema';

/** A chain: Input → (Dense, Activation, LayerNormalization)… all of width 64. */
export function chainGraph(size: number): GraphDocument {
  const nodes: GraphNode[] = [{ id: 'n0', type: 'Input', params: { shape: [64] } }];
  const edges: GraphEdge[] = [];
  const kinds: Array<[string, Record<string, unknown>]> = [
    ['Dense', { units: 64 }],
    ['Activation', { activation: 'gelu' }],
    ['LayerNormalization', {}],
  ];
  for (let i = 1; i < size; i++) {
    const [type, params] = kinds[i % kinds.length]!;
    nodes.push({ id: `n${i}`, type, params: { ...params } });
    edges.push({ id: `e${i}`, source: `n${i - 1}`, sourcePort: 'out', target: `n${i}`, targetPort: 'in' });
  }
  return doc(`chain of ${size}`, nodes, edges);
}

/** A branchy DAG: every third node adds the two nodes before it (residual-style joins). */
export function branchyGraph(size: number): GraphDocument {
  const nodes: GraphNode[] = [{ id: 'n0', type: 'Input', params: { shape: [64] } }];
  const edges: GraphEdge[] = [];
  let e = 0;
  const wire = (source: string, target: string, targetPort = 'in') => edges.push({ id: `e${e++}`, source, sourcePort: 'out', target, targetPort });
  for (let i = 1; i < size; i++) {
    if (i % 3 === 0 && i >= 3) {
      nodes.push({ id: `n${i}`, type: 'Add', params: {} });
      wire(`n${i - 1}`, `n${i}`, 'inputs');
      wire(`n${i - 3}`, `n${i}`, 'inputs');
    } else {
      nodes.push({ id: `n${i}`, type: i % 3 === 1 ? 'Dense' : 'Activation', params: i % 3 === 1 ? { units: 64 } : { activation: 'relu' } });
      wire(`n${i - 1}`, `n${i}`);
    }
  }
  return doc(`branchy DAG of ${size}`, nodes, edges);
}

function doc(name: string, nodes: GraphNode[], edges: GraphEdge[]): GraphDocument {
  return { format: 'patchbay.graph', version: DOCUMENT_VERSION, name, nodeTypes: {}, nodes, edges, blocks: [], networks: [], meta: {} };
}

/** The document with one node's params replaced (a new node object, as the editor's store does). */
export function editParam(graph: GraphDocument, index: number, params: Record<string, unknown>): GraphDocument {
  return { ...graph, nodes: graph.nodes.map((n, i) => (i === index ? { ...n, params: { ...n.params, ...params } } : n)) };
}
