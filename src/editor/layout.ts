/** Auto-layout with elkjs (layered, top to bottom), loaded only when used. */
import type { GraphDocument } from '../document/schema';
import { setPositions } from './graph-ops';

export async function autoLayout(doc: GraphDocument, sizes: Map<string, { width: number; height: number }>): Promise<GraphDocument> {
  const { default: ELK } = await import('elkjs/lib/elk.bundled.js');
  const elk = new ELK();
  const graph = await elk.layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.spacing.nodeNode': '40',
      'elk.layered.spacing.nodeNodeBetweenLayers': '56',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    },
    children: doc.nodes.map((n) => ({ id: n.id, width: sizes.get(n.id)?.width ?? 200, height: sizes.get(n.id)?.height ?? 90 })),
    edges: doc.edges
      .filter((e) => e.source !== e.target)
      .map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const positions = new Map<string, { x: number; y: number }>();
  for (const c of graph.children ?? []) positions.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
  return setPositions(doc, positions);
}
