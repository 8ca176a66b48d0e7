/**
 * The preview refresh: keeps the previews slice (previews.ts) up to date. After an edit (debounced),
 * a new pin, a run's end or a past run tried, it asks the worker for the previews of the current
 * plan; while a run trains, the worker sends refreshes itself ('preview-live', within a small share
 * of the run's time). Loaded after the first paint (previews.ts's startPreviews): with the worker's
 * client and the data it pins examples from, it is more than the first paint needs.
 */
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
import { madeUpExample, pinText, sampleOf } from './sample';
import { loadDrawing } from './NodePreview';
import { previewKey, previewTargetOf, timestepOf, type PreviewTarget, type PreviewTargetResult } from './target';
import { historyKey, liveViewOf, PREVIEW_DEBOUNCE_MS, usePreviews, type PreviewState } from './previews';

/** Norms kept per node for the chart over steps. */
const MAX_HISTORY = 400;

/** Plain data equal value for value (typed arrays too; NaN equals NaN). */
function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || Array.isArray(a)) {
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    if (!(ArrayBuffer.isView(b) || Array.isArray(b)) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i]) && !sameData(x[i], y[i])) return false;
    return true;
  }
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The previews by node, keeping the object on show where the fresh one is equal to it: its node
 * neither renders nor redraws its canvas again. Fixing an edit that broke a 1,000-node graph brings
 * back 1,000 previews equal to those it dimmed; each was drawn again.
 */
export function keepUnchanged(before: ReadonlyMap<string, NodePreview>, fresh: NodePreview[]): Map<string, NodePreview> {
  return new Map(
    fresh.map((p) => {
      const was = before.get(p.nodeId);
      return [p.nodeId, was && sameData(was, p) ? was : p];
    }),
  );
}

/** The plan a person asked to preview although it is large (previewsOfLargeModel). */
let largeAllowed: Plan | null = null;

/** Runs the previews of a large model once, for the plan as it stands. */
export function previewLargeModelOnce(): void {
  const target = currentTarget();
  largeAllowed = target.kind === 'ready' ? target.plan : null;
  schedule(0);
}

let timer: ReturnType<typeof setTimeout> | undefined;
let inFlight = false;
let again = false;

export function schedule(delay = PREVIEW_DEBOUNCE_MS): void {
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
    const [{ answer, example, label }] = await Promise.all([
      getClient().preview(plan, seed, sample, {
        network: target.network,
        feed: feedOf(target, state.timestep),
        inside: target.inside,
        // Only this graph's runs lend it their weights: another graph's network of the same name is not this one.
        graph: graphKeyOf(useEditor.getState().doc),
      }),
      // The nodes' drawing code (not part of the first paint) is here before their previews, so that each is drawn as it appears.
      loadDrawing(),
    ]);
    const userLabel =
      source.kind === 'user' && pin.kind !== 'drawn'
        ? (source.dataset.test.count > 0 ? source.dataset.test : source.dataset.train).y[pin.kind === 'held-out' ? pin.index : 0]
        : undefined;
    previewedDoc = doc;
    usePreviews.setState({
      status: 'ready',
      message: answer.previews.length === 0 ? 'Nothing to preview.' : null,
      previews: keepUnchanged(state.previews, answer.previews),
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
  const previews = keepUnchanged(s.previews, answer.previews);
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
    // MNIST's full set finishing its download (or failing) changes what the pinned example can be.
    const changed =
      s.dataChoice !== t.dataChoice ||
      s.playground !== t.playground ||
      runStatus !== t.run?.status ||
      s.csv !== t.csv ||
      s.images !== t.images ||
      s.mnistFull?.status !== t.mnistFull?.status;
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
