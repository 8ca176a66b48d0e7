import * as tf from '@tensorflow/tfjs';
import { isParamRef } from '../document/schema';
import { fillShape, isFillShape, modelNameOf, type BlockStep, type Expr, type LayerStep, type Plan, type PlanBlock, type PlanBody } from '../compiler/plan';
import { createCustomLayer } from './custom-layers';
import { FusedLayerNormalization } from './fused-layer-norm';
import { FusedBatchNormalization } from './fused-batch-norm';
// Side effect: layers built here with activation 'gelu' take the fused kernels where they run.
import './fused-gelu';
import { derivedSeed } from './seeds';

type Env = Record<string, unknown>;

/** Evaluates a plan expression: `{ $param }` references read the block's arguments. */
export function evaluate(expr: Expr, env: Env, input?: tf.SymbolicTensor): unknown {
  if (isFillShape(expr)) return fillShape(input!.shape, evaluate(expr.$fillShape, env) as number[]);
  if (isParamRef(expr)) {
    if (!(expr.$param in env)) throw new Error(`Plan refers to block param "${expr.$param}", which is not bound.`);
    return env[expr.$param];
  }
  if (Array.isArray(expr)) return expr.map((e) => evaluate(e, env, input));
  if (typeof expr === 'object' && expr !== null) {
    return Object.fromEntries(Object.entries(expr).map(([k, v]) => [k, evaluate(v, env, input)]));
  }
  return expr;
}

/** Thrown when tfjs refuses a step; carries the node id so the editor can mark the node. */
export class BuildError extends Error {
  constructor(
    message: string,
    readonly nodeId: string,
    readonly blockId?: string,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

interface SeedableInitializer {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  apply(shape: number[], dtype?: string): tf.Tensor;
}
const isRandomInitializer = (v: unknown): v is SeedableInitializer =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as SeedableInitializer).apply === 'function' &&
  typeof (v as SeedableInitializer).getConfig === 'function' &&
  typeof (v as SeedableInitializer).getClassName === 'function' &&
  'seed' in (v as SeedableInitializer).getConfig();

/**
 * Gives every random initialiser of a layer (kernel, bias, embeddings…, whatever the layer holds)
 * its own seed, before the layer builds its weights. Works on the layer object rather than the
 * config, so it covers each layer's own defaults (Dense's glorotNormal kernel) and any param the
 * spec sets, whatever the field is called.
 */
function seedInitializers(layer: tf.layers.Layer, seed: number): void {
  const fields = layer as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const init = fields[key];
    if (!key.endsWith('Initializer') || !isRandomInitializer(init)) continue;
    const Seeded = init.constructor as new (config: Record<string, unknown>) => SeedableInitializer;
    fields[key] = new Seeded({ ...init.getConfig(), seed: derivedSeed(seed, `${layer.name}/${key}`) });
  }
}

/**
 * Stock tfjs layers built here as a faster subclass with the same class name, config and weights
 * (saved models are unchanged). FastLayerNormalization's closed-form gradient is part of the model:
 * the TypeScript export constructs it too (STOCK_LAYER_REPLACEMENTS in
 * src/compiler/generated/layer-sources.ts). The Fused… subclasses are only the app's runtime: the
 * same function through Patchbay's fused kernels where they run (wasm with the SIMD module); the
 * export builds their parents, which compute the same to float32 rounding.
 */
const FASTER_FACTORIES: Record<string, (c: object) => tf.layers.Layer> = {
  layerNormalization: (c) => new FusedLayerNormalization(c),
  batchNormalization: (c) => new FusedBatchNormalization(c),
};

function createLayer(step: LayerStep, env: Env, name: string, input: tf.SymbolicTensor, seed: number | undefined): tf.layers.Layer {
  const config = evaluate(step.config, env, input) as Record<string, unknown>;
  const factory = step.custom
    ? (c: Record<string, unknown>) => createCustomLayer(step.factory, c)
    : Object.hasOwn(FASTER_FACTORIES, step.factory)
      ? FASTER_FACTORIES[step.factory]
      : (tf.layers as unknown as Record<string, ((c: object) => tf.layers.Layer) | undefined>)[step.factory];
  const layer = factory?.({ ...config, name });
  if (!layer) throw new BuildError(`No ${step.custom ? 'custom' : 'tfjs'} layer "${step.factory}".`, step.nodeId);
  if (seed !== undefined) seedInitializers(layer, seed);
  return layer;
}

type Values = Map<string, tf.SymbolicTensor>;

export interface BuildOptions {
  /** The training setup's seed: the same seed gives the same initial weights. Unseeded without it. */
  seed?: number;
}

/**
 * Builds a `tf.LayersModel` from a plan. Layer names follow the plan exactly as the emitter writes
 * them, so that the exported module and this model have the same topology, names and weight order.
 */
export function buildModel(plan: Plan, options: BuildOptions = {}): tf.LayersModel {
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const values: Values = new Map();
  const inputs: tf.SymbolicTensor[] = [];
  runBody(plan.main, values, {}, '', blocks, inputs, undefined, options.seed);
  const outputs = plan.main.outputs.map((o) => values.get(o.value)!);
  return tf.model({ inputs, outputs, name: modelNameOf(plan.name) });
}

function runBody(
  body: PlanBody,
  values: Values,
  env: Env,
  prefix: string,
  blocks: Map<string, PlanBlock>,
  modelInputs: tf.SymbolicTensor[],
  blockId: string | undefined,
  seed: number | undefined,
): void {
  for (const step of body.steps) {
    try {
      switch (step.kind) {
        case 'input': {
          const input = tf.input({ shape: step.shape, dtype: step.dtype, name: step.name });
          modelInputs.push(input);
          values.set(step.value, input);
          break;
        }
        case 'blockInput':
          break; // bound by the caller
        case 'layer': {
          const ins = step.inputs.map((v) => values.get(v)!);
          if (step.when !== undefined && env[step.when] === false) {
            values.set(step.value, ins[0]!);
            break;
          }
          const layer = createLayer(step, env, prefix + step.name, ins[0]!, seed);
          values.set(step.value, layer.apply(ins.length === 1 ? ins[0]! : ins) as tf.SymbolicTensor);
          break;
        }
        case 'block':
          runBlock(step, values, env, prefix, blocks, modelInputs, seed);
          break;
      }
    } catch (err) {
      if (err instanceof BuildError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new BuildError(
        `tfjs could not build ${step.kind === 'layer' || step.kind === 'block' ? `"${step.name}"` : 'this node'}: ${message}`,
        step.nodeId,
        blockId,
      );
    }
  }
}

function runBlock(
  step: BlockStep,
  values: Values,
  env: Env,
  prefix: string,
  blocks: Map<string, PlanBlock>,
  modelInputs: tf.SymbolicTensor[],
  seed: number | undefined,
): void {
  const block = blocks.get(step.block)!;
  const args = evaluate(step.args, env) as Env;
  let current = step.inputs.map((v) => values.get(v)!);
  let results = new Map<string, tf.SymbolicTensor>();
  for (let r = 0; r < step.repeat; r++) {
    const instance = step.repeat > 1 ? `${prefix}${step.name}_${r}` : `${prefix}${step.name}`;
    const inner: Values = new Map();
    const bound: Env = { ...args };
    block.inputs.forEach((port, i) => {
      const tensor = current[i]!;
      inner.set(valueOfPort(block, port), tensor);
    });
    for (const param of block.params) {
      if (!param.derive) continue;
      const tensor = current[block.inputs.indexOf(param.derive.input)]!;
      const axis = param.derive.axis < 0 ? tensor.shape.length + param.derive.axis : param.derive.axis;
      bound[param.name] = tensor.shape[axis];
    }
    runBody(block.body, inner, bound, `${instance}_`, blocks, modelInputs, block.id, seed);
    results = new Map(block.body.outputs.map((o) => [o.name, inner.get(o.value)!]));
    // Repeats need one input and one output (the compiler checks), so the output feeds the next.
    current = [...results.values()];
  }
  for (const [port, value] of Object.entries(step.outputs)) values.set(value, results.get(port)!);
}

const valueOfPort = (block: PlanBlock, port: string): string => {
  const step = block.body.steps.find((s) => s.kind === 'blockInput' && s.port === port);
  return step && step.kind === 'blockInput' ? step.value : port;
};
