/** Start / pause / resume / stop, and the live progress of the run on screen. */
import { useMemo, type ReactNode } from 'react';
import type { Plan } from '../../compiler/plan';
import type { TrainingSetup } from '../../document/schema';
import { useEditor } from '../store';
import { isActiveStatus, type LiveRun } from '../training';
import { pauseRun, resumeRun, startRun, stopRun } from './controller';
import { BACKEND_NAMES, duration, formatNumber } from './format';
import { MnistFullProgress } from './MnistFullStatus';
import { variantLabel } from '../../document/sweep';

const STATUS_TEXT: Record<LiveRun['status'], string> = {
  starting: 'Starting: loading tfjs, the backend and the data…',
  running: 'Training',
  paused: 'Paused',
  stopping: 'Stopping after this step…',
  completed: 'Finished',
  stopped: 'Stopped',
  failed: 'Failed',
  crashed: 'The worker crashed',
  interrupted: 'Interrupted',
};

/** The buttons for the run on screen (or Start when there is none), what a run would cover, and why Start is refused. */
export function RunControls({
  run,
  plan,
  setup,
  graphKey,
  graphName,
  blocked,
  planned,
  children,
}: {
  run: LiveRun | null;
  plan: Plan | null;
  setup: TrainingSetup;
  graphKey: string;
  graphName: string;
  blocked: string | null;
  planned: string | null;
  /** What else belongs with Start (the model check). */
  children?: ReactNode;
}) {
  const active = isActiveStatus(run?.status);
  return (
    <div className="pb-train-controls">
      <div className="pb-row">
        {!active && (
          <button type="button" className="pb-primary" disabled={!!blocked} onClick={() => plan && startRun({ plan, setup, graphKey, graphName })}>
            {run ? 'Start a new run' : 'Start'}
          </button>
        )}
        {active && run!.status !== 'paused' && (
          <button type="button" onClick={pauseRun} disabled={run!.status !== 'running'}>
            Pause
          </button>
        )}
        {active && run!.status === 'paused' && (
          <button type="button" className="pb-primary" onClick={resumeRun}>
            Resume
          </button>
        )}
        {active && (
          <button type="button" className="pb-danger" onClick={stopRun} disabled={run!.status === 'stopping'}>
            Stop
          </button>
        )}
        <span className="pb-spacer" />
        {!active && planned && (
          <span className="pb-muted pb-small-text" data-testid="train-plan">
            {planned}
          </span>
        )}
      </div>
      {blocked && !active && (
        <p className="pb-blocked" data-testid="train-blocked">
          {blocked}
        </p>
      )}
      {children}
      {run && <Progress run={run} plan={plan} />}
    </div>
  );
}

function Progress({ run, plan }: { run: LiveRun; plan: Plan | null }) {
  const last = run.last;
  const total = last?.totalSteps ?? run.totalSteps;
  const step = last?.step ?? run.curves.loss.length;
  const fraction = total ? step / total : 0;
  const active = isActiveStatus(run.status);
  const changed = useMemo(() => !plan || JSON.stringify(plan) !== run.planJson, [plan, run.planJson]);
  const focusNode = useEditor((s) => s.focusNode);
  return (
    <div className="pb-progress-box" data-testid="train-progress" data-status={run.status}>
      <div className="pb-row">
        <strong className={`pb-run-status pb-run-${run.status}`} data-testid="run-status">
          {STATUS_TEXT[run.status]}
        </strong>
        <span className="pb-spacer" />
        <span className="pb-mono" data-testid="train-step">
          Step {step} / {total || '?'}
        </span>
      </div>
      <div className="pb-progress" role="progressbar" aria-label="Training progress" aria-valuemin={0} aria-valuemax={total || 1} aria-valuenow={step}>
        <div className={`pb-progress-fill${run.status === 'paused' ? ' pb-progress-paused' : ''}`} style={{ width: `${(fraction * 100).toFixed(2)}%` }} />
      </div>
      <div className="pb-row pb-small-text pb-muted pb-progress-facts">
        <span>
          Epoch {last?.epoch ?? (run.status === 'starting' ? '–' : 0)} / {run.setup.epochs}
        </span>
        <span data-testid="train-speed">
          {last ? `${formatNumber(last.stepsPerSecond)} steps/s` : '– steps/s'}
          {run.backend ? ` on ${BACKEND_NAMES[run.backend.name]}` : ''}
        </span>
        <span data-testid="train-eta">{active ? (last ? `${duration(last.secondsLeft)} left` : 'time left: –') : `took ${duration(run.seconds)}`}</span>
        {last && <span>loss {formatNumber(last.loss, 4)}</span>}
        {last && <span>lr {formatNumber(last.learningRate)}</span>}
        {active && run.checkpointStep !== undefined && (
          <span data-testid="train-checkpoint" data-step={run.checkpointStep} title="Kept in this browser: after a reload, the run can go on from here">
            saved at step {run.checkpointStep}
          </span>
        )}
      </div>
      {/* A run on MNIST's full set waits for its download first: how far it is. */}
      {run.status === 'starting' && <MnistFullProgress bar={false} />}
      {run.message && (
        <p
          className={`pb-run-message${run.status === 'failed' || run.status === 'crashed' ? ' pb-run-message-bad' : ''}`}
          role={run.status === 'failed' || run.status === 'crashed' ? 'alert' : undefined}
        >
          {run.message}
          {run.nodeId && (
            <>
              {' '}
              <button type="button" className="pb-link" onClick={() => focusNode(run.nodeId!)}>
                Show the node
              </button>
            </>
          )}
        </p>
      )}
      {run.sweep && (
        <p className="pb-note" data-testid="sweep-run-note">
          Sweep variant {run.sweep.index + 1} of {run.sweep.count}: <span className="pb-mono">{variantLabel(run.sweep.values)}</span>. Your graph is not
          changed.
        </p>
      )}
      {changed && !run.sweep && (
        <p className="pb-note" data-testid="graph-changed">
          The graph changed since this run started;{' '}
          {active ? 'the run goes on with the graph as it was.' : 'its curves and weights belong to the graph as it was.'}
        </p>
      )}
    </div>
  );
}
