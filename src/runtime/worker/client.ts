import { transferablesOf } from '../data/dataset';
import type { Plan } from '../../compiler/plan';
import type { FromWorker, PreviewFeed, PreviewSample, ToWorker, TrainData, WeightArtifacts } from './protocol';
import type { OpenedBlock, PreviewAnswer } from '../preview';
import type { Evaluation } from '../training/train';
import type { ProfileResult } from '../profile';
import type { ZeroShotAnswer, ZeroShotRequest } from '../program/zero-shot';
import type { AttentionMapsAnswer, AttentionMapsRequest } from '../attention-maps';
import type { CapsuleViewAnswer, CapsuleViewRequest } from '../program/capsule-view';
import type { GlomIslandsAnswer, GlomIslandsRequest } from '../program/glom-view';
import type { ConditionalExamples } from '../program/run';

/** Replies the client answers itself (a request's promise); they never reach listeners. */
type Reply = Extract<
  FromWorker,
  {
    type:
      | 'prediction'
      | 'loaded'
      | 'profiled'
      | 'zero-shot-result'
      | 'attention-maps-result'
      | 'capsule-view-result'
      | 'glom-islands-result'
      | 'conditional-examples-result'
      | 'topology-result'
      | 'weight-specs-result'
      | 'preview-result'
      | 'evaluated';
  }
>;

/** Worker messages (other than replies to requests) plus what the watchdog itself reports. */
export type ClientEvent = Exclude<FromWorker, Reply> | { type: 'crashed'; message: string; runId?: string };

/** Messages the page may post; requests with replies go through `predict` and `load`. */
export type Command = Exclude<ToWorker, { requestId: number }>;

export interface ClientOptions {
  createWorker?: () => Worker;
  /** While a run is active, silence longer than this counts as a hang. */
  stallMs?: number;
}

const defaultWorker = () => new Worker(new URL('./training.worker.ts', import.meta.url), { type: 'module', name: 'patchbay-training' });

/**
 * The page's handle on the training worker. A watchdog turns a worker crash (an uncaught error, a
 * failed load, a hang during a run) into a `crashed` event and starts a fresh worker, so the page and
 * the graph never go down with it.
 */
export class TrainingClient {
  private worker: Worker;
  private listeners = new Set<(event: ClientEvent) => void>();
  private activeRun: string | undefined;
  /** A paused run is silent on purpose: the watchdog leaves it alone. */
  private paused = false;
  private lastHeard = Date.now();
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private readonly createWorker: () => Worker;
  private readonly stallMs: number;
  private requestIds = 0;
  /** Requests waiting for the worker's reply, by request id; a crash rejects them all. */
  private pending = new Map<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();

  constructor(options: ClientOptions = {}) {
    this.createWorker = options.createWorker ?? defaultWorker;
    this.stallMs = options.stallMs ?? 180_000;
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const worker = this.createWorker();
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      this.lastHeard = Date.now();
      const message = event.data;
      if (
        message.type === 'prediction' ||
        message.type === 'loaded' ||
        message.type === 'profiled' ||
        message.type === 'zero-shot-result' ||
        message.type === 'attention-maps-result' ||
        message.type === 'capsule-view-result' ||
        message.type === 'glom-islands-result' ||
        message.type === 'conditional-examples-result' ||
        message.type === 'topology-result' ||
        message.type === 'weight-specs-result' ||
        message.type === 'preview-result' ||
        message.type === 'evaluated'
      ) {
        const waiting = this.pending.get(message.requestId);
        this.pending.delete(message.requestId);
        waiting?.resolve(message);
        return;
      }
      if (message.type === 'done' || message.type === 'program-done' || (message.type === 'error' && message.runId === this.activeRun)) {
        this.activeRun = undefined;
        this.paused = false;
      }
      this.emit(message);
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      this.crash(`The training worker crashed: ${event.message || 'unknown error'}. It was restarted; your graph is untouched.`);
    };
    worker.onmessageerror = () => this.crash('The training worker sent a message the page could not read. It was restarted.');
    return worker;
  }

  private crash(message: string): void {
    const runId = this.activeRun;
    this.activeRun = undefined;
    this.paused = false;
    this.worker.terminate();
    this.worker = this.spawn();
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const request of waiting) request.reject(new Error(message));
    this.emit({ type: 'crashed', message, runId });
  }

  private request(message: Extract<ToWorker, { requestId: number }>, transfer: Transferable[] = []): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(message.requestId, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  /** Class probabilities for one input from the worker's current model. */
  async predict(pixels: Float32Array): Promise<number[]> {
    const reply = await this.request({ type: 'predict', requestId: ++this.requestIds, pixels });
    if (reply.type !== 'prediction' || !reply.probabilities) throw new Error((reply.type === 'prediction' && reply.error) || 'No prediction.');
    return reply.probabilities;
  }

  /** Builds the plan in the worker with these weights, for predictions without training (`graph`: the graph they are loaded for). Takes the weights' buffer. */
  async load(plan: Plan, weights: WeightArtifacts, graph?: string): Promise<void> {
    const reply = await this.request({ type: 'load', requestId: ++this.requestIds, plan, weights, ...(graph !== undefined ? { graph } : {}) }, [
      weights.weightData,
    ]);
    if (reply.type === 'loaded' && reply.error) throw new Error(reply.error);
  }

  /** Times each node of the plan on the worker's backend (a fresh build; the current model is untouched). */
  async profile(plan: Plan, batchSize: number, passes = 3): Promise<ProfileResult> {
    const reply = await this.request({ type: 'profile', requestId: ++this.requestIds, plan, batchSize, passes });
    if (reply.type !== 'profiled' || !reply.result) throw new Error((reply.type === 'profiled' && reply.error) || 'The profile did not finish.');
    return reply.result;
  }

  /** tfjs's topology JSON of the plan's model (a fresh build, disposed at once; the current model is untouched). */
  async topology(plan: Plan): Promise<object> {
    const reply = await this.request({ type: 'topology', requestId: ++this.requestIds, plan });
    if (reply.type !== 'topology-result' || !reply.topology) throw new Error((reply.type === 'topology-result' && reply.error) || 'No topology.');
    return reply.topology;
  }

  /** The names and shapes of each plan's weights, by key (fresh builds, disposed at once; the current model is untouched). */
  async weightSpecs(plans: Record<string, Plan>): Promise<Record<string, Array<{ name: string; shape: number[] }>>> {
    const reply = await this.request({ type: 'weight-specs', requestId: ++this.requestIds, plans });
    if (reply.type !== 'weight-specs-result' || !reply.specs) throw new Error((reply.type === 'weight-specs-result' && reply.error) || 'No weight list.');
    return reply.specs;
  }

  /** Scores the model loaded with `load` on the test split of named data (MNIST, a synthetic set). */
  async evaluate(plan: Plan, data: Exclude<TrainData, { kind: 'inline' }>): Promise<Evaluation> {
    const reply = await this.request({ type: 'evaluate', requestId: ++this.requestIds, plan, data });
    if (reply.type !== 'evaluated' || !reply.result) throw new Error((reply.type === 'evaluated' && reply.error) || 'No evaluation.');
    return reply.result;
  }

  /** Zero-shot class probabilities from the last training program's networks (CLIP). */
  async zeroShot(request: ZeroShotRequest): Promise<ZeroShotAnswer> {
    const reply = await this.request({ type: 'zero-shot', requestId: ++this.requestIds, request });
    if (reply.type !== 'zero-shot-result' || !reply.answer) throw new Error((reply.type === 'zero-shot-result' && reply.error) || 'No answer.');
    return reply.answer;
  }

  /** The class token's attention maps of a trained ViT (the classifier's model, or a program network); `data`: held-out images for a loaded model. */
  async attentionMaps(request: AttentionMapsRequest, data?: Exclude<TrainData, { kind: 'inline' }>): Promise<AttentionMapsAnswer> {
    const reply = await this.request({ type: 'attention-maps', requestId: ++this.requestIds, request, ...(data ? { data } : {}) });
    if (reply.type !== 'attention-maps-result' || !reply.answer) throw new Error((reply.type === 'attention-maps-result' && reply.error) || 'No answer.');
    return reply.answer;
  }

  /** Reconstructions and the tweak-a-dimension grid from the last training program's capsule network (CapsNet). */
  async capsuleView(request: CapsuleViewRequest): Promise<CapsuleViewAnswer> {
    const reply = await this.request({ type: 'capsule-view', requestId: ++this.requestIds, request });
    if (reply.type !== 'capsule-view-result' || !reply.answer) throw new Error((reply.type === 'capsule-view-result' && reply.error) || 'No answer.');
    return reply.answer;
  }

  /** Reconstructions and per-level similarity of neighbouring columns from the last training program's GLOM networks. */
  async glomIslands(request: GlomIslandsRequest): Promise<GlomIslandsAnswer> {
    const reply = await this.request({ type: 'glom-islands', requestId: ++this.requestIds, request });
    if (reply.type !== 'glom-islands-result' || !reply.answer) throw new Error((reply.type === 'glom-islands-result' && reply.error) || 'No answer.');
    return reply.answer;
  }

  /** Input, output and target of the first `count` held-out images, sampled by the last training program's conditional denoiser. */
  async conditionalExamples(count: number, steps: number): Promise<ConditionalExamples> {
    const reply = await this.request({ type: 'conditional-examples', requestId: ++this.requestIds, count, steps });
    if (reply.type !== 'conditional-examples-result' || !reply.answer)
      throw new Error((reply.type === 'conditional-examples-result' && reply.error) || 'No answer.');
    return reply.answer;
  }

  /** Every main-graph node's output on the pinned example (null unpins it: a run then refreshes no previews). */
  async preview(
    plan: Plan,
    seed: number,
    sample: PreviewSample | null,
    options: { network?: string; feed?: PreviewFeed; inside?: OpenedBlock; graph?: string } = {},
  ): Promise<{ answer: PreviewAnswer; example?: Float32Array; label?: number }> {
    const reply = await this.request({ type: 'preview', requestId: ++this.requestIds, plan, seed, sample, ...options });
    if (reply.type !== 'preview-result' || !reply.answer) throw new Error((reply.type === 'preview-result' && reply.error) || 'No preview.');
    return { answer: reply.answer, example: reply.example, label: reply.label };
  }

  private emit(event: ClientEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  on(listener: (event: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Posts a message. An inline dataset in a 'train' message is transferred, not copied: its arrays
   * are unusable here afterwards, so send a `cloneDataset` of anything the page keeps.
   */
  send(message: Command, transfer: Transferable[] = []): void {
    if (message.type === 'train' && typeof message.data === 'object' && message.data.kind === 'inline') {
      transfer = [...transfer, ...transferablesOf(message.data.dataset).filter((b) => !transfer.includes(b))];
    }
    if (message.type === 'pause') this.paused = true;
    if (message.type === 'resume' || message.type === 'stop') {
      this.paused = false;
      this.lastHeard = Date.now();
    }
    if (message.type === 'train' || message.type === 'train-program') {
      this.activeRun = message.runId;
      this.paused = false;
      this.lastHeard = Date.now();
      this.watchdog ??= setInterval(() => {
        if (this.activeRun && !this.paused && Date.now() - this.lastHeard > this.stallMs) {
          this.crash(`The training worker stopped answering for ${Math.round(this.stallMs / 1000)} s during a run. It was restarted; your graph is untouched.`);
        }
      }, 5_000);
    }
    this.worker.postMessage(message, transfer);
  }

  get running(): boolean {
    return this.activeRun !== undefined;
  }

  dispose(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.worker.terminate();
    for (const request of this.pending.values()) request.reject(new Error('The training worker was closed.'));
    this.pending.clear();
    this.listeners.clear();
  }
}
