/**
 * The previews slice: the pinned example, every main-graph node's preview on it, and, during a run,
 * each node's weight histograms and their norms over steps. A store of its own, like the run slice,
 * so a refresh wakes only the nodes whose preview changed and never touches the document.
 *
 * `startPreviews` keeps it up to date: after an edit (debounced), a new pin, a run's end or a past
 * run tried, it asks the worker for the previews of the current plan; while a run trains, the
 * worker sends refreshes itself ('preview-live', within a small share of the run's time).
 */
import { create } from 'zustand';
import type { Plan } from '../../compiler/plan';
import type { PreviewAnswer } from '../../runtime/preview';
import type { NodePreview, NodeWeights } from '../../runtime/preview-data';
import { useEditor, MAIN_TAB } from '../store';
import { analysisOf, planOf, summaryOf } from '../analysis';
import { onlyPositionsDiffer } from '../layout-only';
import { useTraining } from '../training';
import { getClient } from '../train/controller';
import { pinText, sampleOf, sampleSourceFor, type Pin, type SampleSource } from './sample';

/** Wait this long after the last edit before asking the worker: typing a number is several edits. */
export const PREVIEW_DEBOUNCE_MS = 350;
/**
 * Past these, a model's previews run only when asked (the pin bar's button): building and running
 * ViT-B/16 after every edit would keep the worker busy for seconds each time.
 */
export const LARGE_MACS = 2e9;
export const LARGE_PARAMS = 20e6;
/** Nodes in the main network past which previews also wait to be asked for (a tfjs model of 20,000 layers takes long to build). */
export const LARGE_NODES = 2000;
/** Norms kept per node for the chart over steps. */
const MAX_HISTORY = 400;

export interface NormPoint {
  step: number;
  /** Norm of all the node's trainable weights. */
  weights: number;
  /** Standard deviation of the node's output on the pinned example. */
  activations: number | undefined;
  /** Norm of the loss's gradient with respect to the node's weights (a fixed batch). */
  gradients: number | undefined;
}

export interface PreviewState {
  enabled: boolean;
  pin: Pin;
  /** The pinned example in words, its values and class. */
  pinLabel: string;
  example: Float32Array | null;
  status: 'idle' | 'waiting' | 'ready' | 'error';
  message: string | null;
  previews: ReadonlyMap<string, NodePreview>;
  skipped: ReadonlyMap<string, string>;
  weightsSource: PreviewAnswer['weights'] | null;
  /** Milliseconds the worker took for the last preview (forward and read back). */
  ms: number;
  /** During and after a run: the latest weights per node, the step they are from, and the norms over steps. */
  weights: ReadonlyMap<string, NodeWeights>;
  weightsStep: number | null;
  history: ReadonlyMap<string, NormPoint[]>;
  /** Refreshes the live run has sent, and what they took in the worker. */
  refreshes: { count: number; totalMs: number };
  /** How many held-out examples the pin can step through (0: none). */
  sourceCount: number;
  /** Whether a digit can be drawn for this input (a 28×28 or other grey/colour image). */
  drawable: boolean;
  /** The model is too large for previews after every edit: they wait for the pin bar's button. */
  large: boolean;
}

export const usePreviews = create<PreviewState>()(() => ({
  enabled: true,
  pin: { kind: 'auto' },
  pinLabel: '',
  example: null,
  status: 'idle',
  message: null,
  previews: new Map(),
  skipped: new Map(),
  weightsSource: null,
  ms: 0,
  weights: new Map(),
  weightsStep: null,
  history: new Map(),
  refreshes: { count: 0, totalMs: 0 },
  sourceCount: 0,
  drawable: false,
  large: false,
}));

/** The plan a person asked to preview although it is large (previewsOfLargeModel). */
let largeAllowed: Plan | null = null;

/** Runs the previews of a large model once, for the plan as it stands. */
export function previewLargeModelOnce(): void {
  largeAllowed = currentPlan().plan;
  schedule(0);
}

/** Only the top-level network of the document has previews (a program's other networks and procedures do not yet). */
export const usePreviewsOnShow = () => {
  const tab = useEditor((s) => s.tab);
  const blockView = useEditor((s) => s.blockView);
  const enabled = usePreviews((s) => s.enabled);
  return enabled && tab.kind === MAIN_TAB.kind && tab.id === MAIN_TAB.id && !blockView;
};

export function setPin(pin: Pin): void {
  usePreviews.setState({ pin });
  schedule(0);
}

export function setPreviewsEnabled(enabled: boolean): void {
  usePreviews.setState({ enabled });
  schedule(0);
}

let timer: ReturnType<typeof setTimeout> | undefined;
let inFlight = false;
let again = false;

function schedule(delay = PREVIEW_DEBOUNCE_MS): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    void refresh();
  }, delay);
}

/** The plan of the document's main network, or why there is none. */
function currentPlan(): { plan: Plan | null; seed: number } {
  const doc = useEditor.getState().doc;
  const { plan } = planOf(analysisOf(doc));
  return { plan, seed: doc.training?.seed ?? 0 };
}

function sourceFor(plan: Plan): { source: SampleSource; input: { shape: number[]; dtype: 'float32' | 'int32' } | null } {
  const inputs = plan.main.steps.filter((s) => s.kind === 'input');
  const input = inputs.length === 1 && inputs[0]!.kind === 'input' ? { shape: inputs[0]!.shape, dtype: inputs[0]!.dtype } : null;
  const t = useTraining.getState();
  const source = input ? sampleSourceFor(input.shape, t.dataChoice, { csv: t.csv?.dataset, images: t.images?.dataset }) : ({ kind: 'made-up' } as const);
  return { source, input };
}

async function refresh(): Promise<void> {
  if (inFlight) {
    again = true;
    return;
  }
  const state = usePreviews.getState();
  const { plan, seed } = currentPlan();
  if (!state.enabled) {
    usePreviews.setState({ status: 'idle', previews: new Map(), skipped: new Map(), message: null });
    // Unpinning stops the refreshes a run would make.
    if (plan)
      await getClient()
        .preview(plan, seed, null)
        .catch(() => undefined);
    return;
  }
  if (!plan) {
    // An empty canvas has nothing to preview and nothing wrong to say.
    const empty = useEditor.getState().doc.nodes.length === 0;
    usePreviews.setState({
      status: empty ? 'idle' : 'error',
      message: empty ? null : 'No previews while the graph has errors.',
      pinLabel: '',
      previews: new Map(),
      skipped: new Map(),
    });
    return;
  }
  const analysis = analysisOf(useEditor.getState().doc);
  const large =
    analysis.count.trainable + analysis.count.nonTrainable > LARGE_PARAMS || summaryOf(analysis).macs > LARGE_MACS || plan.main.steps.length > LARGE_NODES;
  if (large && largeAllowed !== plan) {
    usePreviews.setState({ large: true, status: 'idle', previews: new Map(), skipped: new Map(), message: null });
    return;
  }
  usePreviews.setState({ large });
  const { source, input } = sourceFor(plan);
  if (!input) {
    const count = plan.main.steps.filter((s) => s.kind === 'input').length;
    usePreviews.setState({
      status: 'error',
      message: `Previews need a network with one Input; this one has ${count}.`,
      previews: new Map(),
      skipped: new Map(),
    });
    return;
  }
  const pin = state.pin.kind === 'held-out' && source.kind === 'made-up' ? ({ kind: 'auto' } as const) : state.pin;
  const sample = sampleOf(pin, source, input.shape, input.dtype);
  if (!sample) {
    usePreviews.setState({ pin: { kind: 'auto' } });
    return refresh();
  }
  const drawable = input.shape.length === 3 && (input.shape[2] === 1 || input.shape[2] === 3) && input.dtype === 'float32';
  inFlight = true;
  usePreviews.setState({ status: 'waiting', sourceCount: source.kind === 'made-up' ? 0 : source.count, drawable });
  try {
    const { answer, example, label } = await getClient().preview(plan, seed, sample);
    const userLabel =
      source.kind === 'user' && pin.kind !== 'drawn'
        ? (source.dataset.test.count > 0 ? source.dataset.test : source.dataset.train).y[pin.kind === 'held-out' ? pin.index : 0]
        : undefined;
    usePreviews.setState({
      status: 'ready',
      message: answer.previews.length === 0 ? 'Nothing to preview.' : null,
      previews: new Map(answer.previews.map((p) => [p.nodeId, p])),
      skipped: new Map(answer.skipped.map((s) => [s.nodeId, s.reason])),
      weightsSource: answer.weights,
      ms: answer.ms,
      example: example ?? null,
      pinLabel: pinText(pin, source, label ?? userLabel),
    });
  } catch (err) {
    usePreviews.setState({ status: 'error', message: err instanceof Error ? err.message : String(err) });
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      void refresh();
    }
  }
}

/** A refresh sent by the worker during a run: previews with the run's current weights, and weights by node. */
function onLive(step: number, answer: PreviewAnswer, weights: NodeWeights[]): void {
  const s = usePreviews.getState();
  if (!s.enabled) return;
  const previews = new Map(answer.previews.map((p) => [p.nodeId, p]));
  const history = new Map(s.history);
  for (const w of weights) {
    const list = [
      ...(history.get(w.nodeId) ?? []),
      { step, weights: w.all.stats.norm, activations: previews.get(w.nodeId)?.stats.std, gradients: w.gradients?.stats.norm },
    ];
    history.set(w.nodeId, list.length > MAX_HISTORY ? list.filter((_, i) => i % 2 === 0 || i === list.length - 1) : list);
  }
  usePreviews.setState({
    previews,
    skipped: new Map(answer.skipped.map((x) => [x.nodeId, x.reason])),
    weightsSource: answer.weights,
    ms: answer.ms,
    weights: new Map(weights.map((w) => [w.nodeId, w])),
    weightsStep: step,
    history,
    status: 'ready',
    refreshes: { count: s.refreshes.count + 1, totalMs: s.refreshes.totalMs + answer.ms },
  });
}

let started = false;

/** Subscribes once: edits, pins, data choices, runs and tried runs bring fresh previews. */
export function startPreviews(): void {
  if (started) return;
  started = true;
  let doc = useEditor.getState().doc;
  useEditor.subscribe((s) => {
    if (s.doc === doc) return;
    // Moving nodes changes nothing a preview shows: a drag must not rebuild and redraw every preview.
    const moved = onlyPositionsDiffer(doc, s.doc);
    doc = s.doc;
    if (!moved) schedule();
  });
  let t = useTraining.getState();
  useTraining.subscribe((s) => {
    const runStatus = s.run?.status;
    const changed = s.dataChoice !== t.dataChoice || s.playground !== t.playground || runStatus !== t.run?.status || s.csv !== t.csv || s.images !== t.images;
    // A new run starts its norms over.
    if (s.run?.id !== t.run?.id && s.run)
      usePreviews.setState({ history: new Map(), weights: new Map(), weightsStep: null, refreshes: { count: 0, totalMs: 0 } });
    t = s;
    if (changed) schedule(0);
  });
  getClient().on((event) => {
    if (event.type === 'preview-live') onLive(event.step, event.answer, event.weights);
    // A crashed worker forgot the pin: pin again.
    if (event.type === 'crashed') schedule(0);
  });
  schedule(0);
}
