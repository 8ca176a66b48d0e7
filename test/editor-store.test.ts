/**
 * A headless editor: the store made by createEditorStore(), driven without a DOM. Edits, history
 * and the keyboard-shortcut table work on it as they do in the page.
 */
import { describe, expect, it } from 'vitest';
import { createEditorStore, useEditor } from '../src/editor/store';
import { addConnected, addItem, canInsert, connect, emptyDocument, insertIntoEdge } from '../src/editor/graph-ops';
import { hasUnplaced, layoutUnplaced } from '../src/editor/layout';
import { analyze } from '../src/compiler/infer';
import type { GraphDocument } from '../src/document/schema';
import { handleShortcut, keyLabel, matches, shortcutLabel, SHORTCUTS, type ShortcutContext } from '../src/editor/shortcuts';

function addNode(store: ReturnType<typeof createEditorStore>, type: string, y: number): string {
  let id = '';
  store.getState().edit(
    (d) => {
      const r = addItem(d, { kind: 'layer', type }, { x: 0, y });
      id = r.id;
      return r.doc;
    },
    { select: [] },
  );
  return id;
}

const key = (k: string, mods: { ctrl?: boolean; shift?: boolean } = {}) => {
  let prevented = false;
  const e = {
    key: k,
    ctrlKey: !!mods.ctrl,
    metaKey: false,
    shiftKey: !!mods.shift,
    altKey: false,
    preventDefault: () => {
      prevented = true;
    },
  };
  return { e: e as unknown as KeyboardEvent, prevented: () => prevented };
};

describe('a headless editor store', () => {
  it('adds nodes, connects them, undoes and redoes each step', () => {
    const store = createEditorStore();
    const input = addNode(store, 'Input', 0);
    const dense = addNode(store, 'Dense', 150);
    store.getState().edit((d) => connect(d, { source: input, sourcePort: 'out', target: dense, targetPort: 'in' }));

    const doc = store.getState().doc;
    expect(doc.nodes.map((n) => [n.id, n.type])).toEqual([
      ['input', 'Input'],
      ['dense', 'Dense'],
    ]);
    expect(doc.edges.map((e) => `${e.source}.${e.sourcePort}->${e.target}.${e.targetPort}`)).toEqual(['input.out->dense.in']);
    // The analysis sees a wired model: Dense 10 on the default 28×28×1 input keeps its rank.
    expect(analyze(doc).main.nodes.get('dense')?.outputs?.out).toEqual([null, 28, 28, 10]);
    expect(store.getState().past).toHaveLength(3);

    store.getState().undo();
    expect(store.getState().doc.edges).toEqual([]);
    expect(store.getState().doc.nodes).toHaveLength(2);
    store.getState().undo();
    expect(store.getState().doc.nodes.map((n) => n.id)).toEqual(['input']);
    store.getState().undo();
    expect(store.getState().doc.nodes).toEqual([]);
    store.getState().undo(); // nothing left: no change
    expect(store.getState().doc.nodes).toEqual([]);

    store.getState().redo();
    store.getState().redo();
    store.getState().redo();
    expect(store.getState().doc).toBe(doc);
    expect(store.getState().future).toEqual([]);
    // A new edit after an undo drops the redo branch.
    store.getState().undo();
    addNode(store, 'Flatten', 300);
    expect(store.getState().future).toEqual([]);
    expect(store.getState().doc.edges).toEqual([]);
  });

  it('gives each editor its own state, apart from the app store', () => {
    const a = createEditorStore();
    const b = createEditorStore();
    addNode(a, 'Input', 0);
    expect(a.getState().doc.nodes).toHaveLength(1);
    expect(b.getState().doc.nodes).toHaveLength(0);
    expect(useEditor.getState().doc.nodes).toHaveLength(0);
  });

  it('a drag is one undo step', () => {
    const store = createEditorStore();
    const id = addNode(store, 'Dense', 0);
    const s = store.getState();
    s.beginGesture();
    for (let x = 10; x <= 50; x += 10)
      store.getState().editLive((d) => ({ ...d, nodes: d.nodes.map((n) => (n.id === id ? { ...n, position: { x, y: 0 } } : n)) }));
    store.getState().endGesture();
    expect(store.getState().doc.nodes[0]!.position).toEqual({ x: 50, y: 0 });
    store.getState().undo();
    expect(store.getState().doc.nodes[0]!.position).toEqual({ x: 0, y: 0 });
  });
});

describe('the shortcut table drives the keys and the help', () => {
  const context = (store: ReturnType<typeof createEditorStore>, log: string[] = []): ShortcutContext => ({
    store,
    fitView: () => log.push('fit'),
    openPicker: () => log.push('open'),
    save: () => log.push('save'),
    group: () => log.push('group'),
  });

  it('runs undo, select-all, delete, copy and paste on a headless store', () => {
    const store = createEditorStore();
    const ctx = context(store);
    addNode(store, 'Input', 0);
    addNode(store, 'Dense', 100);
    const selectAll = key('a', { ctrl: true });
    expect(handleShortcut(selectAll.e, ctx, false)).toBe(true);
    expect(selectAll.prevented()).toBe(true);
    expect(store.getState().selectedNodes).toEqual(['input', 'dense']);
    handleShortcut(key('c', { ctrl: true }).e, ctx, false);
    handleShortcut(key('v', { ctrl: true }).e, ctx, false);
    expect(store.getState().doc.nodes.map((n) => n.id)).toEqual(['input', 'dense', 'input_2', 'dense_2']);
    expect(store.getState().selectedNodes).toEqual(['input_2', 'dense_2']);
    handleShortcut(key('Delete').e, ctx, false);
    expect(store.getState().doc.nodes).toHaveLength(2);
    handleShortcut(key('z', { ctrl: true }).e, ctx, false);
    expect(store.getState().doc.nodes).toHaveLength(4);
    handleShortcut(key('Z', { ctrl: true, shift: true }).e, ctx, false);
    expect(store.getState().doc.nodes).toHaveLength(2);
    // Delete with nothing selected leaves the key to the browser.
    const del = key('Backspace');
    expect(handleShortcut(del.e, ctx, false)).toBe(false);
    expect(del.prevented()).toBe(false);
  });

  it('leaves keys to a focused field, except the global ones', () => {
    const store = createEditorStore();
    const log: string[] = [];
    addNode(store, 'Input', 0);
    expect(handleShortcut(key('z', { ctrl: true }).e, context(store, log), true)).toBe(false);
    expect(store.getState().doc.nodes).toHaveLength(1);
    expect(handleShortcut(key('s', { ctrl: true }).e, context(store, log), true)).toBe(true);
    expect(handleShortcut(key('f').e, context(store, log), false)).toBe(true);
    expect(handleShortcut(key('F', { shift: true }).e, context(store, log), false)).toBe(false);
    expect(log).toEqual(['save', 'fit']);
    handleShortcut(key('?', { shift: true }).e, context(store, log), false);
    expect(store.getState().dialog).toBe('shortcuts');
    // With a dialog open, the canvas keys wait.
    expect(handleShortcut(key('f').e, context(store, log), false)).toBe(false);
  });

  it('writes the help from the same bindings', () => {
    expect(keyLabel('mod+shift+z')).toBe('Ctrl+Shift+Z');
    expect(matches('mod+shift+z', { key: 'Z', ctrlKey: true, metaKey: false, shiftKey: true, altKey: false })).toBe(true);
    expect(matches('mod+z', { key: 'z', ctrlKey: false, metaKey: true, shiftKey: false, altKey: false })).toBe(true);
    expect(matches('mod+z', { key: 'z', ctrlKey: true, metaKey: false, shiftKey: true, altKey: false })).toBe(false);
    const lines = SHORTCUTS.map((s) => `${shortcutLabel(s)}: ${s.help}`);
    expect(lines).toContain('Ctrl+Shift+Z or Ctrl+Y: Redo');
    expect(lines).toContain('Delete or Backspace: Delete the selection');
    // Every row is either a key binding with an action, or a gesture described for the help.
    for (const s of SHORTCUTS) expect(!!s.keys === !!s.run && !!s.keys !== !!s.gesture).toBe(true);
  });
});

describe('quick add, insert into a wire and layout, as pure edits', () => {
  const graph = () => {
    const store = createEditorStore();
    const input = addNode(store, 'Input', 0);
    const flatten = addNode(store, 'Flatten', 150);
    store.getState().edit((d) => connect(d, { source: input, sourcePort: 'out', target: flatten, targetPort: 'in' }));
    return store;
  };

  it('a dropped output wire connects the new node through a port that can take it', () => {
    const doc = graph().getState().doc;
    const analysis = analyze(doc);
    const from = { nodeId: 'flatten', port: 'out', side: 'source' } as const;
    const dense = addConnected(doc, analysis, { kind: 'layer', type: 'Dense' }, { x: 0, y: 300 }, from);
    expect(dense?.connection).toEqual({ source: 'flatten', sourcePort: 'out', target: 'dense', targetPort: 'in' });
    expect(dense?.doc.edges).toHaveLength(2);
    // A rank-2 vector cannot feed Conv2D (rank 4): not offered. An Input takes no wire at all.
    expect(addConnected(doc, analysis, { kind: 'layer', type: 'Conv2D' }, { x: 0, y: 300 }, from)).toBeNull();
    expect(addConnected(doc, analysis, { kind: 'layer', type: 'Input' }, { x: 0, y: 300 }, from)).toBeNull();
    // A library block not yet in the document brings its definition along.
    const patch = addConnected(doc, analysis, { kind: 'block', id: 'PatchEmbed' }, { x: 0, y: 300 }, { nodeId: 'input', port: 'out', side: 'source' });
    expect(patch?.connection.targetPort).toBe('x');
    expect(patch?.doc.blocks.map((b) => b.id)).toEqual(['PatchEmbed']);
  });

  it('a dropped input wire is fed by the new node, unless the input is taken', () => {
    const doc = graph().getState().doc;
    const analysis = analyze(doc);
    const taken = addConnected(doc, analysis, { kind: 'layer', type: 'Dense' }, { x: 0, y: 0 }, { nodeId: 'flatten', port: 'in', side: 'target' });
    expect(taken).toBeNull();
    const free = { ...doc, edges: [] };
    const fed = addConnected(free, analyze(free), { kind: 'layer', type: 'Dense' }, { x: 0, y: 0 }, { nodeId: 'flatten', port: 'in', side: 'target' });
    expect(fed?.connection).toEqual({ source: 'dense', sourcePort: 'out', target: 'flatten', targetPort: 'in' });
  });

  it('inserts a free node into a wire, or says why not', () => {
    const store = graph();
    const dropout = addNode(store, 'Dropout', 300);
    const doc = store.getState().doc;
    const edgeId = doc.edges[0]!.id;
    const shapes = (trial: typeof doc) => {
      const a = analyze(trial);
      return (id: string, port: string) => a.main.nodes.get(id)?.outputs?.[port];
    };
    const result = insertIntoEdge(doc, analyze(doc), dropout, edgeId, shapes);
    if ('error' in result) throw new Error(result.error);
    expect(result.doc.edges.map((e) => `${e.source}->${e.target}`)).toEqual(['input->dropout', 'dropout->flatten']);
    // A wired node, or one without an input, is refused with a reason.
    expect(canInsert(result.doc, new Map(), 'input', result.doc.edges[1]!.id)).toBe(false);
    const again = insertIntoEdge(result.doc, analyze(result.doc), 'dropout', result.doc.edges[1]!.id, shapes);
    expect('error' in again && again.error).toMatch(/no wires yet/);
    // The shape check runs on the far side too: a Dense after Flatten gives rank 2, which a Conv2D refuses.
    const s2 = createEditorStore();
    const i = addNode(s2, 'Input', 0);
    const c = addNode(s2, 'Conv2D', 150);
    s2.getState().edit((d) => connect(d, { source: i, sourcePort: 'out', target: c, targetPort: 'in' }));
    const f = addNode(s2, 'Flatten', 300);
    const d2 = s2.getState().doc;
    const refused = insertIntoEdge(d2, analyze(d2), f, d2.edges[0]!.id, shapes);
    expect('error' in refused && refused.error).toMatch(/Conv2D "conv2d" expects rank 4/);
  });

  it('lays out only the nodes without positions, beside the placed ones', async () => {
    const doc = graph().getState().doc;
    const sizes = new Map(doc.nodes.map((n) => [n.id, { width: 200, height: 90 }]));
    const none: GraphDocument = { ...doc, nodes: doc.nodes.map(({ position: _p, ...n }) => n) };
    expect(hasUnplaced(none)).toBe(true);
    const all = await layoutUnplaced(none, sizes);
    const [a, b] = all.nodes.map((n) => n.position!);
    expect(b!.y).toBeGreaterThanOrEqual(a!.y + 90); // input above flatten, not overlapping
    const partial: GraphDocument = { ...doc, nodes: [...doc.nodes, { id: 'x1', type: 'Dense', params: {} }, { id: 'x2', type: 'Dense', params: {} }] };
    const laid = await layoutUnplaced(partial, sizes);
    expect(laid.nodes.slice(0, 2)).toEqual(doc.nodes.slice(0, 2));
    const right = Math.max(...doc.nodes.map((n) => n.position!.x + 200));
    for (const n of laid.nodes.slice(2)) expect(n.position!.x).toBeGreaterThan(right);
    expect(hasUnplaced(laid)).toBe(false);
    expect(await layoutUnplaced(laid, sizes)).toBe(laid);
  });
});

describe('layout of a huge graph without positions', () => {
  it('places 5,000 chained nodes in layers without ELK, one per row, none overlapping', async () => {
    const nodes = Array.from({ length: 5000 }, (_, i) => ({ id: `n${i}`, type: i ? 'Dense' : 'Input', params: {} }));
    const edges = nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: `n${i}`, sourcePort: 'out', target: n.id, targetPort: 'in' }));
    const doc: GraphDocument = { ...emptyDocument('huge'), nodes, edges };
    const laid = await layoutUnplaced(doc, new Map());
    const ys = laid.nodes.map((n) => n.position!.y);
    expect(laid.nodes.every((n) => n.position!.x === 0)).toBe(true);
    for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBe(90 + 56);
  });
});
