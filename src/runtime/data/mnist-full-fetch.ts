/**
 * MNIST's own 60,000 / 10,000 split in the browser: the four idx files, shipped gzip-compressed
 * (11 MB instead of 55; scripts/vite-plugin-mnist-full.ts), fetched only when the Train tab's
 * `mnist-full` choice is used, decompressed as they stream in and read with the same readIdx /
 * mnistFromIdx as the command line. Each file is written once into a buffer of its exact size
 * (known from its idx header), so the bytes are never held twice; they are dropped once parsed.
 */
import { DataError, type Dataset } from './dataset';
import { MNIST_IDX_FILES } from './mnist-full-files';
import { mnistFromIdx, readIdx, type MnistIdxFiles } from './mnist-idx';

export { MNIST_FULL_FOLDER } from './mnist-full-files';

/**
 * How far the download is: bytes over the wire (`total` is the four files' sizes once all four
 * have answered with one; null until then, or when a server sends none, and then `received` counts
 * the files' own bytes, not comparable with a total).
 * `phase` is 'parse' while the digits are read after the last byte.
 */
export interface DownloadProgress {
  phase: 'download' | 'parse';
  received: number;
  total: number | null;
}

/** The largest idx payload accepted: MNIST's training images are 47 MB; a header saying more is not MNIST. */
const MAX_IDX_BYTES = 64 * 1024 * 1024;

/**
 * Reads one idx file from a stream of its bytes into a buffer of its exact size. `onBytes(read,
 * size)` is called as they arrive (size once the header is in). A stream that ends early or runs
 * past what its header says is refused in words.
 */
export async function collectIdx(
  stream: ReadableStream<Uint8Array>,
  name: string,
  onBytes: (read: number, size: number | null) => void = () => {},
): Promise<Uint8Array> {
  const reader = stream.getReader();
  let head = new Uint8Array(0);
  let out: Uint8Array | null = null;
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!out) {
      // Until the header is whole, keep the first bytes; then the size is known and the buffer made.
      const joined = new Uint8Array(head.length + value.length);
      joined.set(head);
      joined.set(value, head.length);
      head = joined;
      const size = idxSize(head, name);
      if (size === null) continue;
      if (head.length > size) {
        await reader.cancel();
        throw new DataError(`${name} holds more bytes than its header says (${size}).`);
      }
      out = new Uint8Array(size);
      out.set(head);
      read = head.length;
      head = new Uint8Array(0);
    } else {
      if (read + value.length > out.length) {
        await reader.cancel();
        throw new DataError(`${name} holds more bytes than its header says (${out.length}).`);
      }
      out.set(value, read);
      read += value.length;
    }
    onBytes(read, out.length);
  }
  if (!out) {
    // Too short for a header: readIdx says what is wrong with it.
    readIdx(head, name, head[3] ?? 1);
    throw new DataError(`${name} is truncated (its header is incomplete).`);
  }
  if (read < out.length) throw new DataError(`${name} is truncated: ${read.toLocaleString('en-US')} of ${out.length.toLocaleString('en-US')} bytes arrived.`);
  return out;
}

/** The whole file's size from its first bytes, null until the header is in; a bad magic number is refused at once. */
function idxSize(head: Uint8Array, name: string): number | null {
  if (head.length < 4) return null;
  if (head[0] !== 0 || head[1] !== 0) throw new DataError(`${name} is not an MNIST idx file (bad magic number).`);
  const dimensions = head[3]!;
  if (dimensions < 1 || dimensions > 4) throw new DataError(`${name} has ${dimensions} dimensions; MNIST's files have 1 or 3.`);
  const header = 4 + 4 * dimensions;
  if (head.length < header) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let size = 1;
  for (let i = 0; i < dimensions; i++) size *= view.getUint32(4 + 4 * i, false);
  if (size > MAX_IDX_BYTES) throw new DataError(`${name} says it holds ${size.toLocaleString('en-US')} bytes; MNIST's largest file holds 47,040,000.`);
  return header + size;
}

/**
 * The file's bytes as a stream, decompressed when they are still gzip: a server that sends the .gz
 * with `Content-Encoding: gzip` (vite preview, many static hosts) has the browser decompress it
 * already; one that sends it as it is stored (application/gzip) leaves that to DecompressionStream.
 * Told apart by gzip's magic bytes (1f 8b; an idx file starts 00 00).
 */
export async function idxStream(body: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const reader = body.getReader();
  let first = new Uint8Array(0);
  let ended = false;
  while (first.length < 2) {
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    const joined = new Uint8Array(first.length + value.length);
    joined.set(first);
    joined.set(value, first.length);
    first = joined;
  }
  const replayed = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length) controller.enqueue(first);
      if (ended) controller.close();
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const gzip = first[0] === 0x1f && first[1] === 0x8b;
  return gzip ? replayed.pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>) : replayed;
}

/** The words every failed download ends with: what a person can do about it. */
const CHECK = 'check the connection, then try again';

/**
 * Fetches, decompresses and reads MNIST's four files from `folder` (a URL ending in /). Progress is
 * reported as bytes over the wire, each file's share estimated from how much of it has been read.
 */
export async function fetchMnistFull(folder: URL, onProgress: (p: DownloadProgress) => void = () => {}, fetchFile: typeof fetch = fetch): Promise<Dataset> {
  const keys = Object.keys(MNIST_IDX_FILES) as Array<keyof MnistIdxFiles>;
  const wire = new Map<string, number | null>();
  const fraction = new Map<string, number>();
  const readBytes = new Map<string, number>();
  const report = () => {
    const sizes = keys.map((k) => wire.get(k));
    const known = sizes.every((s): s is number => typeof s === 'number');
    if (known)
      onProgress({ phase: 'download', total: sizes.reduce((a, b) => a + b, 0), received: keys.reduce((a, k) => a + (fraction.get(k) ?? 0) * wire.get(k)!, 0) });
    else onProgress({ phase: 'download', total: null, received: keys.reduce((a, k) => a + (readBytes.get(k) ?? 0), 0) });
  };
  // One file failing stops the others: a half-downloaded set is of no use.
  const abort = new AbortController();
  const one = async (key: keyof MnistIdxFiles): Promise<Uint8Array> => {
    const name = MNIST_IDX_FILES[key];
    const url = new URL(`${name}.gz`, folder);
    let response: Response;
    try {
      response = await fetchFile(url, { signal: abort.signal });
    } catch (err) {
      throw new DataError(`MNIST's full set could not be loaded: ${CHECK}. (${name}.gz: ${err instanceof Error ? err.message : String(err)})`);
    }
    if (!response.ok || !response.body) throw new DataError(`MNIST's full set could not be loaded: ${CHECK}. (${name}.gz answered HTTP ${response.status}.)`);
    const length = Number(response.headers.get('Content-Length'));
    wire.set(key, Number.isFinite(length) && length > 0 ? length : null);
    try {
      return await collectIdx(await idxStream(response.body), name, (read, size) => {
        readBytes.set(key, read);
        if (size) fraction.set(key, read / size);
        report();
      });
    } catch (err) {
      if (err instanceof DataError) throw err;
      // A connection dropped mid-file, or bytes that are not gzip after all.
      throw new DataError(`MNIST's full set could not be loaded: ${CHECK}. (${name}.gz: ${err instanceof Error ? err.message : String(err)})`);
    }
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    keys.map((key) =>
      one(key).catch((err: unknown) => {
        abort.abort();
        throw err;
      }),
    ),
  );
  onProgress({ phase: 'parse', received: 0, total: null });
  // The byte buffers go out of scope with this call: only the dataset's float32 pixels stay.
  return mnistFromIdx({ trainImages: trainImages!, trainLabels: trainLabels!, testImages: testImages!, testLabels: testLabels! });
}
