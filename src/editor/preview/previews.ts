/**
 * The previews slice: the pinned example, the preview on it of every node of the graph on show (a
 * network's, or the nodes inside an opened block instance: target.ts), and, during a run,
 * each node's weight and gradient histograms, its output over a held-out batch (dead units among
 * them), and their norms, spread and dead share over steps. A store of its own, like the run slice,
 * so a refresh wakes only the nodes whose preview changed and never touches the document.
 *
 * `startPreviews` keeps it up to date (preview-refresh.ts): after an edit (debounced), a new pin, a
 * run's end or a past run tried, it asks the worker for the previews of the current plan; while a
 * run trains, the worker sends refreshes itself ('preview-live', within a small share of the run's
 * time). The refresh's code (with the worker's client and the data it pins examples from) loads
 * after the first paint: this module is only what the pin bar and the nodes read, so that it stays
 * out of the initial JavaScript (test/initial-bundle.test.ts).
 */
import { create } from 'zustand';
import type { NodeActivations, NodePreview, NodeWeights } from '../../runtime/preview-data';
import type { OpenedBlock } from '../../runtime/preview';
import type { PreviewAnswer } from '../../runtime/preview';
import { useEditor } from '../store';
import { MAIN_NETWORK } from '../../document/schema';
import { loadOnce } from '../lazy-part';
import { previewKey, type Pin } from './keys';

/** Wait this long after the last edit before asking the worker: typing a number is several edits. */
export const PREVIEW_DEBOUNCE_MS = 350;

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
  /** The refresh's code could not be downloaded: why, in words (the pin bar offers to try again). */
  unavailable: string | null;
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
  unavailable: null,
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

/** The refresh (preview-refresh.ts), fetched once; a failed download is forgotten, so that trying again fetches it again. */
const loadRefresh = loadOnce('the previews', () => import('./preview-refresh'));

/** The refresh, once downloaded; a failed download is said in the pin bar, with Try again. */
function withRefresh(then: (refresh: typeof import('./preview-refresh')) => void): void {
  loadRefresh().then(
    (refresh) => {
      if (usePreviews.getState().unavailable !== null) usePreviews.setState({ unavailable: null });
      then(refresh);
    },
    (err: unknown) => usePreviews.setState({ unavailable: err instanceof Error ? err.message : String(err) }),
  );
}

/** Subscribes once (preview-refresh.ts): edits, pins, data choices, runs and tried runs bring fresh previews. Also the pin bar's Try again. */
export function startPreviews(): void {
  withRefresh((refresh) => refresh.startPreviews());
}

/** Asks for fresh previews after `delay` ms (the refresh's debounce when none is given). */
function schedule(delay?: number): void {
  withRefresh((refresh) => refresh.schedule(delay));
}

/** Runs the previews of a large model once, for the plan as it stands. */
export function previewLargeModelOnce(): void {
  withRefresh((refresh) => refresh.previewLargeModelOnce());
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

/** Where a run's refresh is of: the graph on show's key (its network's, a program run's other network's), and the repeat of an opened block. */
export const liveViewOf = (inside: OpenedBlock | undefined, network = MAIN_NETWORK) => `${previewKey(network, inside?.node)}#${inside?.repeat ?? 0}`;

/** A node's norms over steps are kept by network: a program run refreshes whichever network is on show, and ids repeat across networks. */
export const historyKey = (network: string, nodeId: string) => (network === MAIN_NETWORK ? nodeId : `${network}/${nodeId}`);
