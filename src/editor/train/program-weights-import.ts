/**
 * Reading a training program's weights back: the weights.zip a program run exports, or a picked
 * folder (what `patchbay train --save DIR` and the PyTorch export's weights.py write), each holding a
 * folder per network with its model.json and weights.bin. Each folder named after a network of the
 * program is checked against that network's weights (names and shapes, as a fresh build of its plan
 * has them) before its weight file is read; folders that are no network are listed, networks without
 * a folder start fresh. Every limit is checked before reading, and a problem is said in words: nothing
 * is imported then, and the graph stays as it was. Takes plain Blobs, so it is tested in Node.
 */
import { formatBytes } from '../../document/limits';
import { blobSource, readZipDirectory, readZipEntry, type ZipEntry } from '../../runtime/data/zip-reader';
import type { PlanWeightSpec } from '../../runtime/plan-weight-specs';
import type { WeightArtifacts } from '../../runtime/worker/protocol';
import {
  manifestOf,
  MAX_IMPORTED_WEIGHT_BYTES,
  MAX_MODEL_JSON_BYTES,
  MAX_MODEL_ZIP_BYTES,
  readWeights,
  type Manifest,
  type PickedFile,
  type WeightSource,
} from '../model-files';

/** More network folders than any program has; a pick with more is not a program's weights. */
export const MAX_NETWORK_FOLDERS = 64;
/** Files in a picked folder: an export folder holds a few per network; more is the wrong folder. */
export const MAX_PICKED_FILES = 10_000;

/** What a program's import brought: weights by network id, and what did not fit in. */
export interface ProgramWeightsImport {
  /** The .zip's or the folder's name. */
  source: string;
  networks: Record<string, WeightArtifacts>;
  /** Folders with a model.json that are no network of the program (their weights were not read). */
  unknown: string[];
  /** Networks of the program without a folder: they start from their initial weights. */
  missing: string[];
}

/** A file of the pick or an entry of the .zip, by its path. */
interface Item {
  path: string;
  size: number;
  read: () => Promise<Uint8Array>;
}

const baseName = (path: string) => path.split('/').pop() ?? path;
const dirName = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
/** A name from the files, cut short for a message (messages are shown as text, never as HTML). */
const shown = (text: string, max = 80) => JSON.stringify(Array.from(text).length > max ? `${Array.from(text).slice(0, max).join('')}…` : text);
const shapeText = (shape: number[]) => `[${shape.join(', ')}]`;
/** The bytes as an ArrayBuffer of their own (a copy only when they are a view into a larger one). */
const ownBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);

/**
 * Why a network's saved weights do not fit it, naming the first weight that differs, or null when
 * every weight the network has is there with its shape and the file holds no other.
 */
export function weightsDifference(expected: readonly PlanWeightSpec[], saved: readonly PlanWeightSpec[]): string | null {
  const byName = new Map(saved.map((w) => [w.name, w]));
  for (const [i, want] of expected.entries()) {
    const got = byName.get(want.name);
    if (!got) {
      const there = saved[i];
      return `its weight ${shown(want.name)} ${shapeText(want.shape)} is not in the file${there ? ` (the file has ${shown(there.name)} ${shapeText(there.shape)} in its place)` : ''}`;
    }
    if (got.shape.join() !== want.shape.join())
      return `its weight ${shown(want.name)} has shape ${shapeText(got.shape)} in the file, but the network's is ${shapeText(want.shape)}`;
  }
  const wanted = new Set(expected.map((w) => w.name));
  const extra = saved.find((w) => !wanted.has(w.name));
  if (extra) return `the file holds a weight ${shown(extra.name)} ${shapeText(extra.shape)} that the network does not have`;
  return null;
}

/** The weight names and shapes a model.json's manifest lists (manifestOf has checked the shapes). */
function specsOf(text: string): PlanWeightSpec[] {
  const groups = (JSON.parse(text) as { weightsManifest: Array<{ weights: Array<{ name: unknown; shape: number[] }> }> }).weightsManifest;
  return groups.flatMap((g) => g.weights.map((w) => ({ name: String(w.name), shape: w.shape })));
}

/** The items of a picked .zip, or a message; its size and entry count are checked before anything else is read. */
async function zipItems(zip: PickedFile): Promise<Item[] | { error: string }> {
  if (zip.blob.size > MAX_MODEL_ZIP_BYTES)
    return {
      error: `${shown(zip.name)} is ${formatBytes(zip.blob.size)}; Patchbay imports a weights .zip of up to ${formatBytes(MAX_MODEL_ZIP_BYTES)}. Nothing was read.`,
    };
  const source = blobSource(zip.blob);
  let entries: ZipEntry[];
  try {
    entries = await readZipDirectory(source, shown(zip.name));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  return entries
    .filter((e) => !e.name.startsWith('__MACOSX/') && !e.name.endsWith('/'))
    .map((e) => ({ path: e.name, size: e.size, read: () => readZipEntry(source, e, shown(zip.name)) }));
}

/**
 * Reads the weights of the program's networks from a .zip or a picked folder (each file named by
 * its path in the folder, as `webkitRelativePath` gives it). `expected`: each network's weights by
 * network id; `labels`: the networks' names as the editor shows them.
 */
export async function readProgramWeights(
  picked: PickedFile[],
  expected: Record<string, readonly PlanWeightSpec[]>,
  labels: Record<string, string> = {},
): Promise<ProgramWeightsImport | { error: string }> {
  if (picked.length === 0) return { error: 'No files were picked.' };
  const zips = picked.filter((f) => /\.zip$/i.test(f.name));
  let items: Item[];
  let source: string;
  if (zips.length) {
    if (picked.length > 1) return { error: 'Pick either one .zip, or one folder, not both.' };
    source = zips[0]!.name;
    const read = await zipItems(zips[0]!);
    if ('error' in read) return read;
    items = read;
  } else {
    if (picked.length > MAX_PICKED_FILES)
      return {
        error: `The folder holds ${picked.length.toLocaleString('en-US')} files; a program's weights are a folder per network with model.json and weights.bin. Pick that folder, or its weights.zip.`,
      };
    const tops = new Set(picked.map((f) => (f.name.includes('/') ? f.name.slice(0, f.name.indexOf('/')) : '')));
    source = tops.size === 1 && !tops.has('') ? [...tops][0]! : 'the picked files';
    items = picked.map((f) => ({ path: f.name, size: f.blob.size, read: async () => new Uint8Array(await f.blob.arrayBuffer()) }));
  }
  const label = (id: string) => labels[id] ?? id;
  const networkIds = Object.keys(expected);
  const how = `Pick the weights.zip a run of this program exported, or the folder that holds a folder per network (${networkIds
    .slice(0, 6)
    .map((id) => `${id}/model.json and ${id}/weights.bin`)
    .join(', ')}${networkIds.length > 6 ? ', …' : ''}).`;

  const jsons = items.filter((i) => baseName(i.path).toLowerCase() === 'model.json');
  if (jsons.length === 0) return { error: `${shown(source)} holds no model.json. ${how}` };
  if (jsons.length > MAX_NETWORK_FOLDERS)
    return { error: `${shown(source)} holds ${jsons.length} model.json files; a program has at most ${MAX_NETWORK_FOLDERS} networks. ${how}` };
  // Each model.json's folder is named after its network: model/model.json, or weights/model/model.json.
  const folders = new Map<string, Item>();
  const unknown: string[] = [];
  for (const json of jsons) {
    const folder = dirName(json.path);
    const name = baseName(folder);
    if (!Object.prototype.hasOwnProperty.call(expected, name)) {
      unknown.push(folder || '(the top level)');
      continue;
    }
    const twin = folders.get(name);
    if (twin)
      return {
        error: `${shown(source)} has two folders for network “${label(name)}”: ${shown(dirName(twin.path))} and ${shown(folder)}. Keep one folder per network.`,
      };
    folders.set(name, json);
  }
  if (folders.size === 0)
    return {
      error: `No folder in ${shown(source)} is named after a network of this program (its networks: ${networkIds.join(', ')}; the folders: ${unknown
        .slice(0, 6)
        .map((u) => shown(u))
        .join(', ')}${unknown.length > 6 ? ', …' : ''}). ${how}`,
    };

  // Every model.json first: the weights are checked against the networks, and their size against the limit, before any weight file is read.
  const byPath = new Map(items.map((i) => [i.path, i]));
  const parsed: Array<{ id: string; json: Item; text: string; manifest: Manifest }> = [];
  for (const [id, json] of folders) {
    if (json.size > MAX_MODEL_JSON_BYTES)
      return {
        error: `${shown(json.path)} is ${formatBytes(json.size)}; a model.json holds the topology, not the weights, and Patchbay reads one of up to ${formatBytes(MAX_MODEL_JSON_BYTES)}.`,
      };
    let text: string;
    let manifest: Manifest | null;
    try {
      text = new TextDecoder('utf-8').decode(await json.read());
      manifest = manifestOf(text);
    } catch (err) {
      return { error: `${shown(json.path)}: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!manifest) return { error: `${shown(json.path)} lists no weights (its weightsManifest is empty or missing).` };
    const difference = weightsDifference(expected[id]!, specsOf(text));
    if (difference) return { error: `The weights in ${shown(dirName(json.path))} do not fit network “${label(id)}”: ${difference}.` };
    parsed.push({ id, json, text, manifest });
  }
  const bytes = parsed.reduce((sum, p) => sum + p.manifest.bytes, 0);
  if (bytes > MAX_IMPORTED_WEIGHT_BYTES)
    return {
      error: `The networks' model.json files describe ${formatBytes(bytes)} of weights; Patchbay imports at most ${formatBytes(MAX_IMPORTED_WEIGHT_BYTES)}, so they were not read.`,
    };

  const networks: Record<string, WeightArtifacts> = {};
  for (const { id, json, text, manifest } of parsed) {
    const folder = dirName(json.path);
    const find = (path: string): WeightSource | undefined => {
      const item = byPath.get(`${folder ? `${folder}/` : ''}${path.replace(/^\.\//, '')}`) ?? byPath.get(`${folder ? `${folder}/` : ''}${baseName(path)}`);
      return item && { name: item.path, size: item.size, read: async () => ownBuffer(await item.read()) };
    };
    let read: Awaited<ReturnType<typeof readWeights>>;
    try {
      read = await readWeights(text, manifest, find);
    } catch (err) {
      return { error: `Network “${label(id)}” (${shown(folder)}): ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!read.weights) return { error: `Network “${label(id)}” (${shown(folder)}): ${read.weightsProblem ?? 'its weights could not be read.'}` };
    networks[id] = read.weights;
  }
  return { source, networks, unknown, missing: networkIds.filter((id) => !(id in networks)) };
}
