import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GraphDocument } from '../document/schema';
import { quoted } from '../document/text';
import type { Plan } from '../compiler/plan';
import { pytorchFiles, PytorchExportError } from '../compiler/emit-pytorch';

export interface ExportIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * tfjs's own description of the model (what model.json's modelTopology holds), built with the same
 * runtime the editor trains with, so that weights.py's save_tfjs_weights writes a model.json the
 * editor and tf.loadLayersModel open.
 */
async function tfjsTopology(plan: Plan): Promise<unknown> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await tf.ready();
  const { tfjsTopologyOf } = await import('../runtime/tfjs-topology');
  return tfjsTopologyOf(plan);
}

/** `patchbay export … --format pytorch --out DIR`. Returns the exit code. */
export async function exportPytorch(doc: GraphDocument, target: Parameters<typeof pytorchFiles>[0], out: string | undefined, io: ExportIo): Promise<number> {
  if (!out) {
    io.err('"patchbay export --format pytorch" writes a folder: give it with --out DIR.');
    return 2;
  }
  let exported;
  try {
    exported = pytorchFiles(target);
  } catch (err) {
    if (!(err instanceof PytorchExportError)) throw err;
    io.err(`${err.message}${err.nodeId ? ` (node ${JSON.stringify(err.nodeId)})` : ''}`);
    io.err('Nothing was exported.');
    return 1;
  }
  try {
    for (const [path, text] of Object.entries(exported.files)) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      writeFileSync(join(out, path), text);
    }
    for (const net of exported.networks) writeFileSync(join(out, net.folder, 'tfjs-topology.json'), JSON.stringify(await tfjsTopology(net.plan)));
  } catch (err) {
    io.err(`Cannot write "${out}": ${(err as Error).message}`);
    return 2;
  }
  const total = exported.networks.reduce((a, n) => a + n.trainableParams, 0);
  io.err(
    `Wrote ${Object.keys(exported.files).length} files to ${out} for "${quoted(doc.name)}" (${total.toLocaleString('en-US')} trainable params${exported.networks.length > 1 ? `, ${exported.networks.length} networks` : ''}).`,
  );
  return 0;
}

/** Lowers the document (a plain graph or a program) and writes its PyTorch export. */
export async function exportPytorchCommand(doc: GraphDocument, out: string | undefined, io: ExportIo): Promise<number> {
  const { analyze, lower } = await import('../compiler/index');
  const { analyzeProgram, lowerProgram } = await import('../compiler/program');
  const { formatDiagnostics } = await import('../document/diagnostics');
  const program = doc.program ? lowerProgram(analyzeProgram(doc)!) : null;
  const lowered = program ? { plan: null, diagnostics: program.diagnostics } : lower(analyze(doc));
  if (program?.program) return exportPytorch(doc, { program: program.program, name: doc.name }, out, io);
  if (!lowered.plan) {
    for (const line of formatDiagnostics(lowered.diagnostics)) io.err(line);
    io.err('Nothing was exported: fix the errors above first.');
    return 1;
  }
  return exportPytorch(doc, { plan: lowered.plan, training: doc.training }, out, io);
}
