/**
 * "Export PyTorch" in the code panel: the same files as `patchbay export --format pytorch` (model.py,
 * weights.py, train.py, README.md, tfjs-topology.json; a program's networks in networks/<id>/) as
 * one zip. The page has no tfjs, so each network's tfjs topology (what save_tfjs_weights puts into
 * model.json, so that weights trained in PyTorch open in the editor again) is built in the training
 * worker. Where that fails (a model too large for the worker's memory), the zip goes without it and
 * its README says what that means.
 */
import type { Analysis } from '../compiler/infer';
import type { Plan } from '../compiler/plan';
import { pytorchFiles, PytorchExportError } from '../compiler/emit-pytorch';
import type { ProgramAnalysis } from '../compiler/program';
import type { GraphDocument } from '../document/schema';
import { planOf } from './analysis';
import { planProgramOf } from './program-view';

/** Builds a plan's tfjs topology JSON (the training worker in the editor; tfjs itself in tests). */
export type TopologyOf = (plan: Plan) => Promise<object>;

const workerTopology: TopologyOf = async (plan) => (await import('./train/controller')).getClient().topology(plan);

const missingNote = (folders: string[], reason: string) => `
## Exported from the editor without tfjs-topology.json

The editor could not build the tfjs model description for ${folders.map((f) => (f ? `\`${f}/\`` : 'this model')).join(', ')}
(${reason.replace(/[^\w .,:;()'"%+-]/g, '?').slice(0, 300)}). Without it \`save_tfjs_weights\` writes a model.json
with a null topology, which the editor cannot open as a graph; open the graph it was exported from and use
the Train tab's "Import weights", or export with \`npx patchbay export graph.json --format pytorch --out DIR\`.
`;

/**
 * The export's files with each network's tfjs-topology.json beside its weights.py (as the command
 * line writes them), and a README note for any network whose topology could not be built.
 */
export async function withTopologies(
  files: Record<string, string>,
  networks: Array<{ folder: string; plan: Plan }>,
  topologyOf: TopologyOf,
): Promise<Record<string, string>> {
  const out = { ...files };
  const missing: string[] = [];
  let reason = '';
  for (const net of networks) {
    try {
      out[net.folder ? `${net.folder}/tfjs-topology.json` : 'tfjs-topology.json'] = JSON.stringify(await topologyOf(net.plan));
    } catch (err) {
      missing.push(net.folder);
      reason ||= err instanceof Error ? err.message : String(err);
    }
  }
  if (missing.length) out['README.md'] = `${out['README.md'] ?? ''}${missingNote(missing, reason)}`;
  return out;
}

/** The zip's bytes, or the reason nothing can be exported (the graph's errors, or a layer the export lacks). */
export async function pytorchZip(
  doc: GraphDocument,
  analysis: Analysis,
  program: ProgramAnalysis | null,
  topologyOf: TopologyOf = workerTopology,
): Promise<{ zip: Uint8Array } | { error: string }> {
  let exported;
  try {
    if (program) {
      const lowered = planProgramOf(program);
      if (!lowered.program) return { error: 'Fix the errors in the Issues tab first.' };
      exported = pytorchFiles({ program: lowered.program, name: doc.name });
    } else {
      const lowered = planOf(analysis);
      if (!lowered.plan) return { error: 'Fix the errors in the Issues tab first.' };
      exported = pytorchFiles({ plan: lowered.plan, training: doc.training });
    }
  } catch (err) {
    if (err instanceof PytorchExportError) return { error: err.message };
    throw err;
  }
  const files = await withTopologies(exported.files, exported.networks, topologyOf);
  const { strToU8, zipSync } = await import('fflate');
  return { zip: zipSync(Object.fromEntries(Object.entries(files).map(([path, text]) => [path, strToU8(text)]))) };
}
