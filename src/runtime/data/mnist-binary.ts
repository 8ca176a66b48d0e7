import type { MnistDigits } from './mnist';

/**
 * A compact binary form of the `mnist` package's digits for the browser (7.8 MB instead of 41 MB of
 * JSON): "PBMN", a format version, the number of digits per class, then one byte per pixel (grey
 * level × 255), class by class. The package stores MNIST's bytes as b / 255 rounded to 3 decimals,
 * so the byte comes back exactly, and decoding rounds b / 255 to 3 decimals again: the page trains
 * on the very numbers the CLI reads from the package, and a run in the page repeats the CLI's run
 * (bytes / 255 alone moved each pixel by up to 0.0005, and a 32-epoch run ended 0.25–0.4 points off).
 */
const MAGIC = 0x4e4d4250; // "PBMN" little-endian
const VERSION = 1;
const PIXELS = 28 * 28;
/** The `mnist` package's grey level for each byte: b / 255 rounded to 3 decimals. */
const PACKAGE_GREY = Array.from({ length: 256 }, (_, b) => Math.round((b / 255) * 1000) / 1000);

export function encodeMnist(digits: MnistDigits): Uint8Array {
  const counts = digits.map((d) => Math.floor(d.length / PIXELS));
  const total = counts.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(8 + 4 * digits.length + total * PIXELS);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, VERSION, true);
  view.setUint16(6, digits.length, true);
  counts.forEach((c, i) => view.setUint32(8 + 4 * i, c, true));
  let offset = 8 + 4 * digits.length;
  digits.forEach((d, i) => {
    for (let p = 0; p < counts[i]! * PIXELS; p++) out[offset + p] = Math.round(d[p]! * 255);
    offset += counts[i]! * PIXELS;
  });
  return out;
}

export function decodeMnist(buffer: ArrayBuffer): MnistDigits {
  const view = new DataView(buffer);
  if (buffer.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error("The MNIST data file is not in Patchbay's format (bad header).");
  if (view.getUint16(4, true) !== VERSION) throw new Error(`The MNIST data file has format version ${view.getUint16(4, true)}; expected ${VERSION}.`);
  const classes = view.getUint16(6, true);
  const bytes = new Uint8Array(buffer);
  let offset = 8 + 4 * classes;
  const digits: MnistDigits = [];
  for (let i = 0; i < classes; i++) {
    const n = view.getUint32(8 + 4 * i, true) * PIXELS;
    if (offset + n > bytes.length) throw new Error('The MNIST data file is truncated.');
    const values = new Float32Array(n);
    for (let p = 0; p < n; p++) values[p] = PACKAGE_GREY[bytes[offset + p]!]!;
    digits.push(values);
    offset += n;
  }
  return digits;
}
