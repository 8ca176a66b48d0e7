import { useEffect, useRef, useState } from 'react';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { scopedOf, useEditor, type Panel } from './store';
import { formatCount } from './analysis';
import { Canvas } from './Canvas';
import { useFitView } from './huge-graphs';
import { Palette } from './Palette';
import { groupSelection, Inspector } from './Inspector';
import { lazyPart } from './lazy-part';
import { isActiveStatus, useTraining } from './training';
import { ShortcutsDialog, TemplatesDialog, Toasts } from './Dialogs';
import { openFiles, saveToFile } from './files';
import { emptyDocument } from './graph-ops';
import { handleShortcut, type ShortcutContext } from './shortcuts';
import { autoLayout } from './layout';
import { GraphTabs } from './GraphTabs';
import { allDiagnosticsOf, hasTabs as docHasTabs, mainNetworkLabel, totalCountOf } from './program-view';
import { useProgramRun } from './train/program-live';

// The side panel opens on the inspector; the other tabs load their code when first opened.
const IssuesPanel = lazyPart('the issues', () => import('./Panels').then((m) => m.IssuesPanel));
const SummaryPanel = lazyPart('the summary', () => import('./Panels').then((m) => m.SummaryPanel));
const CodePanel = lazyPart('the code view', () => import('./Panels').then((m) => m.CodePanel));
const TrainPanel = lazyPart('the training panel', () => import('./TrainPanel').then((m) => m.TrainPanel));

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) || !!el.closest('.monaco-editor');
}

/** The keyboard shortcuts of shortcuts.ts, on the app's store. */
function useShortcuts(openPicker: () => void) {
  const fitView = useFitView();
  useEffect(() => {
    const ctx: ShortcutContext = {
      store: useEditor,
      fitView: () => void fitView({ padding: 0.15, duration: 200, maxZoom: 1.2 }),
      openPicker,
      save: saveToFile,
      group: groupSelection,
    };
    const onKey = (e: KeyboardEvent) => {
      handleShortcut(e, ctx, isTyping(e.target));
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [fitView, openPicker]);
}

function Toolbar({ openPicker }: { openPicker: () => void }) {
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const name = useEditor((s) => s.doc.name);
  const flow = useReactFlow();
  const fitView = useFitView();
  const [busy, setBusy] = useState(false);
  const tidy = async () => {
    // The graph on show: the main graph, or the open block's body.
    const s = useEditor.getState();
    const scoped = scopedOf(s);
    if (!scoped.nodes.length) return;
    setBusy(true);
    try {
      // Sizes as React Flow last measured them (the canvas keeps its node objects across resizes).
      const sizeOf = (n: { id: string; measured?: { width?: number; height?: number } }) => flow.getInternalNode(n.id)?.measured ?? n.measured;
      const sizes = new Map(flow.getNodes().map((n) => [n.id, { width: sizeOf(n)?.width ?? 200, height: sizeOf(n)?.height ?? 90 }]));
      const laid = await autoLayout(scoped, sizes);
      const now = useEditor.getState();
      // An edit made while the layout ran wins; the layout would undo it.
      if (now.doc !== s.doc || now.blockView !== s.blockView || now.tab !== s.tab) return;
      now.edit(() => laid);
      now.requestFit();
    } catch (err) {
      s.toast({ kind: 'error', title: 'Auto-layout failed', lines: [String(err)] });
    } finally {
      setBusy(false);
    }
  };
  return (
    <header className="pb-toolbar">
      <div className="pb-brand">
        <span className="pb-logo" aria-hidden="true" />
        Patchbay
      </div>
      <span className="pb-doc-name" title="Graph name">
        {name}
      </span>
      <nav className="pb-row" aria-label="File">
        <button
          type="button"
          onClick={() => {
            const s = useEditor.getState();
            if (s.doc.nodes.length || s.doc.edges.length) {
              s.commit(emptyDocument());
              s.toast({ kind: 'info', title: 'Started a new graph. Ctrl+Z brings the old one back.' });
            }
          }}
        >
          New
        </button>
        <button type="button" onClick={openPicker}>
          Open
        </button>
        <button type="button" onClick={saveToFile}>
          Save
        </button>
        <button type="button" onClick={() => useEditor.getState().setDialog('templates')}>
          Templates
        </button>
      </nav>
      <nav className="pb-row" aria-label="Edit">
        <button type="button" disabled={!canUndo} onClick={() => useEditor.getState().undo()} title="Ctrl+Z">
          Undo
        </button>
        <button type="button" disabled={!canRedo} onClick={() => useEditor.getState().redo()} title="Ctrl+Shift+Z">
          Redo
        </button>
        <button type="button" onClick={tidy} disabled={busy} title="Arrange the nodes top to bottom">
          Tidy up
        </button>
        <button type="button" onClick={() => void fitView({ padding: 0.15, duration: 200, maxZoom: 1.2 })} title="F">
          Fit view
        </button>
      </nav>
      <span className="pb-spacer" />
      <button type="button" onClick={() => useEditor.getState().setDialog('shortcuts')} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
        Shortcuts
      </button>
    </header>
  );
}

function Breadcrumb() {
  const blockView = useEditor((s) => s.blockView);
  const doc = useEditor((s) => s.doc);
  const tab = useEditor((s) => s.tab);
  if (!blockView) return null;
  const outer = scopedOf({ doc, tab, blockView: null });
  const def = doc.blocks.find((b) => b.id === blockView.blockId);
  const node = outer.nodes.find((n) => n.id === blockView.nodeId);
  // Instances in every network share the definition.
  const uses = [doc.nodes, ...doc.networks.map((n) => n.nodes)].flat().filter((n) => n.block === blockView.blockId).length;
  const outerName = tab.id === 'model' ? mainNetworkLabel(doc) : (doc.networks.find((n) => n.id === tab.id)?.label ?? tab.id);
  return (
    <nav className="pb-breadcrumb" aria-label="Breadcrumb">
      <button type="button" className="pb-link" onClick={() => useEditor.getState().closeBlock()}>
        {outerName}
      </button>
      <span aria-hidden="true">›</span>
      <span className="pb-crumb-here" title={(node?.repeat ?? 1) > 1 ? `Repeated ×${node?.repeat}; shapes are those of the first repetition` : undefined}>
        {node?.name ?? blockView.nodeId} ({def?.label ?? blockView.blockId}
        {(node?.repeat ?? 1) > 1 ? ` ×${node?.repeat}` : ''})
      </span>
      <span className="pb-muted">editing the block: {uses === 1 ? 'its one instance changes' : `all ${uses} instances change`}</span>
    </nav>
  );
}

function SidePanel() {
  const panel = useEditor((s) => s.panel);
  const setPanel = useEditor((s) => s.setPanel);
  const doc = useEditor((s) => s.doc);
  // Every network's and procedure's issues, not only the graph on show.
  const diagnostics = allDiagnosticsOf(doc);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  // The tab's dot means "working now": an active run that is not paused.
  const classifierTraining = useTraining((s) => isActiveStatus(s.run?.status) && s.run?.status !== 'paused');
  const programTraining = useProgramRun((s) => isActiveStatus(s.run?.status) && s.run?.status !== 'paused');
  const training = classifierTraining || programTraining;
  const tabs: [Panel, string][] = [
    ['inspector', 'Inspector'],
    ['issues', `Issues${errors + warnings ? ` (${errors + warnings})` : ''}`],
    ['summary', 'Summary'],
    ['code', 'Code'],
    ['train', 'Train'],
  ];
  return (
    <aside className="pb-side" aria-label="Side panel">
      <div className="pb-tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button
            key={id}
            type="button"
            role="tab"
            id={`tab-${id}`}
            aria-selected={panel === id}
            aria-controls={`panel-${id}`}
            className={`pb-tab${panel === id ? ' pb-tab-on' : ''}${id === 'issues' && errors ? ' pb-tab-alert' : ''}`}
            onClick={() => setPanel(id)}
          >
            {label}
            {id === 'train' && training && <span className="pb-live-dot" title="Training" aria-hidden="true" />}
          </button>
        ))}
      </div>
      <div className="pb-tabpanel" role="tabpanel" id={`panel-${panel}`} aria-labelledby={`tab-${panel}`}>
        {panel === 'inspector' && <Inspector />}
        {panel === 'issues' && <IssuesPanel />}
        {panel === 'summary' && <SummaryPanel />}
        {panel === 'code' && <CodePanel />}
        {panel === 'train' && <TrainPanel />}
      </div>
    </aside>
  );
}

function StatusBar() {
  const doc = useEditor((s) => s.doc);
  const setPanel = useEditor((s) => s.setPanel);
  // A document of several networks counts them all (and a program's learned scalars).
  const count = totalCountOf(doc);
  const several = docHasTabs(doc);
  const tab = useEditor((s) => s.tab);
  const blockView = useEditor((s) => s.blockView);
  const nodes = several ? scopedOf({ doc, tab, blockView }).nodes.length : doc.nodes.length;
  const diagnostics = allDiagnosticsOf(doc);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  return (
    <footer className="pb-status">
      <span data-testid="status-trainable">
        {formatCount(count.trainable)} trainable params{several ? ` in ${doc.networks.length + 1} networks` : ''}
      </span>
      <span data-testid="status-non-trainable">{formatCount(count.nonTrainable)} non-trainable</span>
      <span>
        {nodes} node{nodes === 1 ? '' : 's'}
        {several ? ' on show' : ''}
      </span>
      <span className="pb-spacer" />
      <button type="button" className={`pb-link ${errors ? 'pb-error-text' : warnings ? 'pb-warn-text' : 'pb-ok-text'}`} onClick={() => setPanel('issues')}>
        {errors ? `${errors} error${errors === 1 ? '' : 's'}` : 'No errors'}
        {warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}
      </button>
    </footer>
  );
}

function Editor() {
  const dialog = useEditor((s) => s.dialog);
  const hasTabs = useEditor((s) => docHasTabs(s.doc));
  const wide = useEditor((s) => s.panel === 'code' || s.panel === 'summary' || s.panel === 'train');
  const fileInput = useRef<HTMLInputElement>(null);
  const [dropping, setDropping] = useState(false);
  const openPicker = () => fileInput.current?.click();
  useShortcuts(openPicker);

  const hasFiles = (e: React.DragEvent) => Array.from(e.dataTransfer.types).includes('Files');
  return (
    <div
      className="pb-app"
      onDragOver={(e) => {
        if (hasFiles(e)) {
          e.preventDefault();
          setDropping(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDropping(false);
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDropping(false);
        void openFiles(Array.from(e.dataTransfer.files));
      }}
    >
      <Toolbar openPicker={openPicker} />
      <input
        ref={fileInput}
        type="file"
        accept=".json,.bin,.zip,application/json,application/zip"
        multiple
        hidden
        aria-label="Open a graph file"
        onChange={(e) => {
          void openFiles(Array.from(e.target.files ?? []));
          e.target.value = '';
        }}
      />
      <div className={`pb-main${wide ? ' pb-wide-side' : ''}`}>
        <Palette />
        <main className={`pb-canvas${hasTabs ? ' pb-has-tabs' : ''}`} aria-label="Canvas">
          <GraphTabs />
          <Breadcrumb />
          <Canvas />
          <Toasts />
        </main>
        <SidePanel />
      </div>
      <StatusBar />
      {dialog === 'templates' && <TemplatesDialog />}
      {dialog === 'shortcuts' && <ShortcutsDialog />}
      {dropping && <div className="pb-dropzone">Drop a Patchbay .json file to open it, or a model.json with its weight files (or a .zip) to import it</div>}
    </div>
  );
}

export function App() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}
