/**
 * The editor store: one zustand store per editor, with a document slice (the only undoable state,
 * kept as a snapshot stack of immutable documents) and a ui slice (selection, panels, toasts, block
 * view). Compiler output is derived from the document in analysis.ts, never stored here.
 * `createEditorStore()` makes a fresh one (a headless editor in tests needs no DOM); the app uses
 * the `useEditor` instance.
 */
import { create } from 'zustand';
import type { GraphDocument } from '../document/schema';
import { emptyDocument } from './graph-ops';

const HISTORY_LIMIT = 200;

export type Panel = 'inspector' | 'issues' | 'summary' | 'code' | 'train';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  title: string;
  lines?: string[];
}

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
  /** Editing a block's body, entered from one of its instances (whose shapes are shown). */
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
  openBlock: (nodeId: string, blockId: string) => void;
  closeBlock: () => void;
  toast: (t: Omit<Toast, 'id'>) => void;
  dismiss: (id: number) => void;
  setDialog: (d: EditorState['dialog']) => void;
  /** Selects and centres a node: of the main graph (leaving an open block), or with `inBlock` of the open block's body. */
  focusNode: (nodeId: string, inBlock?: boolean) => void;
  requestFit: () => void;
  setDropEdge: (edgeId: string | null) => void;
}

type BlockView = EditorState['blockView'];

/**
 * The graph being edited, as a document: the main graph, or, while a block is open, the block's body
 * in place of the main graph's nodes and edges. Every document edit (graph-ops) works on either.
 */
export function scopeDoc(doc: GraphDocument, blockView: BlockView): GraphDocument {
  if (!blockView) return doc;
  const def = doc.blocks.find((b) => b.id === blockView.blockId);
  return def ? { ...doc, nodes: def.nodes, edges: def.edges } : doc;
}

/** Writes an edited scope back: the main graph as is, or the block body into its definition. */
export function unscopeDoc(doc: GraphDocument, blockView: BlockView, scoped: GraphDocument): GraphDocument {
  if (!blockView) return scoped;
  const blocks = scoped.blocks.map((b) => (b.id === blockView.blockId && (b.nodes !== scoped.nodes || b.edges !== scoped.edges) ? { ...b, nodes: scoped.nodes, edges: scoped.edges } : b));
  return { ...scoped, nodes: doc.nodes, edges: doc.edges, blocks };
}

const pruneSelection = (doc: GraphDocument, blockView: BlockView, nodes: string[], edges: string[]) => {
  const scope = scopeDoc(doc, blockView);
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
      const blockView = s.blockView && doc.nodes.some((n) => n.id === s.blockView!.nodeId) ? s.blockView : null;
      const selection = options.select ? { selectedNodes: options.select, selectedEdges: [] } : pruneSelection(doc, blockView, s.selectedNodes, s.selectedEdges);
      set({ doc, past, future: [], coalesceKey: options.coalesce ?? null, ...selection, blockView });
    },
    edit: (fn, options) => {
      const s = get();
      const scoped = scopeDoc(s.doc, s.blockView);
      const next = fn(scoped);
      if (next !== scoped) s.commit(unscopeDoc(s.doc, s.blockView, next), options);
    },
    editLive: (fn) => {
      const s = get();
      const scoped = scopeDoc(s.doc, s.blockView);
      const next = fn(scoped);
      if (next !== scoped) s.live(unscopeDoc(s.doc, s.blockView, next));
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
      const blockView = s.blockView && prev.nodes.some((n) => n.id === s.blockView!.nodeId) && prev.blocks.some((b) => b.id === s.blockView!.blockId) ? s.blockView : null;
      set({ doc: prev, past: past.slice(0, -1), future: [doc, ...future], coalesceKey: null, blockView, ...pruneSelection(prev, blockView, s.selectedNodes, s.selectedEdges) });
    },
    redo: () => {
      const { past, doc, future, selectedNodes, selectedEdges, blockView: open } = get();
      const next = future[0];
      if (!next) return;
      const blockView = open && next.nodes.some((n) => n.id === open.nodeId) && next.blocks.some((b) => b.id === open.blockId) ? open : null;
      set({ doc: next, past: [...past, doc], future: future.slice(1), coalesceKey: null, blockView, ...pruneSelection(next, blockView, selectedNodes, selectedEdges) });
    },
    endCoalesce: () => set({ coalesceKey: null }),
    reset: (doc) => set({ doc, past: [], future: [], coalesceKey: null, selectedNodes: [], selectedEdges: [], blockView: null }),

    select: (nodes, edges = []) => {
      const s = get();
      const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
      if (same(nodes, s.selectedNodes) && same(edges, s.selectedEdges)) return;
      set({ selectedNodes: nodes, selectedEdges: edges, coalesceKey: null });
    },
    setPanel: (panel) => set({ panel }),
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
    setDropEdge: (dropEdge) => { if (get().dropEdge !== dropEdge) set({ dropEdge }); },
    focusNode: (nodeId, inBlock = false) => set({ focusRequest: { nodeId, n: (get().focusRequest?.n ?? 0) + 1 }, selectedNodes: [nodeId], selectedEdges: [], blockView: inBlock ? get().blockView : null }),
  }));
}

export type EditorStore = ReturnType<typeof createEditorStore>;

/** The app's editor. */
export const useEditor: EditorStore = createEditorStore();
