/**
 * What a procedure's nodes add to the generic canvas node: the label of a Network node (its
 * network's), its weights badge (frozen, or the moving average's decay, live while training), the
 * live value of each loss, and the result of each evaluation once it is measured. Live values come
 * from the program run's own small store (train/program-live.ts), so a step redraws these badges
 * only, never the graph.
 */
import type { NetworkInfo } from '../compiler/program';
import type { GraphNode } from '../document/schema';
import { getProgramSpec, NETWORK_NODE_TYPE } from '../nodes/program/specs';
import { useEditor } from './store';
import { graphKeyOf } from './runs-db';
import { metricAt, useProgramLive } from './train/program-live';
import { formatNumber, pct } from './train/format';

export function procedureNodeLabel(
  node: GraphNode,
  networks: ReadonlyMap<string, NetworkInfo>,
): { typeLabel: string; keyParams: string[]; defaults: Record<string, unknown> } {
  if (node.type === NETWORK_NODE_TYPE) {
    const id = String(node.params.network ?? '');
    const net = networks.get(id);
    return { typeLabel: net ? `Network · ${net.label}` : `Missing network ${id}`, keyParams: [], defaults: {} };
  }
  const spec = getProgramSpec(node.type);
  if (!spec) return { typeLabel: `${node.type} (unknown)`, keyParams: [], defaults: {} };
  const parsed = spec.params.safeParse({});
  return { typeLabel: spec.label, keyParams: spec.keyParams, defaults: parsed.success ? (parsed.data as Record<string, unknown>) : {} };
}

/**
 * How many Network nodes of this procedure apply the same network with the same weights: more than
 * one is a repeat with shared weights (GLOM's iterations, SimSiam's two views).
 */
function useSharedCount(procedure: string, node: GraphNode, params: Record<string, unknown>): number {
  return useEditor((s) => {
    const nodes = s.doc.program?.procedures.find((p) => p.id === procedure)?.nodes ?? [];
    const same = (n: GraphNode) =>
      n.type === NETWORK_NODE_TYPE && n.params.network === params.network && (n.params.weights ?? 'online') === (params.weights ?? 'online');
    return same(node) ? nodes.filter(same).length : 0;
  });
}

/** The weights badges of a Network node: shared with other applications, frozen, or a moving average. */
function NetworkBadge({ node, procedure, params }: { node: GraphNode; procedure: string; params: Record<string, unknown> }) {
  const shared = useSharedCount(procedure, node, params);
  const badge = <WeightsBadge node={node} procedure={procedure} params={params} />;
  if (shared < 2) return badge;
  return (
    <>
      <span
        className="pb-node-badge pb-badge-shared"
        data-testid={`shared-${node.id}`}
        title={`This network is applied ${shared} times in this procedure, every time with the same weights: a repeat with shared weights, whose gradients add up`}
      >
        shared weights ×{shared}
      </span>
      {badge}
    </>
  );
}

/** The weights badge of a Network node: nothing for online weights. */
function WeightsBadge({ node, procedure, params }: { node: GraphNode; procedure: string; params: Record<string, unknown> }) {
  const live = useLiveFor(procedure, node.id, 'decays');
  const weights = params.weights ?? 'online';
  if (weights === 'frozen')
    return (
      <span className="pb-node-badge pb-badge-frozen" data-testid={`badge-${node.id}`} title="Applied in inference mode, never updated">
        frozen
      </span>
    );
  if (weights !== 'ema') return null;
  const decay = Number(params.decay ?? 0.99);
  const text = live !== undefined ? `EMA τ ${live.toFixed(4)}` : params.decaySchedule === 'constant' ? `EMA τ ${decay}` : `EMA τ ${decay}→1`;
  return (
    <span
      className="pb-node-badge pb-badge-ema"
      data-testid={`badge-${node.id}`}
      title="A moving-average copy of the network: each step it keeps τ of itself and takes 1 − τ of the online weights"
    >
      {text}
    </span>
  );
}

/** The current run's value for a node of this procedure, when the run belongs to the graph on show. */
function useLiveFor(procedure: string, nodeId: string, what: 'losses' | 'decays'): number | undefined {
  const graphKey = useEditor((s) => graphKeyOf(s.doc));
  return useProgramLive((s) => (s.graphKey === graphKey ? s[what][`${procedure}/${nodeId}`] : undefined));
}

function useMetric(name: string): unknown {
  const graphKey = useEditor((s) => graphKeyOf(s.doc));
  return useProgramLive((s) => (s.graphKey === graphKey && s.metrics ? metricAt(s.metrics, name) : undefined));
}

function LossValue({ nodeId, procedure }: { nodeId: string; procedure: string }) {
  const value = useLiveFor(procedure, nodeId, 'losses');
  if (value === undefined) return null;
  return (
    <div className="pb-node-live" data-testid={`live-${nodeId}`} title="This step's value">
      loss <strong>{formatNumber(value, 4)}</strong>
    </div>
  );
}

function MetricValue({ node, params }: { node: GraphNode; params: Record<string, unknown> }) {
  const name = String(params.metric ?? '');
  const value = useMetric(name);
  const baselineName = typeof params.randomInitMetric === 'string' ? params.randomInitMetric : '';
  const baseline = useMetric(baselineName);
  const reference = useMetric('collapseReference');
  // SR3's and Palette's measures report their trivial answer beside them.
  const other = useMetric(typeof params.baselineMetric === 'string' ? params.baselineMetric : '');
  if (typeof value !== 'number') return null;
  if (node.type === 'MeanSquaredErrorMetric' || node.type === 'MeanImageBaseline')
    return (
      <div className="pb-node-live" data-testid={`live-${node.id}`} title="Mean squared error over the held-out split">
        mse <strong>{formatNumber(value, 4)}</strong>
      </div>
    );
  if (node.type === 'SuperResolutionScore' || node.type === 'InpaintingScore' || node.type === 'ColourisationScore') {
    const psnr = node.type === 'SuperResolutionScore';
    const colour = node.type === 'ColourisationScore';
    const show = (v: number) => (psnr ? `${formatNumber(v, 2)} dB` : formatNumber(v, 4));
    return (
      <div
        className="pb-node-live"
        data-testid={`live-${node.id}`}
        title={
          psnr
            ? 'Mean PSNR of the samples on held-out digits'
            : colour
              ? 'Squared error of the sampled colours over the whole image'
              : 'Squared error of the samples in the masked square'
        }
      >
        {psnr ? 'psnr' : 'mse'} <strong>{show(value)}</strong>
        {typeof other === 'number' ? (
          <span className="pb-muted">
            {' '}
            · {psnr ? 'bicubic' : colour ? 'usual colour' : 'mean fill'} {show(other)}
          </span>
        ) : null}
      </div>
    );
  }
  if (node.type === 'CollapseMonitor') {
    return (
      <div
        className="pb-node-live"
        data-testid={`live-${node.id}`}
        title="Standard deviation of the normalised embedding; 1/√d is what a healthy one is near, 0 is collapse"
      >
        std <strong>{formatNumber(value, 3)}</strong>
        {typeof reference === 'number' ? <> · 1/√d {formatNumber(reference, 3)}</> : null}
      </div>
    );
  }
  return (
    <div className="pb-node-live" data-testid={`live-${node.id}`}>
      <strong>{pct(value, 1)}</strong>
      {baselineName && typeof baseline === 'number' ? <span className="pb-muted"> · untrained {pct(baseline, 1)}</span> : null}
    </div>
  );
}

export function ProcedureNodeExtras({
  node,
  procedure,
  params,
}: {
  node: GraphNode;
  procedure: string;
  params: Record<string, unknown>;
  networks: ReadonlyMap<string, NetworkInfo>;
}) {
  if (node.type === NETWORK_NODE_TYPE) return <NetworkBadge node={node} procedure={procedure} params={params} />;
  const kind = getProgramSpec(node.type)?.kind;
  if (kind === 'loss') return <LossValue nodeId={node.id} procedure={procedure} />;
  if (kind === 'metric') return <MetricValue node={node} params={params} />;
  return null;
}
