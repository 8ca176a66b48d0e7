/**
 * Previews on a pinned example: one forward pass of a model whose outputs are every main-graph
 * node's output (a multi-output tf.model over the same layers, so it shares the weights), read
 * asynchronously (data(), never dataSync(): webgpu cannot read synchronously), reduced to small
 * pictures, statistics and histograms (preview-data.ts). Also the weights' histograms and norms per
 * node, for the inspector during training.
 *
 * A block node's preview is the block instance's output (its last repeat's). Inside an opened block
 * instance, the inner nodes preview that instance's tensors, of one of its repeats (the first by
 * default, as the canvas shows the first repeat's shapes): `inside` names the instance's node and
 * the repeat.
 */
import * as tf from '@tensorflow/tfjs';
import type { Plan, PlanBlock, PlanBody } from '../compiler/plan';
import { buildModel } from './build';
import { layerOwners } from './profile';
import {
  ACTIVATION_SAMPLE,
  activationsOf,
  HISTOGRAM_BINS,
  histogramOf,
  nodePreviewOf,
  samplePositions,
  statsOf,
  type NodeActivations,
  type NodePreview,
  type NodeWeights,
} from './preview-data';

/** More output values than this in one pass are not read back: the nodes past it say so instead. */
export const MAX_PREVIEW_VALUES = 16_000_000;

/** An opened block instance: its node in the main graph and which of its repeats (0-based; past the last, the last). */
export interface OpenedBlock {
  node: string;
  repeat: number;
}

export interface PreviewAnswer {
  previews: NodePreview[];
  /** Nodes with an output that was not previewed, and why (too large, a second output port). */
  skipped: Array<{ nodeId: string; reason: string }>;
  /** Where the weights came from: a fresh build, the worker's trained or loaded model, or both (layers the edit left alone keep the run's). */
  weights: { source: 'fresh' | 'run' | 'mixed'; fromRun: number; layers: number };
  /** Milliseconds the forward pass and reading it back took. */
  ms: number;
  /** What the feed used that the page cannot know, in words (a target network's moving-average copy not made yet). */
  feedNote?: string;
}

/**
 * Every main-graph node's output as a symbolic tensor of `model` (built from `plan` by build.ts, so
 * layer names follow it): a layer's output, a block's first output port (through its last
 * repeat), an Output node's value. Inputs map to the model's inputs. With `inside` (a block node of
 * the main graph and a repeat), the nodes of that block instance's body instead, in that repeat.
 */
export function nodeOutputs(plan: Plan, model: tf.LayersModel, inside?: OpenedBlock): Map<string, tf.SymbolicTensor> {
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const has = new Set(model.layers.map((l) => l.name));
  const values = new Map<string, tf.SymbolicTensor>();
  const single = (out: tf.SymbolicTensor | tf.SymbolicTensor[]) => (Array.isArray(out) ? out[0]! : out);
  /** The opened instance's body values and the body they belong to. */
  let opened: { body: PlanBody; values: Map<string, tf.SymbolicTensor> } | undefined;

  // Mirrors build.ts's runBody: the same walk, reading the layers it made instead of making them.
  const walk = (body: PlanBody, vals: Map<string, tf.SymbolicTensor>, prefix: string, top: boolean) => {
    let inputIndex = 0;
    for (const step of body.steps) {
      if (step.kind === 'input') vals.set(step.value, model.inputs[inputIndex++]!);
      else if (step.kind === 'layer') {
        const name = prefix + step.name;
        // A layer switched off by a block's boolean param was never made: its input passes through.
        const tensor = has.has(name) ? single(model.getLayer(name).output) : vals.get(step.inputs[0]!);
        if (tensor) vals.set(step.value, tensor);
      } else if (step.kind === 'block') {
        const block: PlanBlock | undefined = blocks.get(step.block);
        if (!block) continue;
        let current = step.inputs.map((v) => vals.get(v));
        let results = new Map<string, tf.SymbolicTensor | undefined>();
        for (let r = 0; r < step.repeat; r++) {
          const instance = step.repeat > 1 ? `${prefix}${step.name}_${r}` : `${prefix}${step.name}`;
          const inner = new Map<string, tf.SymbolicTensor>();
          block.inputs.forEach((port, i) => {
            const bound = block.body.steps.find((s) => s.kind === 'blockInput' && s.port === port);
            const t = current[i];
            if (t) inner.set(bound && bound.kind === 'blockInput' ? bound.value : port, t);
          });
          walk(block.body, inner, `${instance}_`, false);
          if (top && inside && step.nodeId === inside.node && r === Math.min(Math.max(0, inside.repeat), step.repeat - 1))
            opened = { body: block.body, values: inner };
          results = new Map(block.body.outputs.map((o) => [o.name, inner.get(o.value)]));
          current = [...results.values()];
        }
        for (const [port, value] of Object.entries(step.outputs)) {
          const t = results.get(port);
          if (t) vals.set(value, t);
        }
      }
    }
  };
  walk(plan.main, values, '', true);

  const byNode = new Map<string, tf.SymbolicTensor>();
  const body = inside === undefined ? plan.main : opened?.body;
  const vals = inside === undefined ? values : opened?.values;
  if (!body || !vals) return byNode;
  for (const step of body.steps) {
    if (step.kind === 'input' || step.kind === 'layer' || step.kind === 'blockInput') {
      const t = vals.get(step.value);
      if (t) byNode.set(step.nodeId, t);
    } else if (step.kind === 'block') {
      const first = Object.values(step.outputs)[0];
      const t = first !== undefined ? vals.get(first) : undefined;
      if (t) byNode.set(step.nodeId, t);
    }
  }
  for (const out of body.outputs) {
    const t = vals.get(out.value);
    if (t && !byNode.has(out.nodeId)) byNode.set(out.nodeId, t);
  }
  return byNode;
}

/** The multi-output model of a model's node outputs, made once per model and opened block (it shares the layers, so the weights too). */
const probes = new WeakMap<tf.LayersModel, Map<string, Probe>>();
interface Probe {
  probe: tf.LayersModel | null;
  /** Nodes read from the probe's outputs. */
  nodes: Array<{ nodeId: string; index: number }>;
  /** Nodes whose value is one of the model's inputs (an Input, a block input bound to one): previewed from the example. */
  inputs: Array<{ nodeId: string; input: number }>;
}

function probeOf(plan: Plan, model: tf.LayersModel, inside: OpenedBlock | undefined): Probe {
  let byInside = probes.get(model);
  if (!byInside) probes.set(model, (byInside = new Map()));
  const key = inside ? `${inside.node}#${inside.repeat}` : '';
  let entry = byInside.get(key);
  if (entry) return entry;
  const outputs = nodeOutputs(plan, model, inside);
  const unique: tf.SymbolicTensor[] = [];
  const nodes: Probe['nodes'] = [];
  const inputs: Probe['inputs'] = [];
  for (const [nodeId, t] of outputs) {
    // Inputs are previewed from the pinned example itself (a model output cannot be a model input).
    const input = model.inputs.indexOf(t);
    if (input >= 0) {
      inputs.push({ nodeId, input });
      continue;
    }
    let index = unique.indexOf(t);
    if (index < 0) index = unique.push(t) - 1;
    nodes.push({ nodeId, index });
  }
  const probe = unique.length ? tf.model({ inputs: model.inputs, outputs: unique }) : null;
  entry = { probe, nodes, inputs };
  byInside.set(key, entry);
  return entry;
}

const exampleShape = (t: tf.SymbolicTensor) => t.shape.slice(1).map((d) => d ?? 1);

/**
 * Runs `model` (built from `plan`) on one example, one array per model input, and previews every
 * main-graph node's output (with `inside`, every node of that opened block instance).
 */
export async function previewModel(
  plan: Plan,
  model: tf.LayersModel,
  example: Float32Array | readonly Float32Array[],
  weights: PreviewAnswer['weights'] = { source: 'fresh', fromRun: 0, layers: model.layers.length },
  inside?: OpenedBlock,
): Promise<PreviewAnswer> {
  const examples = example instanceof Float32Array ? [example] : example;
  if (examples.length !== model.inputs.length)
    throw new Error(
      `The network takes ${model.inputs.length} input${model.inputs.length === 1 ? '' : 's'}, but ${examples.length} pinned value${examples.length === 1 ? ' was' : 's were'} given.`,
    );
  const began = performance.now();
  const shapes = model.inputs.map(exampleShape);
  examples.forEach((values, i) => {
    const size = shapes[i]!.reduce((a, d) => a * d, 1);
    if (values.length !== size)
      throw new Error(`The pinned example has ${values.length} values, but the model's input [${shapes[i]!.join(', ')}] needs ${size}.`);
  });
  const previews: NodePreview[] = [];
  const skipped: PreviewAnswer['skipped'] = [];
  const { probe, nodes, inputs } = probeOf(plan, model, inside);
  for (const { nodeId, input } of inputs) previews.push(nodePreviewOf(nodeId, shapes[input]!, examples[input]!));

  if (probe) {
    const xs = model.inputs.map((input, i) => tf.tensor(examples[i]!, [1, ...shapes[i]!], input.dtype));
    const outs = (() => {
      try {
        const y = probe.predict(xs.length === 1 ? xs[0]! : xs);
        return Array.isArray(y) ? y : [y];
      } finally {
        tf.dispose(xs);
      }
    })();
    try {
      let budget = MAX_PREVIEW_VALUES;
      const read = outs.map((t) => {
        budget -= t.size;
        return budget >= 0 ? t.data() : null;
      });
      const data = await Promise.all(read);
      for (const { nodeId, index } of nodes) {
        const values = data[index];
        const shape = outs[index]!.shape.slice(1);
        if (!values) skipped.push({ nodeId, reason: `Not previewed: the model's outputs hold more than ${MAX_PREVIEW_VALUES.toLocaleString('en')} values.` });
        else previews.push(nodePreviewOf(nodeId, shape, values as Float32Array));
      }
    } finally {
      for (const t of outs) t.dispose();
    }
  }
  return { previews, skipped, weights, ms: performance.now() - began };
}

/**
 * A model for previews when the worker holds none for this exact plan: a fresh build (the run's
 * seed, so it is the model a run would start from), with the weights of every layer the edit left
 * alone (same name, same weight shapes) copied from `trained`, the worker's trained or loaded model.
 */
export function previewBuild(plan: Plan, seed: number, trained: tf.LayersModel | undefined): { model: tf.LayersModel; weights: PreviewAnswer['weights'] } {
  const model = buildModel(plan, { seed });
  const withWeights = model.layers.filter((l) => l.weights.length > 0);
  let fromRun = 0;
  if (trained) {
    const theirs = new Map(trained.layers.map((l) => [l.name, l]));
    for (const layer of withWeights) {
      const other = theirs.get(layer.name);
      if (!other || other.weights.length !== layer.weights.length) continue;
      if (!other.weights.every((w, i) => w.shape.join() === layer.weights[i]!.shape.join())) continue;
      layer.setWeights(other.getWeights());
      fromRun++;
    }
  }
  const source = fromRun === 0 ? 'fresh' : fromRun === withWeights.length ? 'run' : 'mixed';
  return { model, weights: { source, fromRun, layers: withWeights.length } };
}

/** How many variables a single-layer node lists one by one in the inspector. */
const MAX_VARIABLES = 6;

/** Each main-graph node's trainable weights: histogram and norm of all together, and of each variable for a one-layer node. */
export async function weightsByNode(plan: Plan, model: tf.LayersModel): Promise<NodeWeights[]> {
  const owners = layerOwners(plan);
  const byNode = new Map<string, Array<{ layer: string; weight: tf.LayerVariable }>>();
  for (const layer of model.layers) {
    const owner = owners.get(layer.name);
    if (!owner) continue;
    for (const weight of layer.trainableWeights) {
      const list = byNode.get(owner) ?? [];
      list.push({ layer: layer.name, weight });
      byNode.set(owner, list);
    }
  }
  const entries = [...byNode];
  const data = await Promise.all(entries.map(([, list]) => Promise.all(list.map(({ weight }) => weight.read().data()))));
  return entries.map(([nodeId, list], i) => {
    const arrays = data[i]!;
    const total = arrays.reduce((a, v) => a + v.length, 0);
    const all = new Float32Array(total);
    let offset = 0;
    for (const v of arrays) {
      all.set(v as Float32Array, offset);
      offset += v.length;
    }
    const stats = statsOf(all);
    const oneLayer = new Set(list.map((w) => w.layer)).size === 1;
    const variables =
      oneLayer && list.length <= MAX_VARIABLES
        ? list.map(({ weight }, k) => {
            const s = statsOf(arrays[k]!);
            // "dense/kernel" → "kernel": the node already names the layer.
            const name = weight.originalName.split('/').pop() ?? weight.name;
            return { name, shape: weight.shape.map((d) => d ?? 1), stats: s, histogram: histogramOf(arrays[k]!, HISTOGRAM_BINS, s) };
          })
        : [];
    return { nodeId, all: { count: total, stats, histogram: histogramOf(all, HISTOGRAM_BINS, stats) }, variables };
  });
}

/**
 * A training step's own gradients (train.ts's gradientTap: that step's batch, in training mode,
 * the loss with its regularizers, exactly what the optimizer applied), gathered by main-graph node:
 * count, figures (the norm is the signal of exploding or vanishing gradients) and histogram.
 * Reads the tensors; the caller still owns and disposes them.
 */
export async function gradientsByNode(
  plan: Plan,
  model: tf.LayersModel,
  grads: ReadonlyMap<string, tf.Tensor>,
): Promise<Map<string, NonNullable<NodeWeights['gradients']>>> {
  const owners = layerOwners(plan);
  const byVariable = new Map<string, string>();
  for (const layer of model.layers) {
    const owner = owners.get(layer.name);
    if (!owner) continue;
    for (const w of layer.trainableWeights) byVariable.set((w.read() as tf.Variable).name, owner);
  }
  const names = [...grads.keys()].filter((name) => byVariable.has(name));
  const data = await Promise.all(names.map((name) => grads.get(name)!.data()));
  const arrays = new Map<string, Float32Array[]>();
  names.forEach((name, i) => {
    const owner = byVariable.get(name)!;
    const list = arrays.get(owner) ?? [];
    list.push(data[i] as Float32Array);
    arrays.set(owner, list);
  });
  const out = new Map<string, NonNullable<NodeWeights['gradients']>>();
  for (const [owner, list] of arrays) {
    const all = new Float32Array(list.reduce((a, v) => a + v.length, 0));
    let offset = 0;
    for (const v of list) {
      all.set(v, offset);
      offset += v.length;
    }
    const stats = statsOf(all);
    out.set(owner, { count: all.length, stats, histogram: histogramOf(all, HISTOGRAM_BINS, stats) });
  }
  return out;
}

/** A fixed batch of held-out examples whose activations a run's refreshes measure. */
export interface ActivationBatch {
  x: Float32Array;
  count: number;
  inputShape: number[];
}

/** Held-out examples the activations are measured on: enough for a unit's firing to show, and a refresh stays a fraction of a training step's cost (bench/preview.bench.ts). */
export const ACTIVATION_EXAMPLES = 64;
/** Output values one pass over the batch may hold (every node's, 32 MB of float32): a larger model measures fewer examples. */
export const MAX_ACTIVATION_VALUES = 8_000_000;

/** What the device reduces one output to, read back as a few numbers instead of the whole batch's values. */
interface Reduced {
  /** min, max, sum, sum of squares, zeros (float32: exact counts up to 2²⁴, beyond MAX_ACTIVATION_VALUES). */
  figures: tf.Tensor;
  /** Per unit of the last axis: the largest |value|. */
  peaks: tf.Tensor;
  sample: tf.Tensor;
}

function reduce(t: tf.Tensor): Reduced {
  return tf.tidy(() => {
    const units = t.rank > 1 ? t.shape[t.rank - 1]! : 1;
    // Token ids and other int32 inputs are summarised as numbers like the rest (stack wants one dtype).
    const flat = (t.dtype === 'float32' ? t : t.toFloat()).reshape([-1, units]);
    const all = flat.reshape([-1]);
    const figures = tf.stack([flat.min(), flat.max(), flat.sum(), flat.square().sum(), tf.equal(flat, 0).sum().toFloat()]);
    const peaks = flat.abs().max(0);
    const sample = t.size > ACTIVATION_SAMPLE ? tf.gather(all, tf.tensor1d(samplePositions(t.size, ACTIVATION_SAMPLE), 'int32')) : all;
    return { figures, peaks, sample };
  });
}

/**
 * Every node's output over a batch of held-out examples (the same probe as the pinned example's
 * previews, so inside an opened block its nodes): reduced on the device to figures, per-unit peaks
 * and a fixed sample, so that only a few thousand numbers per node are read back, whatever the
 * batch. Inference mode, like the previews: measuring never changes the run.
 */
export async function activationsByNode(plan: Plan, model: tf.LayersModel, batch: ActivationBatch, inside?: OpenedBlock): Promise<NodeActivations[]> {
  if (model.inputs.length !== 1) return [];
  const shape = exampleShape(model.inputs[0]!);
  const per = shape.reduce((a, d) => a * d, 1);
  if (per !== batch.inputShape.reduce((a, d) => a * d, 1)) return [];
  const { probe, nodes, inputs } = probeOf(plan, model, inside);
  const perExample = (probe?.outputs ?? []).reduce((a, t) => a + exampleShape(t).reduce((b, d) => b * d, 1), per);
  if (batch.count === 0) return [];
  const n = Math.max(1, Math.min(batch.count, ACTIVATION_EXAMPLES, Math.floor(MAX_ACTIVATION_VALUES / perExample)));
  const x = tf.tensor(batch.x.subarray(0, n * per), [n, ...shape], model.inputs[0]!.dtype);
  const outs: tf.Tensor[] = [];
  const reduced: Reduced[] = [];
  try {
    if (probe) {
      const y = probe.predict(x);
      outs.push(...(Array.isArray(y) ? y : [y]));
    }
    // The Inputs' own values come from the batch itself; every other node from the probe's outputs.
    const sources = [x, ...outs];
    reduced.push(...sources.map(reduce));
    const read = await Promise.all(reduced.map((r) => Promise.all([r.figures.data(), r.peaks.data(), r.sample.data()])));
    const summary = async (source: number, nodeId: string) => {
      const [figures, peaks, sample] = read[source]!;
      const [min, max, sum, squares, zeros] = Array.from(figures);
      const count = sources[source]!.size;
      const bad = !Number.isFinite(sum!) || !Number.isFinite(squares!) || !Number.isFinite(min!) || !Number.isFinite(max!);
      // Rare (a diverging run): count the NaN and ∞ exactly, one more pass over that output.
      let nonFinite = 0;
      if (bad) {
        const counted = tf.tidy(() => tf.logicalNot(tf.isFinite(sources[source]!)).sum());
        nonFinite = (await counted.data())[0]!;
        counted.dispose();
      }
      return activationsOf(nodeId, n, { count, min: min!, max: max!, sum: sum!, squares: squares!, nonFinite, zeros: zeros!, peaks }, sample);
    };
    return await Promise.all([...inputs.map(({ nodeId }) => summary(0, nodeId)), ...nodes.map(({ nodeId, index }) => summary(1 + index, nodeId))]);
  } finally {
    for (const r of reduced) tf.dispose([r.figures, r.peaks, r.sample]);
    tf.dispose([x, ...outs]);
  }
}

/**
 * When a run refreshes its previews and weight histograms: at most once every `minSteps` steps, and
 * only after training for `1 / share` times as long as the last refresh took, so that refreshing
 * costs at most about `share` of the training time whatever the model's size.
 */
export class RefreshSchedule {
  private lastAt = -Infinity;
  private lastStep = -Infinity;
  private lastCost = 0;
  /** Refreshes so far and their total milliseconds, for the report. */
  count = 0;
  totalMs = 0;
  constructor(
    private readonly minSteps = 10,
    private readonly share = 0.02,
  ) {}

  due(step: number, now: number): boolean {
    return step - this.lastStep >= this.minSteps && now - this.lastAt >= this.lastCost / this.share;
  }

  /** Call after a refresh with when it began and ended. */
  done(step: number, began: number, ended: number): void {
    this.lastStep = step;
    this.lastAt = ended;
    this.lastCost = ended - began;
    this.count++;
    this.totalMs += this.lastCost;
  }
}
