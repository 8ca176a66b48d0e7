/**
 * What keeps the canvas usable on a graph of tens of thousands of nodes. Measured on a 20,000-node
 * chain in headless Chromium (bench/hostile-inputs.bench.ts): opening it froze the page for 17 s,
 * almost all of it React Flow rendering every node once, then the minimap's 20,000 shapes.
 *
 * - React Flow renders a node at least once, even off screen, until it has measured the node's
 *   handles. Giving a node that was never measured a guessed size and guessed handle positions lets
 *   `onlyRenderVisibleElements` leave it out until it scrolls into view (where it is measured for
 *   real, and the guesses are dropped).
 * - Fitting the whole of such a graph in view shows thousands of unreadable nodes at the smallest
 *   zoom, all rendered: a huge graph opens on its first nodes in document order (its inputs).
 * - React Flow's minimap of a huge graph is thousands of SVG shapes, each with its own store
 *   subscription: a huge graph gets a minimap drawn on one canvas instead (CanvasMiniMap.tsx).
 * - Both are decided by `useCountForRendering`, so that leaving a huge graph does not render it.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { getViewportForBounds, Position, useReactFlow, useStore, useStoreApi, type FitViewOptions, type ReactFlowInstance } from '@xyflow/react';

/** React Flow's padding: a fraction, pixels or a percentage, for all sides or each. */
type Padding = NonNullable<FitViewOptions['padding']>;
import type { BlockDef, GraphNode } from '../document/schema';
import { portsOf } from '../compiler/graph';

/** Above this many nodes the canvas only renders what is on screen. */
export const RENDER_VISIBLE_ONLY_ABOVE = 300;
/** Above this many nodes the view opens on the first FIT_FIRST nodes instead of all of them. */
export const FIT_ALL_UP_TO = 400;
export const FIT_FIRST = 200;
/** Above this many nodes the minimap is drawn on a canvas (CanvasMiniMap.tsx) instead of React Flow's SVG minimap. */
export const SVG_MINIMAP_UP_TO = RENDER_VISIBLE_ONLY_ABOVE;
/**
 * Below this zoom the canvas draws nodes as boxes with their wires: the text (12 px lines under
 * 5 px), the wires' shape labels and the previews are unreadable there, and they are what made
 * Chromium slow to draw a whole 1,000-node graph: each label, handle and preview canvas is a piece
 * the compositor sorts on every frame (bench/canvas.bench.ts). A node is then a box of the size it
 * was laid out at, with its name (Canvas.tsx's FarBox), so nodes keep their size and wires their
 * ends; one never laid out yet is drawn whole once with its lines hidden (styles.css).
 */
export const DETAIL_ZOOM = 0.4;
/**
 * Boxes far out only from this many nodes: they are there for drawing speed, and a template's
 * graph (a procedure's, beside the Train tab, fits under DETAIL_ZOOM) would otherwise hide the live
 * losses and measures its nodes show while a run goes on.
 */
export const FAR_BOXES_FROM = 100;

/**
 * The node count to decide culling and the minimap by: the larger of this render's and the last
 * committed one's. React Flow takes new nodes in an effect, after the render that changed them;
 * deciding by the new count alone, undoing from 20,000 nodes to 3 turned culling off while React
 * Flow still held the 20,000, and rendered every one of them once (an 18 s freeze).
 */
export function useCountForRendering(count: number): number {
  const [settled, setSettled] = useState(count);
  // The render this causes is the point: it comes after React Flow has taken the new nodes.
  // oxlint-disable-next-line react/set-state-in-effect
  useEffect(() => setSettled(count), [count]);
  return Math.max(count, settled);
}

/**
 * Culling (onlyRenderVisibleElements) pays off only while much of the graph is off screen. With the
 * whole graph in view it costs on every pan step and every move of a drag (React Flow tests every
 * node and wire against the view), and panning then unmounts the nodes that leave the screen at one
 * edge and mounts and measures those that come back at the other. So a huge graph is culled only
 * while it is more than this many times as wide or as tall as the canvas at the current zoom.
 */
export const CULL_WHEN_LARGER_THAN_VIEW = 1.5;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The box around the nodes, at their measured sizes or the guess; none while a node has no place yet (it is about to be laid out) or there are no nodes. */
export function graphBounds(nodes: readonly GraphNode[], sizeOf: (id: string) => { width: number; height: number } | undefined): Rect | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const n of nodes) {
    if (!n.position) return null;
    const size = sizeOf(n.id) ?? GUESS;
    x0 = Math.min(x0, n.position.x);
    y0 = Math.min(y0, n.position.y);
    x1 = Math.max(x1, n.position.x + size.width);
    y1 = Math.max(y1, n.position.y + size.height);
  }
  return x0 <= x1 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/** The value of the last committed render (see useCountForRendering for why both are needed). */
function useSettled<T>(value: T): T {
  const [settled, setSettled] = useState(value);
  // oxlint-disable-next-line react/set-state-in-effect
  useEffect(() => setSettled(value), [value]);
  return settled;
}

/**
 * Whether React Flow renders only what is on screen: for a graph of more than
 * RENDER_VISIBLE_ONLY_ABOVE nodes (counted as useCountForRendering does) that is, at this zoom,
 * much larger than the canvas. Decided on the bounds of both this render's nodes and the last
 * committed ones, for the same reason as the count: a 20,000-node graph replacing a small one must
 * not be rendered whole while the small one's bounds say that everything fits.
 */
export function useCulling(count: number, bounds: Rect | null): boolean {
  const renderCount = useCountForRendering(count);
  const settled = useSettled(bounds);
  // Without a box for either (unplaced nodes, an empty graph) nothing is known to fit: cull.
  const both = useMemo(() => {
    if (!bounds || !settled) return null;
    const x = Math.min(bounds.x, settled.x);
    const y = Math.min(bounds.y, settled.y);
    return {
      x,
      y,
      width: Math.max(bounds.x + bounds.width, settled.x + settled.width) - x,
      height: Math.max(bounds.y + bounds.height, settled.y + settled.height) - y,
    };
  }, [bounds, settled]);
  const fitsInView = useStore(
    useCallback(
      (s: { transform: [number, number, number]; width: number; height: number }) =>
        !!both &&
        s.width > 0 &&
        s.height > 0 &&
        both.width * s.transform[2] <= CULL_WHEN_LARGER_THAN_VIEW * s.width &&
        both.height * s.transform[2] <= CULL_WHEN_LARGER_THAN_VIEW * s.height,
      [both],
    ),
  );
  return renderCount > RENDER_VISIBLE_ONLY_ABOVE && !fitsInView;
}

/** The size a node is taken to have before it is measured (a typical layer node). */
const GUESS = { width: 200, height: 90 };

/**
 * For a node React Flow has not measured yet: a guessed size and handles (inputs spread along the
 * top, outputs along the bottom, as the node draws them), so it can be culled before its first render.
 */
export function unmeasuredNodeGuess(node: GraphNode, blocks: ReadonlyMap<string, BlockDef>) {
  const ports = portsOf(node, blocks) ?? { inputs: [], outputs: [] };
  const place = (list: readonly { name: string }[], type: 'source' | 'target') =>
    list.map((p, i) => ({
      id: p.name,
      type,
      position: type === 'source' ? Position.Bottom : Position.Top,
      x: ((i + 1) / (list.length + 1)) * GUESS.width,
      y: type === 'source' ? GUESS.height : 0,
      width: 1,
      height: 1,
    }));
  return { initialWidth: GUESS.width, initialHeight: GUESS.height, handles: [...place(ports.inputs, 'target'), ...place(ports.outputs, 'source')] };
}

/**
 * A node's size for React Flow. Small graphs: the size the canvas has stored, or nothing (React
 * Flow renders and measures every node, as it always did). Huge graphs: the stored size, else the
 * size React Flow measured for this very node (its report may not have reached the canvas yet),
 * else a guess. A node React Flow has measured must never get the guess again: guessed handles on
 * a measured node would stay, and wires would attach to handles where there are none.
 */
export function nodeSizeProps(args: {
  node: GraphNode;
  blocks: ReadonlyMap<string, BlockDef>;
  huge: boolean;
  stored: { width: number; height: number } | undefined;
  /** React Flow's internal node of this id, and the node object the canvas last gave it for this graph. */
  internal: { measured?: { width?: number; height?: number }; internals: { userNode: unknown } } | undefined;
  previous: unknown;
}) {
  const { node, blocks, huge, stored, internal, previous } = args;
  if (stored) return { measured: stored };
  if (!huge) return {};
  // Ids repeat across the main graph and block bodies: trust only the node adopted from our own object.
  const measured = internal && previous !== undefined && internal.internals.userNode === previous ? internal.measured : undefined;
  if (measured?.width && measured.height) return { measured: { width: measured.width, height: measured.height } };
  return unmeasuredNodeGuess(node, blocks);
}

export interface FitOptions {
  /** A fraction of the view on each side, as React Flow's number padding. */
  padding: number;
  /**
   * Pixels at the top of the canvas covered by panels (the pin bar): the fit keeps the nodes below
   * them. useFitView measures it; absent, no more than `padding`.
   */
  topClearancePx?: number;
  duration?: number;
  minZoom?: number;
  maxZoom?: number;
  nodes?: { id: string }[];
}

/**
 * Fits nodes in view at once, counting a node never measured at the size it was given (the guess).
 * React Flow's own fitView (and its Controls' fit button) waits until every node has been measured
 * and then fits only measured nodes; with culling, nodes never scrolled into view are never
 * measured, so on the 1,000-node bench graph the fit button did nothing, and the queued fit landed
 * later, in the middle of the next drag (bench/canvas.bench.ts).
 */
export function fitNow(
  flow: Pick<ReactFlowInstance, 'getNodes' | 'getNodesBounds' | 'setViewport'>,
  view: { width: number; height: number; minZoom: number; maxZoom: number },
  options: FitOptions,
): Promise<boolean> {
  const ids = (options.nodes ?? flow.getNodes()).map((n) => n.id);
  if (ids.length === 0 || !view.width || !view.height) return Promise.resolve(false);
  const bounds = flow.getNodesBounds(ids);
  const minZoom = Math.max(view.minZoom, options.minZoom ?? 0);
  const maxZoom = Math.max(minZoom, Math.min(view.maxZoom, options.maxZoom ?? Infinity));
  const viewport = getViewportForBounds(bounds, view.width, view.height, minZoom, maxZoom, fitPadding(options, view.height));
  // Held at the smallest zoom allowed, the nodes do not fit: show where they start (the inputs), not their middle.
  const pad = (size: number) => (size - size / (1 + options.padding)) / 2;
  if (bounds.width * viewport.zoom > view.width) viewport.x = pad(view.width) - bounds.x * viewport.zoom;
  if (bounds.height * viewport.zoom > view.height) viewport.y = Math.max(pad(view.height), options.topClearancePx ?? 0) - bounds.y * viewport.zoom;
  return flow.setViewport(viewport, { duration: options.duration });
}

/**
 * React Flow's padding for a fit: the fraction on every side, and at the top at least the pixels
 * the panels there cover. The room the top takes beyond its share comes first out of the bottom's
 * (down to BOTTOM_MIN_PX), so the graph moves down rather than shrinks: a tall graph fitted just
 * above DETAIL_ZOOM (the SSL encoders, at 0.42) fell under it when the bar's room came out of the
 * zoom, and every node lost its details.
 */
export function fitPadding(options: FitOptions, height: number): Padding {
  const clearance = Math.ceil(options.topClearancePx ?? 0);
  const share = Math.floor((height - height / (1 + options.padding)) / 2);
  if (clearance <= share) return options.padding;
  const bottom = Math.max(BOTTOM_MIN_PX, 2 * share - clearance);
  return { top: `${clearance}px`, right: options.padding, bottom: `${bottom}px`, left: options.padding };
}
const BOTTOM_MIN_PX = 12;

/** What marks a panel over the top of the canvas that a fit should keep nodes clear of (the pin bar's attribute). */
export const COVERS_CANVAS_TOP = 'data-covers-canvas-top';
const CLEARANCE_GAP_PX = 12;

/** How far down from the canvas's top edge the panels marked COVERS_CANVAS_TOP reach, plus a gap. */
export function topClearance(canvas: HTMLElement | null): number {
  if (!canvas) return 0;
  const top = canvas.getBoundingClientRect().top;
  let reach = 0;
  canvas.querySelectorAll(`[${COVERS_CANVAS_TOP}]`).forEach((el) => {
    const box = el.getBoundingClientRect();
    if (box.height > 0) reach = Math.max(reach, box.bottom - top);
  });
  return reach > 0 ? reach + CLEARANCE_GAP_PX : 0;
}

/**
 * The last fit of each canvas (by React Flow store): the view it left, and how to make it again. The
 * pin bar grows after the fit that opens a graph (DDPM's second row, the note, comes with the first
 * previews) and then covered the top nodes it had been measured to clear: coverGrew fits again.
 */
interface LastFit {
  again: () => Promise<boolean>;
  /** The view the fit left; null while it is still moving there. */
  viewport: { x: number; y: number; zoom: number } | null;
  /** A covering panel grew while the fit was moving. */
  grewMeanwhile: boolean;
}
/**
 * Keyed by the store's getState: useStoreApi gives each component its own wrapper object around the
 * one store, so the canvas's fit and the pin bar would not find each other by the wrapper.
 */
const lastFits = new WeakMap<() => unknown, LastFit>();

/**
 * A panel over the top of the canvas (COVERS_CANVAS_TOP) grew: fit again, clear of its new height,
 * if the view is still the one the last fit left (nobody has panned or zoomed since). The fit is
 * what the user asked for, or what opening the graph did; a view moved by hand stays where it is.
 */
export function coverGrew(store: { getState(): { transform: [number, number, number] } }): void {
  const last = lastFits.get(store.getState);
  if (!last) return;
  if (!last.viewport) {
    last.grewMeanwhile = true;
    return;
  }
  const [x, y, zoom] = store.getState().transform;
  if (x === last.viewport.x && y === last.viewport.y && zoom === last.viewport.zoom) void last.again();
}

/** Fitting the view: React Flow's fitView for a graph it renders whole, fitNow for a culled one; clear of the pin bar either way. */
export function useFitView(): (options: FitOptions) => Promise<boolean> {
  const flow = useReactFlow();
  const store = useStoreApi();
  return useCallback(
    function fit(given: FitOptions): Promise<boolean> {
      const { width, height, minZoom, maxZoom, nodes, domNode } = store.getState();
      const options = { ...given, topClearancePx: given.topClearancePx ?? topClearance(domNode) };
      const last: LastFit = { again: () => fit(given), viewport: null, grewMeanwhile: false };
      lastFits.set(store.getState, last);
      const done =
        nodes.length > RENDER_VISIBLE_ONLY_ABOVE
          ? fitNow(flow, { width, height, minZoom, maxZoom }, options)
          : flow.fitView({ ...options, padding: fitPadding(options, height) });
      return done.then((fitted) => {
        // A later fit has taken over, or this one did nothing: no view to keep.
        if (lastFits.get(store.getState) !== last) return fitted;
        if (!fitted) {
          lastFits.delete(store.getState);
          return fitted;
        }
        const [x, y, zoom] = store.getState().transform;
        last.viewport = { x, y, zoom };
        if (last.grewMeanwhile) return fit(given);
        return fitted;
      });
    },
    [flow, store],
  );
}

/**
 * fitView options: the whole graph, or for a huge one its first nodes, no further out than the zoom
 * where nodes show their details (the first nodes of a wide graph span all of it: fitting them all
 * rendered every node of the 1,000-node bench graph on opening).
 */
export function fitOptionsFor(base: FitOptions, nodes: readonly { id: string }[]): FitOptions {
  return nodes.length > FIT_ALL_UP_TO
    ? { ...base, nodes: nodes.slice(0, FIT_FIRST).map((n) => ({ id: n.id })), minZoom: Math.max(base.minZoom ?? 0, DETAIL_ZOOM) }
    : base;
}
