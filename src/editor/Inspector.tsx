import { useEffect } from 'react';
import { scopedOf, useEditor } from './store';
import { formatCount, useAnalysis } from './analysis';
import { groupIntoBlock, removeItems } from './graph-ops';
import { BLOCK_NODE_TYPE } from '../nodes/registry';
import { hasTabs, networkAnalysisOf, totalCountOf } from './program-view';
import { ParamField, type FieldInfo } from './ParamField';
import { lazyPart } from './lazy-part';

/** A selected node's previews (activations, weights): loaded after the first paint, before anyone selects a node. */
const PreviewInspector = lazyPart('the previews', () => import('./preview/PreviewInspector').then((m) => m.PreviewInspector));
/** A selected node's settings (NodeInspector.tsx), and a block's own params when its body is open. */
const NodeForm = lazyPart("the node's settings", () => import('./NodeInspector').then((m) => m.NodeForm));
const BlockSignature = lazyPart("the block's params", () => import('./NodeInspector').then((m) => m.BlockSignature));

/** Renames a network or a procedure (its tab's label) as one undo step per field. */
function renameTab(kind: 'network' | 'procedure', id: string, label: string) {
  const s = useEditor.getState();
  const doc = s.doc;
  const next =
    kind === 'network'
      ? { ...doc, networks: doc.networks.map((n) => (n.id === id ? { ...n, label } : n)) }
      : doc.program
        ? { ...doc, program: { ...doc.program, procedures: doc.program.procedures.map((p) => (p.id === id ? { ...p, label } : p)) } }
        : doc;
  s.commit(next, { coalesce: `$label.${kind}.${id}` });
}

/** With nothing selected: the graph on show (the document, another network, or a procedure). */
function GraphForm() {
  const doc = useEditor((s) => s.doc);
  const tab = useEditor((s) => s.tab);
  const analysis = useAnalysis();
  const endCoalesce = useEditor((s) => s.endCoalesce);
  const labelInfo: FieldInfo = { field: { kind: 'string' }, description: 'The name on its tab and on the nodes that use it.', optional: false };
  if (tab.kind === 'procedure') {
    const proc = doc.program?.procedures.find((p) => p.id === tab.id);
    if (proc) {
      return (
        <div className="pb-form">
          <div className="pb-inspector-head">
            <h2>{proc.kind === 'train' ? 'Training procedure' : 'Evaluation'}</h2>
            <p className="pb-muted">
              {proc.kind === 'train'
                ? 'Runs once per batch for its epochs: data, augmentations, networks, losses, and a Minimize node per optimizer. Select a node to edit it.'
                : "Runs over the data once, after the training before it, and reports each metric node's result by name."}
            </p>
          </div>
          <ParamField
            label="Label"
            info={labelInfo}
            value={proc.label}
            onChange={(v) => String(v).trim() && renameTab('procedure', proc.id, String(v))}
            onDone={endCoalesce}
          />
          <dl className="pb-facts">
            <dt>Id</dt>
            <dd className="pb-mono">{proc.id}</dd>
            <dt>Nodes</dt>
            <dd>{proc.nodes.length}</dd>
            {proc.kind === 'train' && (
              <>
                <dt>Epochs</dt>
                <dd>{proc.epochs ?? "the training setup's (Train tab)"}</dd>
              </>
            )}
          </dl>
        </div>
      );
    }
  }
  if (tab.kind === 'network' && tab.id !== 'model') {
    const net = doc.networks.find((n) => n.id === tab.id);
    const count = networkAnalysisOf(doc, tab.id)?.count;
    if (net) {
      return (
        <div className="pb-form">
          <div className="pb-inspector-head">
            <h2>Network</h2>
            <p className="pb-muted">
              {net.description ||
                'A network with its own weights. Its Input nodes are the ports a Network node takes in a procedure; its Output nodes the ports it gives.'}
            </p>
          </div>
          <ParamField
            label="Label"
            info={labelInfo}
            value={net.label}
            onChange={(v) => String(v).trim() && renameTab('network', net.id, String(v))}
            onDone={endCoalesce}
          />
          <dl className="pb-facts">
            <dt>Id</dt>
            <dd className="pb-mono">{net.id}</dd>
            <dt>Nodes</dt>
            <dd>{net.nodes.length}</dd>
            <dt>Trainable params</dt>
            <dd>{formatCount(count?.trainable ?? 0)}</dd>
            <dt>Non-trainable params</dt>
            <dd>{formatCount(count?.nonTrainable ?? 0)}</dd>
          </dl>
        </div>
      );
    }
  }
  const several = hasTabs(doc);
  const total = totalCountOf(doc);
  return (
    <div className="pb-form">
      <div className="pb-inspector-head">
        <h2>Graph</h2>
        <p className="pb-muted">Select a node to edit its parameters. Shift-drag on the canvas selects several.</p>
      </div>
      <ParamField
        label="Graph name"
        info={{ field: { kind: 'string' }, description: 'Used for the file names of Save and Export TypeScript.', optional: false }}
        value={doc.name}
        onChange={(v) => {
          const s = useEditor.getState();
          s.commit({ ...s.doc, name: String(v) }, { coalesce: '$docname' });
        }}
        onDone={endCoalesce}
      />
      <dl className="pb-facts">
        <dt>Nodes</dt>
        <dd>{doc.nodes.length}</dd>
        <dt>Trainable params</dt>
        <dd>{formatCount(analysis.count.trainable)}</dd>
        <dt>Non-trainable params</dt>
        <dd>{formatCount(analysis.count.nonTrainable)}</dd>
        {several && (
          <>
            <dt>All networks</dt>
            <dd>{formatCount(total.trainable + total.nonTrainable)} params</dd>
          </>
        )}
      </dl>
    </div>
  );
}

export function Inspector() {
  const doc = useEditor((s) => s.doc);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const blockView = useEditor((s) => s.blockView);
  const tab = useEditor((s) => s.tab);
  const scope = scopedOf({ doc, blockView, tab });
  useEffect(() => {
    PreviewInspector.preload();
    NodeForm.preload();
  }, []);
  if (selectedNodes.length === 1) {
    const node = scope.nodes.find((n) => n.id === selectedNodes[0]);
    if (node)
      return (
        <>
          <NodeForm key={`${tab.kind}:${tab.id}/${blockView?.blockId ?? ''}/${node.id}`} node={node} />
          <PreviewInspector nodeId={node.id} isBlock={node.type === BLOCK_NODE_TYPE} />
        </>
      );
  }
  if (blockView && selectedNodes.length + selectedEdges.length === 0) {
    const def = doc.blocks.find((b) => b.id === blockView.blockId);
    const users = doc.nodes.filter((n) => n.type === BLOCK_NODE_TYPE && n.block === blockView.blockId).length;
    return (
      <div className="pb-form">
        <div className="pb-inspector-head">
          <h2>{def?.label ?? 'Block'}</h2>
          <p className="pb-muted">{def?.description}</p>
          <p className="pb-muted">
            You are editing the block's body; changes apply to {users === 1 ? 'its one instance' : `all ${users} instances`}. Shapes are those of “
            {blockView.nodeId}”, first repetition. Block inputs and outputs are in the palette.
          </p>
        </div>
        {def && <BlockSignature def={def} />}
        <button type="button" onClick={() => useEditor.getState().closeBlock()}>
          Back to the graph
        </button>
      </div>
    );
  }
  if (selectedNodes.length + selectedEdges.length > 1 || (selectedEdges.length === 1 && selectedNodes.length === 0)) {
    const what = [
      selectedNodes.length ? `${selectedNodes.length} node${selectedNodes.length === 1 ? '' : 's'}` : '',
      selectedEdges.length ? `${selectedEdges.length} connection${selectedEdges.length === 1 ? '' : 's'}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return (
      <div className="pb-form">
        <div className="pb-inspector-head">
          <h2>{what} selected</h2>
          <p className="pb-muted">Ctrl+C copies, Ctrl+D duplicates, Ctrl+G groups, Delete removes.</p>
        </div>
        <div className="pb-row">
          {selectedNodes.length > 0 && (
            <button type="button" onClick={groupSelection}>
              Group into block
            </button>
          )}
          <button
            type="button"
            className="pb-danger"
            onClick={() => {
              const s = useEditor.getState();
              s.edit((d) => removeItems(d, new Set(s.selectedNodes), new Set(s.selectedEdges)));
            }}
          >
            Delete selection
          </button>
        </div>
      </div>
    );
  }
  return <GraphForm />;
}

/** Replaces the selected nodes with a block holding them (one undo step). */
export function groupSelection() {
  const s = useEditor.getState();
  if (s.blockView) return;
  if (s.tab.kind === 'procedure') {
    s.toast({ kind: 'error', title: 'Cannot group these nodes', lines: ["Blocks hold layers of a network; a procedure's nodes stay in the procedure."] });
    return;
  }
  // The graph on show: the main network or another one (blocks are shared by all networks).
  const result = groupIntoBlock(scopedOf(s), new Set(s.selectedNodes));
  if ('error' in result) {
    s.toast({ kind: 'error', title: 'Cannot group these nodes', lines: [result.error] });
    return;
  }
  s.edit(() => result.doc, { select: [result.id] });
  s.toast({ kind: 'info', title: 'Grouped into a block. Double-click it to look inside; Ctrl+Z undoes.' });
}
