/**
 * Opening a tfjs Layers or Keras model.json in the editor: a file that is not a Patchbay document
 * but holds a model config is imported as a graph (compiler/import-keras), or the layers it cannot
 * map are listed by name and the graph on the canvas stays as it was.
 */
import { importModel } from '../compiler/import-keras';
import { quoted } from '../document/text';
import { useEditor } from './store';

/** Model files are topology only (weights live in weights.bin): a few megabytes at most. */
const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

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
  const text = await file.text();
  if (!looksLikeModel(text)) return false;
  const s = useEditor.getState();
  const result = importModel(text, file.name.replace(/\.json$/i, ''));
  if (!result.doc) {
    s.toast({
      kind: 'error',
      title: `Could not import ${quoted(file.name)}; your graph is unchanged`,
      lines: result.problems.slice(0, 8).map((p) => `Layer "${quoted(p.layer)}"${p.className ? ` (${quoted(p.className)})` : ''}: ${quoted(p.reason, 300)}.`),
    });
    return true;
  }
  s.commit(result.doc, { select: [] });
  s.closeBlock();
  s.requestFit();
  s.toast({
    kind: result.notes.length ? 'error' : 'info',
    title: `Imported ${quoted(file.name)} as a graph of ${result.doc.nodes.length} nodes.${
      result.weightNames.length ? ' Its weights load by name: Train tab, Import weights with model.json and weights.bin.' : ''
    } Undo with Ctrl+Z.`,
    lines: result.notes.slice(0, 4).map((n) => quoted(n, 300)),
  });
  return true;
}
