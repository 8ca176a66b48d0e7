/**
 * A small builder for the program templates (distillation, SimSiam, BYOL, DirectPred): they are
 * ordinary saved documents, but writing several networks and procedures node by node in JSON is
 * error-prone, so scripts/gen-program-templates.ts builds them with these helpers and writes the
 * JSON files that ship. Positions are laid out top to bottom so the files open readable.
 */
import type { GraphEdge, GraphNode } from '../src/document/schema';

export interface GraphBuilder {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Adds a node; `from` wires `[sourceId, sourcePort?, targetPort?]` into it. */
  add(id: string, type: string, params?: Record<string, unknown>, from?: Array<[string, string?, string?]>, extra?: Partial<GraphNode>): string;
}

export function graphBuilder(): GraphBuilder {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  return {
    nodes,
    edges,
    add(id, type, params = {}, from = [], extra = {}) {
      // One column per chain: a node sits under its first input, side branches move right.
      const parent = from[0]?.[0];
      const parentNode = parent ? nodes.find((n) => n.id === parent) : undefined;
      let x = parentNode?.position?.x ?? 0;
      const y = parentNode?.position ? parentNode.position.y + 130 : 0;
      while (nodes.some((n) => n.position?.x === x && n.position?.y === y)) x += 260;
      nodes.push({ id, type, params, position: { x, y }, ...extra });
      for (const [source, sourcePort = 'out', targetPort = 'in'] of from) {
        edges.push({ id: `${source}-${id}-${targetPort}-${edges.length}`, source, sourcePort, target: id, targetPort });
      }
      return id;
    },
  };
}

/** A Dense → BatchNorm → ReLU stage, as the SSL projectors and predictors are made of (BN momentum 0.9: PyTorch's 0.1). */
export function denseBnRelu(g: GraphBuilder, prefix: string, input: string, units: number, relu = true): string {
  const d = g.add(`${prefix}Dense`, 'Dense', { units, useBias: false }, [[input]]);
  const bn = g.add(`${prefix}Norm`, 'BatchNormalization', { momentum: 0.9 }, [[d]]);
  return relu ? g.add(`${prefix}Relu`, 'Activation', { activation: 'relu' }, [[bn]]) : bn;
}
