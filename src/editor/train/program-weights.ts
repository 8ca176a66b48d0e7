/**
 * A training program's weights brought into the editor: the Runs section's "Import weights" reads a
 * weights.zip or a folder with a folder per network (program-weights-import.ts), keeps them as an
 * "imported weights" run of this graph, which "Start networks from" can take and "Score" evaluates:
 * the program's evaluation procedures on the chosen data, with every train procedure skipped (the
 * start-from path with nothing left to train), the metrics going into the imported run's record.
 */
import type { PlanProgram } from '../../compiler/program';
import { TrainingSchema, type GraphDocument } from '../../document/schema';
import { quoted } from '../../document/text';
import { importedRunRecord } from '../model-import';
import type { PickedFile } from '../model-files';
import { graphKeyOf, saveRun, type RunRecord } from '../runs-db';
import { useEditor } from '../store';
import { isActiveStatus, useTraining } from '../training';
import { getClient } from './controller';
import { listNames } from './format';
import { refreshRuns } from './history';
import { programRunIsActive, startProgramRun } from './program-controller';
import { readProgramWeights } from './program-weights-import';
import { toast } from './toast';

const busy = () => programRunIsActive() || isActiveStatus(useTraining.getState().run?.status);

/** Reads picked files (a .zip, or a folder's files by their relative paths) into an imported run of this program. */
export async function importProgramWeights(files: File[], program: PlanProgram): Promise<void> {
  const title = 'Could not import these weights; your graph is unchanged';
  if (busy()) {
    toast('error', 'Wait for the current run to end before importing weights.');
    return;
  }
  const picked: PickedFile[] = files.map((f) => ({ name: f.webkitRelativePath || f.name, blob: f }));
  const labels = Object.fromEntries(program.networks.map((n) => [n.id, n.label]));
  let expected: Awaited<ReturnType<ReturnType<typeof getClient>['weightSpecs']>>;
  try {
    expected = await getClient().weightSpecs(Object.fromEntries(program.networks.map((n) => [n.id, n.plan])));
  } catch (err) {
    toast('error', title, [`The networks could not be built to check the weights against: ${quoted(err instanceof Error ? err.message : String(err), 400)}`]);
    return;
  }
  const read = await readProgramWeights(picked, expected, labels);
  if ('error' in read) {
    toast('error', title, [quoted(read.error, 600)]);
    return;
  }
  const doc = useEditor.getState().doc;
  const ids = program.networks.map((n) => n.id).filter((id) => id in read.networks);
  const record = importedProgramRecord(doc, read.source, ids);
  try {
    await saveRun(record, { networks: read.networks });
  } catch (err) {
    toast('error', 'The imported weights could not be kept in this browser', [quoted(err instanceof Error ? err.message : String(err), 400)]);
    return;
  }
  await refreshRuns(record.graphKey);
  const lines = [`Networks: ${listNames(ids.map((id) => labels[id] ?? id))}. Score them, or start a new run from them.`];
  if (read.missing.length) lines.push(`Not in the files, so they start from their initial weights: ${listNames(read.missing.map((id) => labels[id] ?? id))}.`);
  if (read.unknown.length)
    lines.push(
      `Folders that are no network of this program, not read: ${listNames(
        read.unknown.map((u) => quoted(u, 80)),
        6,
      )}.`,
    );
  toast('info', `Imported the weights of ${ids.length} network${ids.length === 1 ? '' : 's'} from ${quoted(read.source, 80)}`, lines);
}

/** The history record of a program's imported weights: the imported-run record, with its networks and no metrics until scored. */
function importedProgramRecord(doc: GraphDocument, source: string, networks: string[]): RunRecord {
  return { ...importedRunRecord(doc, [source]), imported: { files: [source], networks }, program: { curves: {}, metrics: {} } };
}

/** Scores an imported run: its networks are taken, every train procedure skipped, its evaluations run on the Train tab's data. */
export function scoreImportedRun(record: RunRecord, program: PlanProgram): void {
  if (busy()) {
    toast('error', 'Wait for the current run to end before scoring.');
    return;
  }
  const networks = (record.imported?.networks ?? []).filter((id) => program.networks.some((n) => n.id === id));
  if (networks.length === 0) {
    toast('error', 'These weights are for none of the networks of the graph as it is now; import them again.');
    return;
  }
  if (!program.procedures.some((p) => p.kind === 'evaluate')) {
    toast('error', 'This program has no evaluation procedure, so there is nothing to score.');
    return;
  }
  const doc = useEditor.getState().doc;
  const parsed = TrainingSchema.safeParse(doc.training ?? {});
  void startProgramRun({
    program,
    setup: parsed.success ? parsed.data : TrainingSchema.parse({}),
    graphKey: graphKeyOf(doc),
    graphName: doc.name,
    from: { runId: record.id, networks },
    score: true,
  });
}
