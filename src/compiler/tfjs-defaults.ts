/**
 * tfjs's own defaults per layer factory. The emitter leaves out config values equal to these, so the
 * export reads like hand-written code; the in-app build passes every value. The export equivalence
 * test compares each layer's full tfjs config between the two, so a wrong entry here fails it.
 */
const CONV = { strides: 1, padding: 'valid', dilationRate: 1, activation: 'linear', useBias: true, kernelInitializer: 'glorotNormal' };

export const TFJS_DEFAULTS: Record<string, Record<string, unknown>> = {
  dense: { activation: 'linear', useBias: true, kernelInitializer: 'glorotNormal' },
  conv2d: CONV,
  depthwiseConv2d: { ...CONV, depthMultiplier: 1, depthwiseInitializer: 'glorotNormal' },
  separableConv2d: { ...CONV, depthMultiplier: 1 },
  conv2dTranspose: CONV,
  maxPooling2d: { padding: 'valid' },
  averagePooling2d: { padding: 'valid' },
  batchNormalization: { axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true },
  layerNormalization: { axis: -1, epsilon: 1e-3, center: true, scale: true },
  concatenate: { axis: -1 },
  upSampling2d: { size: [2, 2], interpolation: 'nearest' },
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function withoutDefaults(factory: string, config: Record<string, unknown>): Record<string, unknown> {
  const defaults = TFJS_DEFAULTS[factory];
  if (!defaults) return config;
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => !(k in defaults && same(v, defaults[k]))));
}
