/**
 * Sweeps started in the Train tab: variants of the graph (a grid over one or two params, or seeded
 * random picks from it), derived by the same code as `patchbay sweep` (src/document/sweep.ts) and
 * trained one after another in the worker, each a run of its own in the history, labelled by its
 * values. The user's graph is never changed: each variant is a new document that lives only here.
 * Stopping the sweep stops the variant that is training and skips the rest.
 */
import { create } from 'zustand';
import { createAnalyzer } from '../../compiler/infer';
import { lower } from '../../compiler/lower';
import type { Plan } from '../../compiler/plan';
import { summarize } from '../../compiler/summary';
import { TrainingSchema, type GraphDocument, type TrainingSetup } from '../../document/schema';
import { parseSweepValues, sweepTarget, sweepVariants, variantLabel, type SweepParam, type SweepValue } from '../../document/sweep';
import { quoted } from '../../document/text';
import type { RunCore, RunRecord } from '../runs-db';
import { isActiveStatus, runIsActive, useTraining, type LiveRun } from '../training';
import { startRun, stopRun } from './controller';
import { messageOf } from './data';
import { toast } from './toast';

/** More variants than this in one tab is a job for `patchbay sweep` (it runs several at once). */
export const MAX_VARIANTS = 16;

/** A param a person can sweep here: its name as `patchbay sweep` spells it, and in words. */
export interface SweepChoice {
  name: string;
  /** In words for the training setup; the name itself for a node's param (as runs are labelled). */
  label: string;
  /** The node's display name, when it is not its id. */
  node?: string;
  group: 'Training' | 'Graph';
  current: number;
  /** Whole numbers only (units, dim, depth, batch size…). */
  integer: boolean;
}

const TRAINING_CHOICES: [keyof TrainingSetup, string, string][] = [
  ['learningRate', 'lr', 'Learning rate'],
  ['batchSize', 'batchSize', 'Batch size'],
  ['epochs', 'epochs', 'Epochs'],
];

/** What can be swept in this graph: the learning rate, batch size and epochs, each block's repeat count, and every numeric param of a node. */
export function sweepChoices(doc: GraphDocument): SweepChoice[] {
  const setup = TrainingSchema.safeParse(doc.training ?? {});
  const training = setup.success ? setup.data : TrainingSchema.parse({});
  const out: SweepChoice[] = TRAINING_CHOICES.map(([field, name, label]) => ({
    name,
    label,
    group: 'Training',
    current: training[field] as number,
    integer: field !== 'learningRate',
  }));
  for (const node of doc.nodes) {
    const shown = node.name?.trim() && node.name !== node.id ? node.name : undefined;
    const add = (param: string, current: number) =>
      out.push({ name: `${node.id}.${param}`, label: `${node.id}.${param}`, node: shown, group: 'Graph', current, integer: Number.isInteger(current) });
    if (node.type === 'Block' && (node.repeat ?? 1) > 1) add('repeat', node.repeat ?? 1);
    for (const [param, value] of Object.entries(node.params ?? {})) if (typeof value === 'number' && Number.isFinite(value)) add(param, value);
  }
  return out;
}

/** Values to start from: the current value and one twice (or, for the learning rate, three times) as large. */
export function suggestedValues(choice: SweepChoice): string {
  const next = choice.integer ? choice.current * 2 : Number((choice.current * 3).toPrecision(3));
  return choice.current > 0 ? `${choice.current}, ${next}` : String(choice.current);
}

/** A variant as the sweep will train it, or why it cannot be trained. */
export interface PlannedVariant {
  index: number;
  values: Record<string, SweepValue>;
  label: string;
  plan: Plan | null;
  setup: TrainingSetup | null;
  cost: RunCore['cost'];
  /** Why this variant cannot train (its graph or setup has an error). */
  problem?: string;
}

export interface SweepDraft {
  params: { name: string; values: string }[];
  /** Random picks from the grid; 0 or absent: the whole grid. */
  random?: number;
  seed?: number;
}

const analyzer = createAnalyzer();

/**
 * The variants of a draft, each compiled and counted (nothing trains yet), or the one reason the
 * draft cannot make a sweep, in words.
 */
export function planSweep(doc: GraphDocument, draft: SweepDraft): { variants: PlannedVariant[] } | { error: string } {
  const choices = new Map(sweepChoices(doc).map((c) => [c.name, c]));
  const params: SweepParam[] = [];
  for (const p of draft.params) {
    const choice = choices.get(p.name);
    if (!choice) return { error: `Choose what to sweep: "${quoted(p.name, 60)}" is not a param of this graph.` };
    if (params.some((q) => q.name === p.name)) return { error: `${choice.label} is chosen twice; list all its values in one row.` };
    const values = parseSweepValues(p.values);
    if (!values.length) return { error: `Give ${choice.label} one or more values, separated by commas (for example ${suggestedValues(choice)}).` };
    const bad = values.find((v) => typeof v !== 'number' || (choice.integer && !Number.isInteger(v)) || v <= 0);
    if (bad !== undefined)
      return { error: `${choice.label} takes ${choice.integer ? 'whole numbers' : 'numbers'} above 0; "${quoted(String(bad), 40)}" is not one.` };
    if (new Set(values).size !== values.length) return { error: `${choice.label} lists a value twice.` };
    params.push({ name: p.name, values });
  }
  if (!params.length) return { error: 'Choose a param to sweep.' };
  let variants;
  try {
    // Resolved first so that a name that no longer fits the graph is said before anything is derived.
    params.forEach((p) => sweepTarget(doc, p.name));
    const total = params.reduce((n, p) => n * p.values.length, 1);
    const random = draft.random && draft.random < total ? draft.random : undefined;
    if ((random ?? total) > MAX_VARIANTS)
      return {
        error: `${(random ?? total).toLocaleString('en-US')} variants is more than a tab trains in one go (${MAX_VARIANTS}); use fewer values or random picks, or patchbay sweep on the command line.`,
      };
    variants = sweepVariants(doc, params, { random, seed: draft.seed ?? 0 });
  } catch (err) {
    return { error: messageOf(err).replace(/^--param /, '') };
  }
  return {
    variants: variants.map((v) => {
      const base = { index: v.index, values: v.values, label: variantLabel(v.values) };
      const setup = TrainingSchema.safeParse(v.doc.training ?? {});
      const analysis = analyzer(v.doc);
      const lowered = lower(analysis);
      const error = lowered.diagnostics.find((d) => d.severity === 'error') ?? analysis.diagnostics.find((d) => d.severity === 'error');
      const summary = summarize(analysis);
      const cost = { macs: summary.macs, trainableParams: summary.trainableParams };
      if (!setup.success) return { ...base, plan: null, setup: null, cost, problem: setup.error.issues[0]?.message ?? 'The training setup is not valid.' };
      if (!lowered.plan || error) return { ...base, plan: null, setup: setup.data, cost, problem: error?.message ?? 'The graph does not compile.' };
      // A variant's training step that does not fit in a tab (PB310, at the variant's own batch size) is refused as the Start button refuses the graph.
      const tooLarge = analysis.diagnostics.find((d) => d.code === 'PB310' && !d.nodeId);
      if (tooLarge) return { ...base, plan: null, setup: setup.data, cost, problem: `${tooLarge.message} ${tooLarge.help ?? ''}`.trim() };
      return { ...base, plan: lowered.plan, setup: setup.data, cost };
    }),
  };
}

export type VariantStatus = 'waiting' | 'training' | 'completed' | 'failed' | 'invalid' | 'stopped' | 'skipped';

export interface SweepVariantState {
  index: number;
  label: string;
  values: Record<string, SweepValue>;
  status: VariantStatus;
  runId: string | null;
  message?: string;
}

export interface SweepState {
  sweep: {
    id: string;
    graphKey: string;
    status: 'running' | 'stopping' | 'finished' | 'stopped';
    variants: SweepVariantState[];
    /** Wall-clock seconds from the first variant's start to the last one's end. */
    seconds: number;
  } | null;
  /** The comparison dialog is open (over the runs ticked in the history). */
  comparing: boolean;
  /** What the Sweep section shows (kept while the tab is switched); random picks only count when `mode` is random. */
  draft: { params: { name: string; values: string }[]; mode: 'grid' | 'random'; random: number };
}

export const useSweep = create<SweepState>(() => ({
  sweep: null,
  comparing: false,
  draft: { params: [{ name: '', values: '' }], mode: 'grid', random: 2 },
}));

export const setDraft = (patch: Partial<SweepState['draft']>) => useSweep.setState({ draft: { ...useSweep.getState().draft, ...patch } });

const sweepIsActive = () => {
  const s = useSweep.getState().sweep?.status;
  return s === 'running' || s === 'stopping';
};

function patchVariant(index: number, patch: Partial<SweepVariantState>) {
  const sweep = useSweep.getState().sweep;
  if (!sweep) return;
  useSweep.setState({ sweep: { ...sweep, variants: sweep.variants.map((v) => (v.index === index ? { ...v, ...patch } : v)) } });
}

/** Resolves with the run once it has ended (or been replaced on screen). */
function runEnded(runId: string): Promise<LiveRun | null> {
  return new Promise((resolve) => {
    const ended = (s: { run: LiveRun | null }) => !(s.run?.id === runId && isActiveStatus(s.run.status));
    const settle = (s: { run: LiveRun | null }) => resolve(s.run?.id === runId ? s.run : null);
    if (ended(useTraining.getState())) {
      settle(useTraining.getState());
      return;
    }
    const unsubscribe = useTraining.subscribe((s) => {
      if (!ended(s)) return;
      unsubscribe();
      settle(s);
    });
  });
}

/** Trains the sweep's variants one after another; each becomes a run in the history of `graphKey`. */
export async function startSweep(args: { doc: GraphDocument; draft: SweepDraft; graphKey: string; graphName: string }): Promise<void> {
  if (runIsActive() || sweepIsActive()) {
    toast('error', 'Wait for the current run to end before starting a sweep.');
    return;
  }
  const planned = planSweep(args.doc, args.draft);
  if ('error' in planned) {
    toast('error', 'Could not start the sweep', [planned.error]);
    return;
  }
  const id = `sweep-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const count = planned.variants.length;
  useSweep.setState({
    sweep: {
      id,
      graphKey: args.graphKey,
      status: 'running',
      seconds: 0,
      variants: planned.variants.map((v) => ({
        index: v.index,
        label: v.label,
        values: v.values,
        status: v.problem ? 'invalid' : 'waiting',
        runId: null,
        message: v.problem,
      })),
    },
  });
  const started = performance.now();
  for (const v of planned.variants) {
    if (v.problem || !v.plan || !v.setup) continue;
    if (useSweep.getState().sweep?.status !== 'running') {
      patchVariant(v.index, { status: 'skipped' });
      continue;
    }
    patchVariant(v.index, { status: 'training' });
    const runId = await startRun({
      plan: v.plan,
      setup: v.setup,
      graphKey: args.graphKey,
      graphName: args.graphName,
      sweep: { id, values: v.values, index: v.index, count },
      cost: v.cost,
    });
    if (!runId) {
      // The data could not be prepared (said in a toast): the next variant would fail the same way.
      patchVariant(v.index, { status: 'failed', message: 'The run did not start.' });
      const sweep = useSweep.getState().sweep;
      if (sweep) useSweep.setState({ sweep: { ...sweep, status: 'stopping' } });
      continue;
    }
    patchVariant(v.index, { runId });
    // Stop sweep pressed while this variant's data was being prepared: stop it as soon as it exists.
    if (useSweep.getState().sweep?.status === 'stopping') stopRun();
    const run = await runEnded(runId);
    const status = run?.status;
    patchVariant(v.index, {
      status: status === 'completed' ? 'completed' : status === 'stopped' ? 'stopped' : 'failed',
      message: status === 'completed' ? undefined : run?.message,
    });
    // The run's own Stop button ends the sweep too: a person who stops a variant means to stop.
    if (status === 'stopped') {
      const sweep = useSweep.getState().sweep;
      if (sweep?.status === 'running') useSweep.setState({ sweep: { ...sweep, status: 'stopping' } });
    }
  }
  const sweep = useSweep.getState().sweep;
  if (sweep?.id === id)
    useSweep.setState({ sweep: { ...sweep, status: sweep.status === 'running' ? 'finished' : 'stopped', seconds: (performance.now() - started) / 1000 } });
}

/** Stops the variant that is training and skips the ones after it. */
export function stopSweep(): void {
  const sweep = useSweep.getState().sweep;
  if (!sweep || sweep.status !== 'running') return;
  useSweep.setState({ sweep: { ...sweep, status: 'stopping' } });
  stopRun();
}

/** Ticks the sweep's runs in the history and opens the comparison. */
export function compareSweep(sweepId: string, runs: RunRecord[]): void {
  const ids = runs.filter((r) => r.sweep?.id === sweepId).map((r) => r.id);
  useTraining.setState({ compare: ids });
  useSweep.setState({ comparing: ids.length > 0 });
}

export const openComparison = () => useSweep.setState({ comparing: true });
export const closeComparison = () => useSweep.setState({ comparing: false });
