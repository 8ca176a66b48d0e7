/** The runs of this graph kept in this browser: status, figures, weights, comparison of curves. */
import { useRef } from 'react';
import type uPlot from 'uplot';
import type { Plan } from '../../compiler/plan';
import { LineChart } from '../Chart';
import type { RunRecord } from '../runs-db';
import { isActiveStatus, useTraining } from '../training';
import { resumeSavedRun } from './controller';
import { removeRun, toggleCompare } from './history';
import { clearPendingWeights, exportWeights, importWeights, tryPastRun } from './weights';
import { COLORS, duration, nounOf, pct, runDataText } from './format';
import { Section } from './Section';
import { ComparisonDialog } from './Comparison';
import { compareSweep, openComparison } from './sweep';
import { variantLabel } from '../../document/sweep';
import { useProgramRun } from './program-live';
import type { PlanProgram } from '../../compiler/program';
import { importProgramWeights, scoreImportedRun } from './program-weights';

/** The figure a run is known by: test accuracy, or for a training program its first headline metric. */
function headline(r: RunRecord): { value: number | null; title: string } {
  if (!r.program) return { value: r.final ? r.final.test.accuracy : null, title: 'Final test accuracy' };
  for (const [name, title] of [
    ['testAccuracy', 'Test accuracy'],
    ['linearProbeAccuracy', 'Linear probe accuracy'],
    ['knnAccuracy', 'kNN accuracy'],
  ] as const) {
    const v = r.program.metrics[name];
    if (typeof v === 'number') return { value: v, title };
  }
  return { value: null, title: 'Not evaluated' };
}

/** The badge of a saved run; an interrupted one says how far it got. */
const badgeOf = (r: RunRecord): string =>
  r.imported ? 'imported weights' : r.status === 'interrupted' ? `interrupted at step ${r.curves.loss.length}` : r.status;

/** Where an imported program run's weights came from, and what it was scored on. */
function importedProgramText(r: RunRecord): string {
  const from = `Imported from ${r.imported!.files.join(' + ')} (${(r.imported!.networks ?? []).join(', ')}); not trained here`;
  const metrics = r.program && Object.keys(r.program.metrics).length > 0;
  if (!metrics || !r.data) return `${from}. Not scored yet: Score runs the program's evaluations on the chosen data.`;
  const tested = r.limit ? Math.min(Math.max(1, Math.floor(r.limit / 4)), r.data.testCount) : r.data.testCount;
  return `${from}. Scored on ${r.data.title}'s ${tested.toLocaleString('en-US')} test ${nounOf(r.data)}.`;
}

/**
 * `program`: the graph's training program, when it is one (null while it has errors): its weights are
 * imported as a .zip or a folder with a folder per network, and an imported run can be scored.
 */
export function RunsList({ plan, graphName, program }: { plan: Plan | null; graphName: string; program?: PlanProgram | null }) {
  const runs = useTraining((s) => s.runs);
  const compare = useTraining((s) => s.compare);
  const pendingWeights = useTraining((s) => s.pendingWeights);
  // The live run's own record reads "interrupted" (what it would be if the page went away): show it as running.
  const classifierLive = useTraining((s) => (isActiveStatus(s.run?.status) ? s.run!.id : null));
  const programLive = useProgramRun((s) => (isActiveStatus(s.run?.status) ? s.run!.id : null));
  const liveId = classifierLive ?? programLive;
  const busy = liveId !== null;
  const picker = useRef<HTMLInputElement>(null);
  const folderPicker = useRef<HTMLInputElement>(null);
  const chosen = runs.filter((r) => compare.includes(r.id));
  const compareData = (): uPlot.AlignedData => {
    const n = Math.max(0, ...chosen.map((r) => r.curves.loss.length));
    return [Array.from({ length: n }, (_, i) => i + 1), ...chosen.map((r) => Array.from({ length: n }, (_, i) => r.curves.loss[i] ?? null))];
  };
  return (
    <Section
      title={`Runs of “${graphName}”`}
      testId="runs"
      right={
        program !== undefined ? (
          <>
            <button
              type="button"
              disabled={busy || !program}
              onClick={() => picker.current?.click()}
              title={
                program ? 'Pick the weights.zip a run of this program exported' : "Fix the program's errors first: weights are checked against its networks"
              }
            >
              Import weights
            </button>
            <input
              ref={picker}
              type="file"
              accept=".zip,application/zip"
              hidden
              aria-label="Import weights (.zip)"
              onChange={(e) => {
                const files = Array.from(e.target.files ?? []);
                e.target.value = '';
                if (files.length && program) void importProgramWeights(files, program);
              }}
            />
            <button
              type="button"
              disabled={busy || !program}
              onClick={() => folderPicker.current?.click()}
              title="Pick a folder holding a folder per network, each with model.json and weights.bin (what patchbay train --save and the PyTorch export's weights.py write)"
            >
              Import a folder
            </button>
            <input
              ref={(el) => {
                folderPicker.current = el;
                el?.setAttribute('webkitdirectory', '');
              }}
              type="file"
              multiple
              hidden
              aria-label="Import weights (a folder per network)"
              onChange={(e) => {
                const files = Array.from(e.target.files ?? []);
                e.target.value = '';
                if (files.length && program) void importProgramWeights(files, program);
              }}
            />
          </>
        ) : (
          <>
            <button type="button" onClick={() => picker.current?.click()} title="Pick model.json and weights.bin">
              Import weights
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              accept=".json,.bin,application/json,application/octet-stream"
              hidden
              aria-label="Import weights (model.json and weights.bin)"
              onChange={(e) => {
                const files = Array.from(e.target.files ?? []);
                e.target.value = '';
                if (files.length) void importWeights(files, plan);
              }}
            />
          </>
        )
      }
    >
      {pendingWeights && (
        <p className="pb-note pb-row">
          The next run starts from the imported weights ({pendingWeights.label}).
          <span className="pb-spacer" />
          <button type="button" className="pb-link" onClick={clearPendingWeights}>
            Don't use them
          </button>
        </p>
      )}
      {!runs.length && <p className="pb-muted pb-small-text">No runs of this graph yet. Runs are kept in this browser, with their weights.</p>}
      {runs.length > 0 && (
        <ul className="pb-runs" aria-label="Run history">
          {runs.map((r, i) => {
            const live = r.id === liveId;
            const resumable = !live && r.checkpointStep !== undefined && (r.status === 'interrupted' || r.status === 'crashed');
            return (
              <li key={r.id} className="pb-run" data-testid="run-item" data-status={live ? 'running' : r.status}>
                <input
                  type="checkbox"
                  checked={compare.includes(r.id)}
                  onChange={() => toggleCompare(r.id)}
                  aria-label={`Compare the run of ${new Date(r.date).toLocaleString()}`}
                  style={{ accentColor: COLORS[chosen.indexOf(r) % COLORS.length] }}
                />
                <div className="pb-run-main">
                  <div className="pb-row">
                    <span className="pb-run-date">{new Date(r.date).toLocaleString()}</span>
                    <span className={`pb-badge pb-run-badge pb-run-${live ? 'running' : r.status}`} data-testid="run-badge">
                      {live ? 'running now' : badgeOf(r)}
                    </span>
                    {i === 0 && <span className="pb-tag">latest</span>}
                    <span className="pb-spacer" />
                    <span className="pb-run-acc" title={headline(r).title}>
                      {pct(headline(r).value, 2)}
                    </span>
                  </div>
                  {r.sweep && (
                    <div className="pb-row pb-small-text" data-testid="run-sweep">
                      <span className="pb-tag">
                        sweep {r.sweep.index + 1}/{r.sweep.count}
                      </span>
                      <span className="pb-run-sweep">{variantLabel(r.sweep.values)}</span>
                    </div>
                  )}
                  {r.imported && r.program && (
                    <div className="pb-small-text pb-muted" data-testid="run-imported">
                      {importedProgramText(r)}
                    </div>
                  )}
                  {r.message && r.imported && r.program && <div className="pb-small-text pb-muted pb-run-why">{r.message}</div>}
                  {r.imported && !r.program && (
                    <div className="pb-small-text pb-muted" data-testid="run-imported">
                      Imported with the graph from {r.imported.files.join(' + ')}; not trained here
                      {r.final && r.data ? `. Scored on ${r.data.title}'s ${r.data.testCount.toLocaleString('en-US')} test ${nounOf(r.data)}.` : '.'}
                    </div>
                  )}
                  <div className="pb-small-text pb-muted" hidden={!!r.imported}>
                    {r.curves.loss.length}/{r.totalSteps || '?'} steps ·{' '}
                    {r.program ? 'training program' : `${r.setup.optimizer} ${r.setup.learningRate} ${r.setup.schedule}`} · batch {r.setup.batchSize} ·{' '}
                    {runDataText(r)} · {r.backend?.name ?? r.backendChoice} · {duration(r.seconds)}
                  </div>
                  {r.message && r.status !== 'completed' && !live && <div className="pb-small-text pb-muted pb-run-why">{r.message}</div>}
                  {r.program?.from && (
                    <div className="pb-small-text pb-muted" data-testid="run-from">
                      {r.program.from.networks.join(', ')} from{' '}
                      {runs.find((o) => o.id === r.program!.from!.runId)?.imported ? 'the weights imported' : 'the run of'}{' '}
                      {r.program.from.date ? new Date(r.program.from.date).toLocaleString() : 'an earlier run'}
                      {r.program.from.skipped.length
                        ? ` (${r.program.from.skipped.length} procedure${r.program.from.skipped.length === 1 ? '' : 's'} skipped)`
                        : ''}
                    </div>
                  )}
                  {r.status === 'interrupted' && !live && (
                    <div className="pb-small-text pb-muted pb-run-why">
                      {resumable
                        ? `The page was closed or reloaded during this run. It can go on from its last checkpoint${r.checkpointStep! < r.curves.loss.length ? ` (step ${r.checkpointStep}; the steps after it run again)` : ''}.`
                        : 'The page was closed or reloaded during this run, before its first checkpoint (kept at each epoch end, every 15 s and on pause), so it cannot go on.'}
                    </div>
                  )}
                  <div className="pb-row pb-run-actions">
                    {resumable && (
                      <button
                        type="button"
                        className="pb-small-btn pb-primary"
                        disabled={busy}
                        data-step={r.checkpointStep}
                        title={busy ? 'Wait for the current run to end' : 'Go on training from the last checkpoint'}
                        onClick={() => void resumeSavedRun(r)}
                      >
                        Resume from step {r.checkpointStep}
                      </button>
                    )}
                    {r.imported && r.program && program && (
                      <button
                        type="button"
                        className="pb-small-btn pb-primary"
                        disabled={busy}
                        title={busy ? 'Wait for the current run to end' : "Run the program's evaluations with these networks on the chosen data (no training)"}
                        onClick={() => scoreImportedRun(r, program)}
                      >
                        Score
                      </button>
                    )}
                    <button type="button" className="pb-small-btn" disabled={!r.hasWeights} onClick={() => void exportWeights(r)}>
                      Export weights
                    </button>
                    <button
                      type="button"
                      className="pb-small-btn"
                      disabled={!r.hasWeights || !!r.program}
                      onClick={() => void tryPastRun(r, plan)}
                      title={
                        r.program
                          ? "The drawing playground takes a classifier's weights; a program's networks are in Export weights"
                          : 'Load these weights for the drawing playground'
                      }
                    >
                      Try
                    </button>
                    {r.sweep && runs.filter((o) => o.sweep?.id === r.sweep!.id).length >= 2 && (
                      <button
                        type="button"
                        className="pb-small-btn"
                        title="Tick every run of this sweep and open the comparison"
                        onClick={() => compareSweep(r.sweep!.id, runs)}
                      >
                        Compare its sweep
                      </button>
                    )}
                    <button type="button" className="pb-small-btn pb-danger" disabled={live} onClick={() => void removeRun(r.id)}>
                      Delete
                    </button>
                  </div>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {chosen.length === 1 && <p className="pb-muted pb-small-text">Tick another run to compare loss curves.</p>}
      {chosen.length >= 2 && (
        <div className="pb-row">
          <span className="pb-muted pb-small-text">{chosen.length} runs ticked</span>
          <span className="pb-spacer" />
          <button type="button" className="pb-primary" onClick={openComparison}>
            Compare {chosen.length} runs
          </button>
        </div>
      )}
      <ComparisonDialog />
      {chosen.length >= 2 && (
        <LineChart
          title="Loss per step, selected runs"
          testId="chart-compare"
          version={compare.length + runs.length}
          series={chosen.map((r, i) => ({
            label: r.sweep ? variantLabel(r.sweep.values) : new Date(r.date).toLocaleTimeString(),
            color: COLORS[i % COLORS.length]!,
          }))}
          data={compareData}
        />
      )}
    </Section>
  );
}
