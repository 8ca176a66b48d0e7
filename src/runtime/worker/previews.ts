/**
 * The worker's side of previews on a pinned example: which model answers (the worker's own when it
 * was built from the same plan, else a cached fresh build that keeps the run's weights for the
 * layers an edit left alone), the pinned example, and the refreshes a run makes as it trains.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Plan } from '../../compiler/plan';
import type { Dataset } from '../data/dataset';
import { exampleSize } from '../data/dataset';
import { gradientsByNode, previewBuild, previewModel, RefreshSchedule, weightsByNode, type GradientBatch, type PreviewAnswer } from '../preview';
import type { NodeWeights } from '../preview-data';
import type { PreviewSample, TrainData } from './protocol';
import type { TrainingSetup } from '../../document/schema';

/** Examples in the fixed batch the gradients are measured on: enough to average, and a refresh then costs about half a training step of 32 (bench/preview.bench.ts). */
const GRADIENT_EXAMPLES = 16;

/** The run's first training examples, with their labels and the run's loss: the same batch at every refresh, so the figures compare. */
export function gradientBatchOf(ds: Dataset, setup: Pick<TrainingSetup, 'loss' | 'batchSize'>): GradientBatch | undefined {
  const n = Math.min(GRADIENT_EXAMPLES, setup.batchSize, ds.train.count);
  if (n === 0) return undefined;
  const per = exampleSize(ds);
  return {
    x: Float32Array.from(ds.train.x.subarray(0, n * per)),
    labels: Int32Array.from(ds.train.y.subarray(0, n)),
    inputShape: ds.inputShape,
    classes: ds.classNames.length,
    loss: setup.loss,
  };
}

/** The worker's model and the plan it was built from (as JSON, to compare with a request's). */
export interface HeldModel {
  model: tf.LayersModel | undefined;
  planJson: string | undefined;
}

export class PreviewService {
  /** The pinned example's values, kept for the refreshes during a run; none when unpinned. */
  private example: Float32Array | undefined;
  /** The last fresh build, for as long as the plan and the worker's model stay the same. */
  private cache:
    { planJson: string; trained: tf.LayersModel | undefined; version: number; model: tf.LayersModel; weights: PreviewAnswer['weights'] } | undefined;
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

  /** Answers a preview request; a null sample unpins the example and answers with no previews. */
  async answer(
    plan: Plan,
    seed: number,
    sample: PreviewSample | null,
    held: HeldModel,
  ): Promise<{ answer: PreviewAnswer; example?: Float32Array; label?: number }> {
    if (!sample) {
      this.example = undefined;
      this.dropCache();
      return { answer: { previews: [], skipped: [], weights: { source: 'fresh', fromRun: 0, layers: 0 }, ms: 0 } };
    }
    const { example, label } = await this.resolve(sample);
    this.example = example;
    const planJson = JSON.stringify(plan);
    let answer: PreviewAnswer;
    if (held.model && held.planJson === planJson) {
      const layers = held.model.layers.filter((l) => l.weights.length > 0).length;
      answer = await previewModel(plan, held.model, example, { source: 'run', fromRun: layers, layers });
    } else {
      if (!this.cache || this.cache.planJson !== planJson || this.cache.trained !== held.model || this.cache.version !== this.version) {
        this.dropCache();
        const built = previewBuild(plan, seed, held.model);
        this.cache = { planJson, trained: held.model, version: this.version, ...built };
      }
      answer = await previewModel(plan, this.cache.model, example, this.cache.weights);
    }
    return { answer, example: Float32Array.from(example), label };
  }

  private dropCache(): void {
    this.cache?.model.dispose();
    this.cache = undefined;
  }

  /**
   * During a run, after a step: when the schedule says so (or at the run's last step) and an example is pinned, the previews
   * with the run's current weights and every node's weight histograms.
   */
  async live(
    plan: Plan,
    model: tf.LayersModel,
    step: number,
    last = false,
    batch?: GradientBatch,
  ): Promise<{ answer: PreviewAnswer; weights: NodeWeights[] } | null> {
    // The last step always refreshes: the histograms end where the run ended.
    if (!this.example || !(last || this.schedule.due(step, performance.now()))) return null;
    const began = performance.now();
    const layers = model.layers.filter((l) => l.weights.length > 0).length;
    const [answer, weights, gradients] = await Promise.all([
      previewModel(plan, model, this.example, { source: 'run', fromRun: layers, layers }),
      weightsByNode(plan, model),
      batch ? gradientsByNode(plan, model, batch) : Promise.resolve(new Map<string, NonNullable<NodeWeights['gradients']>>()),
    ]);
    for (const w of weights) {
      const g = gradients.get(w.nodeId);
      if (g) w.gradients = g;
    }
    this.schedule.done(step, began, performance.now());
    return { answer, weights };
  }
}
