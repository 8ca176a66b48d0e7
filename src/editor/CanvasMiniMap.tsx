/**
 * The minimap of a large graph, drawn on one canvas. React Flow's minimap is an SVG rect per node,
 * each with its own store subscription: at 1,000 nodes that is a thousand more selectors run on every
 * pan step and every move of a drag, beside the canvas's own nodes and wires (bench/canvas.bench.ts).
 * Here nothing renders through React after mounting: the nodes are drawn again when React Flow's
 * nodes change (at most once a frame) and the frame of the view is a box moved on every viewport
 * change. Pressing or dragging on the minimap centres the view there, as React Flow's pannable one does.
 */
import { useCallback, useEffect, useRef } from 'react';
import { Panel, useReactFlow, useStoreApi, type InternalNode } from '@xyflow/react';
import './canvas-minimap.css';

export const CANVAS_MINIMAP_WIDTH = 160;
export const CANVAS_MINIMAP_HEIGHT = 110;
/** Space kept around the graph inside the minimap, in minimap pixels. */
const INSET = 5;

interface Geometry {
  /** The flow point drawn at the minimap's top left corner, and minimap pixels per flow unit. */
  x: number;
  y: number;
  scale: number;
}

/** Where the graph's nodes lie (flow units), from React Flow's internal nodes. */
function nodesBox(nodes: Iterable<InternalNode>): { x: number; y: number; width: number; height: number } | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const n of nodes) {
    if (n.hidden) continue;
    const { x, y } = n.internals.positionAbsolute;
    const w = n.measured?.width ?? n.width ?? n.initialWidth ?? 0;
    const h = n.measured?.height ?? n.height ?? n.initialHeight ?? 0;
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + w);
    y1 = Math.max(y1, y + h);
  }
  return x0 <= x1 ? { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) } : null;
}

/** The minimap's colour for a node: the classes the canvas gives nodes for it (pb-mm-error, pb-mm-block). */
export type MiniMapColours = { node: string; block: string; error: string };

export function CanvasMiniMap({ colours }: { colours: (el: Element) => MiniMapColours }) {
  const store = useStoreApi();
  const flow = useReactFlow();
  const canvas = useRef<HTMLCanvasElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const geometry = useRef<Geometry | null>(null);

  useEffect(() => {
    let drawnNodes: unknown = null;
    let pending = 0;
    /** The box of the view on the minimap: synchronous with the viewport, it is only a style. */
    const placeFrame = () => {
      const g = geometry.current;
      const box = frame.current;
      if (!box) return;
      const { transform, width, height } = store.getState();
      if (!g || !width || !height) {
        box.style.display = 'none';
        return;
      }
      const [tx, ty, zoom] = transform;
      box.style.display = '';
      // Moved by a transform, not left and top: a pan then lays nothing out again.
      box.style.transform = `translate(${(-tx / zoom - g.x) * g.scale}px, ${(-ty / zoom - g.y) * g.scale}px)`;
      const w = `${(width / zoom) * g.scale}px`;
      const h = `${(height / zoom) * g.scale}px`;
      if (box.style.width !== w) box.style.width = w;
      if (box.style.height !== h) box.style.height = h;
    };
    const drawNodes = () => {
      pending = 0;
      const c = canvas.current;
      const s = store.getState();
      if (!c || s.nodes === drawnNodes) return;
      drawnNodes = s.nodes;
      const ctx = c.getContext('2d');
      if (!ctx) return;
      const dpr = c.width / CANVAS_MINIMAP_WIDTH;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, CANVAS_MINIMAP_WIDTH, CANVAS_MINIMAP_HEIGHT);
      const box = nodesBox(s.nodeLookup.values());
      if (!box) {
        geometry.current = null;
        placeFrame();
        return;
      }
      const scale = Math.min((CANVAS_MINIMAP_WIDTH - 2 * INSET) / box.width, (CANVAS_MINIMAP_HEIGHT - 2 * INSET) / box.height);
      // Centred: the spare room split on both sides.
      const g = {
        x: box.x - (CANVAS_MINIMAP_WIDTH / scale - box.width) / 2,
        y: box.y - (CANVAS_MINIMAP_HEIGHT / scale - box.height) / 2,
        scale,
      };
      geometry.current = g;
      const palette = colours(c);
      for (const n of s.nodeLookup.values()) {
        if (n.hidden) continue;
        const { x, y } = n.internals.positionAbsolute;
        const w = n.measured?.width ?? n.width ?? n.initialWidth ?? 0;
        const h = n.measured?.height ?? n.height ?? n.initialHeight ?? 0;
        const cls = n.className ?? '';
        ctx.fillStyle = cls.includes('pb-mm-error') ? palette.error : cls.includes('pb-mm-block') ? palette.block : palette.node;
        // At least a pixel, so that every node shows.
        ctx.fillRect((x - g.x) * scale, (y - g.y) * scale, Math.max(1, w * scale), Math.max(1, h * scale));
      }
      placeFrame();
    };
    const schedule = () => {
      if (!pending) pending = requestAnimationFrame(drawNodes);
    };
    schedule();
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.nodes !== prev.nodes) schedule();
      if (s.transform !== prev.transform || s.width !== prev.width || s.height !== prev.height) placeFrame();
    });
    // The colours are CSS variables that follow the system's light or dark scheme: a switch redraws
    // with the new ones at once, not only at the next change of the nodes.
    const scheme = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
    const redraw = () => {
      drawnNodes = null;
      schedule();
    };
    scheme?.addEventListener('change', redraw);
    return () => {
      unsubscribe();
      scheme?.removeEventListener('change', redraw);
      cancelAnimationFrame(pending);
    };
  }, [store, colours]);

  /** Centres the view on the flow point under the pointer. */
  const moveTo = useCallback(
    (e: React.PointerEvent<HTMLDivElement>) => {
      const g = geometry.current;
      if (!g) return;
      const r = e.currentTarget.getBoundingClientRect();
      void flow.setCenter(g.x + (e.clientX - r.left) / g.scale, g.y + (e.clientY - r.top) / g.scale, { zoom: flow.getZoom() });
    },
    [flow],
  );

  return (
    <Panel position="bottom-right" className="react-flow__minimap pb-minimap pb-minimap-canvas">
      <div
        className="pb-minimap-area"
        style={{ width: CANVAS_MINIMAP_WIDTH, height: CANVAS_MINIMAP_HEIGHT }}
        role="img"
        aria-label="Minimap"
        title="Minimap: press or drag to move the view"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          moveTo(e);
        }}
        onPointerMove={(e) => {
          if (e.currentTarget.hasPointerCapture(e.pointerId)) moveTo(e);
        }}
      >
        <canvas
          ref={canvas}
          width={CANVAS_MINIMAP_WIDTH * Math.min(2, Math.max(1, Math.round(globalThis.devicePixelRatio || 1)))}
          height={CANVAS_MINIMAP_HEIGHT * Math.min(2, Math.max(1, Math.round(globalThis.devicePixelRatio || 1)))}
          style={{ width: CANVAS_MINIMAP_WIDTH, height: CANVAS_MINIMAP_HEIGHT }}
        />
        <div ref={frame} className="pb-minimap-frame" />
      </div>
    </Panel>
  );
}
