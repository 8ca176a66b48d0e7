import { zipSync } from 'fflate';

/** The arrays an .npz may hold here: float32 values or uint8 labels, with their shape. */
export interface NpyArray {
  data: Float32Array | Uint8Array;
  shape: number[];
}

/**
 * One array in NumPy's .npy format (version 1.0): the magic string, a little-endian header length,
 * a Python-literal header padded with spaces so the data starts at a multiple of 64 bytes, then the
 * raw little-endian values.
 */
export function npy({ data, shape }: NpyArray): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`An array of ${data.length} values cannot have shape (${shape.join(', ')}).`);
  const descr = data instanceof Float32Array ? '<f4' : '|u1';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY, version 1.0
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  // Typed arrays are little-endian on every platform Node runs on.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** An .npz: a zip of `<name>.npy` files, as numpy.savez writes (stored, not compressed). */
export function npz(arrays: Record<string, NpyArray>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(arrays).map(([name, a]) => [`${name}.npy`, [npy(a), { level: 0 }]])));
}
