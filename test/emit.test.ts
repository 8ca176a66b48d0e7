import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { emit } from '../src/compiler/emit';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import type { GraphDocument } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import { templateDocument } from '../templates/index';
import { customLayers, kitchenSink } from './fixtures-graphs';
import { countWeights, useCpuBackend } from './helpers/tf';
import { typecheckStrict } from './helpers/tsc';
import { vitEncoderGraph } from './helpers/vit-graphs';

const ROOT = join(import.meta.dirname, '..');
const GENERATED = join(ROOT, '.tmp', 'generated');

function templateDoc(id: string, preset: string): GraphDocument {
  const r = templateDocument(id, preset);
  if ('error' in r) throw new Error(r.error);
  return r.doc;
}

const CASES: Array<[string, () => GraphDocument]> = [
  ['convmixer-mnist', () => templateDoc('convmixer', 'mnist')],
  ['mlp-mixer-mnist', () => templateDoc('mlp-mixer', 'mnist')],
  // Attention, class token, positions and take token; the ViT encoder block holds Transformer blocks (a block in a block).
  ['vit-mnist', () => templateDoc('vit', 'mnist')],
  ['vit-encoder', vitEncoderGraph],
  ['kitchen-sink', kitchenSink],
  // GroupNormalization and L2 normalise: the export carries their classes.
  ['custom-layers', customLayers],
];

function emitted(doc: GraphDocument) {
  const { plan, diagnostics } = lower(analyze(doc));
  expect(diagnostics).toEqual([]);
  return { plan: plan!, source: emit(plan!) };
}

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
  mkdirSync(GENERATED, { recursive: true });
  for (const [name, make] of CASES) writeFileSync(join(GENERATED, `${name}.ts`), emitted(make()).source);
});

describe('golden emitted code', () => {
  it.each(CASES)('%s matches test/golden', (name, make) => {
    const golden = join(ROOT, 'test', 'golden', `${name}.ts`);
    const source = emitted(make()).source;
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, source);
    expect(source).toBe(readFileSync(golden, 'utf8'));
  });
});

it('emitted modules pass tsc --noEmit --strict', () => {
  typecheckStrict(CASES.map(([name]) => join(GENERATED, `${name}.ts`)));
});

describe.each(CASES)('%s: the emitted module rebuilds the in-app model', (name, make) => {
  it('same topology, parameter counts and outputs on the same weights', async () => {
    const { plan } = emitted(make());
    const inApp = buildModel(plan);
    const module = (await import(/* @vite-ignore */ join(GENERATED, `${name}.ts`))) as { createModel: () => tfType.LayersModel };
    const exported = module.createModel();
    try {
      const describeLayers = (m: tfType.LayersModel) => m.layers.map((l) => `${l.name}:${l.getClassName()}:${JSON.stringify(l.outputShape)}`);
      expect(describeLayers(exported)).toEqual(describeLayers(inApp));
      const configs = (m: tfType.LayersModel) => m.layers.map((l) => JSON.stringify({ ...l.getConfig(), name: l.name }));
      expect(configs(exported)).toEqual(configs(inApp));
      expect(countWeights(exported)).toEqual(countWeights(inApp));
      expect(countWeights(inApp)).toEqual(plan.count);

      exported.setWeights(inApp.getWeights());
      const inputs = inApp.inputs.map((input) => tf.randomNormal([3, ...(input.shape.slice(1) as number[])], 0, 1, 'float32', 7));
      const a = [inApp.predict(inputs)].flat() as tfType.Tensor[];
      const b = [exported.predict(inputs)].flat() as tfType.Tensor[];
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) {
        const diff = tf.max(tf.abs(tf.sub(a[i]!, b[i]!))).dataSync()[0]!;
        expect(diff).toBeLessThanOrEqual(1e-5);
      }
      tf.dispose([...inputs, ...a, ...b]);
    } finally {
      inApp.dispose();
      exported.dispose();
    }
  });
});
