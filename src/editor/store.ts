/**
 * The editor store: one zustand store per editor, with a document slice (the only undoable state,
 * kept as a snapshot stack of immutable documents) and a ui slice (selection, panels, toasts, block
 * view). Compiler output is derived from the document in analysis.ts, never stored here.
 * `createEditorStore()` makes a fresh one (a headless editor in tests needs no DOM); the app uses
 * the `useEditor` instance.
 */
import { create } from 'zustand';
import { MAIN_NETWORK, type GraphDocument } from '../document/schema';
import { emptyDocument } from './graph-ops';

const HISTORY_LIMIT = 200;

export type Panel = 'inspector' | 'issues' | 'summary' | 'code' | 'train';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  title: string;
  lines?: string[];
}

/**
 * Which graph of the document the canvas shows: a network (the main one, "model", is the top-level
 * nodes and edges) or a procedure of the training program. A block opened from one of the tab's
 * instances shows on top of it (`blockView`).
 */
export interface Tab {
  kind: 'network' | 'procedure';
  id: string;
}

export const MAIN_TAB: Tab = { kind: 'network', id: MAIN_NETWORK };

/** The graph on show, as one value: a network, a procedure, or a block body opened inside a network. */
export type GraphOnShow = { kind: 'network' | 'procedure'; id: string } | { kind: 'block'; id: string; nodeId: string; network: string };

export interface EditorState {
  doc: GraphDocument;
  past: GraphDocument[];
  future: GraphDocument[];
  /** Consecutive commits with the same key (typing in one field) make one undo step. */
  coalesceKey: string | null;
  /** The document before a gesture (a drag) began; the gesture is pushed as one step when it ends. */
  gestureBase: GraphDocument | null;

  selectedNodes: string[];
  selectedEdges: string[];
  panel: Panel;
  /** The network or procedure on show (documents with networks or a program show tabs). */
  tab: Tab;
  /** Editing a block's body, entered from one of its instances in the tab's network (whose shapes are shown). */
  blockView: { nodeId: string; blockId: string } | null;
  toasts: Toast[];
  dialog: 'templates' | 'shortcuts' | null;
  /** Bumped to ask the canvas to centre on a node. */
  focusRequest: { nodeId: string; n: number } | null;
  /** Bumped to ask the canvas to fit the view (after a template or a file loads). */
  fitN: number;
  /** The wire a dragged node would be inserted into if dropped now (highlighted on the canvas). */
  dropEdge: string | null;

  commit: (doc: GraphDocument, options?: { coalesce?: string; select?: string[] }) => void;
  /** Edits the graph on show (the main graph, or the open block's body) as one undo step. */
  edit: (fn: (scoped: GraphDocument) => GraphDocument, options?: { coalesce?: string; select?: string[] }) => void;
  /** The same inside a gesture (a drag): no history entry until the gesture ends. */
  editLive: (fn: (scoped: GraphDocument) => GraphDocument) => void;
  beginGesture: () => void;
  /** Changes the document without a history entry (only inside a gesture). */
  live: (doc: GraphDocument) => void;
  endGesture: () => void;
  undo: () => void;
  redo: () => void;
  endCoalesce: () => void;
  /** Replaces the whole state, e.g. restored from autosave: no history. */
  reset: (doc: GraphDocument) => void;

  select: (nodes: string[], edges?: string[]) => void;
  setPanel: (panel: Panel) => void;
  /** Shows another network or procedure (leaves an open block). */
  openTab: (tab: Tab) => void;
  openBlock: (nodeId: string, blockId: string) => void;
  closeBlock: () => void;
  toast: (t: Omit<Toast, 'id'>) => void;
  dismiss: (id: number) => void;
  setDialog: (d: EditorState['dialog']) => void;
  /** Selects and centres a node: of the tab's graph (leaving an open block), with `inBlock` of the open block's body, or with `tab` of that tab. */
  focusNode: (nodeId: string, inBlock?: boolean, tab?: Tab) => void;
  requestFit: () => void;
  setDropEdge: (edgeId: string | null) => void;
}

type BlockView = EditorState['blockView'];

/** The nodes and edges of a tab's graph, or null when the document has no such network or procedure. */
export function tabBody(doc: GraphDocument, tab: Tab): { nodes: GraphDocument['nodes']; edges: GraphDocument['edges'] } | null {
  if (tab.kind === 'network') return tab.id === MAIN_NETWORK ? doc : (doc.networks.find((n) => n.id === tab.id) ?? null);
  return doc.program?.procedures.find((p) => p.id === tab.id) ?? null;
}

/** The tab itself when the document still has it, else the main network. */
export const validTab = (doc: GraphDocument, tab: Tab): Tab => (tab === MAIN_TAB || tabBody(doc, tab) ? tab : MAIN_TAB);

/**
 * The graph being edited, as a document: the tab's graph (a network or a procedure) in place of the
 * top-level nodes and edges, or, while a block is open, the block's body. Every document edit
 * (graph-ops) works on any of them.
 */
export function scopeDoc(doc: GraphDocument, blockView: BlockView, tab: Tab = MAIN_TAB): GraphDocument {
  if (blockView) {
    const def = doc.blocks.find((b) => b.id === blockView.blockId);
    if (def) return { ...doc, nodes: def.nodes, edges: def.edges };
  }
  if (tab.kind === 'network' && tab.id === MAIN_NETWORK) return doc;
  const body = tabBody(doc, tab);
  return body ? { ...doc, nodes: body.nodes, edges: body.edges } : doc;
}

/** Writes an edited scope back: the main graph as is, a network or procedure into its place, or the block body into its definition. */
export function unscopeDoc(doc: GraphDocument, blockView: BlockView, scoped: GraphDocument, tab: Tab = MAIN_TAB): GraphDocument {
  if (blockView) {
    const blocks = scoped.blocks.map((b) =>
      b.id === blockView.blockId && (b.nodes !== scoped.nodes || b.edges !== scoped.edges) ? { ...b, nodes: scoped.nodes, edges: scoped.edges } : b,
    );
    const outer = scopeDoc(doc, null, tab);
    return unscopeDoc(doc, null, { ...scoped, nodes: outer.nodes, edges: outer.edges, blocks }, tab);
  }
  if (tab.kind === 'network' && tab.id === MAIN_NETWORK) return scoped;
  const base = { ...scoped, nodes: doc.nodes, edges: doc.edges };
  const changed = <T extends { nodes: unknown; edges: unknown }>(x: T): T =>
    x.nodes !== scoped.nodes || x.edges !== scoped.edges ? { ...x, nodes: scoped.nodes, edges: scoped.edges } : x;
  if (tab.kind === 'network') return { ...base, networks: scoped.networks.map((n) => (n.id === tab.id ? changed(n) : n)) };
  const program = scoped.program;
  return program ? { ...base, program: { ...program, procedures: program.procedures.map((p) => (p.id === tab.id ? changed(p) : p)) } } : base;
}

/** The graph on show in a state: the store's two fields as one value. */
export function graphOnShow(s: Pick<EditorState, 'tab' | 'blockView'>): GraphOnShow {
  return s.blockView ? { kind: 'block', id: s.blockView.blockId, nodeId: s.blockView.nodeId, network: s.tab.id } : s.tab;
}

/** The graph on show of a state, as a document (what graph-ops edit). */
export const scopedOf = (s: Pick<EditorState, 'doc' | 'tab' | 'blockView'>): GraphDocument => scopeDoc(s.doc, s.blockView, s.tab);

/** The tabs whose graph differs between two versions of a document (by identity: edits keep untouched graphs). */
function changedTabs(a: GraphDocument, b: GraphDocument): Tab[] {
  const differ = (x: { nodes: unknown; edges: unknown } | null, y: { nodes: unknown; edges: unknown } | null) =>
    !x || !y || x.nodes !== y.nodes || x.edges !== y.edges;
  const tabs: Tab[] = [
    MAIN_TAB,
    ...b.networks.map((n): Tab => ({ kind: 'network', id: n.id })),
    ...(b.program?.procedures ?? []).map((p): Tab => ({ kind: 'procedure', id: p.id })),
  ];
  return tabs.filter((t) => differ(tabBody(a, t), tabBody(b, t)));
}

/**
 * The tab to show after undo or redo: the one on show when the step changed it (or changed
 * nothing visible), else the one graph the step changed, so that an undo is never invisible.
 */
function tabAfterStep(from: GraphDocument, to: GraphDocument, shown: Tab): Tab {
  const tab = validTab(to, shown);
  const changed = changedTabs(from, to);
  if (changed.length !== 1 || changed.some((t) => t.kind === tab.kind && t.id === tab.id)) return tab;
  return changed[0]!;
}

/** Whether the open block still stands in the tab's graph of `doc`. */
const blockStands = (doc: GraphDocument, tab: Tab, blockView: BlockView): boolean =>
  !!blockView &&
  tab.kind === 'network' &&
  !!tabBody(doc, tab)?.nodes.some((n) => n.id === blockView.nodeId) &&
  doc.blocks.some((b) => b.id === blockView.blockId);

const pruneSelection = (doc: GraphDocument, tab: Tab, blockView: BlockView, nodes: string[], edges: string[]) => {
  const scope = scopeDoc(doc, blockView, tab);
  const n = new Set(scope.nodes.map((x) => x.id));
  const e = new Set(scope.edges.map((x) => x.id));
  return { selectedNodes: nodes.filter((id) => n.has(id)), selectedEdges: edges.filter((id) => e.has(id)) };
};

/** A new, empty editor: its own document, history and ui state. */
export function createEditorStore() {
  let toastIds = 0;
  return create<EditorState>()((set, get) => ({
    doc: emptyDocument(),
    past: [],
    future: [],
    coalesceKey: null,
    gestureBase: null,
    selectedNodes: [],
    selectedEdges: [],
    panel: 'inspector',
    tab: MAIN_TAB,
    blockView: null,
    toasts: [],
    dialog: null,
    focusRequest: null,
    fitN: 0,
    dropEdge: null,

    commit: (doc, options = {}) => {
      const s = get();
      if (doc === s.doc) return;
      const coalesce = options.coalesce !== undefined && options.coalesce === s.coalesceKey;
      const past = coalesce ? s.past : [...s.past, s.doc].slice(-HISTORY_LIMIT);
      const tab = validTab(doc, s.tab);
      const blockView = blockStands(doc, tab, s.blockView) ? s.blockView : null;
      const selection = options.select
        ? { selectedNodes: options.select, selectedEdges: [] }
        : pruneSelection(doc, tab, blockView, s.selectedNodes, s.selectedEdges);
      set({ doc, past, future: [], coalesceKey: options.coalesce ?? null, ...selection, tab, blockView });
    },
    edit: (fn, options) => {
      const s = get();
      const scoped = scopedOf(s);
      const next = fn(scoped);
      if (next !== scoped) s.commit(unscopeDoc(s.doc, s.blockView, next, s.tab), options);
    },
    editLive: (fn) => {
      const s = get();
      const scoped = scopedOf(s);
      const next = fn(scoped);
      if (next !== scoped) s.live(unscopeDoc(s.doc, s.blockView, next, s.tab));
    },
    beginGesture: () => {
      if (!get().gestureBase) set({ gestureBase: get().doc, coalesceKey: null });
    },
    live: (doc) => set({ doc }),
    endGesture: () => {
      const { gestureBase, doc, past } = get();
      if (!gestureBase) return;
      if (gestureBase === doc) set({ gestureBase: null });
      else set({ gestureBase: null, past: [...past, gestureBase].slice(-HISTORY_LIMIT), future: [] });
    },
    undo: () => {
      const s = get();
      if (s.gestureBase) s.endGesture();
      const { past, doc, future } = get();
      const prev = past[past.length - 1];
      if (!prev) return;
      const tab = tabAfterStep(doc, prev, s.tab);
      const blockView = tab === s.tab && blockStands(prev, tab, s.blockView) ? s.blockView : null;
      set({
        doc: prev,
        past: past.slice(0, -1),
        future: [doc, ...future],
        coalesceKey: null,
        tab,
        blockView,
        ...pruneSelection(prev, tab, blockView, s.selectedNodes, s.selectedEdges),
        fitN: tab === s.tab ? s.fitN : s.fitN + 1,
      });
    },
    redo: () => {
      const { past, doc, future, selectedNodes, selectedEdges, blockView: open, tab: shown, fitN } = get();
      const next = future[0];
      if (!next) return;
      const tab = tabAfterStep(doc, next, shown);
      const blockView = tab === shown && blockStands(next, tab, open) ? open : null;
      set({
        doc: next,
        past: [...past, doc],
        future: future.slice(1),
        coalesceKey: null,
        tab,
        blockView,
        ...pruneSelection(next, tab, blockView, selectedNodes, selectedEdges),
        fitN: tab === shown ? fitN : fitN + 1,
      });
    },
    endCoalesce: () => set({ coalesceKey: null }),
    reset: (doc) => set({ doc, past: [], future: [], coalesceKey: null, selectedNodes: [], selectedEdges: [], tab: validTab(doc, get().tab), blockView: null }),

    select: (nodes, edges = []) => {
      const s = get();
      const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
      if (same(nodes, s.selectedNodes) && same(edges, s.selectedEdges)) return;
      set({ selectedNodes: nodes, selectedEdges: edges, coalesceKey: null });
    },
    setPanel: (panel) => set({ panel }),
    openTab: (tab) => {
      const s = get();
      if (s.tab.kind === tab.kind && s.tab.id === tab.id && !s.blockView) return;
      set({ tab: validTab(s.doc, tab), blockView: null, selectedNodes: [], selectedEdges: [], coalesceKey: null, fitN: s.fitN + 1 });
    },
    openBlock: (nodeId, blockId) => set({ blockView: { nodeId, blockId }, selectedNodes: [], selectedEdges: [], fitN: get().fitN + 1 }),
    closeBlock: () => set({ blockView: null, selectedNodes: [], selectedEdges: [], fitN: get().fitN + 1 }),
    toast: (t) => {
      const id = ++toastIds;
      set({ toasts: [...get().toasts.slice(-3), { ...t, id }] });
      if (t.kind === 'info') setTimeout(() => get().dismiss(id), 3500);
      else setTimeout(() => get().dismiss(id), 12000);
    },
    dismiss: (id) => set({ toasts: get().toasts.filter((t) => t.id !== id) }),
    setDialog: (dialog) => set({ dialog }),
    requestFit: () => set({ fitN: get().fitN + 1 }),
    setDropEdge: (dropEdge) => {
      if (get().dropEdge !== dropEdge) set({ dropEdge });
    },
    focusNode: (nodeId, inBlock = false, tab) =>
      set({
        focusRequest: { nodeId, n: (get().focusRequest?.n ?? 0) + 1 },
        selectedNodes: [nodeId],
        selectedEdges: [],
        blockView: inBlock && !tab ? get().blockView : null,
        ...(tab ? { tab: validTab(get().doc, tab) } : {}),
      }),
  }));
}

export type EditorStore = ReturnType<typeof createEditorStore>;

/** The app's editor. */
export const useEditor: EditorStore = createEditorStore();
