/**
 * A network as `patchbay train --save DIR` writes it: `DIR/<network>/model.json` + `weights.bin`.
 * Read back by `train --weights` and by `sample`, through the same parser the editor's weight
 * import uses (it checks that the weight file holds what model.json describes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { fromModelJson, WEIGHTS_FILE } from '../runtime/tfjs-format';
import type { WeightArtifacts } from '../runtime/worker/protocol';

/** Whether `folder` holds a saved network (its model.json). */
export const hasSavedNetwork = (folder: string): boolean => existsSync(join(folder, 'model.json'));

/** The saved network in `folder` as tfjs artifacts; throws a plain message when the files do not fit together. */
export function readSavedNetwork(folder: string): WeightArtifacts {
  const bin = readFileSync(join(folder, WEIGHTS_FILE));
  return fromModelJson(
    readFileSync(join(folder, 'model.json'), 'utf8'),
    new Map([[WEIGHTS_FILE, bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer]]),
  );
}

/** The saved network in `folder` as a model (custom layers must be registered first). */
export function loadSavedModel(tf: typeof tfType, folder: string): Promise<tfType.LayersModel> {
  const w = readSavedNetwork(folder);
  if (!w.modelTopology)
    return Promise.reject(
      new Error(
        `${join(folder, 'model.json')} has no model topology (save_tfjs_weights of a PyTorch export without tfjs-topology.json); export again with patchbay export --format pytorch, which writes it, and save the weights again.`,
      ),
    );
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: w.modelTopology, weightSpecs: w.weightSpecs as tfType.io.WeightsManifestEntry[], weightData: w.weightData }),
  );
}
