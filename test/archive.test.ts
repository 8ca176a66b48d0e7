/**
 * Archives of images from untrusted hands: zip bombs (honest and lying), too many images, too many
 * bytes, encrypted or exotic entries. Each is refused with a message that names the limit and what
 * the archive had, and nothing that is not an image is ever inflated.
 */
import { strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { groupByClass, IMAGE_LIMITS, imagesToDataset, listZip } from '../src/runtime/data/image-folder';
import { bytesSource, MAX_ZIP_ENTRIES, readZipDirectory, readZipEntry, type ByteSource } from '../src/runtime/data/zip-reader';
import { imageSize } from '../src/runtime/data/image-size';
import { craftZip, pngClaiming, tinyPng } from './helpers/hostile-files';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** A source that counts the bytes read from it, to prove what was (not) read. */
function countingSource(bytes: Uint8Array): ByteSource & { bytesRead: number } {
  const inner = bytesSource(bytes);
  const source = {
    size: inner.size,
    bytesRead: 0,
    read: async (offset: number, length: number) => {
      const out = await inner.read(offset, length);
      source.bytesRead += out.length;
      return out;
    },
  };
  return source;
}

describe('zip archives are read entry by entry', () => {
  it('lists a 1 GB archive from its directory and never inflates the entry that is not an image', async () => {
    const zip = craftZip([
      { name: 'pets/cats/1.png', data: strToU8('cat one') },
      { name: 'pets/dogs/1.png', data: strToU8('dog one') },
      { name: 'pets/weights.bin', zeros: GiB },
    ]);
    expect(zip.length).toBeLessThan(1.1 * MiB);
    const source = countingSource(zip);
    const files = await listZip(source, 'pets.zip');
    expect(files.map((f) => [f.path, f.size])).toEqual([
      ['pets/cats/1.png', 7],
      ['pets/dogs/1.png', 7],
      ['pets/weights.bin', GiB],
    ]);
    const groups = groupByClass(files, 'pets.zip');
    expect(groups.skipped).toEqual(['pets/weights.bin']);
    expect(new TextDecoder().decode(await groups.files[0]![0]!.bytes())).toBe('cat one');
    expect(new TextDecoder().decode(await groups.files[1]![0]!.bytes())).toBe('dog one');
    // The directory and the two small entries: well under the ~1 MB of deflated zeros.
    expect(source.bytesRead).toBeLessThan(100 * 1024);
  });

  it('stops inflating an entry that lies about its size, after reading a fraction of it', async () => {
    const zip = craftZip([{ name: 'cats/1.png', zeros: GiB, declaredSize: 1000 }]);
    const source = countingSource(zip);
    const [entry] = await readZipDirectory(source, 'bomb.zip');
    await expect(readZipEntry(source, entry!, 'bomb.zip')).rejects.toThrow(
      '"cats/1.png" in bomb.zip inflates to more than the 1000 bytes its header declares; the archive is damaged or a zip bomb',
    );
    // The directory (the last 64 KB) and one 256 KB read of the ~1 MB of deflated data.
    expect(source.bytesRead).toBeLessThan(400 * 1024);
  });

  it('refuses one image whose declared size is over the limit, naming it, before inflating anything', async () => {
    const zip = craftZip([
      { name: 'x/cats/1.png', data: strToU8('c') },
      { name: 'x/dogs/huge.png', zeros: GiB },
    ]);
    const source = countingSource(zip);
    const files = await listZip(source, 'x.zip');
    expect(() => groupByClass(files, 'x.zip')).toThrow('The image "x/dogs/huge.png" is 1 GB uncompressed; Patchbay reads images of at most 64 MB each.');
    expect(source.bytesRead).toBeLessThan(100 * 1024);
  });

  it('refuses images that take more than 1 GB in all, saying how much they take', async () => {
    const zip = craftZip(Array.from({ length: 20 }, (_, i) => ({ name: `${i % 2 ? 'cats' : 'dogs'}/${i}.bmp`, zeros: 60 * MiB })));
    const files = await listZip(zip, 'big.zip');
    expect(() => groupByClass(files, 'big.zip')).toThrow('The images in big.zip take 1.2 GB uncompressed; Patchbay reads at most 1 GB of images.');
  });

  it('refuses more than 50,000 images, saying how many there are', async () => {
    const count = IMAGE_LIMITS.maxImages + 1;
    const zip = craftZip(Array.from({ length: count }, (_, i) => ({ name: `${i % 2 ? 'a' : 'b'}/${i}.png`, data: new Uint8Array(1), stored: true })));
    const files = await listZip(zip, 'many.zip');
    expect(files).toHaveLength(count);
    expect(() => groupByClass(files, 'many.zip')).toThrow('many.zip holds 50,001 images; Patchbay reads at most 50,000.');
  });

  it('reads the zip64 directory, and refuses one that lists more than 200,000 files before reading it', async () => {
    /** The same archive with its end record pointing to a zip64 record that claims `count` entries. */
    const zip64 = (count: number) => {
      const zip = craftZip([
        { name: 'a/1.png', data: strToU8('x') },
        { name: 'b/1.png', data: strToU8('y') },
      ]);
      const end = new DataView(zip.buffer, zip.length - 22);
      const cdSize = end.getUint32(12, true);
      const cdOffset = end.getUint32(16, true);
      const body = zip.subarray(0, zip.length - 22);
      const out = new Uint8Array(body.length + 56 + 20 + 22);
      out.set(body);
      const v = new DataView(out.buffer);
      let p = body.length;
      v.setUint32(p, 0x06064b50, true); // zip64 end of central directory record
      v.setBigUint64(p + 4, 44n, true);
      v.setBigUint64(p + 24, BigInt(count), true);
      v.setBigUint64(p + 32, BigInt(count), true);
      v.setBigUint64(p + 40, BigInt(cdSize), true);
      v.setBigUint64(p + 48, BigInt(cdOffset), true);
      p += 56;
      v.setUint32(p, 0x07064b50, true); // its locator
      v.setBigUint64(p + 8, BigInt(body.length), true);
      v.setUint32(p + 16, 1, true);
      p += 20;
      v.setUint32(p, 0x06054b50, true); // the classic end record, saying "see zip64"
      v.setUint16(p + 8, 0xffff, true);
      v.setUint16(p + 10, 0xffff, true);
      v.setUint32(p + 12, 0xffffffff, true);
      v.setUint32(p + 16, 0xffffffff, true);
      return out;
    };
    expect((await readZipDirectory(bytesSource(zip64(2)), 'ok.zip')).map((e) => e.name)).toEqual(['a/1.png', 'b/1.png']);
    await expect(readZipDirectory(bytesSource(zip64(300_000)), 'huge.zip')).rejects.toThrow(
      'huge.zip lists 300,000 files; Patchbay reads archives of at most 200,000 files.',
    );
    expect(MAX_ZIP_ENTRIES).toBe(200_000);
    // Without its zip64 record, "see zip64" is a damaged archive.
    const broken = craftZip([{ name: 'a/1.png', data: strToU8('x') }]);
    new DataView(broken.buffer, broken.byteOffset).setUint16(broken.length - 22 + 10, 0xffff, true);
    await expect(readZipDirectory(bytesSource(broken), 'odd.zip')).rejects.toThrow(
      /odd\.zip could not be read as a zip archive \(its zip64 directory is missing\)/,
    );
  });

  it('names encrypted entries, unknown compression, and damage', async () => {
    const plain = craftZip([{ name: 'a/1.png', data: strToU8('hello') }]);
    const [entry] = await readZipDirectory(bytesSource(plain));
    await expect(readZipEntry(bytesSource(plain), { ...entry!, encrypted: true }, 'p.zip')).rejects.toThrow('"a/1.png" in p.zip is encrypted');
    await expect(readZipEntry(bytesSource(plain), { ...entry!, method: 14 }, 'p.zip')).rejects.toThrow(/compressed with method 14, which Patchbay cannot read/);
    await expect(readZipEntry(bytesSource(plain), { ...entry!, size: 50 }, 'p.zip')).rejects.toThrow(/holds 5 bytes, but its header declares 50 bytes/);
    await expect(readZipEntry(bytesSource(plain), { ...entry!, offset: 3 }, 'p.zip')).rejects.toThrow(/is damaged \(its header is missing\)/);
    await expect(readZipDirectory(bytesSource(strToU8('PK not really a zip')), 'fake.zip')).rejects.toThrow(
      /fake\.zip could not be read as a zip archive \(it has no zip directory/,
    );
  });

  it('refuses to decode more pixels than fit in memory, before decoding any', async () => {
    const files = ['a/1.png', 'a/2.png', 'b/1.png'].map((path) => ({
      path,
      size: 10,
      bytes: async () => {
        throw new Error('should not be read');
      },
    }));
    const groups = groupByClass(files, 'photos');
    await expect(imagesToDataset(groups, [10_000, 10_000, 3], async () => new Uint8ClampedArray())).rejects.toThrow(
      "3 images at the model's input size (10000×10000×3) would take 3.4 GB in memory; Patchbay keeps at most 1 GB.",
    );
  });
});

describe('image sizes are read from headers before decoding', () => {
  it('reads PNG, GIF, BMP, JPEG and WebP headers', () => {
    expect(imageSize(tinyPng(6, 5, [1, 2, 3]))).toEqual({ width: 6, height: 5 });
    expect(imageSize(new Uint8Array([...strToU8('GIF89a'), 0x40, 0x01, 0xf0, 0x00]))).toEqual({ width: 320, height: 240 });
    const bmp = new Uint8Array(26);
    bmp.set(strToU8('BM'));
    new DataView(bmp.buffer).setInt32(18, 640, true);
    new DataView(bmp.buffer).setInt32(22, -480, true); // top-down rows
    expect(imageSize(bmp)).toEqual({ width: 640, height: 480 });
    // JPEG: SOI, an APP0 segment of 16 bytes, then SOF0 with height 1080 and width 1920.
    const jpeg = new Uint8Array([
      0xff,
      0xd8,
      0xff,
      0xe0,
      0x00,
      0x10,
      ...new Array(14).fill(0),
      0xff,
      0xc0,
      0x00,
      0x11,
      0x08,
      0x04,
      0x38,
      0x07,
      0x80,
      0x03,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
    expect(imageSize(jpeg)).toEqual({ width: 1920, height: 1080 });
    const webp = new Uint8Array(30);
    webp.set(strToU8('RIFF'));
    webp.set(strToU8('WEBPVP8X'), 8);
    webp.set([0x1f, 0x03, 0x00, 0xdf, 0x01, 0x00], 24); // 800 × 480, stored minus one
    expect(imageSize(webp)).toEqual({ width: 800, height: 480 });
    expect(imageSize(strToU8('not an image at all'))).toBeNull();
  });

  it('refuses an image whose header claims 40,000 × 40,000 pixels without decoding it', async () => {
    const zip = craftZip([
      { name: 'a/1.png', data: tinyPng(2, 2, [9, 9, 9]) },
      { name: 'b/huge.png', data: pngClaiming(40_000, 40_000) },
    ]);
    const groups = groupByClass(await listZip(zip, 'pixels.zip'), 'pixels.zip');
    const decoded: string[] = [];
    const decode = async (_b: Uint8Array, path: string, w: number, h: number) => {
      decoded.push(path);
      return new Uint8ClampedArray(w * h * 4);
    };
    await expect(imagesToDataset(groups, [4, 4, 1], decode)).rejects.toThrow(
      'The image "b/huge.png" is 40,000 × 40,000 pixels; Patchbay decodes images of at most 50 megapixels',
    );
    expect(decoded).toEqual(['a/1.png']);
  });
});
