/**
 * The worker's side of previews on a pinned example: which model answers (the worker's own when it
 * was built from the same plan, else a cached fresh build that keeps the run's weights for the
 * layers an edit left alone), the pinned example, and the refreshes a run makes as it trains.
 */
import * as tf from '@tensorflow/tfjs';
import type { Plan } from '../../compiler/plan';
import type { Dataset } from '../data/dataset';
import { exampleSize } from '../data/dataset';
import {
  ACTIVATION_EXAMPLES,
  activationsByNode,
  gradientsByNode,
  previewBuild,
  previewModel,
  RefreshSchedule,
  weightsByNode,
  type ActivationBatch,
  type OpenedBlock,
  type PreviewAnswer,
} from '../preview';
import type { NodeActivations, NodeWeights } from '../preview-data';
import type { PreviewFeed, PreviewSample, TrainData } from './protocol';
import type { PlanProgram } from '../../compiler/program';
import { procedureInputs } from '../preview-procedure';

/**
 * The run's first held-out examples (the training ones when the data has none held out), at most
 * ACTIVATION_EXAMPLES: the same batch at every refresh, so that the activations' figures compare.
 */
export function activationBatchOf(ds: Dataset): ActivationBatch | undefined {
  const split = ds.test.count > 0 ? ds.test : ds.train;
  const n = Math.min(ACTIVATION_EXAMPLES, split.count);
  if (n === 0) return undefined;
  const per = exampleSize(ds);
  return { x: Float32Array.from(split.x.subarray(0, n * per)), count: n, inputShape: ds.inputShape };
}

/**
 * A network's plan as a program run and the page's graph on show compare it: all but its name (the
 * page names another network by its label, the program by its id), so an edit shows, a name does not.
 */
export function networkKey(plan: Plan): string {
  return JSON.stringify({ ...plan, name: '' });
}

/** The graph on show, as the page last asked for its previews. */
interface ShownGraph {
  network: string;
  plan: Plan;
  planJson: string;
  seed: number;
  example: Float32Array;
  label: number;
  feed: PreviewFeed | undefined;
  inside: OpenedBlock | undefined;
}

/** What a program run's refresh sends: the previews and measures of the network on show. */
export interface ProgramLive {
  network: string;
  answer: PreviewAnswer;
  weights: NodeWeights[];
  activations: NodeActivations[];
  inside?: OpenedBlock;
}

/** The worker's model and the plan it was built from (as JSON, to compare with a request's). */
export interface HeldModel {
  model: tf.LayersModel | undefined;
  planJson: string | undefined;
  /** The run's moving-average copy of the network (a BYOL target's weights), once the run has made one. */
  average?: tf.LayersModel;
}

/** The models the worker holds, each with the graph (the page's graphKeyOf) it was trained or loaded for. */
export interface HeldSources {
  /** The classifier's model: a run's or loaded weights. */
  classifier?: { model: tf.LayersModel; planJson: string | undefined; graph: string | undefined };
  /** The program run under way, else the last one. */
  program?: { networks: ReadonlyMap<string, { model: tf.LayersModel; ema?: tf.LayersModel }>; program: PlanProgram; graph: string | undefined };
}

/**
 * The worker's model of a network for a preview of graph `graph` (the page's graphKeyOf; none: any
 * graph): the classifier's model for exactly its plan, the program's network of that id (its plan
 * compared without its name), else for the main network the classifier's model, whose same-shaped
 * layers a fresh build copies. Only models held for that very graph count: another graph's network
 * of the same name (SimSiam's `model` and ConvMixer's) shares nothing with it.
 */
export function heldModelOf(network: string, plan: Plan | undefined, graph: string | undefined, held: HeldSources): HeldModel {
  const ours = (of: string | undefined) => graph === undefined || of === graph;
  const classifier = held.classifier && ours(held.classifier.graph) ? held.classifier : undefined;
  const program = held.program && ours(held.program.graph) ? held.program : undefined;
  // The classifier's model answers for exactly its plan, even after a program run.
  if (network === 'model' && classifier && plan && JSON.stringify(plan) === classifier.planJson)
    return { model: classifier.model, planJson: classifier.planJson };
  const trained = program?.networks.get(network);
  if (trained) {
    const own = program!.program.networks.find((n) => n.id === network)?.plan;
    // The page names a network by its label, the program by its id: the same network when all else is.
    const planJson = own && plan && networkKey(own) === networkKey(plan) ? JSON.stringify(plan) : JSON.stringify(own);
    return { model: trained.model, planJson, ...(trained.ema ? { average: trained.ema } : {}) };
  }
  return network === 'model' && classifier ? { model: classifier.model, planJson: classifier.planJson } : { model: undefined, planJson: undefined };
}

/** The feed note for target networks applied with their moving average before the run has made that copy. */
export function noAverageNote(networks: ReadonlySet<string>): string {
  const names = [...networks].map((n) => `"${n}"`).join(', ');
  return `No moving-average copy of ${names} yet (a run makes it at its first step): its own weights stand in`;
}

export class PreviewService {
  /** The pinned example's values, kept for the refreshes during a run; none when unpinned. */
  private example: Float32Array | undefined;
  /** The block instance opened in the main network, whose inner nodes a run's refreshes preview. */
  private inside: OpenedBlock | undefined;
  /** The graph on show as the last preview asked for it (any network, fed as asked): what a program run's refreshes preview. */
  private shown: ShownGraph | undefined;
  /** The last fresh build of each network, for as long as its plan and the worker's model of it stay the same. */
  private cache = new Map<
    string,
    { planJson: string; trained: tf.LayersModel | undefined; version: number; model: tf.LayersModel; weights: PreviewAnswer['weights'] }
  >();
  /** Bumped by every training step: a fresh build copied the run's weights as they were then. */
  private version = 0;
  /** The live run's refresh timing; replaced by each run. */
  schedule = new RefreshSchedule();

  constructor(private readonly datasetFor: (data: Exclude<TrainData, { kind: 'inline' }>) => Promise<Dataset>) {}

  /** The worker's model trained a step: builds that copied its weights are out of date. */
  weightsChanged(): void {
    this.version++;
  }

  get pinned(): boolean {
    return this.example !== undefined;
  }

  /** The example's values (and class, for a held-out one), checked against the plan's input. */
  private async resolve(sample: PreviewSample): Promise<{ example: Float32Array; label?: number }> {
    if (sample.kind === 'values') return { example: sample.values };
    const ds = await this.datasetFor(sample.data);
    const split = ds.test.count > 0 ? ds.test : ds.train;
    if (split.count === 0) throw new Error(`"${ds.name}" has no examples to pin.`);
    const index = Math.min(Math.max(0, Math.floor(sample.index)), split.count - 1);
    const size = exampleSize(ds);
    return { example: Float32Array.from(split.x.subarray(index * size, (index + 1) * size)), label: split.y[index] };
  }

  /**
   * Answers a preview request; a null sample unpins the example and answers with no previews.
   * `held` is the worker's model of this network, `heldOf` its model of another network a procedure
   * feed applies first; `inside` previews the nodes of that opened block instance.
   */
  async answer(
    plan: Plan,
    seed: number,
    sample: PreviewSample | null,
    held: HeldModel,
    options: { network?: string; feed?: PreviewFeed; inside?: OpenedBlock; heldOf?: (network: string) => HeldModel } = {},
  ): Promise<{ answer: PreviewAnswer; example?: Float32Array; label?: number }> {
    if (!sample) {
      this.example = undefined;
      this.inside = undefined;
      this.shown = undefined;
      this.dropCache();
      return { answer: { previews: [], skipped: [], weights: { source: 'fresh', fromRun: 0, layers: 0 }, ms: 0 } };
    }
    const { example, label } = await this.resolve(sample);
    const network = options.network ?? 'model';
    // Builds of networks the program no longer has (another document opened) are let go.
    if (options.feed?.kind === 'procedure') {
      const ids = new Set(options.feed.program.networks.map((n) => n.id));
      for (const [id, entry] of this.cache)
        if (!ids.has(id) && id !== network) {
          entry.model.dispose();
          this.cache.delete(id);
        }
    }
    // A run's refreshes preview the main network on the example alone.
    if (!options.feed && network === 'model') {
      this.example = example;
      this.inside = options.inside;
    }
    // A program run's refreshes preview the graph on show, whichever network it is, fed the same way.
    this.shown = { network, plan, planJson: networkKey(plan), seed, example, label: label ?? 0, feed: options.feed, inside: options.inside };
    const { model, weights } = this.modelFor(network, plan, seed, held);
    const feeding = performance.now();
    const noAverage = new Set<string>();
    const inputs = await this.inputsOf(model, example, label ?? 0, seed, options.feed, options.heldOf, noAverage);
    const feedMs = performance.now() - feeding;
    const answer = await previewModel(plan, model, inputs, weights, options.inside);
    // The time says what the preview cost: feeding the network (a procedure's steps before it) too.
    answer.ms += feedMs;
    if (noAverage.size > 0) answer.feedNote = noAverageNote(noAverage);
    return { answer, example: Float32Array.from(example), label };
  }

  /** The model that answers for `network`: the worker's own when built from this very plan, else a cached fresh build. */
  private modelFor(network: string, plan: Plan, seed: number, held: HeldModel): { model: tf.LayersModel; weights: PreviewAnswer['weights'] } {
    const planJson = JSON.stringify(plan);
    if (held.model && held.planJson === planJson) {
      const layers = held.model.layers.filter((l) => l.weights.length > 0).length;
      return { model: held.model, weights: { source: 'run', fromRun: layers, layers } };
    }
    let entry = this.cache.get(network);
    if (!entry || entry.planJson !== planJson || entry.trained !== held.model || entry.version !== this.version) {
      entry?.model.dispose();
      entry = { planJson, trained: held.model, version: this.version, ...previewBuild(plan, seed, held.model) };
      this.cache.set(network, entry);
    }
    return entry;
  }

  /** One array per model input: the example itself, the feed's values, or what a procedure gives the network on the example. */
  private async inputsOf(
    model: tf.LayersModel,
    example: Float32Array,
    label: number,
    seed: number,
    feed: PreviewFeed | undefined,
    heldOf: ((network: string) => HeldModel) | undefined,
    noAverage?: Set<string>,
  ): Promise<Float32Array[]> {
    if (!feed) {
      if (model.inputs.length !== 1) throw new Error(`This network takes ${model.inputs.length} inputs; the previews were asked with one pinned example.`);
      return [example];
    }
    if (feed.kind === 'inputs') return feed.inputs.map((i) => (i.kind === 'example' ? example : i.values));
    const plans = new Map(feed.program.networks.map((n) => [n.id, n.plan]));
    const tensors = procedureInputs(tf, feed.program, feed.feed, {
      example,
      label,
      timestep: feed.timestep,
      seed,
      modelOf: (network) => {
        const plan = plans.get(network);
        if (!plan) throw new Error(`The program has no network "${network}".`);
        return this.modelFor(network, plan, seed, heldOf?.(network) ?? { model: undefined, planJson: undefined }).model;
      },
      // A target's moving-average copy answers only for the plan its run trains (an edited network has none).
      averageOf: (network) => {
        const held = heldOf?.(network);
        const plan = plans.get(network);
        return held?.average && plan && held.planJson === JSON.stringify(plan) ? held.average : undefined;
      },
      noAverage: (network) => noAverage?.add(network),
    });
    try {
      const data = await Promise.all(tensors.map((t) => t.data()));
      return data.map((d) => Float32Array.from(d));
    } finally {
      tf.dispose(tensors);
    }
  }

  private dropCache(): void {
    for (const entry of this.cache.values()) entry.model.dispose();
    this.cache.clear();
  }

  /** The step a run's next refresh follows, chosen before that step so that its gradients are kept (train.ts's gradientTap). */
  private refreshAt: number | undefined;

  /**
   * Asked before each step of a run: whether it ends with a refresh (the schedule says so, or it is
   * the run's last: the histograms end where the run ended), so the step's gradients are wanted.
   */
  refreshDue(step: number, last: boolean, model: tf.LayersModel): boolean {
    const due = this.example !== undefined && model.inputs.length === 1 && (last || this.schedule.due(step, performance.now()));
    this.refreshAt = due ? step : undefined;
    return due;
  }

  /**
   * During a run, after a step refreshDue chose: the previews with the run's current weights, every
   * node's weight histograms, the gradients that step applied (`gradients`, disposed here) and
   * every node's output over the held-out `batch`.
   */
  async live(
    plan: Plan,
    model: tf.LayersModel,
    step: number,
    measure: { batch?: ActivationBatch; gradients?: Map<string, tf.Tensor> } = {},
  ): Promise<{ answer: PreviewAnswer; weights: NodeWeights[]; activations: NodeActivations[]; inside?: OpenedBlock } | null> {
    try {
      if (!this.example || this.refreshAt !== step) return null;
      this.refreshAt = undefined;
      const began = performance.now();
      const layers = model.layers.filter((l) => l.weights.length > 0).length;
      const source = { source: 'run' as const, fromRun: layers, layers };
      // The pin follows the graph on show: another graph opened (or the Input edited) during the run
      // pins an example of another size. previewModel would throw on it and end the run; the
      // previews are left out instead and the histograms still come.
      const fits = model.inputs.length === 1 && this.example.length === model.inputs[0]!.shape.slice(1).reduce((a: number, d) => a * (d ?? 1), 1);
      const [answer, weights, gradients, activations] = await Promise.all([
        fits
          ? previewModel(plan, model, this.example, source, this.inside)
          : Promise.resolve<PreviewAnswer>({ previews: [], skipped: [], weights: source, ms: 0 }),
        weightsByNode(plan, model),
        measure.gradients ? gradientsByNode(plan, model, measure.gradients) : Promise.resolve(new Map<string, NonNullable<NodeWeights['gradients']>>()),
        measure.batch ? activationsByNode(plan, model, measure.batch, this.inside) : Promise.resolve([]),
      ]);
      for (const w of weights) {
        const g = gradients.get(w.nodeId);
        if (g) w.gradients = g;
      }
      this.schedule.done(step, began, performance.now());
      return { answer, weights, activations, ...(this.inside ? { inside: this.inside } : {}) };
    } finally {
      if (measure.gradients) tf.dispose([...measure.gradients.values()]);
    }
  }

  /** The step (counted over the whole program run) a program run's next refresh follows, chosen before it. */
  private programRefreshAt: number | undefined;

  /**
   * Asked before each step of a program run (`step` counted over the run, `last`: its procedure's
   * last step): whether it ends with a refresh, so that its gradients are kept. Only while an
   * example is pinned and the graph on show is one of the run's networks as the run has it.
   */
  programRefreshDue(step: number, last: boolean, networks: ReadonlyMap<string, string>): boolean {
    const shown = this.shown;
    const due = shown !== undefined && networks.get(shown.network) === shown.planJson && (last || this.schedule.due(step, performance.now()));
    this.programRefreshAt = due ? step : undefined;
    return due;
  }

  /**
   * During a program run, after a step programRefreshDue chose: the graph on show's previews with
   * the run's current weights (fed as the page asked: the pinned example, or what its procedure gives
   * the network on it, through the run's other networks), its nodes' weight histograms, the loss's
   * gradients that step (`gradients`, disposed here) and, for a network that takes the example
   * itself, every node's output over the held-out `batch`. Inference mode throughout: the run's
   * weights, optimizer and random streams are untouched.
   */
  async programLive(
    models: ReadonlyMap<string, tf.LayersModel>,
    networks: ReadonlyMap<string, string>,
    step: number,
    measure: { batch?: ActivationBatch; gradients?: Map<string, tf.Tensor> } = {},
    averages?: (network: string) => tf.LayersModel | undefined,
  ): Promise<ProgramLive | null> {
    let began: number | undefined;
    try {
      const shown = this.shown;
      if (!shown || this.programRefreshAt !== step) return null;
      this.programRefreshAt = undefined;
      const model = models.get(shown.network);
      // Edited since the run began: the edit's own previews stand.
      if (!model || networks.get(shown.network) !== shown.planJson) return null;
      began = performance.now();
      // The run's networks answer for the plans the feed has of them (the program as the page has it, the same as the run's unless edited).
      const heldOf = (network: string): HeldModel => {
        const plan = shown.feed?.kind === 'procedure' ? shown.feed.program.networks.find((n) => n.id === network)?.plan : undefined;
        const average = averages?.(network);
        return {
          model: models.get(network),
          planJson: plan && networkKey(plan) === networks.get(network) ? JSON.stringify(plan) : undefined,
          ...(average ? { average } : {}),
        };
      };
      const inputs = await this.inputsOf(model, shown.example, shown.label, shown.seed, shown.feed, heldOf);
      const layers = model.layers.filter((l) => l.weights.length > 0).length;
      // The held-out batch is of the data: it measures a network that takes the example itself, not one a procedure feeds.
      const batch = shown.feed ? undefined : measure.batch;
      const [answer, weights, gradients, activations] = await Promise.all([
        previewModel(shown.plan, model, inputs, { source: 'run', fromRun: layers, layers }, shown.inside),
        weightsByNode(shown.plan, model),
        measure.gradients ? gradientsByNode(shown.plan, model, measure.gradients) : Promise.resolve(new Map<string, NonNullable<NodeWeights['gradients']>>()),
        batch ? activationsByNode(shown.plan, model, batch, shown.inside) : Promise.resolve([]),
      ]);
      for (const w of weights) {
        const g = gradients.get(w.nodeId);
        if (g) w.gradients = g;
      }
      return { network: shown.network, answer, weights, activations, ...(shown.inside ? { inside: shown.inside } : {}) };
    } finally {
      // Counted even when it failed, so that a refresh that keeps failing keeps within the budget too.
      if (began !== undefined) this.schedule.done(step, began, performance.now());
      if (measure.gradients) tf.dispose([...measure.gradients.values()]);
    }
  }
}

/**
 * The hooks a program run (runtime/program/run.ts) calls for live previews of the network on show:
 * a fresh refresh schedule, the gradient tap of the steps that end with a refresh, and after each
 * step the refresh if one is due, handed to `send` with the step counted over the whole run (so the
 * norms over steps go on across procedures). `dispose` frees gradients a failed step kept.
 */
export function programLiveHooks(
  service: PreviewService,
  run: { networks: ReadonlyMap<string, { model: tf.LayersModel; ema?: tf.LayersModel }>; program: PlanProgram },
  ds: Dataset,
  send: (step: number, live: ProgramLive) => void,
) {
  service.schedule = new RefreshSchedule();
  const batch = activationBatchOf(ds);
  const models = new Map([...run.networks].map(([id, state]) => [id, state.model]));
  const networks = new Map(run.program.networks.map((n) => [n.id, networkKey(n.plan)]));
  let stepsBefore = 0;
  let procedureSteps = 0;
  let tapped: Map<string, tf.Tensor> | undefined;
  return {
    onProcedure: () => {
      stepsBefore += procedureSteps;
      procedureSteps = 0;
    },
    gradientTap: {
      wanted: (step: number, last: boolean) => service.programRefreshDue(stepsBefore + step, last, networks),
      take: (grads: Map<string, tf.Tensor>) => {
        if (tapped) tf.dispose([...tapped.values()]);
        tapped = grads;
      },
    },
    afterStep: async (step: number) => {
      procedureSteps = step;
      const gradients = tapped;
      tapped = undefined;
      try {
        // A target's moving-average copy is made at the run's first step: looked up at each refresh.
        const live = await service.programLive(models, networks, stepsBefore + step, { batch, gradients }, (id) => run.networks.get(id)?.ema);
        if (live) send(stepsBefore + step, live);
      } catch {
        // A preview that cannot be made (the graph on show changed under it) must not end the run; the next preview request says why.
      }
    },
    dispose: () => {
      if (tapped) tf.dispose([...tapped.values()]);
      tapped = undefined;
    },
  };
}
