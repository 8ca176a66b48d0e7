/**
 * The Train tab: setup (bound to the document's `training` section, undoable), backend, start /
 * pause / resume / stop, live progress and charts, test results with a confusion matrix, the run
 * history of this graph (IndexedDB) with weight export and import, and a drawing playground.
 * All tfjs work happens in the worker; this file only appends numbers and redraws ≤ 4 times a second.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { z } from 'zod';
import type uPlot from 'uplot';
import { useEditor } from './store';
import { planOf, useAnalysis } from './analysis';
import { describeField, humanize, ParamField } from './Inspector';
import { LineChart, type ChartSeries } from './Chart';
import { canvasToMnist, SIDE } from './digit';
import { graphKeyOf, type RunRecord } from './runs-db';
import {
  chosenData, clearPendingWeights, countsOf, DATA_CHOICES, exportWeights, importWeights, loadCsvFile, loadImages, MNIST_INFO, pauseRun, predict,
  probeBackends, refreshRuns, removeRun, resumeRun, runIsActive, setCsvLabel, setPrefs, startRun, stopRun, toggleCompare, tryPastRun, useTraining,
  type DataChoice, type LiveRun, type RunData, type UserData,
} from './training';
import { TrainingSchema, type TrainingSetup } from '../document/schema';
import type { Plan } from '../compiler/plan';
import type { Evaluation } from '../runtime/training/train';
import type { BackendChoice } from '../runtime/worker/protocol';
import { dataMismatch } from '../runtime/data/fit';
import { SYNTHETIC, isSyntheticName } from '../runtime/data/synthetic';
import { formatShape } from '../nodes/shape';

/** What one example of the data is called. */
const nounOf = (data: Pick<RunData, 'title'> | undefined, plural = true) => (data?.title === 'MNIST' ? (plural ? 'digits' : 'digit') : plural ? 'examples' : 'example');
const COLORS = ['#4f46e5', '#ea580c', '#059669', '#db2777', '#0891b2', '#ca8a04', '#7c3aed', '#dc2626'];
const pct = (x: number | undefined | null, digits = 1) => (x == null || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`);

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function plannedSteps(setup: TrainingSetup, limit: number | null, data: RunData): string {
  const count = Math.min(limit ?? data.trainCount, data.trainCount);
  const steps = Math.ceil(count / setup.batchSize) * setup.epochs;
  return `${count.toLocaleString('en-US')} ${nounOf(data)} × ${setup.epochs} epoch${setup.epochs === 1 ? '' : 's'} = ${steps.toLocaleString('en-US')} steps of ${setup.batchSize}`;
}

const STATUS_TEXT: Record<LiveRun['status'], string> = {
  starting: 'Starting: loading tfjs, the backend and the data…',
  running: 'Training',
  paused: 'Paused',
  stopping: 'Stopping after this step…',
  completed: 'Finished',
  stopped: 'Stopped',
  failed: 'Failed',
  crashed: 'The worker crashed',
};

/** Which setup fields matter for the chosen optimizer and schedule. */
const RELEVANT: Partial<Record<keyof TrainingSetup, (s: TrainingSetup) => boolean>> = {
  momentum: (s) => s.optimizer === 'sgd',
  weightDecay: (s) => s.optimizer === 'adamw',
  warmupSteps: (s) => s.schedule === 'warmup-cosine',
};
const FIELDS: (keyof TrainingSetup)[] = ['optimizer', 'learningRate', 'schedule', 'warmupSteps', 'weightDecay', 'momentum', 'batchSize', 'epochs', 'seed'];
const LABELS: Partial<Record<keyof TrainingSetup, string>> = { warmupSteps: 'Warm-up steps', learningRate: 'Learning rate' };

function Section({ title, children, right, testId }: { title: string; children: ReactNode; right?: ReactNode; testId?: string }) {
  return (
    <section className="pb-train-section" aria-label={title} data-testid={testId}>
      <div className="pb-row pb-train-head"><h3>{title}</h3><span className="pb-spacer" />{right}</div>
      {children}
    </section>
  );
}

function SetupForm({ setup, raw, data }: { setup: TrainingSetup; raw: Record<string, unknown>; data: RunData | null }) {
  const endCoalesce = useEditor((s) => s.endCoalesce);
  const limit = useTraining((s) => s.limit);
  const [limitText, setLimitText] = useState(limit ? String(limit) : '');
  const all = data ? data.trainCount.toLocaleString('en-US') : '';
  const limitError = limitText.trim() && !(Number.isInteger(Number(limitText)) && Number(limitText) > 0) ? `A whole number of ${nounOf(data ?? undefined)}, or empty for all${all ? ` ${all}` : ''}.` : null;
  const shape = TrainingSchema.shape as Record<string, z.ZodType>;
  return (
    <div className="pb-train-grid">
      {FIELDS.filter((k) => RELEVANT[k]?.(setup) ?? true).map((key) => {
        const schema = shape[key]!;
        const value = raw[key];
        const check = value === undefined ? null : schema.safeParse(value);
        const problem = check && !check.success ? (check.error.issues[0]?.message ?? 'Invalid value.').replace(/^Invalid input: /, '') : null;
        return (
          <ParamField key={key} label={LABELS[key] ?? humanize(key)} info={describeField(schema)} value={value} problem={problem}
            onChange={(v) => {
              const s = useEditor.getState();
              s.commit({ ...s.doc, training: { ...(s.doc.training ?? {}), [key]: v } as TrainingSetup }, { coalesce: `$training.${key}` });
            }}
            onDone={endCoalesce} />
        );
      })}
      <div className={`pb-field${limitError ? ' pb-field-invalid' : ''}`}>
        <label htmlFor="pb-train-limit">Limit training examples</label>
        <input id="pb-train-limit" type="number" min={1} step={1} inputMode="numeric" placeholder={all ? `all ${all}` : 'all'} value={limitText}
          onChange={(e) => {
            setLimitText(e.target.value);
            const n = Number(e.target.value);
            if (!e.target.value.trim()) setPrefs({ limit: null });
            else if (Number.isInteger(n) && n > 0) setPrefs({ limit: n });
          }} />
        {limitError && <div className="pb-field-error" role="alert">{limitError}</div>}
        <div className="pb-field-help">For quick runs: train on the first N {nounOf(data ?? undefined)} (and test on N / 4). Not saved in the graph.</div>
      </div>
    </div>
  );
}

const BACKENDS: [BackendChoice, string][] = [['auto', 'Auto'], ['webgpu', 'WebGPU'], ['webgl', 'WebGL'], ['wasm', 'WASM'], ['cpu', 'CPU']];

function BackendRow() {
  const choice = useTraining((s) => s.backendChoice);
  const probe = useTraining((s) => s.probe);
  const active = useTraining((s) => s.run?.backend);
  const running = useTraining((s) => runIsActive() && !!s.run);
  return (
    <div className="pb-field">
      <label htmlFor="pb-train-backend">Backend</label>
      <select id="pb-train-backend" value={choice} disabled={running} onChange={(e) => setPrefs({ backendChoice: e.target.value as BackendChoice })}>
        {BACKENDS.map(([id, label]) => {
          const missing = probe && id !== 'auto' && !probe.available.includes(id);
          return <option key={id} value={id} disabled={!!missing}>{label}{missing ? ' (not available here)' : ''}</option>;
        })}
      </select>
      <div className="pb-field-help" data-testid="train-backend">
        {active
          ? <>Active: <strong>{active.name.toUpperCase()}</strong>, {active.reason}.</>
          : probe
            ? <>Available here: {probe.available.join(', ')}{probe.software ? ' (the GPU is a software renderer, so Auto picks WASM)' : ''}. {probe.reason}.</>
            : 'Checking which backends work here…'}
      </div>
    </div>
  );
}

/** Class names in narrow places: whole when there are few classes, clipped when there are many. */
const short = (name: string, classes = 10) => {
  const max = classes <= 4 ? 14 : 6;
  return name.length > max ? `${name.slice(0, max - 1)}…` : name;
};

function ConfusionMatrix({ evaluation, caption, classNames }: { evaluation: Evaluation; caption: string; classNames: string[] }) {
  const m = evaluation.confusion;
  const nameOf = (i: number) => classNames[i] ?? String(i);
  return (
    <table className="pb-confusion" data-testid="confusion-matrix">
      <caption>{caption}</caption>
      <thead>
        <tr><th scope="col" className="pb-confusion-corner" title="rows: actual class, columns: predicted">act \ pred</th>{m.map((_, j) => <th key={j} scope="col" title={nameOf(j)}>{short(nameOf(j), m.length)}</th>)}</tr>
      </thead>
      <tbody>
        {m.map((row, i) => {
          const total = row.reduce((a, b) => a + b, 0) || 1;
          return (
            <tr key={i}>
              <th scope="row" title={nameOf(i)}>{short(nameOf(i), m.length)}</th>
              {row.map((n, j) => {
                const share = n / total;
                const bg = n === 0 ? undefined : i === j ? `rgb(5 150 105 / ${0.12 + 0.75 * share})` : `rgb(220 38 38 / ${0.12 + 0.8 * share})`;
                return <td key={j} style={{ background: bg }} title={`actual ${nameOf(i)}, predicted ${nameOf(j)}: ${n}`}>{n || ''}</td>;
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function epochXs(run: Pick<LiveRun, 'epochs' | 'curves' | 'setup'>, totalSteps: number): number[] {
  const per = Math.ceil(totalSteps / Math.max(1, run.setup.epochs));
  return run.epochs.map((e) => Math.min(e.epoch * per, run.curves.loss.length));
}

function LiveCharts({ run, tick }: { run: LiveRun; tick: number }) {
  const total = run.last?.totalSteps ?? 0;
  const build = (metric: 'loss' | 'accuracy') => (): uPlot.AlignedData => {
    const n = run.curves.loss.length;
    const xs = Array.from({ length: n }, (_, i) => i + 1);
    const steps = metric === 'loss' ? run.curves.loss : run.curves.accuracy;
    const trainE: (number | null)[] = new Array(n).fill(null);
    const testE: (number | null)[] = new Array(n).fill(null);
    epochXs(run, total).forEach((x, i) => {
      const e = run.epochs[i]!;
      if (x < 1) return;
      trainE[x - 1] = metric === 'loss' ? e.trainLoss : e.trainAccuracy;
      testE[x - 1] = metric === 'loss' ? e.test.loss : e.test.accuracy;
    });
    return [xs, steps.slice(0, n), trainE, testE];
  };
  const series = (name: string): ChartSeries[] => [
    { label: `${name} (step)`, color: '#6366f1' },
    { label: `train ${name} (epoch)`, color: '#ea580c', points: true, width: 2 },
    { label: `test ${name} (epoch)`, color: '#059669', points: true, width: 2 },
  ];
  return (
    <div className="pb-charts">
      <LineChart title="Loss" testId="chart-loss" series={series('loss')} data={build('loss')} version={tick} />
      <LineChart title="Accuracy" testId="chart-accuracy" series={series('accuracy')} data={build('accuracy')} version={tick}
        yRange={[0, 1]} yFormat={(v) => `${Math.round(v * 100)}%`} />
    </div>
  );
}

function Results({ run }: { run: LiveRun }) {
  const latest = run.final?.test ?? run.epochs[run.epochs.length - 1]?.test;
  if (!run.epochs.length && !run.final) return null;
  return (
    <Section title="Test results">
      <table className="pb-epochs">
        <thead><tr><th>Epoch</th><th className="pb-num">Train loss</th><th className="pb-num">Train acc.</th><th className="pb-num">Test loss</th><th className="pb-num">Test acc.</th></tr></thead>
        <tbody>
          {run.epochs.map((e) => (
            <tr key={e.epoch}><td>{e.epoch}</td><td className="pb-num pb-mono">{e.trainLoss.toFixed(4)}</td><td className="pb-num pb-mono">{pct(e.trainAccuracy)}</td>
              <td className="pb-num pb-mono">{e.test.loss.toFixed(4)}</td><td className="pb-num pb-mono">{pct(e.test.accuracy, 2)}</td></tr>
          ))}
          {run.final && !run.epochs.length && (
            <tr><td>end</td><td className="pb-num pb-mono">{Number.isFinite(run.final.trainLoss) ? run.final.trainLoss.toFixed(4) : '–'}</td><td className="pb-num pb-mono">{pct(run.final.trainAccuracy)}</td>
              <td className="pb-num pb-mono">{run.final.test.loss.toFixed(4)}</td><td className="pb-num pb-mono">{pct(run.final.test.accuracy, 2)}</td></tr>
          )}
        </tbody>
      </table>
      {latest && (
        <>
          <p className="pb-train-acc">Test accuracy <strong data-testid="test-accuracy">{pct(latest.accuracy, 2)}</strong>
            <span className="pb-muted"> on {latest.confusion.flat().reduce((a, b) => a + b, 0).toLocaleString('en-US')} held-out {nounOf(run.data)} of {run.data.title}{run.final ? '' : ' (after the last epoch)'}</span></p>
          <ConfusionMatrix evaluation={latest} classNames={run.data.classNames} caption={`Confusion matrix (rows: actual ${nounOf(run.data, false) === 'digit' ? 'digit' : 'class'}, columns: predicted)`} />
        </>
      )}
    </Section>
  );
}

function Progress({ run, plan }: { run: LiveRun; plan: Plan | null }) {
  const last = run.last;
  const total = last?.totalSteps ?? 0;
  const step = last?.step ?? 0;
  const fraction = total ? step / total : 0;
  const active = run.status === 'running' || run.status === 'paused' || run.status === 'stopping' || run.status === 'starting';
  const changed = useMemo(() => !plan || JSON.stringify(plan) !== run.planJson, [plan, run.planJson]);
  const focusNode = useEditor((s) => s.focusNode);
  return (
    <div className="pb-progress-box" data-testid="train-progress" data-status={run.status}>
      <div className="pb-row">
        <strong className={`pb-run-status pb-run-${run.status}`} data-testid="run-status">{STATUS_TEXT[run.status]}</strong>
        <span className="pb-spacer" />
        <span className="pb-mono" data-testid="train-step">Step {step} / {total || '?'}</span>
      </div>
      <div className="pb-progress" role="progressbar" aria-label="Training progress" aria-valuemin={0} aria-valuemax={total || 1} aria-valuenow={step}>
        <div className={`pb-progress-fill${run.status === 'paused' ? ' pb-progress-paused' : ''}`} style={{ width: `${(fraction * 100).toFixed(2)}%` }} />
      </div>
      <div className="pb-row pb-small-text pb-muted pb-progress-facts">
        <span>Epoch {last?.epoch ?? (run.status === 'starting' ? '–' : 0)} / {run.setup.epochs}</span>
        <span>{last ? `${last.stepsPerSecond.toFixed(2)} steps/s` : '– steps/s'}</span>
        <span data-testid="train-eta">{active ? (last ? `${duration(last.secondsLeft)} left` : 'time left: –') : `took ${duration(run.seconds)}`}</span>
        {last && <span>loss {last.loss.toFixed(4)}</span>}
        {last && <span>lr {last.learningRate.toPrecision(3)}</span>}
      </div>
      {run.message && (
        <p className={`pb-run-message${run.status === 'failed' || run.status === 'crashed' ? ' pb-run-message-bad' : ''}`} role={run.status === 'failed' || run.status === 'crashed' ? 'alert' : undefined}>
          {run.message}
          {run.nodeId && <> <button type="button" className="pb-link" onClick={() => focusNode(run.nodeId!)}>Show the node</button></>}
        </p>
      )}
      {changed && (
        <p className="pb-note" data-testid="graph-changed">
          The graph changed since this run started; {active ? 'the run goes on with the graph as it was.' : 'its curves and weights belong to the graph as it was.'}
        </p>
      )}
    </div>
  );
}

function Playground({ fits }: { fits: boolean }) {
  const trained = useTraining((s) => s.playground);
  const model = fits ? trained : null;
  const classNames = trained?.classNames ?? MNIST_INFO.classNames;
  const canvas = useRef<HTMLCanvasElement>(null);
  const preview = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<{ x: number; y: number } | null>(null);
  const busy = useRef(false);
  const again = useRef(false);
  const [probs, setProbs] = useState<number[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const clear = () => {
    const c = canvas.current;
    if (!c) return;
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, c.width, c.height);
    preview.current?.getContext('2d')?.clearRect(0, 0, SIDE, SIDE);
    setProbs(null);
    setError(null);
  };
  useEffect(clear, []);
  useEffect(() => { if (!model) setProbs(null); }, [model]);

  const run = async () => {
    if (busy.current) { again.current = true; return; }
    const c = canvas.current;
    if (!c || !useTraining.getState().playground) return;
    const pixels = canvasToMnist(c);
    if (!pixels) return;
    const p = preview.current?.getContext('2d');
    if (p) {
      const img = p.createImageData(SIDE, SIDE);
      pixels.forEach((v, i) => { img.data.set([v * 255, v * 255, v * 255, 255], i * 4); });
      p.putImageData(img, 0, 0);
    }
    busy.current = true;
    try {
      setProbs(await predict(pixels));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      busy.current = false;
      if (again.current) { again.current = false; void run(); }
    }
  };

  const point = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * e.currentTarget.width, y: ((e.clientY - r.top) / r.height) * e.currentTarget.height };
  };
  const line = (from: { x: number; y: number }, to: { x: number; y: number }) => {
    const ctx = canvas.current!.getContext('2d')!;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 22;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  };
  const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
  return (
    <Section title={classNames === MNIST_INFO.classNames || classNames.join() === MNIST_INFO.classNames.join() ? 'Try it: draw a digit' : 'Try it: draw'} testId="playground">
      {!model && (
        <p className="pb-muted pb-small-text" data-testid="playground-disabled">
          {fits ? 'Finish a run (or pick one in Runs and press “Try”) to draw digits for the model here.' : 'Drawing works with models that take 28×28×1 images (MNIST digits, grey shapes).'}
        </p>
      )}
      <div className={`pb-playground${model ? '' : ' pb-disabled'}`}>
        <div className="pb-draw-col">
          <canvas ref={canvas} width={280} height={280} className="pb-draw" data-testid="draw-canvas" aria-label="Drawing area: draw a digit with the mouse"
            onPointerDown={(e) => {
              if (!model) return;
              e.currentTarget.setPointerCapture(e.pointerId);
              const p = point(e);
              drawing.current = p;
              line(p, p);
            }}
            onPointerMove={(e) => {
              if (!drawing.current) return;
              const p = point(e);
              line(drawing.current, p);
              drawing.current = p;
              void run();
            }}
            onPointerUp={() => { drawing.current = null; void run(); }}
            onPointerCancel={() => { drawing.current = null; }} />
          <div className="pb-row">
            <button type="button" onClick={clear} disabled={!model}>Clear</button>
            <span className="pb-spacer" />
            <span className="pb-small-text pb-muted">model sees</span>
            <canvas ref={preview} width={SIDE} height={SIDE} className="pb-preview" aria-label="The 28×28 input the model sees" />
          </div>
        </div>
        <ol className="pb-probs" aria-label="Class probabilities" data-testid="probabilities">
          {classNames.map((name, d) => {
            const v = probs?.[d];
            return (
              <li key={d} className={d === best ? 'pb-prob-best' : undefined} data-testid={`prob-${d}`} data-value={v ?? ''}>
                <span className="pb-prob-label" title={name}>{short(name, classNames.length)}</span>
                <span className="pb-prob-bar"><span style={{ width: `${((v ?? 0) * 100).toFixed(1)}%` }} /></span>
                <span className="pb-prob-value pb-mono">{v === undefined ? '' : `${(v * 100).toFixed(1)}%`}</span>
              </li>
            );
          })}
        </ol>
      </div>
      {model && <p className="pb-small-text pb-muted">Using the weights of {model.label}.</p>}
      {error && <p className="pb-run-message pb-run-message-bad" role="alert">{error}</p>}
    </Section>
  );
}

function runDataText(r: RunRecord): string {
  const data = r.data ?? MNIST_INFO;
  const count = Math.min(r.limit ?? data.trainCount, data.trainCount);
  return `${data.title === 'MNIST' ? '' : `${data.title}, `}${count.toLocaleString('en-US')} ${nounOf(data)}`;
}

const listNames = (names: string[], max = 12) => (names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`);
const shapeText = (shape: number[]) => formatShape([null, ...shape]);

function ClassCounts({ rows }: { rows: Array<{ name: string; train: number; test: number }> }) {
  const shown = rows.slice(0, 12);
  return (
    <table className="pb-data-counts" data-testid="data-counts">
      <thead><tr><th>Class</th><th className="pb-num">Train</th><th className="pb-num">Test</th></tr></thead>
      <tbody>
        {shown.map((r) => <tr key={r.name}><td>{r.name}</td><td className="pb-num pb-mono">{r.train.toLocaleString('en-US')}</td><td className="pb-num pb-mono">{r.test.toLocaleString('en-US')}</td></tr>)}
        {rows.length > shown.length && <tr><td colSpan={3} className="pb-muted">… and {rows.length - shown.length} more classes</td></tr>}
      </tbody>
    </table>
  );
}

/** The user's CSV or images: the file buttons, then what was loaded or what is wrong with it. */
function UserDataBox({ kind, user, plan }: { kind: 'csv' | 'images'; user: UserData | null; plan: Plan | null }) {
  const csvPicker = useRef<HTMLInputElement>(null);
  const folderPicker = useRef<HTMLInputElement>(null);
  const zipPicker = useRef<HTMLInputElement>(null);
  const busy = user?.status === 'loading';
  const ds = user?.status === 'ready' ? user.dataset : undefined;
  return (
    <div className="pb-user-data" data-testid="user-data" data-status={user?.status ?? 'none'}>
      <div className="pb-row pb-user-data-buttons">
        {kind === 'csv' ? (
          <>
            <button type="button" disabled={busy} onClick={() => csvPicker.current?.click()}>{user ? 'Choose another CSV file…' : 'Choose a CSV file…'}</button>
            <input ref={csvPicker} type="file" accept=".csv,.tsv,.txt,text/csv" hidden aria-label="Your CSV file"
              onChange={(e) => { const f = e.target.files?.[0]; e.target.value = ''; if (f) void loadCsvFile(f); }} />
            {user?.columns && user.columns.length > 1 && (
              <label className="pb-row pb-small-text">Label column
                <select value={user.label} disabled={busy} onChange={(e) => setCsvLabel(e.target.value)} aria-label="Label column">
                  {user.columns.map((c) => <option key={c} value={c}>{c}</option>)}
                </select>
              </label>
            )}
          </>
        ) : (
          <>
            <button type="button" disabled={busy} onClick={() => folderPicker.current?.click()}>Choose a folder…</button>
            <input ref={(el) => { folderPicker.current = el; el?.setAttribute('webkitdirectory', ''); }} type="file" multiple hidden aria-label="Your image folder"
              onChange={(e) => { const f = Array.from(e.target.files ?? []); e.target.value = ''; if (f.length) void loadImages(f, plan); }} />
            <button type="button" disabled={busy} onClick={() => zipPicker.current?.click()}>Choose a .zip…</button>
            <input ref={zipPicker} type="file" accept=".zip,application/zip" hidden aria-label="Your .zip of images"
              onChange={(e) => { const f = Array.from(e.target.files ?? []); e.target.value = ''; if (f.length) void loadImages(f, plan); }} />
          </>
        )}
      </div>
      {!user && (
        <p className="pb-muted pb-small-text">
          {kind === 'csv'
            ? 'A header row, numeric columns, and a label column (the last, or pick it after loading); labels may be words or whole numbers. 80 % of each class trains, 20 % tests. The file stays in this browser tab.'
            : 'One sub-folder per class (cats/…, dogs/…), as a folder or a .zip. Images are resized to the model\'s input (grey or colour to match its channels). 80 % of each class trains, 20 % tests.'}
        </p>
      )}
      {user?.status === 'loading' && <p className="pb-muted pb-small-text" data-testid="data-progress">{user.message}</p>}
      {user?.status === 'error' && <p className="pb-run-message pb-run-message-bad" role="alert" data-testid="data-error"><strong>{user.fileName}:</strong> {user.message}</p>}
      {ds && (
        <div className="pb-small-text" data-testid="data-summary">
          <p className="pb-dataset"><strong>{ds.name}</strong>: {(ds.train.count + ds.test.count).toLocaleString('en-US')} examples of shape {shapeText(ds.inputShape)}{kind === 'images' ? ' (resized to the model\'s input)' : ''}, {ds.classNames.length} classes ({listNames(ds.classNames)}); {ds.train.count.toLocaleString('en-US')} train, {ds.test.count.toLocaleString('en-US')} test.
            {user?.skipped ? <span className="pb-muted"> {user.skipped} file{user.skipped === 1 ? ' was' : 's were'} skipped (not images, or outside the class folders).</span> : null}</p>
          <ClassCounts rows={countsOf(ds)} />
        </div>
      )}
    </div>
  );
}

function DataPicker({ plan }: { plan: Plan | null }) {
  const choice = useTraining((s) => s.dataChoice);
  const csv = useTraining((s) => s.csv);
  const images = useTraining((s) => s.images);
  const running = useTraining((s) => runIsActive() && !!s.run);
  const synthetic = isSyntheticName(choice) ? SYNTHETIC[choice] : null;
  return (
    <div className="pb-field pb-data-field">
      <label htmlFor="pb-train-dataset">Dataset</label>
      <select id="pb-train-dataset" value={choice} disabled={running} onChange={(e) => setPrefs({ dataChoice: e.target.value as DataChoice })}>
        {DATA_CHOICES.map(([id, label]) => <option key={id} value={id}>{label}</option>)}
      </select>
      {choice === 'mnist' && <p className="pb-muted pb-small-text pb-dataset" data-testid="data-summary">MNIST: 10,000 real handwritten digits (28×28, grey), a fixed split of 8,000 for training and 2,000 for testing.</p>}
      {synthetic && (
        <p className="pb-muted pb-small-text pb-dataset" data-testid="data-summary">
          <strong>{synthetic.title[0]!.toUpperCase() + synthetic.title.slice(1)}</strong>: {synthetic.description}. Generated (always the same, seeded): {synthetic.trainCount.toLocaleString('en-US')} train and {synthetic.testCount.toLocaleString('en-US')} test examples of shape {shapeText(synthetic.inputShape)}; {synthetic.classNames.length} classes ({synthetic.classNames.join(', ')}), {synthetic.trainCount / synthetic.classNames.length} / {synthetic.testCount / synthetic.classNames.length} each.
        </p>
      )}
      {(choice === 'csv' || choice === 'images') && <UserDataBox kind={choice} user={choice === 'csv' ? csv : images} plan={plan} />}
    </div>
  );
}

const STATUS_BADGE: Record<RunRecord['status'], string> = { completed: 'completed', stopped: 'stopped', failed: 'failed', crashed: 'crashed' };

function RunsList({ plan, graphName }: { plan: Plan | null; graphName: string }) {
  const runs = useTraining((s) => s.runs);
  const compare = useTraining((s) => s.compare);
  const pendingWeights = useTraining((s) => s.pendingWeights);
  const picker = useRef<HTMLInputElement>(null);
  const chosen = runs.filter((r) => compare.includes(r.id));
  const compareData = (): uPlot.AlignedData => {
    const n = Math.max(0, ...chosen.map((r) => r.curves.loss.length));
    return [Array.from({ length: n }, (_, i) => i + 1), ...chosen.map((r) => Array.from({ length: n }, (_, i) => r.curves.loss[i] ?? null))];
  };
  return (
    <Section title={`Runs of “${graphName}”`} testId="runs"
      right={<>
        <button type="button" onClick={() => picker.current?.click()} title="Pick model.json and weights.bin">Import weights</button>
        <input ref={picker} type="file" multiple accept=".json,.bin,application/json,application/octet-stream" hidden aria-label="Import weights (model.json and weights.bin)"
          onChange={(e) => { const files = Array.from(e.target.files ?? []); e.target.value = ''; if (files.length) void importWeights(files, plan); }} />
      </>}>
      {pendingWeights && (
        <p className="pb-note pb-row">The next run starts from the imported weights ({pendingWeights.label}).<span className="pb-spacer" />
          <button type="button" className="pb-link" onClick={clearPendingWeights}>Don't use them</button></p>
      )}
      {!runs.length && <p className="pb-muted pb-small-text">No runs of this graph yet. Runs are kept in this browser, with their weights.</p>}
      {runs.length > 0 && (
        <ul className="pb-runs" aria-label="Run history">
          {runs.map((r, i) => (
            <li key={r.id} className="pb-run" data-testid="run-item" data-status={r.status}>
              <input type="checkbox" checked={compare.includes(r.id)} onChange={() => toggleCompare(r.id)} aria-label={`Compare the run of ${new Date(r.date).toLocaleString()}`}
                style={{ accentColor: COLORS[chosen.indexOf(r) % COLORS.length] }} />
              <div className="pb-run-main">
                <div className="pb-row">
                  <span className="pb-run-date">{new Date(r.date).toLocaleString()}</span>
                  <span className={`pb-badge pb-run-badge pb-run-${r.status}`}>{STATUS_BADGE[r.status]}</span>
                  {i === 0 && <span className="pb-tag">latest</span>}
                  <span className="pb-spacer" />
                  <span className="pb-run-acc" title="Final test accuracy">{r.final ? pct(r.final.test.accuracy, 2) : '–'}</span>
                </div>
                <div className="pb-small-text pb-muted">
                  {r.curves.loss.length}/{r.totalSteps || '?'} steps · {r.setup.optimizer} {r.setup.learningRate} {r.setup.schedule} · batch {r.setup.batchSize} · {runDataText(r)} · {r.backend?.name ?? r.backendChoice} · {duration(r.seconds)}
                </div>
                {r.message && r.status !== 'completed' && <div className="pb-small-text pb-muted pb-run-why">{r.message}</div>}
                <div className="pb-row pb-run-actions">
                  <button type="button" className="pb-small-btn" disabled={!r.hasWeights} onClick={() => void exportWeights(r)}>Export weights</button>
                  <button type="button" className="pb-small-btn" disabled={!r.hasWeights} onClick={() => void tryPastRun(r, plan)} title="Load these weights for the drawing playground">Try</button>
                  <button type="button" className="pb-small-btn pb-danger" onClick={() => void removeRun(r.id)}>Delete</button>
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}
      {chosen.length === 1 && <p className="pb-muted pb-small-text">Tick another run to compare loss curves.</p>}
      {chosen.length >= 2 && (
        <LineChart title="Loss per step, selected runs" testId="chart-compare" version={compare.length + runs.length}
          series={chosen.map((r, i) => ({ label: new Date(r.date).toLocaleTimeString(), color: COLORS[i % COLORS.length]! }))}
          data={compareData} />
      )}
    </Section>
  );
}

export function TrainPanel() {
  const analysis = useAnalysis();
  const doc = useEditor((s) => s.doc);
  const run = useTraining((s) => s.run);
  const tick = useTraining((s) => s.tick);
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
        : dataChoice === 'csv' ? 'Choose a CSV file to train on (Dataset, in the training setup).' : 'Choose a folder of images or a .zip to train on (Dataset, in the training setup).'
    : null;
  const fit = plan && data ? dataMismatch(plan, data.shape) : null;
  const mismatch = plan ? needsData ?? (fit && dataChoice === 'mnist' ? `${fit} To try training, load the ConvMixer template with the mnist preset (Templates).` : fit) : null;
  const io = plan?.main.steps.find((st) => st.kind === 'input');
  const drawable = !!io && io.kind === 'input' && io.shape.join('x') === '28x28x1';
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const active = run && ['starting', 'running', 'paused', 'stopping'].includes(run.status);
  const runsKey = useTraining((s) => s.runsKey);
  const limit = useTraining((s) => s.limit);
  // The setup folds away while a run is on screen, so that its curves come first; a click opens it.
  const [setupOpen, setSetupOpen] = useState(!run);
  const runId = run?.id;
  useEffect(() => { if (runId) setSetupOpen(false); }, [runId]);

  useEffect(() => probeBackends(), []);
  useEffect(() => { if (runsKey !== graphKey) void refreshRuns(graphKey); }, [graphKey, runsKey]);

  const blocked = !plan
    ? `The graph has ${errors || 'some'} error${errors === 1 ? '' : 's'}; fix ${errors === 1 ? 'it' : 'them'} first (Issues tab).`
    : mismatch ?? (!parsed.success ? 'Some setup values are not valid; see the fields marked in red.' : null);

  return (
    <div className="pb-train">
      <div className="pb-train-controls">
        <div className="pb-row">
          {!active && (
            <button type="button" className="pb-primary" disabled={!!blocked}
              onClick={() => plan && startRun({ plan, setup, graphKey, graphName: doc.name })}>{run ? 'Start a new run' : 'Start'}</button>
          )}
          {active && run.status !== 'paused' && <button type="button" onClick={pauseRun} disabled={run.status !== 'running'}>Pause</button>}
          {active && run.status === 'paused' && <button type="button" className="pb-primary" onClick={resumeRun}>Resume</button>}
          {active && <button type="button" className="pb-danger" onClick={stopRun} disabled={run.status === 'stopping'}>Stop</button>}
          <span className="pb-spacer" />
          {!active && parsed.success && data && <span className="pb-muted pb-small-text" data-testid="train-plan">{plannedSteps(setup, limit, data)}</span>}
        </div>
        {blocked && !active && <p className="pb-blocked" data-testid="train-blocked">{blocked}</p>}
        {run && <Progress run={run} plan={plan} />}
      </div>
      {run && (
        <Section title="Curves">
          <LiveCharts run={run} tick={tick} />
        </Section>
      )}
      {run && <Results run={run} />}
      <details className="pb-train-section pb-setup" open={setupOpen} onToggle={(e) => setSetupOpen(e.currentTarget.open)}>
        <summary className="pb-row pb-train-head">
          <h3>Training setup</h3>
          {!setupOpen && <span className="pb-muted pb-small-text pb-setup-summary">{setup.optimizer} {setup.learningRate} {setup.schedule} · batch {setup.batchSize} · {setup.epochs} epoch{setup.epochs === 1 ? '' : 's'}{limit ? ` · ${limit} ${nounOf(data ?? undefined)}` : ''} · {data?.title ?? DATA_CHOICES.find(([id]) => id === dataChoice)?.[1]}</span>}
        </summary>
        <DataPicker plan={plan} />
        <SetupForm setup={setup} raw={raw} data={data} />
        <BackendRow />
      </details>
      <Playground fits={drawable} />
      <RunsList plan={plan} graphName={doc.name} />
    </div>
  );
}
