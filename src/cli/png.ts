import { deflateSync } from 'node:zlib';

/**
 * A minimal PNG encoder (8-bit greyscale or RGB, no interlace) on Node's zlib, for the pictures the
 * command line writes (sample grids). Pixels are row-major bytes, `channels` per pixel.
 */
export function encodePng(width: number, height: number, channels: 1 | 3, pixels: Uint8Array): Buffer {
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let r = 0; r < height; r++) {
    raw[r * (stride + 1)] = 0; // filter: none
    raw.set(pixels.subarray(r * stride, (r + 1) * stride), r * (stride + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = channels === 1 ? 0 : 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** N images [N, H, W, C] with values in [0, 1] as one grid picture (a 1-pixel gap between cells). */
export function imageGrid(
  data: Float32Array,
  [n, h, w, c]: [number, number, number, number],
  columns = Math.ceil(Math.sqrt(n)),
): { width: number; height: number; channels: 1 | 3; pixels: Uint8Array } {
  const rows = Math.ceil(n / columns);
  const width = columns * (w + 1) + 1;
  const height = rows * (h + 1) + 1;
  const channels: 1 | 3 = c === 3 ? 3 : 1;
  const pixels = new Uint8Array(width * height * channels).fill(40);
  for (let i = 0; i < n; i++) {
    const top = 1 + Math.floor(i / columns) * (h + 1);
    const left = 1 + (i % columns) * (w + 1);
    for (let r = 0; r < h; r++)
      for (let q = 0; q < w; q++)
        for (let k = 0; k < channels; k++) {
          const v = data[((i * h + r) * w + q) * c + k]!;
          pixels[((top + r) * width + left + q) * channels + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
  }
  return { width, height, channels, pixels };
}

/** 2-D points as a scatter picture (white dots on dark grey), framed around the points. */
export function scatterPicture(points: Float32Array, size = 320): { width: number; height: number; channels: 1 | 3; pixels: Uint8Array } {
  const n = points.length / 2;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const [x, y] = [points[2 * i]!, points[2 * i + 1]!];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
  }
  const span = Math.max(x1 - x0, y1 - y0, 1e-6) * 1.1;
  const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
  const pixels = new Uint8Array(size * size).fill(30);
  for (let i = 0; i < n; i++) {
    const q = Math.round(((points[2 * i]! - cx) / span + 0.5) * (size - 1));
    const r = Math.round((0.5 - (points[2 * i + 1]! - cy) / span) * (size - 1));
    for (const [dr, dq] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ] as const) {
      if (r + dr >= 0 && r + dr < size && q + dq >= 0 && q + dq < size) pixels[(r + dr) * size + q + dq] = 235;
    }
  }
  return { width: size, height: size, channels: 1, pixels };
}
