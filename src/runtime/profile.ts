import * as tf from '@tensorflow/tfjs';
import type { Plan, PlanBlock, PlanBody } from '../compiler/plan';

/** Measured time of one main-graph node (a layer, or every layer of a block instance) on one batch. */
export interface NodeTiming {
  nodeId: string;
  /** Inference: the node's layers applied to a batch (median over the passes). */
  forwardMs: number;
  /** Training: forward, then the gradients of its weights and inputs. */
  trainMs: number;
  /** tfjs layers the node became. */
  layers: number;
  /** Time per kernel in training (forward for a node with nothing to differentiate), most first. */
  kernels: { name: string; ms: number }[];
}

export interface ProfileResult {
  backend: string;
  batchSize: number;
  passes: number;
  /** 'kernels': tfjs's profiler timed each kernel; 'wall': the backend gave no kernel times (a GPU without timer queries), so each layer's wall time is shown. */
  timing: 'kernels' | 'wall';
  nodes: NodeTiming[];
  /** The whole model at once, wall time: predict, and forward + backward (no optimizer step). */
  modelForwardMs: number;
  modelTrainMs: number;
}

/**
 * tfjs layer name → main-graph node id. Names follow build.ts: a main step's name; inside a block
 * instance `<instance>_<inner name>`, where the instance is `<block step>_<r>` when repeated.
 */
export function layerOwners(plan: Plan): Map<string, string> {
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const owners = new Map<string, string>();
  const walk = (body: PlanBody, prefix: string, owner: string | undefined) => {
    for (const step of body.steps) {
      if (step.kind === 'input' || step.kind === 'layer') owners.set(prefix + step.name, owner ?? step.nodeId);
      else if (step.kind === 'block') {
        const block: PlanBlock | undefined = blocks.get(step.block);
        if (!block) continue;
        for (let r = 0; r < step.repeat; r++) {
          const instance = step.repeat > 1 ? `${prefix}${step.name}_${r}` : `${prefix}${step.name}`;
          walk(block.body, `${instance}_`, owner ?? step.nodeId);
        }
      }
    }
  };
  walk(plan.main, '', undefined);
  return owners;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

/**
 * The profile's registered kernels. tfjs also records custom-gradient ops (`fusedMatMul__op`, a
 * custom layer's forward) as entries whose time includes the kernels they ran, recorded on their own
 * too: counting those would count the same work twice.
 */
const ownKernels = (info: ProfileInfo) => info.kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()) !== undefined);

/** Time per kernel name in a profile. */
function kernelTimes(info: ProfileInfo): Map<string, number> {
  const times = new Map<string, number>();
  for (const k of ownKernels(info)) if (typeof k.kernelTimeMs === 'number') times.set(k.name, (times.get(k.name) ?? 0) + k.kernelTimeMs);
  return times;
}

/** Kernel time of a profile, or null when the backend could not time a kernel. */
function kernelMs(info: ProfileInfo): number | null {
  let total = 0;
  for (const k of ownKernels(info)) {
    if (typeof k.kernelTimeMs !== 'number') return null;
    total += k.kernelTimeMs;
  }
  return total;
}

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

const asArray = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** A batch of made-up inputs: uniform floats, or zeros for integer inputs (token ids, valid for any Embedding). */
function fakeInput(shape: (number | null)[], dtype: string, batchSize: number): tf.Tensor {
  const full = [batchSize, ...shape.slice(1).map((d) => d ?? 1)];
  return dtype === 'int32' ? tf.zeros(full, 'int32') : tf.randomUniform(full);
}

interface LayerSample {
  forwardMs: number;
  trainMs: number;
  kernels: Map<string, number>;
}

/**
 * Times every layer of `model` on a batch of made-up data with tfjs's profiler: each layer is applied
 * on its own to concrete tensors (forward, inference mode), then its weights' and inputs' gradients
 * are taken (forward + backward, training mode). One warm-up pass (kernel compilation, WebGL shader
 * builds) is dropped and the median of `passes` passes kept. Nothing is trained: training mode moves
 * BatchNormalization's moving averages, so every non-trainable weight is put back at the end.
 */
export async function profileModel(model: tf.LayersModel, plan: Plan, options: { batchSize: number; passes?: number }): Promise<ProfileResult> {
  const passes = Math.max(1, options.passes ?? 3);
  const owners = layerOwners(plan);
  const samples = new Map<string, LayerSample[]>();
  let wallOnly = false;
  const inputs = model.inputs.map((s) => fakeInput(s.shape, s.dtype, options.batchSize));
  const frozen = model.nonTrainableWeights.map((w) => ({ weight: w, value: tf.clone(w.read()) }));
  try {
    for (let pass = 0; pass <= passes; pass++) {
      const values = new Map<number, tf.Tensor>();
      model.inputs.forEach((s, i) => values.set(s.id, inputs[i]!));
      const made: tf.Tensor[] = [];
      try {
        for (const layer of model.layers) {
          const node = layer.inboundNodes[0];
          if (!node || layer.getClassName() === 'InputLayer') continue;
          const ins = node.inputTensors.map((s) => values.get(s.id)!);
          const arg = ins.length === 1 ? ins[0]! : ins;
          let out: tf.Tensor[] = [];
          const forwardStart = performance.now();
          const forward = await tf.profile(() => {
            out = asArray(layer.apply(arg, { training: false }) as tf.Tensor | tf.Tensor[]);
            return out;
          });
          await Promise.all(out.map((t) => t.data()));
          const forwardWall = performance.now() - forwardStart;
          // tfjs reuses one profile object for every tf.profile call: read it before the next.
          const fk = kernelMs(forward);
          const forwardKernels = kernelTimes(forward);
          made.push(...out);
          node.outputTensors.forEach((s, i) => values.set(s.id, out[i]!));

          const variables = ins.map((t) => (t.dtype === 'float32' ? tf.variable(t, true) : null));
          const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
          const wrt = [...weights, ...variables.filter((v): v is tf.Variable => v !== null)];
          let trainWall = 0;
          let tk: number | null = 0;
          let trainKernels: Map<string, number> | null = null;
          if (wrt.length) {
            const trainStart = performance.now();
            const train = await tf.profile(() => {
              const trainArgs = variables.map((v, i) => v ?? ins[i]!);
              const { value, grads } = tf.variableGrads(
                () => tf.sum(asArray(layer.apply(trainArgs.length === 1 ? trainArgs[0]! : trainArgs, { training: true }) as tf.Tensor | tf.Tensor[])[0]!),
                wrt,
              );
              return [value, ...Object.values(grads)];
            });
            await Promise.all(asArray(train.result as tf.Tensor[]).map((t) => t.data()));
            trainWall = performance.now() - trainStart;
            tk = kernelMs(train);
            trainKernels = kernelTimes(train);
            tf.dispose(train.result as tf.Tensor[]);
          }
          for (const v of variables) v?.dispose();

          if (fk === null || tk === null) wallOnly = true;
          if (pass === 0) continue; // warm-up
          const list = samples.get(layer.name) ?? [];
          // A layer with nothing to differentiate (no weights, integer inputs) costs its forward pass in training.
          const trainMs = trainKernels ? (tk ?? trainWall) : (fk ?? forwardWall);
          list.push({ forwardMs: fk ?? forwardWall, trainMs, kernels: trainKernels ?? forwardKernels });
          samples.set(layer.name, list);
        }
      } finally {
        tf.dispose(made);
      }
    }

    const byNode = new Map<string, NodeTiming>();
    for (const [layerName, list] of samples) {
      const nodeId = owners.get(layerName);
      if (!nodeId) continue;
      const t = byNode.get(nodeId) ?? { nodeId, forwardMs: 0, trainMs: 0, layers: 0, kernels: [] };
      t.forwardMs += median(list.map((s) => s.forwardMs));
      t.trainMs += median(list.map((s) => s.trainMs));
      t.layers++;
      const kernels = new Map(t.kernels.map((k) => [k.name, k.ms]));
      for (const [name, ms] of list[list.length - 1]!.kernels) kernels.set(name, (kernels.get(name) ?? 0) + ms);
      t.kernels = [...kernels].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
      byNode.set(nodeId, t);
    }

    const forwardWalls: number[] = [];
    const trainWalls: number[] = [];
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let pass = 0; pass <= passes; pass++) {
      const f0 = performance.now();
      const predicted = asArray(model.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor | tf.Tensor[]);
      await Promise.all(predicted.map((t) => t.data()));
      tf.dispose(predicted);
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(
        () => tf.sum(asArray(model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: true }) as tf.Tensor | tf.Tensor[])[0]!),
        weights,
      );
      await Promise.all([value, ...Object.values(grads)].map((t) => t.data()));
      tf.dispose([value, ...Object.values(grads)]);
      if (pass === 0) continue;
      forwardWalls.push(t0 - f0);
      trainWalls.push(performance.now() - t0);
    }

    return {
      backend: tf.getBackend(),
      batchSize: options.batchSize,
      passes,
      timing: wallOnly ? 'wall' : 'kernels',
      nodes: [...byNode.values()],
      modelForwardMs: median(forwardWalls),
      modelTrainMs: median(trainWalls),
    };
  } finally {
    for (const { weight, value } of frozen) weight.write(value);
    tf.dispose([...inputs, ...frozen.map((f) => f.value)]);
  }
}
