/**
 * The editor on a document with several networks and a training program, headless: tabs, edits in
 * the tab on show (one undo step each, undo staying in the tab), the palette of a procedure, the
 * procedure's shapes and ports as the canvas reads them, copy and paste inside a procedure.
 */
import { describe, expect, it } from 'vitest';
import { createEditorStore, scopedOf } from '../src/editor/store';
import { addConnected, addItem, connectionProblem, setParam } from '../src/editor/graph-ops';
import { entriesFor } from '../src/editor/catalog';
import { allDiagnosticsOf, procedurePortsOf, tabsOf, totalCountOf, viewResultsOf } from '../src/editor/program-view';
import { handleShortcut, type ShortcutContext } from '../src/editor/shortcuts';
import { templateDocument } from '../templates/index';
import type { GraphDocument } from '../src/document/schema';

function simsiam(): GraphDocument {
  const t = templateDocument('simsiam');
  if ('error' in t) throw new Error(t.error);
  return t.doc;
}

const pretrain = (doc: GraphDocument) => doc.program!.procedures.find((p) => p.id === 'pretrain')!;

describe('the editor on a training program', () => {
  it('has one tab per network, then one per procedure; a plain document has none', () => {
    const doc = simsiam();
    expect(tabsOf(doc).map((t) => `${t.tab.kind}:${t.tab.id}:${t.label}`)).toEqual([
      // The top-level graph under the program's own name for it, not the document's.
      'network:model:Encoder',
      'network:projector:Projector',
      'network:predictor:Predictor',
      'procedure:pretrain:Self-supervised training',
      'procedure:evaluate:Evaluation',
    ]);
    expect(tabsOf(createEditorStore().getState().doc)).toEqual([]);
    // Without a name of its own it goes by the document's.
    const unnamed = { ...doc, program: { ...doc.program!, mainNetwork: undefined } };
    expect(tabsOf(unnamed)[0]!.label).toBe(doc.name);
  });

  it('edits the procedure on show as one undo step, and undo and redo stay in its tab', () => {
    const store = createEditorStore();
    store.getState().reset(simsiam());
    store.getState().openTab({ kind: 'procedure', id: 'pretrain' });
    const before = store.getState().doc;
    let id = '';
    store.getState().edit(
      (d) => {
        const placed = addItem(d, { kind: 'procedure', type: 'GaussianNoise' }, { x: 10, y: 10 });
        id = placed.id;
        return placed.doc;
      },
      { select: [id] },
    );
    const after = store.getState().doc;
    expect(pretrain(after).nodes.map((n) => n.id)).toContain(id);
    expect(after.nodes).toBe(before.nodes);
    expect(after.networks).toBe(before.networks);
    expect(store.getState().past).toHaveLength(1);
    store.getState().undo();
    expect(store.getState().doc).toBe(before);
    expect(store.getState().tab).toEqual({ kind: 'procedure', id: 'pretrain' });
    store.getState().redo();
    expect(pretrain(store.getState().doc).nodes.map((n) => n.id)).toContain(id);
  });

  it('undo shows the graph it changes: an edit made in another tab brings that tab back', () => {
    const store = createEditorStore();
    store.getState().reset(simsiam());
    store.getState().openTab({ kind: 'network', id: 'predictor' });
    store.getState().edit((d) => setParam(d, 'predict', 'units', 32));
    store.getState().openTab({ kind: 'procedure', id: 'evaluate' });
    store.getState().undo();
    expect(store.getState().tab).toEqual({ kind: 'network', id: 'predictor' });
    expect(
      store
        .getState()
        .doc.networks.find((n) => n.id === 'predictor')!
        .nodes.find((n) => n.id === 'predict')!.params.units,
    ).not.toBe(32);
    store.getState().openTab({ kind: 'network', id: 'model' });
    store.getState().redo();
    expect(store.getState().tab).toEqual({ kind: 'network', id: 'predictor' });
  });

  it('edits another network in its own place, leaving the main network and the program alone', () => {
    const store = createEditorStore();
    store.getState().reset(simsiam());
    store.getState().openTab({ kind: 'network', id: 'projector' });
    expect(scopedOf(store.getState()).nodes.map((n) => n.id)).toContain('hiddenDense');
    const before = store.getState().doc;
    store.getState().edit((d) => setParam(d, 'hiddenDense', 'units', 128));
    const after = store.getState().doc;
    expect(after.networks.find((n) => n.id === 'projector')!.nodes.find((n) => n.id === 'hiddenDense')!.params.units).toBe(128);
    expect(after.networks.find((n) => n.id === 'predictor')).toBe(before.networks.find((n) => n.id === 'predictor'));
    expect(after.nodes).toBe(before.nodes);
    expect(after.program).toBe(before.program);
    // The projector's new width reaches the procedure's shapes.
    const view = viewResultsOf({ doc: after, tab: { kind: 'procedure', id: 'pretrain' }, blockView: null });
    expect(view.results!.nodes.get('projector1')!.params).toMatchObject({ network: 'projector' });
    expect(view.procedure!.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('falls back to the main network when the tab on show goes away', () => {
    const store = createEditorStore();
    store.getState().reset(simsiam());
    store.getState().openTab({ kind: 'procedure', id: 'evaluate' });
    const doc = store.getState().doc;
    store.getState().commit({ ...doc, program: { procedures: doc.program!.procedures.filter((p) => p.id !== 'evaluate') } });
    expect(store.getState().tab).toEqual({ kind: 'network', id: 'model' });
    // Undo brings the procedure back, and shows it.
    store.getState().undo();
    expect(store.getState().tab).toEqual({ kind: 'procedure', id: 'evaluate' });
  });

  it('shows a procedure with its shapes, ports and network sizes, and keeps untouched results', () => {
    const doc = simsiam();
    const s = { doc, tab: { kind: 'procedure' as const, id: 'pretrain' }, blockView: null };
    const view = viewResultsOf(s);
    expect(view.kind).toBe('procedure');
    expect(view.results!.nodes.get('projector1')!.outputs).toEqual({ z: [null, 128] });
    expect(view.results!.nodes.get('erase1')!.outputs).toEqual({ out: [null, 28, 28, 1] });
    expect(view.results!.nodes.get('loss')!.outputs).toEqual({ out: [] });
    const projector = view.networks!.get('projector')!;
    expect(view.results!.nodes.get('projector1')!.count).toEqual(projector.analysis.count);
    expect(
      procedurePortsOf(
        pretrain(doc).nodes.find((n) => n.id === 'encoder1')!,
        view.networks!,
      ),
    ).toEqual({ inputs: [{ name: 'image' }], outputs: [{ name: 'features' }] });
    // Moving a node changes no result: every node keeps its result object (the canvas redraws none).
    const moved = {
      ...doc,
      program: {
        procedures: doc.program!.procedures.map((p) =>
          p.id === 'pretrain' ? { ...p, nodes: p.nodes.map((n) => (n.id === 'minimize' ? { ...n, position: { x: 5, y: 5 } } : n)) } : p,
        ),
      },
    };
    const again = viewResultsOf({ ...s, doc: moved });
    for (const id of ['projector1', 'loss12', 'data']) expect(again.results!.nodes.get(id)).toBe(view.results!.nodes.get(id));
    expect(allDiagnosticsOf(doc).filter((d) => d.severity === 'error')).toEqual([]);
    expect(totalCountOf(doc).trainable).toBeGreaterThan(viewResultsOf({ ...s, tab: { kind: 'network', id: 'model' } }).analysis.count.trainable);
  });

  it('offers a procedure the nodes of its kind and one entry per network', () => {
    const doc = simsiam();
    const train = entriesFor(doc, { kind: 'procedure', id: 'pretrain' }, false).map((e) => e.label);
    const evaluate = entriesFor(doc, { kind: 'procedure', id: 'evaluate' }, false).map((e) => e.label);
    expect(train).toEqual(expect.arrayContaining(['Data', doc.name, 'Projector', 'Predictor', 'Stop gradient', 'Negative cosine', 'Minimize']));
    expect(train).not.toContain('Linear probe');
    expect(evaluate).toEqual(expect.arrayContaining(['Linear probe', 'kNN accuracy', 'Collapse monitor', 'Projector']));
    expect(evaluate).not.toContain('Minimize');
    expect(entriesFor(doc, { kind: 'network', id: 'model' }, false).map((e) => e.label)).toContain('Dense');
  });

  it('wires a procedure through its own ports, refusing a taken port', () => {
    const doc = simsiam();
    const s = { doc, tab: { kind: 'procedure' as const, id: 'pretrain' }, blockView: null };
    const view = viewResultsOf(s);
    const scoped = scopedOf(s);
    const ports = (n: GraphDocument['nodes'][number]) => procedurePortsOf(n, view.networks!);
    const shapeOf = (id: string, port: string) => view.results!.nodes.get(id)?.outputs?.[port];
    expect(connectionProblem(scoped, view.analysis, { source: 'stop1', sourcePort: 'out', target: 'loss12', targetPort: 'z' }, shapeOf, ports)).toMatch(
      /already taken/,
    );
    expect(connectionProblem(scoped, view.analysis, { source: 'stop1', sourcePort: 'out', target: 'loss12', targetPort: 'nope' }, shapeOf, ports)).toMatch(
      /no input port "nope"/,
    );
    // Quick add from a dropped wire: a Stop gradient takes the projector's output.
    const placed = addConnected(
      scoped,
      view.analysis,
      { kind: 'procedure', type: 'StopGradient' },
      { x: 0, y: 0 },
      { nodeId: 'projector1', port: 'z', side: 'source' },
      shapeOf,
      ports,
    );
    expect(placed?.connection).toEqual({ source: 'projector1', sourcePort: 'z', target: placed!.id, targetPort: 'in' });
    const net = addItem(scoped, { kind: 'network', network: 'predictor', label: 'Predictor' }, { x: 0, y: 0 });
    expect(net.doc.nodes.find((n) => n.id === net.id)).toMatchObject({ type: 'Network', params: { network: 'predictor' } });
  });

  it('copies and pastes inside a procedure', () => {
    const store = createEditorStore();
    store.getState().reset(simsiam());
    store.getState().openTab({ kind: 'procedure', id: 'pretrain' });
    store.getState().select(['stop1']);
    const ctx: ShortcutContext = { store, fitView: () => {}, openPicker: () => {}, save: () => {}, group: () => {} };
    const key = (k: string) =>
      ({ key: k, ctrlKey: true, metaKey: false, shiftKey: false, altKey: false, preventDefault: () => {} }) as unknown as KeyboardEvent;
    expect(handleShortcut(key('c'), ctx, false)).toBe(true);
    expect(handleShortcut(key('v'), ctx, false)).toBe(true);
    const nodes = pretrain(store.getState().doc).nodes;
    expect(nodes.filter((n) => n.type === 'StopGradient')).toHaveLength(3);
    expect(store.getState().doc.nodes.some((n) => n.type === 'StopGradient')).toBe(false);
  });
});
