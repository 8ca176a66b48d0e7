import { Inflate } from 'fflate';
import { formatBytes } from '../../document/limits';
import { DataError } from './dataset';

/**
 * A zip reader for untrusted archives. It reads the central directory (the table of contents at
 * the end of the file) and nothing else up front, so an archive is listed without inflating any
 * entry; each entry is then read alone, on demand, from a byte range of the file (a Blob slice in
 * the browser), and inflated in small pieces that stop as soon as it outgrows the size its header
 * declared. So a zip bomb costs what its honest headers say, and a lying one is caught within a
 * few megabytes. Memory: the central directory plus one entry at a time.
 */

/** Where the archive's bytes come from: a File / Blob in the browser, a buffer in tests. */
export interface ByteSource {
  size: number;
  read: (offset: number, length: number) => Promise<Uint8Array>;
}

export const blobSource = (blob: Blob): ByteSource => ({
  size: blob.size,
  read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
});

export const bytesSource = (bytes: Uint8Array): ByteSource => ({
  size: bytes.length,
  read: async (offset, length) => bytes.subarray(offset, offset + length),
});

export interface ZipEntry {
  /** The path inside the archive, with forward slashes. */
  name: string;
  /** 0 stored, 8 deflated; others are refused when read. */
  method: number;
  compressedSize: number;
  /** The uncompressed size the header declares (a hostile archive may lie; reading checks). */
  size: number;
  encrypted: boolean;
  /** Where the entry's local header starts. */
  offset: number;
}

/** The most entries an archive's table of contents may list (its own size is then about 10 MB). */
export const MAX_ZIP_ENTRIES = 200_000;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

const u16 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u32 = (b: Uint8Array, i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, i: number) => u32(b, i) + u32(b, i + 4) * 2 ** 32;

/** Lists an archive's entries from its central directory, without reading any entry's data. */
export async function readZipDirectory(source: ByteSource, name = 'the .zip file'): Promise<ZipEntry[]> {
  const broken = (why: string) => new DataError(`${name} could not be read as a zip archive (${why}).`);
  // The end record sits in the last 22 bytes, or before a comment of up to 65,535 bytes.
  const tailLength = Math.min(source.size, 22 + 0xffff);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (u32(tail, i) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) throw broken('it has no zip directory; is it really a .zip?');
  let count = u16(tail, end + 10);
  let cdSize = u32(tail, end + 12);
  let cdOffset = u32(tail, end + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // Zip64: the real numbers are in a record pointed to by a locator just before the end record.
    if (end < 20 || u32(tail, end - 20) !== ZIP64_LOCATOR) throw broken('its zip64 directory is missing');
    const record = await source.read(u64(tail, end - 20 + 8), 56);
    if (record.length < 56 || u32(record, 0) !== ZIP64_EOCD) throw broken('its zip64 directory is damaged');
    count = u64(record, 32);
    cdSize = u64(record, 40);
    cdOffset = u64(record, 48);
  }
  if (count > MAX_ZIP_ENTRIES) {
    throw new DataError(`${name} lists ${count.toLocaleString('en')} files; Patchbay reads archives of at most ${MAX_ZIP_ENTRIES.toLocaleString('en')} files.`);
  }
  // Each directory record is at least 46 bytes; a directory much larger than its count needs is damaged.
  if (cdOffset + cdSize > source.size || cdSize > count * (46 + 3 * 0xffff)) throw broken('its directory points outside the file');
  const cd = await source.read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  const names = new TextDecoder('utf-8');
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || u32(cd, p) !== CENTRAL) throw broken('its directory is damaged');
    const flags = u16(cd, p + 8);
    const nameLength = u16(cd, p + 28);
    const extraLength = u16(cd, p + 30);
    const commentLength = u16(cd, p + 32);
    let compressedSize = u32(cd, p + 20);
    let size = u32(cd, p + 24);
    let offset = u32(cd, p + 42);
    const extraStart = p + 46 + nameLength;
    // Zip64 extra field (id 1): 8-byte values for whichever of the three were 0xFFFFFFFF, in order.
    for (let e = extraStart; e + 4 <= extraStart + extraLength;) {
      const id = u16(cd, e);
      const length = u16(cd, e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(cd, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(cd, q);
          q += 8;
        }
        if (offset === 0xffffffff) offset = u64(cd, q);
      }
      e += 4 + length;
    }
    entries.push({
      name: names.decode(cd.subarray(p + 46, p + 46 + nameLength)).replace(/\\/g, '/'),
      method: u16(cd, p + 10),
      compressedSize,
      size,
      encrypted: (flags & 1) !== 0,
      offset,
    });
    p = extraStart + extraLength + commentLength;
  }
  return entries;
}

/** How much compressed data is handed to the inflater at a time: at deflate's ~1000:1, ≤ 16 MB out. */
const INFLATE_STEP = 16 * 1024;
/** How much of the file is read at a time. */
const READ_STEP = 256 * 1024;

/**
 * One entry's bytes. Refuses encrypted entries and compression methods other than stored and
 * deflate, and stops inflating the moment the output passes the size the header declared (the
 * caller has already accepted that size), so a lying entry cannot grow past it.
 */
export async function readZipEntry(source: ByteSource, entry: ZipEntry, name = 'the .zip file'): Promise<Uint8Array> {
  const where = `"${entry.name}" in ${name}`;
  if (entry.encrypted) throw new DataError(`${where} is encrypted; Patchbay cannot read password-protected archives.`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw new DataError(
      `${where} is compressed with method ${entry.method}, which Patchbay cannot read. Re-create the archive with ordinary zip (deflate) compression.`,
    );
  }
  const header = await source.read(entry.offset, 30);
  if (header.length < 30 || u32(header, 0) !== LOCAL) throw new DataError(`${where} is damaged (its header is missing).`);
  const start = entry.offset + 30 + u16(header, 26) + u16(header, 28);
  if (start + entry.compressedSize > source.size) throw new DataError(`${where} is damaged (it runs past the end of the file).`);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw new DataError(`${where} is damaged (its stored size does not match its declared size).`);
    return (await source.read(start, entry.size)).slice();
  }
  const out = new Uint8Array(entry.size);
  let written = 0;
  let ended = false;
  const inflater = new Inflate((chunk, final) => {
    if (written + chunk.length > entry.size) {
      throw new DataError(
        `${where} inflates to more than the ${formatBytes(entry.size)} its header declares; the archive is damaged or a zip bomb, so it was not read.`,
      );
    }
    out.set(chunk, written);
    written += chunk.length;
    if (final) ended = true;
  });
  try {
    for (let read = 0; read < entry.compressedSize && !ended; read += READ_STEP) {
      const piece = await source.read(start + read, Math.min(READ_STEP, entry.compressedSize - read));
      for (let i = 0; i < piece.length && !ended; i += INFLATE_STEP) {
        const last = read + i + INFLATE_STEP >= entry.compressedSize;
        inflater.push(piece.subarray(i, i + INFLATE_STEP), last);
      }
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${where} could not be inflated (${err instanceof Error ? err.message : String(err)}); the archive is damaged.`);
  }
  if (written !== entry.size) throw new DataError(`${where} is damaged: it holds ${formatBytes(written)}, but its header declares ${formatBytes(entry.size)}.`);
  return out;
}
