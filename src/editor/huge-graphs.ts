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
 * - The minimap of a huge graph is a blur of thousands of SVG shapes that re-render on every pan.
 * - Both are decided by `useCountForRendering`, so that leaving a huge graph does not render it.
 */
import { useEffect, useState } from 'react';
import { Position } from '@xyflow/react';
import type { BlockDef, GraphNode } from '../document/schema';
import { portsOf } from '../compiler/graph';

/** Above this many nodes the canvas only renders what is on screen. */
export const RENDER_VISIBLE_ONLY_ABOVE = 300;
/** Above this many nodes the view opens on the first FIT_FIRST nodes instead of all of them. */
export const FIT_ALL_UP_TO = 400;
export const FIT_FIRST = 200;
/** Above this many nodes the minimap is left out. */
export const MINIMAP_UP_TO = 2000;
/**
 * Below this zoom the canvas draws nodes as boxes with their wires: the text (12 px lines under
 * 5 px), the wires' shape labels and the previews are unreadable there, and they are what made
 * Chromium slow to draw a whole 1,000-node graph: each label, handle and preview canvas is a piece
 * the compositor sorts on every frame (bench/canvas.bench.ts). They stay laid out, only not painted,
 * so nodes keep their size and wires their ends.
 */
export const DETAIL_ZOOM = 0.4;

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

/** fitView options: the whole graph, or for a huge one its first nodes. */
export function fitOptionsFor<T extends object>(base: T, nodes: readonly { id: string }[]): T & { nodes?: { id: string }[] } {
  return nodes.length > FIT_ALL_UP_TO ? { ...base, nodes: nodes.slice(0, FIT_FIRST).map((n) => ({ id: n.id })) } : base;
}
