import { diagnostic, type Diagnostic } from '../document/diagnostics';
import type { ParamCount } from '../nodes/spec';

/**
 * What a model's weights cost in memory, from the parameter count alone (activations depend on the
 * batch and come on top: trainingStepMemory). float32 weights take 4 bytes each; training with Adam keeps the weights,
 * their gradients and two moment estimates: four copies.
 */
export interface MemoryEstimate {
  params: number;
  weightsBytes: number;
  trainingBytes: number;
}

export const BYTES_PER_PARAM = 4;
/** The training schema's default, for a document without a training section. */
export const DEFAULT_BATCH_SIZE = 32;
export const TRAINING_COPIES = 4;

/**
 * Above this, training cannot work in a browser tab: the WASM backend addresses at most 4 GiB, and
 * WebGL/WebGPU give a page far less than that on most machines. Used for the warning and to refuse Start.
 */
export const TRAINING_MEMORY_LIMIT = 4 * 2 ** 30;

export function memoryEstimate(count: ParamCount): MemoryEstimate {
  const params = count.trainable + count.nonTrainable;
  return {
    params,
    weightsBytes: params * BYTES_PER_PARAM,
    trainingBytes: count.trainable * BYTES_PER_PARAM * TRAINING_COPIES + count.nonTrainable * BYTES_PER_PARAM,
  };
}

/** "3.2 GB", "870 MB", "21 TB": sizes for people (decimal units, as disks and browsers show them). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

const count = (n: number) => (n >= 1e15 ? n.toExponential(2) : Math.round(n).toLocaleString('en-US'));

/**
 * What one training step holds: the weights' training state (memoryEstimate's trainingBytes) and
 * the activations the forward pass keeps for the backward pass, for `batchSize` examples (the cost
 * counts' activation elements per example, float32).
 */
export interface TrainingStepMemory {
  batchSize: number;
  paramsBytes: number;
  /** Activations kept for one example, and for the batch. */
  activationBytesPerExample: number;
  activationBytes: number;
  totalBytes: number;
}

export function trainingStepMemory(count: ParamCount, activationsPerExample: number, batchSize: number): TrainingStepMemory {
  const paramsBytes = memoryEstimate(count).trainingBytes;
  const activationBytesPerExample = activationsPerExample * BYTES_PER_PARAM;
  const activationBytes = activationBytesPerExample * batchSize;
  return { batchSize, paramsBytes, activationBytesPerExample, activationBytes, totalBytes: paramsBytes + activationBytes };
}

/** The largest batch whose step fits in `limit` beside the weights' training state (0: not even one example). */
export function largestBatchThatFits(step: TrainingStepMemory, limit = TRAINING_MEMORY_LIMIT): number {
  if (step.activationBytesPerExample <= 0) return step.paramsBytes <= limit ? Infinity : 0;
  return Math.max(0, Math.floor((limit - step.paramsBytes) / step.activationBytesPerExample));
}

/**
 * Why a model of this size will not train here, or null when it fits: the model's parameters, and,
 * when `step` is given, a training step's activations at its batch size, saying which dominates.
 */
export function memoryProblem(estimate: MemoryEstimate, step?: TrainingStepMemory): { message: string; help: string } | null {
  const total = step ? step.totalBytes : estimate.trainingBytes;
  if (total <= TRAINING_MEMORY_LIMIT) return null;
  const params = `${count(estimate.params)} parameters: ${formatBytes(estimate.weightsBytes)} of weights, and about ${formatBytes(estimate.trainingBytes)} to train (weights, gradients and Adam's two moments)`;
  const paramsHelp = 'Make the largest layers smaller (fewer units or filters), or export to PyTorch and train on bigger machines.';
  if (!step || step.activationBytes === 0)
    return { message: `The model holds ${params}, more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} a browser tab can give it.`, help: paramsHelp };
  const activationsDominate = step.activationBytes >= step.paramsBytes;
  const message =
    `A training step at batch ${count(step.batchSize)} needs about ${formatBytes(step.totalBytes)}, more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} a browser tab can give it: ` +
    `${formatBytes(step.paramsBytes)} for the ${count(estimate.params)} parameters (${formatBytes(estimate.weightsBytes)} of weights, with their gradients and Adam's two moments) ` +
    `and ${formatBytes(step.activationBytes)} of activations kept for the backward pass (${formatBytes(step.activationBytesPerExample)} per example). ` +
    (activationsDominate ? 'The activations dominate.' : 'The parameters dominate.');
  if (!activationsDominate) return { message, help: paramsHelp };
  const fits = largestBatchThatFits(step);
  const help =
    fits >= 1
      ? `Lower the batch size to ${count(fits)} or less (a step then needs about ${formatBytes(step.paramsBytes + fits * step.activationBytesPerExample)}), use a smaller input, or export to PyTorch and train on bigger machines.`
      : "Even one example's activations do not fit beside the weights: use a smaller input or fewer channels, or export to PyTorch and train on bigger machines.";
  return { message, help };
}

/**
 * PB310 warnings: one for the model, and one on each node that alone is past the limit (or, when
 * none is, on the one that holds the most), so the canvas shows where the weight is. With
 * `activations` (elements kept per example, in total and by node) and the batch size, a training
 * step's activations count too.
 */
export function memoryDiagnostics(
  total: ParamCount,
  perNode: ReadonlyMap<string, ParamCount>,
  activations?: { perExample: number; perNode: ReadonlyMap<string, number>; batchSize: number },
): Diagnostic[] {
  const step = activations ? trainingStepMemory(total, activations.perExample, activations.batchSize) : undefined;
  const problem = memoryProblem(memoryEstimate(total), step);
  if (!problem) return [];
  const out = [diagnostic('PB310', problem)];
  const nodes = [...new Set([...perNode.keys(), ...(activations?.perNode.keys() ?? [])])]
    .map((id) => {
      const c = perNode.get(id) ?? { trainable: 0, nonTrainable: 0 };
      const estimate = memoryEstimate(c);
      const batchBytes = (activations?.perNode.get(id) ?? 0) * BYTES_PER_PARAM * (activations?.batchSize ?? 0);
      return { id, estimate, batchBytes, bytes: estimate.trainingBytes + batchBytes };
    })
    .sort((a, b) => b.bytes - a.bytes);
  const heavy = nodes.filter((n) => n.bytes > TRAINING_MEMORY_LIMIT);
  for (const n of heavy.length ? heavy : nodes.slice(0, 1)) {
    const kept = n.batchBytes > 0 ? ` and keeps ${formatBytes(n.batchBytes)} of activations at batch ${count(activations!.batchSize)}` : '';
    out.push(
      diagnostic('PB310', {
        message: `This node holds ${count(n.estimate.params)} parameters (${formatBytes(n.estimate.weightsBytes)} of weights, about ${formatBytes(n.estimate.trainingBytes)} to train)${kept}.`,
        help:
          n.batchBytes > n.estimate.trainingBytes
            ? 'Lower the batch size, or make its output smaller (fewer channels, a larger stride).'
            : 'Reduce its units, filters or kernel size.',
        nodeId: n.id,
      }),
    );
  }
  return out;
}
