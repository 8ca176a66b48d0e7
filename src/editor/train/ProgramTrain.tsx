/**
 * The Train tab of a document with a training program: Start runs the program in the worker, the
 * progress names the procedure running, each training procedure has a chart with one line per loss
 * node, and the evaluations' metrics (probe, kNN, baselines, collapse monitor) appear when measured.
 * The setup here is what the program does not say itself: the data, batch size, epochs, seed and a
 * limit for quick runs (optimizers live on the Minimize nodes). The drawing playground is for
 * classifiers only.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type uPlot from 'uplot';
import { proceduresCoveredBy, type PlanProgram, type ProgramAnalysis } from '../../compiler/program';
import { TrainingSchema, type GraphDocument, type TrainingSetup } from '../../document/schema';
import { startRefusal } from '../../compiler/memory';
import { formatShape } from '../../nodes/shape';
import { LineChart } from '../Chart';
import { planProgramOf, programOf } from '../program-view';
import { graphKeyOf } from '../runs-db';
import { useEditor } from '../store';
import { DATA_CHOICES, useTraining } from '../training';
import { probeBackends } from './controller';
import { chosenData } from './data';
import { DataPicker } from './DataPicker';
import { MnistFullProgress } from './MnistFullStatus';
import { BACKEND_NAMES, COLORS, duration, formatNumber, nounOf, pct } from './format';
import { refreshRuns } from './history';
import { pauseProgramRun, resumeProgramRun, startProgramRun, stopProgramRun } from './program-controller';
import { flatMetrics, plannedProcedures, useProgramRun, type ProgramLiveRun } from './program-live';
import { RunsList } from './RunHistory';
import { Section } from './Section';
import { StartFrom, type StartFromChoice } from './StartFrom';
import { BackendRow, SetupForm } from './SetupForm';
import { ZeroShotPanel, zeroShotSetupOf } from './ZeroShot';
import { AttentionMapsPanel, classTokenAttentionInput } from './AttentionMaps';
import { CapsuleViewsPanel, capsuleSetupOf } from './CapsuleViews';
import { GlomIslandsPanel, glomSetupOf } from './GlomIslands';
import { ConditionalExamplesPanel, hasConditionalExamples } from './ConditionalExamples';
import { isActiveStatus } from '../training';
import { FlowDensity } from './FlowDensity';
import { DiffusionSamplesPanel } from './DiffusionSamples';
import { FlowSamplesPanel } from './FlowSamples';
import { imageFlow } from '../../runtime/program/flow-samples';
import { unconditionalDenoiser } from '../../runtime/program/denoiser';
import { useRunHeaderHeight } from './sticky';

const FIELDS: (keyof TrainingSetup)[] = ['batchSize', 'epochs', 'seed'];
const HELP: Partial<Record<keyof TrainingSetup, string>> = {
  epochs: 'Passes over the training split, for each training procedure that does not set its own.',
  seed: 'Seeds the initial weights, the augmentations, dropout and the data order.',
};

const STATUS_TEXT: Record<ProgramLiveRun['status'], string> = {
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

/** Why the data cannot feed the program's Data nodes, or null. */
function dataProblem(program: ProgramAnalysis, data: { title: string; inputShape: number[]; classNames: string[] }): string | null {
  for (const p of program.procedures) {
    for (const node of p.def.nodes) {
      if (node.type !== 'Data') continue;
      const params = p.params.get(node.id);
      if (!params) continue;
      const shape = params.shape as number[];
      const classes = params.classes as number;
      if (shape.join('x') !== data.inputShape.join('x') || classes !== data.classNames.length) {
        return `Data “${node.name ?? node.id}” of “${p.def.label}” takes examples of ${formatShape([null, ...shape])} in ${classes} classes, but ${data.title} has ${formatShape([null, ...data.inputShape])} in ${data.classNames.length}. Choose other data, or change the Data node.`;
      }
    }
  }
  return null;
}

/** Steps each training procedure will take, in words. */
function plannedText(program: PlanProgram, setup: TrainingSetup, examples: number, noun: string, skipped: readonly string[]): string {
  return plannedProcedures(program, setup, examples, skipped)
    .map((p) =>
      'skipped' in p
        ? `${p.label}: skipped (its networks come trained from the past run)`
        : `${p.label}: ${examples.toLocaleString('en-US')} ${noun} × ${p.epochs} epoch${p.epochs === 1 ? '' : 's'} = ${p.steps.toLocaleString('en-US')} steps of ${setup.batchSize}`,
    )
    .join('; ');
}

export function ProgramTrainPanel({ doc }: { doc: GraphDocument }) {
  const program = programOf(doc)!;
  const lowered = planProgramOf(program);
  // Linear scans of the procedures: cheap enough for every render, and the compiler memoises the component.
  const zeroShot = zeroShotSetupOf(program);
  const capsules = capsuleSetupOf(program);
  const glom = glomSetupOf(program);
  // An unconditional diffusion model (ddpm) gets the samples grid.
  const diffusion = lowered.program ? unconditionalDenoiser(lowered.program) : null;
  // A flow on images (glow) gets its own samples grid; a flow on 2-D points keeps FlowDensity.
  const flowImages = lowered.program ? imageFlow(lowered.program) : null;
  // The first network with a class token and attention on images (CLIP's image tower) gets the attention view.
  const attentionNetwork = lowered.program?.networks.map((n) => ({ id: n.id, input: classTokenAttentionInput(n.plan) })).find((n) => n.input);
  const run = useProgramRun((s) => s.run);
  const tick = useProgramRun((s) => s.tick);
  const classifierActive = useTraining((s) => isActiveStatus(s.run?.status));
  const dataChoice = useTraining((s) => s.dataChoice);
  const csv = useTraining((s) => s.csv);
  const images = useTraining((s) => s.images);
  const limit = useTraining((s) => s.limit);
  const runsKey = useTraining((s) => s.runsKey);
  const raw = (doc.training ?? {}) as Record<string, unknown>;
  const parsed = TrainingSchema.safeParse(raw);
  const setup = parsed.success ? parsed.data : TrainingSchema.parse({});
  const graphKey = graphKeyOf(doc);
  const data = chosenData({ dataChoice, csv, images });
  const active = isActiveStatus(run?.status);
  const mine = run && run.graphKey === graphKey ? run : null;
  const [setupOpen, setSetupOpen] = useState(!mine);
  const [startFrom, setStartFrom] = useState<StartFromChoice | null>(null);
  const runId = mine?.id;
  useEffect(() => {
    if (runId) setSetupOpen(false);
  }, [runId]);
  useEffect(() => probeBackends(), []);
  useEffect(() => {
    if (runsKey !== graphKey) void refreshRuns(graphKey);
  }, [graphKey, runsKey]);
  // Sticky rows below (the side-by-side view's column names) stop under the run header, not behind it.
  const controls = useRef<HTMLDivElement>(null);
  useRunHeaderHeight(controls);

  const errors = lowered.diagnostics.filter((d) => d.severity === 'error').length;
  // The compiler's estimate (PB310) of the program's largest training step, all its networks together: refused as TrainPanel refuses a classifier.
  const tooLarge = program.diagnostics.find((d) => d.code === 'PB310' && !d.nodeId);
  const blocked = !lowered.program
    ? `The program has ${errors || 'some'} error${errors === 1 ? '' : 's'}; fix ${errors === 1 ? 'it' : 'them'} first (Issues tab).`
    : tooLarge
      ? startRefusal(tooLarge)
      : classifierActive
        ? 'Another run is active; stop it first.'
        : !data
          ? 'Choose the data to train on (Dataset, in the training setup).'
          : (dataProblem(program, data) ?? (!parsed.success ? 'Some setup values are not valid; see the fields marked in red.' : null));
  const examples = data ? Math.min(limit ?? data.trainCount, data.trainCount) : 0;
  const skipped = lowered.program && startFrom?.networks.length ? proceduresCoveredBy(lowered.program, new Set(startFrom.networks)) : [];
  const planned = lowered.program && data && parsed.success ? plannedText(lowered.program, setup, examples, nounOf(data), skipped) : null;

  return (
    <div className="pb-train" data-testid="program-train">
      <div className="pb-train-controls" ref={controls}>
        <div className="pb-row">
          {!active && (
            <button
              type="button"
              className="pb-primary"
              disabled={!!blocked}
              onClick={() =>
                lowered.program &&
                startProgramRun({ program: lowered.program, setup, graphKey, graphName: doc.name, from: startFrom?.networks.length ? startFrom : undefined })
              }
            >
              {mine ? 'Start a new run' : 'Start'}
            </button>
          )}
          {active && run!.status !== 'paused' && (
            <button type="button" onClick={pauseProgramRun} disabled={run!.status !== 'running'}>
              Pause
            </button>
          )}
          {active && run!.status === 'paused' && (
            <button type="button" className="pb-primary" onClick={resumeProgramRun}>
              Resume
            </button>
          )}
          {active && (
            <button type="button" className="pb-danger" onClick={stopProgramRun} disabled={run!.status === 'stopping'}>
              Stop
            </button>
          )}
        </div>
        {!active && planned && (
          <p className="pb-muted pb-small-text" data-testid="train-plan">
            {planned}
          </p>
        )}
        {blocked && !active && (
          <p className="pb-blocked" data-testid="train-blocked">
            {blocked}
          </p>
        )}
        {mine && <ProgramProgress run={mine} current={lowered.program} />}
      </div>
      {/* A score of imported weights, or a run whose networks all come trained, trains nothing: no curves to draw. */}
      {mine && !trainsNothing(mine) && <ProgramCurves run={mine} tick={tick} />}
      {mine && <FlowDensity runId={mine.id} />}
      {diffusion && <DiffusionSamplesPanel setup={diffusion} run={mine ? { id: mine.id, active } : null} />}
      {flowImages && <FlowSamplesPanel run={mine ? { id: mine.id, active } : null} />}
      {mine?.metrics && <ProgramMetrics run={mine} />}
      {zeroShot && (
        <ZeroShotPanel
          key={JSON.stringify([zeroShot.classWords, zeroShot.classDigits, zeroShot.templates[0]])}
          setup={zeroShot}
          trained={!!mine && (mine.status === 'completed' || mine.status === 'stopped')}
        />
      )}
      {attentionNetwork && (
        <AttentionMapsPanel
          key={mine?.id ?? 'none'}
          network={attentionNetwork.id}
          inputShape={attentionNetwork.input!}
          ready={!!mine && (mine.status === 'completed' || mine.status === 'stopped')}
          waiting="Train the program first: the maps are read from the networks of the last run."
          classNames={data?.classNames ?? []}
        />
      )}
      {capsules && <CapsuleViewsPanel setup={capsules} trained={!!mine && (mine.status === 'completed' || mine.status === 'stopped')} />}
      {glom && <GlomIslandsPanel setup={glom} trained={!!mine && (mine.status === 'completed' || mine.status === 'stopped')} />}
      {hasConditionalExamples(lowered.program) && (
        <ConditionalExamplesPanel
          // Another graph or run starts afresh: the pictures shown were sampled by the last one (a colourise graph's RGB under an inpainting heading).
          key={mine?.id ?? 'none'}
          program={lowered.program!}
          trained={!!mine && (mine.status === 'completed' || mine.status === 'stopped')}
        />
      )}
      <details className="pb-train-section pb-setup" open={setupOpen} onToggle={(e) => setSetupOpen(e.currentTarget.open)}>
        <summary className="pb-row pb-train-head">
          <h3>Training setup</h3>
          {!setupOpen && (
            <span className="pb-muted pb-small-text pb-setup-summary">
              batch {setup.batchSize} · {setup.epochs} epoch{setup.epochs === 1 ? '' : 's'}
              {limit ? ` · ${limit} ${nounOf(data ?? undefined)}` : ''} · {data?.title ?? DATA_CHOICES.find(([id]) => id === dataChoice)?.[1]}
            </span>
          )}
        </summary>
        <p className="pb-muted pb-small-text">The optimizers, learning rates and update rules are on the procedure's nodes (Minimize, Network).</p>
        <DataPicker plan={null} />
        <SetupForm setup={setup} raw={raw} data={data} fields={FIELDS} help={HELP} />
        {lowered.program && <StartFrom program={lowered.program} value={startFrom} onChange={setStartFrom} />}
        <BackendRow />
      </details>
      <RunsList plan={null} graphName={doc.name} program={lowered.program} />
    </div>
  );
}

/** A run that skips every train procedure (a score of imported weights; every network taken from a past run). */
const trainsNothing = (run: ProgramLiveRun) =>
  !!run.scores || run.program.procedures.every((p) => p.kind !== 'train' || (run.from?.skipped ?? []).includes(p.id));

function ProgramProgress({ run, current }: { run: ProgramLiveRun; current: PlanProgram | null }) {
  const last = run.last;
  const active = isActiveStatus(run.status);
  const proc = run.program.procedures.find((p) => p.id === (run.procedure ?? last?.procedure));
  const changed = useMemo(() => !current || JSON.stringify(current) !== run.planJson, [current, run.planJson]);
  const focusNode = useEditor((s) => s.focusNode);
  // During an evaluation the bar stays where the training before it ended.
  const fraction = last && last.totalSteps ? last.step / last.totalSteps : 0;
  const evaluating = proc?.kind === 'evaluate' && active;
  return (
    <div className="pb-progress-box" data-testid="train-progress" data-status={run.status}>
      <div className="pb-row">
        <strong className={`pb-run-status pb-run-${run.status}`} data-testid="run-status">
          {evaluating ? 'Evaluating' : run.scores && run.status === 'completed' ? 'Scored' : STATUS_TEXT[run.status]}
        </strong>
        {run.scores && (
          <span className="pb-muted pb-small-text" data-testid="run-scoring">
            imported weights, no training
          </span>
        )}
        {proc && active && (
          <span className="pb-muted pb-small-text" data-testid="run-procedure">
            {proc.label}
          </span>
        )}
        <span className="pb-spacer" />
        {evaluating && run.evaluated && (
          <span className="pb-mono" data-testid="eval-progress">
            {run.evaluated.done.toLocaleString('en-US')} / {run.evaluated.total.toLocaleString('en-US')} {run.evaluated.split === 'test' ? 'test' : 'training'}{' '}
            {nounOf(run.data ?? undefined)}
          </span>
        )}
        {!(evaluating && run.evaluated) && last && (
          <span className="pb-mono" data-testid="train-step">
            Step {last.step} / {last.totalSteps}
          </span>
        )}
      </div>
      <div
        className="pb-progress"
        role="progressbar"
        aria-label="Training progress"
        aria-valuemin={0}
        aria-valuemax={last?.totalSteps || 1}
        aria-valuenow={last?.step ?? 0}
      >
        <div className={`pb-progress-fill${run.status === 'paused' ? ' pb-progress-paused' : ''}`} style={{ width: `${(fraction * 100).toFixed(2)}%` }} />
      </div>
      <div className="pb-row pb-small-text pb-muted pb-progress-facts">
        {last && <span>Epoch {last.epoch}</span>}
        <span data-testid="train-speed">
          {trainsNothing(run)
            ? run.backend
              ? `On ${BACKEND_NAMES[run.backend.name]}`
              : ''
            : last
              ? `${formatNumber(last.stepsPerSecond)} steps/s`
              : '– steps/s'}
          {run.backend && !trainsNothing(run) ? ` on ${BACKEND_NAMES[run.backend.name]}` : ''}
        </span>
        {!active && <span>took {duration(run.seconds)}</span>}
        {last && <span title="Tensors alive in the worker: flat from step to step when nothing leaks">{last.tensors.toLocaleString('en-US')} tensors</span>}
      </div>
      {/* A run on MNIST's full set waits for its download first: how far it is. */}
      {run.status === 'starting' && <MnistFullProgress bar={false} />}
      {run.message && (
        <p
          className={`pb-run-message${run.status === 'failed' || run.status === 'crashed' ? ' pb-run-message-bad' : ''}`}
          role={run.status === 'failed' || run.status === 'crashed' ? 'alert' : undefined}
        >
          {run.message}
          {run.nodeId && proc && (
            <>
              {' '}
              <button type="button" className="pb-link" onClick={() => focusNode(run.nodeId!, false, { kind: 'procedure', id: proc.id })}>
                Show the node
              </button>
            </>
          )}
        </p>
      )}
      {changed && (
        <p className="pb-note" data-testid="graph-changed">
          The program changed since this run started; {active ? 'the run goes on with the program as it was.' : 'its curves belong to the program as it was.'}
        </p>
      )}
    </div>
  );
}

/** One chart per training procedure, one line per loss node. */
function ProgramCurves({ run, tick }: { run: ProgramLiveRun; tick: number }) {
  const trains = run.program.procedures.filter((p) => p.kind === 'train');
  return (
    <Section title="Curves">
      <div className="pb-charts">
        {trains.map((p) => {
          const losses = p.steps.filter((s) => s.kind === 'op' && s.loss).map((s) => s.nodeId);
          const build = (): uPlot.AlignedData => {
            const curves = run.curves[p.id] ?? {};
            const n = Math.max(0, ...losses.map((id) => curves[id]?.length ?? 0));
            return [Array.from({ length: n }, (_, i) => i + 1), ...losses.map((id) => (curves[id] ?? []).slice(0, n))];
          };
          return (
            <LineChart
              key={p.id}
              title={`${p.label}: loss per step`}
              testId={`chart-${p.id}`}
              version={tick}
              data={build}
              series={losses.map((id, i) => ({ label: id, color: COLORS[i % COLORS.length]! }))}
            />
          );
        })}
      </div>
    </Section>
  );
}

const METRIC_WORDS: Record<string, string> = {
  linearProbeAccuracy: 'Linear probe accuracy',
  knnAccuracy: 'kNN accuracy',
  testAccuracy: 'Test accuracy',
  studentAloneAccuracy: 'Student alone accuracy',
  randomInitLinearProbe: 'Linear probe on the untrained networks',
  rawPixelsLinearProbe: 'Linear probe on raw pixels',
  collapseStd: 'Collapse monitor: std of the normalised embedding',
  psnr: 'PSNR of the samples',
  bicubicPsnr: 'PSNR of the bicubic upsampling',
  maskedMse: 'Squared error of the samples in the square',
  meanFillMse: 'Squared error filling the square with the mean image',
};

const wordsFor = (name: string) => {
  const parts = name.split('.');
  const last = parts[parts.length - 1]!;
  const words =
    METRIC_WORDS[last] ??
    last
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .replace(/^./, (c) => c.toUpperCase());
  if (parts.length === 1) return words;
  const group = parts.slice(0, -1).join(' › ');
  return `${group === 'baselines' ? 'Baseline' : group}: ${words.charAt(0).toLowerCase()}${words.slice(1)}`;
};

/** The evaluations' results: accuracies as percentages, the collapse monitor beside 1/√d. */
function ProgramMetrics({ run }: { run: ProgramLiveRun }) {
  const metricSteps = run.program.procedures.flatMap((p) => p.steps.filter((s) => s.kind === 'metric'));
  const collapse = new Set<string>();
  const fractions = new Set<string>();
  const units = new Map<string, string>();
  // Palette's colourisation reports under inpainting's names (maskedMse, meanFillMse), which mean other things there.
  const words = new Map<string, string>();
  for (const s of metricSteps) {
    if (s.kind !== 'metric') continue;
    if (s.metric === 'ColourisationScore') {
      words.set(s.name, 'Squared error of the sampled colours');
      words.set(String(s.config.baselineMetric), 'Squared error of the grey image times the usual colour at each pixel');
      words.set(String(s.config.greyCopyMetric), 'Squared error of the grey image on every channel');
    }
    if (s.metric === 'CollapseMonitor') collapse.add(s.name);
    else if (s.metric === 'FlowLikelihood' || s.metric === 'GaussianBaseline') {
      // Likelihoods are not fractions: nats per example, and bits per dimension for images.
      units.set(s.name, 'nats');
      if (typeof s.config.bitsPerDimMetric === 'string' && s.config.bitsPerDimMetric) units.set(s.config.bitsPerDimMetric, 'bits/dim');
    } else if (s.metric === 'SuperResolutionScore') {
      // PSNR in decibels, the samples' beside the upsampled input's.
      units.set(s.name, 'dB');
      units.set(String(s.config.baselineMetric), 'dB');
    } else if (s.metric !== 'MeanSquaredErrorMetric' && s.metric !== 'MeanImageBaseline' && s.metric !== 'InpaintingScore' && s.metric !== 'ColourisationScore')
      fractions.add(s.name);
    if (typeof s.config.randomInitMetric === 'string' && s.config.randomInitMetric) fractions.add(s.config.randomInitMetric);
  }
  const rows = flatMetrics(run.metrics ?? {}).filter(([name]) => name !== 'collapseReference');
  const reference = run.metrics?.collapseReference;
  return (
    <Section title="Evaluation" testId="program-metrics">
      <table className="pb-epochs pb-metrics">
        <tbody>
          {rows.map(([name, value]) => (
            <tr key={name} data-testid={`metric-${name}`}>
              <th scope="row">{words.get(name) ?? wordsFor(name)}</th>
              <td className="pb-num pb-mono">
                {collapse.has(name) ? (
                  <>
                    {formatNumber(value, 3)}
                    {typeof reference === 'number' ? <span className="pb-muted"> (1/√d = {formatNumber(reference, 3)})</span> : null}
                  </>
                ) : fractions.has(name) ? (
                  pct(value, 2)
                ) : (
                  `${formatNumber(value, 4)}${units.has(name) ? ` ${units.get(name)}` : ''}`
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="pb-muted pb-small-text">
        On the {run.limit ? 'first ' : ''}
        {Math.min(run.data.testCount, run.limit ? Math.max(1, Math.floor(run.limit / 4)) : Infinity).toLocaleString('en-US')} test {nounOf(run.data)} of{' '}
        {run.data.title}.
      </p>
    </Section>
  );
}
