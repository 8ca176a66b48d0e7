import type * as tfType from '@tensorflow/tfjs';
import { strToU8, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrainingSchema } from '../src/document/schema';
import { classCounts, cloneDataset, DataError, exampleSize, transferablesOf, type Dataset } from '../src/runtime/data/dataset';
import { parseCsv, parseCsvRecords } from '../src/runtime/data/csv';
import { groupByClass, imagesToDataset, listZip, type ImageFile } from '../src/runtime/data/image-folder';
import { SYNTHETIC, SYNTHETIC_NAMES, syntheticDataset, twoMoons } from '../src/runtime/data/synthetic';
import { dataMismatch } from '../src/runtime/data/fit';
import { trainClassifier } from '../src/runtime/training/train';
import { analyze, lower } from '../src/compiler/index';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function expectWellFormed(ds: Dataset) {
  const size = exampleSize(ds);
  for (const split of [ds.train, ds.test]) {
    expect(split.x.length).toBe(split.count * size);
    expect(split.y.length).toBe(split.count);
    expect(split.x.every(Number.isFinite)).toBe(true);
    expect(Math.max(...split.y)).toBeLessThan(ds.classNames.length);
  }
}

describe('synthetic datasets', () => {
  const sets = new Map(SYNTHETIC_NAMES.map((n) => [n, syntheticDataset(n)]));

  it.each(SYNTHETIC_NAMES)('%s: shapes and counts as advertised, classes balanced on both sides of the split', (name) => {
    const ds = sets.get(name)!;
    const info = SYNTHETIC[name];
    expectWellFormed(ds);
    expect(ds.inputShape).toEqual(info.inputShape);
    expect(ds.classNames).toEqual(info.classNames);
    expect(ds.train.count).toBe(info.trainCount);
    expect(ds.test.count).toBe(info.testCount);
    const k = ds.classNames.length;
    for (const split of [ds.train, ds.test]) for (const c of classCounts(split, k)) expect(c).toBe(split.count / k);
  });

  it('is the same on every call (seeded), and shuffled within each split', () => {
    for (const name of SYNTHETIC_NAMES) {
      const again = syntheticDataset(name);
      const first = sets.get(name)!;
      // Byte comparison: deep equality on millions of floats takes vitest tens of seconds.
      expect(sameBytes(again.train.x, first.train.x)).toBe(true);
      expect(sameBytes(again.test.y, first.test.y)).toBe(true);
      expect(again.train.captions).toEqual(first.train.captions);
    }
    const y = Array.from(sets.get('moons')!.train.y.subarray(0, 40));
    expect(new Set(y).size).toBe(2);
    expect(y.join('')).not.toMatch(/^(0+1+|1+0+)$/);
  });

  it('different seeds give different moons', () => {
    expect(sameBytes(twoMoons({ seed: 9 }).train.x, twoMoons().train.x)).toBe(false);
  });

  it('shapes have pixels in [0, 1], ink in every image, and a caption per image that names its class', () => {
    for (const name of ['shapes', 'shapes-rgb'] as const) {
      const ds = sets.get(name)!;
      const size = exampleSize(ds);
      expect(ds.train.captions).toHaveLength(ds.train.count);
      expect(ds.test.captions).toHaveLength(ds.test.count);
      for (let i = 0; i < 50; i++) {
        const img = ds.train.x.subarray(i * size, (i + 1) * size);
        expect(Math.min(...img)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...img)).toBeLessThanOrEqual(1);
        expect(img.filter((v) => v > 0).length).toBeGreaterThan(size / 50);
        const caption = ds.train.captions![i]!;
        expect(caption).toMatch(
          new RegExp(`^a (small|medium|large) ${name === 'shapes-rgb' ? '[a-z]+ ' : ''}${ds.classNames[ds.train.y[i]!]} (at the|on the|in the)`),
        );
      }
    }
    expect(sets.get('shapes-rgb')!.train.captions!.some((c) => / red /.test(c))).toBe(true);
  });

  it('the moons are not linearly separable, but a small MLP learns them to > 95 % in a few hundred steps', async () => {
    const moons = sets.get('moons')!;
    const model = (hidden: number[]) => {
      const input = tf.input({ shape: [2] });
      let h = input;
      for (const units of hidden) h = tf.layers.dense({ units, activation: 'relu' }).apply(h) as tfType.SymbolicTensor;
      return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'softmax' }).apply(h) as tfType.SymbolicTensor });
    };
    const setup = TrainingSchema.parse({ optimizer: 'adam', learningRate: 0.02, batchSize: 32, epochs: 12, schedule: 'constant', seed: 1 });
    const linear = model([]);
    const lin = await trainClassifier(tf, linear, moons, setup);
    const mlp = model([16, 16]);
    const deep = await trainClassifier(tf, mlp, moons, setup);
    expect(deep.steps.length).toBe(300);
    expect(lin.final!.test.accuracy).toBeLessThan(0.92);
    expect(deep.final!.test.accuracy).toBeGreaterThan(0.95);
    linear.dispose();
    mlp.dispose();
  });
});

describe('CSV files', () => {
  const iris =
    'sepal length,sepal width,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n7.0,3.2,versicolor\n6.4,3.2,versicolor\n6.3,3.3,virginica\n5.8,2.7,virginica\n5.0,3.6,setosa\n5.5,2.3,versicolor\n6.5,3.0,virginica\n5.4,3.9,setosa\n';

  it('reads numeric features and a string label (the last column), split 80 / 20 per class', () => {
    const ds = parseCsv(iris, { name: 'iris.csv' });
    expect(ds.name).toBe('iris.csv');
    expect(ds.inputShape).toEqual([2]);
    expect(ds.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(ds.train.count + ds.test.count).toBe(10);
    expect(classCounts(ds.train, 3)).toEqual([3, 2, 2]);
    expect(classCounts(ds.test, 3)).toEqual([1, 1, 1]);
    // Every example keeps its label: setosa rows have sepal width ≥ 3.
    for (const split of [ds.train, ds.test]) for (let i = 0; i < split.count; i++) if (split.y[i] === 0) expect(split.x[2 * i + 1]).toBeGreaterThanOrEqual(3);
    expect(parseCsv(iris).train.x).toEqual(ds.train.x);
  });

  it('takes the label column by name, integer labels in numeric order, quoted fields, CRLF and a BOM', () => {
    const text = '\ufeff"class","a, the first",b\r\n10,"1.5",2\r\n2,3,"4"\r\n10,5,6\r\n2,"7",8\r\n\r\n';
    const ds = parseCsv(text, { label: 'class' });
    expect(ds.classNames).toEqual(['2', '10']);
    expect(ds.inputShape).toEqual([2]);
    const rows = new Set<string>();
    for (const split of [ds.train, ds.test])
      for (let i = 0; i < split.count; i++) rows.add(`${split.x[2 * i]}|${split.x[2 * i + 1]}|${ds.classNames[split.y[i]!]}`);
    expect(rows).toEqual(new Set(['1.5|2|10', '3|4|2', '5|6|10', '7|8|2']));
    expect(parseCsvRecords('a,"line\nbreak ""quoted"""\n1,2').map((r) => [r.fields, r.line])).toEqual([
      [['a', 'line\nbreak "quoted"'], 1],
      [['1', '2'], 3],
    ]);
  });

  it('names the row and column of a non-numeric or empty value', () => {
    const bad = 'x,y,label\n1,2,a\n3,oops,b\n5,6,a\n';
    expect(() => parseCsv(bad)).toThrow(DataError);
    expect(() => parseCsv(bad)).toThrow(/^Row 3, column "y" \(the 2nd\): the cell holds "oops", which is not a number/);
    expect(() => parseCsv('x,y,label\n1,2,a\n3,,b\n')).toThrow(/Row 3, column "y" \(the 2nd\): the cell is empty/);
    // A row after a quoted line break: the row and its line both named.
    expect(() => parseCsv('x,note,label\n1,2,"a\nb"\n3,x,b\n')).toThrow(/Row 3 \(line 4\), column "note"/);
  });

  it('explains ragged rows, an empty file, a missing label column and a single class', () => {
    expect(() => parseCsv('x,y,label\n1,2,a\n3,4\n')).toThrow(/Row 3 has 2 values, but the header has 3 columns/);
    expect(() => parseCsv('')).toThrow(/is empty/);
    expect(() => parseCsv('\r\n\n')).toThrow(/is empty/);
    expect(() => parseCsv('x,label\n')).toThrow(/no data rows/);
    expect(() => parseCsv('x,y,label\n1,2,a\n', { label: 'species' })).toThrow(/no label column "species".*"x", "y", "label"/);
    expect(() => parseCsv('x,y,label\n1,2,a\n3,4,a\n')).toThrow(/only one class \("a"\)/);
    expect(() => parseCsv('x,y,label\n1,2,a\n3,4,"b\n')).toThrow(/never closed/);
  });
});

describe('image folders and zips', () => {
  const file = (path: string): ImageFile => ({ path, bytes: async () => strToU8(path) });

  it('lists a zip (skipping directories and macOS junk) and groups by class folder under a shared top folder', async () => {
    const zip = zipSync({
      'pets/cats/1.png': strToU8('c1'),
      'pets/cats/2.PNG': strToU8('c2'),
      'pets/dogs/10.jpg': strToU8('d10'),
      'pets/dogs/9.jpeg': strToU8('d9'),
      'pets/dogs/notes.txt': strToU8('x'),
      'pets/README.md': strToU8('r'),
      '__MACOSX/pets/cats/._1.png': strToU8('junk'),
      'pets/.DS_Store': strToU8('junk'),
    });
    const files = await listZip(zip);
    expect(files.map((f) => f.path)).toEqual([
      'pets/README.md',
      'pets/cats/1.png',
      'pets/cats/2.PNG',
      'pets/dogs/10.jpg',
      'pets/dogs/9.jpeg',
      'pets/dogs/notes.txt',
    ]);
    expect(new TextDecoder().decode(await files[1]!.bytes())).toBe('c1');
    const groups = groupByClass(files, 'pets.zip');
    expect(groups.name).toBe('pets');
    expect(groups.classNames).toEqual(['cats', 'dogs']);
    expect(groups.files.map((g) => g.map((f) => f.path))).toEqual([
      ['pets/cats/1.png', 'pets/cats/2.PNG'],
      ['pets/dogs/9.jpeg', 'pets/dogs/10.jpg'],
    ]);
    expect(groups.skipped).toEqual(['pets/README.md', 'pets/dogs/notes.txt']);
  });

  it('explains no class folders, a class folder without images, one class, and a broken zip', async () => {
    expect(() => groupByClass([file('a.png'), file('b.png')], 'flat')).toThrow(/flat has no class folders with images/);
    expect(() => groupByClass([file('cats/1.png'), file('dogs/readme.txt')])).toThrow(/The class folder "dogs" .* has no images \(only "readme.txt"\)/);
    expect(() => groupByClass([file('x/cats/1.png'), file('x/cats/2.png')])).toThrow(/only one class folder \("cats"\)/);
    await expect(listZip(new Uint8Array([1, 2, 3, 4]), 'bad.zip')).rejects.toThrow(/bad.zip could not be read as a zip/);
  });

  it('decodes to the model input (grey or RGB) and names an unreadable image', async () => {
    const files = [file('cats/1.png'), file('cats/2.png'), file('dogs/1.png'), file('dogs/2.png'), file('dogs/3.png')];
    const groups = groupByClass(files);
    // A fake decoder: cats are red, dogs white.
    const decode = async (_bytes: Uint8Array, path: string, w: number, h: number) => {
      const px = new Uint8ClampedArray(w * h * 4);
      for (let p = 0; p < w * h; p++) px.set(path.startsWith('cats') ? [255, 0, 0, 255] : [255, 255, 255, 255], 4 * p);
      return px;
    };
    const rgb = await imagesToDataset(groups, [4, 3, 3], decode);
    expect(rgb.inputShape).toEqual([4, 3, 3]);
    expect(rgb.classNames).toEqual(['cats', 'dogs']);
    expect(rgb.train.count + rgb.test.count).toBe(5);
    expect(classCounts(rgb.test, 2)).toEqual([1, 1]);
    for (let i = 0; i < rgb.train.count; i++)
      expect(Array.from(rgb.train.x.subarray(i * 36, i * 36 + 3))).toEqual(rgb.train.y[i] === 0 ? [1, 0, 0] : [1, 1, 1]);
    const grey = await imagesToDataset(groups, [2, 2, 1], decode);
    expect(grey.train.x.length).toBe(grey.train.count * 4);
    expect(new Set(Array.from(grey.train.x).map((v) => v.toFixed(3)))).toEqual(new Set(['0.333', '1.000']));
    const failing = async (bytes: Uint8Array, path: string, w: number, h: number) => {
      if (path === 'dogs/2.png') throw new Error('The source image could not be decoded.');
      return decode(bytes, path, w, h);
    };
    await expect(imagesToDataset(groups, [2, 2, 1], failing)).rejects.toThrow(
      /The image "dogs\/2.png" could not be read \(The source image could not be decoded.\)/,
    );
  });
});

describe('does the model fit the data', () => {
  const planOf = (doc: Parameters<typeof analyze>[0]) => lower(analyze(doc)).plan!;
  const moonsGraph = graph(
    [
      { id: 'in', type: 'Input', params: { shape: [2] } },
      { id: 'hidden', type: 'Dense', params: { units: 16, activation: 'relu' } },
      { id: 'out', type: 'Dense', params: { units: 2, activation: 'softmax' } },
    ],
    [
      ['in', 'hidden'],
      ['hidden', 'out'],
    ],
  );

  it('says exactly what to change', () => {
    const moons = { title: 'two moons', inputShape: [2], classes: 2 };
    expect(dataMismatch(planOf(moonsGraph), moons)).toBeNull();
    const t = templateDocument('convmixer', 'mnist');
    if ('error' in t) throw new Error(t.error);
    expect(dataMismatch(planOf(t.doc), moons)).toBe('The model takes (None, 28, 28, 1), but two moons examples are (None, 2): set the Input shape to [2].');
    expect(dataMismatch(planOf(moonsGraph), { title: 'spirals', inputShape: [2], classes: 3 })).toBe(
      'The model outputs (None, 2), but spirals has 3 classes: end with Dense(3) and a softmax.',
    );
    expect(dataMismatch(planOf(t.doc), { title: 'MNIST', noun: 'digits', inputShape: [28, 28, 1], classes: 10 })).toBeNull();
    // Image folders fit any [h, w, 1 | 3] input with the right classes.
    expect(dataMismatch(planOf(t.doc), { title: 'pets', inputShape: [28, 28, 1], classes: 10, resizable: true })).toBeNull();
    expect(dataMismatch(planOf(moonsGraph), { title: 'pets', inputShape: [28, 28, 1], classes: 2, resizable: true })).toMatch(
      /are images, resized to the model's input: set the Input shape to \[height, width, 1\]/,
    );
  });
});

describe('datasets cross to the worker by transfer', () => {
  it('a clone owns its buffers, so transferring it leaves the original intact', () => {
    const ds = parseCsv('a,b\n1,x\n2,y\n3,x\n4,y\n');
    const copy = cloneDataset(ds);
    const buffers = transferablesOf(copy);
    expect(buffers).toHaveLength(4);
    structuredClone(copy, { transfer: buffers });
    expect(copy.train.x.length).toBe(0);
    expect(ds.train.x.length).toBe(ds.train.count);
  });
});
