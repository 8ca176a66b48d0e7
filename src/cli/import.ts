import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { MAX_DOCUMENT_BYTES } from '../document/limits';
import { saveDocument } from '../document/load';
import { quoted } from '../document/text';
import { importModel, weightsMismatch } from '../compiler/import-keras';
import { analyze, lower } from '../compiler/index';
import { foldLibraryBlocks } from '../compiler/fold-blocks';

/** The shapes of the weights a model.json's manifest lists, in order (none when it has no manifest). */
function manifestShapes(text: string): number[][] {
  try {
    const groups = (JSON.parse(text) as { weightsManifest?: Array<{ weights?: Array<{ shape?: number[] }> }> }).weightsManifest;
    return Array.isArray(groups) ? groups.flatMap((g) => (Array.isArray(g.weights) ? g.weights.map((w) => (Array.isArray(w.shape) ? w.shape : [])) : [])) : [];
  } catch {
    return [];
  }
}

export interface ImportIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * `patchbay import model.json --out graph.json`: a tfjs Layers or Keras model.json as a graph. Every
 * layer that cannot be mapped is listed by name with the reason (exit 1, nothing written). When the
 * model.json lists weights, says how many load by name into the imported graph.
 */
export async function importCommand(path: string, args: { out?: string; json: boolean }, io: ImportIo): Promise<number> {
  let text: string;
  try {
    if (statSync(path).size > MAX_DOCUMENT_BYTES) {
      io.err(`Cannot import "${path}": it is larger than ${MAX_DOCUMENT_BYTES} bytes; a model.json holds the topology, not the weights.`);
      return 2;
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    io.err(`Cannot read "${path}": ${(err as Error).message}`);
    return 2;
  }
  const result = importModel(text, path.replace(/^.*[\\/]/, '').replace(/\.json$/i, ''));
  if (!result.doc) {
    if (args.json) io.out(JSON.stringify({ imported: false, problems: result.problems }, null, 2));
    else {
      for (const p of result.problems) io.err(`Layer "${quoted(p.layer)}"${p.className ? ` (${quoted(p.className)})` : ''}: ${quoted(p.reason, 400)}.`);
      io.err(`Nothing was imported: ${result.problems.length} layer${result.problems.length === 1 ? '' : 's'} cannot be mapped.`);
    }
    return 1;
  }
  // Runs of layers that spell out a library block fold into it, as in the editor (the weights then load in order).
  const { doc, folded } = foldLibraryBlocks(result.doc);
  const { plan } = lower(analyze(doc));
  let matched = 0;
  let fitInOrder = false;
  // Checked on the counts before building: a config that describes a huge graph is never allocated.
  const mismatch = plan && result.weightNames.length ? weightsMismatch(manifestShapes(text), plan) : null;
  if (plan && result.weightNames.length && !mismatch) {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await import('../runtime/custom-layers');
    const { buildModel } = await import('../runtime/build');
    const model = buildModel(plan);
    const names = new Set(model.weights.map((w) => w.originalName));
    matched = result.weightNames.filter((n) => names.has(n)).length;
    // What the editor's import checks: the file's weights, in its order, have the graph's shapes.
    const shapes = manifestShapes(text);
    fitInOrder = shapes.length === model.weights.length && model.weights.every((w, i) => w.shape.join() === shapes[i]!.join());
    model.dispose();
  }
  const summary = {
    imported: true,
    name: doc.name,
    nodes: doc.nodes.length,
    trainableParams: plan?.count.trainable ?? null,
    notes: result.notes,
    folded: folded.map((f) => ({ block: f.block, repeat: f.repeat, layers: f.layers.length })),
    weights: { inFile: result.weightNames.length, matchByName: matched, fitInOrder, ...(mismatch ? { problem: mismatch } : {}) },
  };
  const saved = saveDocument(doc);
  if (args.out) {
    try {
      writeFileSync(args.out, saved);
    } catch (err) {
      io.err(`Cannot write "${args.out}": ${(err as Error).message}`);
      return 2;
    }
  } else if (!args.json) io.out(saved.trimEnd());
  if (args.json) io.out(JSON.stringify(summary, null, 2));
  else {
    for (const note of result.notes) io.err(`Note: ${quoted(note, 400)}`);
    io.err(
      `Imported "${quoted(doc.name)}": ${doc.nodes.length} nodes${plan ? `, ${plan.count.trainable.toLocaleString('en-US')} trainable params` : ''}${args.out ? `, written to ${args.out}` : ''}.${
        folded.length
          ? ` ${folded.reduce((a, f) => a + f.layers.length, 0)} layers became ${folded.map((f) => `${f.block}${f.repeat > 1 ? ` x ${f.repeat}` : ''}`).join(', ')}.`
          : ''
      }${
        result.weightNames.length
          ? fitInOrder
            ? ` The ${result.weightNames.length} weights in the file fit it in order: in the editor, open model.json together with its weight files (or one .zip of them) to import them as a run.`
            : mismatch
              ? ` The weights in the file do not fit it: ${quoted(mismatch, 400)}.`
              : ` The ${result.weightNames.length} weights in the file do not fit it in order (${matched} match by name).`
          : ''
      }`,
    );
  }
  return 0;
}
