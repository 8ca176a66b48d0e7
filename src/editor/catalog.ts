/**
 * What can be placed on the canvas: every layer spec and library block, with the words a search
 * matches. The palette and the quick-add menu both list it.
 */
import { NODE_SPECS } from '../nodes/registry';
import { LIBRARY_BLOCKS } from '../nodes/blocks/index';
import type { PaletteItem } from './graph-ops';

export interface CatalogEntry {
  key: string;
  label: string;
  category: string;
  description: string;
  aliases: string[];
  item: PaletteItem;
}

export const CATEGORY_ORDER = ['Block ports', 'Inputs', 'Blocks', 'Core', 'Convolution', 'Pooling', 'Normalization', 'Reshaping', 'Merge'];

const layerEntry = (s: (typeof NODE_SPECS)[number]): CatalogEntry => ({
  key: `layer:${s.type}`,
  label: s.label,
  category: s.internal ? 'Block ports' : s.category,
  description: s.description,
  aliases: [s.type, ...(s.aliases ?? [])],
  item: { kind: 'layer', type: s.type },
});

/** Shown only while a block is open: the nodes that make its input and output ports. */
const BLOCK_PORT_ENTRIES: CatalogEntry[] = NODE_SPECS.filter((s) => s.internal).map(layerEntry);

const ENTRIES: CatalogEntry[] = [
  ...NODE_SPECS.filter((s) => !s.internal).map(layerEntry),
  ...LIBRARY_BLOCKS.map((b): CatalogEntry => ({
    key: `block:${b.id}`,
    label: b.label,
    category: b.category || 'Blocks',
    description: b.description,
    aliases: [b.id],
    item: { kind: 'block', id: b.id },
  })),
];

/** The entries for the graph on show: block port nodes only inside a block. */
export const catalogEntries = (inBlock: boolean): CatalogEntry[] => (inBlock ? [...BLOCK_PORT_ENTRIES, ...ENTRIES] : ENTRIES);

/** Entries whose label or an alias contains the query, in catalogue order. */
export function searchCatalog(entries: CatalogEntry[], query: string): CatalogEntry[] {
  const q = query.trim().toLowerCase();
  return entries.filter((e) => !q || e.label.toLowerCase().includes(q) || e.aliases.some((a) => a.toLowerCase().includes(q)));
}

/** The same, best match first (exact label, then label prefix, then the rest), for a menu where Enter takes the first. */
export function rankCatalog(entries: CatalogEntry[], query: string): CatalogEntry[] {
  const q = query.trim().toLowerCase();
  const score = (e: CatalogEntry) => {
    const l = e.label.toLowerCase();
    if (!q) return 0;
    if (l === q || e.aliases.some((a) => a.toLowerCase() === q)) return 0;
    if (l.startsWith(q)) return 1;
    if (l.split(/\s+/).some((w) => w.startsWith(q))) return 2;
    return 3;
  };
  return searchCatalog(entries, query)
    .map((e, i) => ({ e, i, s: score(e) }))
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .map((x) => x.e);
}
