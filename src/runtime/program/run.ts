import type * as tfType from '@tensorflow/tfjs';
import type { PlanProcedure, PlanProgram, ProgramStep } from '../../compiler/program';
import { partitionProcedure } from '../../compiler/program-partition';
import { buildModel } from '../build';
import { exampleSize, seededRandom, shuffledIndices, type Dataset, type Split } from '../data/dataset';
import { derivedSeed, seedStep } from '../seeds';
import { loadArtifactsInto } from '../saved-weights';
import type { WeightArtifacts } from '../worker/protocol';
import { learningRateAt } from '../training/schedule';
import { accuracyOf, collapseStd, knnAccuracy, linearProbeAccuracy, type Collected } from './metrics';
import { meanSquaredBetween } from './diffusion';
import { flowOutputs, flowLikelihood, gaussianBaselineNll } from './flows';
import { meanImageBaselineMse } from './glom';
import { emaDecayAt, runOp } from './ops';
import { conditionalMeasure, denoiserSetup, type DenoiserSetup } from './denoiser';
import { conditionalScores, greyToChannels, toPixels, type ConditionalKind, type ConditionalRows } from './image-to-image';
import { argmaxRows, clampParameter, directPredUpdate, followAverage, Minimizer, setMetric, trainableVariables } from './updates';

type Tf = typeof tfType;
type T = tfType.Tensor;

/**
 * The interpreter of a training program: one loop for every procedure, whatever its networks,
 * losses and rules. It runs the plan (never the document), the same in the browser worker and the
 * command line. Each step:
 *
 * 1. Everything that no optimizer differentiates (data, augmentations, frozen and moving-average
 *    networks) runs once, outside any gradient tape.
 * 2. Each Minimize runs the steps its loss needs inside `tf.variableGrads` over the weights it
 *    updates, then applies the gradients (clipped, decayed, per-network learning rates).
 * 3. Update rules run: moving averages follow their networks, DirectPred sets its predictor.
 *
 * All of it inside `tf.tidy`, so the number of live tensors stays flat from step to step.
 */
export interface ProgramStepReport {
  procedure: string;
  step: number;
  totalSteps: number;
  epoch: number;
  /** Each loss node's value this step, by node id. */
  losses: Record<string, number>;
  /** The moving averages' current decay, by apply-node id. */
  decays: Record<string, number>;
  stepsPerSecond: number;
  tensors: number;
}

export interface ProgramRunOptions {
  seed: number;
  batchSize: number;
  /** Epochs of a train procedure that does not set its own. */
  epochs: number;
  /** Overrides every train procedure's epochs (the CLI's --epochs). */
  epochsOverride?: number;
  /** Use only the first N training examples (and N / 4 held-out ones). */
  limit?: number;
  onStep?: (report: ProgramStepReport) => void | Promise<void>;
  onProcedure?: (procedure: PlanProcedure, index: number) => void | Promise<void>;
  /**
   * During an evaluation, after each batch of examples its measures read: how many of the split's
   * examples are done. A big network scoring 10,000 digits takes minutes, and the page takes a worker
   * that says nothing for 3 minutes for a hung one.
   */
  onEvaluating?: (progress: EvaluationProgress) => void | Promise<void>;
  shouldStop?: () => boolean;
  /** Train procedures not to run, because the networks they train come already trained (from a past run's weights). */
  skipProcedures?: ReadonlySet<string>;
  /**
   * Keeps the gradients of the steps `wanted` chooses (asked before each step with the step's
   * number in its procedure, 1-based, and whether it is the procedure's last): `take` gets copies by
   * variable name, the loss's gradients as each Minimize's tape gave them (before clipping and weight
   * decay), which the caller owns and disposes. Other steps pay nothing; the weights are the same.
   */
  gradientTap?: { wanted: (step: number, last: boolean) => boolean; take: (grads: Map<string, T>) => void };
}

export interface EvaluationProgress {
  /** The held-out examples, or the training ones that a probe or baseline also reads. */
  split: 'test' | 'train';
  done: number;
  total: number;
}

export interface ProcedureRecord {
  id: string;
  label: string;
  kind: 'train' | 'evaluate';
  steps: number;
  seconds: number;
  /** Loss values per step, by loss node id (every step). */
  curves: Record<string, number[]>;
  /** Not run: its networks came trained from a past run. */
  skipped?: boolean;
}

/** A conditional diffusion program's held-out examples: images [count, h, w, c] each, in [0, 1]. */
export interface ConditionalExamples {
  shape: number[];
  input: Float32Array;
  output: Float32Array;
  target: Float32Array;
  kind: ConditionalKind;
}

export interface ProgramResult {
  status: 'completed' | 'stopped' | 'failed';
  message?: string;
  nodeId?: string;
  procedures: ProcedureRecord[];
  /** Evaluation results by name; dotted names nest (`baselines.rawPixelsLinearProbe`). */
  metrics: Record<string, unknown>;
  seconds: number;
}

/** A network's weights in the run: the online model, and a moving-average copy when one is used. */
interface NetworkState {
  model: tfType.LayersModel;
  initial: T[];
  ema?: tfType.LayersModel;
}

export class ProgramRun {
  readonly networks = new Map<string, NetworkState>();
  readonly parameters = new Map<string, tfType.Variable>();
  /** DirectPred's running correlations, by hook node id. */
  private correlations = new Map<string, Float64Array>();
  /** The networks that are flows: applied as [z, logdet]. */
  private flows = new Set<string>();

  constructor(
    private tf: Tf,
    readonly program: PlanProgram,
    private seed: number,
  ) {
    for (const net of program.networks) {
      if (net.flow) this.flows.add(net.id);
      // Seeded as a classifier is (per layer name): two networks with the same layers start equal,
      // which is what "the same student, same seed" in distillation needs.
      const model = buildModel(net.plan, { seed });
      this.networks.set(net.id, { model, initial: model.getWeights().map((w) => w.clone()) });
    }
  }

  /**
   * Starts a network from saved weights (a past run's, or --weights on the command line). Its
   * "as initialised" baseline stays the seeded random initialisation.
   */
  async loadNetwork(network: string, weights: WeightArtifacts): Promise<void> {
    const state = this.networks.get(network);
    if (!state) throw new Error(`The program has no network "${network}".`);
    await loadArtifactsInto(this.tf, state.model, weights, `network "${network}"`);
  }

  dispose(): void {
    for (const state of this.networks.values()) {
      state.model.dispose();
      state.ema?.dispose();
      this.tf.dispose(state.initial);
    }
    for (const v of this.parameters.values()) v.dispose();
  }

  private emaOf(network: string): tfType.LayersModel {
    const state = this.networks.get(network)!;
    if (!state.ema) {
      const plan = this.program.networks.find((n) => n.id === network)!.plan;
      state.ema = buildModel(plan, { seed: this.seed });
      state.ema.setWeights(state.model.getWeights());
    }
    return state.ema;
  }

  private parameterFor(step: Extract<ProgramStep, { kind: 'parameter' }>): tfType.Variable {
    let v = this.parameters.get(step.nodeId);
    if (!v) {
      // A variable keeps the tensor it was made from alive: make it from a scalar that is freed at once.
      const init = this.tf.scalar(step.init);
      this.parameters.set(step.nodeId, (v = this.tf.variable(init, true, `parameter_${step.nodeId}`)));
      init.dispose();
    }
    return v;
  }

  /** Runs `steps` over `values`, in order; `only` limits it to some steps. */
  private forward(
    steps: readonly ProgramStep[],
    values: Map<string, T>,
    ctx: { step: number; training: boolean; totalSteps: number },
    only?: ReadonlySet<ProgramStep>,
  ): void {
    const tf = this.tf;
    for (const s of steps) {
      if (only && !only.has(s)) continue;
      switch (s.kind) {
        case 'apply': {
          const state = this.networks.get(s.network)!;
          const model = s.weights === 'ema' ? this.emaOf(s.network) : state.model;
          const training = ctx.training && s.weights !== 'frozen';
          if (training) seedStep(model, this.seed, ctx.step);
          const ins = s.inputs.map((v) => values.get(v)!);
          // A flow network gives z and its log-determinant (runtime/program/flows.ts).
          const out = this.flows.has(s.network) ? flowOutputs(tf, model, ins[0]!) : (model.apply(ins.length === 1 ? ins[0]! : ins, { training }) as T | T[]);
          const outs = Array.isArray(out) ? out : [out];
          Object.values(s.outputs).forEach((v, i) => values.set(v, outs[i]!));
          break;
        }
        case 'op':
          values.set(
            s.output,
            runOp(
              tf,
              s.op,
              s.config,
              s.inputs.map((v) => values.get(v)!),
              { seed: this.seed, step: ctx.step, nodeId: s.nodeId },
            ),
          );
          break;
        case 'parameter':
          values.set(s.output, this.parameterFor(s));
          break;
        default:
          break;
      }
    }
  }

  /** Trains with one train procedure. */
  async train(
    proc: PlanProcedure,
    ds: Dataset,
    options: ProgramRunOptions,
    record: ProcedureRecord,
  ): Promise<{ status: 'completed' | 'stopped' | 'failed'; message?: string; nodeId?: string }> {
    const tf = this.tf;
    const train = limited(ds.train, options.limit, exampleSize(ds));
    const epochs = options.epochsOverride ?? proc.epochs ?? options.epochs;
    const stepsPerEpoch = Math.ceil(train.count / options.batchSize);
    const totalSteps = stepsPerEpoch * epochs;
    const { pre, taped } = partitionProcedure(proc);
    const minimizes = [...taped.keys()] as Array<Extract<ProgramStep, { kind: 'minimize' }>>;
    const optimizers = minimizes.map((m) => this.minimizerFor(m));
    const lossSteps = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'op' }> => s.kind === 'op' && s.loss);
    const hooks = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'hook' }> => s.kind === 'hook');
    const emaApplies = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'apply' }> => s.kind === 'apply' && s.weights === 'ema');
    for (const l of lossSteps) record.curves[l.nodeId] = [];
    const data = proc.steps.find((s): s is Extract<ProgramStep, { kind: 'data' }> => s.kind === 'data');
    // The same data order as a classifier trained with this seed, so an explicit classifier program
    // and trainClassifier see the same batches.
    const random = seededRandom(options.seed);
    const started = performance.now();
    let step = 0;
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = shuffledIndices(train.count, random);
        for (let start = 0; start < train.count; start += options.batchSize) {
          if (options.shouldStop?.()) return { status: 'stopped', message: `Stopped by the user at step ${step} of ${totalSteps} of "${proc.label}".` };
          const batch = batchOf(tf, ds, train, order, start, options.batchSize);
          const ctx = { step, training: true, totalSteps };
          // One input per hook, from the first tape that computes it (as the exported trainer does).
          const hookInputs: Array<T | undefined> = hooks.map(() => undefined);
          const tapped = options.gradientTap?.wanted(step + 1, step + 1 === totalSteps) ? new Map<string, T>() : undefined;
          let shown: Record<string, T>;
          try {
            shown = tf.tidy(() => {
              const values = new Map<string, T>();
              if (data) {
                values.set(data.outputs.image, batch.x);
                values.set(data.outputs.label, batch.y);
              }
              this.forward(proc.steps, values, ctx, pre);
              const out: Record<string, T> = {};
              minimizes.forEach((m, i) => {
                const runner = optimizers[i]!;
                const { value, grads } = tf.variableGrads(() => {
                  const inner = new Map(values);
                  this.forward(proc.steps, inner, ctx, taped.get(m));
                  // A loss shows its value from the last tape that computes it.
                  for (const l of lossSteps) {
                    if (!inner.has(l.output) || values.has(l.output)) continue;
                    out[l.nodeId]?.dispose();
                    out[l.nodeId] = tf.keep(inner.get(l.output)!);
                  }
                  hooks.forEach((h, k) => {
                    if (!hookInputs[k] && inner.has(h.input) && !values.has(h.input)) hookInputs[k] = tf.keep(inner.get(h.input)!);
                  });
                  return inner.get(m.loss) as tfType.Scalar;
                }, runner.variables);
                // A copy (the same buffer on most backends) that outlives the tidy; the applied ones stay untouched.
                if (tapped) for (const [name, g] of Object.entries(grads)) tapped.set(name, tf.keep(g.clone()));
                runner.apply(grads, learningRateAt(m.optimizer, step, totalSteps));
                out[m.nodeId] = tf.keep(value);
              });
              // Losses and hook inputs computed before any tape (e.g. all frozen) are read here.
              for (const l of lossSteps) if (!out[l.nodeId] && values.has(l.output)) out[l.nodeId] = tf.keep(values.get(l.output)!);
              hooks.forEach((h, k) => {
                if (!hookInputs[k] && values.has(h.input)) hookInputs[k] = tf.keep(values.get(h.input)!);
              });
              return out;
            });
          } catch (err) {
            // A step that throws (a shape the loss refuses) leaves no kept copies behind.
            if (tapped) tf.dispose([...tapped.values()]);
            throw err;
          } finally {
            tf.dispose([batch.x, batch.y]);
          }
          if (tapped) options.gradientTap!.take(tapped);
          step++;
          const losses: Record<string, number> = {};
          for (const l of lossSteps) {
            const t = shown[l.nodeId];
            if (t) losses[l.nodeId] = (await t.data())[0]!;
          }
          tf.dispose(Object.values(shown));
          for (const [id, v] of Object.entries(losses)) {
            record.curves[id]!.push(v);
            if (!Number.isFinite(v)) {
              tf.dispose(hookInputs.filter((t): t is T => t !== undefined));
              return {
                status: 'failed',
                nodeId: id,
                message: `The loss "${id}" became ${v} at step ${step} of "${proc.label}", so training stopped. Lower the learning rate, or check the data.`,
              };
            }
          }
          this.clampParameters(proc);
          // One update per network, however many nodes apply its moving average (two views, two nodes).
          const decays: Record<string, number> = {};
          const followed = new Set<string>();
          for (const e of emaApplies) {
            const decay = emaDecayAt(e.ema!.decay, e.ema!.schedule, step, totalSteps);
            decays[e.nodeId] = decay;
            if (followed.has(e.network)) continue;
            followed.add(e.network);
            this.followAverage(e.network, decay);
          }
          await this.runHooks(hooks, hookInputs, step);
          record.steps = step;
          const elapsed = (performance.now() - started) / 1000;
          await options.onStep?.({
            procedure: proc.id,
            step,
            totalSteps,
            epoch: epoch + 1,
            losses,
            decays,
            stepsPerSecond: step / elapsed,
            tensors: tf.memory().numTensors,
          });
        }
      }
    } finally {
      for (const o of optimizers) o.dispose();
      record.seconds = (performance.now() - started) / 1000;
    }
    return { status: 'completed' };
  }

  private clampParameters(proc: PlanProcedure): void {
    for (const s of proc.steps) {
      if (s.kind !== 'parameter') continue;
      const v = this.parameters.get(s.nodeId);
      if (v) clampParameter(this.tf, v, s.min, s.max);
    }
  }

  /** ξ ← τ·ξ + (1 − τ)·θ over every weight (moving statistics included): updates.ts's rule, which the export copies. */
  private followAverage(network: string, decay: number): void {
    followAverage(this.tf, this.networks.get(network)!.model, this.emaOf(network), decay);
  }

  /**
   * One Minimize's optimizer over its networks' trainable variables (each network at its
   * learning-rate multiplier), then its learned scalars. Parameters are made here if no step has
   * used them yet, so the optimizer holds the variables the steps will read.
   */
  private minimizerFor(m: Extract<ProgramStep, { kind: 'minimize' }>): Minimizer {
    const groups = m.networks.map((net) => ({
      variables: trainableVariables(this.networks.get(net)!.model),
      multiplier: Object.hasOwn(m.optimizer.learningRateMultipliers, net) ? m.optimizer.learningRateMultipliers[net]! : 1,
    }));
    const parameterSteps = this.program.procedures
      .flatMap((p) => p.steps)
      .filter((s): s is Extract<ProgramStep, { kind: 'parameter' }> => s.kind === 'parameter');
    const parameters = m.parameters.flatMap((output) => {
      const step = parameterSteps.find((s) => s.output === output);
      return step ? [this.parameterFor(step)] : [];
    });
    if (parameters.length) groups.push({ variables: parameters, multiplier: 1 });
    return new Minimizer(this.tf, m.optimizer, groups);
  }

  private async runHooks(hooks: Array<Extract<ProgramStep, { kind: 'hook' }>>, inputs: Array<T | undefined>, step: number): Promise<void> {
    for (const [i, h] of hooks.entries()) {
      const f = inputs[i];
      if (!f) continue;
      this.correlations.set(h.nodeId, await directPredUpdate(this.tf, this.correlations.get(h.nodeId), f, step, h, this.networks.get(h.network)!.model));
    }
    this.tf.dispose(inputs.filter((t): t is T => t !== undefined));
  }

  /**
   * Runs an evaluation procedure: collects each metric's inputs over the data, then measures.
   * Asynchronous because it reads results back with `data()`: webgpu has no synchronous read.
   */
  async evaluate(proc: PlanProcedure, ds: Dataset, options: ProgramRunOptions, metrics: Record<string, unknown>): Promise<void> {
    const tf = this.tf;
    const per = exampleSize(ds);
    const train = limited(ds.train, options.limit, per);
    const test = limited(ds.test, options.limit === undefined ? undefined : Math.max(1, Math.floor(options.limit / 4)), per);
    const classes = ds.classNames.length;
    const metricSteps = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'metric' }> => s.kind === 'metric');
    const collect = (split: Split, name: EvaluationProgress['split'] = split === test ? 'test' : 'train') =>
      this.collect(proc, ds, split, metricSteps, options.onEvaluating && ((done) => options.onEvaluating!({ split: name, done, total: split.count })));
    const onTest = await collect(test);
    const needsTrain = metricSteps.some(
      (m) =>
        m.metric === 'LinearProbe' ||
        m.metric === 'KNearestNeighbours' ||
        m.metric === 'GaussianBaseline' ||
        m.metric === 'MeanImageBaseline' ||
        m.metric === 'InpaintingScore' ||
        m.metric === 'ColourisationScore',
    );
    const onTrain = needsTrain ? await collect(train) : undefined;
    for (const m of metricSteps) {
      const [f, y] = [onTest.get(`${m.nodeId}:0`)!, onTest.get(`${m.nodeId}:1`)];
      const features: Collected = { features: f.data, dim: f.dim, labels: y ? argmaxRows(y) : new Int32Array(f.count), count: f.count };
      switch (m.metric) {
        case 'Accuracy':
          setMetric(metrics, m.name, accuracyOf(features));
          break;
        case 'MeanSquaredErrorMetric':
          setMetric(metrics, m.name, meanSquaredBetween(f, y!));
          break;
        case 'CollapseMonitor': {
          const { std, reference } = collapseStd(features);
          setMetric(metrics, m.name, std);
          setMetric(metrics, 'collapseReference', reference);
          break;
        }
        case 'FlowLikelihood': {
          // The data's dimension count when "x" is wired (a flow with splits ends in fewer values than it read).
          const { nll, bitsPerDim } = flowLikelihood(f, y!, m.config.levels as number, onTest.get(`${m.nodeId}:2`)?.dim);
          setMetric(metrics, m.name, nll);
          if (m.config.bitsPerDimMetric) setMetric(metrics, String(m.config.bitsPerDimMetric), bitsPerDim);
          break;
        }
        case 'GaussianBaseline':
          setMetric(metrics, m.name, gaussianBaselineNll(onTrain!.get(`${m.nodeId}:0`)!, f));
          break;
        case 'MeanImageBaseline':
          setMetric(metrics, m.name, meanImageBaselineMse(onTrain!.get(`${m.nodeId}:0`)!, f));
          break;
        case 'SuperResolutionScore':
        case 'InpaintingScore':
        case 'ColourisationScore': {
          const rows = { target: f.data, condition: y!.data, mask: onTest.get(`${m.nodeId}:2`)?.data, size: f.dim, conditionSize: y!.dim };
          const trainTarget = onTrain?.get(`${m.nodeId}:0`)?.data;
          const train = trainTarget ? { target: trainTarget, condition: onTrain?.get(`${m.nodeId}:1`)?.data } : undefined;
          const { score, baseline, greyCopy } = await this.scoreConditional(m, rows, train, options.seed);
          setMetric(metrics, m.name, score);
          setMetric(metrics, String(m.config.baselineMetric), baseline);
          if (greyCopy !== undefined && m.config.greyCopyMetric) setMetric(metrics, String(m.config.greyCopyMetric), greyCopy);
          break;
        }
        case 'KNearestNeighbours':
        case 'LinearProbe': {
          const tf2 = onTrain!.get(`${m.nodeId}:0`)!;
          const trainFeatures: Collected = { features: tf2.data, dim: tf2.dim, labels: argmaxRows(onTrain!.get(`${m.nodeId}:1`)!), count: tf2.count };
          const value =
            m.metric === 'KNearestNeighbours'
              ? await knnAccuracy(tf, trainFeatures, features, m.config.k as number, classes)
              : await linearProbeAccuracy(tf, trainFeatures, features, classes, {
                  epochs: m.config.epochs as number,
                  learningRate: m.config.learningRate as number,
                  seed: derivedSeed(options.seed, `probe:${m.nodeId}`),
                });
          setMetric(metrics, m.name, value);
          break;
        }
      }
    }
    // Baselines on the networks as initialised: the same evaluation, with the initial weights.
    const baselines = metricSteps.filter((m) => m.metric === 'LinearProbe' && m.config.randomInitMetric);
    if (baselines.length) {
      const current = [...this.networks.values()].map((s) => s.model.getWeights().map((w) => w.clone()));
      try {
        for (const s of this.networks.values()) s.model.setWeights(s.initial);
        const initTest = await collect(test);
        const initTrain = await collect(train);
        for (const m of baselines) {
          const get = (c: Map<string, { data: Float32Array; dim: number; count: number }>, split: 0 | 1) => c.get(`${m.nodeId}:${split}`)!;
          const a: Collected = {
            features: get(initTrain, 0).data,
            dim: get(initTrain, 0).dim,
            labels: argmaxRows(get(initTrain, 1)),
            count: get(initTrain, 0).count,
          };
          const b: Collected = {
            features: get(initTest, 0).data,
            dim: get(initTest, 0).dim,
            labels: argmaxRows(get(initTest, 1)),
            count: get(initTest, 0).count,
          };
          setMetric(
            metrics,
            String(m.config.randomInitMetric),
            await linearProbeAccuracy(tf, a, b, classes, {
              epochs: m.config.epochs as number,
              learningRate: m.config.learningRate as number,
              seed: derivedSeed(options.seed, `probe:${m.nodeId}`),
            }),
          );
        }
      } finally {
        [...this.networks.values()].forEach((s, i) => s.model.setWeights(current[i]!));
        tf.dispose(current.flat());
      }
    }
  }

  /** The denoiser a conditional measure samples with: its moving-average copy or its own weights. */
  private denoiser(weights: unknown): { model: tfType.LayersModel; setup: DenoiserSetup } {
    const setup = denoiserSetup(this.program);
    if (!setup || setup.inputs !== 3)
      throw new Error('A sampling measure needs a training procedure that applies a network to (x_t, t, condition) after Diffuse.');
    return { model: weights === 'ema' ? this.emaOf(setup.network) : this.networks.get(setup.network)!.model, setup };
  }

  private async scoreConditional(
    m: Extract<ProgramStep, { kind: 'metric' }>,
    rows: ConditionalRows,
    train: { target: Float32Array; condition?: Float32Array } | undefined,
    seed: number,
  ): Promise<{ score: number; baseline: number; greyCopy?: number; outputs: Float32Array }> {
    const { model, setup } = this.denoiser(m.config.weights);
    const shape = model.inputs[0]!.shape.slice(1) as number[];
    const kind: ConditionalKind = m.metric === 'SuperResolutionScore' ? 'superResolution' : m.metric === 'ColourisationScore' ? 'colourisation' : 'inpainting';
    return conditionalScores(this.tf, model, shape, kind, rows, train, {
      schedule: setup.schedule,
      timesteps: setup.timesteps,
      steps: m.config.steps as number,
      eta: (m.config.eta as number | undefined) ?? 0,
      prediction: setup.prediction,
      examples: m.config.examples as number,
      seed: derivedSeed(seed, `sample:${m.nodeId}`),
    });
  }

  /**
   * Input, output and target of a conditional diffusion program (SR3, Palette) for the first `count`
   * held-out images, in [0, 1]: its sampling measure's condition and target, the denoiser's samples
   * (with `weights`, else the measure's), and for inpainting the input shown with the square grey;
   * for colourisation the grey input is repeated on the output's channels, so all three share a shape.
   */
  async conditionalExamples(
    ds: Dataset,
    count: number,
    options: { seed: number; steps?: number; eta?: number; weights?: 'ema' | 'online' },
  ): Promise<ConditionalExamples> {
    const measure = conditionalMeasure(this.program);
    if (!measure) throw new Error('This program has no super-resolution, inpainting or colourisation measure to take its inputs from.');
    const proc = this.program.procedures.find((p) => p.id === measure.procedure)!;
    const test = limited(ds.test, count, exampleSize(ds));
    const got = await this.collect(proc, ds, test, [measure.step]);
    const part = (i: number) => got.get(`${measure.step.nodeId}:${i}`);
    const rows: ConditionalRows = { target: part(0)!.data, condition: part(1)!.data, mask: part(2)?.data, size: part(0)!.dim, conditionSize: part(1)!.dim };
    const step = {
      ...measure.step,
      config: {
        ...measure.step.config,
        examples: count,
        ...(options.steps ? { steps: options.steps } : {}),
        ...(options.eta !== undefined ? { eta: options.eta } : {}),
        ...(options.weights ? { weights: options.weights } : {}),
      },
    };
    const { outputs } = await this.scoreConditional(step, rows, undefined, options.seed);
    const target = toPixels(rows.target);
    const input =
      measure.kind === 'inpainting'
        ? Float32Array.from(target, (v, i) => (rows.mask![i]! > 0 ? 0.5 : v))
        : measure.kind === 'colourisation'
          ? greyToChannels(toPixels(rows.condition), rows.size / rows.conditionSize!)
          : toPixels(rows.condition);
    const shape = [test.count, ...(this.denoiser(step.config.weights).model.inputs[0]!.shape.slice(1) as number[])];
    return { shape, input, output: outputs, target, kind: measure.kind };
  }

  /** Each metric input (`node:index`) over a split, as flat rows, computed in inference mode. */
  private async collect(
    proc: PlanProcedure,
    ds: Dataset,
    split: Split,
    metricSteps: Array<Extract<ProgramStep, { kind: 'metric' }>>,
    onBatch?: (done: number) => void | Promise<void>,
  ): Promise<Map<string, { data: Float32Array; dim: number; count: number }>> {
    const tf = this.tf;
    const data = proc.steps.find((s): s is Extract<ProgramStep, { kind: 'data' }> => s.kind === 'data');
    const wanted = metricSteps.flatMap((m) => m.inputs.map((v, i) => ({ key: `${m.nodeId}:${i}`, value: v })));
    const chunks = new Map<string, Float32Array[]>(wanted.map((w) => [w.key, []]));
    const dims = new Map<string, number>();
    const order = Uint32Array.from({ length: split.count }, (_, i) => i);
    for (let start = 0; start < split.count; start += 256) {
      const batch = batchOf(tf, ds, split, order, start, 256);
      let outs: T[] = [];
      try {
        outs = tf.tidy(() => {
          const values = new Map<string, T>();
          if (data) {
            values.set(data.outputs.image, batch.x);
            values.set(data.outputs.label, batch.y);
          }
          this.forward(proc.steps, values, { step: 0, training: false, totalSteps: 0 });
          return wanted.map((w) => tf.reshape(values.get(w.value)!, [batch.x.shape[0]!, -1]));
        });
        for (const [i, w] of wanted.entries()) {
          dims.set(w.key, outs[i]!.shape[1]!);
          chunks.get(w.key)!.push((await outs[i]!.data()) as Float32Array);
        }
      } finally {
        tf.dispose([batch.x, batch.y, ...outs]);
      }
      await onBatch?.(Math.min(split.count, start + 256));
    }
    const out = new Map<string, { data: Float32Array; dim: number; count: number }>();
    for (const w of wanted) {
      const parts = chunks.get(w.key)!;
      const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let offset = 0;
      for (const p of parts) {
        all.set(p, offset);
        offset += p.length;
      }
      out.set(w.key, { data: all, dim: dims.get(w.key) ?? 0, count: split.count });
    }
    return out;
  }
}

function limited(split: Split, limit: number | undefined, per: number): Split {
  if (limit === undefined || limit >= split.count) return split;
  return { x: split.x.subarray(0, limit * per), y: split.y.subarray(0, limit), count: limit };
}

function batchOf(tf: Tf, ds: Dataset, split: Split, order: ArrayLike<number>, start: number, size: number): { x: T; y: T } {
  const per = exampleSize(ds);
  const count = Math.min(size, split.count - start);
  const x = new Float32Array(count * per);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const from = order[start + i]!;
    x.set(split.x.subarray(from * per, (from + 1) * per), i * per);
    labels[i] = split.y[from]!;
  }
  return tf.tidy(() => ({ x: tf.tensor(x, [count, ...ds.inputShape]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), ds.classNames.length).toFloat() }));
}

/** Runs a whole program: its procedures in order. The caller owns `run` (weights for saving). */
export async function runProgram(tf: Tf, run: ProgramRun, ds: Dataset, options: ProgramRunOptions): Promise<ProgramResult> {
  const started = performance.now();
  const result: ProgramResult = { status: 'completed', procedures: [], metrics: {}, seconds: 0 };
  for (const [index, proc] of run.program.procedures.entries()) {
    const record: ProcedureRecord = { id: proc.id, label: proc.label, kind: proc.kind, steps: 0, seconds: 0, curves: {} };
    result.procedures.push(record);
    if (proc.kind === 'train' && options.skipProcedures?.has(proc.id)) {
      record.skipped = true;
      continue;
    }
    await options.onProcedure?.(proc, index);
    if (proc.kind === 'evaluate') {
      const t0 = performance.now();
      await run.evaluate(proc, ds, options, result.metrics);
      record.seconds = (performance.now() - t0) / 1000;
      continue;
    }
    const outcome = await run.train(proc, ds, options, record);
    if (outcome.status !== 'completed') {
      Object.assign(result, outcome);
      break;
    }
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
