/**
 * The samples grid of a flow on images (the glow template) in the Train tab: 16 samples the worker
 * draws by running the flow backwards from fixed noise (runtime/worker/flow-grid.ts, with the same
 * sampleFlow as `patchbay sample`), refreshed as it trains and after, at a temperature chosen here.
 * The grid itself is the diffusion grid's SampleGrid.
 */
import { useEffect, useState } from 'react';
import { DEFAULT_FLOW_TEMPERATURE, FLOW_GRID_COUNT, temperatureProblem, typedTemperature, type FlowSamples } from '../../runtime/program/flow-samples';
import { formatNumber } from './format';
import { sampleChannel } from './sample-channel';
import { SampleGrid } from './SampleGrid';
import { Section } from './Section';
import './diffusion-samples.css';

const flowChannel = sampleChannel<number, FlowSamples>('flow-samples', DEFAULT_FLOW_TEMPERATURE, (runId, temperature) => ({
  type: 'flow-samples',
  runId,
  temperature,
}));
/** Its settings are the temperature. */
export const useFlowSamples = flowChannel.store;
const listen = flowChannel.listen;
/** The temperature a run starts with (program-controller sends it). */
export const flowTemperatureForRun = flowChannel.settingsForRun;
/** Asks the worker to draw run `runId`'s grid again at the current temperature (it stays for later refreshes). */
export const requestFlowSamples = flowChannel.request;

export function FlowSamplesPanel({ run }: { run: { id: string; active: boolean } | null }) {
  const { settings: temperature, runId, samples: latest, error, waiting } = useFlowSamples();
  const samples = run && runId === run.id ? latest : null;
  const shownError = run && runId === run.id ? error : null;
  const [typed, setTyped] = useState(String(temperature));
  useEffect(() => listen(), []);
  const value = typedTemperature(typed);
  const problem = temperatureProblem(value);
  const apply = () => {
    if (problem || value === temperature) return;
    useFlowSamples.setState({ settings: value });
    if (run) requestFlowSamples(run.id);
  };

  return (
    <Section
      title="Samples"
      testId="flow-samples"
      right={
        samples ? (
          <span className="pb-muted pb-small-text" data-testid="flow-samples-step">
            step {samples.step}
          </span>
        ) : undefined
      }
    >
      <div className="pb-diffusion-controls">
        <label className={`pb-row pb-small-text pb-diffusion-steps${problem ? ' pb-field-invalid' : ''}`}>
          Temperature
          <input
            type="number"
            min={0}
            max={2}
            step={0.05}
            value={typed}
            aria-invalid={!!problem}
            onChange={(e) => setTyped(e.target.value)}
            onBlur={apply}
            onKeyDown={(e) => {
              if (e.key === 'Enter') e.currentTarget.blur();
            }}
            data-testid="flow-temperature"
          />
        </label>
        <button type="button" disabled={!run || waiting || !!problem} onClick={() => run && requestFlowSamples(run.id)} data-testid="flow-draw">
          {waiting ? (run?.active ? 'Drawing after this step…' : 'Drawing…') : 'Draw samples'}
        </button>
      </div>
      {problem && (
        <p className="pb-field-error pb-small-text" role="alert">
          {problem}
        </p>
      )}
      {shownError && (
        <p className="pb-blocked" role="alert" data-testid="flow-samples-error">
          {shownError}
        </p>
      )}
      {!samples && !shownError && (
        <p className="pb-muted pb-small-text" data-testid="flow-samples-waiting">
          {run
            ? run.active || waiting
              ? 'Drawing the first samples…'
              : 'No samples were drawn in this run: Draw samples draws them from its last weights.'
            : `Start a run: ${FLOW_GRID_COUNT} samples are drawn from fixed noise as it trains (every few steps, about 5% of its time), by running the flow backwards.`}
        </p>
      )}
      {samples && (
        <>
          <SampleGrid
            images={samples.images}
            shape={samples.shape}
            columns={4}
            scale={3}
            label={`${samples.shape[0]} samples of the flow at temperature ${samples.temperature}, step ${samples.step}`}
            testId="flow-grid"
          />
          <p className="pb-muted pb-small-text" data-testid="flow-samples-meta">
            {samples.shape[0]} samples from seed {samples.seed} at temperature {formatNumber(samples.temperature, 2)}, with the weights of step {samples.step};
            drawn in {formatNumber(samples.ms / 1000, 2)} s
            {samples.share !== undefined ? `, ${formatNumber(100 * samples.share, 2)}% of the run's time so far` : ''}.
          </p>
        </>
      )}
    </Section>
  );
}
