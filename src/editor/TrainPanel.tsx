/**
 * The Train tab: run controls and live progress, curves and test results, the training setup
 * (bound to the document's `training` section, undoable), the drawing playground and the run
 * history of this graph. Each part lives in ./train; this file decides what the graph and the data
 * allow, and lays the parts out. All tfjs work happens in the worker.
 */
import { useEffect, useMemo, useState } from 'react';
import { useEditor } from './store';
import { planOf, useAnalysis } from './analysis';
import { graphKeyOf } from './runs-db';
import { DATA_CHOICES, useRunIsActive, useTraining } from './training';
import { startRefusal } from '../compiler/memory';
import { TrainingSchema } from '../document/schema';
import { dataMismatch } from '../runtime/data/fit';
import { probeBackends } from './train/controller';
import { chosenData } from './train/data';
import { refreshRuns } from './train/history';
import { nounOf, plannedSteps } from './train/format';
import { RunControls } from './train/RunControls';
import { checkModel } from './train/model-check';
import { ModelCheck } from './train/ModelCheck';
import { LiveCharts, Results } from './train/Curves';
import { Section } from './train/Section';
import { BackendRow, SetupForm } from './train/SetupForm';
import { DataPicker } from './train/DataPicker';
import { Playground } from './train/Playground';
import { AttentionMapsPanel, classTokenAttentionInput } from './train/AttentionMaps';
import { isSyntheticName } from '../runtime/data/synthetic';
import { RunsList } from './train/RunHistory';
import { SweepPanel } from './train/SweepPanel';
import { ProgramTrainPanel } from './train/ProgramTrain';

export function TrainPanel() {
  const doc = useEditor((s) => s.doc);
  // A training program has its own tab: its procedures say what a step does.
  if (doc.program) return <ProgramTrainPanel doc={doc} />;
  return <ClassifierTrainPanel />;
}

function ClassifierTrainPanel() {
  const analysis = useAnalysis();
  const doc = useEditor((s) => s.doc);
  const run = useTraining((s) => s.run);
  const tick = useTraining((s) => s.tick);
  const active = useRunIsActive();
  const { plan, diagnostics } = planOf(analysis);
  const raw = (doc.training ?? {}) as Record<string, unknown>;
  const parsed = TrainingSchema.safeParse(raw);
  const setup = parsed.success ? parsed.data : TrainingSchema.parse({});
  const graphKey = graphKeyOf(doc);
  const dataChoice = useTraining((s) => s.dataChoice);
  const csv = useTraining((s) => s.csv);
  const images = useTraining((s) => s.images);
  const data = chosenData({ dataChoice, csv, images });
  const user = dataChoice === 'csv' ? csv : dataChoice === 'images' ? images : null;
  const needsData = !data
    ? user?.status === 'error'
      ? `${user.fileName} cannot be used: see the message under Dataset (Training setup).`
      : user?.status === 'loading'
        ? 'Loading the data…'
        : dataChoice === 'csv'
          ? 'Choose a CSV file to train on (Dataset, in the training setup).'
          : 'Choose a folder of images or a .zip to train on (Dataset, in the training setup).'
    : null;
  const fit = plan && data ? dataMismatch(plan, data.shape) : null;
  const mismatch = plan
    ? (needsData ??
      (fit && (dataChoice === 'mnist' || dataChoice === 'mnist-full')
        ? `${fit} To try training, load the ConvMixer template with the mnist preset (Templates).`
        : fit))
    : null;
  // The traps that compile but cannot learn what was meant, named with their fix (only for a graph that compiles).
  const problems = useMemo(() => (plan ? checkModel(doc, analysis, setup) : []), [plan, doc, analysis, setup.loss]); // eslint-disable-line react-hooks/exhaustive-deps
  const blockingProblem = problems.find((p) => p.blocking);
  // The compiler's estimate (PB310) of a model too large to train in a tab: refused before tfjs fails to allocate.
  const tooLarge = analysis.diagnostics.find((d) => d.code === 'PB310' && !d.nodeId);
  const io = plan?.main.steps.find((st) => st.kind === 'input');
  const imageInput = io?.kind === 'input' && io.shape.length === 3 && (io.shape[2] === 1 || io.shape[2] === 3) ? io.shape : null;
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  // A ViT (class token + attention) gets the attention view; the worker holds the playground's weights.
  const attentionInput = plan ? classTokenAttentionInput(plan) : null;
  const playground = useTraining((s) => s.playground);
  const runsKey = useTraining((s) => s.runsKey);
  const limit = useTraining((s) => s.limit);
  // The setup folds away while a run is on screen, so that its curves come first; a click opens it.
  const [setupOpen, setSetupOpen] = useState(!run);
  const runId = run?.id;
  useEffect(() => {
    if (runId) setSetupOpen(false);
  }, [runId]);

  useEffect(() => probeBackends(), []);
  useEffect(() => {
    if (runsKey !== graphKey) void refreshRuns(graphKey);
  }, [graphKey, runsKey]);

  // What stops every run of this graph; the memory estimate (PB310) is at the setup's batch size, so a
  // sweep checks it per variant instead (one of smaller batches can fit).
  const blockedAtAnyBatch = !plan
    ? `The graph has ${errors || 'some'} error${errors === 1 ? '' : 's'}; fix ${errors === 1 ? 'it' : 'them'} first (Issues tab).`
    : blockingProblem
      ? `${blockingProblem.title}: see the fix below.`
      : (mismatch ?? (!parsed.success ? 'Some setup values are not valid; see the fields marked in red.' : null));
  const blocked = plan && tooLarge ? startRefusal(tooLarge) : blockedAtAnyBatch;

  return (
    <div className="pb-train">
      <RunControls
        run={run}
        plan={plan}
        setup={setup}
        graphKey={graphKey}
        graphName={doc.name}
        blocked={blocked}
        planned={!active && parsed.success && data ? plannedSteps(setup, limit, data) : null}
      >
        {!active && <ModelCheck problems={problems} />}
      </RunControls>
      {run && (
        <Section title="Curves">
          <LiveCharts run={run} tick={tick} />
        </Section>
      )}
      {run && <Results run={run} />}
      <details className="pb-train-section pb-setup" open={setupOpen} onToggle={(e) => setSetupOpen(e.currentTarget.open)}>
        <summary className="pb-row pb-train-head">
          <h3>Training setup</h3>
          {!setupOpen && (
            <span className="pb-muted pb-small-text pb-setup-summary">
              {setup.optimizer} {setup.learningRate} {setup.schedule} · batch {setup.batchSize} · {setup.epochs} epoch{setup.epochs === 1 ? '' : 's'}
              {limit ? ` · ${limit} ${nounOf(data ?? undefined)}` : ''} · {data?.title ?? DATA_CHOICES.find(([id]) => id === dataChoice)?.[1]}
            </span>
          )}
        </summary>
        <DataPicker plan={plan} />
        <SetupForm setup={setup} raw={raw} data={data} />
        <BackendRow />
      </details>
      <SweepPanel doc={doc} graphKey={graphKey} blocked={blockedAtAnyBatch} runActive={active} />
      {imageInput && <Playground inputShape={imageInput} />}
      {attentionInput && (
        <AttentionMapsPanel
          key={playground?.runId ?? playground?.label ?? 'none'}
          inputShape={attentionInput}
          ready={!!playground}
          waiting="Finish a run (or pick one in Runs and press “Try”) to see where the class token looks."
          data={
            dataChoice === 'mnist' || dataChoice === 'mnist-full'
              ? dataChoice
              : isSyntheticName(dataChoice)
                ? { kind: 'synthetic', name: dataChoice }
                : undefined
          }
          classNames={playground?.classNames ?? data?.classNames ?? []}
        />
      )}
      <RunsList plan={plan} graphName={doc.name} />
    </div>
  );
}
