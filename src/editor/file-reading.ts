/**
 * Reading the user's files: a graph document, a CSV, a folder or .zip of images. Each function
 * reads, parses and validates, reporting progress in words; they run in the file worker
 * (file-reader.worker.ts) so that a 20,000-node graph, a 50 MB CSV or a hostile archive never
 * freezes the page, and they take plain Blobs so that they are tested in Node too.
 */
import { loadGraph } from '../compiler/load-graph';
import { MAX_DOCUMENT_BYTES } from '../document/limits';
import { tooLarge, type LoadResult } from '../document/load';
import { csvColumns, parseCsv } from '../runtime/data/csv';
import { DataError, type Dataset } from '../runtime/data/dataset';
import { groupByClass, imagesToDataset, listZip, type ImageDecoder, type ImageFile } from '../runtime/data/image-folder';
import { formatBytes } from '../document/limits';

export interface Progress {
  /** What is happening, in words ("Reading big.csv: 12 of 50 MB"). */
  message: string;
  /** 0 to 1, when known. */
  fraction?: number;
}
export type OnProgress = (progress: Progress) => void;

/**
 * The largest CSV read. Reading one takes about five times its size at the peak (a 50 MB file:
 * 245 MB, measured in Chromium), so 256 MB stays near a gigabyte and a half.
 */
export const MAX_CSV_BYTES = 256 * 1024 * 1024;

/** Reads a Blob as UTF-8 text in chunks, reporting the bytes read. */
export async function readText(file: Blob, name: string, onProgress: OnProgress): Promise<string> {
  const total = file.size;
  const reader = file.stream().getReader();
  const decoder = new TextDecoder('utf-8');
  const parts: string[] = [];
  let read = 0;
  let reported = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    read += value.length;
    parts.push(decoder.decode(value, { stream: true }));
    if (read - reported > total / 50 || read === total) {
      reported = read;
      onProgress({ message: `Reading ${name}: ${formatBytes(read)} of ${formatBytes(total)}`, fraction: total ? (0.5 * read) / total : 0 });
    }
  }
  parts.push(decoder.decode());
  return parts.join('');
}

/** A graph document: refused unread when over the size limit, then parse → migrate → validate. */
export async function readDocument(file: Blob, name: string, onProgress: OnProgress): Promise<LoadResult> {
  if (file.size > MAX_DOCUMENT_BYTES) return { doc: null, diagnostics: [tooLarge(file.size)] };
  const text = await readText(file, name, onProgress);
  onProgress({ message: `Checking ${name}`, fraction: 0.6 });
  return loadGraph(text);
}

export interface CsvResult {
  /** The dataset, or why the file cannot be used. */
  dataset?: Dataset;
  error?: string;
  columns: string[];
  label?: string;
}

/** A CSV as a dataset (label: the last column unless named). Never throws: problems come back as `error`. */
export async function readCsv(file: Blob, name: string, label: string | undefined, onProgress: OnProgress): Promise<CsvResult> {
  if (file.size > MAX_CSV_BYTES) {
    return {
      columns: [],
      error: `${name} is ${formatBytes(file.size)}; Patchbay reads CSV files of up to ${formatBytes(MAX_CSV_BYTES)}. Use a sample of the rows.`,
    };
  }
  let text: string;
  try {
    text = await readText(file, name, onProgress);
  } catch (err) {
    return { columns: [], error: `${name} could not be read: ${err instanceof Error ? err.message : String(err)}` };
  }
  const columns = csvColumns(text);
  const chosen = label ?? columns[columns.length - 1];
  try {
    const dataset = parseCsv(text, {
      name,
      label,
      onProgress: (fraction) => onProgress({ message: `Parsing ${name}: ${Math.round(fraction * 100)} %`, fraction: 0.5 + fraction / 2 }),
    });
    return { dataset, columns, label: chosen };
  } catch (err) {
    return { columns, label: chosen, error: err instanceof Error ? err.message : String(err) };
  }
}

/** A .zip (one file named *.zip) or the files of a picked folder, each with its path in the folder. */
export type ImagePick = { zip: Blob; name: string } | { files: Array<{ path: string; file: Blob }>; name: string };

export interface ImagesResult {
  dataset?: Dataset;
  error?: string;
  /** Files left out (not images, or outside the class folders). */
  skipped: number;
}

/**
 * Images by class folder, decoded at `shape` ([height, width, 1 or 3]). A .zip is read from its
 * table of contents and one entry at a time (zip-reader.ts), so files that are not images are
 * never inflated, and the limits in IMAGE_LIMITS are checked before any decoding.
 */
export async function readImages(pick: ImagePick, shape: number[], decode: ImageDecoder, onProgress: OnProgress): Promise<ImagesResult> {
  let skipped = 0;
  try {
    onProgress({ message: `Reading ${pick.name}` });
    const list: ImageFile[] =
      'zip' in pick
        ? await listZip(pick.zip, pick.name)
        : pick.files.map(({ path, file }) => ({ path, size: file.size, bytes: async () => new Uint8Array(await file.arrayBuffer()) }));
    const groups = groupByClass(list, pick.name);
    skipped = groups.skipped.length;
    const dataset = await imagesToDataset(groups, shape, decode, {
      onProgress: (done, total) =>
        onProgress({ message: `Decoding images: ${done.toLocaleString('en')} of ${total.toLocaleString('en')}`, fraction: done / total }),
    });
    return { dataset, skipped };
  } catch (err) {
    if (!(err instanceof DataError)) console.warn('Reading images failed', err);
    return { skipped, error: err instanceof Error ? err.message : String(err) };
  }
}
