import type { Plan } from '../../compiler/plan';
import type { PlanProgram } from '../../compiler/program';
import type { EvaluationProgress, ProgramResult, ProgramStepReport } from '../program/run';
import type { FlowView } from '../program/flow-view';
import type { FlowSamples } from '../program/flow-samples';
import type { ConditionalExamples } from '../program/run';
import type { DiffusionSamples, DiffusionSamplingSettings } from '../program/diffusion-view';
import type { ZeroShotAnswer, ZeroShotRequest } from '../program/zero-shot';
import type { AttentionMapsAnswer, AttentionMapsRequest } from '../attention-maps';
import type { CapsuleViewAnswer, CapsuleViewRequest } from '../program/capsule-view';
import type { GlomIslandsAnswer, GlomIslandsRequest } from '../program/glom-view';
import type { TrainingSetup } from '../../document/schema';
import type { Checkpoint, EpochReport, Evaluation, StepReport, TrainResult } from '../training/train';
import type { Dataset } from '../data/dataset';
import type { SyntheticName } from '../data/synthetic';
import type { ProfileResult } from '../profile';
import type { OpenedBlock, PreviewAnswer } from '../preview';
import type { NodeActivations, NodeWeights } from '../preview-data';
import type { ProcedureFeed } from '../preview-feed';

/** The backends tfjs can run on, fastest-first on real hardware. */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

/** Weights in tfjs's own save format, as `tf.io.withSaveHandler` produces them. */
export interface WeightArtifacts {
  /**
   * null in a model.json written by a PyTorch export's save_tfjs_weights without tfjs-topology.json:
   * such weights load by name into a graph built from its plan (loadArtifactsInto).
   */
  modelTopology: object | null;
  weightSpecs: Array<{ name: string; shape: number[]; dtype: string }>;
  weightData: ArrayBuffer;
}

/**
 * What to train on: MNIST (fetched by the worker), MNIST's own 60,000 / 10,000 split (`mnist-full`,
 * downloaded by the worker when first used), a synthetic set by name (generated in the worker), or a
 * dataset the page loaded (a CSV, an image folder), whose arrays are transferred.
 */
export type TrainData = 'mnist' | 'mnist-full' | { kind: 'synthetic'; name: SyntheticName } | { kind: 'inline'; dataset: Dataset };

/** Where the download of data the worker fetches stands (today only `mnist-full`, whose files are tens of MB). */
export type DataDownload =
  | { status: 'loading'; phase: 'download' | 'parse'; received: number; total: number | null }
  | { status: 'ready'; trainCount: number; testCount: number; total: number | null }
  | { status: 'error'; message: string };

/** What the page asks of the worker. The worker only ever receives a plan, never the document. */
export type ToWorker =
  /** `resume` goes on from a checkpoint; its weights come as `initialWeights`. */
  | {
      type: 'train';
      runId: string;
      plan: Plan;
      setup: TrainingSetup;
      data: TrainData;
      backend: BackendChoice;
      limit?: number;
      initialWeights?: WeightArtifacts;
      resume?: Checkpoint;
      /** The graph trained (the page's graphKeyOf): only its previews use the run's weights. */
      graph?: string;
    }
  /** Runs a training program (several networks, procedures) on the data: its own loop, no checkpoints yet. */
  | {
      type: 'train-program';
      runId: string;
      program: PlanProgram;
      data: TrainData;
      backend: BackendChoice;
      seed: number;
      batchSize: number;
      epochs: number;
      limit?: number;
      /** Networks that start from saved weights (a past run's), by network id. */
      initialWeights?: Record<string, WeightArtifacts>;
      /** Train procedures not to run: those networks come trained. */
      skipProcedures?: string[];
      /** A diffusion program's samples grid: the sampler its refreshes use (DEFAULT_SAMPLING when absent). */
      sampling?: DiffusionSamplingSettings;
      /** An image flow's samples grid: the temperature its refreshes use (1 when absent). */
      flowTemperature?: number;
      /** The graph trained (the page's graphKeyOf): only its previews use the run's networks. */
      graph?: string;
    }
  /** A diffusion program's samples grid with these settings (later refreshes keep them): at the run's next step, or at once when it is paused or over. */
  | { type: 'diffusion-samples'; runId: string; settings: DiffusionSamplingSettings }
  /** An image flow's samples grid at this temperature (later refreshes keep it): at the run's next step, or at once when it is paused or over. */
  | { type: 'flow-samples'; runId: string; temperature: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'predict'; requestId: number; pixels: Float32Array }
  /** Builds the plan and loads saved weights into it, for predictions without training (a past run, imported weights). */
  | { type: 'load'; requestId: number; plan: Plan; weights: WeightArtifacts; graph?: string }
  /** Times each node of a fresh build of the plan on a made-up batch (runtime/profile.ts), on the active backend. */
  | { type: 'profile'; requestId: number; plan: Plan; batchSize: number; passes: number }
  /** tfjs's topology JSON of the plan's model, for the PyTorch export's tfjs-topology.json. */
  | { type: 'topology'; requestId: number; plan: Plan }
  /** The names and shapes of the weights of each plan's model, by key (a program's networks): what imported weights are checked against. */
  | { type: 'weight-specs'; requestId: number; plans: Record<string, Plan> }
  /** Scores the loaded model (see 'load') on the test split of named data; the plan checks that the data fits. */
  | { type: 'evaluate'; requestId: number; plan: Plan; data: Exclude<TrainData, { kind: 'inline' }> }
  /** Zero-shot classification (CLIP) with the last training program's networks: typed prompts, held-out and drawn images. */
  | { type: 'zero-shot'; requestId: number; request: ZeroShotRequest }
  /**
   * The class token's attention over the patches in every attention layer (a ViT): the classifier's model
   * with its run's held-out data (`data` when the model was loaded, not trained, here), or a network of the last program run.
   */
  | { type: 'attention-maps'; requestId: number; request: AttentionMapsRequest; data?: Exclude<TrainData, { kind: 'inline' }> }
  /** Reconstructions and the tweak-a-dimension grid from the last training program's capsule network and decoder (CapsNet). */
  | { type: 'capsule-view'; requestId: number; request: CapsuleViewRequest }
  /** Reconstructions and the similarity of neighbouring columns per level, from the last training program's GLOM networks. */
  | { type: 'glom-islands'; requestId: number; request: GlomIslandsRequest }
  /** Input, output and target for the first held-out images, from the last training program's conditional denoiser (SR3, Palette). */
  | { type: 'conditional-examples'; requestId: number; count: number; steps: number }
  /**
   * Previews every main-graph node's output on the pinned example (runtime/preview.ts): with the worker's
   * model when it was built from this very plan (a run's), else a fresh build seeded by `seed` that keeps
   * the run's weights for the layers an edit left alone. The example stays pinned for the previews a
   * run refreshes as it trains ('preview-live'); `sample: null` unpins it.
   */
  | {
      type: 'preview';
      requestId: number;
      plan: Plan;
      seed: number;
      sample: PreviewSample | null;
      /** The network the plan is (a program's; the main one when absent): its fresh build is cached apart from the others'. */
      network?: string;
      /** What the network's Inputs get when the pinned example alone does not say (several Inputs, a program's other network). */
      feed?: PreviewFeed;
      /** A block node of the plan's main graph and one of its repeats: preview the nodes inside that instance instead. */
      inside?: OpenedBlock;
      /** The graph on show (the page's graphKeyOf): a run's or a load's weights answer only for their own graph, not another's network of the same name. */
      graph?: string;
    }
  | { type: 'probe' }
  /** Downloads named data ahead of a run (the Train tab's `mnist-full` choice), reporting with 'data-download'; a failed download is tried again. */
  | { type: 'load-data'; data: 'mnist-full' };

/**
 * What a network's Inputs get for previews, besides the pinned example alone: the inputs a training
 * procedure gives its Network node on the pinned example (runtime/preview-feed.ts), or one value per
 * Input (the pinned example where it fits, a made-up one of the Input's shape elsewhere).
 */
export type PreviewFeed =
  | { kind: 'procedure'; program: PlanProgram; feed: ProcedureFeed; timestep: number }
  | { kind: 'inputs'; inputs: Array<{ kind: 'example' } | { kind: 'values'; values: Float32Array }> };

/** The pinned example: its values (a drawn digit, a CSV row), or a held-out example of data the worker loads itself. */
export type PreviewSample = { kind: 'values'; values: Float32Array } | { kind: 'held-out'; data: Exclude<TrainData, { kind: 'inline' }>; index: number };

/** What the worker reports. */
export type FromWorker =
  | { type: 'backends'; available: BackendName[]; software: boolean; reason: string }
  | { type: 'backend'; runId: string; name: BackendName; reason: string }
  | { type: 'step'; runId: string; report: StepReport }
  | { type: 'epoch'; runId: string; report: EpochReport }
  /** A point the run can go on from after the page is gone: at epoch ends, every so often, and when a pause begins. */
  | { type: 'checkpoint'; runId: string; checkpoint: Checkpoint; weights: WeightArtifacts }
  | { type: 'done'; runId: string; result: TrainResult; weights: WeightArtifacts | null }
  /** A training program: each step's losses (by loss node), a procedure beginning, and the end with the evaluations' metrics. */
  | { type: 'program-step'; runId: string; report: ProgramStepReport }
  | { type: 'program-procedure'; runId: string; procedure: string; index: number }
  /** An evaluation's progress, after each batch (a big network's score takes minutes). */
  | { type: 'program-evaluating'; runId: string; progress: EvaluationProgress }
  /** `weights`: each network's weights at the end, by network id, when the run completed or was stopped. */
  | { type: 'program-done'; runId: string; result: ProgramResult; weights: Record<string, WeightArtifacts> | null }
  /** A flow on 2-D points: its density, the data and samples, every few steps and before program-done. */
  | { type: 'flow-view'; runId: string; view: FlowView }
  /** A diffusion program's samples grid with frames of the reverse process: during its run, and when asked. */
  | { type: 'diffusion-samples'; runId: string; samples?: DiffusionSamples; error?: string }
  /** An image flow's samples grid (glow): during its run, and when asked. */
  | { type: 'flow-samples'; runId: string; samples?: FlowSamples; error?: string }
  | { type: 'prediction'; requestId: number; probabilities: number[] | null; error?: string }
  | { type: 'zero-shot-result'; requestId: number; answer?: ZeroShotAnswer; error?: string }
  | { type: 'attention-maps-result'; requestId: number; answer?: AttentionMapsAnswer; error?: string }
  | { type: 'capsule-view-result'; requestId: number; answer?: CapsuleViewAnswer; error?: string }
  | { type: 'glom-islands-result'; requestId: number; answer?: GlomIslandsAnswer; error?: string }
  | { type: 'conditional-examples-result'; requestId: number; answer?: ConditionalExamples; error?: string }
  | { type: 'loaded'; requestId: number; error?: string }
  /** `example`: the pinned example's values; `label`: its class, for a held-out one. */
  | { type: 'preview-result'; requestId: number; answer?: PreviewAnswer; example?: Float32Array; label?: number; error?: string }
  /** A run's refresh of the pinned example's previews, every node's weights (with the refresh step's gradients) and its outputs over held-out examples, every few steps within a cost budget. */
  /** `network`: a program run's network on show, whose nodes the refresh is of (the main network when absent); its `step` counts over the whole run. */
  | {
      type: 'preview-live';
      runId: string;
      step: number;
      answer: PreviewAnswer;
      weights: NodeWeights[];
      activations: NodeActivations[];
      inside?: OpenedBlock;
      network?: string;
    }
  | { type: 'topology-result'; requestId: number; topology?: object; error?: string }
  | { type: 'weight-specs-result'; requestId: number; specs?: Record<string, Array<{ name: string; shape: number[] }>>; error?: string }
  | { type: 'evaluated'; requestId: number; result?: Evaluation; error?: string }
  | { type: 'profiled'; requestId: number; result?: ProfileResult; error?: string }
  /** How far a profile has come, in layer runs. */
  | { type: 'profile-progress'; requestId: number; done: number; total: number }
  /** How the download of `mnist-full` goes, whoever asked for the data (a run, a preview, the data picker). */
  | { type: 'data-download'; data: 'mnist-full'; download: DataDownload }
  | { type: 'error'; runId?: string; message: string; nodeId?: string };
