import * as tf from '@tensorflow/tfjs';

/**
 * Layers that tfjs lacks (attention, GroupNorm, patchify, timestep embedding, capsule routing, flow
 * couplings…) live here as real `tf.layers.Layer` subclasses, registered for serialisation so that
 * saved models load back. A spec lowers to one with `{ kind: 'layer', factory: '<ClassName>',
 * custom: true }`; the emitter copies the class source from CUSTOM_LAYER_SOURCES into the exported
 * file so an export needs only @tensorflow/tfjs. None of the current specs need one yet.
 */
export type CustomLayerFactory = (config: Record<string, unknown>) => tf.layers.Layer;

export const CUSTOM_LAYERS: Record<string, CustomLayerFactory> = {};

/** TypeScript source of each custom layer class, keyed like CUSTOM_LAYERS, for the emitter. */
export const CUSTOM_LAYER_SOURCES: Record<string, string> = {};

export function registerCustomLayer(name: string, cls: tf.serialization.SerializableConstructor<tf.layers.Layer>, factory: CustomLayerFactory, source: string): void {
  tf.serialization.registerClass(cls);
  CUSTOM_LAYERS[name] = factory;
  CUSTOM_LAYER_SOURCES[name] = source;
}
