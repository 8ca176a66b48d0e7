/**
 * What can be placed on the canvas: every layer spec and library block, with the words a search
 * matches. The palette and the quick-add menu both list it.
 */
import { NODE_SPECS } from '../nodes/registry';
import { PROGRAM_SPECS } from '../nodes/program/specs';
import { MAIN_NETWORK, type GraphDocument } from '../document/schema';
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

export const CATEGORY_ORDER = [
  'Block ports',
  'Inputs',
  'Blocks',
  'Core',
  'Convolution',
  'Pooling',
  'Normalization',
  'Reshaping',
  'Merge',
  'Data',
  'Networks',
  'Augment',
  'Tensors',
  'Losses',
  'Training',
  'Evaluation',
];

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

/**
 * The entries of a procedure: the procedure nodes that belong in its kind (by category), and one
 * Network entry per network of the document.
 */
export function procedureEntries(doc: GraphDocument, kind: 'train' | 'evaluate'): CatalogEntry[] {
  const networks: CatalogEntry[] = [
    { id: MAIN_NETWORK, label: doc.name.trim() || 'Main network', description: "The main network (the document's own graph)." },
    ...doc.networks.map((n) => ({ id: n.id, label: n.label, description: n.description })),
  ].map((n) => ({
    key: `network:${n.id}`,
    label: n.label,
    category: 'Networks',
    description: `${n.description ? `${n.description} ` : ''}Applies the network "${n.id}"; apply it twice to share its weights.`.trim(),
    aliases: [n.id, 'network', 'apply'],
    item: { kind: 'network', network: n.id, label: n.label },
  }));
  const nodes = PROGRAM_SPECS.filter((s) => s.procedures.includes(kind)).map((s): CatalogEntry => ({
    key: `procedure:${s.type}`,
    label: s.label,
    category: s.category,
    description: s.description,
    aliases: [s.type],
    item: { kind: 'procedure', type: s.type },
  }));
  return [...nodes.filter((e) => e.category === 'Data'), ...networks, ...nodes.filter((e) => e.category !== 'Data')];
}

/** The entries for the graph on show: a procedure's nodes in a procedure tab, layers and blocks elsewhere. */
export function entriesFor(doc: GraphDocument, tab: { kind: 'network' | 'procedure'; id: string }, inBlock: boolean): CatalogEntry[] {
  if (tab.kind === 'procedure') {
    const proc = doc.program?.procedures.find((p) => p.id === tab.id);
    if (proc) return procedureEntries(doc, proc.kind);
  }
  return catalogEntries(inBlock);
}
