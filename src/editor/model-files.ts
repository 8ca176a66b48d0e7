/**
 * Reading a model to import with its weights: a tfjs Layers `model.json` picked together with the
 * weight files its manifest names (`weights.bin`, `group1-shard1of2.bin`…), or one .zip holding
 * them. Sizes are checked against the manifest before any weight file is read, and every limit is
 * checked before reading: a huge or hostile pick gets a message, never a frozen tab. A weights
 * problem (a file missing or cut short) does not stop the graph: it comes back as `weightsProblem`
 * beside the model.json text, so the graph still opens. Takes plain Blobs, so it is tested in Node.
 */
import { findExcessiveNesting, formatBytes, MAX_DOCUMENT_DEPTH } from '../document/limits';
import { blobSource, readZipDirectory, readZipEntry, type ZipEntry } from '../runtime/data/zip-reader';
import { fromModelJson, weightBytes } from '../runtime/tfjs-format';
import type { WeightArtifacts } from '../runtime/worker/protocol';

/** A model.json is topology and a manifest, not weights: a few megabytes at most. */
export const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

/**
 * The most weight bytes imported. ViT-B/16 (86 M float32 parameters) is 344 MB; 1 GB leaves room for
 * the larger presets while keeping the page (which holds the weights, a copy for the worker and the
 * IndexedDB write) well inside a browser tab's memory.
 */
export const MAX_IMPORTED_WEIGHT_BYTES = 1024 * 1024 * 1024;

/** A .zip is read from its table of contents, one entry at a time; it may hold the export's other files too. */
export const MAX_MODEL_ZIP_BYTES = MAX_IMPORTED_WEIGHT_BYTES + 256 * 1024 * 1024;

export interface PickedFile {
  name: string;
  blob: Blob;
}

export interface ModelFiles {
  /** The model.json's name (its path inside a .zip) and text. */
  name: string;
  text: string;
  /** The weights, when the manifest lists some and every file is there with the right size. */
  weights: WeightArtifacts | null;
  /** Why weights the manifest lists were not read (the graph opens without them); null when all is well. */
  weightsProblem: string | null;
  /** The weight files read, in the manifest's order, for the run's description. */
  weightFiles: string[];
}

export interface Manifest {
  /** Weight file names, in the manifest's order, as their paths say. */
  paths: string[];
  bytes: number;
  count: number;
}

const baseName = (path: string) => path.split('/').pop() ?? path;
const isModelJson = (name: string) => /\.json$/i.test(name);

/** The weights manifest of a model.json, or null when it lists none; throws a plain message when it is malformed. */
export function manifestOf(text: string): Manifest | null {
  if (findExcessiveNesting(text)) throw new Error(`model.json nests lists or objects more than ${MAX_DOCUMENT_DEPTH} levels deep; it is not a model.json.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('model.json is not valid JSON.');
  }
  const groups = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) return null;
  const paths: string[] = [];
  const specs: WeightArtifacts['weightSpecs'] = [];
  for (const group of groups as Array<{ paths?: unknown; weights?: unknown }>) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw new Error('model.json has a weightsManifest entry without paths or weights.');
    for (const p of group.paths) paths.push(String(p));
    for (const w of group.weights as Array<{ name?: unknown; shape?: unknown; dtype?: unknown }>) {
      const shape = Array.isArray(w?.shape) ? w.shape : null;
      if (!shape || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0))
        throw new Error(`The weight "${String(w?.name).slice(0, 80)}" in model.json has no valid shape.`);
      specs.push({ name: String(w.name), shape: shape as number[], dtype: String(w.dtype ?? 'float32') });
    }
  }
  if (specs.length === 0) return null;
  return { paths, bytes: weightBytes(specs), count: specs.length };
}

/** Where a weight file's bytes are: a picked file or a .zip entry. */
export interface WeightSource {
  name: string;
  size: number;
  read: () => Promise<ArrayBuffer>;
}

/**
 * The weights a manifest describes, from the sources found for its paths: refused before reading
 * when a file is missing, the sizes disagree, or they exceed the limit.
 */
export async function readWeights(
  text: string,
  manifest: Manifest,
  find: (path: string) => WeightSource | undefined,
): Promise<Pick<ModelFiles, 'weights' | 'weightsProblem' | 'weightFiles'>> {
  const none = (weightsProblem: string) => ({ weights: null, weightsProblem, weightFiles: [] });
  if (manifest.bytes > MAX_IMPORTED_WEIGHT_BYTES)
    return none(
      `model.json describes ${formatBytes(manifest.bytes)} of weights; Patchbay imports at most ${formatBytes(MAX_IMPORTED_WEIGHT_BYTES)}, so they were not read.`,
    );
  const sources: WeightSource[] = [];
  for (const path of manifest.paths) {
    const source = find(path);
    if (!source)
      return none(
        `model.json names the weight file "${baseName(path).slice(0, 120)}", which was not there: pick it together with model.json (or put both in one .zip).`,
      );
    sources.push(source);
  }
  const total = sources.reduce((a, s) => a + s.size, 0);
  if (total !== manifest.bytes) {
    const which = sources.length === 1 ? `${sources[0]!.name.slice(0, 120)} holds` : `The ${sources.length} weight files hold`;
    return none(
      `${which} ${total.toLocaleString('en-US')} bytes, but model.json describes ${manifest.bytes.toLocaleString('en-US')} (${manifest.count} weights): ${
        total < manifest.bytes ? 'it is cut short' : 'it is longer'
      }, or it belongs to another model.`,
    );
  }
  const files = new Map<string, ArrayBuffer>();
  for (const [i, s] of sources.entries()) files.set(baseName(manifest.paths[i]!), await s.read());
  try {
    return { weights: fromModelJson(text, files), weightsProblem: null, weightFiles: sources.map((s) => s.name) };
  } catch (err) {
    return none(err instanceof Error ? err.message : String(err));
  }
}

/** The one model.json in a .zip (its folder's weight files beside it), or a message. */
async function readZip(zip: PickedFile): Promise<ModelFiles | { error: string }> {
  if (zip.blob.size > MAX_MODEL_ZIP_BYTES)
    return {
      error: `${zip.name} is ${formatBytes(zip.blob.size)}; Patchbay imports a model .zip of up to ${formatBytes(MAX_MODEL_ZIP_BYTES)}. Nothing was read.`,
    };
  const source = blobSource(zip.blob);
  let entries: ZipEntry[];
  try {
    entries = (await readZipDirectory(source, zip.name)).filter((e) => !e.name.startsWith('__MACOSX/') && !e.name.endsWith('/'));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  const named = entries.filter((e) => baseName(e.name).toLowerCase() === 'model.json');
  const candidates = named.length ? named : entries.filter((e) => isModelJson(e.name));
  if (candidates.length === 0) return { error: `${zip.name} holds no model.json.` };
  if (candidates.length > 1)
    return {
      error: `${zip.name} holds ${candidates.length} model.json files (${candidates
        .slice(0, 4)
        .map((e) => e.name.slice(0, 80))
        .join(', ')}${candidates.length > 4 ? ', …' : ''}); import one folder's model.json and weight files.`,
    };
  const entry = candidates[0]!;
  if (entry.size > MAX_MODEL_JSON_BYTES)
    return {
      error: `${entry.name} in ${zip.name} is ${formatBytes(entry.size)}; a model.json holds the topology, not the weights, and Patchbay reads one of up to ${formatBytes(MAX_MODEL_JSON_BYTES)}.`,
    };
  let text: string;
  try {
    text = new TextDecoder('utf-8').decode(await readZipEntry(source, entry, zip.name));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  const folder = entry.name.includes('/') ? entry.name.slice(0, entry.name.lastIndexOf('/') + 1) : '';
  const byPath = new Map(entries.map((e) => [e.name, e]));
  try {
    const manifest = manifestOf(text);
    if (!manifest) return { name: entry.name, text, weights: null, weightsProblem: null, weightFiles: [] };
    const weights = await readWeights(text, manifest, (path) => {
      const e = byPath.get(folder + path.replace(/^\.\//, '')) ?? byPath.get(folder + baseName(path));
      return e && { name: e.name, size: e.size, read: async () => (await readZipEntry(source, e, zip.name)).buffer as ArrayBuffer };
    });
    return { name: entry.name, text, ...weights };
  } catch (err) {
    // A weight entry that cannot be read (damaged, a zip bomb) or a manifest that cannot: the graph may still open.
    return { name: entry.name, text, weights: null, weightsProblem: err instanceof Error ? err.message : String(err), weightFiles: [] };
  }
}

/**
 * Reads a model.json with its weight files, or one .zip of them. Returns `error` (nothing opens)
 * when there is no model.json to read; weights that cannot be used are `weightsProblem`.
 */
export async function readModelFiles(picked: PickedFile[]): Promise<ModelFiles | { error: string }> {
  const zips = picked.filter((f) => /\.zip$/i.test(f.name));
  if (zips.length && picked.length > 1) return { error: 'Pick either one .zip, or model.json together with its weight files, not both.' };
  if (zips.length) return readZip(zips[0]!);
  const jsons = picked.filter((f) => isModelJson(f.name));
  if (jsons.length !== 1)
    return { error: jsons.length ? `Pick one model.json at a time (${jsons.length} .json files were picked).` : 'Pick a model.json (with its weight files).' };
  const json = jsons[0]!;
  if (json.blob.size > MAX_MODEL_JSON_BYTES)
    return {
      error: `${json.name} is ${formatBytes(json.blob.size)}; a model.json holds the topology, not the weights, and Patchbay reads one of up to ${formatBytes(MAX_MODEL_JSON_BYTES)}.`,
    };
  const text = await json.blob.text();
  try {
    const manifest = manifestOf(text);
    if (!manifest) return { name: json.name, text, weights: null, weightsProblem: null, weightFiles: [] };
    const byName = new Map(picked.filter((f) => f !== json).map((f) => [f.name, f]));
    const weights = await readWeights(text, manifest, (path) => {
      const f = byName.get(baseName(path));
      return f && { name: f.name, size: f.blob.size, read: () => f.blob.arrayBuffer() };
    });
    return { name: json.name, text, ...weights };
  } catch (err) {
    // A manifest that cannot be read: the topology may still be, so the import decides.
    return { name: json.name, text, weights: null, weightsProblem: err instanceof Error ? err.message : String(err), weightFiles: [] };
  }
}
