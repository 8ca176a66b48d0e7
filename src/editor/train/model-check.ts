/**
 * The Train tab's check of a classifier's ending: the traps a newcomer falls into with a graph that
 * compiles fine but cannot learn what was meant, each named plainly with a one-click fix (a pure
 * document edit, applied as one undoable step).
 *
 * - A Dense wired straight to an image ([batch, h, w, c]) is valid tfjs, but it maps each pixel's
 *   channels on its own, so the model ends in an image of scores rather than one row per example.
 * - Cross-entropy in tfjs reads the output as probabilities: a last layer without a softmax
 *   (Keras's default Dense is linear) trains to a fraction of what it should.
 */
import type { Analysis } from '../../compiler/infer';
import type { GraphDocument, GraphNode, TrainingSetup } from '../../document/schema';
import { getSpec } from '../../nodes/registry';
import { formatShape } from '../../nodes/shape';
import { addItem, freshEdgeId, setParam } from '../graph-ops';

export interface ModelProblem {
  id: 'dense-on-image' | 'no-softmax';
  nodeId: string;
  /** The problem in a sentence. */
  title: string;
  /** Why it matters, with the shapes or values involved. */
  detail: string;
  /** The fix's button. */
  fixLabel: string;
  /** Applies the fix to the (main) document. */
  fix: (doc: GraphDocument) => GraphDocument;
  /** True when Start cannot work until it is fixed. */
  blocking: boolean;
}

/** Layers that pass values through unchanged at inference: looking for the last real layer skips them. */
const PASS_THROUGH = new Set(['Dropout', 'Output']);

const nameOf = (node: GraphNode) => node.name ?? node.id;

/** The node that feeds the graph's one output (an Output node's source, or the one node nothing consumes). */
function outputSource(doc: GraphDocument): GraphNode | null {
  const outputs = doc.nodes.filter((n) => n.type === 'Output');
  if (outputs.length > 1) return null;
  if (outputs.length === 1) {
    const edge = doc.edges.find((e) => e.target === outputs[0]!.id);
    return edge ? (doc.nodes.find((n) => n.id === edge.source) ?? null) : null;
  }
  const consumed = new Set(doc.edges.map((e) => e.source));
  const ends = doc.nodes.filter((n) => !consumed.has(n.id) && n.type !== 'Input');
  return ends.length === 1 ? ends[0]! : null;
}

/** Walks back from the output over pass-through layers to the last layer that computes something. */
function lastLayer(doc: GraphDocument): GraphNode | null {
  let node = outputSource(doc);
  const seen = new Set<string>();
  while (node && PASS_THROUGH.has(node.type) && !seen.has(node.id)) {
    seen.add(node.id);
    const edge = doc.edges.find((e) => e.target === node!.id);
    node = edge ? (doc.nodes.find((n) => n.id === edge.source) ?? null) : null;
  }
  return node;
}

/** A node's params with its spec's defaults filled in (what the compiler uses), or null for blocks and unknown types. */
function effectiveParams(node: GraphNode): Record<string, unknown> | null {
  const spec = getSpec(node.type);
  if (!spec) return null;
  const parsed = spec.params.safeParse(node.params);
  return parsed.success ? (parsed.data as Record<string, unknown>) : null;
}

/** Inserts a Flatten on the wire into `nodeId`'s input, between its source and it. */
function insertFlattenBefore(doc: GraphDocument, nodeId: string): GraphDocument {
  const wire = doc.edges.find((e) => e.target === nodeId && e.targetPort === 'in');
  const target = doc.nodes.find((n) => n.id === nodeId);
  if (!wire || !target) return doc;
  const source = doc.nodes.find((n) => n.id === wire.source);
  const at =
    target.position && source?.position
      ? { x: (source.position.x + target.position.x) / 2, y: (source.position.y + target.position.y) / 2 }
      : (target.position ?? { x: 0, y: 0 });
  const added = addItem(doc, { kind: 'layer', type: 'Flatten' }, at);
  const flatten = added.id;
  const edges = added.doc.edges.map((e) => (e.id === wire.id ? { ...e, target: flatten, targetPort: 'in' } : e));
  const next = { ...added.doc, edges };
  return { ...next, edges: [...edges, { id: freshEdgeId(next), source: flatten, sourcePort: 'out', target: nodeId, targetPort: 'in' }] };
}

export function checkModel(doc: GraphDocument, analysis: Analysis, setup: Pick<TrainingSetup, 'loss'>): ModelProblem[] {
  const problems: ModelProblem[] = [];
  const end = outputSource(doc);
  const outShape = end ? analysis.main.nodes.get(end.id)?.outputs?.out : undefined;

  // A Dense on an image matters when the model then ends in more than one row per example.
  if (outShape && outShape.length > 2) {
    for (const node of doc.nodes) {
      if (node.type !== 'Dense') continue;
      const input = analysis.main.nodes.get(node.id)?.inputs[0];
      if (!input || input.length !== 4) continue;
      const output = analysis.main.nodes.get(node.id)?.outputs?.out;
      problems.push({
        id: 'dense-on-image',
        nodeId: node.id,
        blocking: true,
        title: 'Dense on an image acts per pixel',
        detail: `"${nameOf(node)}" gets ${formatShape(input)}, so it maps each pixel's ${input[3]} channels on its own and gives ${output ? formatShape(output) : 'an image'}; the model ends in ${formatShape(outShape)} instead of one row per example. A Flatten before it makes one vector of each image.`,
        fixLabel: 'Insert Flatten before Dense',
        fix: (d) => insertFlattenBefore(d, node.id),
      });
      break; // The first one on the way is the one to fix; the next check will find any other.
    }
  }

  const crossEntropy = setup.loss === 'categoricalCrossentropy' || setup.loss === 'sparseCategoricalCrossentropy';
  const last = lastLayer(doc);
  const params = last ? effectiveParams(last) : null;
  if (crossEntropy && last && params && typeof params.activation === 'string' && params.activation !== 'softmax') {
    const activation = params.activation;
    problems.push({
      id: 'no-softmax',
      nodeId: last.id,
      blocking: false,
      title: `The last ${last.type} has no softmax: cross-entropy needs probabilities`,
      detail: `"${nameOf(last)}" ends in ${activation === 'linear' ? 'no activation ("linear", the default)' : `"${activation}"`}, so its outputs are scores, not probabilities that sum to 1; trained with cross-entropy on them, a classifier learns a fraction of what it could.`,
      fixLabel: `Use softmax on the last ${last.type}`,
      fix: (d) => setParam(d, last.id, 'activation', 'softmax'),
    });
  }
  return problems;
}
