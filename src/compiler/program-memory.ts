/**
 * PB310 for a training program: one estimate of a whole training step, not one per network. CLIP
 * trains two towers in one step and SimSiam or BYOL apply their encoder to two views, so each
 * network alone can look as if it fits at a batch where the step that holds all of them does not.
 *
 * What a training procedure's step holds, as the interpreter (runtime/program/run.ts) runs it:
 * - every network's weights, all the time (the run keeps all of them, trained or not);
 * - for each network a Minimize trains: its gradients and that optimizer's state (optimizerSlots);
 * - for each network applied with moving-average weights: the copy's weights, and nothing else
 *   (no optimizer updates it; it follows its network after the step);
 * - activations kept for the backward pass, per application (a network applied twice keeps two
 *   sets), only where gradients flow: an application that a Minimize's loss reaches without a
 *   StopGradient, and that is online or takes something an online application on that path made
 *   (a frozen teacher fed the data, or a moving-average target, runs outside any tape and keeps
 *   nothing; a frozen network that a trained one feeds is differentiated through and keeps its own).
 * The procedure ops' own tensors (losses, augmentations) are small beside these and left out, and
 * every application is counted at the batch size (a procedure that stacks two views into one batch
 * would be undercounted). Evaluation procedures run without a tape and are not estimated. The
 * program's estimate is its largest training step.
 */
import { diagnostic, type Diagnostic } from '../document/diagnostics';
import type { GraphDocument } from '../document/schema';
import { NETWORK_NODE_TYPE } from '../nodes/program/specs';
import { batchSizeOf } from './infer';
import {
  BYTES_PER_PARAM,
  formatBytes,
  optimizerSlots,
  optimizerStateWords,
  PARAMS_HELP,
  smallerBatchHelp,
  TAB_WORDS,
  TRAINING_MEMORY_LIMIT,
  WEIGHT_AND_GRADIENT_COPIES,
  type OptimizerName,
  type TrainingStepMemory,
} from './memory';
import { trainedBy, type NetworkInfo, type ProcedureResult } from './program';

/** One training procedure's step, in parts. */
export interface ProgramStepMemory extends TrainingStepMemory {
  procedure: string;
  procedureLabel: string;
  /** Every network's weights. */
  weightsBytes: number;
  /** Gradients and optimizer state of the networks it trains, by network. */
  trained: Array<{ network: string; optimizers: OptimizerName[] }>;
  /** Networks applied with moving-average weights: one more copy of their weights each. */
  movingAverages: string[];
  /** Applications that keep activations, by network, with how many times each. */
  kept: Array<{ network: string; times: number }>;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const paramsOf = (net: NetworkInfo) => net.analysis.count.trainable + net.analysis.count.nonTrainable;

/** The training step of each training procedure, at `batchSize`. */
export function programStepMemories(networks: readonly NetworkInfo[], procedures: readonly ProcedureResult[], batchSize: number): ProgramStepMemory[] {
  const byId = new Map(networks.map((n) => [n.id, n]));
  const weightsBytes = networks.reduce((sum, n) => sum + paramsOf(n) * BYTES_PER_PARAM, 0);
  const out: ProgramStepMemory[] = [];
  for (const p of procedures) {
    if (p.def.kind !== 'train') continue;
    const nodes = [...p.wiring.nodes.values()];
    const applications = nodes.filter((n) => n.type === NETWORK_NODE_TYPE && p.params.has(n.id) && byId.has(String(p.params.get(n.id)!.network)));
    const networkOf = (id: string) => String(p.params.get(id)!.network);
    const weightsOf = (id: string) => p.params.get(id)!.weights as 'online' | 'frozen' | 'ema';

    // Gradients and optimizer state: each Minimize's optimizer holds its own for the networks it trains.
    const trained = new Map<string, OptimizerName[]>();
    const minimizes = nodes.filter((n) => n.type === 'Minimize' && p.params.has(n.id));
    for (const m of minimizes) {
      const optimizer = (p.params.get(m.id)!.optimizer ?? 'adam') as OptimizerName;
      for (const net of trainedBy(p.def, p.wiring, p.params, m.id, byId).networks) trained.set(net, [...(trained.get(net) ?? []), optimizer]);
    }
    let stateBytes = 0;
    for (const [net, optimizers] of trained) {
      const trainable = byId.get(net)!.analysis.count.trainable;
      stateBytes += trainable * BYTES_PER_PARAM * (WEIGHT_AND_GRADIENT_COPIES - 1 + optimizers.reduce((s, o) => s + optimizerSlots(o), 0));
    }
    const movingAverages = [...new Set(applications.filter((n) => weightsOf(n.id) === 'ema').map((n) => networkOf(n.id)))];
    for (const net of movingAverages) stateBytes += paramsOf(byId.get(net)!) * BYTES_PER_PARAM;

    // Where gradients flow: back from each Minimize, stopping at StopGradient.
    const onPath = new Set<string>();
    const stack = minimizes.map((m) => m.id);
    while (stack.length) {
      const id = stack.pop()!;
      if (onPath.has(id)) continue;
      onPath.add(id);
      if (p.wiring.nodes.get(id)?.type === 'StopGradient') continue;
      for (const edges of p.wiring.incoming.get(id)?.values() ?? []) for (const e of edges) stack.push(e.source);
    }
    // An application on the path keeps its activations when it is online, or when an online application on the path feeds it.
    const isOnline = (id: string) => applications.some((a) => a.id === id) && weightsOf(id) === 'online';
    const fedByOnline = (id: string): boolean => {
      const seen = new Set<string>();
      const todo = [...(p.wiring.incoming.get(id)?.values() ?? [])].flat().map((e) => e.source);
      while (todo.length) {
        const s = todo.pop()!;
        if (seen.has(s) || !onPath.has(s)) continue;
        seen.add(s);
        if (isOnline(s)) return true;
        if (p.wiring.nodes.get(s)?.type === 'StopGradient') continue;
        for (const edges of p.wiring.incoming.get(s)?.values() ?? []) for (const e of edges) todo.push(e.source);
      }
      return false;
    };
    const kept = new Map<string, number>();
    for (const a of applications)
      if (onPath.has(a.id) && (isOnline(a.id) || fedByOnline(a.id))) kept.set(networkOf(a.id), (kept.get(networkOf(a.id)) ?? 0) + 1);
    const activationElements = [...kept].reduce((sum, [net, times]) => sum + byId.get(net)!.analysis.main.cost.activations * times, 0);

    const activationBytesPerExample = activationElements * BYTES_PER_PARAM;
    const paramsBytes = weightsBytes + stateBytes;
    out.push({
      procedure: p.def.id,
      procedureLabel: p.def.label,
      batchSize,
      paramsBytes,
      activationBytesPerExample,
      activationBytes: activationBytesPerExample * batchSize,
      totalBytes: paramsBytes + activationBytesPerExample * batchSize,
      weightsBytes,
      trained: [...trained].map(([network, optimizers]) => ({ network, optimizers })),
      movingAverages,
      kept: [...kept].map(([network, times]) => ({ network, times })),
    });
  }
  return out;
}

const quoted = (id: string, byId: ReadonlyMap<string, NetworkInfo>) => `“${byId.get(id)?.label ?? id}”`;

/** The program's PB310: its largest training step, when past the limit (at most one diagnostic). */
export function programMemoryDiagnostics(doc: GraphDocument, networks: readonly NetworkInfo[], procedures: readonly ProcedureResult[]): Diagnostic[] {
  const steps = programStepMemories(networks, procedures, batchSizeOf(doc));
  const step = steps.sort((a, b) => b.totalBytes - a.totalBytes)[0];
  if (!step || step.totalBytes <= TRAINING_MEMORY_LIMIT) return [];
  const byId = new Map(networks.map((n) => [n.id, n]));
  const params = networks.reduce((sum, n) => sum + paramsOf(n), 0);
  const optimizers = [...new Set(step.trained.flatMap((t) => t.optimizers).map(optimizerStateWords))];
  const state = [
    step.trained.length ? `the gradients and ${optimizers.join(' or ')} of ${step.trained.map((t) => quoted(t.network, byId)).join(' and ')}` : '',
    step.movingAverages.length ? `a moving-average copy of ${step.movingAverages.map((n) => quoted(n, byId)).join(' and ')}` : '',
  ].filter(Boolean);
  const applied = step.kept.map((k) => `${quoted(k.network, byId)} ${k.times === 1 ? 'once' : k.times === 2 ? 'twice' : `${k.times} times`}`).join(', ');
  const activationsDominate = step.activationBytes >= step.paramsBytes;
  const message =
    `A training step of “${step.procedureLabel}” at batch ${count(step.batchSize)} needs about ${formatBytes(step.totalBytes)}, more than the ${formatBytes(TRAINING_MEMORY_LIMIT)} ${TAB_WORDS}: ` +
    `${formatBytes(step.paramsBytes)} for the parameters (${formatBytes(step.weightsBytes)} of weights, the ${count(params)} parameters of the program's ${networks.length === 1 ? 'network' : `${networks.length} networks`}` +
    (state.length ? `, with ${state.join(', and ')})` : ')') +
    (step.activationBytes > 0
      ? ` and ${formatBytes(step.activationBytes)} of activations kept for the backward pass (${formatBytes(step.activationBytesPerExample)} per example, applying ${applied}). `
      : '. ') +
    (activationsDominate ? 'The activations dominate.' : 'The parameters dominate.');
  return [diagnostic('PB310', { message, help: activationsDominate ? smallerBatchHelp(step) : PARAMS_HELP, procedure: step.procedure })];
}
