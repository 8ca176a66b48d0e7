/**
 * The page's side of the file worker: `readOffThread` sends a file to file-reader.worker.ts and
 * resolves with what file-reading.ts made of it, reporting progress on the way. The page only
 * receives the result (a validated document, a dataset whose buffers are transferred, not copied),
 * so it stays responsive while a big or hostile file is read. Where no worker can start, the same
 * functions run in the page.
 */
import type { LoadResult } from '../document/load';
import type { CsvResult, ImagePick, ImagesResult, OnProgress, Progress } from './file-reading';

export type FileJob =
  | { kind: 'document'; file: Blob; name: string }
  | { kind: 'csv'; file: Blob; name: string; label?: string }
  | { kind: 'images'; pick: ImagePick; shape: number[] };

export interface FileJobResults {
  document: LoadResult;
  csv: CsvResult;
  images: ImagesResult;
}

export type FileRequest = FileJob & { id: number };
export type FileReply =
  | { id: number; type: 'progress'; progress: Progress }
  | { id: number; type: 'done'; result: FileJobResults[FileJob['kind']] }
  | { id: number; type: 'failed'; message: string };

interface Pending {
  resolve: (result: never) => void;
  reject: (err: Error) => void;
  onProgress: OnProgress;
}

let worker: Worker | null | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

function startWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    worker = new Worker(new URL('./file-reader.worker.ts', import.meta.url), { type: 'module', name: 'patchbay-files' });
  } catch (err) {
    console.warn('No file worker; files are read in the page', err);
    worker = null;
    return null;
  }
  worker.onmessage = (e: MessageEvent<FileReply>) => {
    const reply = e.data;
    const job = pending.get(reply.id);
    if (!job) return;
    if (reply.type === 'progress') {
      job.onProgress(reply.progress);
      return;
    }
    pending.delete(reply.id);
    if (reply.type === 'done') job.resolve(reply.result as never);
    else job.reject(new Error(reply.message));
  };
  // The worker died (out of memory, most likely): fail what it was doing, start afresh next time.
  worker.onerror = (e) => {
    e.preventDefault();
    const reason = e.message ? ` (${e.message})` : '';
    for (const job of pending.values())
      job.reject(new Error(`The file could not be read: the reader stopped${reason}. The file may be too large for this tab.`));
    pending.clear();
    worker?.terminate();
    worker = undefined;
  };
  return worker;
}

/** Reads a file in the worker; rejects only when the worker itself fails (a bad file resolves with its diagnostics or error). */
export function readOffThread<K extends FileJob['kind']>(job: Extract<FileJob, { kind: K }>, onProgress: OnProgress = () => {}): Promise<FileJobResults[K]> {
  const w = startWorker();
  // The parsers load only for this fallback (file-job.ts); the worker has its own copy.
  if (!w) return import('./file-job').then(({ runFileJob }) => runFileJob(job, onProgress) as Promise<FileJobResults[K]>);
  const id = nextId++;
  return new Promise<FileJobResults[K]>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (r: never) => void, reject, onProgress });
    w.postMessage({ ...job, id } satisfies FileRequest);
  });
}
