import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE_SPECS } from '../src/nodes/registry';
import { isProblem, type AnySpec } from '../src/nodes/spec';
import { evaluate } from '../src/runtime/build';
import { createCustomLayer } from '../src/runtime/custom-layers';
import { countWeights, useCpuBackend } from './helpers/tf';

/**
 * The layer-test harness (Keras's run_layer_test idea): for every spec and each of its examples,
 * the params parse, our inferred shape equals the shape tfjs builds, our parameter counts equal
 * tfjs's weights, a forward pass gives that shape, and the tfjs config round-trips. Custom layers
 * (src/runtime/layers) go through the same checks as tfjs's own.
 */
let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

const withExamples = NODE_SPECS.filter((s) => s.examples.length > 0 && !s.internal);

describe.each(withExamples.map((s) => [s.type, s] as [string, AnySpec]))('%s', (_type, spec) => {
  it('has a label, a description and key params that exist', () => {
    expect(spec.label.length).toBeGreaterThan(0);
    expect(spec.description.length).toBeGreaterThan(10);
    const keys = Object.keys(spec.params.shape);
    for (const k of spec.keyParams) expect(keys).toContain(k);
  });

  it('parses defaults, and every param has a description', () => {
    expect(spec.params.safeParse({}).success).toBe(true);
    for (const [key, field] of Object.entries(spec.params.shape)) {
      expect((field as { description?: string }).description, `${spec.type}.${key} needs a description`).toBeTruthy();
    }
  });

  it.each(spec.examples.map((e, i) => [i, e] as const))('example %i: inferred shape and counts match tfjs', (_i, example) => {
    const params = spec.params.parse(example.params) as Record<string, unknown>;
    const inputs = example.inputs.map((s) => [null, ...s]);
    const inferred = spec.infer(params, inputs);
    expect(isProblem(inferred), JSON.stringify(inferred)).toBe(false);
    const lowering = spec.lower(params);
    if (lowering.kind === 'input') {
      const input = tf.input({ shape: params.shape as number[] });
      expect(input.shape).toEqual(inferred);
      return;
    }
    if (lowering.kind === 'identity') {
      expect(inferred).toEqual(inputs[0]);
      return;
    }
    const symbolic = example.inputs.map((s) => tf.input({ shape: s, dtype: spec.type === 'Embedding' ? 'int32' : 'float32' }));
    const config = evaluate(lowering.config, {}, symbolic[0]) as Record<string, unknown>;
    const layer = lowering.custom
      ? createCustomLayer(lowering.factory, config)
      : (tf.layers as unknown as Record<string, ((c: object) => tfType.layers.Layer) | undefined>)[lowering.factory]?.(config);
    if (!layer) throw new Error(`${spec.type} lowers to "${lowering.factory}", which ${lowering.custom ? 'no custom layer class' : 'no tfjs factory'} builds.`);
    const output = layer.apply(symbolic.length === 1 ? symbolic[0]! : symbolic) as tfType.SymbolicTensor;
    expect(output.shape).toEqual(inferred);

    const model = tf.model({ inputs: symbolic, outputs: output });
    const counted = spec.countParams(params, inputs, inferred as (number | null)[]);
    expect(countWeights(model)).toEqual(counted);

    // A real forward pass agrees with the symbolic shape.
    const batch = example.inputs.map((s) => (spec.type === 'Embedding' ? tf.zeros([2, ...s], 'int32') : tf.randomNormal([2, ...s])));
    const y = model.predict(batch.length === 1 ? batch[0]! : batch) as tfType.Tensor;
    expect(y.shape).toEqual([2, ...(inferred as number[]).slice(1)]);
    tf.dispose([y, ...batch]);

    // The config round-trips through tfjs serialisation.
    const cls = layer.constructor as unknown as { fromConfig: (c: typeof tfType.serialization.Serializable, cfg: object) => tfType.layers.Layer };
    const rebuilt = cls.fromConfig(layer.constructor as never, layer.getConfig());
    const plain = (c: object) => JSON.parse(JSON.stringify(c));
    expect(plain(rebuilt.getConfig())).toMatchObject(plain(layer.getConfig()));
    model.dispose?.();
  });
});

it('every exported layer spec has at least one example', () => {
  const missing = NODE_SPECS.filter((s) => !s.internal && s.examples.length === 0).map((s) => s.type);
  expect(missing).toEqual([]);
});
