/**
 * The run slice: what the page keeps about training (the live run, its curves, the run history of
 * the current graph, the playground's model, the data choice). It is a store of its own so that
 * per-step updates never touch the document slice or wake the canvas. The jobs that change it live
 * in ./train: data preparation (data.ts), the run controller (controller.ts), the history (history.ts).
 */
import { create } from 'zustand';
import type { Plan } from '../compiler/plan';
import type { StepReport } from '../runtime/training/train';
import type { BackendChoice, BackendName, DataDownload, TrainData, WeightArtifacts } from '../runtime/worker/protocol';
import type { Dataset } from '../runtime/data/dataset';
import type { SyntheticName } from '../runtime/data/synthetic';
import type { RunCore, RunData, RunRecord, RunStatus } from './runs-db';
export type { RunData } from './runs-db';

/** What the Train tab trains on: MNIST (the app's 10,000 digits or MNIST's own 70,000), a synthetic set, or the user's own CSV or images. */
export type DataChoice = 'mnist' | 'mnist-full' | SyntheticName | 'csv' | 'images';

export const DATA_CHOICES: Array<[DataChoice, string]> = [
  ['mnist', 'MNIST digits'],
  ['mnist-full', 'MNIST, full 60,000 / 10,000'],
  ['moons', 'Two moons'],
  ['spirals', 'Spirals'],
  ['gaussians', 'Gaussian mixture'],
  ['shapes', 'Shapes (28×28 grey)'],
  ['shapes-rgb', 'Shapes (32×32 colour)'],
  ['csv', 'Your CSV…'],
  ['images', 'Your images (folder or .zip)…'],
];

/** The user's own data, loaded in the page (never saved: it stays in this tab). */
export interface UserData {
  kind: 'csv' | 'images';
  fileName: string;
  status: 'loading' | 'ready' | 'error';
  /** Progress (decoding images) or the error, in words. */
  message?: string;
  dataset?: Dataset;
  /** The picked file(s), to read again (in the file worker) with another label column or at another input size. */
  source?: File[];
  /** CSV: its columns, for the label picker. */
  columns?: string[];
  label?: string;
  /** Images: files left out (not images, or outside the class folders). */
  skipped?: number;
}

export const MNIST_INFO: RunData = {
  title: 'MNIST',
  inputShape: [28, 28, 1],
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  trainCount: 8000,
  testCount: 2000,
};

/** MNIST's own split (`mnist-full`): the worker downloads it when it is first used. */
export const MNIST_FULL_INFO: RunData = {
  title: 'MNIST (full)',
  inputShape: [28, 28, 1],
  classNames: MNIST_INFO.classNames,
  trainCount: 60_000,
  testCount: 10_000,
};

export type LiveStatus = 'starting' | 'running' | 'paused' | 'stopping' | RunStatus;

export interface LiveRun extends RunCore {
  /** The run's own copy of the plan, as JSON: to tell whether the graph changed since. */
  planJson: string;
  plan: Plan;
  status: LiveStatus;
  nodeId?: string;
  last: StepReport | null;
  data: RunData;
  /** The data by name (MNIST, a synthetic set), kept with checkpoints; null for the user's own data. */
  dataRef: Exclude<TrainData, { kind: 'inline' }> | null;
  /** Steps of the whole run (known before the first step when it was resumed). */
  totalSteps: number;
  /** The step of the latest checkpoint saved in this browser. */
  checkpointStep?: number;
}

/**
 * The one definition of "a run is active": it has started and not yet ended, paused included. It
 * decides the Start / Stop buttons, the warning before leaving the page, and whether the history
 * shows the run's saved record as interrupted or as the run on screen.
 */
export const isActiveStatus = (status: LiveStatus | undefined): boolean =>
  status === 'starting' || status === 'running' || status === 'paused' || status === 'stopping';

export interface PlaygroundModel {
  /** Which run's weights the worker holds, in words. */
  label: string;
  runId?: string;
  /** Its classes, when known (a run's data); digits otherwise. */
  classNames?: string[];
}

export interface TrainingState {
  backendChoice: BackendChoice;
  /** "Limit training examples": a quick run on the first N digits; null is the whole split. */
  limit: number | null;
  probe: { available: BackendName[]; software: boolean; reason: string } | null;
  run: LiveRun | null;
  /** Bumped (throttled) when the live run's curves grew. */
  tick: number;
  runsKey: string | null;
  runs: RunRecord[];
  /** Runs whose loss curves are overlaid. */
  compare: string[];
  playground: PlaygroundModel | null;
  /** Imported weights that initialise the next run. */
  pendingWeights: { label: string; weights: WeightArtifacts } | null;
  dataChoice: DataChoice;
  csv: UserData | null;
  images: UserData | null;
  /** The worker's download of `mnist-full`: null until it is first asked for (and again after a worker crash). */
  mnistFull: DataDownload | null;
}

const PREFS = 'patchbay:train-prefs';
function readPrefs(): Pick<TrainingState, 'backendChoice' | 'limit' | 'dataChoice'> {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS) ?? '{}') as Partial<TrainingState>;
    const known = DATA_CHOICES.some(([id]) => id === p.dataChoice);
    return {
      backendChoice: p.backendChoice ?? 'auto',
      limit: typeof p.limit === 'number' && p.limit > 0 ? p.limit : null,
      dataChoice: known ? p.dataChoice! : 'mnist',
    };
  } catch {
    return { backendChoice: 'auto', limit: null, dataChoice: 'mnist' };
  }
}

export const useTraining = create<TrainingState>()(() => ({
  ...readPrefs(),
  probe: null,
  run: null,
  tick: 0,
  runsKey: null,
  runs: [],
  compare: [],
  playground: null,
  pendingWeights: null,
  csv: null,
  images: null,
  mnistFull: null,
}));

export const runIsActive = () => isActiveStatus(useTraining.getState().run?.status);
export const useRunIsActive = () => useTraining((s) => isActiveStatus(s.run?.status));

export function setPrefs(prefs: Partial<Pick<TrainingState, 'backendChoice' | 'limit' | 'dataChoice'>>) {
  useTraining.setState(prefs);
  const { backendChoice, limit, dataChoice } = useTraining.getState();
  try {
    // Your own data is not kept across reloads; the choice of it is (the tab then asks for the file).
    localStorage.setItem(PREFS, JSON.stringify({ backendChoice, limit, dataChoice }));
  } catch {
    /* private mode: preferences last for the session */
  }
}
