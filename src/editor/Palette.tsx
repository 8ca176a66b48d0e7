import { useMemo, useRef, useState, type KeyboardEvent, type PointerEvent as ReactPointerEvent } from 'react';
import { useReactFlow } from '@xyflow/react';
import { CATEGORY_ORDER, entriesFor, searchCatalog, type CatalogEntry as Entry } from './catalog';
import { addItem, type PaletteItem } from './graph-ops';
import { scopedOf, useEditor } from './store';
import { edgeIdAt, insertDropped } from './wire-drop';
import { getSpec } from '../nodes/registry';
import { getLibraryBlock } from '../nodes/blocks/index';
import { blockPorts } from '../compiler/graph';

/** Whether a new node of this kind can go into a wire: it has an input and an output. */
function passesThrough(item: PaletteItem): boolean {
  // A procedure's nodes are placed, then wired (no insertion into a wire there).
  if (item.kind === 'procedure' || item.kind === 'network') return false;
  if (item.kind === 'layer') {
    const spec = getSpec(item.type);
    return !!spec && spec.inputs.length > 0 && spec.outputs.length > 0;
  }
  const def = useEditor.getState().doc.blocks.find((b) => b.id === item.id) ?? getLibraryBlock(item.id);
  const ports = def && blockPorts(def);
  return !!ports && ports.inputs.length > 0 && ports.outputs.length > 0;
}

/** Why the item cannot go into the graph on show, or null. */
export function placeProblem(item: PaletteItem): string | null {
  const s = useEditor.getState();
  return s.blockView && item.kind === 'block' && item.id === s.blockView.blockId
    ? 'A block cannot contain itself: place it in the main graph, or in another block.'
    : null;
}

/**
 * Adds the item to the graph on show (the main graph, or the body of the open block), dropped into
 * a wire when `edgeId` names one; one undo step either way.
 */
function place(item: PaletteItem, position: { x: number; y: number }, edgeId?: string | null) {
  const s = useEditor.getState();
  const problem = placeProblem(item);
  if (problem) {
    s.toast({ kind: 'error', title: 'Cannot place this here', lines: [problem] });
    return;
  }
  const { doc, id } = addItem(scopedOf(s), item, position);
  if (edgeId && insertDropped(doc, id, edgeId)) return;
  s.edit(() => doc, { select: [id] });
}

export function Palette() {
  const [query, setQuery] = useState('');
  const inBlock = useEditor((s) => s.blockView !== null);
  const tab = useEditor((s) => s.tab);
  // Network entries follow the document's networks (their labels); layer entries never change.
  const doc = useEditor((s) => (s.tab.kind === 'procedure' ? s.doc : null));
  const inProcedure = tab.kind === 'procedure';
  const flow = useReactFlow();
  const [ghost, setGhost] = useState<{ label: string; x: number; y: number } | null>(null);
  const drag = useRef<{ entry: Entry; x: number; y: number; active: boolean } | null>(null);

  const groups = useMemo(() => {
    const hits = searchCatalog(doc ? entriesFor(doc, tab, inBlock) : entriesFor(useEditor.getState().doc, tab, inBlock), query);
    const byCat = new Map<string, Entry[]>();
    for (const e of hits) byCat.set(e.category, [...(byCat.get(e.category) ?? []), e]);
    return [...byCat.entries()].sort((a, b) => CATEGORY_ORDER.indexOf(a[0]) - CATEGORY_ORDER.indexOf(b[0]));
  }, [query, inBlock, tab, doc?.networks, doc?.name, doc?.program]); // eslint-disable-line react-hooks/exhaustive-deps

  const centre = () => {
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
    const p = pane ? { x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 } : { x: innerWidth / 2, y: innerHeight / 2 };
    const pos = flow.screenToFlowPosition(p);
    // Nudge so that repeated adds do not stack exactly.
    const n = scopedOf(useEditor.getState()).nodes.length % 5;
    return { x: pos.x - 90 + n * 16, y: pos.y - 30 + n * 16 };
  };

  const onPointerDown = (e: ReactPointerEvent, entry: Entry) => {
    if (e.button !== 0) return;
    drag.current = { entry, x: e.clientX, y: e.clientY, active: false };
    const move = (ev: PointerEvent) => {
      const d = drag.current;
      if (!d) return;
      if (!d.active && Math.hypot(ev.clientX - d.x, ev.clientY - d.y) > 4) d.active = true;
      if (!d.active) return;
      setGhost({ label: d.entry.label, x: ev.clientX, y: ev.clientY });
      // Over a wire, the new node would go into it: say so by highlighting the wire.
      useEditor.getState().setDropEdge(edgeIdAt(ev.clientX, ev.clientY, passesThrough(d.entry.item)));
    };
    const up = (ev: PointerEvent) => {
      removeEventListener('pointermove', move);
      removeEventListener('pointerup', up);
      const d = drag.current;
      drag.current = null;
      setGhost(null);
      const edgeId = useEditor.getState().dropEdge;
      useEditor.getState().setDropEdge(null);
      if (!d?.active) return;
      const under = document.elementFromPoint(ev.clientX, ev.clientY);
      if (!under?.closest('.pb-canvas') || under.closest('.react-flow__minimap, .react-flow__controls')) return;
      const pos = flow.screenToFlowPosition({ x: ev.clientX, y: ev.clientY });
      place(d.entry.item, { x: pos.x - 90, y: pos.y - 20 }, edgeId);
    };
    addEventListener('pointermove', move);
    addEventListener('pointerup', up);
  };

  const onKeyDown = (e: KeyboardEvent, entry: Entry) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      place(entry.item, centre());
    }
  };

  return (
    <aside className="pb-palette" aria-label="Palette">
      <div className="pb-palette-search">
        <input
          type="search"
          placeholder={inProcedure ? 'Search procedure nodes' : 'Search layers and blocks'}
          aria-label={inProcedure ? 'Search procedure nodes' : 'Search layers and blocks'}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && groups[0]?.[1][0]) place(groups[0][1][0].item, centre());
          }}
        />
      </div>
      <div className="pb-palette-list">
        {groups.length === 0 && <p className="pb-muted">Nothing matches “{query}”.</p>}
        {groups.map(([cat, entries]) => (
          <section key={cat} className="pb-palette-group" aria-label={cat}>
            <h3>{cat}</h3>
            <ul>
              {entries.map((e) => (
                <li key={e.key}>
                  <button
                    type="button"
                    className={`pb-palette-item${e.item.kind === 'block' ? ' pb-palette-block' : ''}`}
                    aria-label={e.label}
                    title={`${e.description}\nDrag onto the canvas, or double-click / Enter to add at the centre.`}
                    onPointerDown={(ev) => onPointerDown(ev, e)}
                    onDoubleClick={() => place(e.item, centre())}
                    onKeyDown={(ev) => onKeyDown(ev, e)}
                  >
                    {e.label}
                  </button>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
      {ghost && (
        <div className="pb-drag-ghost" style={{ left: ghost.x, top: ghost.y }}>
          {ghost.label}
        </div>
      )}
    </aside>
  );
}
