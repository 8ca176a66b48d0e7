/**
 * What the file worker does with a file, run in Node on Blobs: graph documents (size and depth
 * limits, progress), CSVs (progress while parsing, errors that keep the columns) and archives of
 * images (zip bombs refused or skipped).
 */
import { strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { MAX_CSV_BYTES, readCsv, readDocument, readImages, type Progress } from '../src/editor/file-reading';
import { bigCsv, craftZip, deeplyNestedDocument, hugeChainDocument } from './helpers/hostile-files';

const GiB = 1024 ** 3;
/** A Blob that claims a size and fails if anyone reads it. */
const unreadable = (size: number) =>
  ({
    size,
    stream: () => {
      throw new Error('read');
    },
    text: () => {
      throw new Error('read');
    },
  }) as unknown as Blob;
/** A fake decoder: every image is a grey pixel field of the asked size. */
const grey = async (_bytes: Uint8Array, _path: string, width: number, height: number) => new Uint8ClampedArray(width * height * 4).fill(128);

describe('reading a graph document', () => {
  it('refuses a file over 64 MB without reading a byte of it', async () => {
    const { doc, diagnostics } = await readDocument(unreadable(200 * 1024 ** 2), 'huge.json', () => {});
    expect(doc).toBeNull();
    expect(diagnostics[0]).toMatchObject({ code: 'PB111' });
    expect(diagnostics[0]!.message).toMatch(/The file is 200 MB/);
  });

  it('refuses 100,000 levels of nesting with PB110', async () => {
    const { doc, diagnostics } = await readDocument(new Blob([deeplyNestedDocument(100_000)]), 'deep.json', () => {});
    expect(doc).toBeNull();
    expect(diagnostics.map((d) => d.code)).toEqual(['PB110']);
  });

  it('reads a 20,000-node graph, saying how far it got', async () => {
    const progress: Progress[] = [];
    const { doc, diagnostics } = await readDocument(new Blob([JSON.stringify(hugeChainDocument(20_000))]), 'chain.json', (p) => progress.push(p));
    // A migration note (PB108) is fine: the files are written at version 1.
    expect(diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(doc!.nodes).toHaveLength(20_000);
    expect(progress[0]!.message).toMatch(/^Reading chain\.json: .* of 3\.\d MB$/);
    expect(progress.at(-1)!.message).toBe('Checking chain.json');
    const fractions = progress.map((p) => p.fraction!);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
  });
});

describe('reading a CSV', () => {
  it('parses a large CSV with progress while parsing', async () => {
    const text = bigCsv(3 * 1024 ** 2);
    const progress: Progress[] = [];
    const result = await readCsv(new Blob([text]), 'big.csv', undefined, (p) => progress.push(p));
    expect(result.error).toBeUndefined();
    expect(result.columns).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'label']);
    expect(result.label).toBe('label');
    expect(result.dataset!.classNames).toEqual(['a', 'b', 'c']);
    expect(result.dataset!.train.count + result.dataset!.test.count).toBe(text.trim().split('\n').length - 1);
    expect(progress.some((p) => /^Parsing big\.csv: [1-9]\d? %$/.test(p.message))).toBe(true);
  });

  it('returns the error with the columns, so another label can be picked', async () => {
    const result = await readCsv(new Blob(['name,x,y\na,1,2\nb,3,4\n']), 'p.csv', 'name', () => {});
    expect(result.label).toBe('name');
    expect(result.dataset!.classNames).toEqual(['a', 'b']);
    const bad = await readCsv(new Blob(['x,y,name\n1,oops,a\n3,4,b\n']), 'p.csv', undefined, () => {});
    expect(bad.columns).toEqual(['x', 'y', 'name']);
    expect(bad.error).toMatch(/Row 2, column "y" \(the 2nd\): the cell holds "oops"/);
  });

  it('refuses a CSV over the limit without reading it', async () => {
    const result = await readCsv(unreadable(MAX_CSV_BYTES + 1), 'giant.csv', undefined, () => {});
    expect(result.error).toBe('giant.csv is 256 MB; Patchbay reads CSV files of up to 256 MB. Use a sample of the rows.');
  });
});

describe('reading images', () => {
  it('skips a 1 GB file that is not an image and decodes the images beside it', async () => {
    const zip = craftZip([
      { name: 'pets/cats/1.png', data: strToU8('c') },
      { name: 'pets/dogs/1.png', data: strToU8('d') },
      { name: 'pets/blob.bin', zeros: GiB },
    ]);
    const result = await readImages({ zip: new Blob([zip]), name: 'pets.zip' }, [8, 8, 1], grey, () => {});
    expect(result.error).toBeUndefined();
    expect(result.skipped).toBe(1);
    expect(result.dataset!.classNames).toEqual(['cats', 'dogs']);
    expect(result.dataset!.train.x[0]).toBeCloseTo(128 / 255);
  });

  it('names an image that inflates past its declared size', async () => {
    const zip = craftZip([
      { name: 'pets/cats/1.png', zeros: GiB, declaredSize: 1000 },
      { name: 'pets/dogs/1.png', data: strToU8('d') },
    ]);
    const result = await readImages({ zip: new Blob([zip]), name: 'bomb.zip' }, [8, 8, 1], grey, () => {});
    expect(result.dataset).toBeUndefined();
    expect(result.error).toMatch(/"pets\/cats\/1\.png" in bomb\.zip inflates to more than the 1000 bytes its header declares/);
  });

  it('reads picked folder files with the same limits', async () => {
    const files = [
      { path: 'x/a/1.png', file: new Blob(['1']) },
      { path: 'x/b/1.png', file: unreadable(2 * GiB) },
    ];
    const result = await readImages({ files, name: 'x' }, [8, 8, 1], grey, () => {});
    expect(result.error).toBe('The image "x/b/1.png" is 2 GB uncompressed; Patchbay reads images of at most 64 MB each. Remove it or make it smaller.');
  });
});
