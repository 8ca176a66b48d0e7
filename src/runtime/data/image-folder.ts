import { formatBytes } from '../../document/limits';
import { DataError, datasetFromExamples, type Dataset } from './dataset';
import { blobSource, bytesSource, readZipDirectory, readZipEntry, type ByteSource } from './zip-reader';
import { imageSize } from './image-size';

/**
 * The user's own images: a folder with one sub-folder per class (cats/…, dogs/…), picked as a folder
 * or as a .zip of the same. Grouping and zip listing run anywhere; decoding needs a browser
 * (createImageBitmap and OffscreenCanvas) and is passed in as `decode`, so the rest is tested in Node.
 */
export interface ImageFile {
  /** The path inside the folder or zip, with forward slashes. */
  path: string;
  bytes: () => Promise<Uint8Array>;
  /** Its size in bytes (uncompressed, as a zip declares it), for the limits below. */
  size?: number;
}

/**
 * Limits on a folder or archive of images, so that a hostile or mistaken pick is refused with a
 * message before it costs minutes or gigabytes. The images are decoded one at a time and only the
 * pixels at the model's input size are kept, so the caps are about time and the kept dataset.
 */
export const IMAGE_LIMITS = {
  /** Images read (MNIST's training set is 60,000). */
  maxImages: 50_000,
  /** One image file, uncompressed (a 24-megapixel uncompressed BMP is 72 MB; photos are far smaller). */
  maxImageBytes: 64 * 1024 * 1024,
  /** All the image files together, uncompressed. */
  maxTotalBytes: 1024 * 1024 * 1024,
  /** One image's pixels, read from its header before decoding (a small PNG can claim 50,000 × 50,000). */
  maxPixels: 50_000_000,
  /** The decoded dataset kept in memory (float32 pixels at the model's input size). */
  maxDecodedBytes: 1024 * 1024 * 1024,
};

export interface ImageGroups {
  name: string;
  classNames: string[];
  /** Per class, its image files in path order. */
  files: ImageFile[][];
  /** Files that were left out (not images, outside any class folder), for telling the user. */
  skipped: string[];
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|bmp|webp|avif)$/i;
const JUNK = /(^|\/)(__MACOSX|\.[^/]*|Thumbs\.db|desktop\.ini)(\/|$)/i;

/**
 * The files of a zip archive (directories and macOS / hidden junk left out), from its table of
 * contents only: nothing is inflated until a file's `bytes()` is called, so files that are not
 * images are never inflated at all.
 */
export async function listZip(archive: Uint8Array | Blob | ByteSource, name = 'the .zip file'): Promise<ImageFile[]> {
  const source =
    archive instanceof Uint8Array
      ? bytesSource(archive)
      : typeof Blob !== 'undefined' && archive instanceof Blob
        ? blobSource(archive)
        : (archive as ByteSource);
  const entries = await readZipDirectory(source, name);
  return entries
    .filter((e) => !e.name.endsWith('/') && !JUNK.test(e.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((entry) => ({ path: entry.name, size: entry.size, bytes: () => readZipEntry(source, entry, name) }));
}

/**
 * Groups files by class folder. When everything sits in one top folder (a zip of "pets/"), that
 * folder is the dataset and its sub-folders are the classes. Files directly in the top folder and
 * non-image files are skipped; a class folder without images is an error, as are fewer than two.
 */
export function groupByClass(files: ImageFile[], name = 'the folder'): ImageGroups {
  let paths = files.filter((f) => !JUNK.test(f.path)).map((f) => ({ file: f, parts: f.path.replace(/\\/g, '/').split('/').filter(Boolean) }));
  let datasetName = name;
  // Strip shared top folders while every file is inside the same one and some file is nested deeper.
  while (paths.length && paths.every((p) => p.parts.length >= 2 && p.parts[0] === paths[0]!.parts[0]) && paths.some((p) => p.parts.length >= 3)) {
    datasetName = paths[0]!.parts[0]!;
    paths = paths.map((p) => ({ ...p, parts: p.parts.slice(1) }));
  }
  const skipped: string[] = [];
  const byClass = new Map<string, ImageFile[]>();
  const withoutImages = new Map<string, string[]>();
  for (const { file, parts } of paths) {
    if (parts.length < 2) {
      skipped.push(file.path);
      continue;
    }
    const cls = parts[0]!;
    if (!IMAGE_EXTENSIONS.test(file.path)) {
      skipped.push(file.path);
      if (!byClass.has(cls)) {
        const others = withoutImages.get(cls);
        if (others) others.push(parts.slice(1).join('/'));
        else withoutImages.set(cls, [parts.slice(1).join('/')]);
      }
      continue;
    }
    withoutImages.delete(cls);
    // Appended in place: copying the list per file made 50,000 images take seconds.
    const images = byClass.get(cls);
    if (images) images.push(file);
    else byClass.set(cls, [file]);
  }
  const empty = [...withoutImages.keys()].filter((c) => !byClass.has(c));
  if (empty.length) {
    throw new DataError(
      `The class folder "${empty[0]}" in ${datasetName} has no images (only ${withoutImages
        .get(empty[0]!)!
        .slice(0, 3)
        .map((f) => `"${f}"`)
        .join(', ')}). Images must be .png, .jpg, .gif, .bmp or .webp files.`,
    );
  }
  if (byClass.size === 0) {
    throw new DataError(`${datasetName} has no class folders with images in them. Put the images in one sub-folder per class (e.g. cats/1.png, dogs/1.png).`);
  }
  if (byClass.size === 1) {
    throw new DataError(`${datasetName} has only one class folder ("${[...byClass.keys()][0]}"); a classifier needs at least two, one sub-folder per class.`);
  }
  if (byClass.size > 256) throw new DataError(`${datasetName} has ${byClass.size} class folders; Patchbay trains on at most 256 classes.`);
  checkImageLimits([...byClass.values()].flat(), datasetName);
  const classNames = [...byClass.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return {
    name: datasetName,
    classNames,
    files: classNames.map((c) => byClass.get(c)!.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }))),
    skipped,
  };
}

/** Refuses too many images, one too large, or too many bytes in all, saying which limit and what the pick had. */
function checkImageLimits(images: ImageFile[], datasetName: string): void {
  const { maxImages, maxImageBytes, maxTotalBytes } = IMAGE_LIMITS;
  if (images.length > maxImages) {
    throw new DataError(
      `${datasetName} holds ${images.length.toLocaleString('en')} images; Patchbay reads at most ${maxImages.toLocaleString('en')}. Use a sample of them.`,
    );
  }
  const largest = images.reduce<ImageFile | undefined>((a, f) => ((f.size ?? 0) > (a?.size ?? 0) ? f : a), undefined);
  if (largest && largest.size! > maxImageBytes) {
    throw new DataError(
      `The image "${largest.path}" is ${formatBytes(largest.size!)} uncompressed; Patchbay reads images of at most ${formatBytes(maxImageBytes)} each. Remove it or make it smaller.`,
    );
  }
  const total = images.reduce((a, f) => a + (f.size ?? 0), 0);
  if (total > maxTotalBytes) {
    throw new DataError(
      `The images in ${datasetName} take ${formatBytes(total)} uncompressed; Patchbay reads at most ${formatBytes(maxTotalBytes)} of images. Use a sample of them, or smaller images.`,
    );
  }
}

/** Decodes one image's bytes into RGBA pixels at width × height (browser: `decodeImageInBrowser`). */
export type ImageDecoder = (bytes: Uint8Array, path: string, width: number, height: number) => Promise<Uint8ClampedArray>;

/**
 * Decodes every image at the model's input size ([height, width, channels], channels 1 or 3: grey
 * as the mean of R, G and B) into values in [0, 1], and splits 80 / 20 per class with a fixed seed.
 */
export async function imagesToDataset(
  groups: ImageGroups,
  inputShape: number[],
  decode: ImageDecoder,
  options: { seed?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Dataset> {
  const [height, width, channels] = inputShape as [number, number, number];
  if (inputShape.length !== 3 || !(channels === 1 || channels === 3))
    throw new DataError(`Images need an input of shape [height, width, 1 or 3]; the model takes [${inputShape.join(', ')}].`);
  const total = groups.files.reduce((a, f) => a + f.length, 0);
  const size = height * width * channels;
  if (total * size * 4 > IMAGE_LIMITS.maxDecodedBytes) {
    throw new DataError(
      `${total.toLocaleString('en')} images at the model's input size (${height}×${width}×${channels}) would take ${formatBytes(total * size * 4)} in memory; Patchbay keeps at most ${formatBytes(IMAGE_LIMITS.maxDecodedBytes)}. Use fewer images or a smaller input.`,
    );
  }
  const x = new Float32Array(total * size);
  const y = new Uint8Array(total);
  let i = 0;
  for (let label = 0; label < groups.files.length; label++) {
    for (const file of groups.files[label]!) {
      // Reading the bytes fails with its own message (a damaged or hostile archive entry).
      const bytes = await file.bytes();
      const dimensions = imageSize(bytes);
      if (dimensions && dimensions.width * dimensions.height > IMAGE_LIMITS.maxPixels) {
        throw new DataError(
          `The image "${file.path}" is ${dimensions.width.toLocaleString('en')} × ${dimensions.height.toLocaleString('en')} pixels; Patchbay decodes images of at most ${IMAGE_LIMITS.maxPixels / 1e6} megapixels (a 24-megapixel photo is fine). Remove it or make it smaller.`,
        );
      }
      let rgba: Uint8ClampedArray;
      try {
        rgba = await decode(bytes, file.path, width, height);
      } catch (err) {
        throw new DataError(
          `The image "${file.path}" could not be read${err instanceof Error && err.message ? ` (${err.message})` : ''}. Remove it or replace it with a .png or .jpg file.`,
        );
      }
      const base = i * size;
      for (let p = 0; p < height * width; p++) {
        const r = rgba[4 * p]!,
          g = rgba[4 * p + 1]!,
          b = rgba[4 * p + 2]!;
        if (channels === 1) x[base + p] = (r + g + b) / (3 * 255);
        else {
          x[base + 3 * p] = r / 255;
          x[base + 3 * p + 1] = g / 255;
          x[base + 3 * p + 2] = b / 255;
        }
      }
      y[i++] = label;
      options.onProgress?.(i, total);
    }
  }
  return datasetFromExamples({ name: groups.name, inputShape: [height, width, channels], classNames: groups.classNames, x, y, seed: options.seed ?? 11 });
}

/** The browser's decoder: createImageBitmap, then drawn at the target size on an OffscreenCanvas. */
export const decodeImageInBrowser: ImageDecoder = async (bytes, path, width, height) => {
  const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeOf(path) }));
  try {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2-D canvas');
    ctx.imageSmoothingQuality = 'high';
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0, width, height);
    return ctx.getImageData(0, 0, width, height).data;
  } finally {
    bitmap.close();
  }
};

function mimeOf(path: string): string {
  const ext = path.split('.').pop()?.toLowerCase();
  return ext === 'jpg' || ext === 'jpeg' ? 'image/jpeg' : ext ? `image/${ext}` : 'application/octet-stream';
}

/** Files picked with `<input webkitdirectory>` (or several files), as ImageFiles. */
export function filesFromPicker(files: ArrayLike<File>): ImageFile[] {
  return Array.from(files, (f) => ({
    path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name,
    size: f.size,
    bytes: async () => new Uint8Array(await f.arrayBuffer()),
  }));
}
