/**
 * Profile: the measured time of each node (runtime/profile.ts, in the training worker) next to its
 * estimated cost. A store of its own, so that a profile arriving never touches the document slice.
 * A node's time is shown only while its inference result is the very object it was profiled with:
 * the incremental analysis replaces a result when the node's params or its input shapes change, so
 * an edit hides exactly the times it made stale.
 */
import { create } from 'zustand';
import type { Analysis, NodeResult } from '../compiler/infer';
import type { NodeTiming, ProfileResult } from '../runtime/profile';
import { planOf, summaryOf } from './analysis';
import { loadOnce } from './lazy-part';

/** The worker's client comes with the training code, fetched on the first profile (it is not part of the first paint). */
const loadController = loadOnce('the profiler', () => import('./train/controller'));

interface ProfileState {
  status: 'idle' | 'running' | 'done' | 'error';
  result?: ProfileResult;
  /** The results the profile was taken with, by node id. */
  profiled?: ReadonlyMap<string, NodeResult>;
  timings?: ReadonlyMap<string, NodeTiming>;
  message?: string;
  /** While running: the share of layer runs done, 0–1. */
  progress?: number;
}

export const useProfile = create<ProfileState>(() => ({ status: 'idle' }));

/**
 * The batch a profile runs: the training batch, unless its activations would pass this many bytes
 * (a paper-sized preset at 224×224 holds hundreds of MB per example), then as many examples as fit.
 */
const PROFILE_ACTIVATION_LIMIT = 512e6;

export function profileBatch(analysis: Analysis): { batchSize: number; trainingBatch: number } {
  const summary = summaryOf(analysis);
  const trainingBatch = summary.cost.batchSize;
  const fits = summary.activationBytes > 0 ? Math.floor(PROFILE_ACTIVATION_LIMIT / summary.activationBytes) : trainingBatch;
  return { batchSize: Math.max(1, Math.min(trainingBatch, fits)), trainingBatch };
}

/** Why Profile cannot run on this graph now, or null. */
export function profileBlocked(analysis: Analysis, isProgram: boolean): string | null {
  if (isProgram) return 'Profile times a single network; this document is a training program.';
  if (!planOf(analysis).plan) return 'Fix the errors in the graph first: it must compile to be profiled.';
  return null;
}

export async function runProfile(analysis: Analysis): Promise<void> {
  const { plan } = planOf(analysis);
  if (!plan || useProfile.getState().status === 'running') return;
  // Running from here on, so that a second press while the code downloads starts no second profile.
  useProfile.setState({ status: 'running', message: undefined, progress: 0 });
  let client: ReturnType<(typeof import('./train/controller'))['getClient']>;
  try {
    client = (await loadController()).getClient();
  } catch (err) {
    // A failed download: said where the profile's result goes; pressing Profile again tries again.
    useProfile.setState({ status: 'error', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  if (client.running) {
    useProfile.setState({ status: 'error', message: 'A training run is using the worker: profile when it has finished or stopped.' });
    return;
  }
  const { batchSize } = profileBatch(analysis);
  // A model of many billions of MACs a batch takes long per pass on a CPU backend: one pass then.
  const passes = summaryOf(analysis).macs * batchSize > 2e10 ? 1 : 3;
  const stop = client.on((e) => {
    if (e.type === 'profile-progress') useProfile.setState({ progress: e.done / e.total });
  });
  try {
    const result = await client.profile(plan, batchSize, passes);
    useProfile.setState({
      status: 'done',
      result,
      profiled: new Map(analysis.main.nodes),
      timings: new Map(result.nodes.map((t) => [t.nodeId, t])),
    });
  } catch (err) {
    useProfile.setState({ status: 'error', message: err instanceof Error ? err.message : String(err) });
  } finally {
    stop();
  }
}

/** The node's measured time, while its result is the one profiled. */
export function useNodeTiming(nodeId: string, result: NodeResult | undefined): NodeTiming | undefined {
  return useProfile((s) => (result && s.profiled?.get(nodeId) === result ? s.timings?.get(nodeId) : undefined));
}

/** "0.42 ms", "12.3 ms", "1.25 s". */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;
}
