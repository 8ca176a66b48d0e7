/**
 * The compiler's memory estimate (PB310) on the command line. The editor refuses Start past a
 * browser tab's memory; `patchbay train` and `sweep` are not bound by a tab, so they train anyway
 * and say so in one line on stderr (their --json output has no warnings list, and is left as it is).
 */
import { analyze, batchSizeOf, optimizerOf } from '../compiler/infer';
import { formatBytes, TRAINING_MEMORY_LIMIT, trainingStepMemory } from '../compiler/memory';
import { analyzeProgram } from '../compiler/program';
import { programStepMemories } from '../compiler/program-memory';
import type { GraphDocument } from '../document/schema';

/** What the compiler estimates one training step of `doc` needs at `batchSize` (the largest, for a program). */
export function trainingStepBytes(doc: GraphDocument, batchSize = batchSizeOf(doc)): number {
  const program = doc.program ? analyzeProgram(doc) : null;
  if (program) return Math.max(0, ...programStepMemories(program.networks, program.procedures, batchSize).map((s) => s.totalBytes));
  const analysis = analyze(doc, undefined, { memory: false });
  return trainingStepMemory(analysis.count, analysis.main.cost.activations, batchSize, optimizerOf(doc)).totalBytes;
}

/** Past a tab's memory: why this command trains anyway, in one line; null when the step fits a tab. */
export function memoryNote(doc: GraphDocument, batchSize = batchSizeOf(doc)): string | null {
  const bytes = trainingStepBytes(doc, batchSize);
  if (bytes <= TRAINING_MEMORY_LIMIT) return null;
  return `Memory (PB310): a training step at batch ${batchSize} needs about ${formatBytes(bytes)} by the compiler's estimate, more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} a browser tab gives the editor, which refuses to start it; training here anyway, since the command line is not bound by a tab's memory.`;
}

/** The sweep's one line: each variant past a tab's memory, with its estimate; null when none is. */
export function sweepMemoryNote(variants: ReadonlyArray<{ label: string; doc: GraphDocument }>, batchSize?: number): string | null {
  const past = variants
    .map((v) => ({ label: v.label, bytes: trainingStepBytes(v.doc, batchSize ?? batchSizeOf(v.doc)) }))
    .filter((v) => v.bytes > TRAINING_MEMORY_LIMIT);
  if (!past.length) return null;
  return `Memory (PB310): a training step of ${past.map((v) => `${v.label} needs about ${formatBytes(v.bytes)}`).join(', of ')} by the compiler's estimate, more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} a browser tab gives the editor, which refuses to start ${past.length === 1 ? 'it' : 'them'}; training here anyway, since the command line is not bound by a tab's memory.`;
}
