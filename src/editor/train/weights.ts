/**
 * Weights beyond the live run: exporting and importing them in tfjs's format, and loading a past
 * run's weights into the worker for the playground.
 */
import { strToU8, zipSync } from 'fflate';
import type { Plan } from '../../compiler/plan';
import { fromModelJson, toModelJson, WEIGHTS_FILE } from '../../runtime/tfjs-format';
import { downloadBlob } from '../files';
import { graphKeyOf, loadProgramWeights, loadWeights, type RunRecord } from '../runs-db';
import { useEditor } from '../store';
import { runIsActive, useTraining } from '../training';
import { getClient } from './controller';
import { messageOf } from './data';
import { toast } from './toast';

/** Loads a saved run's weights into the worker for the playground (built from the current graph's plan). */
export async function tryPastRun(record: RunRecord, plan: Plan | null): Promise<void> {
  if (runIsActive()) {
    toast('error', 'Wait for the current run to end before loading other weights.');
    return;
  }
  if (!plan) {
    toast('error', 'Fix the graph first: its weights are loaded into the current graph.');
    return;
  }
  const weights = await loadWeights(record.id);
  if (!weights) {
    toast('error', 'This run has no saved weights.');
    return;
  }
  try {
    await getClient().load(plan, weights, record.graphKey);
    useTraining.setState({
      playground: {
        label: record.imported ? 'the imported model' : `the run of ${new Date(record.date).toLocaleString()}`,
        runId: record.id,
        classNames: record.data?.classNames,
      },
    });
  } catch (err) {
    toast('error', 'Could not load these weights into the current graph', [messageOf(err)]);
  }
}

/**
 * A training program run's weights as one .zip: a folder per network with its model.json and
 * weights.bin, the layout `patchbay train --save` writes and `--weights` reads.
 */
async function exportProgramWeights(record: RunRecord): Promise<void> {
  const saved = await loadProgramWeights(record.id);
  if (!saved) {
    toast('error', 'This run has no saved weights.');
    return;
  }
  const files: Record<string, Uint8Array> = {};
  for (const [id, w] of Object.entries(saved.networks)) {
    files[`${id}/model.json`] = strToU8(JSON.stringify(toModelJson(w)));
    files[`${id}/${WEIGHTS_FILE}`] = new Uint8Array(w.weightData);
  }
  const zip = zipSync(files, { level: 0 });
  downloadBlob('weights.zip', new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  toast('info', `Downloaded weights.zip: a folder per network (${Object.keys(saved.networks).join(', ')}) with model.json and weights.bin.`);
}

/** Downloads model.json and weights.bin in tfjs's format (tf.loadLayersModel reads them); a program's networks as one .zip. */
export async function exportWeights(record: RunRecord): Promise<void> {
  if (record.program) return exportProgramWeights(record);
  const weights = await loadWeights(record.id);
  if (!weights) {
    toast('error', 'This run has no saved weights.');
    return;
  }
  downloadBlob('model.json', new Blob([JSON.stringify(toModelJson(weights))], { type: 'application/json' }));
  // Browsers may refuse a second download fired in the same task.
  await new Promise((r) => setTimeout(r, 150));
  downloadBlob(WEIGHTS_FILE, new Blob([weights.weightData], { type: 'application/octet-stream' }));
  toast('info', "Downloaded model.json and weights.bin. Load them with tf.loadLayersModel('…/model.json').");
}

/** Reads picked model.json + weight files; they initialise the next run (and can be tried in the playground). */
export async function importWeights(files: File[], plan: Plan | null): Promise<void> {
  const json = files.find((f) => f.name.endsWith('.json'));
  if (!json) {
    toast('error', 'Pick model.json together with its weights.bin.');
    return;
  }
  try {
    const bins = new Map<string, ArrayBuffer>();
    for (const f of files) if (f !== json) bins.set(f.name, await f.arrayBuffer());
    const weights = fromModelJson(await json.text(), bins);
    useTraining.setState({ pendingWeights: { label: files.map((f) => f.name).join(' + '), weights } });
    if (plan && !runIsActive()) {
      // The worker takes its own copy: the page keeps these weights for the next run.
      await getClient().load(plan, { ...weights, weightData: weights.weightData.slice(0) }, graphKeyOf(useEditor.getState().doc));
      useTraining.setState({ playground: { label: 'the imported model.json' } });
    }
    toast('info', 'Imported the weights: the next run starts from them.');
  } catch (err) {
    useTraining.setState({ pendingWeights: null });
    toast('error', 'Could not import these weights', [messageOf(err)]);
  }
}

export const clearPendingWeights = () => useTraining.setState({ pendingWeights: null });
