import type { Diagnostic } from '../document/diagnostics';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import { formatShape } from '../nodes/shape';
import type { Shape } from '../nodes/spec';
import { quoted } from '../document/text';
import type { Analysis } from './infer';
import { formatBytes, memoryEstimate, type MemoryEstimate } from './memory';

export interface SummaryRow {
  nodeId: string;
  name: string;
  /** Node type, or the block's label with its repeat count: "ConvMixer block ×4". */
  type: string;
  outputShape: Shape | null;
  trainableParams: number;
  nonTrainableParams: number;
  /** Ids of the nodes feeding this one, in port order. */
  inputs: string[];
}

export interface Summary {
  name: string;
  trainableParams: number;
  nonTrainableParams: number;
  inputs: { name: string; shape: Shape | null }[];
  outputs: { name: string; shape: Shape | null }[];
  nodes: SummaryRow[];
  /** Memory the weights take, and about what training them with Adam takes (activations not included). */
  memory: MemoryEstimate;
  diagnostics: Diagnostic[];
}

/** A Keras-style summary, computed from our own inference (no tfjs needed). */
export function summarize(analysis: Analysis): Summary {
  const { doc, main } = analysis;
  const rows: SummaryRow[] = [];
  const order = [...main.wiring.order, ...doc.nodes.map((n) => n.id).filter((id) => !main.wiring.order.includes(id))];
  for (const id of order) {
    const node = main.wiring.nodes.get(id)!;
    const result = main.nodes.get(id);
    const def = node.type === BLOCK_NODE_TYPE && node.block ? analysis.blocks.get(node.block) : undefined;
    const type = def ? `${def.label}${(node.repeat ?? 1) > 1 ? ` ×${node.repeat}` : ''}` : (getSpec(node.type)?.label ?? node.type);
    const inputs: string[] = [];
    for (const edges of main.wiring.incoming.get(id)?.values() ?? []) for (const e of edges) inputs.push(e.source);
    rows.push({
      nodeId: id,
      name: node.name ?? id,
      type,
      outputShape: result?.outputs ? (Object.values(result.outputs)[0] ?? null) : null,
      trainableParams: result?.count.trainable ?? 0,
      nonTrainableParams: result?.count.nonTrainable ?? 0,
      inputs,
    });
  }
  const shapeOf = (id: string, port = 'out') => main.nodes.get(id)?.outputs?.[port] ?? null;
  const nameOf = (id: string) => main.wiring.nodes.get(id)?.name ?? id;
  return {
    name: doc.name,
    trainableParams: analysis.count.trainable,
    nonTrainableParams: analysis.count.nonTrainable,
    inputs: analysis.inputs.map((id) => ({ name: nameOf(id), shape: shapeOf(id) })),
    outputs: analysis.outputs.map((o) => ({ name: nameOf(o.nodeId), shape: shapeOf(o.nodeId, o.port) })),
    nodes: rows,
    memory: memoryEstimate(analysis.count),
    diagnostics: analysis.diagnostics,
  };
}

const n = (x: number) => x.toLocaleString('en-US');

/** The summary as a plain-text table, the way Keras prints `model.summary()`. */
export function formatSummary(summary: Summary): string {
  const header = ['Layer (type)', 'Output shape', 'Param #', 'Connected to'];
  const names = new Map(summary.nodes.map((r) => [r.nodeId, r.name]));
  const body = summary.nodes.map((r) => [
    `${quoted(r.name, 60)} (${quoted(r.type, 60)})`,
    r.outputShape ? formatShape(r.outputShape) : '?',
    n(r.trainableParams + r.nonTrainableParams),
    r.inputs.map((id) => quoted(names.get(id) ?? id, 60)).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = (ch: string) => ch.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const total = summary.trainableParams + summary.nonTrainableParams;
  return [
    `Model: "${quoted(summary.name)}"`,
    rule('_'),
    line(header),
    rule('='),
    ...body.map(line),
    rule('='),
    `Total params: ${n(total)}`,
    `Trainable params: ${n(summary.trainableParams)}`,
    `Non-trainable params: ${n(summary.nonTrainableParams)}`,
    `Memory: ${formatBytes(summary.memory.weightsBytes)} of weights; about ${formatBytes(summary.memory.trainingBytes)} to train with Adam (activations not included)`,
    rule('_'),
  ].join('\n');
}
