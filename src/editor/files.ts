/** Save, open, drag-and-drop and autosave of the document. */
import { get as idbGet, set as idbSet } from 'idb-keyval';
import { loadGraph } from '../compiler/load-graph';
import { formatDiagnostic } from '../document/diagnostics';
import { saveDocument, type LoadResult } from '../document/load';
import { readOffThread } from './file-reader';
import { useOpening } from './OpenProgress';
import type { GraphDocument } from '../document/schema';
import { useEditor } from './store';

export function downloadText(filename: string, text: string, type = 'text/plain') {
  downloadBlob(filename, new Blob([text], { type }));
}

/** Offers a file to the user as a download. */
export function downloadBlob(filename: string, blob: Blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const fileBase = (doc: GraphDocument) =>
  doc.name
    .trim()
    .replace(/[\\/:*?"<>|]+/g, '-')
    .replace(/\s+/g, '-') || 'graph';

export function saveToFile() {
  const doc = useEditor.getState().doc;
  downloadText(`${fileBase(doc)}.json`, saveDocument(doc), 'application/json');
}

/** Loads a file's text as one undo step; a bad file leaves the current graph alone and says why. */
export function openText(text: string, fileName: string) {
  openLoaded(loadGraph(text), fileName);
}

function openLoaded({ doc, diagnostics }: LoadResult, fileName: string) {
  const s = useEditor.getState();
  if (!doc) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    s.toast({
      kind: 'error',
      title: `Could not open ${fileName}; your graph is unchanged`,
      lines: (errors.length ? errors : diagnostics).slice(0, 6).map(formatDiagnostic),
    });
    return;
  }
  s.commit(doc, { select: [] });
  s.closeBlock();
  s.requestFit();
  const notes = diagnostics.filter((d) => d.severity !== 'info');
  s.toast({
    kind: notes.length ? 'error' : 'info',
    title: `Opened ${fileName}${notes.length ? ` with ${notes.length} warning${notes.length === 1 ? '' : 's'}` : ''}. Undo with Ctrl+Z.`,
    lines: notes.slice(0, 4).map(formatDiagnostic),
  });
}

/**
 * Opens a graph file: read, parsed and validated in the file worker (a 20,000-node graph or a
 * hostile file never freezes the page), with a progress line on the canvas meanwhile.
 */
export async function openFile(file: File) {
  const name = file.name;
  useOpening.setState({ opening: { name, message: 'Reading', fraction: 0 } });
  try {
    const result = await readOffThread({ kind: 'document', file, name }, (p) => useOpening.setState({ opening: { name, ...p } }));
    // Not a Patchbay document: a tfjs or Keras model.json is imported as a graph instead.
    if (!result.doc && (await (await import('./model-import')).openModelJson(file))) return;
    openLoaded(result, name);
  } catch (err) {
    useEditor
      .getState()
      .toast({ kind: 'error', title: `Could not open ${name}; your graph is unchanged`, lines: [err instanceof Error ? err.message : String(err)] });
  } finally {
    useOpening.setState({ opening: null });
  }
}

/**
 * Opens what was picked or dropped: one graph file (or a model.json alone) as before; a model.json
 * with its weight files, or a .zip of them, is imported with its weights.
 */
export async function openFiles(files: File[]) {
  if (files.length === 0) return;
  if (files.length === 1 && !/\.zip$/i.test(files[0]!.name)) return openFile(files[0]!);
  await (await import('./model-import')).openModelFiles(files);
}

/** Autosaves larger than this are restored in the file worker, smaller ones at once. */
const RESTORE_IN_WORKER_ABOVE = 256 * 1024;

const KEY = 'patchbay:autosave';

/** Restores the autosaved graph, then writes every change back (debounced). */
export async function startAutosave(): Promise<void> {
  try {
    const saved = await idbGet<string>(KEY);
    if (saved) {
      const { doc, diagnostics } =
        saved.length > RESTORE_IN_WORKER_ABOVE
          ? await readOffThread({ kind: 'document', file: new Blob([saved]), name: 'the autosaved graph' })
          : loadGraph(saved);
      if (doc) {
        useEditor.getState().reset(doc);
        useEditor.getState().requestFit();
      } else {
        // Said, not swallowed: the next edit autosaves over it.
        useEditor.getState().toast({
          kind: 'error',
          title: 'The graph from your last visit could not be restored',
          lines: diagnostics
            .filter((d) => d.severity === 'error')
            .slice(0, 3)
            .map(formatDiagnostic),
        });
      }
    }
  } catch (err) {
    console.warn('Autosave could not be read', err);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastSaved: GraphDocument | null = useEditor.getState().doc;
  const flush = () => {
    const doc = useEditor.getState().doc;
    if (doc === lastSaved) return;
    lastSaved = doc;
    idbSet(KEY, saveDocument(doc)).catch((err) => console.warn('Autosave failed', err));
  };
  useEditor.subscribe((s, prev) => {
    if (s.doc === prev.doc) return;
    clearTimeout(timer);
    timer = setTimeout(flush, 250);
  });
  addEventListener('pagehide', flush);
}
