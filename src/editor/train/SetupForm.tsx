/** The training setup: optimizer, schedule and the rest (bound to the document, undoable), and the backend. */
import { useState } from 'react';
import type { z } from 'zod';
import { useEditor } from '../store';
import { describeField, humanize, ParamField } from '../ParamField';
import { TrainingSchema, type TrainingSetup } from '../../document/schema';
import type { BackendChoice } from '../../runtime/worker/protocol';
import { setPrefs, useRunIsActive, useTraining, type RunData } from '../training';
import { BACKEND_NAMES, nounOf } from './format';

/** Which setup fields matter for the chosen optimizer and schedule. */
const RELEVANT: Partial<Record<keyof TrainingSetup, (s: TrainingSetup) => boolean>> = {
  momentum: (s) => s.optimizer === 'sgd',
  weightDecay: (s) => s.optimizer === 'adamw',
  warmupSteps: (s) => s.schedule === 'warmup-cosine',
};

const FIELDS: (keyof TrainingSetup)[] = ['optimizer', 'learningRate', 'schedule', 'warmupSteps', 'weightDecay', 'momentum', 'batchSize', 'epochs', 'seed'];

const LABELS: Partial<Record<keyof TrainingSetup, string>> = { warmupSteps: 'Warm-up steps', learningRate: 'Learning rate' };
/** Help that says more than the schema's one line, where the Train tab knows more. */
const HELP: Partial<Record<keyof TrainingSetup, string>> = {
  seed: 'Seeds the initial weights, dropout and the data order: the same seed on the same backend gives the same run.',
};
export function SetupForm({
  setup,
  raw,
  data,
  fields = FIELDS,
  help = {},
}: {
  setup: TrainingSetup;
  raw: Record<string, unknown>;
  data: RunData | null;
  /** The setup fields that apply (a training program sets its optimizers on its Minimize nodes). */
  fields?: (keyof TrainingSetup)[];
  help?: Partial<Record<keyof TrainingSetup, string>>;
}) {
  const endCoalesce = useEditor((s) => s.endCoalesce);
  const limit = useTraining((s) => s.limit);
  const [limitText, setLimitText] = useState(limit ? String(limit) : '');
  const all = data ? data.trainCount.toLocaleString('en-US') : '';
  const limitError =
    limitText.trim() && !(Number.isInteger(Number(limitText)) && Number(limitText) > 0)
      ? `A whole number of ${nounOf(data ?? undefined)}, or empty for all${all ? ` ${all}` : ''}.`
      : null;
  const shape = TrainingSchema.shape as Record<string, z.ZodType>;
  return (
    <div className="pb-train-grid">
      {fields
        .filter((k) => RELEVANT[k]?.(setup) ?? true)
        .map((key) => {
          const schema = shape[key]!;
          const described = help[key] ?? HELP[key];
          const value = raw[key];
          const check = value === undefined ? null : schema.safeParse(value);
          const problem = check && !check.success ? (check.error.issues[0]?.message ?? 'Invalid value.').replace(/^Invalid input: /, '') : null;
          return (
            <ParamField
              key={key}
              label={LABELS[key] ?? humanize(key)}
              info={described ? { ...describeField(schema), description: described } : describeField(schema)}
              value={value}
              problem={problem}
              onChange={(v) => {
                const s = useEditor.getState();
                s.commit({ ...s.doc, training: { ...(s.doc.training ?? {}), [key]: v } as TrainingSetup }, { coalesce: `$training.${key}` });
              }}
              onDone={endCoalesce}
            />
          );
        })}
      <div className={`pb-field${limitError ? ' pb-field-invalid' : ''}`}>
        <label htmlFor="pb-train-limit">Limit training examples</label>
        <input
          id="pb-train-limit"
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          placeholder={all ? `all ${all}` : 'all'}
          value={limitText}
          onChange={(e) => {
            setLimitText(e.target.value);
            const n = Number(e.target.value);
            if (!e.target.value.trim()) setPrefs({ limit: null });
            else if (Number.isInteger(n) && n > 0) setPrefs({ limit: n });
          }}
        />
        {limitError && (
          <div className="pb-field-error" role="alert">
            {limitError}
          </div>
        )}
        <div className="pb-field-help">For quick runs: train on the first N {nounOf(data ?? undefined)} (and test on N / 4). Not saved in the graph.</div>
      </div>
    </div>
  );
}

const BACKENDS: [BackendChoice, string][] = [
  ['auto', 'Auto'],
  ['webgpu', 'WebGPU'],
  ['webgl', 'WebGL'],
  ['wasm', 'WASM'],
  ['cpu', 'CPU'],
];

export function BackendRow() {
  const choice = useTraining((s) => s.backendChoice);
  const probe = useTraining((s) => s.probe);
  const active = useTraining((s) => s.run?.backend);
  const running = useRunIsActive();
  return (
    <div className="pb-field">
      <label htmlFor="pb-train-backend">Backend</label>
      <select id="pb-train-backend" value={choice} disabled={running} onChange={(e) => setPrefs({ backendChoice: e.target.value as BackendChoice })}>
        {BACKENDS.map(([id, label]) => {
          const missing = probe && id !== 'auto' && !probe.available.includes(id);
          return (
            <option key={id} value={id} disabled={!!missing}>
              {label}
              {missing ? ' (not available here)' : ''}
            </option>
          );
        })}
      </select>
      <div className="pb-field-help" data-testid="train-backend">
        {active ? (
          <>
            Active: <strong>{BACKEND_NAMES[active.name]}</strong>, {active.reason}.
          </>
        ) : probe ? (
          <>
            Available here: {probe.available.join(', ')}
            {probe.software ? ' (the GPU is a software renderer, so Auto picks WASM)' : ''}. {probe.reason}.
          </>
        ) : (
          'Checking which backends work here…'
        )}
      </div>
    </div>
  );
}
