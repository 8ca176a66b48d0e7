/**
 * tfjs's own description of a plan's model (what model.json's modelTopology holds), built with the
 * runtime the editor trains with. The PyTorch export carries it as tfjs-topology.json so that
 * weights.py's save_tfjs_weights writes a model.json that the editor and tf.loadLayersModel open:
 * the command line computes it in Node, the editor in the training worker (the page has no tfjs).
 */
import type * as tfType from '@tensorflow/tfjs';
import type { Plan } from '../compiler/plan';
import { buildModel } from './build';

/** The model's topology as JSON (a plain object, safe to clone and to stringify). */
export function tfjsTopologyOf(plan: Plan): object {
  const model: tfType.LayersModel = buildModel(plan);
  try {
    return model.toJSON(undefined, false) as object;
  } finally {
    model.dispose();
  }
}
