import { useRef } from 'react';
import type { Analysis, NodeResult } from '../compiler/infer';
import { formatCount as formatMacs } from '../compiler/cost';
import { BYTES_PER_PARAM, formatBytes } from '../compiler/memory';
import { formatCount } from './analysis';
import { formatMs, profileBatch, profileBlocked, runProfile, useNodeTiming, useProfile } from './profile';

/**
 * On a node of the canvas: its estimated cost (MACs, activations kept per example) and, once
 * profiled, its measured time. Small and muted; the numbers in full are in the tooltip.
 */
export function NodeCost({ id, result }: { id: string; result: NodeResult | undefined }) {
  const timing = useNodeTiming(id, result);
  const cost = result?.cost;
  // Whether the node showed this line while its result was last known.
  const hadLine = useRef(false);
  if (!result?.outputs) {
    // Unknown while an edit above breaks the graph: a muted dash where the line was, so that the
    // node keeps its layout (and its size: Canvas.tsx's hold).
    if (!hadLine.current) return null;
    return (
      <div className="pb-node-cost" data-testid={`cost-unknown-${id}`} title="Cost unknown until this node has a shape">
        —
      </div>
    );
  }
  hadLine.current = !!cost && (cost.macs > 0 || cost.activations > 0 || !!timing);
  if (!cost || !hadLine.current) return null;
  const bytes = cost.activations * BYTES_PER_PARAM;
  const title = [
    `${formatCount(cost.macs)} multiply–accumulates for one example (convolutions, dense layers and matrix products).`,
    `${formatBytes(bytes)} of activations kept for the backward pass, per example.`,
    cost.unestimated.length ? `Not estimated: ${cost.unestimated.join(', ')}.` : '',
  ]
    .filter(Boolean)
    .join('\n');
  return (
    <div className="pb-node-cost" data-testid={`cost-${id}`}>
      <span title={title}>
        {cost.macs > 0 && <span data-testid={`macs-${id}`}>{formatMacs(cost.macs)} MACs</span>}
        {cost.macs > 0 && bytes > 0 && ' · '}
        {bytes > 0 && <span>{formatBytes(bytes)}</span>}
      </span>
      {timing && (
        <span
          className="pb-node-time"
          data-testid={`time-${id}`}
          title={`Measured: ${formatMs(timing.forwardMs)} forward, ${formatMs(timing.trainMs)} forward + backward (one batch).\nSlowest kernels: ${timing.kernels
            .slice(0, 3)
            .map((k) => `${k.name} ${formatMs(k.ms)}`)
            .join(', ')}`}
        >
          {formatMs(timing.forwardMs)} / {formatMs(timing.trainMs)}
        </span>
      )}
    </div>
  );
}

/** Above the summary: the Profile button, what it does, and what the last profile measured. */
export function ProfileBar({ analysis, isProgram }: { analysis: Analysis; isProgram: boolean }) {
  const { status, result, message, profiled, progress } = useProfile();
  const blocked = profileBlocked(analysis, isProgram);
  const { batchSize, trainingBatch } = profileBatch(analysis);
  const stale = result && [...analysis.main.nodes].some(([id, r]) => profiled?.get(id) !== r);
  return (
    <div className="pb-profile" data-testid="profile-bar">
      <div className="pb-profile-row">
        <button
          type="button"
          className="pb-button"
          data-testid="profile-run"
          disabled={!!blocked || status === 'running'}
          title={blocked ?? undefined}
          onClick={() => void runProfile(analysis)}
        >
          {status === 'running' ? `Profiling… ${Math.round((progress ?? 0) * 100)}%` : 'Profile'}
        </button>
        <span className="pb-muted pb-small-text">
          {blocked ??
            `Times each node on a made-up batch of ${batchSize}${batchSize < trainingBatch ? ` (the training batch of ${trainingBatch} would not fit)` : ''}: forward, and forward + backward, in the training worker.`}
        </span>
      </div>
      {status === 'error' && message && (
        <p className="pb-error-text pb-small-text" role="alert">
          {message}
        </p>
      )}
      {result && (
        <p className="pb-small-text" data-testid="profile-result">
          Measured on {result.backend}, batch of {result.batchSize}, median of {result.passes} pass{result.passes === 1 ? '' : 'es'}: the whole model takes{' '}
          {formatMs(result.modelForwardMs)} forward and {formatMs(result.modelTrainMs)} forward + backward.
          {' Each node is timed on its own'}
          {result.timing === 'wall' ? ' (wall time: this backend does not time its kernels)' : " (the backend's kernel time)"}
          {', so their sum differs from the whole model’s time.'}
          {stale ? ' The graph changed since: edited nodes show no time until you profile again.' : ''}
        </p>
      )}
    </div>
  );
}

/** A summary row's measured time, when profiled: forward, and below it forward + backward. */
export function TimingCells({ nodeId, result }: { nodeId: string; result: NodeResult | undefined }) {
  const timing = useNodeTiming(nodeId, result);
  if (!timing) return <td className="pb-num pb-mono">–</td>;
  return (
    <td className="pb-num pb-mono" data-testid={`summary-time-${nodeId}`} title="Forward; forward + backward">
      {formatMs(timing.forwardMs)}
      <br />
      <span className="pb-muted">{formatMs(timing.trainMs)}</span>
    </td>
  );
}

export const useHasProfile = () => useProfile((s) => !!s.result);
