/**
 * The editor's keyboard shortcuts, as one table of actions: each row holds the key binding, what
 * the key does and the line the help dialog shows, so the three cannot drift apart. Mouse gestures
 * are rows without a binding: listed in the help, handled where they happen (the canvas).
 */
import type { EditorStore } from './store';
import { scopedOf } from './store';
import { copyFragment, pasteFragment, removeItems, type Fragment } from './graph-ops';

/** What the actions reach outside the store. */
export interface ShortcutContext {
  store: EditorStore;
  fitView: () => void;
  openPicker: () => void;
  save: () => void;
  group: () => void;
}

export interface Shortcut {
  /** Key bindings like `mod+shift+z` (mod is Ctrl, or Cmd on a Mac); absent for mouse gestures. */
  keys?: string[];
  /** For gestures: how the help names them. */
  gesture?: string;
  help: string;
  /** Also while typing in a field or with a dialog open. */
  global?: boolean;
  /** Returns false when the key does nothing now (the browser keeps its default). */
  run?: (ctx: ShortcutContext) => boolean | void;
}

/** Copied nodes, shared by every editor on the page (as a system clipboard would be). */
let clipboard: Fragment | null = null;

const selection = (ctx: ShortcutContext) => {
  const s = ctx.store.getState();
  return { s, scoped: scopedOf(s), nodes: new Set(s.selectedNodes), edges: new Set(s.selectedEdges) };
};

const copy = (ctx: ShortcutContext, cut: boolean) => {
  const { s, scoped, nodes } = selection(ctx);
  const frag = copyFragment(scoped, nodes);
  if (!frag) return false;
  clipboard = frag;
  if (cut) s.edit((d) => removeItems(d, nodes, new Set()));
  return true;
};

export const SHORTCUTS: Shortcut[] = [
  { keys: ['mod+z'], help: 'Undo', run: (ctx) => ctx.store.getState().undo() },
  { keys: ['mod+shift+z', 'mod+y'], help: 'Redo', run: (ctx) => ctx.store.getState().redo() },
  {
    keys: ['Delete', 'Backspace'],
    help: 'Delete the selection',
    run: (ctx) => {
      const { s, nodes, edges } = selection(ctx);
      if (!nodes.size && !edges.size) return false;
      s.edit((d) => removeItems(d, nodes, edges));
    },
  },
  { keys: ['mod+c'], help: 'Copy the selected nodes', run: (ctx) => copy(ctx, false) },
  { keys: ['mod+x'], help: 'Cut the selected nodes', run: (ctx) => copy(ctx, true) },
  {
    keys: ['mod+v'],
    help: 'Paste nodes',
    run: (ctx) => {
      if (!clipboard) return false;
      const { s, scoped } = selection(ctx);
      const { doc, ids } = pasteFragment(scoped, clipboard);
      s.edit(() => doc, { select: ids });
      // The next paste lands a step further, not on top of this one.
      clipboard = { ...clipboard, nodes: clipboard.nodes.map((n) => ({ ...n, position: { x: (n.position?.x ?? 0) + 40, y: (n.position?.y ?? 0) + 40 } })) };
    },
  },
  {
    keys: ['mod+d'],
    help: 'Duplicate the selection',
    run: (ctx) => {
      const { s, scoped, nodes } = selection(ctx);
      const frag = copyFragment(scoped, nodes);
      if (!frag) return false;
      const { doc, ids } = pasteFragment(scoped, frag);
      s.edit(() => doc, { select: ids });
    },
  },
  { keys: ['mod+g'], help: 'Group the selection into a block', run: (ctx) => ctx.group() },
  {
    keys: ['mod+a'],
    help: 'Select every node',
    run: (ctx) => {
      const { s, scoped } = selection(ctx);
      s.select(scoped.nodes.map((n) => n.id));
    },
  },
  { gesture: 'Shift+drag', help: 'Select with a box' },
  { gesture: 'Shift+click', help: 'Add to the selection' },
  { gesture: 'Double-click the canvas', help: 'Add a node there: type to search, arrows and Enter to pick' },
  { gesture: 'Drop a wire on empty space', help: 'Add a node that takes (or feeds) that wire' },
  { gesture: 'Drop a node on a wire', help: 'Insert it into the wire' },
  { gesture: 'Double-click a block', help: 'Look inside it' },
  { keys: ['mod+s'], help: 'Save the graph as JSON', global: true, run: (ctx) => ctx.save() },
  { keys: ['mod+o'], help: 'Open a graph file', global: true, run: (ctx) => ctx.openPicker() },
  { keys: ['f'], help: 'Fit the graph in view', run: (ctx) => ctx.fitView() },
  {
    keys: ['Escape'],
    help: 'Clear the selection, then leave the block; closes dialogs and menus',
    run: (ctx) => {
      const s = ctx.store.getState();
      if (s.blockView && !s.selectedNodes.length && !s.selectedEdges.length) s.closeBlock();
      else s.select([]);
      return false;
    },
  },
  { keys: ['?'], help: 'This help', run: (ctx) => ctx.store.getState().setDialog('shortcuts') },
];

interface Binding {
  mod: boolean;
  shift: boolean;
  alt: boolean;
  key: string;
}

function parse(binding: string): Binding {
  const parts = binding.split('+');
  const key = parts.pop()!.toLowerCase();
  return { mod: parts.includes('mod'), shift: parts.includes('shift'), alt: parts.includes('alt'), key };
}

/** A letter or a named key needs its exact modifiers; a typed symbol (`?`) already implies its Shift. */
export function matches(binding: string, e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): boolean {
  const b = parse(binding);
  if (e.key.toLowerCase() !== b.key) return false;
  if ((e.ctrlKey || e.metaKey) !== b.mod || e.altKey !== b.alt) return false;
  const symbol = b.key.length === 1 && !/[a-z0-9]/.test(b.key);
  return symbol || e.shiftKey === b.shift;
}

/** How a binding reads in the help: `mod+shift+z` → `Ctrl+Shift+Z`. */
export function keyLabel(binding: string): string {
  const b = parse(binding);
  const key = b.key.length === 1 ? b.key.toUpperCase() : binding.split('+').pop()!;
  return [b.mod && 'Ctrl', b.alt && 'Alt', b.shift && 'Shift', key].filter(Boolean).join('+');
}

/** The help's left column for one row. */
export const shortcutLabel = (s: Shortcut): string => s.gesture ?? (s.keys ?? []).map(keyLabel).join(' or ');

/**
 * Runs the first action bound to the key. `typing` (a field has focus) and an open dialog leave
 * the key to the page, except for global actions. Returns whether an action took the key.
 */
export function handleShortcut(e: KeyboardEvent, ctx: ShortcutContext, typing: boolean): boolean {
  const blocked = typing || ctx.store.getState().dialog !== null;
  for (const s of SHORTCUTS) {
    if (!s.run || !s.keys?.some((k) => matches(k, e))) continue;
    if (blocked && !s.global) return false;
    if (s.run(ctx) === false) return false;
    e.preventDefault();
    return true;
  }
  return false;
}
