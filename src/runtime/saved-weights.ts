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
 * Loads saved weights into a model of the same layers, matched by position and shape; throws a
 * plain message when they do not fit (another graph, a layer added or resized since).
 */
export async function loadArtifactsInto(tf: Tf, model: tfType.LayersModel, weights: WeightArtifacts, what = 'this graph'): Promise<void> {
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
