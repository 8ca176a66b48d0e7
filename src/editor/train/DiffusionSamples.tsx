/**
 * The samples grid of a diffusion program (the ddpm template) in the Train tab: 16 samples drawn by the
 * worker from fixed noise with the run's weights (the moving-average copy when the program keeps one),
 * refreshed as it trains and on request, and a slider (with Play) that steps through the stored x_t
 * of the reverse process, from the noise x_T to the samples. The sampler (DDIM or ancestral DDPM, and
 * its steps) is chosen here; the worker does all the tensor work (runtime/worker/diffusion-grid.ts).
 */
import { useEffect, useState } from 'react';
import type { DenoiserSetup } from '../../runtime/program/denoiser';
import { DEFAULT_SAMPLING, samplingProblem, type DiffusionSamples, type DiffusionSamplingSettings } from '../../runtime/program/diffusion-view';
import { formatNumber } from './format';
import { sampleChannel } from './sample-channel';
import { SampleGrid } from './SampleGrid';
import { Section } from './Section';
import './diffusion-samples.css';

const diffusionChannel = sampleChannel<DiffusionSamplingSettings, DiffusionSamples>('diffusion-samples', DEFAULT_SAMPLING, (runId, settings) => ({
  type: 'diffusion-samples',
  runId,
  settings,
}));
export const useDiffusionSamples = diffusionChannel.store;
const listen = diffusionChannel.listen;
/** The settings a run of a diffusion program starts with (program-controller sends them). */
export const samplingForRun = diffusionChannel.settingsForRun;
/** Asks the worker to draw run `runId`'s grid again with the current settings (they stay for its later refreshes). */
export const requestDiffusionSamples = diffusionChannel.request;

const SAMPLER_NAMES: Record<DiffusionSamplingSettings['sampler'], string> = { ddim: 'DDIM (η = 0)', ancestral: 'DDPM (ancestral)' };
/** Time between frames when playing the reverse process. */
const FRAME_MS = 280;

/** The frame's place in the reverse process, in words. */
function frameText(samples: DiffusionSamples, index: number): string {
  const frame = samples.frames[index]!;
  const total = samples.frames.at(-1)!.done;
  if (frame.done === 0) return `Noise x_T · t = ${frame.t}`;
  if (frame.done === total) return `Samples · t = 0 · after ${total} step${total === 1 ? '' : 's'}`;
  return `x_t · t = ${frame.t} · step ${frame.done} of ${total}`;
}

export function DiffusionSamplesPanel({ setup, run }: { setup: DenoiserSetup; run: { id: string; active: boolean } | null }) {
  const { settings, runId, samples: latest, error, waiting } = useDiffusionSamples();
  const samples = run && runId === run.id ? latest : null;
  const shownError = run && runId === run.id ? error : null;
  const [stepsText, setStepsText] = useState(String(settings.steps));
  /** The frame on show; null follows the samples (the last frame) as refreshes come. */
  const [picked, setPicked] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  useEffect(() => listen(), []);

  const frames = samples?.frames.length ?? 0;
  const index = picked === null ? frames - 1 : Math.min(picked, frames - 1);
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      setPicked((i) => {
        const next = (i ?? frames - 1) + 1;
        if (next >= frames - 1) setPlaying(false);
        return Math.min(next, frames - 1);
      });
    }, FRAME_MS);
    return () => clearInterval(timer);
  }, [playing, frames]);

  const typedSteps = Number(stepsText);
  const stepsProblem = samplingProblem({ sampler: settings.sampler, steps: typedSteps }, setup.timesteps);
  const change = (next: DiffusionSamplingSettings) => {
    useDiffusionSamples.setState({ settings: next });
    if (run) requestDiffusionSamples(run.id);
  };

  return (
    <Section
      title="Samples"
      testId="diffusion-samples"
      right={
        samples ? (
          <span className="pb-muted pb-small-text" data-testid="diffusion-step">
            step {samples.step}
          </span>
        ) : undefined
      }
    >
      <div className="pb-diffusion-controls">
        <label className="pb-row pb-small-text">
          Sampler
          <select value={settings.sampler} onChange={(e) => change({ ...settings, sampler: e.target.value as DiffusionSamplingSettings['sampler'] })}>
            {(Object.keys(SAMPLER_NAMES) as DiffusionSamplingSettings['sampler'][]).map((s) => (
              <option key={s} value={s}>
                {SAMPLER_NAMES[s]}
              </option>
            ))}
          </select>
        </label>
        <label className={`pb-row pb-small-text pb-diffusion-steps${stepsProblem ? ' pb-field-invalid' : ''}`}>
          Steps
          <input
            type="number"
            min={1}
            max={setup.timesteps}
            value={stepsText}
            aria-invalid={!!stepsProblem}
            onChange={(e) => setStepsText(e.target.value)}
            onBlur={() => {
              if (!stepsProblem && typedSteps !== settings.steps) change({ ...settings, steps: typedSteps });
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') e.currentTarget.blur();
            }}
          />
        </label>
        <button type="button" disabled={!run || waiting || !!stepsProblem} onClick={() => run && requestDiffusionSamples(run.id)} data-testid="diffusion-draw">
          {waiting ? (run?.active ? 'Drawing after this step…' : 'Drawing…') : 'Draw samples'}
        </button>
      </div>
      {stepsProblem && (
        <p className="pb-field-error pb-small-text" role="alert">
          {stepsProblem}
        </p>
      )}
      {shownError && (
        <p className="pb-blocked" role="alert" data-testid="diffusion-error">
          {shownError}
        </p>
      )}
      {!samples && (
        <p className="pb-muted pb-small-text" data-testid="diffusion-waiting">
          {run
            ? 'Drawing the first samples…'
            : `Start a run: 16 samples are drawn from fixed noise as it trains (every few steps, about 5% of its time), with the network's ${setup.ema ? 'moving-average ' : ''}weights as they are.`}
        </p>
      )}
      {samples && frames > 0 && (
        <>
          <SampleGrid
            images={samples.frames[index]!.images}
            shape={samples.shape}
            columns={4}
            scale={3}
            label={`${samples.shape[0]} samples: ${frameText(samples, index)}`}
            testId="diffusion-grid"
          />
          <div className="pb-diffusion-scrub">
            <button
              type="button"
              onClick={() => {
                if (!playing && index >= frames - 1) setPicked(0);
                setPlaying(!playing);
              }}
              aria-label={playing ? 'Pause the reverse process' : 'Play the reverse process'}
              data-testid="diffusion-play"
            >
              {playing ? 'Pause' : 'Play'}
            </button>
            <input
              type="range"
              min={0}
              max={frames - 1}
              step={1}
              value={index}
              aria-label="Reverse process: stored x_t from the noise to the samples"
              aria-valuetext={frameText(samples, index)}
              onChange={(e) => {
                setPlaying(false);
                const v = Number(e.target.value);
                setPicked(v >= frames - 1 ? null : v);
              }}
              data-testid="diffusion-slider"
            />
          </div>
          <p className="pb-mono pb-small-text" data-testid="diffusion-frame">
            {frameText(samples, index)}
          </p>
          <p className="pb-muted pb-small-text" data-testid="diffusion-meta" data-ms={Math.round(samples.ms)} data-share={samples.share ?? ''}>
            {samples.shape[0]} samples from seed {samples.seed}, {SAMPLER_NAMES[samples.settings.sampler]} in {samples.settings.steps} steps, with the{' '}
            {samples.weights === 'ema' ? 'moving-average' : 'online'} weights of step {samples.step}; drawn in {formatNumber(samples.ms / 1000, 2)} s
            {samples.share !== undefined ? `, ${formatNumber(100 * samples.share, 2)}% of the run's time so far` : ''}.
          </p>
        </>
      )}
    </Section>
  );
}
