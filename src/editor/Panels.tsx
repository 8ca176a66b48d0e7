import { useEffect, useState } from 'react';
import { scopeDoc, useEditor } from './store';
import { formatCount, summaryOf, useAnalysis } from './analysis';
import { codeOf, programCodeOf } from './code-output';
import { lazyPart } from './lazy-part';
import { allDiagnosticsOf, hasTabs, mainNetworkLabel, networkAnalysisOf, programOf, tabOfDiagnostic, totalCountOf } from './program-view';
import type { Summary } from '../compiler/summary';
import { formatCount as formatMacs } from '../compiler/cost';
import { formatBytes } from '../compiler/memory';
import { ProfileBar, TimingCells, useHasProfile } from './Profile';
import { downloadBlob, downloadText, fileBase } from './files';
import { formatShape } from '../nodes/shape';
import type { Diagnostic } from '../document/diagnostics';
import type { Analysis } from '../compiler/infer';

// Monaco: its own chunk, loaded when code is first shown; a failed download is said in the panel.
const CodeEditor = lazyPart('the code view', () => import('./CodeEditor').then((m) => m.default));

function usePrefersDark(): boolean {
  const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
  const [dark, setDark] = useState(!!query?.matches);
  useEffect(() => {
    if (!query) return;
    const on = () => setDark(query.matches);
    query.addEventListener('change', on);
    return () => query.removeEventListener('change', on);
  }, [query]);
  return dark;
}

function DiagnosticItem({ d, onClick }: { d: Diagnostic; onClick?: () => void }) {
  const where = [
    d.network && `network ${d.network}`,
    d.procedure && `procedure ${d.procedure}`,
    d.blockId && `block ${d.blockId}`,
    d.nodeId && `${d.nodeId}`,
    d.param && `${d.param}`,
  ]
    .filter(Boolean)
    .join(' · ');
  const body = (
    <>
      <span className={`pb-badge pb-${d.severity}`}>{d.severity}</span>
      <span className="pb-diag-main">
        <span className="pb-diag-msg">{d.message}</span>
        <span className="pb-diag-help">{d.help}</span>
        <span className="pb-diag-where">
          {d.code}
          {where ? ` · ${where}` : ''}
        </span>
      </span>
    </>
  );
  return onClick ? (
    <li>
      <button type="button" className="pb-diag-item" onClick={onClick}>
        {body}
      </button>
    </li>
  ) : (
    <li>
      <div className="pb-diag-item">{body}</div>
    </li>
  );
}

export function DiagnosticList({ diagnostics, inBlock = false }: { diagnostics: Diagnostic[]; inBlock?: boolean }) {
  const focusNode = useEditor((s) => s.focusNode);
  const doc = useEditor((s) => s.doc);
  const blockView = useEditor((s) => s.blockView);
  const tab = useEditor((s) => s.tab);
  return (
    <ul className="pb-diags" aria-label="Issues">
      {diagnostics.map((d, i) => {
        // Inside a block, an issue points at a node of the body; outside, at a node of its network or procedure (whose tab it opens).
        const where = inBlock ? tab : tabOfDiagnostic(d);
        const body = inBlock ? scopeDoc(doc, blockView, tab) : scopeDoc(doc, null, where);
        const nodeId = d.nodeId && body.nodes.some((n) => n.id === d.nodeId) ? d.nodeId : undefined;
        return <DiagnosticItem key={i} d={d} onClick={nodeId ? () => (inBlock ? focusNode(nodeId, true) : focusNode(nodeId, false, where)) : undefined} />;
      })}
    </ul>
  );
}

export function IssuesPanel() {
  const blockView = useEditor((s) => s.blockView);
  const doc = useEditor((s) => s.doc);
  if (blockView) return <BlockIssues nodeId={blockView.nodeId} />;
  // Every network's and procedure's issues; clicking one opens its tab.
  const diags = allDiagnosticsOf(doc);
  if (!diags.length) return <p className="pb-ok pb-pad">No issues: every node has a shape and the graph compiles.</p>;
  return (
    <div className="pb-pad-x">
      <p className="pb-muted pb-small-text">Click an issue to select its node.</p>
      <DiagnosticList diagnostics={[...diags].sort((a, b) => rank(a) - rank(b))} />
    </div>
  );
}

/** While a block is open: the issues of its body (as the open instance uses it), then a count of the rest. */
function BlockIssues({ nodeId }: { nodeId: string }) {
  const doc = useEditor((s) => s.doc);
  const tab = useEditor((s) => s.tab);
  const main = useAnalysis();
  const analysis = networkAnalysisOf(doc, tab.id) ?? main;
  const own = analysis.main.nodes.get(nodeId)?.inner?.diagnostics ?? [];
  // The instance repeats the first error of its body as its own: not another issue.
  const elsewhere = analysis.diagnostics.filter((d) => !(d.nodeId === nodeId && d.blockId === undefined)).length;
  return (
    <div className="pb-pad-x">
      {own.length ? (
        <>
          <p className="pb-muted pb-small-text">Issues inside this block, as “{nodeId}” uses it. Click one to select its node.</p>
          <DiagnosticList diagnostics={[...own].sort((a, b) => rank(a) - rank(b))} inBlock />
        </>
      ) : (
        <p className="pb-ok">No issues inside this block.</p>
      )}
      {elsewhere > 0 && (
        <p className="pb-muted pb-small-text">
          The rest of the graph has {elsewhere} more issue{elsewhere === 1 ? '' : 's'}.{' '}
          <button type="button" className="pb-link" onClick={() => useEditor.getState().closeBlock()}>
            Back to the graph
          </button>
        </p>
      )}
    </div>
  );
}
const rank = (d: Diagnostic) => (d.severity === 'error' ? 0 : d.severity === 'warning' ? 1 : 2);

export function SummaryPanel() {
  const doc = useEditor((s) => s.doc);
  const main = useAnalysis();
  if (!hasTabs(doc))
    return (
      <>
        <ProfileBar analysis={main} isProgram={false} />
        <SummaryTable summary={summaryOf(main)} network="model" results={main.main.nodes} />
      </>
    );
  // One table per network, then the totals of all of them (and a program's learned scalars).
  const total = totalCountOf(doc);
  const networks = [{ id: 'model', label: mainNetworkLabel(doc) }, ...doc.networks.map((n) => ({ id: n.id, label: n.label }))];
  return (
    <div className="pb-summary-all">
      {networks.map((n) => {
        const analysis = networkAnalysisOf(doc, n.id);
        return analysis ? <SummaryTable key={n.id} summary={{ ...summaryOf(analysis), name: n.label }} network={n.id} /> : null;
      })}
      <div className="pb-summary">
        <table data-testid="summary-totals">
          <caption>All networks{doc.program ? ' and learned scalars' : ''}</caption>
          <tbody>
            <tr>
              <th scope="row">Total params</th>
              <td className="pb-num pb-mono" data-testid="summary-total">
                {formatCount(total.trainable + total.nonTrainable)}
              </td>
            </tr>
            <tr>
              <th scope="row">Trainable params</th>
              <td className="pb-num pb-mono" data-testid="summary-trainable">
                {formatCount(total.trainable)}
              </td>
            </tr>
            <tr>
              <th scope="row">Non-trainable params</th>
              <td className="pb-num pb-mono" data-testid="summary-non-trainable">
                {formatCount(total.nonTrainable)}
              </td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** The Keras-style table of one network; a row selects its node (in the network's tab). */
function SummaryTable({ summary, network, results }: { summary: Summary; network: string; results?: Analysis['main']['nodes'] }) {
  const focusNode = useEditor((s) => s.focusNode);
  // Measured times, once Profile has run (a single-network graph only).
  const timed = useHasProfile() && !!results;
  const several = useEditor((s) => hasTabs(s.doc));
  const total = summary.trainableParams + summary.nonTrainableParams;
  // In a document of several networks the totals come once, after all tables; each table keeps its own.
  const ids = several
    ? { total: undefined, trainable: undefined, nonTrainable: undefined }
    : { total: 'summary-total', trainable: 'summary-trainable', nonTrainable: 'summary-non-trainable' };
  return (
    <div className="pb-summary" data-testid={`summary-${network}`}>
      <table>
        <caption>
          {several ? 'Network' : 'Model'}: “{summary.name}”
        </caption>
        <thead>
          <tr>
            <th scope="col">Layer (type)</th>
            <th scope="col">Output shape</th>
            <th scope="col" className="pb-num">
              Params
            </th>
            <th scope="col" className="pb-num" title="Multiply–accumulates for one example, and below them the activation memory kept for the backward pass">
              MACs
            </th>
            {timed && (
              <th scope="col" className="pb-num" title="Measured by Profile on one batch: forward (inference), and below it forward + backward">
                Time
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {summary.nodes.map((r) => (
            <tr key={r.nodeId} onClick={() => focusNode(r.nodeId, false, several ? { kind: 'network', id: network } : undefined)}>
              <td>
                <span className="pb-mono">{r.name}</span> <span className="pb-muted">({r.type})</span>
              </td>
              <td className="pb-mono">{r.outputShape ? formatShape(r.outputShape) : '?'}</td>
              <td className="pb-num pb-mono">{formatCount(r.trainableParams + r.nonTrainableParams)}</td>
              <td className="pb-num pb-mono" title="Multiply–accumulates; activations kept, one example">
                {r.macs ? formatMacs(r.macs) : '–'}
                <br />
                <span className="pb-muted">{r.activationBytes ? formatBytes(r.activationBytes) : '–'}</span>
              </td>
              {timed && <TimingCells nodeId={r.nodeId} result={results.get(r.nodeId)} />}
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={2}>
              Total params
            </th>
            <td className="pb-num pb-mono" data-testid={ids.total}>
              {formatCount(total)}
            </td>
          </tr>
          <tr>
            <th scope="row" colSpan={2}>
              Trainable params
            </th>
            <td className="pb-num pb-mono" data-testid={ids.trainable}>
              {formatCount(summary.trainableParams)}
            </td>
          </tr>
          <tr>
            <th scope="row" colSpan={2}>
              Non-trainable params
            </th>
            <td className="pb-num pb-mono" data-testid={ids.nonTrainable}>
              {formatCount(summary.nonTrainableParams)}
            </td>
          </tr>
          <SummaryCostRows summary={summary} />
        </tfoot>
      </table>
    </div>
  );
}

/** The cost totals under a summary table: MACs and activation memory, for one example and a training batch. */
function SummaryCostRows({ summary }: { summary: Summary }) {
  return (
    <>
      <tr>
        <th scope="row" colSpan={2} title="Convolutions, dense layers and matrix products; element-wise work is not counted">
          MACs per example
        </th>
        <td className="pb-num pb-mono" data-testid="summary-macs">
          {formatMacs(summary.macs)}
        </td>
      </tr>
      <tr>
        <th scope="row" colSpan={2}>
          Activations per example
        </th>
        <td className="pb-num pb-mono" data-testid="summary-activations">
          {formatBytes(summary.activationBytes)}
        </td>
      </tr>
      <tr>
        <th scope="row" colSpan={2}>
          Activations, training batch of {summary.cost.batchSize}
        </th>
        <td className="pb-num pb-mono">{formatBytes(summary.cost.batchActivationBytes)}</td>
      </tr>
      {summary.cost.notes.map((note) => (
        <tr key={note}>
          <td colSpan={5} className="pb-muted pb-small-text" data-testid="summary-cost-note">
            {note}
          </td>
        </tr>
      ))}
    </>
  );
}

export function CodePanel() {
  const analysis = useAnalysis();
  const doc = useEditor((s) => s.doc);
  const toast = useEditor((s) => s.toast);
  const dark = usePrefersDark();
  return <NetworkCode analysis={analysis} doc={doc} toast={toast} dark={dark} />;
}

function NetworkCode({
  analysis,
  doc,
  toast,
  dark,
}: {
  analysis: ReturnType<typeof useAnalysis>;
  doc: ReturnType<typeof useEditor.getState>['doc'];
  toast: ReturnType<typeof useEditor.getState>['toast'];
  dark: boolean;
}) {
  const program = doc.program ? programOf(doc) : null;
  const { code, diagnostics } = program ? programCodeOf(program) : codeOf(analysis);
  const copy = async () => {
    if (!code) return;
    try {
      await navigator.clipboard.writeText(code);
      toast({ kind: 'info', title: 'Copied the TypeScript to the clipboard.' });
    } catch {
      toast({ kind: 'error', title: 'The browser did not allow copying; use Export TypeScript instead.' });
    }
  };
  return (
    <div className="pb-code">
      <div className="pb-row pb-code-bar">
        <span className="pb-muted pb-small-text">{code ? 'Live TypeScript; needs only @tensorflow/tfjs.' : 'Fix these to generate code:'}</span>
        <span className="pb-spacer" />
        <button type="button" onClick={copy} disabled={!code}>
          Copy
        </button>
        <button
          type="button"
          disabled={!code}
          title="model.py, weights.py and train.py (torchrun) as a zip"
          onClick={async () => {
            const { pytorchZip } = await import('./pytorch-export');
            const result = await pytorchZip(doc, analysis, program);
            if ('error' in result) toast({ kind: 'error', title: `Cannot export PyTorch: ${result.error}` });
            else downloadBlob(`${fileBase(doc)}-pytorch.zip`, new Blob([result.zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
          }}
        >
          Export PyTorch
        </button>
        <button type="button" className="pb-primary" disabled={!code} onClick={() => code && downloadText(`${fileBase(doc)}.ts`, code, 'text/typescript')}>
          Export TypeScript
        </button>
      </div>
      {code ? (
        <div className="pb-code-editor" data-testid="code-editor">
          <CodeEditor code={code} dark={dark} />
        </div>
      ) : (
        <div className="pb-pad-x">
          <DiagnosticList diagnostics={diagnostics} />
        </div>
      )}
    </div>
  );
}
