/**
 * A model's weights as tfjs save artifacts and back: what the worker sends to the page and the
 * history keeps, what the command line writes with --save and reads with --weights.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { WeightArtifacts } from './worker/protocol';

type Tf = typeof tfType;

/** The model's topology and weights as tfjs saves them, the weights in one buffer. */
export async function artifactsOf(tf: Tf, model: tfType.LayersModel): Promise<WeightArtifacts> {
  let saved: WeightArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      saved = {
        modelTopology: artifacts.modelTopology as object,
        weightSpecs: (artifacts.weightSpecs ?? []).map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype })),
        weightData: Array.isArray(data) ? (tf.io.concatenateArrayBuffers(data) as ArrayBuffer) : (data as ArrayBuffer),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

/**
 * Weights without a topology (what a PyTorch export's save_tfjs_weights writes when the export had
 * no tfjs-topology.json), matched to the model's weights by their tfjs names, which the export's
 * weight table took from the same graph. Every weight the model has must be there with its shape.
 */
function loadByName(tf: Tf, model: tfType.LayersModel, weights: WeightArtifacts, what: string): void {
  const saved = new Map<string, { shape: number[]; values: Float32Array | Int32Array }>();
  let offset = 0;
  for (const spec of weights.weightSpecs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = spec.dtype === 'int32' ? new Int32Array(weights.weightData, offset, count) : new Float32Array(weights.weightData, offset, count);
    saved.set(spec.name, { shape: spec.shape, values });
    offset += count * 4;
  }
  const missing = model.weights.filter((w) => !saved.has(w.originalName));
  if (missing.length)
    throw new Error(
      `The saved weights do not fit ${what}: ${missing.length} of its ${model.weights.length} weights are not in the file (first: ${missing
        .slice(0, 3)
        .map((w) => w.originalName)
        .join(', ')}). Were they saved from another graph?`,
    );
  const wrong = model.weights.find((w) => saved.get(w.originalName)!.shape.join() !== w.shape.join());
  if (wrong)
    throw new Error(
      `The saved weight "${wrong.originalName}" has shape [${saved.get(wrong.originalName)!.shape.join(', ')}], but ${what} needs [${wrong.shape.join(', ')}].`,
    );
  const tensors = model.weights.map((w) => {
    const s = saved.get(w.originalName)!;
    return tf.tensor(s.values, s.shape, w.dtype);
  });
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Loads saved weights into a model of the same layers, matched by position and shape; throws a
 * plain message when they do not fit (another graph, a layer added or resized since).
 */
export async function loadArtifactsInto(tf: Tf, model: tfType.LayersModel, weights: WeightArtifacts, what = 'this graph'): Promise<void> {
  if (!weights.modelTopology) return loadByName(tf, model, weights, what);
  const source = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: weights.modelTopology,
      weightSpecs: weights.weightSpecs as tfType.io.WeightsManifestEntry[],
      weightData: weights.weightData,
    }),
  );
  try {
    const values = source.getWeights();
    const targets = model.getWeights();
    if (values.length !== targets.length || values.some((v, i) => v.shape.join() !== targets[i]!.shape.join())) {
      throw new Error(`The saved weights do not fit ${what} (different layers or shapes): ${values.length} weights saved, ${targets.length} expected.`);
    }
    model.setWeights(values);
  } finally {
    source.dispose();
  }
}
