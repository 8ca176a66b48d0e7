/**
 * Opening a tfjs Layers or Keras model.json in the editor: a file that is not a Patchbay document
 * but holds a model config is imported as a graph (compiler/import-keras), or the layers it cannot
 * map are listed by name and the graph on the canvas stays as it was. Picked together with its
 * weight files (or as one .zip), the weights come too: they are checked in the worker against the
 * imported graph, kept in the run history as a run of their own ("Imported weights"), and loaded
 * for the playground.
 */
import { analyze, lower } from '../compiler/index';
import type { Plan } from '../compiler/plan';
import { foldLibraryBlocks, type FoldedBlock } from '../compiler/fold-blocks';
import { importModel, weightsMismatch } from '../compiler/import-keras';
import { getLibraryBlock } from '../nodes/blocks/index';
import { TrainingSchema, type GraphDocument } from '../document/schema';
import { quoted } from '../document/text';
import type { WeightArtifacts } from '../runtime/worker/protocol';
import { MAX_MODEL_JSON_BYTES, readModelFiles, type ModelFiles } from './model-files';
import { graphKeyOf, saveRun, type RunRecord } from './runs-db';
import { useEditor } from './store';
import { runIsActive, useTraining } from './training';

/** True when the text is a model.json (tfjs `modelTopology`, or a Keras `class_name` + `config`). */
function looksLikeModel(text: string): boolean {
  const head = text.slice(0, 4096);
  return (
    /"modelTopology"\s*:/.test(head) || (/"class_name"\s*:/.test(head) && /"config"\s*:/.test(text.slice(0, 65536)) && !/"format"\s*:\s*"patchbay/.test(head))
  );
}

/** Imports `file` when it is a model.json; returns false (and does nothing) for any other file. */
export async function openModelJson(file: File): Promise<boolean> {
  if (!/\.json$/i.test(file.name) || file.size > MAX_MODEL_JSON_BYTES) return false;
  const read = await readModelFiles([{ name: file.name, blob: file }]);
  if ('error' in read || !looksLikeModel(read.text)) return false;
  await importRead(read);
  return true;
}

/**
 * Several files picked or dropped at once, or a .zip: a model.json with its weight files. Says what
 * went wrong when they are not that; the graph on the canvas stays unless a graph was imported.
 */
export async function openModelFiles(files: File[]): Promise<void> {
  const read = await readModelFiles(files.map((f) => ({ name: f.name, blob: f })));
  if ('error' in read) {
    useEditor.getState().toast({ kind: 'error', title: 'Could not import these files; your graph is unchanged', lines: [quoted(read.error, 400)] });
    return;
  }
  if (!looksLikeModel(read.text)) {
    useEditor.getState().toast({
      kind: 'error',
      title: `Could not import ${quoted(read.name)}; your graph is unchanged`,
      lines: ['It is not a tfjs or Keras model.json (it has no modelTopology, or class_name and config). A Patchbay graph opens on its own.'],
    });
    return;
  }
  await importRead(read);
}

async function importRead(read: ModelFiles): Promise<void> {
  const s = useEditor.getState();
  const fileName = read.name.replace(/^.*\//, '');
  const result = importModel(read.text, fileName.replace(/\.json$/i, ''));
  if (!result.doc) {
    s.toast({
      kind: 'error',
      title: `Could not import ${quoted(fileName)}; your graph is unchanged`,
      lines: result.problems.slice(0, 8).map((p) => `Layer "${quoted(p.layer)}"${p.className ? ` (${quoted(p.className)})` : ''}: ${quoted(p.reason, 300)}.`),
    });
    return;
  }
  // Runs of layers that spell out a library block become that block (the weights still load by position).
  const { doc, folded } = foldLibraryBlocks(result.doc);
  s.commit(doc, { select: [] });
  s.closeBlock();
  s.requestFit();
  const lines = result.notes.slice(0, 4).map((n) => quoted(n, 300));
  let weightsLine = '';
  if (read.weights) {
    const kept = await keepImportedWeights(doc, read.weights, [fileName, ...read.weightFiles.map((f) => f.replace(/^.*\//, ''))]);
    if (kept.ok)
      weightsLine = ` Its weights are a run of their own in the Train tab (Imported weights)${kept.playground ? ', loaded for the playground' : ''}.`;
    else {
      weightsLine = ' Its weights were not imported.';
      lines.unshift(`The weights were not imported: ${quoted(kept.reason, 400)}`);
    }
  } else if (read.weightsProblem) {
    weightsLine = ' Its weights were not imported.';
    lines.unshift(`The weights were not imported: ${quoted(read.weightsProblem, 400)}`);
  }
  s.toast({
    kind: lines.length ? 'error' : 'info',
    title: `Imported ${quoted(fileName)} as a graph of ${doc.nodes.length} nodes.${foldedText(folded)}${weightsLine} Undo with Ctrl+Z.`,
    lines,
  });
}

/** " 20 layers became ConvMixer block × 4." for the toast. */
function foldedText(folded: FoldedBlock[]): string {
  if (!folded.length) return '';
  const layers = folded.reduce((a, f) => a + f.layers.length, 0);
  const blocks = folded.map((f) => `${getLibraryBlock(f.block)?.label ?? f.block}${f.repeat > 1 ? ` × ${f.repeat}` : ''}`);
  return ` ${layers} layers became ${blocks.join(', ')}.`;
}

/**
 * Checks imported weights against the graph they came with (built in the worker, which then holds
 * them for the playground), and keeps them in the run history as a run of that graph.
 */
async function keepImportedWeights(
  doc: GraphDocument,
  weights: WeightArtifacts,
  files: string[],
): Promise<{ ok: true; playground: boolean } | { ok: false; reason: string }> {
  const { plan } = lower(analyze(doc));
  if (!plan) return { ok: false, reason: 'the imported graph has errors (see the Issues tab), so they cannot be checked against it.' };
  // Before the worker builds anything: a config describing a huge graph beside small weights is refused here.
  const mismatch = weightsMismatch(
    weights.weightSpecs.map((w) => w.shape),
    plan,
  );
  if (mismatch) return { ok: false, reason: `${mismatch}.` };
  const { getClient } = await import('./train/controller');
  // The worker's model is the live run's while one trains: check and load the weights once it ends.
  const playground = !runIsActive();
  if (playground) {
    try {
      // The worker takes its own copy of the buffer; the history keeps this one.
      await getClient().load(plan, { ...weights, weightData: weights.weightData.slice(0) }, graphKeyOf(doc));
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
  }
  const record = importedRunRecord(doc, files);
  if (playground) Object.assign(record, await scoreLoaded(plan));
  try {
    await saveRun(record, weights);
  } catch (err) {
    return { ok: false, reason: `this browser could not keep them (${err instanceof Error ? err.message : String(err)}).` };
  }
  const { refreshRuns } = await import('./train/history');
  await refreshRuns(record.graphKey);
  if (playground) useTraining.setState({ playground: { label: 'the imported model', runId: record.id, classNames: record.data?.classNames } });
  return { ok: true, playground };
}

/**
 * The loaded weights' test score on the Train tab's data when it is MNIST or a synthetic set that
 * fits the graph (so that weights trained elsewhere show their accuracy here); nothing otherwise.
 */
async function scoreLoaded(plan: Plan): Promise<Partial<Pick<RunRecord, 'final' | 'data'>>> {
  const { runDataFor } = await import('./train/data');
  const { getClient } = await import('./train/controller');
  let data: Awaited<ReturnType<typeof runDataFor>>;
  try {
    data = await runDataFor(plan);
  } catch {
    return {}; // no data that fits this graph: the run has no score
  }
  if (typeof data.data === 'object' && data.data.kind === 'inline') return {};
  // The worker answers other requests meanwhile (previews load the same data for the pinned example);
  // a failed evaluation is tried again before the run goes without a score.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const test = await getClient().evaluate(plan, data.data as Exclude<typeof data.data, { kind: 'inline' }>);
      return { final: { trainLoss: Number.NaN, trainAccuracy: Number.NaN, test }, data: data.info };
    } catch (err) {
      console.warn(`Scoring the imported weights failed (attempt ${attempt + 1}): ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  return {};
}

/** The history record of imported weights: a completed run with no steps, which says where its weights came from. */
export function importedRunRecord(doc: GraphDocument, files: string[]): RunRecord {
  return {
    id: `imported-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`,
    graphKey: graphKeyOf(doc),
    graphName: doc.name,
    date: new Date().toISOString(),
    setup: (() => {
      const parsed = TrainingSchema.safeParse(doc.training ?? {});
      return parsed.success ? parsed.data : TrainingSchema.parse({});
    })(),
    backendChoice: 'auto',
    backend: null,
    curves: { loss: [], accuracy: [] },
    epochs: [],
    final: null,
    seconds: 0,
    stepsPerSecond: 0,
    status: 'completed',
    hasWeights: true,
    totalSteps: 0,
    imported: { files },
  };
}
