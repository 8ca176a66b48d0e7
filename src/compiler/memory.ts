import { diagnostic, type Diagnostic } from '../document/diagnostics';
import type { ParamCount } from '../nodes/spec';

/**
 * What a model's weights cost in memory, from the parameter count alone (activations depend on the
 * batch and come on top). float32 weights take 4 bytes each; training with Adam keeps the weights,
 * their gradients and two moment estimates: four copies.
 */
export interface MemoryEstimate {
  params: number;
  weightsBytes: number;
  trainingBytes: number;
}

export const BYTES_PER_PARAM = 4;
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

/** Why a model of this size will not train here, or null when it fits. */
export function memoryProblem(estimate: MemoryEstimate): string | null {
  if (estimate.trainingBytes <= TRAINING_MEMORY_LIMIT) return null;
  return `The model holds ${count(estimate.params)} parameters: ${formatBytes(estimate.weightsBytes)} of weights, and about ${formatBytes(estimate.trainingBytes)} to train (weights, gradients and Adam's two moments), more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} a browser tab can give it.`;
}

/**
 * PB310 warnings: one for the model, and one on each node that alone is past the limit (or, when
 * none is, on the largest), so the canvas shows where the weight is.
 */
export function memoryDiagnostics(total: ParamCount, perNode: ReadonlyMap<string, ParamCount>): Diagnostic[] {
  const problem = memoryProblem(memoryEstimate(total));
  if (!problem) return [];
  const out = [
    diagnostic('PB310', {
      message: problem,
      help: 'Make the largest layers smaller (fewer units or filters), or export to PyTorch and train on bigger machines.',
    }),
  ];
  const nodes = [...perNode].map(([id, c]) => ({ id, estimate: memoryEstimate(c) })).sort((a, b) => b.estimate.params - a.estimate.params);
  const heavy = nodes.filter((n) => n.estimate.trainingBytes > TRAINING_MEMORY_LIMIT);
  for (const n of heavy.length ? heavy : nodes.slice(0, 1)) {
    out.push(
      diagnostic('PB310', {
        message: `This node holds ${count(n.estimate.params)} parameters (${formatBytes(n.estimate.weightsBytes)} of weights, about ${formatBytes(n.estimate.trainingBytes)} to train).`,
        help: 'Reduce its units, filters or kernel size.',
        nodeId: n.id,
      }),
    );
  }
  return out;
}
