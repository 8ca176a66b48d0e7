import * as tf from '@tensorflow/tfjs';

/** Tests run tfjs on the pure-JS CPU backend: deterministic and available everywhere. */
export async function useCpuBackend(): Promise<typeof tf> {
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function countWeights(model: tf.LayersModel): { trainable: number; nonTrainable: number } {
  return {
    trainable: model.trainableWeights.reduce((s, w) => s + sizeOf(w.shape as number[]), 0),
    nonTrainable: model.nonTrainableWeights.reduce((s, w) => s + sizeOf(w.shape as number[]), 0),
  };
}
