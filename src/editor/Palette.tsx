import { useMemo, useRef, useState, type KeyboardEvent, type PointerEvent as ReactPointerEvent } from 'react';
import { useReactFlow } from '@xyflow/react';
import { NODE_SPECS } from '../nodes/registry';
import { LIBRARY_BLOCKS } from '../nodes/blocks/index';
import { addItem, type PaletteItem } from './graph-ops';
import { scopeDoc, useEditor } from './store';

interface Entry {
  key: string;
  label: string;
  category: string;
  description: string;
  aliases: string[];
  item: PaletteItem;
}

const CATEGORY_ORDER = ['Block ports', 'Inputs', 'Blocks', 'Core', 'Convolution', 'Pooling', 'Normalization', 'Reshaping', 'Merge'];

const layerEntry = (s: (typeof NODE_SPECS)[number]): Entry => ({
  key: `layer:${s.type}`,
  label: s.label,
  category: s.internal ? 'Block ports' : s.category,
  description: s.description,
  aliases: [s.type, ...(s.aliases ?? [])],
  item: { kind: 'layer', type: s.type } as PaletteItem,
});

/** Shown only while a block is open: the nodes that make its input and output ports. */
const BLOCK_PORT_ENTRIES: Entry[] = NODE_SPECS.filter((s) => s.internal).map(layerEntry);

const ENTRIES: Entry[] = [
  ...NODE_SPECS.filter((s) => !s.internal).map((s) => ({
    key: `layer:${s.type}`,
    label: s.label,
    category: s.category,
    description: s.description,
    aliases: [s.type, ...(s.aliases ?? [])],
    item: { kind: 'layer', type: s.type } as PaletteItem,
  })),
  ...LIBRARY_BLOCKS.map((b) => ({
    key: `block:${b.id}`,
    label: b.label,
    category: b.category || 'Blocks',
    description: b.description,
    aliases: [b.id],
    item: { kind: 'block', id: b.id } as PaletteItem,
  })),
];

/** Adds the item to the graph on show: the main graph, or the body of the open block. */
function place(item: PaletteItem, position: { x: number; y: number }) {
  const s = useEditor.getState();
  if (s.blockView && item.kind === 'block' && item.id === s.blockView.blockId) {
    s.toast({ kind: 'error', title: 'A block cannot contain itself', lines: ['Place it in the main graph, or in another block.'] });
    return;
  }
  const { doc, id } = addItem(scopeDoc(s.doc, s.blockView), item, position);
  s.edit(() => doc, { select: [id] });
}

export function Palette() {
  const [query, setQuery] = useState('');
  const inBlock = useEditor((s) => s.blockView !== null);
  const flow = useReactFlow();
  const [ghost, setGhost] = useState<{ label: string; x: number; y: number } | null>(null);
  const drag = useRef<{ entry: Entry; x: number; y: number; active: boolean } | null>(null);

  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const all = inBlock ? [...BLOCK_PORT_ENTRIES, ...ENTRIES] : ENTRIES;
    const hits = all.filter((e) => !q || e.label.toLowerCase().includes(q) || e.aliases.some((a) => a.toLowerCase().includes(q)));
    const byCat = new Map<string, Entry[]>();
    for (const e of hits) byCat.set(e.category, [...(byCat.get(e.category) ?? []), e]);
    return [...byCat.entries()].sort((a, b) => CATEGORY_ORDER.indexOf(a[0]) - CATEGORY_ORDER.indexOf(b[0]));
  }, [query, inBlock]);

  const centre = () => {
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
    const p = pane ? { x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 } : { x: innerWidth / 2, y: innerHeight / 2 };
    const pos = flow.screenToFlowPosition(p);
    // Nudge so that repeated adds do not stack exactly.
    const n = useEditor.getState().doc.nodes.length % 5;
    return { x: pos.x - 90 + n * 16, y: pos.y - 30 + n * 16 };
  };

  const onPointerDown = (e: ReactPointerEvent, entry: Entry) => {
    if (e.button !== 0) return;
    drag.current = { entry, x: e.clientX, y: e.clientY, active: false };
    const move = (ev: PointerEvent) => {
      const d = drag.current;
      if (!d) return;
      if (!d.active && Math.hypot(ev.clientX - d.x, ev.clientY - d.y) > 4) d.active = true;
      if (d.active) setGhost({ label: d.entry.label, x: ev.clientX, y: ev.clientY });
    };
    const up = (ev: PointerEvent) => {
      removeEventListener('pointermove', move);
      removeEventListener('pointerup', up);
      const d = drag.current;
      drag.current = null;
      setGhost(null);
      if (!d?.active) return;
      const under = document.elementFromPoint(ev.clientX, ev.clientY);
      if (!under?.closest('.pb-canvas') || under.closest('.react-flow__minimap, .react-flow__controls')) return;
      const pos = flow.screenToFlowPosition({ x: ev.clientX, y: ev.clientY });
      place(d.entry.item, { x: pos.x - 90, y: pos.y - 20 });
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
          placeholder="Search layers and blocks"
          aria-label="Search layers and blocks"
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
      {ghost && <div className="pb-drag-ghost" style={{ left: ghost.x, top: ghost.y }}>{ghost.label}</div>}
    </aside>
  );
}
