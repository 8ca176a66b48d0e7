/// <reference lib="webworker" />
/**
 * The file worker: reads, parses and validates the user's files (file-reading.ts) away from the
 * page's main thread. Progress is sent at most every 100 ms; a dataset's buffers are transferred.
 */
import type { Dataset } from '../runtime/data/dataset';
import type { FileReply, FileRequest } from './file-reader';
import { runFileJob } from './file-job';
import type { Progress } from './file-reading';

declare const self: DedicatedWorkerGlobalScope;

const post = (reply: FileReply, transfer: Transferable[] = []) => self.postMessage(reply, transfer);

/** The distinct buffers of a dataset (splits may share one). */
function buffersOf(dataset: Dataset | undefined): Transferable[] {
  if (!dataset) return [];
  const all = [dataset.train.x, dataset.train.y, dataset.test.x, dataset.test.y].map((a) => a.buffer);
  return [...new Set(all)].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

self.onmessage = async (e: MessageEvent<FileRequest>) => {
  const { id, ...job } = e.data;
  let last = 0;
  const onProgress = (progress: Progress) => {
    const now = performance.now();
    if (now - last < 100 && progress.fraction !== 1) return;
    last = now;
    post({ id, type: 'progress', progress });
  };
  try {
    const result = await runFileJob(job, onProgress);
    post({ id, type: 'done', result }, 'dataset' in result ? buffersOf(result.dataset) : []);
  } catch (err) {
    post({ id, type: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
};
