import { createContext, memo, useCallback, useContext, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import {
  Background,
  ControlButton,
  Controls,
  Handle,
  MiniMap,
  Panel,
  Position,
  ReactFlow,
  useReactFlow,
  useStore,
  useStoreApi,
  type Connection as RFConnection,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import { scopedOf, useEditor } from './store';
import { compactCount, formatCount } from './analysis';
import { NodeCost } from './Profile';
import { procedurePortsOf, viewResultsOf } from './program-view';
import { ProcedureNodeExtras, procedureNodeLabel } from './ProcedureNode';
import type { NetworkInfo } from '../compiler/program';
import { canInsert, connect, connectionProblem, setPositions } from './graph-ops';
import { QuickAddMenu, type QuickAddRequest } from './QuickAdd';
import { edgeIdAt, insertDropped, setFarWirePicker } from './wire-drop';
import { FarWires } from './FarWires';
import { wireNear, type WireCurve } from './far-wires-geometry';
import { hasUnplaced, layoutUnplaced } from './layout';
import { portsOf, type NodePorts } from '../compiler/graph';
import {
  DETAIL_ZOOM,
  FAR_BOXES_FROM,
  fitOptionsFor,
  graphBounds,
  SVG_MINIMAP_UP_TO,
  nodeSizeProps,
  RENDER_VISIBLE_ONLY_ABOVE,
  useCountForRendering,
  useCulling,
  useFitView,
} from './huge-graphs';
import type { NodeResult } from '../compiler/infer';
import type { Diagnostic } from '../document/diagnostics';
import type { BlockDef, GraphBody, GraphEdge, GraphNode } from '../document/schema';
import { isParamRef } from '../document/schema';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import { formatShape } from '../nodes/shape';
import type { Shape } from '../nodes/spec';
import { NodeBoundary } from './ErrorBoundary';
import { CanvasMiniMap, type MiniMapColours } from './CanvasMiniMap';
import { sameNodeBesidesPosition } from './layout-only';
import { NodePreview } from './preview/NodePreview';
import { PinBar } from './preview/PinBar';
import { startPreviews, usePreviews } from './preview/previews';
import './far-nodes.css';

/**
 * What one node component shows: its document node, its inference result and its diagnostics. No
 * callbacks. Each RF node object is rebuilt only when one of these changes (the incremental analysis
 * keeps results of untouched nodes identical), so an edit re-renders the nodes it affects, not all.
 */
type NodeView = {
  node: GraphNode;
  result: NodeResult | undefined;
  diagnostics: Diagnostic[];
  blocks: ReadonlyMap<string, BlockDef>;
  /** In a procedure: the document's networks (Network nodes take their ports, label and count from them) and the procedure's id. */
  procedure?: { id: string; networks: ReadonlyMap<string, NetworkInfo> };
  /**
   * While the node's result is unknown (an edit above broke the graph): its size as last measured,
   * which it keeps. Without it, every later node lost its shape, count and cost lines and shrank, so
   * React Flow measured 1,000 nodes again and moved every wire (bench/canvas.bench.ts), and the
   * canvas jumped under the pointer of someone typing a bad value; fixing it made them all grow back.
   */
  hold?: { width: number; height: number };
};

/** What React Flow's node object carries: the key of the node's view in nodeViews, the same object for the node's life. */
type NodeHandle = { key: string };
type PatchNodeType = Node<NodeHandle, 'patch'>;

/**
 * Each node's NodeView by `${viewKey}/${id}`, outside React Flow's node objects. An edit that
 * changes what 1,000 nodes show (their shapes, error marks) then gives React Flow the same node
 * objects, and only the node components render again: a new object per node made React Flow adopt
 * 1,000 nodes again and render each node's wrapper, with its store subscriptions and hooks
 * (bench/canvas.bench.ts). A node component reads its own view (useNodeView); Canvas publishes the
 * views that changed in a layout effect, so they render in the same frame.
 */
const nodeViews = new Map<string, NodeView>();
const nodeViewListeners = new Map<string, Set<() => void>>();
function subscribeNodeView(key: string, listener: () => void): () => void {
  let set = nodeViewListeners.get(key);
  if (!set) nodeViewListeners.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (!set.size && nodeViewListeners.get(key) === set) nodeViewListeners.delete(key);
  };
}
function useNodeView(key: string): NodeView | undefined {
  const subscribe = useCallback((listener: () => void) => subscribeNodeView(key, listener), [key]);
  const get = useCallback(() => nodeViews.get(key), [key]);
  return useSyncExternalStore(subscribe, get);
}

const NO_DIAGNOSTICS: Diagnostic[] = [];
const NO_EDGES: Edge[] = [];

function valueText(v: unknown): string {
  if (isParamRef(v)) return `@${v.$param}`;
  if (Array.isArray(v)) return `[${v.map(valueText).join(', ')}]`;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (v === undefined) return '—';
  return String(v);
}

function describeNode(
  node: GraphNode,
  blocks: ReadonlyMap<string, BlockDef>,
  procedure?: NodeView['procedure'],
): { typeLabel: string; keyParams: string[]; defaults: Record<string, unknown> } {
  if (procedure) return procedureNodeLabel(node, procedure.networks);
  if (node.type === BLOCK_NODE_TYPE) {
    const def = node.block ? blocks.get(node.block) : undefined;
    const defaults: Record<string, unknown> = {};
    for (const p of def?.params ?? []) if (p.default !== undefined) defaults[p.name] = p.default;
    return { typeLabel: def?.label ?? `Missing block ${node.block ?? ''}`, keyParams: def?.keyParams ?? [], defaults };
  }
  const spec = getSpec(node.type);
  if (!spec) return { typeLabel: `${node.type} (unknown)`, keyParams: [], defaults: {} };
  return { typeLabel: spec.label, keyParams: spec.keyParams, defaults: specDefaults(spec) };
}

const defaultsBySpec = new WeakMap<object, Readonly<Record<string, unknown>>>();
/** A layer type's default params, parsed once: parsing them on every render of every node was a thousand schema parses for an edit that re-renders 1,000 nodes. */
function specDefaults(spec: NonNullable<ReturnType<typeof getSpec>>): Readonly<Record<string, unknown>> {
  let defaults = defaultsBySpec.get(spec);
  if (!defaults) {
    const parsed = spec.params.safeParse({});
    defaults = parsed.success ? { ...(parsed.data as Record<string, unknown>) } : {};
    defaultsBySpec.set(spec, defaults);
  }
  return defaults;
}

function handleStyle(i: number, n: number) {
  return { left: `${((i + 1) / (n + 1)) * 100}%` };
}

/** Same port names and kinds: the handles need not render again (portsOf builds a new object on every call). */
const samePorts = (a: NodePorts, b: NodePorts) => {
  const same = (x: NodePorts['inputs'], y: NodePorts['inputs']) =>
    x.length === y.length && x.every((p, i) => p.name === y[i]!.name && p.variadic === y[i]!.variadic);
  return same(a.inputs, b.inputs) && same(a.outputs, b.outputs);
};

/**
 * A node's handles render again only when its ports change. An edit that changes the shapes of
 * every later node re-renders all their bodies; each handle is a React Flow component with its own
 * store subscription, and rendering 2,000 of them again was a fifth of that render (bench/canvas.bench.ts).
 */
const PortHandles = memo(
  function PortHandles({ ports }: { ports: NodePorts }) {
    // With one port per side the name adds nothing and would collide with the edge's shape label.
    const named = (list: { name: string }[]) => list.length > 1;
    return (
      <>
        {ports.inputs.map((p, i) => (
          <Handle
            key={`in-${p.name}`}
            id={p.name}
            type="target"
            position={Position.Top}
            style={handleStyle(i, ports.inputs.length)}
            className={p.variadic ? 'pb-handle pb-handle-variadic' : 'pb-handle'}
            title={p.variadic ? `${p.name}: accepts several inputs` : `Input ${p.name}`}
          >
            {named(ports.inputs) && <span className="pb-port-label pb-port-in">{p.name}</span>}
          </Handle>
        ))}
        {ports.outputs.map((p, i) => (
          <Handle
            key={`out-${p.name}`}
            id={p.name}
            type="source"
            position={Position.Bottom}
            style={handleStyle(i, ports.outputs.length)}
            className="pb-handle"
            title={`Output ${p.name}`}
          >
            {named(ports.outputs) && <span className="pb-port-label pb-port-out">{p.name}</span>}
          </Handle>
        ))}
      </>
    );
  },
  (a, b) => samePorts(a.ports, b.ports),
);

/** The preview reads its own store by node id, and the cost line changes only with the node's result: neither renders again with the node's body. */
const NodePreviewOnce = memo(NodePreview);
const NodeCostOnce = memo(NodeCost);

type Size = { width: number; height: number };

/**
 * Each mounted node body's size as laid out, to the 64th of a pixel (its border box, from a
 * ResizeObserver). React Flow measures whole pixels (offsetWidth): a hold of 206 px on a node laid
 * out at 205.59 px grew it by 0.41 px, and React Flow's own ResizeObserver reported that for 993 of
 * the 1,000 bench nodes on the edit that broke them and again on the fix, each time measuring every
 * node and its handles again and rendering every node a second time before the frame was painted.
 */
const bodyElements = new Map<string, Element>();
const bodySizes = new WeakMap<Element, Size>();
let bodySizeWatch: ResizeObserver | undefined;
/**
 * The observer of node body sizes, made before React Flow makes its own (Canvas calls this as it
 * renders, before React Flow's node renderer first renders). Observers report in the order they
 * were made, so a node's laid-out size is known when React Flow's report renders the node again:
 * a node that mounted zoomed far out then becomes a box (FarView) in that render. Made after React
 * Flow's, the size came a report late and such nodes stayed whole until their next edit, which then
 * replaced 800 whole nodes by boxes at once.
 */
function bodySizeObserver(): ResizeObserver | undefined {
  if (typeof ResizeObserver === 'undefined') return undefined;
  bodySizeWatch ??= new ResizeObserver((entries) => {
    for (const e of entries) {
      const box = e.borderBoxSize[0];
      if (box) bodySizes.set(e.target, { width: box.inlineSize, height: box.blockSize });
    }
  });
  return bodySizeWatch;
}
function watchBodySize(id: string, el: HTMLDivElement): () => void {
  const watch = bodySizeObserver()!;
  bodyElements.set(id, el);
  watch.observe(el);
  return () => {
    watch.unobserve(el);
    if (bodyElements.get(id) === el) bodyElements.delete(id);
  };
}

/** The node's laid-out size, where it is the one React Flow measured for it (whole pixels) and not another graph's node of the same id. */
function laidOutSize(id: string, measured: Size | undefined): Size | undefined {
  const el = bodyElements.get(id);
  const size = el && bodySizes.get(el);
  return size && measured && Math.abs(size.width - measured.width) < 1 && Math.abs(size.height - measured.height) < 1 ? size : undefined;
}

/** A node whose result is unknown keeps the size it had (NodeView's hold): the size laid out or measured, or the one it held already. */
function heldSize(id: string, result: NodeResult | undefined, measured: Size | undefined, previous: NodeView | undefined) {
  if (result?.outputs) return undefined;
  const hold = laidOutSize(id, measured) ?? measured ?? previous?.hold;
  return hold ? { hold } : undefined;
}

/**
 * A node zoomed far out (see PatchNodeBody). Only what it shows is compared: an edit that breaks
 * every residual join after it changes the results of 1,000 nodes, and the box of each of them
 * but the broken one stays as it was, so React leaves its DOM alone. Nodes without a shape are not
 * marked: a class on each of them made Chromium recompute the style of 1,000 nodes (20-140 ms,
 * bench/canvas.bench.ts), and their wires are drawn dashed already (FarWires.tsx).
 */
const FarBox = memo(
  function FarBox(p: {
    sizeRef: (el: HTMLDivElement) => () => void;
    id: string;
    className: string;
    width: number;
    height: number;
    title: string;
    invalid: boolean;
    ports: NodePorts;
    name: string;
  }) {
    return (
      <div
        ref={p.sizeRef}
        className={p.className}
        style={{ boxSizing: 'border-box', width: p.width, height: p.height }}
        data-testid={`node-${p.id}`}
        title={p.title}
        aria-invalid={p.invalid || undefined}
      >
        <PortHandles ports={p.ports} />
        <span className="pb-node-far-name">{p.name}</span>
      </div>
    );
  },
  (a, b) =>
    a.sizeRef === b.sizeRef &&
    a.id === b.id &&
    a.className === b.className &&
    a.width === b.width &&
    a.height === b.height &&
    a.title === b.title &&
    a.invalid === b.invalid &&
    a.name === b.name &&
    samePorts(a.ports, b.ports),
);

/**
 * Whether the canvas is zoomed out below DETAIL_ZOOM, where a node's lines (12 px text under 5 px
 * on screen), handles and preview cannot be read. Read by each node body from a context that
 * Canvas sets from one coarse store selector, so that nodes render again only when the zoom
 * crosses the line, not on every zoom step, and no node holds a store subscription of its own.
 */
const FarView = createContext(false);

function PatchNodeBody({ id, selected, view, measured }: { id: string; selected: boolean; view: NodeView; measured: Size | undefined }) {
  const { node, result } = view;
  const far = useContext(FarView);
  const sizeRef = useCallback((el: HTMLDivElement) => watchBodySize(id, el), [id]);
  const { typeLabel, keyParams, defaults } = describeNode(node, view.blocks, view.procedure);
  const ports = (view.procedure ? procedurePortsOf(node, view.procedure.networks) : portsOf(node, view.blocks)) ?? { inputs: [], outputs: [] };
  const diags = view.diagnostics;
  const errors = diags.filter((d) => d.severity === 'error');
  const warnings = diags.filter((d) => d.severity === 'warning');
  const outputs = result?.outputs ? Object.entries(result.outputs) : [];
  const count = result ? result.count.trainable + result.count.nonTrainable : 0;
  // Whether the count showed while the node's result was last known. While it is unknown the count
  // empties rather than goes: an edit that breaks 1,000 nodes then changes a text in each instead
  // of removing an element from each (and adding it back on the fix), which took ~20 ms of DOM work.
  const hadCount = useRef(false);
  if (result?.outputs) hadCount.current = count > 0;
  const shapeText = outputs.length ? outputs.map(([, s]) => formatShape(s)).join(' ') : undefined;
  const shapeLine = shapeText !== undefined ? shapeText : errors.length ? 'no shape' : view.procedure && ports.outputs.length === 0 ? '' : '…';
  const repeat = node.type === BLOCK_NODE_TYPE && (node.repeat ?? 1) > 1 ? ` ×${node.repeat}` : '';
  const problem = errors[0] ?? warnings[0];
  const cls = [
    'pb-node',
    node.type === BLOCK_NODE_TYPE ? 'pb-node-block' : '',
    view.procedure ? 'pb-node-procedure' : '',
    errors.length ? 'pb-node-error' : warnings.length ? 'pb-node-warning' : '',
    result?.bypassed ? 'pb-node-bypassed' : '',
  ]
    .filter(Boolean)
    .join(' ');
  // Zoomed far out, a node whose laid-out size is known is drawn as a box of exactly that size with
  // its name: none of its lines, preview or cost (FarView). Kept to the 64th of a pixel, the box
  // resizes nothing, so React Flow measures no node and moves no wire when the zoom crosses the
  // line. A node never laid out yet (it mounted far out) is drawn whole once, with its lines hidden
  // (styles.css), and becomes a box when React Flow has measured it.
  const farSize = far ? (laidOutSize(id, measured) ?? view.hold) : undefined;
  if (farSize) {
    // On hover, its name, type and problems. Not its shape: every edit upstream would then set the
    // tooltip of every later node again (the inspector shows the shape of the node selected).
    const lines = [`${node.name ?? node.id} · ${typeLabel}${repeat}`];
    if (problem) lines.push('', ...diags.map((d) => d.message));
    return (
      <FarBox
        sizeRef={sizeRef}
        id={id}
        className={`${cls} pb-node-far`}
        width={farSize.width}
        height={farSize.height}
        title={lines.join('\n')}
        invalid={errors.length > 0}
        ports={ports}
        name={node.name ?? node.id}
      />
    );
  }
  // The node's own values show even when inference failed upstream (no parsed params then);
  // block references stay out of it, they are drawn as links below.
  const own = Object.fromEntries(Object.entries(node.params).filter(([, v]) => !isParamRef(v)));
  const values: Record<string, unknown> = { ...defaults, ...own, ...(result?.params ?? {}) };
  return (
    <div
      ref={sizeRef}
      className={cls}
      style={view.hold && { boxSizing: 'border-box', minWidth: view.hold.width, minHeight: view.hold.height }}
      data-testid={`node-${id}`}
      title={problem ? diags.map((d) => `${d.message}\n${d.help}`).join('\n\n') : undefined}
      aria-invalid={errors.length > 0 || undefined}
    >
      <PortHandles ports={ports} />
      <div className="pb-node-head">
        <span className="pb-node-title">{node.name ?? node.id}</span>
        <span className="pb-node-type" title={view.procedure ? typeLabel : undefined}>
          {typeLabel}
          {repeat}
        </span>
      </div>
      {keyParams.length > 0 && (
        <div className="pb-node-params">
          {keyParams.map((k) => {
            const ref = isParamRef(node.params[k]) ? (node.params[k] as { $param: string }).$param : null;
            const v = ref && values[k] === undefined ? node.params[k] : values[k];
            return (
              <span key={k} className="pb-node-param">
                <span className="pb-k">{k}</span>{' '}
                {ref ? (
                  <span className="pb-ref" title={`Set by the block's “${ref}” parameter`}>
                    {valueText(v)}
                  </span>
                ) : (
                  valueText(v)
                )}
              </span>
            );
          })}
        </div>
      )}
      {/* The preview on the pinned example sits beside the shape and cost lines, so the node grows wider, not taller. */}
      <div className="pb-node-body-row">
        <div className="pb-node-body-main">
          <div className="pb-node-foot">
            <span className="pb-node-shape" data-testid={`shape-${id}`}>
              {shapeLine}
            </span>
            {(count > 0 || (hadCount.current && !result?.outputs)) && (
              <span className="pb-node-count" title={count > 0 ? `${formatCount(count)} parameters` : undefined}>
                {count > 0 ? `${compactCount(count)} params` : ''}
              </span>
            )}
          </div>
          {!view.procedure && <NodeCostOnce id={id} result={result} />}
        </div>
        {!view.procedure && <NodePreviewOnce id={id} />}
      </div>
      {view.procedure && <ProcedureNodeExtras node={node} procedure={view.procedure.id} params={values} networks={view.procedure.networks} />}
      {problem && selected && (
        <div className={`pb-node-message ${errors.length ? '' : 'pb-warn'}`} role="status">
          {problem.message}
        </div>
      )}
      {result?.bypassed && <div className="pb-node-note">Off: passes its input through</div>}
    </div>
  );
}

const PatchNode = memo(function PatchNode({ id, selected, data, width, height }: NodeProps<PatchNodeType>) {
  const view = useNodeView(data.key);
  // Gone from the graph, about to be unmounted by React Flow.
  if (!view) return null;
  return (
    <NodeBoundary id={id}>
      <PatchNodeBody id={id} selected={!!selected} view={view} measured={width && height ? { width, height } : undefined} />
    </NodeBoundary>
  );
});

const nodeTypes = { patch: PatchNode };

/** Four corners of a frame, drawn like the other control buttons' icons (filled, 12 px). */
function FitViewIcon() {
  return (
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" aria-hidden="true">
      <path d="M0 0h11v4H4v7H0zM21 0h11v11h-4V4h-7zM28 21h4v11H21v-4h7zM0 21h4v7h7v4H0z" />
    </svg>
  );
}

/** The canvas minimap's colours: the same CSS variables as minimapColor's, read where it is drawn (light or dark). */
function minimapColours(el: Element): MiniMapColours {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return { node: v('--muted', '#667085'), block: v('--block-border', '#b8aef5'), error: v('--error', '#d92d20') };
}

function minimapColor(n: Node): string {
  return n.className?.includes('pb-mm-block') ? 'var(--block-border)' : n.className?.includes('pb-mm-error') ? 'var(--error)' : 'var(--muted)';
}

/** The body on show (a network, a procedure, or a block's definition when one is opened) with its own results and diagnostics. */
function useViewBody() {
  const doc = useEditor((s) => s.doc);
  const tab = useEditor((s) => s.tab);
  const blockView = useEditor((s) => s.blockView);
  const view = viewResultsOf({ doc, tab, blockView });
  const body: GraphBody = scopedOf({ doc, tab, blockView });
  // Caches of rendered nodes and measured sizes are per graph: ids repeat across tabs and blocks.
  const viewKey = `${tab.kind}:${tab.id}/${blockView?.blockId ?? ''}`;
  const procedure = view.procedure && view.networks ? { id: view.procedure.def.id, networks: view.networks } : undefined;
  return { body, results: view.results, diagnostics: view.diagnostics, blockId: blockView?.blockId, viewKey, analysis: view.analysis, procedure };
}

const pointOf = (e: MouseEvent | TouchEvent): { clientX: number; clientY: number } | undefined => ('changedTouches' in e ? e.changedTouches[0] : e);

/**
 * Props given to <ReactFlow> keep their identity from one render to the next: React Flow copies each
 * prop that changed into its store, and every store update re-runs the selector of every node and
 * wire on the canvas (two thousand of them at 1,000 nodes). Inline arrow functions here made each
 * move of a drag four store updates instead of one (bench/canvas.bench.ts).
 */
const beginGesture = () => useEditor.getState().beginGesture();
const endGesture = () => useEditor.getState().endGesture();
const MULTI_SELECTION_KEYS = ['Meta', 'Control', 'Shift'];
const MINIMAP_STYLE = { width: 160, height: 110 };

const FIT = { padding: 0.15, duration: 200, maxZoom: 1.2 };
/** Inside a block the body is a tall column: fitting all of it would shrink the nodes to unreadable. */
const BLOCK_FIT = { ...FIT, minZoom: 0.8 };

export function Canvas() {
  bodySizeObserver();
  const { body, results, diagnostics, blockId, viewKey, analysis, procedure } = useViewBody();
  const renderCount = useCountForRendering(body.nodes.length);
  // One object per procedure and networks, so that node views compare equal while nothing changed.
  const procedureView = useMemo(() => procedure, [procedure?.id, procedure?.networks]); // eslint-disable-line react-hooks/exhaustive-deps
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const dropEdge = useEditor((s) => s.dropEdge);
  const fitN = useEditor((s) => s.fitN);
  const focusRequest = useEditor((s) => s.focusRequest);
  const flow = useReactFlow();
  const rfStore = useStoreApi();
  const fit = useFitView();
  const fitAll = useCallback(() => void fit({ padding: 0.1 }), [fit]);
  // Re-renders only when the zoom crosses the line, not on every zoom step.
  const far = useStore((s) => s.transform[2] < DETAIL_ZOOM);
  // A large graph zoomed far out: its wires are one picture (FarWires.tsx), not React Flow edges.
  const farWires = far && renderCount > RENDER_VISIBLE_ONLY_ABOVE;
  const farCurves = useRef(new Map<string, WireCurve>());
  const wrapper = useRef<HTMLDivElement>(null);
  const [quickAdd, setQuickAdd] = useState<QuickAddRequest | null>(null);
  const [measured, setMeasured] = useState(() => new Map<string, { width: number; height: number }>());
  /**
   * Where the nodes being dragged are now. A drag changes only the canvas until the mouse is let
   * go, then the document once: writing every mouse move into the document re-rendered everything
   * that reads it (inspector, status bar, issue counts) at every move, and held a 1,000-node drag
   * well under 30 fps (bench/canvas.bench.ts).
   */
  const [draggedIn, setDragged] = useState<{ viewKey: string; at: ReadonlyMap<string, { x: number; y: number }> } | null>(null);
  const draggedNow = useRef<ReadonlyMap<string, { x: number; y: number }> | null>(null);
  // A drag belongs to the graph it started on.
  const dragged = draggedIn?.viewKey === viewKey ? draggedIn.at : null;
  const cache = useRef(new Map<string, { view: NodeView; selected: boolean; m: unknown; cls: string; pos: unknown; rf: PatchNodeType }>());
  const edgeCache = useRef(new Map<string, { edge: GraphEdge; shape: Shape | undefined; known: boolean; selected: boolean; dropTarget: boolean; rf: Edge }>());
  const diagnosticsCache = useRef(new Map<string, Diagnostic[]>());
  // Previews on the pinned example follow edits, runs and pins from here on (preview/previews.ts).
  useEffect(startPreviews, []);
  // Stale previews (the graph has errors) are dimmed by one class on the canvas: no node renders again.
  useEffect(() => {
    const mark = (stale: boolean) => wrapper.current?.classList.toggle('pb-previews-stale', stale);
    mark(usePreviews.getState().stale);
    return usePreviews.subscribe((s, before) => {
      if (s.stale !== before.stale) mark(s.stale);
    });
  }, []);

  // A file without positions would open as a pile at the origin: once its nodes are measured, lay
  // out those without a position. Not an undo step of its own: it completes the open it follows.
  const laidOut = useRef<GraphBody | null>(null);
  useEffect(() => {
    if (!hasUnplaced(body) || laidOut.current === body) return;
    const sizes = new Map<string, { width: number; height: number }>();
    for (const n of body.nodes) {
      const m = measured.get(`${viewKey}/${n.id}`);
      if (m) sizes.set(n.id, m);
      // Large graphs mount only what is on screen; the rest take a typical size.
      else if (body.nodes.length <= 300) return;
    }
    laidOut.current = body;
    const before = useEditor.getState();
    void layoutUnplaced(scopedOf(before), sizes).then((laid) => {
      const s = useEditor.getState();
      if (s.doc !== before.doc || s.blockView !== before.blockView || s.tab !== before.tab) return;
      s.editLive(() => laid);
      s.requestFit();
    });
  }, [body, measured, viewKey]);

  const bounds = useMemo(() => graphBounds(body.nodes, (id) => measured.get(`${viewKey}/${id}`)), [body.nodes, measured, viewKey]);
  const culling = useCulling(body.nodes.length, bounds);

  const selNodeSet = useMemo(() => new Set(selectedNodes), [selectedNodes]);
  const selEdgeSet = useMemo(() => new Set(selectedEdges), [selectedEdges]);

  /** Diagnostics per node; a node whose diagnostics did not change keeps the same array. */
  const diagnosticsByNode = useMemo(() => {
    const fresh = new Map<string, Diagnostic[]>();
    for (const d of diagnostics) {
      // On the main graph, those tagged with a block belong to nodes inside block definitions.
      if (!d.nodeId || (!blockId && d.blockId !== undefined)) continue;
      const list = fresh.get(d.nodeId);
      if (list) list.push(d);
      else fresh.set(d.nodeId, [d]);
    }
    const previous = diagnosticsCache.current;
    for (const [id, list] of fresh) {
      const old = previous.get(id);
      if (old && old.length === list.length && old.every((d, i) => d === list[i])) fresh.set(id, old);
    }
    diagnosticsCache.current = fresh;
    return fresh;
  }, [diagnostics, blockId]);

  /**
   * Whether React Flow already holds this size for the node object it was given. It measures nodes
   * itself (a ResizeObserver) and keeps the size while it gets the same object; a new object for a
   * resize only made it adopt and render the node again. An edit that changes the shape line of
   * every later node resizes all of them, and that second round over 1,000 nodes and their wires
   * came right after the first (bench/canvas.bench.ts). Later rebuilds of the object carry the size.
   */
  const measuredAlready = useCallback(
    (rf: PatchNodeType, m: { width: number; height: number } | undefined) => {
      const internal = m && flow.getInternalNode(rf.id);
      return !!internal && internal.internals.userNode === rf && internal.measured.width === m.width && internal.measured.height === m.height;
    },
    [flow],
  );

  /** Views that changed in the last render of rfNodes, for nodes on the canvas (published after the commit). */
  const viewChanges = useRef<{ changed: Map<string, NodeView> }>({ changed: new Map() });
  const rfNodes = useMemo(() => {
    const next = new Map<string, { view: NodeView; selected: boolean; m: unknown; cls: string; pos: unknown; rf: PatchNodeType }>();
    const changed = new Map<string, NodeView>();
    const out = body.nodes.map((n) => {
      const pos = dragged?.get(n.id) ?? n.position;
      const key = `${viewKey}/${n.id}`;
      const selected = selNodeSet.has(n.id);
      const m = measured.get(key);
      const diagnostics = diagnosticsByNode.get(n.id) ?? NO_DIAGNOSTICS;
      const hasError = diagnostics.some((d) => d.severity === 'error');
      const cls = hasError ? 'pb-mm-error' : n.type === BLOCK_NODE_TYPE ? 'pb-mm-block' : '';
      const result = results?.nodes.get(n.id);
      const prev = cache.current.get(key);
      // A node that only moved keeps its view, so that its component need not render its body again.
      const same = prev && prev.view.node.id === n.id && prev.view.result === result && prev.view.diagnostics === diagnostics;
      const view: NodeView =
        same &&
        prev.view.blocks === analysis.blocks &&
        prev.view.procedure === procedureView &&
        (prev.view.node === n || sameNodeBesidesPosition(prev.view.node, n))
          ? prev.view
          : {
              node: n,
              result,
              diagnostics,
              blocks: analysis.blocks,
              ...(procedureView ? { procedure: procedureView } : {}),
              ...(heldSize(n.id, result, m as Size | undefined, prev?.view) ?? {}),
            };
      if (view !== nodeViews.get(key)) {
        // A node not on the canvas yet reads it as it mounts; one on it renders again after the commit.
        if (nodeViewListeners.has(key)) changed.set(key, view);
        else nodeViews.set(key, view);
      }
      if (
        prev &&
        // Only where the canvas draws its own minimap: React Flow's minimap sizes each node from the
        // object it was given, so a first object kept without a size after measuring left it out.
        (prev.m === m || (renderCount > SVG_MINIMAP_UP_TO && measuredAlready(prev.rf, m))) &&
        // What the object says besides the view; its guessed size (nodeSizeProps) is by type.
        prev.view.node.type === n.type &&
        prev.view.node.block === n.block &&
        prev.view.blocks === analysis.blocks &&
        prev.selected === selected &&
        prev.cls === cls &&
        prev.pos === pos
      ) {
        next.set(key, prev.m === m && prev.view === view ? prev : { ...prev, view, m });
        return prev.rf;
      }
      const rf: PatchNodeType = {
        id: n.id,
        type: 'patch',
        className: cls,
        position: (pos as { x: number; y: number } | undefined) ?? { x: 0, y: 0 },
        data: prev?.rf.data ?? { key },
        selected,
        ...nodeSizeProps({
          node: n,
          blocks: analysis.blocks,
          huge: body.nodes.length > RENDER_VISIBLE_ONLY_ABOVE,
          stored: m as { width: number; height: number } | undefined,
          internal: flow.getInternalNode(n.id),
          previous: prev?.rf,
        }),
      };
      next.set(key, { view, selected, m, cls, pos, rf });
      return rf;
    });
    viewChanges.current = { changed };
    // A new array even when every object is the same: React Flow takes it cheaply (it keeps its own
    // node for the same object), and the canvas minimap redraws on it with the new sizes.
    cache.current = next;
    return out;
  }, [body, results, selNodeSet, measured, viewKey, diagnosticsByNode, analysis.blocks, procedureView, dragged, measuredAlready, renderCount]);
  // Before the frame is painted: the node components render again in this commit's wake.
  useLayoutEffect(() => {
    const { changed } = viewChanges.current;
    viewChanges.current = { changed: new Map() };
    // Views of nodes no longer in the committed render's cache (deleted, or another tab's) go. Swept
    // here rather than listed where rfNodes is computed: a second computation before the commit
    // (StrictMode calls it twice in development; a render React discards) had already replaced the
    // cache, so it listed none of them and their views stayed for good.
    for (const key of nodeViews.keys()) if (!cache.current.has(key)) nodeViews.delete(key);
    for (const [key, view] of changed) nodeViews.set(key, view);
    for (const key of changed.keys()) for (const listener of nodeViewListeners.get(key) ?? []) listener();
  }, [rfNodes]);

  const rfEdges = useMemo<Edge[]>(() => {
    if (farWires) return NO_EDGES;
    const next = new Map<string, { edge: GraphEdge; shape: Shape | undefined; known: boolean; selected: boolean; dropTarget: boolean; rf: Edge }>();
    // An output that feeds several wires (a residual) has one shape: label only its first wire, so
    // that the labels of parallel wires do not pile up on each other.
    const labelled = new Set<string>();
    const out = body.edges.map((e) => {
      const port = `${e.source}\u0000${e.sourcePort}`;
      const first = !labelled.has(port);
      labelled.add(port);
      // Zoomed far out labels are not painted (styles.css): leave them out, since React Flow measures
      // every label that changes (getBBox, a forced layout of the whole canvas), and an edit that
      // changes every shape measured 1,200 of them (bench/canvas.bench.ts).
      const shape = first && !far ? results?.nodes.get(e.source)?.outputs?.[e.sourcePort] : undefined;
      const known = !!results?.nodes.get(e.source)?.outputs?.[e.sourcePort];
      const selected = selEdgeSet.has(e.id);
      const dropTarget = e.id === dropEdge;
      const key = `${viewKey}/${e.id}`;
      const prev = edgeCache.current.get(key);
      // Shapes of untouched nodes are the same arrays from one analysis to the next.
      if (prev && prev.edge === e && prev.shape === shape && prev.known === known && prev.selected === selected && prev.dropTarget === dropTarget) {
        next.set(key, prev);
        return prev.rf;
      }
      const rf: Edge = {
        id: e.id,
        source: e.source,
        target: e.target,
        sourceHandle: e.sourcePort,
        targetHandle: e.targetPort,
        label: shape ? formatShape(shape) : undefined,
        selected,
        className: ['pb-edge', known ? '' : 'pb-edge-unknown', dropTarget ? 'pb-edge-drop' : ''].filter(Boolean).join(' '),
        labelBgPadding: [4, 2] as [number, number],
        labelBgBorderRadius: 4,
        focusable: true,
      };
      next.set(key, { edge: e, shape, known, selected, dropTarget, rf });
      return rf;
    });
    edgeCache.current = next;
    return out;
  }, [body, results, selEdgeSet, viewKey, dropEdge, far, farWires]);

  /** Wires whose shape is not known, drawn dashed by FarWires (React Flow's edges get pb-edge-unknown). */
  const unknownWires = useMemo(
    () => (farWires ? new Set(body.edges.filter((e) => !results?.nodes.get(e.source)?.outputs?.[e.sourcePort]).map((e) => e.id)) : new Set<string>()),
    [farWires, body.edges, results],
  );
  /**
   * The far wire at a screen point, within `tolerance` flow units: by default the 10 either side in
   * which React Flow's wires take a drop (their 20-unit click target), so that dropping a node onto
   * a wire works as it did; a click gets 5 px on screen when that is more.
   */
  const farWireAt = useCallback(
    (clientX: number, clientY: number, tolerance = 10) => {
      const p = flow.screenToFlowPosition({ x: clientX, y: clientY });
      return wireNear(farCurves.current, p.x, p.y, tolerance);
    },
    [flow],
  );
  useEffect(() => {
    if (!farWires) return;
    setFarWirePicker((x, y) => farWireAt(x, y));
    return () => setFarWirePicker(null);
  }, [farWires, farWireAt]);
  /** A click on the empty canvas over a far wire selects it, as a click on a React Flow wire does. */
  const onFarPaneClick = useCallback(
    (e: React.MouseEvent) => {
      const id = farWireAt(e.clientX, e.clientY, Math.max(10, 5 / flow.getZoom()));
      const s = useEditor.getState();
      // Elsewhere it clears the wires picked, as React Flow clears its own selected wires (it knows none of these).
      if (id) s.select([], [id]);
      else if (s.selectedEdges.length) s.select(s.selectedNodes, []);
    },
    [farWireAt, flow],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<PatchNodeType>[]) => {
      const s = useEditor.getState();
      let dims: Map<string, { width: number; height: number }> | null = null;
      const positions = new Map<string, { x: number; y: number }>();
      let moving: Map<string, { x: number; y: number }> | null = null;
      let sel: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === 'dimensions' && c.dimensions) {
          dims ??= new Map(measured);
          dims.set(`${viewKey}/${c.id}`, c.dimensions);
        } else if (c.type === 'position' && c.position) {
          // Mid-drag moves stay on the canvas; the drag's last change (dragging false) and keyboard moves go to the document.
          if (c.dragging && s.gestureBase) (moving ??= new Map(draggedNow.current)).set(c.id, c.position);
          else positions.set(c.id, c.position);
        } else if (c.type === 'select') {
          sel ??= new Set(s.selectedNodes);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        }
      }
      if (dims) setMeasured(dims);
      if (moving) {
        draggedNow.current = moving;
        setDragged({ viewKey, at: moving });
      }
      if (positions.size) {
        // Nodes dragged together all end in this change; any left out keep where the drag took them.
        if (draggedNow.current) for (const [id, p] of draggedNow.current) if (!positions.has(id)) positions.set(id, p);
        if (s.gestureBase) s.editLive((d) => setPositions(d, positions));
        else s.edit((d) => setPositions(d, positions));
        if (draggedNow.current) {
          draggedNow.current = null;
          setDragged(null);
        }
      }
      // A node picked without the multi-selection key drops the wires picked: React Flow does so for
      // its own wires, and far wires (FarWires.tsx) are not React Flow's.
      const alone = sel && farWires && changes.some((c) => c.type === 'select' && c.selected) && !rfStore.getState().multiSelectionActive;
      if (sel) s.select([...sel], alone ? [] : s.selectedEdges);
    },
    [measured, viewKey, farWires, rfStore],
  );

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    const s = useEditor.getState();
    let sel: Set<string> | null = null;
    for (const c of changes) {
      if (c.type === 'select') {
        sel ??= new Set(s.selectedEdges);
        if (c.selected) sel.add(c.id);
        else sel.delete(c.id);
      }
    }
    if (sel) s.select(s.selectedNodes, [...sel]);
  }, []);

  const onConnect = useCallback((c: RFConnection) => {
    const s = useEditor.getState();
    const conn = { source: c.source, sourcePort: c.sourceHandle ?? 'out', target: c.target, targetPort: c.targetHandle ?? 'in' };
    const view = viewResultsOf(s);
    const scoped = scopedOf(s);
    const results = view.results;
    const shapeOf = (id: string, port: string) => results?.nodes.get(id)?.outputs?.[port];
    const networks = view.networks;
    const problem = connectionProblem(scoped, view.analysis, conn, shapeOf, networks ? (n) => procedurePortsOf(n, networks) : undefined);
    if (problem) {
      s.toast({ kind: 'error', title: 'Connection refused', lines: [problem] });
      return;
    }
    s.edit((d) => connect(d, conn));
  }, []);

  /** Opens the quick-add menu at a screen point, optionally carrying a dropped wire's loose end. */
  const openQuickAdd = useCallback(
    (clientX: number, clientY: number, from?: QuickAddRequest['from']) => {
      const box = wrapper.current?.getBoundingClientRect();
      if (!box) return;
      setQuickAdd({ screen: { x: clientX - box.left, y: clientY - box.top }, flow: flow.screenToFlowPosition({ x: clientX, y: clientY }), from });
    },
    [flow],
  );

  // A wire dropped on empty space (not on a handle, a node or a control) asks what to connect there.
  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid || state.toHandle || !state.fromNode || !state.fromHandle?.id) return;
      const point = pointOf(event);
      if (!point) return;
      const under = document.elementFromPoint(point.clientX, point.clientY);
      if (!under?.closest('.react-flow') || under.closest('.react-flow__node, .react-flow__controls, .react-flow__minimap, .react-flow__panel')) return;
      openQuickAdd(point.clientX, point.clientY, { nodeId: state.fromNode.id, port: state.fromHandle.id, side: state.fromHandle.type });
    },
    [openQuickAdd],
  );

  const onDoubleClick = useCallback(
    (e: React.MouseEvent) => {
      // Only the empty canvas: nodes, wires and controls have their own double-click.
      if (!(e.target as Element).classList.contains('react-flow__pane')) return;
      e.preventDefault();
      openQuickAdd(e.clientX, e.clientY);
    },
    [openQuickAdd],
  );

  // A lone node dragged over a wire would be inserted into it: highlight that wire.
  const dropEdgeAt = useCallback((e: MouseEvent | TouchEvent, dragged: Node[]) => {
    const s = useEditor.getState();
    const point = pointOf(e);
    if (dragged.length !== 1 || !point) return null;
    const id = dragged[0]!.id;
    const edgeId = edgeIdAt(point.clientX, point.clientY);
    return edgeId && s.tab.kind === 'network' && canInsert(scopedOf(s), viewResultsOf(s).analysis.blocks, id, edgeId) ? edgeId : null;
  }, []);
  // Finding the wire under the pointer hit-tests the whole canvas (8 ms a time on a 1,000-node graph
  // under load): at most every 100 ms while dragging (the last move of a burst is always tested, so
  // the highlight matches where the node rests), and once more where it is let go.
  const dropTest = useRef<{ last: number; timer: ReturnType<typeof setTimeout> | undefined; args: [MouseEvent | TouchEvent, Node[]] | null }>({
    last: 0,
    timer: undefined,
    args: null,
  });
  const onNodeDrag = useCallback(
    (e: MouseEvent | TouchEvent, _n: Node, dragged: Node[]) => {
      const t = dropTest.current;
      t.args = [e, dragged];
      if (t.timer) return;
      const run = () => {
        t.timer = undefined;
        t.last = performance.now();
        if (t.args) useEditor.getState().setDropEdge(dropEdgeAt(...t.args));
      };
      const wait = 100 - (performance.now() - t.last);
      if (wait <= 0) run();
      else t.timer = setTimeout(run, wait);
    },
    [dropEdgeAt],
  );

  const onNodeDragStop = useCallback(
    (e: MouseEvent | TouchEvent, n: Node, dragged: Node[]) => {
      const t = dropTest.current;
      clearTimeout(t.timer);
      Object.assign(t, { last: 0, timer: undefined, args: null });
      const s = useEditor.getState();
      const edgeId = pointOf(e) ? dropEdgeAt(e, dragged) : s.dropEdge;
      s.setDropEdge(null);
      // Inside the drag's gesture, so that the move and the insertion undo together.
      if (edgeId) insertDropped(scopedOf(s), n.id, edgeId, { live: true });
      s.endGesture();
      if (edgeId) s.select([n.id]);
    },
    [dropEdgeAt],
  );

  const onNodeDoubleClick = useCallback((_: React.MouseEvent, n: Node) => {
    const s = useEditor.getState();
    if (s.blockView) return;
    const node = scopedOf(s).nodes.find((x) => x.id === n.id);
    // In a procedure, a Network node opens its network's tab.
    if (s.tab.kind === 'procedure') {
      const network = node?.type === 'Network' ? String(node.params.network ?? '') : '';
      if (network && (network === 'model' || s.doc.networks.some((x) => x.id === network))) s.openTab({ kind: 'network', id: network });
      return;
    }
    if (node?.type === BLOCK_NODE_TYPE && node.block) s.openBlock(node.id, node.block);
  }, []);

  useEffect(() => {
    if (fitN === 0) return;
    const t = setTimeout(
      () =>
        void fit(useEditor.getState().blockView ? BLOCK_FIT : fitOptionsFor(FIT, flow.getNodes())).then(() => {
          // A block body taller than the view starts at its top (its inputs), not in its middle.
          if (!useEditor.getState().blockView) return;
          const top = Math.min(...flow.getNodes().map((n) => n.position.y));
          const v = flow.getViewport();
          // Below the breadcrumb.
          if (Number.isFinite(top) && top * v.zoom + v.y < 64) void flow.setViewport({ ...v, y: 64 - top * v.zoom });
        }),
      60,
    );
    return () => clearTimeout(t);
  }, [fitN, flow, fit]);

  useEffect(() => {
    if (!focusRequest) return;
    const t = setTimeout(() => {
      // React Flow's own node: it has the size as last measured (the canvas's node object may not).
      const n = flow.getInternalNode(focusRequest.nodeId);
      if (!n) return;
      const w = n.measured?.width ?? 200;
      const h = n.measured?.height ?? 80;
      void flow.setCenter(n.position.x + w / 2, n.position.y + h / 2, { zoom: Math.max(flow.getZoom(), 1), duration: 250 });
    }, 30);
    return () => clearTimeout(t);
  }, [focusRequest, flow]);

  // The menu belongs to the graph it opened on.
  useEffect(() => setQuickAdd(null), [viewKey]);

  return (
    <div className={far ? 'pb-flow pb-flow-far' : 'pb-flow'} ref={wrapper} onDoubleClick={onDoubleClick}>
      <FarView.Provider value={far && renderCount >= FAR_BOXES_FROM}>
        <ReactFlow
          nodes={rfNodes}
          edges={rfEdges}
          onPaneClick={farWires ? onFarPaneClick : undefined}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={onConnect}
          onConnectEnd={onConnectEnd}
          onNodeDragStart={beginGesture}
          onNodeDrag={onNodeDrag}
          onNodeDragStop={onNodeDragStop}
          onSelectionDragStart={beginGesture}
          onSelectionDragStop={endGesture}
          onNodeDoubleClick={onNodeDoubleClick}
          zoomOnDoubleClick={false}
          deleteKeyCode={null}
          multiSelectionKeyCode={MULTI_SELECTION_KEYS}
          selectionKeyCode="Shift"
          // Large graphs: mount only what is on screen, so dragging at a working zoom stays smooth.
          onlyRenderVisibleElements={culling}
          colorMode="system"
          minZoom={0.1}
          maxZoom={2}
          attributionPosition="top-right"
          aria-label="Graph canvas"
        >
          {farWires && <FarWires edges={body.edges} unknown={unknownWires} selected={selEdgeSet} dropEdge={dropEdge} curves={farCurves} />}
          {/* Zoomed far out the dots are a grey wash, and they were painted again on every step of a pan. */}
          {!far && <Background gap={20} size={1} />}
          <Controls position="bottom-left" showInteractive={false} showFitView={false}>
            <ControlButton className="react-flow__controls-fitview" onClick={fitAll} title="Fit all nodes in view" aria-label="Fit all nodes">
              <FitViewIcon />
            </ControlButton>
          </Controls>
          <Panel position="top-left">
            <PinBar />
          </Panel>
          {renderCount > SVG_MINIMAP_UP_TO ? (
            <CanvasMiniMap colours={minimapColours} />
          ) : (
            <MiniMap
              position="bottom-right"
              pannable
              zoomable
              ariaLabel="Minimap"
              className="pb-minimap"
              nodeColor={minimapColor}
              nodeBorderRadius={4}
              maskColor="rgb(120 120 140 / 0.15)"
              style={MINIMAP_STYLE}
            />
          )}
        </ReactFlow>
      </FarView.Provider>
      {body.nodes.length === 0 && !quickAdd && (
        <div className="pb-empty" aria-live="polite">
          {procedure ? (
            <>
              <p>
                <strong>An empty procedure.</strong>
              </p>
              <p>Drag Data, networks, losses and Minimize from the palette, or double-click the canvas to search for one.</p>
            </>
          ) : (
            <>
              <p>
                <strong>An empty graph.</strong>
              </p>
              <p>Drag layers from the palette onto the canvas, double-click the canvas to search for one, or open a template to start from a known network.</p>
              <button type="button" onClick={() => useEditor.getState().setDialog('templates')}>
                Browse templates
              </button>
            </>
          )}
        </div>
      )}
      {quickAdd && (
        <QuickAddMenu
          request={quickAdd}
          bounds={{ width: wrapper.current?.clientWidth ?? 800, height: wrapper.current?.clientHeight ?? 600 }}
          onClose={() => setQuickAdd(null)}
        />
      )}
    </div>
  );
}
