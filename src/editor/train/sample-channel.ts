/**
 * The page's side of a samples grid the worker draws (a diffusion program's, an image flow's): one
 * store with the grid's settings (sent with a run's start and with each request) and the worker's
 * last answer, one listener for those answers, and the request that sends the current settings.
 */
import { create } from 'zustand';
import type { Command } from '../../runtime/worker/client';
import { getClient } from './controller';

export interface SampleChannelState<Settings, Samples> {
  settings: Settings;
  runId: string | null;
  samples: Samples | null;
  error: string | null;
  /** A request was sent and its answer has not come. */
  waiting: boolean;
}

export function sampleChannel<Settings, Samples>(
  type: 'diffusion-samples' | 'flow-samples',
  initial: Settings,
  requestMessage: (runId: string, settings: Settings) => Command,
) {
  const store = create<SampleChannelState<Settings, Samples>>(() => ({ settings: initial, runId: null, samples: null, error: null, waiting: false }));
  let listening = false;
  const listen = () => {
    if (listening) return;
    listening = true;
    getClient().on((e) => {
      if (e.type === type) {
        const answer = e as { runId: string; samples?: Samples; error?: string };
        if (answer.samples) store.setState({ runId: answer.runId, samples: answer.samples, error: null, waiting: false });
        else store.setState({ runId: answer.runId, error: answer.error ?? 'No samples came back.', waiting: false });
      } else if (e.type === 'crashed') store.setState({ waiting: false });
    });
  };
  return {
    store,
    listen,
    /** The settings a run starts with (program-controller sends them). */
    settingsForRun(): Settings {
      listen();
      return store.getState().settings;
    },
    /** Asks the worker to draw run `runId`'s grid again with the current settings (they stay for its later refreshes). */
    request(runId: string): void {
      listen();
      store.setState({ waiting: true, error: null });
      getClient().send(requestMessage(runId, store.getState().settings));
    },
  };
}
