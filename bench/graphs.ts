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

/**
 * A residual convolutional network of `size` nodes (what a person builds, with valid shapes
 * throughout): Input [16, 16, 8], then blocks of Conv2D → BatchNormalization → Activation →
 * DepthwiseConv2D → Add(block input, that), closed by GlobalAveragePooling2D → Dense(10) → Output.
 * Laid out row by row in `columns` columns, so that the whole graph fits a wide screen.
 */
export function residualConvGraph(size: number, columns = 30): GraphDocument {
  const nodes: GraphNode[] = [{ id: 'n0', type: 'Input', params: { shape: [16, 16, 8] } }];
  const edges: GraphEdge[] = [];
  let e = 0;
  const add = (type: string, params: Record<string, unknown>, inputs: string[], port = 'in') => {
    const id = `n${nodes.length}`;
    nodes.push({ id, type, params });
    for (const source of inputs) edges.push({ id: `e${e++}`, source, sourcePort: 'out', target: id, targetPort: port });
    return id;
  };
  let blockInput = 'n0';
  while (nodes.length + 5 + 3 <= size) {
    const conv = add('Conv2D', { filters: 8, kernelSize: 3, padding: 'same' }, [blockInput]);
    const bn = add('BatchNormalization', {}, [conv]);
    const act = add('Activation', { activation: 'relu' }, [bn]);
    const dw = add('DepthwiseConv2D', { kernelSize: 3, padding: 'same' }, [act]);
    blockInput = add('Add', {}, [blockInput, dw], 'inputs');
  }
  let last = add('GlobalAveragePooling2D', {}, [blockInput]);
  while (nodes.length < size - 2) last = add('Activation', { activation: 'relu' }, [last]);
  add('Output', {}, [add('Dense', { units: 10 }, [last])]);
  nodes.forEach((n, i) => (n.position = { x: (i % columns) * 300, y: Math.floor(i / columns) * 150 }));
  return doc(`residual conv net of ${size}`, nodes, edges);
}
