/**
 * The inspector's forms for one selected node and for a block's own params. Loaded with the first
 * selection (and fetched right after the first paint), so that they are not in the initial JavaScript.
 */
import { useState } from 'react';
import type { z } from 'zod';
import { useEditor } from './store';
import type { NodeResult } from '../compiler/infer';
import type { Diagnostic } from '../document/diagnostics';
import { formatCount, useAnalysis } from './analysis';
import { addBlockParam, removeBlockParam, removeItems, setBlockParamDefault, setParam, updateNode } from './graph-ops';
import { checkBlockArg } from '../compiler/params';
import type { BlockDef, BlockParam, GraphDocument, GraphNode } from '../document/schema';
import { isParamRef } from '../document/schema';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import { getProgramSpec, NETWORK_NODE_TYPE, NetworkNodeParams } from '../nodes/program/specs';
import { mainNetworkLabel, viewResultsOf } from './program-view';
import { formatShape } from '../nodes/shape';
import { describeField, humanize, ParamField, show, type Field, type FieldInfo } from './ParamField';

function blockField(p: BlockParam): FieldInfo {
  const field: Field =
    p.kind === 'int' || p.kind === 'number'
      ? { kind: 'number', int: p.kind === 'int', min: p.min }
      : p.kind === 'boolean'
        ? { kind: 'boolean' }
        : p.kind === 'enum'
          ? { kind: 'enum', options: p.options ?? [] }
          : { kind: 'string' };
  return { field, description: p.description, defaultValue: p.default, optional: false };
}

function commitParam(nodeId: string, key: string, value: unknown) {
  useEditor.getState().edit((d) => setParam(d, nodeId, key, value), { coalesce: `${nodeId}.${key}` });
}

/** The node's results and diagnostics in the graph on show: a network, a procedure, or the open block's first repetition. */
function useScopedResults(): { results: Map<string, NodeResult> | undefined; diagnostics: Diagnostic[]; kind: 'network' | 'procedure' | 'block' } {
  const doc = useEditor((s) => s.doc);
  const tab = useEditor((s) => s.tab);
  const blockView = useEditor((s) => s.blockView);
  const view = viewResultsOf({ doc, tab, blockView });
  const diagnostics = view.kind === 'network' ? view.diagnostics.filter((d) => d.blockId === undefined) : view.diagnostics;
  return { results: view.results?.nodes, diagnostics, kind: view.kind };
}

/** A Network node of a procedure: which network it applies, and with which weights. */
function NetworkNodeFields({ node }: { node: GraphNode }) {
  const doc = useEditor((s) => s.doc);
  const endCoalesce = useEditor((s) => s.endCoalesce);
  const shape = NetworkNodeParams.shape;
  const parsed = NetworkNodeParams.safeParse(node.params);
  const weights = parsed.success ? parsed.data.weights : 'online';
  const current = String(node.params.network ?? '');
  const choices: Array<[string, string]> = [['model', mainNetworkLabel(doc)], ...doc.networks.map((n): [string, string] => [n.id, n.label])];
  const known = choices.some(([id]) => id === current);
  return (
    <>
      <div className={`pb-field${known ? '' : ' pb-field-invalid'}`}>
        <label htmlFor={`pb-network-${node.id}`}>Network</label>
        <select
          id={`pb-network-${node.id}`}
          value={current}
          onChange={(e) => {
            commitParam(node.id, 'network', e.target.value);
            endCoalesce();
          }}
        >
          {!known && <option value={current}>{current || '—'} (missing)</option>}
          {choices.map(([id, label]) => (
            <option key={id} value={id}>
              {label}
              {label !== id ? ` (${id})` : ''}
            </option>
          ))}
        </select>
        {!known && (
          <div className="pb-field-error" role="alert">
            This document has no network “{current}”.
          </div>
        )}
        <div className="pb-field-help">{shape.network.description}</div>
      </div>
      {(['weights', 'decay', 'decaySchedule'] as const)
        .filter((k) => k === 'weights' || weights === 'ema')
        .map((key) => {
          const schema = shape[key] as unknown as z.ZodType;
          const value = node.params[key];
          const check = value === undefined ? null : schema.safeParse(value);
          const problem = check && !check.success ? (check.error.issues[0]?.message ?? 'Invalid value.').replace(/^Invalid input: /, '') : null;
          return (
            <ParamField
              key={key}
              label={humanize(key)}
              info={describeField(schema)}
              value={value}
              problem={problem}
              onChange={(v) => commitParam(node.id, key, v)}
              onDone={endCoalesce}
            />
          );
        })}
    </>
  );
}

export function NodeForm({ node }: { node: GraphNode }) {
  const analysis = useAnalysis();
  const endCoalesce = useEditor((s) => s.endCoalesce);
  const inBlock = useEditor((s) => s.blockView !== null);
  const openBlockId = useEditor((s) => s.blockView?.blockId);
  // Inside an open block, a literal value can be linked to one of the block's params instead.
  const blockParams = openBlockId ? (analysis.blocks.get(openBlockId)?.params ?? []) : [];
  const scoped = useScopedResults();
  const result = scoped.results?.get(node.id);
  const diags = scoped.diagnostics.filter((d) => d.nodeId === node.id);
  const paramProblem = (key: string) => diags.find((d) => d.param === key)?.message ?? null;
  const inProcedure = scoped.kind === 'procedure';
  const isBlock = !inProcedure && node.type === BLOCK_NODE_TYPE;
  const def = isBlock && node.block ? analysis.blocks.get(node.block) : undefined;
  const isNetworkNode = inProcedure && node.type === NETWORK_NODE_TYPE;
  // A procedure's nodes have their own specs (same shape of params: zod, defaults, descriptions).
  const spec: { label: string; description: string; params: z.ZodObject } | undefined = isBlock
    ? undefined
    : inProcedure
      ? getProgramSpec(node.type)
      : getSpec(node.type);
  const networkLabel = isNetworkNode
    ? String(node.params.network) === 'model'
      ? mainNetworkLabel(useEditor.getState().doc)
      : useEditor.getState().doc.networks.find((n) => n.id === node.params.network)?.label
    : undefined;
  const outputs = result?.outputs ? Object.entries(result.outputs) : [];
  const count = result?.count ?? { trainable: 0, nonTrainable: 0 };

  const nameInfo: FieldInfo = {
    field: { kind: 'string' },
    description: 'Shown on the canvas and used as the layer name in the exported code.',
    optional: true,
  };
  return (
    <div className="pb-form">
      <div className="pb-inspector-head">
        <h2>{isNetworkNode ? `Network${networkLabel ? `: ${networkLabel}` : ''}` : (spec?.label ?? def?.label ?? node.type)}</h2>
        <p className="pb-muted">
          {isNetworkNode
            ? "Applies a network of this document: its inputs and outputs are the network's Input and Output nodes. Apply one network twice to share its weights; double-click the node to open the network."
            : (spec?.description ?? def?.description ?? 'This node type is unknown to this Patchbay; it is kept and saved unchanged.')}
        </p>
      </div>
      <dl className="pb-facts">
        <dt>Output shape</dt>
        <dd data-testid="inspector-shape">
          {outputs.length ? outputs.map(([p, s]) => (outputs.length > 1 ? `${p}: ${formatShape(s)}` : formatShape(s))).join(', ') : '—'}
        </dd>
        <dt>Parameters</dt>
        <dd data-testid="inspector-params">
          {formatCount(count.trainable + count.nonTrainable)}
          {count.nonTrainable ? ` (${formatCount(count.nonTrainable)} non-trainable)` : ''}
        </dd>
      </dl>
      {diags.length > 0 && (
        <ul className="pb-node-diags">
          {diags.map((d, i) => (
            <li key={i} className={`pb-diag pb-${d.severity}`}>
              <strong>{d.message}</strong>
              <br />
              {d.help}
            </li>
          ))}
        </ul>
      )}
      <ParamField
        label="Name"
        info={nameInfo}
        value={node.name ?? node.id}
        onChange={(v) => {
          const name = String(v).trim();
          useEditor.getState().edit(
            (d) =>
              updateNode(d, node.id, (n) => {
                const next = { ...n, name };
                if (!name || name === n.id) delete (next as { name?: string }).name;
                return next;
              }),
            { coalesce: `${node.id}.$name` },
          );
        }}
        onDone={endCoalesce}
      />
      {spec &&
        Object.entries(spec.params.shape).map(([key, schema]) => {
          const info = describeField(schema as z.ZodType);
          const value = node.params[key];
          const check = value === undefined ? null : (schema as z.ZodType).safeParse(value);
          const schemaProblem = check && !check.success ? (check.error.issues[0]?.message ?? 'Invalid value.') : null;
          if (isParamRef(value)) {
            // Set by a param of the block: show where it comes from, and let it be fixed here instead.
            const current = result?.params?.[key];
            return (
              <div key={key}>
                <ParamField label={humanize(key)} info={info} value={value} problem={paramProblem(key)} onChange={() => {}} onDone={endCoalesce} />
                <button type="button" className="pb-small" onClick={() => commitParam(node.id, key, current ?? info.defaultValue)}>
                  Set {humanize(key).toLowerCase()} here instead ({show(current ?? info.defaultValue)})
                </button>
              </div>
            );
          }
          return (
            <div key={key}>
              <ParamField
                label={humanize(key)}
                info={info}
                value={value}
                problem={schemaProblem ? `${schemaProblem.replace(/^Invalid input: /, '')}` : paramProblem(key)}
                onChange={(v) => commitParam(node.id, key, v)}
                onDone={endCoalesce}
              />
              {blockParams.length > 0 && (
                <select
                  className="pb-link-param"
                  aria-label={`Link ${humanize(key).toLowerCase()} to a block param`}
                  value=""
                  onChange={(e) => e.target.value && commitParam(node.id, key, { $param: e.target.value })}
                >
                  <option value="">Link to a block param…</option>
                  {blockParams.map((p) => (
                    <option key={p.name} value={p.name}>
                      {p.name}
                      {p.derive ? ' (from the input)' : ''}
                    </option>
                  ))}
                </select>
              )}
            </div>
          );
        })}
      {def && (
        <>
          {def.params
            .filter((p) => !p.derive)
            .map((p) => {
              const value = node.params[p.name];
              const problem = value === undefined ? null : checkBlockArg(p, value);
              return (
                <ParamField
                  key={p.name}
                  label={humanize(p.name)}
                  info={blockField(p)}
                  value={value}
                  problem={problem ? `Expected ${problem}.` : paramProblem(p.name)}
                  onChange={(v) => commitParam(node.id, p.name, v)}
                  onDone={endCoalesce}
                />
              );
            })}
          <ParamField
            label="Repeat"
            info={{
              field: { kind: 'number', int: true, min: 1 },
              description: 'Apply the block this many times in sequence, each time with its own weights (the depth).',
              defaultValue: 1,
              optional: false,
            }}
            value={node.repeat ?? 1}
            problem={node.repeat !== undefined && (!Number.isInteger(node.repeat) || node.repeat < 1) ? 'Expected a whole number ≥ 1.' : null}
            onChange={(v) => {
              const n = Number(v);
              if (!Number.isInteger(n) || n < 1) return;
              useEditor.getState().edit((d) => updateNode(d, node.id, (x) => ({ ...x, repeat: n })), { coalesce: `${node.id}.$repeat` });
            }}
            onDone={endCoalesce}
          />
          {def.params.some((p) => p.derive) && (
            <p className="pb-muted pb-small-text">
              Read from the input:{' '}
              {def.params
                .filter((p) => p.derive)
                .map((p) => `${humanize(p.name).toLowerCase()} = ${show(result?.params?.[p.name] ?? '?')}`)
                .join(', ')}
              .
            </p>
          )}
          {!inBlock && (
            <button type="button" onClick={() => useEditor.getState().openBlock(node.id, def.id)}>
              Open block
            </button>
          )}
        </>
      )}
      {isNetworkNode && <NetworkNodeFields node={node} />}
      {!spec && !def && !isNetworkNode && <pre className="pb-raw">{JSON.stringify(node.params, null, 2)}</pre>}
      {node.when && (
        <p className="pb-muted">Applies only when the block's “{humanize(node.when.$param).toLowerCase()}” is on; otherwise its input passes through.</p>
      )}
      <div className="pb-row pb-form-actions">
        <button
          type="button"
          className="pb-danger"
          onClick={() => {
            useEditor.getState().edit((d) => removeItems(d, new Set([node.id]), new Set()));
          }}
        >
          Delete node
        </button>
      </div>
    </div>
  );
}

const NEW_PARAM_DEFAULTS: Record<'int' | 'number' | 'boolean' | 'string', unknown> = { int: 1, number: 1, boolean: false, string: '' };

/** The block's own params: their defaults, removing one, adding one. */
export function BlockSignature({ def }: { def: BlockDef }) {
  const endCoalesce = useEditor((s) => s.endCoalesce);
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'int' | 'number' | 'boolean' | 'string'>('int');
  const apply = (result: { doc: GraphDocument } | { error: string }, title: string) => {
    const s = useEditor.getState();
    if ('error' in result) s.toast({ kind: 'error', title, lines: [result.error] });
    else s.commit(result.doc);
  };
  return (
    <section className="pb-block-signature" aria-label="Block params">
      <h3>Block params</h3>
      <p className="pb-muted pb-small-text">Each instance sets these in its inspector; nodes inside link to them.</p>
      {def.params.map((p) =>
        p.derive ? (
          <p key={p.name} className="pb-muted pb-small-text">
            <strong>{p.name}</strong>: read from input “{p.derive.input}”, axis {p.derive.axis}.
          </p>
        ) : (
          <div key={p.name} className="pb-signature-row">
            <ParamField
              label={`${p.name} (default)`}
              info={blockField(p)}
              value={p.default}
              onChange={(v) =>
                useEditor.getState().commit(setBlockParamDefault(useEditor.getState().doc, def.id, p.name, v), { coalesce: `$block.${def.id}.${p.name}` })
              }
              onDone={endCoalesce}
            />
            <button
              type="button"
              className="pb-small pb-danger"
              aria-label={`Remove block param ${p.name}`}
              onClick={() => apply(removeBlockParam(useEditor.getState().doc, def.id, p.name), `Cannot remove “${p.name}”`)}
            >
              Remove
            </button>
          </div>
        ),
      )}
      <div className="pb-row pb-add-param">
        <input aria-label="New param name" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
        <select aria-label="New param kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
          <option value="int">whole number</option>
          <option value="number">number</option>
          <option value="boolean">on / off</option>
          <option value="string">text</option>
        </select>
        <button
          type="button"
          disabled={!name.trim()}
          onClick={() => {
            apply(addBlockParam(useEditor.getState().doc, def.id, { name: name.trim(), kind, default: NEW_PARAM_DEFAULTS[kind] }), 'Cannot add this param');
            setName('');
          }}
        >
          Add param
        </button>
      </div>
    </section>
  );
}
