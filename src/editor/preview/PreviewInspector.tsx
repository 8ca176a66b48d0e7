/**
 * The inspector's view of the selected node's preview: its output on the pinned example drawn
 * large, the shape, min / max / mean / std and a histogram; during and after a run, its output over
 * a batch of held-out examples (figures, histogram, dead units), the histograms of its weights and
 * of the gradients a step applied, and their norms, the output's spread and the dead units over the steps.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import { formatFigure, isRectified, type Histogram, type NodeActivations, type TensorStats } from '../../runtime/preview-data';
import { drawHistogram, drawLine, themeColours } from './draw';
import { PreviewCanvas } from './NodePreview';
import { historyKey, usePreviews, usePreviewsOnShow, type NormPoint } from './previews';
import { previewKey } from './target';
import { useEditor } from '../store';
import { graphKeyOf } from '../runs-db';
import { isActiveStatus, useTraining } from '../training';
import './previews.css';

const dpr = () => Math.min(2, Math.max(1, globalThis.devicePixelRatio || 1));
const WIDE = 248;

function HistogramCanvas({ histogram, height = 56, testId }: { histogram: Histogram; height?: number; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawHistogram(ref.current, histogram, themeColours(ref.current));
  }, [histogram]);
  return (
    <div className="pb-preview-hist">
      <canvas
        ref={ref}
        width={Math.round(WIDE * dpr())}
        height={Math.round(height * dpr())}
        style={{ width: WIDE, height }}
        role="img"
        aria-label={`Histogram from ${formatFigure(histogram.lo)} to ${formatFigure(histogram.hi)}`}
        data-testid={testId}
        data-counts={histogram.counts.join(',')}
      />
      <div className="pb-preview-hist-axis pb-mono">
        <span>{formatFigure(histogram.lo)}</span>
        <span>{formatFigure(histogram.hi)}</span>
      </div>
    </div>
  );
}

function LineCanvas({ points, label, testId }: { points: Array<{ x: number; y: number }>; label: string; testId: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawLine(ref.current, points, themeColours(ref.current).bar);
  }, [points]);
  const last = points[points.length - 1];
  return (
    <div className="pb-preview-line">
      <div className="pb-preview-line-head">
        <span>{label}</span>
        <span className="pb-mono">{last ? formatFigure(last.y) : ''}</span>
      </div>
      <canvas
        ref={ref}
        width={Math.round(WIDE * dpr())}
        height={Math.round(44 * dpr())}
        style={{ width: WIDE, height: 44 }}
        role="img"
        aria-label={`${label} over ${points.length} refreshes`}
        data-testid={testId}
        data-points={points.length}
      />
    </div>
  );
}

function Stats({ stats, shape, children }: { stats: TensorStats; shape?: number[]; children?: ReactNode }) {
  return (
    <dl className="pb-facts pb-preview-facts">
      {shape && (
        <>
          <dt>Shape</dt>
          <dd>[{shape.join(', ')}]</dd>
        </>
      )}
      <dt>Min</dt>
      <dd>{formatFigure(stats.min)}</dd>
      <dt>Max</dt>
      <dd>{formatFigure(stats.max)}</dd>
      <dt>Mean</dt>
      <dd>{formatFigure(stats.mean)}</dd>
      <dt>Std</dt>
      <dd>{formatFigure(stats.std)}</dd>
      {stats.nonFinite > 0 && (
        <>
          <dt>NaN or ∞</dt>
          <dd className="pb-preview-bad">{stats.nonFinite}</dd>
        </>
      )}
      {children}
    </dl>
  );
}

const weightsWords = (w: { source: string; fromRun: number; layers: number } | null) =>
  !w
    ? ''
    : w.source === 'fresh'
      ? 'fresh weights (not trained)'
      : w.source === 'run'
        ? "the run's weights"
        : `the run's weights for ${w.fromRun} of ${w.layers} layers; fresh ones where the edit changed a layer`;

export function PreviewInspector({ nodeId, isBlock }: { nodeId: string; isBlock: boolean }) {
  const onShow = usePreviewsOnShow();
  const preview = usePreviews((s) => s.previews.get(nodeId));
  const skipped = usePreviews((s) => s.skipped.get(nodeId));
  const pinLabel = usePreviews((s) => s.pinLabel);
  const source = usePreviews((s) => s.weightsSource);
  // A run's weights and norms are by node of the network its refreshes are of (a classifier's main network, the program network on show): not for another graph's, another network's or a block's nodes of the same id.
  const graph = useEditor((s) => graphKeyOf(s.doc));
  const runGraph = usePreviews((s) => s.runGraph === graph);
  const ownRun = usePreviews((s) => runGraph && s.view === previewKey(s.weightsNetwork, undefined));
  const weights = usePreviews((s) => (ownRun ? s.weights.get(nodeId) : undefined));
  const step = usePreviews((s) => s.weightsStep);
  const history = usePreviews((s) => (ownRun ? s.history.get(historyKey(s.weightsNetwork, nodeId)) : undefined));
  const ofProgram = usePreviews((s) => s.weightsOfProgram);
  const note = usePreviews((s) => s.note);
  const stale = usePreviews((s) => s.stale);
  // A classifier run's refreshes leave an edited graph's previews alone: say why they stopped changing.
  const classifierRunning = useTraining((s) => isActiveStatus(s.run?.status));
  const editedSinceRun = usePreviews((s) => ownRun && s.editedSinceRun) && classifierRunning;
  // The run's outputs over the held-out batch are of the graph the refresh previewed (the main network, or the opened block's repeat).
  const batch = usePreviews((s) => (runGraph && s.activationsView === `${s.view}#${s.repeat}` ? s.activations.get(nodeId) : undefined));
  if (!onShow) return null;
  if (!preview && !skipped) return null;
  return (
    <section className="pb-form pb-preview-inspector" data-testid="preview-inspector" aria-label="Preview on the pinned example">
      <h3>Output on the pinned example</h3>
      <p className="pb-muted pb-small-text">
        {pinLabel}, with {weightsWords(source)}.{note ? ` ${note}.` : ''}
        {isBlock ? " A block shows its last layer's output; open it (double-click) to see the tensors inside." : ''}
      </p>
      {stale && (
        <p className="pb-muted pb-small-text" data-testid="preview-stale">
          Out of date: this is the graph before the edit that broke it. Previews follow again once the graph has no errors.
        </p>
      )}
      {editedSinceRun && (
        <p className="pb-muted pb-small-text" data-testid="preview-edited-since-run">
          Edited since the run began: these previews are of the graph as it stands now, so the run&apos;s refreshes no longer replace them.
        </p>
      )}
      {skipped && !preview && <p className="pb-muted pb-small-text">{skipped}</p>}
      {preview && (
        <>
          <PreviewCanvas
            preview={preview}
            width={WIDE}
            height={preview.picture.kind === 'bars' || preview.picture.kind === 'probabilities' ? 64 : 124}
            testId="preview-large"
          />
          {preview.picture.kind === 'channels' && (
            <p className="pb-muted pb-small-text">
              The first {preview.picture.channelsShown} of {preview.picture.channelsTotal} channels, on one colour scale.
            </p>
          )}
          <Stats stats={preview.stats} shape={preview.shape} />
          <HistogramCanvas histogram={preview.histogram} testId="preview-histogram" />
        </>
      )}
      {batch && <BatchActivations batch={batch} step={step} />}
      {!batch && weights && ofProgram && (
        <p className="pb-muted pb-small-text" data-testid="batch-not-measured">
          Outputs over held-out examples are measured only for a network that takes the example itself; a procedure feeds this one.
        </p>
      )}
      {weights && (
        <>
          <h3>Weights{step !== null ? ` at step ${step}` : ''}</h3>
          <p className="pb-muted pb-small-text">
            {weights.all.count.toLocaleString('en')} trainable values, norm {formatFigure(weights.all.stats.norm)}.
          </p>
          {(weights.variables.length ? weights.variables : [{ name: 'all', shape: [weights.all.count], ...weights.all }]).map((v) => (
            <div key={v.name} className="pb-preview-variable">
              <div className="pb-preview-line-head">
                <span>
                  {v.name} <span className="pb-muted pb-mono">[{v.shape.join(', ')}]</span>
                </span>
                <span className="pb-mono">‖·‖ {formatFigure(v.stats.norm)}</span>
              </div>
              <HistogramCanvas histogram={v.histogram} height={40} testId={`weights-histogram-${v.name}`} />
            </div>
          ))}
          {weights.gradients && (
            <div className="pb-preview-variable">
              <div className="pb-preview-line-head">
                <span>Gradients</span>
                <span className="pb-mono">‖·‖ {formatFigure(weights.gradients.stats.norm)}</span>
              </div>
              <HistogramCanvas histogram={weights.gradients.histogram} height={40} testId="gradients-histogram" />
              <p className="pb-muted pb-small-text">
                {ofProgram
                  ? `The loss's gradient at step ${step ?? ''}, on that step's training batch in training mode, as the tape gave it: before the optimizer's clipping and weight decay.`
                  : `The gradient step ${step ?? ''} applied: the loss on that step's training batch, in training mode (dropout, BatchNorm's batch statistics).`}
              </p>
            </div>
          )}
        </>
      )}
      {history && history.length > 0 && <NormCharts history={history} />}
    </section>
  );
}

const percent = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1).replace(/\.0$/, '')}%` : '–');

/** The node's output over the run's held-out batch: figures, histogram, exact zeros and, for a rectified output, the dead units. */
function BatchActivations({ batch, step }: { batch: NodeActivations; step: number | null }) {
  const rectified = isRectified(batch);
  const total = batch.stats.count + batch.stats.nonFinite;
  return (
    <div data-testid="batch-activations">
      <h3>
        Output over {batch.examples} held-out example{batch.examples === 1 ? '' : 's'}
        {step !== null ? ` at step ${step}` : ''}
      </h3>
      <Stats stats={batch.stats}>
        {batch.zeros > 0 && (
          <>
            <dt>Exactly 0</dt>
            <dd data-testid="batch-zeros">{percent(batch.zeros, total)}</dd>
          </>
        )}
        {rectified && (
          <>
            <dt title="Channels of the last axis that are 0 on every held-out example at every position: ReLU units that no longer fire">Dead units</dt>
            <dd data-testid="batch-dead" className={batch.dead > 0 ? 'pb-preview-bad' : undefined}>
              {batch.dead} of {batch.units} ({percent(batch.dead, batch.units)})
            </dd>
          </>
        )}
      </Stats>
      <HistogramCanvas histogram={batch.histogram} testId="batch-histogram" />
      {batch.sampled < total && (
        <p className="pb-muted pb-small-text">
          The histogram counts {batch.sampled.toLocaleString('en')} of the {total.toLocaleString('en')} values, at fixed positions; the figures count them all.
        </p>
      )}
    </div>
  );
}

function NormCharts({ history }: { history: NormPoint[] }) {
  const weights = history.filter((p) => p.weights !== undefined).map((p) => ({ x: p.step, y: p.weights! }));
  const activations = history.filter((p) => p.activations !== undefined).map((p) => ({ x: p.step, y: p.activations! }));
  const dead = history.filter((p) => p.dead !== undefined).map((p) => ({ x: p.step, y: 100 * p.dead! }));
  const gradients = history.filter((p) => p.gradients !== undefined).map((p) => ({ x: p.step, y: p.gradients! }));
  return (
    <>
      <h3>Over the steps</h3>
      {weights.length > 0 && <LineCanvas points={weights} label="Weight norm" testId="weights-norm-chart" />}
      {gradients.length > 0 && <LineCanvas points={gradients} label="Gradient norm" testId="gradients-norm-chart" />}
      {activations.length > 0 && <LineCanvas points={activations} label="Output std over the batch" testId="activations-chart" />}
      {dead.length > 0 && <LineCanvas points={dead} label="Dead units (%)" testId="dead-units-chart" />}
    </>
  );
}
