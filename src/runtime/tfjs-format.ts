/**
 * tfjs's saved-model file format (what `model.save('downloads://…')` writes and
 * `tf.loadLayersModel` reads), built and parsed as plain JSON and bytes. No tfjs import: the editor's
 * main bundle uses this for "Export weights" and "Import weights" while tfjs stays in the worker.
 */
import type { WeightArtifacts } from './worker/protocol';
import { findExcessiveNesting, MAX_DOCUMENT_DEPTH } from '../document/limits';

export const WEIGHTS_FILE = 'weights.bin';

export interface ModelJson {
  modelTopology: object | null;
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  weightsManifest: Array<{ paths: string[]; weights: WeightArtifacts['weightSpecs'] }>;
}

/** model.json for artifacts whose weights are saved next to it as one `weights.bin`. */
export function toModelJson(artifacts: WeightArtifacts, generatedBy = 'Patchbay'): ModelJson {
  return {
    modelTopology: artifacts.modelTopology,
    format: 'layers-model',
    generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
  };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };

/** Bytes a manifest's weights take (no quantisation). */
export function weightBytes(specs: WeightArtifacts['weightSpecs']): number {
  return specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * (BYTES[s.dtype] ?? 4), 0);
}

/**
 * Reads a model.json (text) and its weight file(s) back into artifacts. The weight files are taken in
 * the order the manifest names them, matched by file name. Throws an Error with a plain message when
 * the files do not fit together.
 */
export function fromModelJson(text: string, files: Map<string, ArrayBuffer>): WeightArtifacts {
  // The topology is later cloned to the worker and into IndexedDB, both recursive walks.
  if (findExcessiveNesting(text))
    throw new Error(`model.json nests lists or objects more than ${MAX_DOCUMENT_DEPTH} levels deep; it is not a tfjs model.json.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('model.json is not valid JSON.');
  }
  const j = json as Partial<ModelJson> & { weightsManifest?: Array<{ paths?: string[]; weights?: WeightArtifacts['weightSpecs'] }> };
  // A null topology is kept (weights saved by a PyTorch export without tfjs-topology.json load by name).
  if (!j || typeof j !== 'object' || j.modelTopology === undefined || typeof j.modelTopology !== 'object' || !Array.isArray(j.weightsManifest)) {
    throw new Error('model.json has no modelTopology or weightsManifest: it is not a tfjs layers model.');
  }
  const specs: WeightArtifacts['weightSpecs'] = [];
  const parts: Uint8Array[] = [];
  for (const group of j.weightsManifest) {
    for (const spec of group.weights ?? []) {
      if ((spec as { quantization?: unknown }).quantization)
        throw new Error(`The weight "${spec.name}" is quantised; only plain float32 weights can be imported.`);
      specs.push({ name: spec.name, shape: spec.shape, dtype: spec.dtype });
    }
    for (const path of group.paths ?? []) {
      const name = path.split('/').pop()!;
      const data = files.get(name);
      if (!data) throw new Error(`model.json needs the weight file "${name}"; pick it together with model.json.`);
      parts.push(new Uint8Array(data));
    }
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const expected = weightBytes(specs);
  if (total !== expected) throw new Error(`The weight file holds ${total} bytes, but model.json describes ${expected}.`);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    weightData.set(p, offset);
    offset += p.byteLength;
  }
  return { modelTopology: j.modelTopology ?? null, weightSpecs: specs, weightData: weightData.buffer };
}
