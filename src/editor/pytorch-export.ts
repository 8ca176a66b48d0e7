/**
 * "Export PyTorch" in the code panel: the same files as `patchbay export --format pytorch` (model.py,
 * weights.py, train.py, README.md; a program's networks in networks/<id>/) as one zip. The browser
 * build has no tfjs on the main thread, so the zip carries no tfjs-topology.json: save_tfjs_weights
 * then writes the weights with a null topology, and the CLI export is the one to use for weights
 * that should open in the editor again (the README in the zip says so).
 */
import type { Analysis } from '../compiler/infer';
import { pytorchFiles, PytorchExportError } from '../compiler/emit-pytorch';
import type { ProgramAnalysis } from '../compiler/program';
import type { GraphDocument } from '../document/schema';
import { planOf } from './analysis';
import { planProgramOf } from './program-view';

const BROWSER_NOTE = `
## Exported from the editor

This zip has no \`tfjs-topology.json\` (the tfjs model description that \`save_tfjs_weights\` puts
into model.json so the editor's "Import weights" accepts it). Export with
\`npx patchbay export graph.json --format pytorch --out DIR\` to get it.
`;

/** The zip's bytes, or the reason nothing can be exported (the graph's errors, or a layer the export lacks). */
export async function pytorchZip(doc: GraphDocument, analysis: Analysis, program: ProgramAnalysis | null): Promise<{ zip: Uint8Array } | { error: string }> {
  let files: Record<string, string>;
  try {
    if (program) {
      const lowered = planProgramOf(program);
      if (!lowered.program) return { error: 'Fix the errors in the Issues tab first.' };
      files = pytorchFiles({ program: lowered.program, name: doc.name }).files;
    } else {
      const lowered = planOf(analysis);
      if (!lowered.plan) return { error: 'Fix the errors in the Issues tab first.' };
      files = pytorchFiles({ plan: lowered.plan, training: doc.training }).files;
    }
  } catch (err) {
    if (err instanceof PytorchExportError) return { error: err.message };
    throw err;
  }
  files['README.md'] = `${files['README.md'] ?? ''}${BROWSER_NOTE}`;
  const { strToU8, zipSync } = await import('fflate');
  return { zip: zipSync(Object.fromEntries(Object.entries(files).map(([path, text]) => [path, strToU8(text)]))) };
}
