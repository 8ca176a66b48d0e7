/**
 * Hostile and huge files, generated on the fly (nothing large is committed): zip bombs, deeply
 * nested documents, graphs of tens of thousands of nodes and big CSVs. Used by the unit tests, the
 * end-to-end test of hostile inputs and bench/hostile-inputs.bench.ts.
 */
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import { DOCUMENT_VERSION, type GraphDocument, type GraphEdge, type GraphNode } from '../../src/document/schema';

export interface BombEntry {
  name: string;
  /** The real content, or `zeros` bytes of zeros (deflated at ~1000:1, so 1 GB costs ~1 MB). */
  data?: Uint8Array;
  zeros?: number;
  /** The uncompressed size written in the headers; the real one unless the archive lies. */
  declaredSize?: number;
  /** Store without compression (method 0) instead of deflate. */
  stored?: boolean;
}

const MiB = 1024 * 1024;

/**
 * Raw deflate of `n` zeros without holding them: one 1 MiB block compressed with a full flush (so it
 * stands alone, byte-aligned, non-final) is repeated, then an empty final block ends the stream.
 */
function deflatedZeros(n: number): Uint8Array {
  const parts: Buffer[] = [];
  const whole = Math.floor(n / MiB);
  if (whole) {
    const block = deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
    for (let i = 0; i < whole; i++) parts.push(block);
  }
  parts.push(deflateRawSync(Buffer.alloc(n - whole * MiB), { level: 9 }));
  return Buffer.concat(parts);
}

/**
 * A zip archive written by hand, so that it can lie about sizes the way a zip bomb does. CRCs are
 * left at zero: readers of untrusted archives must cope with that too.
 */
export function craftZip(entries: BombEntry[]): Uint8Array<ArrayBuffer> {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const realSize = e.data ? e.data.length : (e.zeros ?? 0);
    const body: Buffer = e.stored ? Buffer.from(e.data ?? new Uint8Array(realSize)) : e.data ? deflateRawSync(e.data) : Buffer.from(deflatedZeros(realSize));
    const size = e.declaredSize ?? realSize;
    const method = e.stored ? 0 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}

/** A valid empty document whose `meta.a` holds `depth` nested lists. */
export function deeplyNestedDocument(depth: number): string {
  return `{"format":"patchbay.graph","version":1,"name":"Deep","nodes":[],"edges":[],"meta":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

/** A valid chain of `size` nodes (Input → Dense/Activation/LayerNormalization…), laid out on a grid. */
export function hugeChainDocument(size: number): GraphDocument {
  const nodes: GraphNode[] = [{ id: 'n0', type: 'Input', params: { shape: [64] }, position: { x: 0, y: 0 } }];
  const edges: GraphEdge[] = [];
  const kinds: Array<[string, Record<string, unknown>]> = [
    ['Dense', { units: 64 }],
    ['Activation', { activation: 'gelu' }],
    ['LayerNormalization', {}],
  ];
  for (let i = 1; i < size; i++) {
    const [type, params] = kinds[i % kinds.length]!;
    nodes.push({ id: `n${i}`, type, params: { ...params }, position: { x: (i % 100) * 260, y: Math.floor(i / 100) * 140 } });
    edges.push({ id: `e${i}`, source: `n${i - 1}`, sourcePort: 'out', target: `n${i}`, targetPort: 'in' });
  }
  return { format: 'patchbay.graph', version: DOCUMENT_VERSION, name: `Chain of ${size}`, nodeTypes: {}, nodes, edges, blocks: [], networks: [], meta: {} };
}

/** A numeric CSV of about `bytes` bytes: 8 feature columns and a label in {a, b, c}. */
export function bigCsv(bytes: number): string {
  const header = 'f1,f2,f3,f4,f5,f6,f7,f8,label\n';
  const rows: string[] = [header];
  let length = header.length;
  for (let r = 0; length < bytes; r++) {
    const row = `${Array.from({ length: 8 }, (_, c) => ((r * 31 + c * 17) % 1000) / 100).join(',')},${'abc'[r % 3]}\n`;
    rows.push(row);
    length += row.length;
  }
  return rows.join('');
}

/** A tiny solid-colour RGB PNG (zlib from Node, CRC-32 by hand), as a real image inside archives. */
export function tinyPng(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(rgb, y * (1 + width * 3) + 1 + x * 3);
  return new Uint8Array(
    Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]),
  );
}

/** A PNG whose header claims `width` × `height` (its pixel data is a few bytes: a decompression bomb's header, never to be decoded). */
export function pngClaiming(width: number, height: number): Uint8Array {
  const png = tinyPng(1, 1, [0, 0, 0]).slice();
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return png;
}
