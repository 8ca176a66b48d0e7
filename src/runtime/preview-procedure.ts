/**
 * The worker's half of preview-feed.ts: runs the procedure steps that lead to a Network node on the
 * pinned example and hands back that node's inputs.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { PlanProgram } from '../compiler/program';
import { AUGMENTATION_OPS, ancestorsOf, producersOf, type ProcedureFeed, type Producer } from './preview-feed';
import { flowOutputs } from './program/flows';
import { runOp } from './program/ops';

type Tf = typeof tfType;
type T = tfType.Tensor;

export interface FeedContext {
  /** The pinned example's values (the Data node's image) and class (its one-hot label). */
  example: Float32Array;
  label: number;
  /** The pinned timestep, for a DiffusionTimestep (clamped into 0 … T − 1). */
  timestep: number;
  seed: number;
  /** The model a network is applied with (a fresh build, or a run's trained one). */
  modelOf: (network: string) => tfType.LayersModel;
  /**
   * The run's moving-average copy of a network, for a step that applies its 'ema' weights (a BYOL
   * target); none when the run has not made one yet (before its first step): the network's own
   * weights stand in, as the copy starts from them, and `noAverage` hears of it.
   */
  averageOf?: (network: string) => tfType.LayersModel | undefined;
  noAverage?: (network: string) => void;
}

/**
 * Runs the steps of `feed`'s procedure that lead to its Network node on the pinned example and
 * returns that node's inputs, one example each, in the network's input order (the caller disposes them).
 */
export function procedureInputs(tf: Tf, program: PlanProgram, feed: ProcedureFeed, ctx: FeedContext): T[] {
  const proc = program.procedures.find((p) => p.id === feed.procedure);
  const target = proc?.steps.find((s) => s.kind === 'apply' && s.nodeId === feed.apply);
  if (!proc || !target || target.kind !== 'apply') throw new Error(`The procedure "${feed.procedure}" no longer applies this network.`);
  const producers = producersOf(proc.steps);
  const needed = ancestorsOf(target.inputs, producers);
  if (!needed) throw new Error(`An input of "${feed.apply}" in "${proc.label}" is not wired, so there is nothing to feed the previews.`);
  const flows = new Set(program.networks.filter((n) => n.flow).map((n) => n.id));
  return tf.tidy(() => {
    const values = new Map<string, T>();
    // Steps come in dependency order: run the needed ones, in order.
    for (const s of proc.steps) {
      if (!needed.has(s as Producer)) continue;
      if (s.kind === 'data') {
        values.set(s.outputs.image, tf.tensor(ctx.example, [1, ...s.shape]));
        const label = Math.min(Math.max(0, Math.floor(ctx.label)), s.classes - 1);
        values.set(s.outputs.label, tf.oneHot(tf.tensor1d([label], 'int32'), s.classes).toFloat());
      } else if (s.kind === 'parameter') values.set(s.output, tf.scalar(s.init));
      else if (s.kind === 'op') {
        const ins = s.inputs.map((v) => values.get(v)!);
        let out: T;
        if (AUGMENTATION_OPS.has(s.op)) out = ins[0]!;
        else if (s.op === 'DiffusionTimestep') {
          const T = Number(s.config.timesteps);
          out = tf.tensor2d([Math.min(Math.max(0, Math.round(ctx.timestep)), T - 1)], [1, 1]);
        } else out = runOp(tf, s.op, s.config, ins, { seed: ctx.seed, step: 0, nodeId: s.nodeId });
        values.set(s.output, out);
      } else if (s.kind === 'apply') {
        const average = s.weights === 'ema' ? ctx.averageOf?.(s.network) : undefined;
        if (s.weights === 'ema' && !average) ctx.noAverage?.(s.network);
        const model = average ?? ctx.modelOf(s.network);
        const ins = s.inputs.map((v) => values.get(v)!);
        const out = flows.has(s.network) ? flowOutputs(tf, model, ins[0]!) : (model.apply(ins.length === 1 ? ins[0]! : ins, { training: false }) as T | T[]);
        const outs = Array.isArray(out) ? out : [out];
        Object.values(s.outputs).forEach((v, i) => values.set(v, outs[i]!));
      }
    }
    return target.inputs.map((v) => {
      const t = values.get(v);
      if (!t) throw new Error(`The procedure "${proc.label}" computes no value for an input of "${feed.apply}".`);
      return t;
    });
  });
}
