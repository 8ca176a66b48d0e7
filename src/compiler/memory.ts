import { diagnostic, type Diagnostic } from '../document/diagnostics';
import type { ParamCount } from '../nodes/spec';

/**
 * What a model's weights cost in memory, from the parameter count alone (activations depend on the
 * batch and come on top: trainingStepMemory). float32 weights take 4 bytes each; training keeps the
 * weights, their gradients and the optimizer's state (optimizerSlots): four copies with Adam.
 */
export interface MemoryEstimate {
  params: number;
  weightsBytes: number;
  trainingBytes: number;
}

export type OptimizerName = 'adam' | 'adamw' | 'sgd';

/**
 * float32 copies an optimizer keeps per trainable weight: Adam's two moments (AdamW is Adam with the
 * decay applied beside it), and SGD's one accumulator. Both runtimes (training/train.ts and
 * program/updates.ts) build SGD with tf.train.momentum, which allocates its accumulator for every
 * weight even at momentum 0, so SGD without momentum still costs one copy here.
 */
export function optimizerSlots(optimizer: OptimizerName): number {
  return optimizer === 'sgd' ? 1 : 2;
}

/** The optimizer's state in words, after "gradients and". */
export function optimizerStateWords(optimizer: OptimizerName): string {
  return optimizer === 'sgd' ? "SGD's momentum accumulator" : "Adam's two moments";
}

export const BYTES_PER_PARAM = 4;
/** The training schema's default, for a document without a training section. */
export const DEFAULT_BATCH_SIZE = 32;
/** Weights and gradients: the copies every optimizer keeps, before its own state. */
export const WEIGHT_AND_GRADIENT_COPIES = 2;

/**
 * Above this, training cannot work in a browser tab: the WASM backend addresses at most 4 GiB, and
 * WebGL/WebGPU give a page far less than that on most machines. Used for the warning and to refuse Start.
 */
export const TRAINING_MEMORY_LIMIT = 4 * 2 ** 30;

export function memoryEstimate(count: ParamCount, optimizer: OptimizerName = 'adam'): MemoryEstimate {
  const params = count.trainable + count.nonTrainable;
  return {
    params,
    weightsBytes: params * BYTES_PER_PARAM,
    trainingBytes: count.trainable * BYTES_PER_PARAM * (WEIGHT_AND_GRADIENT_COPIES + optimizerSlots(optimizer)) + count.nonTrainable * BYTES_PER_PARAM,
  };
}

/** "3.2 GB", "870 MB", "21 TB": sizes for people (decimal units, as disks and browsers show them); `extra` more digits. */
export function formatBytes(bytes: number, extra = 0): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = (unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2) + (unit === 0 ? 0 : extra);
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/**
 * `bytes` (at most `limit`) and the limit, with as many digits as it takes for them to read
 * differently: a step just under the limit must not read as equal to it ("4.2949 GB" under "4.2950 GB").
 */
export function formatBytesUnder(bytes: number, limit: number): [string, string] {
  for (let extra = 0; extra < 6; extra++) {
    const [a, b] = [formatBytes(bytes, extra), formatBytes(limit, extra)];
    if (a !== b) return [a, b];
  }
  return [formatBytes(bytes, 6), formatBytes(limit, 6)];
}

/** Where the limit binds; the CLI, not bound by it, says so itself (cli/memory-note.ts). */
export const TAB_WORDS = 'a browser tab can give it';

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

export function trainingStepMemory(count: ParamCount, activationsPerExample: number, batchSize: number, optimizer: OptimizerName = 'adam'): TrainingStepMemory {
  const paramsBytes = memoryEstimate(count, optimizer).trainingBytes;
  const activationBytesPerExample = activationsPerExample * BYTES_PER_PARAM;
  const activationBytes = activationBytesPerExample * batchSize;
  return { batchSize, paramsBytes, activationBytesPerExample, activationBytes, totalBytes: paramsBytes + activationBytes };
}

/** The largest batch whose step fits in `limit` beside the weights' training state (0: not even one example). */
export function largestBatchThatFits(step: TrainingStepMemory, limit = TRAINING_MEMORY_LIMIT): number {
  if (step.activationBytesPerExample <= 0) return step.paramsBytes <= limit ? Infinity : 0;
  return Math.max(0, Math.floor((limit - step.paramsBytes) / step.activationBytesPerExample));
}

/** The help when parameters dominate: a smaller batch would not do. */
export const PARAMS_HELP = 'Make the largest layers smaller (fewer units or filters), or export to PyTorch and train on bigger machines.';

/** The help when activations dominate: the largest batch that fits, with what a step then needs, told apart from the limit. */
export function smallerBatchHelp(step: TrainingStepMemory): string {
  const fits = largestBatchThatFits(step);
  if (fits < 1)
    return "Even one example's activations do not fit beside the weights: use a smaller input or fewer channels, or export to PyTorch and train on bigger machines.";
  const [needs, limit] = formatBytesUnder(step.paramsBytes + fits * step.activationBytesPerExample, TRAINING_MEMORY_LIMIT);
  return `Lower the batch size to ${count(fits)} or less (a step then needs about ${needs}, under the ${limit} limit), use a smaller input, or export to PyTorch and train on bigger machines.`;
}

/**
 * Why a model of this size will not train here, or null when it fits: the model's parameters, and,
 * when `step` is given, a training step's activations at its batch size, saying which dominates.
 */
export function memoryProblem(
  estimate: MemoryEstimate,
  step?: TrainingStepMemory,
  optimizer: OptimizerName = 'adam',
): { message: string; help: string } | null {
  const total = step ? step.totalBytes : estimate.trainingBytes;
  if (total <= TRAINING_MEMORY_LIMIT) return null;
  const params = `${count(estimate.params)} parameters: ${formatBytes(estimate.weightsBytes)} of weights, and about ${formatBytes(estimate.trainingBytes)} to train (weights, gradients and ${optimizerStateWords(optimizer)})`;
  if (!step || step.activationBytes === 0)
    return { message: `The model holds ${params}, more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} ${TAB_WORDS}.`, help: PARAMS_HELP };
  const activationsDominate = step.activationBytes >= step.paramsBytes;
  const message =
    `A training step at batch ${count(step.batchSize)} needs about ${formatBytes(step.totalBytes)}, more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} ${TAB_WORDS}: ` +
    `${formatBytes(step.paramsBytes)} for the ${count(estimate.params)} parameters (${formatBytes(estimate.weightsBytes)} of weights, with their gradients and ${optimizerStateWords(optimizer)}) ` +
    `and ${formatBytes(step.activationBytes)} of activations kept for the backward pass (${formatBytes(step.activationBytesPerExample)} per example). ` +
    (activationsDominate ? 'The activations dominate.' : 'The parameters dominate.');
  return { message, help: activationsDominate ? smallerBatchHelp(step) : PARAMS_HELP };
}

/** The Start button's refusal for a PB310 estimate: one wording for classifiers, programs and sweeps' variants. */
export function startRefusal(problem: { message: string; help?: string }): string {
  const message = problem.message.charAt(0).toLowerCase() + problem.message.slice(1);
  return `Start is refused: ${message} ${problem.help ?? ''}`.trim();
}

/**
 * A PB310 message for a terminal: the CLI is not bound by a tab's memory, so it says whose limit
 * it is and that the command trains anyway.
 */
export function forTerminal<T extends { code: string; message: string }>(d: T): T {
  if (d.code !== 'PB310' || !d.message.includes(TAB_WORDS)) return d;
  return { ...d, message: d.message.replace(TAB_WORDS, "a training run in the editor's browser tab can use (the command line is not bound by it)") };
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
  optimizer: OptimizerName = 'adam',
): Diagnostic[] {
  const step = activations ? trainingStepMemory(total, activations.perExample, activations.batchSize, optimizer) : undefined;
  const problem = memoryProblem(memoryEstimate(total, optimizer), step, optimizer);
  if (!problem) return [];
  const out = [diagnostic('PB310', problem)];
  const nodes = [...new Set([...perNode.keys(), ...(activations?.perNode.keys() ?? [])])]
    .map((id) => {
      const c = perNode.get(id) ?? { trainable: 0, nonTrainable: 0 };
      const estimate = memoryEstimate(c, optimizer);
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
