/**
 * The quick-add menu, as node editors have it: double-click the empty canvas, or drop a wire on
 * empty space, type to filter, arrows and Enter to pick, Escape to close. The chosen node is placed
 * where the menu opened and, for a dropped wire, connected through a port that can take it; only
 * such nodes are offered. Placing (and connecting) is one undo step.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { entriesFor, rankCatalog, type CatalogEntry } from './catalog';
import { addConnected, addItem, type WireEnd } from './graph-ops';
import { procedurePortsOf, viewResultsOf } from './program-view';
import { scopedOf, useEditor } from './store';
import type { GraphNode } from '../document/schema';
import type { NodePorts } from '../compiler/graph';
import type { Shape } from '../nodes/spec';

export interface QuickAddRequest {
  /** Where the menu shows, relative to the canvas element. */
  screen: { x: number; y: number };
  /** Where the node goes, in graph coordinates. */
  flow: { x: number; y: number };
  /** The dropped wire's loose end, when the menu came from one. */
  from?: WireEnd;
}

const MENU_WIDTH = 280;
const MENU_HEIGHT = 340;

/** Output shapes of the graph on show (inside a block: its open instance's first repetition). */
function shapeLookup(): (nodeId: string, port: string) => Shape | undefined {
  const body = viewResultsOf(useEditor.getState()).results;
  return (id, port) => body?.nodes.get(id)?.outputs?.[port];
}

/** In a procedure, its nodes' ports (specs and networks); elsewhere undefined (layers and blocks). */
function portsLookup(): ((node: GraphNode) => NodePorts | undefined) | undefined {
  const networks = viewResultsOf(useEditor.getState()).networks;
  return networks ? (node) => procedurePortsOf(node, networks) : undefined;
}

/** Places the entry for the request as one undo step; false when it cannot go there. */
function placeEntry(entry: CatalogEntry, req: QuickAddRequest): boolean {
  const s = useEditor.getState();
  if (s.blockView && entry.item.kind === 'block' && entry.item.id === s.blockView.blockId) {
    s.toast({ kind: 'error', title: 'Cannot place this here', lines: ['A block cannot contain itself: place it in the main graph, or in another block.'] });
    return false;
  }
  const scoped = scopedOf(s);
  // A dropped output wire feeds the new node's top; a dropped input wire is fed from its bottom.
  const position = req.from?.side === 'target' ? { x: req.flow.x - 90, y: req.flow.y - 80 } : { x: req.flow.x - 90, y: req.flow.y - (req.from ? 0 : 20) };
  if (req.from) {
    const placed = addConnected(scoped, viewResultsOf(s).analysis, entry.item, position, req.from, shapeLookup(), portsLookup());
    if (!placed) return false;
    s.edit(() => placed.doc, { select: [placed.id] });
    return true;
  }
  const { doc, id } = addItem(scoped, entry.item, position);
  s.edit(() => doc, { select: [id] });
  return true;
}

export function QuickAddMenu({ request, bounds, onClose }: { request: QuickAddRequest; bounds: { width: number; height: number }; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const inBlock = useEditor((s) => s.blockView !== null);
  const tab = useEditor((s) => s.tab);
  const ref = useRef<HTMLDivElement>(null);
  const listId = useId();

  // For a dropped wire, only what can take it: each entry is tried on a copy of the graph.
  const offered = useMemo(() => {
    const s = useEditor.getState();
    const all = entriesFor(s.doc, tab, inBlock);
    const from = request.from;
    if (!from) return all;
    const scoped = scopedOf(s);
    const analysis = viewResultsOf(s).analysis;
    const shapeOf = shapeLookup();
    const portsOf = portsLookup();
    return all.filter((e) => addConnected(scoped, analysis, e.item, request.flow, from, shapeOf, portsOf) !== null);
  }, [inBlock, request, tab]);
  const hits = useMemo(() => rankCatalog(offered, query), [offered, query]);
  const current = Math.min(active, Math.max(0, hits.length - 1));

  useEffect(() => {
    const onDown = (e: PointerEvent) => {
      if (!ref.current?.contains(e.target as Node)) onClose();
    };
    addEventListener('pointerdown', onDown, true);
    return () => removeEventListener('pointerdown', onDown, true);
  }, [onClose]);

  useEffect(() => {
    ref.current?.querySelector(`[data-index="${current}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [current]);

  const pick = (entry: CatalogEntry | undefined) => {
    if (entry && placeEntry(entry, request)) onClose();
  };

  // Keep the whole menu on the canvas: open it up and to the left of the point when there is no room below or right.
  const { x, y } = request.screen;
  const horizontal = x + MENU_WIDTH + 8 <= bounds.width ? { left: x } : { left: Math.max(8, x - MENU_WIDTH) };
  const vertical =
    y + MENU_HEIGHT + 8 <= bounds.height || y < bounds.height / 2
      ? { top: y, maxHeight: Math.min(MENU_HEIGHT, bounds.height - y - 8) }
      : { bottom: bounds.height - y, maxHeight: Math.min(MENU_HEIGHT, y - 8) };
  const fromText = request.from
    ? request.from.side === 'source'
      ? `Takes the output of “${request.from.nodeId}”`
      : `Feeds input “${request.from.port}” of “${request.from.nodeId}”`
    : null;
  return (
    <div ref={ref} className="pb-quick-add" style={{ ...horizontal, ...vertical, width: MENU_WIDTH }} role="dialog" aria-label="Add a node">
      <input
        autoFocus
        type="search"
        className="pb-quick-add-search"
        placeholder="Search layers and blocks"
        aria-label="Search nodes to add"
        role="combobox"
        aria-expanded="true"
        aria-controls={listId}
        aria-activedescendant={hits.length ? `${listId}-${current}` : undefined}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((current + 1) % Math.max(1, hits.length));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((current - 1 + hits.length) % Math.max(1, hits.length));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            pick(hits[current]);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            onClose();
          }
        }}
      />
      {fromText && <p className="pb-quick-add-from">{fromText}</p>}
      <ul id={listId} role="listbox" aria-label="Nodes" className="pb-quick-add-list">
        {hits.map((e, i) => (
          <li
            key={e.key}
            id={`${listId}-${i}`}
            data-index={i}
            role="option"
            aria-selected={i === current}
            className={`pb-quick-add-item${i === current ? ' pb-quick-add-on' : ''}`}
            title={e.description}
            onPointerEnter={() => setActive(i)}
            onClick={() => pick(e)}
          >
            <span className="pb-quick-add-label">{e.label}</span>
            <span className="pb-quick-add-cat">{e.category}</span>
          </li>
        ))}
        {hits.length === 0 && (
          <li className="pb-quick-add-none" aria-disabled="true">
            {offered.length ? `Nothing matches “${query}”.` : 'No node can take this wire.'}
          </li>
        )}
      </ul>
    </div>
  );
}
