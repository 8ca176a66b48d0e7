/**
 * The previews slice: the pinned example, the preview on it of every node of the graph on show (a
 * network's, or the nodes inside an opened block instance: target.ts), and, during a run,
 * each node's weight and gradient histograms, its output over a held-out batch (dead units among
 * them), and their norms, spread and dead share over steps. A store of its own, like the run slice,
 * so a refresh wakes only the nodes whose preview changed and never touches the document.
 *
 * `startPreviews` keeps it up to date: after an edit (debounced), a new pin, a run's end or a past
 * run tried, it asks the worker for the previews of the current plan; while a run trains, the
 * worker sends refreshes itself ('preview-live', within a small share of the run's time).
 */
import { create } from 'zustand';
import type { Plan } from '../../compiler/plan';
import type { PreviewAnswer } from '../../runtime/preview';
import { isRectified, type NodeActivations, type NodePreview, type NodeWeights } from '../../runtime/preview-data';
import type { OpenedBlock } from '../../runtime/preview';
import type { PreviewFeed } from '../../runtime/worker/protocol';
import { useEditor } from '../store';
import { MAIN_NETWORK, type GraphDocument } from '../../document/schema';
import { onlyPositionsDiffer } from '../layout-only';
import { graphKeyOf } from '../runs-db';
import { useTraining } from '../training';
import { getClient } from '../train/controller';
import { useProgramRun } from '../train/program-live';
import { madeUpExample, pinText, sampleOf, type Pin } from './sample';
import { previewKey, previewTargetOf, timestepOf, type PreviewTarget, type PreviewTargetResult } from './target';

export { LARGE_MACS, LARGE_NODES, LARGE_PARAMS } from './target';

/** Wait this long after the last edit before asking the worker: typing a number is several edits. */
export const PREVIEW_DEBOUNCE_MS = 350;
/** Norms kept per node for the chart over steps. */
const MAX_HISTORY = 400;

export interface NormPoint {
  step: number;
  /** Norm of all the node's trainable weights (none for a node without weights). */
  weights: number | undefined;
  /** Standard deviation of the node's output over the held-out batch. */
  activations: number | undefined;
  /** Share of the node's units that are 0 on every held-out example, for a rectified output (a ReLU's). */
  dead: number | undefined;
  /** Norm of the loss's gradient with respect to the node's weights, as the refresh step applied it. */
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
  /** During and after a run: each node's output over the held-out batch, and the graph on show they are of (previewKey and repeat). */
  activations: ReadonlyMap<string, NodeActivations>;
  activationsView: string;
  /** The graph (runs-db's graphKeyOf) of the run the weights, outputs and norms are from: they show only on its nodes, not on another graph's of the same ids. */
  runGraph: string | null;
  /** The network of that graph the weights are of (a program run refreshes the network on show), and whether the run is a program's. */
  weightsNetwork: string;
  weightsOfProgram: boolean;
  history: ReadonlyMap<string, NormPoint[]>;
  /** Refreshes the live run has sent, and what they took in the worker. */
  refreshes: { count: number; totalMs: number };
  /** How many held-out examples the pin can step through (0: none). */
  sourceCount: number;
  /** Whether a digit can be drawn for this input (a 28×28 or other grey/colour image). */
  drawable: boolean;
  /** The model is too large for previews after every edit: they wait for the pin bar's button. */
  large: boolean;
  /** Which graph on show the previews are of (target.ts's previewKey): a node shows its preview only there. */
  view: string;
  /**
   * The previews on show are of this graph before an edit that broke it (or a refresh that failed):
   * kept, dimmed (.pb-previews-stale), rather than removed, so that no node changes size and the
   * canvas does not measure and rewire every node twice for one typo.
   */
  stale: boolean;
  /**
   * The plan the previews on show were asked for, as JSON (null while an edit waits for its previews):
   * a classifier run's refreshes replace them only when the run trains this very plan.
   */
  planJson: string | null;
  /** The last refresh of a classifier run left the previews alone: the graph on show was edited since the run began. */
  editedSinceRun: boolean;
  /** What goes in besides the pinned example, in words ('' when nothing). */
  note: string;
  /** The pinned diffusion timestep as chosen (null: the middle one), and T when the graph on show takes one. */
  timestep: number | null;
  timesteps: number | null;
  /** The shape a drawn example takes. */
  sampleShape: number[] | null;
  /** Inside an opened block instance: the repeat shown (0-based) and how many it has (1 when none is open). */
  repeat: number;
  repeats: number;
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
  activations: new Map(),
  activationsView: '',
  runGraph: null,
  weightsNetwork: MAIN_NETWORK,
  weightsOfProgram: false,
  history: new Map(),
  refreshes: { count: 0, totalMs: 0 },
  sourceCount: 0,
  drawable: false,
  large: false,
  view: '',
  stale: false,
  planJson: null,
  editedSinceRun: false,
  note: '',
  timestep: null,
  timesteps: null,
  sampleShape: null,
  repeat: 0,
  repeats: 1,
}));

/** The plan a person asked to preview although it is large (previewsOfLargeModel). */
let largeAllowed: Plan | null = null;

/** Runs the previews of a large model once, for the plan as it stands. */
export function previewLargeModelOnce(): void {
  const target = currentTarget();
  largeAllowed = target.kind === 'ready' ? target.plan : null;
  schedule(0);
}

/** The key of the graph on show, as previews are keyed (a procedure tab has none). */
const useViewKey = () => useEditor((s) => (s.tab.kind === 'network' ? previewKey(s.tab.id, s.blockView?.nodeId) : null));

/** Whether the previews in the slice are of the graph on show: a network's, or an opened block instance's. */
export const usePreviewsOnShow = () => {
  const key = useViewKey();
  const enabled = usePreviews((s) => s.enabled);
  const view = usePreviews((s) => s.view);
  return enabled && key !== null && key === view;
};

/** Which repeat of the opened block instance the previews show (0-based). */
export function setRepeat(repeat: number): void {
  usePreviews.setState({ repeat });
  schedule(0);
}

/** The pinned timestep of a denoiser's previews (null: the middle one again). */
export function setTimestep(timestep: number | null): void {
  usePreviews.setState({ timestep });
  schedule(0);
}

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

/** The previews' target for the graph on show (target.ts). */
function currentTarget(): PreviewTargetResult {
  const t = useTraining.getState();
  return previewTargetOf(useEditor.getState(), { dataChoice: t.dataChoice, csv: t.csv?.dataset, images: t.images?.dataset }, usePreviews.getState().repeat);
}

/** The worker's feed for a target: a procedure's with the pinned timestep, or the values of each Input. */
function feedOf(target: PreviewTarget, timestep: number | null): PreviewFeed | undefined {
  const feed = target.feed;
  if (!feed) return undefined;
  if (feed.kind === 'procedure') return { kind: 'procedure', program: feed.program, feed: feed.feed, timestep: timestepOf(timestep, feed.feed.timesteps ?? 1) };
  return {
    kind: 'inputs',
    inputs: feed.inputs.map((i) => (i.kind === 'example' ? i : { kind: 'values' as const, values: madeUpExample(i.shape, i.dtype) })),
  };
}

const cleared = { previews: new Map(), skipped: new Map(), stale: false } as const;
/** The document the previews on show were made of. */
let previewedDoc: GraphDocument | null = null;
/**
 * On an error in the graph on show its previews stay, marked stale; those of another graph, or of
 * another document opened since (its nodes may have the same ids), go. An edit or an undo keeps
 * the previewed document in the editor's history; opening a file starts a new one.
 */
function keptOrCleared(state: PreviewState, key: string) {
  const { doc, past, future } = useEditor.getState();
  const sameDocument = previewedDoc !== null && (doc === previewedDoc || past.includes(previewedDoc) || future.includes(previewedDoc));
  return state.view === key && sameDocument ? { stale: state.previews.size > 0 || state.skipped.size > 0 } : cleared;
}

async function refresh(): Promise<void> {
  if (inFlight) {
    again = true;
    return;
  }
  const state = usePreviews.getState();
  const target = currentTarget();
  const seed = useEditor.getState().doc.training?.seed ?? 0;
  if (!state.enabled) {
    usePreviews.setState({ status: 'idle', ...cleared, message: null });
    // Unpinning stops the refreshes a run would make.
    if (target.kind === 'ready')
      await getClient()
        .preview(target.plan, seed, null)
        .catch(() => undefined);
    return;
  }
  if (target.kind === 'none') {
    // A procedure or an empty canvas has nothing to preview and nothing wrong to say.
    usePreviews.setState({ status: 'idle', message: null, pinLabel: '', note: '', view: '', timesteps: null, ...cleared });
    return;
  }
  if (target.kind === 'problem') {
    usePreviews.setState({
      status: 'error',
      message: target.message,
      pinLabel: '',
      note: '',
      view: target.key,
      timesteps: null,
      ...keptOrCleared(state, target.key),
    });
    return;
  }
  const { plan, source } = target;
  if (target.large && largeAllowed !== plan) {
    usePreviews.setState({
      large: true,
      status: 'idle',
      ...cleared,
      message: null,
      view: target.key,
      note: target.note,
      timesteps: target.timesteps,
      planJson: null,
    });
    // Nothing is on show until the button is pressed: unpin in the worker too, or a run's refreshes would go on with the graph shown before (its example, its opened block).
    inFlight = true;
    try {
      await getClient()
        .preview(plan, seed, null)
        .catch(() => undefined);
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
    return;
  }
  usePreviews.setState({ large: target.large });
  const pin = state.pin.kind === 'held-out' && source.kind === 'made-up' ? ({ kind: 'auto' } as const) : state.pin;
  const sample = sampleOf(pin, source, target.sampleShape, target.sampleDtype);
  if (!sample) {
    usePreviews.setState({ pin: { kind: 'auto' } });
    return refresh();
  }
  const shape = target.sampleShape;
  const drawable = shape.length === 3 && (shape[2] === 1 || shape[2] === 3) && target.sampleDtype === 'float32';
  inFlight = true;
  usePreviews.setState({
    status: 'waiting',
    planJson: JSON.stringify(plan),
    sourceCount: source.kind === 'made-up' ? 0 : source.count,
    drawable,
    sampleShape: shape,
    timesteps: target.timesteps,
    repeats: target.repeats,
  });
  const doc = useEditor.getState().doc;
  try {
    const { answer, example, label } = await getClient().preview(plan, seed, sample, {
      network: target.network,
      feed: feedOf(target, state.timestep),
      inside: target.inside,
      // Only this graph's runs lend it their weights: another graph's network of the same name is not this one.
      graph: graphKeyOf(useEditor.getState().doc),
    });
    const userLabel =
      source.kind === 'user' && pin.kind !== 'drawn'
        ? (source.dataset.test.count > 0 ? source.dataset.test : source.dataset.train).y[pin.kind === 'held-out' ? pin.index : 0]
        : undefined;
    previewedDoc = doc;
    usePreviews.setState({
      status: 'ready',
      message: answer.previews.length === 0 ? 'Nothing to preview.' : null,
      previews: new Map(answer.previews.map((p) => [p.nodeId, p])),
      stale: false,
      skipped: new Map(answer.skipped.map((s) => [s.nodeId, s.reason])),
      weightsSource: answer.weights,
      ms: answer.ms,
      example: example ?? null,
      pinLabel: pinText(pin, source, label ?? userLabel),
      view: target.key,
      // The worker adds what the page cannot know of the feed (a target's moving-average copy not made yet).
      note: [target.note, answer.feedNote].filter((n) => n).join(' · '),
    });
  } catch (err) {
    usePreviews.setState({
      status: 'error',
      message: err instanceof Error ? err.message : String(err),
      view: target.key,
      ...keptOrCleared(usePreviews.getState(), target.key),
    });
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      void refresh();
    }
  }
}

/** Where a run's refresh is of: the graph on show's key (its network's, a program run's other network's), and the repeat of an opened block. */
export const liveViewOf = (inside: OpenedBlock | undefined, network = MAIN_NETWORK) => `${previewKey(network, inside?.node)}#${inside?.repeat ?? 0}`;

/** A node's norms over steps are kept by network: a program run refreshes whichever network is on show, and ids repeat across networks. */
export const historyKey = (network: string, nodeId: string) => (network === MAIN_NETWORK ? nodeId : `${network}/${nodeId}`);

/**
 * A refresh sent by the worker during a run: previews with the run's current weights (inside an
 * opened block, its nodes'), weights by node with the refresh step's gradients, and each node's
 * output over the held-out batch.
 */
export function onLive(
  runId: string,
  step: number,
  answer: PreviewAnswer,
  weights: NodeWeights[],
  activations: NodeActivations[],
  inside: OpenedBlock | undefined,
  network = MAIN_NETWORK,
): void {
  const s = usePreviews.getState();
  if (!s.enabled) return;
  const previews = new Map(answer.previews.map((p) => [p.nodeId, p]));
  // The run's graph (a classifier's run or a program's): another one opened while it trains keeps its own previews, though its nodes have the same ids.
  const run = [useTraining.getState().run, useProgramRun.getState().run].find((r) => r?.id === runId);
  const runGraph = run ? run.graphKey : null;
  const graphOnShow = runGraph !== null && runGraph === graphKeyOf(useEditor.getState().doc);
  // A run previews its own network's nodes (or those of the block opened in it): another graph on show keeps its previews (and gets the weights).
  const ownNetwork = graphOnShow && s.view === previewKey(network, inside?.node) && (inside?.repeat ?? 0) === (inside ? s.repeat : 0);
  // Edited since the run began (or an edit waits for its previews): the edit's own previews stand, as a program run's refreshes leave an edited network alone in the worker.
  const editedSinceRun = ownNetwork && !!run && run === useTraining.getState().run && run.planJson !== s.planJson;
  const ownView = ownNetwork && !editedSinceRun;
  const history = new Map(s.history);
  const byNode = new Map(weights.map((w) => [w.nodeId, w]));
  // The outputs are the main network's nodes' only outside a block: inside one they are the instance's inner nodes.
  const outputs = new Map(inside ? [] : activations.map((a) => [a.nodeId, a]));
  for (const nodeId of new Set([...byNode.keys(), ...outputs.keys()])) {
    const w = byNode.get(nodeId);
    const a = outputs.get(nodeId);
    const key = historyKey(network, nodeId);
    const list = [
      ...(history.get(key) ?? []),
      {
        step,
        weights: w?.all.stats.norm,
        activations: a?.stats.std,
        dead: a && isRectified(a) && a.units > 0 ? a.dead / a.units : undefined,
        gradients: w?.gradients?.stats.norm,
      },
    ];
    history.set(key, list.length > MAX_HISTORY ? list.filter((_, i) => i % 2 === 0 || i === list.length - 1) : list);
  }
  if (ownView) previewedDoc = useEditor.getState().doc;
  usePreviews.setState({
    // The graph on show's own status and time stay when the refresh is not of it.
    ...(ownView
      ? {
          previews,
          skipped: new Map(answer.skipped.map((x) => [x.nodeId, x.reason])),
          weightsSource: answer.weights,
          ms: answer.ms,
          status: 'ready' as const,
          stale: false,
        }
      : {}),
    weights: byNode,
    weightsStep: step,
    activations: new Map(activations.map((a) => [a.nodeId, a])),
    activationsView: liveViewOf(inside, network),
    runGraph,
    editedSinceRun,
    weightsNetwork: network,
    weightsOfProgram: run !== undefined && run === useProgramRun.getState().run,
    history,
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
    if (moved) return;
    // The previews on show are of the plan before the edit until its own come: a run's refreshes wait for them.
    usePreviews.setState({ planJson: null });
    schedule();
  });
  // Another tab, or a block opened or closed: the previews of the graph now on show.
  let view = useEditor.getState();
  useEditor.subscribe((s) => {
    if (s.tab === view.tab && s.blockView === view.blockView) return;
    const changed = s.tab.kind !== view.tab.kind || s.tab.id !== view.tab.id || s.blockView?.nodeId !== view.blockView?.nodeId;
    view = s;
    // A block opened afresh shows its first repeat.
    if (changed) usePreviews.setState({ repeat: 0 });
    if (changed) schedule(0);
  });
  // A new run, classifier or program, starts the norms over steps and the run's histograms afresh.
  const forgetRunRefreshes = () =>
    usePreviews.setState({
      history: new Map(),
      weights: new Map(),
      weightsStep: null,
      activations: new Map(),
      runGraph: null,
      editedSinceRun: false,
      refreshes: { count: 0, totalMs: 0 },
    });
  let t = useTraining.getState();
  useTraining.subscribe((s) => {
    const runStatus = s.run?.status;
    const changed = s.dataChoice !== t.dataChoice || s.playground !== t.playground || runStatus !== t.run?.status || s.csv !== t.csv || s.images !== t.images;
    // A new run starts its norms over.
    if (s.run?.id !== t.run?.id && s.run) forgetRunRefreshes();
    t = s;
    if (changed) schedule(0);
  });
  // A program run's end: its networks' trained weights answer the previews from then on.
  let programStatus = useProgramRun.getState().run?.status;
  let programRun = useProgramRun.getState().run?.id;
  useProgramRun.subscribe((s) => {
    // A new program run starts its norms over too.
    if (s.run && s.run.id !== programRun) forgetRunRefreshes();
    programRun = s.run?.id;
    if (s.run?.status === programStatus) return;
    programStatus = s.run?.status;
    if (programStatus !== 'running' && programStatus !== 'starting') schedule(0);
  });
  getClient().on((event) => {
    if (event.type === 'preview-live') onLive(event.runId, event.step, event.answer, event.weights, event.activations, event.inside, event.network);
    // A crashed worker forgot the pin: pin again.
    if (event.type === 'crashed') schedule(0);
  });
  schedule(0);
}
