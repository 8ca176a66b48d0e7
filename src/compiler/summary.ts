import type { Diagnostic } from '../document/diagnostics';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import { formatShape } from '../nodes/shape';
import type { Shape } from '../nodes/spec';
import { quoted } from '../document/text';
import type { Analysis } from './infer';
import { emptyCost, formatCount, type CostTotal } from './cost';
import { BYTES_PER_PARAM, formatBytes, memoryEstimate, type MemoryEstimate } from './memory';

export interface SummaryRow {
  nodeId: string;
  name: string;
  /** Node type, or the block's label with its repeat count: "ConvMixer block ×4". */
  type: string;
  outputShape: Shape | null;
  trainableParams: number;
  nonTrainableParams: number;
  /** Memory of this node's weights (float32). */
  paramBytes: number;
  /** Multiply–accumulates for one example (every repetition of a block included). */
  macs: number;
  /** Activation memory this node keeps for the backward pass, for one example (float32). */
  activationBytes: number;
  /** Ids of the nodes feeding this one, in port order. */
  inputs: string[];
}

/** The model's cost beyond its weights, for one example and for a training batch. */
export interface CostSummary {
  batchSize: number;
  /** Activation memory for a training batch of `batchSize` examples. */
  batchActivationBytes: number;
  macsByType: Record<string, number>;
  /** Layer types whose cost is not estimated (left out of the totals). */
  unestimated: string[];
  /** What a person comparing with a paper's table needs to know about the count. */
  notes: string[];
}

export interface Summary {
  name: string;
  trainableParams: number;
  nonTrainableParams: number;
  inputs: { name: string; shape: Shape | null }[];
  outputs: { name: string; shape: Shape | null }[];
  nodes: SummaryRow[];
  /** Multiply–accumulates for one example: convolutions, dense layers and matrix products; element-wise work is not counted. */
  macs: number;
  /** Activation memory kept for the backward pass, for one example (float32). */
  activationBytes: number;
  cost: CostSummary;
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
      paramBytes: ((result?.count.trainable ?? 0) + (result?.count.nonTrainable ?? 0)) * BYTES_PER_PARAM,
      macs: result?.cost?.macs ?? 0,
      activationBytes: (result?.cost?.activations ?? 0) * BYTES_PER_BYTE_ELEMENT,
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
    macs: main.cost.macs,
    activationBytes: main.cost.activations * BYTES_PER_BYTE_ELEMENT,
    cost: costSummary(main.cost, doc.training?.batchSize ?? DEFAULT_BATCH),
    memory: memoryEstimate(analysis.count),
    diagnostics: analysis.diagnostics,
  };
}

const n = (x: number) => x.toLocaleString('en-US');

/** Activations are float32, as the weights. */
const BYTES_PER_BYTE_ELEMENT = BYTES_PER_PARAM;
/** The training schema's default, for a document without a training section. */
const DEFAULT_BATCH = 32;

function costSummary(total: CostTotal = emptyCost(), batchSize: number): CostSummary {
  const notes: string[] = [];
  const depthwise = total.macsByType.DepthwiseConv2D ?? 0;
  if (depthwise > 0) {
    notes.push(
      `Depthwise convolutions are counted (${formatCount(depthwise)} MACs, ${((100 * depthwise) / total.macs).toFixed(1)}% of the total); some published ConvMixer figures leave them out.`,
    );
  }
  if (total.unestimated.length) notes.push(`Not estimated, so left out of the totals: ${total.unestimated.map((t) => quoted(t, 60)).join(', ')}.`);
  return {
    batchSize,
    batchActivationBytes: total.activations * BYTES_PER_BYTE_ELEMENT * batchSize,
    macsByType: total.macsByType,
    unestimated: total.unestimated,
    notes,
  };
}

/** The summary as a plain-text table, the way Keras prints `model.summary()`. */
export function formatSummary(summary: Summary): string {
  const header = ['Layer (type)', 'Output shape', 'Param #', 'MACs', 'Activations', 'Connected to'];
  const names = new Map(summary.nodes.map((r) => [r.nodeId, r.name]));
  const body = summary.nodes.map((r) => [
    `${quoted(r.name, 60)} (${quoted(r.type, 60)})`,
    r.outputShape ? formatShape(r.outputShape) : '?',
    n(r.trainableParams + r.nonTrainableParams),
    r.macs ? formatCount(r.macs) : '-',
    r.activationBytes ? formatBytes(r.activationBytes) : '-',
    r.inputs.map((id) => quoted(names.get(id) ?? id, 60)).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
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
    `MACs: ${formatCount(summary.macs)} per example (convolutions, dense layers and matrix products; element-wise work not counted)`,
    `Activations: ${formatBytes(summary.activationBytes)} per example; ${formatBytes(summary.cost.batchActivationBytes)} for a training batch of ${n(summary.cost.batchSize)}`,
    ...summary.cost.notes,
    rule('_'),
  ].join('\n');
}
