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
  /** Time per kernel in one training run through tfjs's profiler, most first (empty for a node with nothing to differentiate). */
  kernels: { name: string; ms: number }[];
}

export interface ProfileResult {
  backend: string;
  batchSize: number;
  passes: number;
  /** 'kernels': the backend timed its kernels (tf.time); 'wall': it could not (a GPU without timer queries), so each layer's wall time up to its results' download is shown. */
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
}

/** A backend's own measure of the kernels `f` ran (GPU timer queries on WebGL; the synchronous kernels' time on wasm and cpu), or null. */
async function backendMs(f: () => void): Promise<number | null> {
  const info = await tf.time(f);
  return typeof info.kernelMs === 'number' ? info.kernelMs : null;
}

/**
 * One layer on its own, on concrete tensors: forward in inference mode, then forward and the
 * gradients of its weights and float inputs in training mode. Times are the backend's kernel time
 * (tf.time), or the wall time up to the results' download when the backend cannot time kernels.
 * With `profile`, the training run goes through tfjs's profiler instead, for its time per kernel.
 */
async function runLayer(layer: tf.layers.Layer, ins: tf.Tensor[], fromData: boolean[], profile: boolean) {
  let out: tf.Tensor[] = [];
  const arg = ins.length === 1 ? ins[0]! : ins;
  const forwardStart = performance.now();
  const forwardKernel = await backendMs(() => {
    out = asArray(layer.apply(arg, { training: false }) as tf.Tensor | tf.Tensor[]);
  });
  await Promise.all(out.map((t) => t.data()));
  const forwardWall = performance.now() - forwardStart;

  // Training needs no gradient for the data itself, only for what a layer computed.
  const variables = ins.map((t, i) => (t.dtype === 'float32' && !fromData[i] ? tf.variable(t, true) : null));
  const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const wrt = [...weights, ...variables.filter((v): v is tf.Variable => v !== null)];
  let train: { kernel: number | null; wall: number; kernels?: Map<string, number> } | null = null;
  if (wrt.length) {
    let results: tf.Tensor[] = [];
    const step = () => {
      const trainArgs = variables.map((v, i) => v ?? ins[i]!);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(asArray(layer.apply(trainArgs.length === 1 ? trainArgs[0]! : trainArgs, { training: true }) as tf.Tensor | tf.Tensor[])[0]!),
        wrt,
      );
      results = [value, ...Object.values(grads)];
    };
    const trainStart = performance.now();
    if (profile) {
      const info = await tf.profile(() => {
        step();
        return results;
      });
      await Promise.all(results.map((t) => t.data()));
      train = { kernel: null, wall: performance.now() - trainStart, kernels: kernelTimes(info) };
    } else {
      const kernel = await backendMs(step);
      await Promise.all(results.map((t) => t.data()));
      train = { kernel, wall: performance.now() - trainStart };
    }
    tf.dispose(results);
  }
  for (const v of variables) v?.dispose();
  return { out, forwardKernel, forwardWall, train };
}

/**
 * Times every layer of `model` on a batch of made-up data: each layer applied on its own (forward,
 * inference mode), then its weights' and inputs' gradients taken (forward + backward, training
 * mode). One warm-up pass (kernel compilation, WebGL shader builds) is dropped and the median of
 * `passes` timed passes kept; a last pass goes through tfjs's profiler for the time per kernel.
 * Nothing is trained: training mode moves BatchNormalization's moving averages, so every
 * non-trainable weight is put back at the end.
 */
export async function profileModel(
  model: tf.LayersModel,
  plan: Plan,
  options: { batchSize: number; passes?: number; onProgress?: (done: number, total: number) => void },
): Promise<ProfileResult> {
  const passes = Math.max(1, options.passes ?? 3);
  const owners = layerOwners(plan);
  const samples = new Map<string, LayerSample[]>();
  const kernelsByLayer = new Map<string, Map<string, number>>();
  let wallOnly = false;
  const inputs = model.inputs.map((s) => fakeInput(s.shape, s.dtype, options.batchSize));
  const frozen = model.nonTrainableWeights.map((w) => ({ weight: w, value: tf.clone(w.read()) }));
  try {
    // Progress in layer runs: each layer of each pass, then each whole-model pass, which runs all of them.
    const computing = model.layers.filter((l) => l.getClassName() !== 'InputLayer').length;
    const total = (passes + 2) * computing + (passes + 1) * computing;
    let done = 0;
    const dataIds = new Set(model.inputs.map((s) => s.id));
    // Pass 0 warms up, passes 1…passes are timed, the last one is profiled kernel by kernel.
    for (let pass = 0; pass <= passes + 1; pass++) {
      const profiled = pass === passes + 1;
      const values = new Map<number, tf.Tensor>();
      model.inputs.forEach((s, i) => values.set(s.id, inputs[i]!));
      const made: tf.Tensor[] = [];
      try {
        for (const layer of model.layers) {
          const node = layer.inboundNodes[0];
          if (!node || layer.getClassName() === 'InputLayer') continue;
          const run = await runLayer(
            layer,
            node.inputTensors.map((s) => values.get(s.id)!),
            node.inputTensors.map((s) => dataIds.has(s.id)),
            profiled,
          );
          made.push(...run.out);
          node.outputTensors.forEach((s, i) => values.set(s.id, run.out[i]!));
          options.onProgress?.(++done, total);
          if (profiled) {
            if (run.train?.kernels) kernelsByLayer.set(layer.name, run.train.kernels);
            continue;
          }
          if (pass === 0) continue;
          if (run.forwardKernel === null || (run.train && run.train.kernel === null)) wallOnly = true;
          const forwardMs = run.forwardKernel ?? run.forwardWall;
          // A layer with nothing to differentiate (no weights, integer inputs) costs its forward pass in training.
          const trainMs = run.train ? (run.train.kernel ?? run.train.wall) : forwardMs;
          const list = samples.get(layer.name) ?? [];
          list.push({ forwardMs, trainMs });
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
      for (const [name, ms] of kernelsByLayer.get(layerName) ?? []) kernels.set(name, (kernels.get(name) ?? 0) + ms);
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
      done += computing;
      options.onProgress?.(done, total);
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
