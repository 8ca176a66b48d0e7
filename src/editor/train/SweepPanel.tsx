/**
 * The Sweep section of the Train tab: one or two params (a node's numeric param, a block's repeat
 * count, the learning rate, batch size or epochs) with a few values each, as a grid or random picks
 * from it; the variants it makes (with their MACs, or why one cannot train); Run sweep / Stop sweep,
 * each variant's state while it runs, and Compare the sweep when it is done.
 */
import { useMemo, useState } from 'react';
import type { GraphDocument } from '../../document/schema';
import { useTraining } from '../training';
import { duration, formatNumber } from './format';
import { compareSweep, MAX_VARIANTS, planSweep, setDraft, startSweep, stopSweep, suggestedValues, sweepChoices, useSweep, type VariantStatus } from './sweep';
import './compare.css';

const STATUS_TEXT: Record<VariantStatus, string> = {
  waiting: 'waiting',
  training: 'training…',
  completed: 'done',
  failed: 'failed',
  invalid: 'cannot train',
  stopped: 'stopped',
  skipped: 'skipped',
};

export function SweepPanel({ doc, graphKey, blocked, runActive }: { doc: GraphDocument; graphKey: string; blocked: string | null; runActive: boolean }) {
  const draft = useSweep((s) => s.draft);
  const sweep = useSweep((s) => s.sweep);
  const runs = useTraining((s) => s.runs);
  const mine = sweep && sweep.graphKey === graphKey ? sweep : null;
  const active = mine?.status === 'running' || mine?.status === 'stopping';
  const [open, setOpen] = useState(false);
  const choices = useMemo(() => sweepChoices(doc), [doc]);
  const planned = useMemo(
    () => (open ? planSweep(doc, { params: draft.params, random: draft.mode === 'random' ? draft.random : undefined, seed: doc.training?.seed }) : null),
    [open, doc, draft],
  );
  const setRow = (i: number, patch: Partial<{ name: string; values: string }>) =>
    setDraft({ params: draft.params.map((p, j) => (j === i ? { ...p, ...patch } : p)) });
  const total = draft.params.reduce((n, p) => n * Math.max(1, p.values.split(',').filter((v) => v.trim()).length), 1);
  const sweepRuns = mine ? runs.filter((r) => r.sweep?.id === mine.id) : [];
  const trainable = planned && 'variants' in planned ? planned.variants.filter((v) => !v.problem).length : 0;

  return (
    <details className="pb-train-section pb-setup pb-sweep" open={open || active} onToggle={(e) => setOpen(e.currentTarget.open)} data-testid="sweep">
      <summary className="pb-row pb-train-head">
        <h3>Sweep</h3>
        {!(open || active) && <span className="pb-muted pb-small-text pb-setup-summary">Train variants of this graph one after another and compare them</span>}
      </summary>
      {!active && (
        <>
          <p className="pb-muted pb-small-text pb-sweep-intro">
            Each variant trains with the setup above (epochs, limit, data) and becomes a run in the history, labelled by its values. Your graph is not changed.
          </p>
          <div className="pb-sweep-rows">
            {draft.params.map((p, i) => {
              const choice = choices.find((c) => c.name === p.name);
              return (
                <div className="pb-sweep-row" key={i}>
                  <select
                    aria-label={`Param to sweep ${i + 1}`}
                    value={choice ? p.name : ''}
                    onChange={(e) => {
                      const next = choices.find((c) => c.name === e.target.value);
                      setRow(i, { name: e.target.value, values: next ? suggestedValues(next) : '' });
                    }}
                  >
                    <option value="" disabled>
                      Choose a param…
                    </option>
                    {(['Training', 'Graph'] as const).map((group) => (
                      <optgroup key={group} label={group === 'Training' ? 'Training setup' : 'Graph'}>
                        {choices
                          .filter((c) => c.group === group)
                          .map((c) => (
                            <option key={c.name} value={c.name}>
                              {c.label}
                              {c.node ? ` · ${c.node}` : ''} ({formatNumber(c.current, 4)})
                            </option>
                          ))}
                      </optgroup>
                    ))}
                  </select>
                  <input
                    type="text"
                    aria-label={`Values of ${choice?.label ?? `param ${i + 1}`}`}
                    placeholder="values, e.g. 32, 64"
                    value={p.values}
                    spellCheck={false}
                    onChange={(e) => setRow(i, { values: e.target.value })}
                  />
                  {i > 0 ? (
                    <button
                      type="button"
                      className="pb-icon"
                      aria-label="Remove this param"
                      onClick={() => setDraft({ params: draft.params.filter((_, j) => j !== i) })}
                    >
                      ×
                    </button>
                  ) : (
                    <span />
                  )}
                </div>
              );
            })}
            {draft.params.length < 2 && (
              <button type="button" className="pb-link pb-sweep-add" onClick={() => setDraft({ params: [...draft.params, { name: '', values: '' }] })}>
                + Add a second param
              </button>
            )}
          </div>
          <div className="pb-sweep-mode">
            <label>
              <input type="radio" name="pb-sweep-mode" checked={draft.mode === 'grid'} onChange={() => setDraft({ mode: 'grid' })} /> Every combination
              {total > 1 ? ` (${total})` : ''}
            </label>
            <label title="Distinct combinations drawn from the grid, seeded by the setup's seed">
              <input type="radio" name="pb-sweep-mode" checked={draft.mode === 'random'} onChange={() => setDraft({ mode: 'random' })} /> Random picks:
            </label>
            <input
              type="number"
              min={1}
              max={MAX_VARIANTS}
              aria-label="How many random picks"
              value={draft.random}
              disabled={draft.mode !== 'random'}
              onChange={(e) => setDraft({ random: Math.max(1, Math.round(Number(e.target.value) || 1)) })}
            />
          </div>
          {planned && 'error' in planned && draft.params.some((p) => p.name) && (
            <p className="pb-blocked" data-testid="sweep-problem">
              {planned.error}
            </p>
          )}
          {planned && 'variants' in planned && (
            <ul className="pb-sweep-variants" aria-label="Variants of the sweep" data-testid="sweep-variants">
              {planned.variants.map((v) => (
                <li key={v.index}>
                  <span className="pb-sweep-label">{v.label}</span>
                  <span className="pb-spacer" />
                  {v.problem ? (
                    <span className="pb-sweep-why">{v.problem}</span>
                  ) : (
                    <span className="pb-muted pb-mono" title="Multiply–accumulates per example; trainable parameters">
                      {v.cost ? `${formatNumber(v.cost.macs)} MACs · ${formatNumber(v.cost.trainableParams)} params` : ''}
                    </span>
                  )}
                </li>
              ))}
            </ul>
          )}
          <div className="pb-row">
            <button
              type="button"
              className="pb-primary"
              disabled={!!blocked || runActive || !trainable}
              title={blocked ?? (runActive ? 'Wait for the current run to end' : undefined)}
              onClick={() =>
                void startSweep({
                  doc,
                  draft: { params: draft.params, random: draft.mode === 'random' ? draft.random : undefined, seed: doc.training?.seed },
                  graphKey,
                  graphName: doc.name,
                })
              }
            >
              {trainable ? `Run sweep (${trainable} variant${trainable === 1 ? '' : 's'})` : 'Run sweep'}
            </button>
            <span className="pb-spacer" />
            {mine && sweepRuns.length >= 2 && (
              <button type="button" onClick={() => compareSweep(mine.id, runs)}>
                Compare the sweep
              </button>
            )}
          </div>
        </>
      )}
      {mine && (
        <div className="pb-sweep-progress" data-testid="sweep-progress" data-status={mine.status}>
          {active && (
            <div className="pb-row">
              <strong className="pb-small-text">
                {mine.status === 'stopping'
                  ? 'Stopping the sweep…'
                  : `Sweep: variant ${mine.variants.filter((v) => v.status !== 'waiting' && v.status !== 'invalid').length} of ${mine.variants.filter((v) => v.status !== 'invalid').length}`}
              </strong>
              <span className="pb-spacer" />
              <button type="button" className="pb-danger" onClick={stopSweep} disabled={mine.status !== 'running'}>
                Stop sweep
              </button>
            </div>
          )}
          {!active && (
            <p className="pb-small-text pb-muted" data-testid="sweep-summary">
              Last sweep {mine.status === 'stopped' ? 'stopped' : 'finished'}: {mine.variants.filter((v) => v.status === 'completed').length} of{' '}
              {mine.variants.length} variants trained in {duration(mine.seconds)}.
            </p>
          )}
          <ul className="pb-sweep-variants" aria-label="Sweep progress">
            {mine.variants.map((v) => (
              <li key={v.index} data-testid="sweep-variant" data-status={v.status}>
                <span className="pb-sweep-label">{v.label}</span>
                <span className="pb-spacer" />
                {v.message && v.status !== 'completed' && (
                  <span className={v.status === 'failed' || v.status === 'invalid' ? 'pb-sweep-why' : 'pb-muted pb-small-text'}>{v.message}</span>
                )}
                <span className="pb-sweep-status" data-status={v.status}>
                  {STATUS_TEXT[v.status]}
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </details>
  );
}
