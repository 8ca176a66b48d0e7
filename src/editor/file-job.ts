/**
 * Reading one file job: in the file worker, or in the page when no worker can start. Its own module
 * so that the page loads the parsers (CSV, zip, images) only in that fallback, not at start.
 */
import { decodeImageInBrowser } from '../runtime/data/image-folder';
import type { FileJob, FileJobResults } from './file-reader';
import { readCsv, readDocument, readImages, type OnProgress } from './file-reading';

/** Does the job where it is called: in the worker, or in the page when no worker can start. */
export function runFileJob(job: FileJob, onProgress: OnProgress): Promise<FileJobResults[FileJob['kind']]> {
  switch (job.kind) {
    case 'document':
      return readDocument(job.file, job.name, onProgress);
    case 'csv':
      return readCsv(job.file, job.name, job.label, onProgress);
    case 'images':
      return readImages(job.pick, job.shape, decodeImageInBrowser, onProgress);
  }
}
