/**
 * Custom layers (src/runtime/layers): the generated sources the emitter copies are not stale, the
 * classes are registered so tfjs reads saved models back, GroupNormalization and L2 normalise give
 * PyTorch's outputs and gradients (test/fixtures/custom-layers/reference.json, written by the
 * committed make_reference.py), their specs refuse what they cannot do, and an exported module
 * builds the same model and loads the weights the app saved.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emit } from '../src/compiler/emit';
import { CUSTOM_LAYER_SOURCES } from '../src/compiler/generated/layer-sources';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import type { Plan } from '../src/compiler/plan';
import { NODE_SPECS } from '../src/nodes/registry';
import { isProblem, type Shape } from '../src/nodes/spec';
import { GroupNormalizationSpec } from '../src/nodes/layers/group-normalization';
import { L2NormalizeSpec } from '../src/nodes/layers/l2-normalize';
import { buildModel } from '../src/runtime/build';
import { createCustomLayer, CUSTOM_LAYERS } from '../src/runtime/custom-layers';
import { GENERATED_FILE, GENERATED_NAMES_FILE, generateLayerNames, generateLayerSources } from '../scripts/gen-layer-sources';
import { customLayers } from './fixtures-graphs';
import { useCpuBackend } from './helpers/tf';

const ROOT = join(import.meta.dirname, '..');

interface GroupNormCase {
  name: string;
  groups: number;
  epsilon: number;
  shape: number[];
  x: number[];
  gamma: number[];
  beta: number[];
  upstream: number[];
  y: number[];
  dx: number[];
  dgamma: number[];
  dbeta: number[];
}
interface L2Case {
  name: string;
  axis: number;
  epsilon: number;
  shape: number[];
  x: number[];
  upstream: number[];
  y: number[];
  dx: number[];
}
const REFERENCE = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'custom-layers', 'reference.json'), 'utf8')) as {
  groupNormalization: GroupNormCase[];
  l2Normalize: L2Case[];
};

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

/** Largest |actual − expected| relative to the expected values' scale (at least 1). */
function maxError(actual: tfType.Tensor, expected: number[]): number {
  const a = actual.dataSync();
  expect(a.length).toBe(expected.length);
  const scale = Math.max(1, ...expected.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - expected[i]!) / scale);
  return worst;
}

function planOf(doc = customLayers()): Plan {
  const { plan, diagnostics } = lower(analyze(doc));
  expect(diagnostics).toEqual([]);
  return plan!;
}

/** Weights away from their constant initial values (gamma 1, beta 0), so a wrong use of them shows. */
function randomWeights(model: tfType.LayersModel, seed: number): tfType.Tensor[] {
  return model.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed + i));
}

describe('generated layer sources', () => {
  it('src/compiler/generated/layer-sources.ts is what scripts/gen-layer-sources.ts writes from src/runtime/layers now', () => {
    // Stale when a layer changed without `npm run gen:layers`: the export would carry old code.
    expect(readFileSync(GENERATED_FILE, 'utf8'), 'run npm run gen:layers').toBe(generateLayerSources());
    expect(readFileSync(GENERATED_NAMES_FILE, 'utf8'), 'run npm run gen:layers').toBe(generateLayerNames());
  });

  it('every runtime class has its source and every source its class; every custom spec lowers to one of them', () => {
    expect([...CUSTOM_LAYERS.keys()].sort()).toEqual(Object.keys(CUSTOM_LAYER_SOURCES).sort());
    const custom = NODE_SPECS.flatMap((spec) => spec.examples.map((e) => spec.lower(spec.params.parse(e.params)))).filter(
      (l) => l.kind === 'layer' && l.custom,
    );
    expect(custom.length).toBeGreaterThan(0);
    for (const lowering of custom) {
      if (lowering.kind !== 'layer') continue;
      expect(CUSTOM_LAYERS.has(lowering.factory), lowering.factory).toBe(true);
      expect(CUSTOM_LAYER_SOURCES[lowering.factory]!.declares[0]).toBe(lowering.factory);
    }
  });

  it('refuses a layer file whose text could not stand alone in an export', () => {
    const good = readFileSync(join(ROOT, 'src', 'runtime', 'layers', 'l2-normalize.ts'), 'utf8');
    const broken: Array<[string, string, RegExp]> = [
      [
        'another import',
        good.replace("import * as tf from '@tensorflow/tfjs';", "import * as tf from '@tensorflow/tfjs';\nimport { derivedSeed } from '../seeds';"),
        /imports only tfjs/,
      ],
      [
        'a className that is not the class name',
        good.replace("static className = 'PatchbayL2Normalize';", "static className = 'L2Normalize';"),
        /static className = 'PatchbayL2Normalize'/,
      ],
      ['no registration', good.replace('tf.serialization.registerClass(PatchbayL2Normalize);', ''), /registerClass/],
      ['a top-level name of its own', `${good}\nexport const EPSILON = 1e-12;\n`, /EPSILON/],
    ];
    for (const [what, text, message] of broken) {
      const dir = mkdtempSync(join(tmpdir(), 'patchbay-layers-'));
      writeFileSync(join(dir, 'l2-normalize.ts'), text);
      expect(() => generateLayerSources(dir), what).toThrow(message);
    }
  });

  it('the emitter names only classes it carries: a plan with another custom factory is refused', () => {
    const plan = planOf();
    const step = plan.main.steps.find((s) => s.kind === 'layer' && s.custom)!;
    if (step.kind === 'layer') step.factory = 'alert(1); class X';
    expect(() => emit(plan)).toThrow(/has no class in src\/runtime\/layers/);
  });
});

describe('registration', () => {
  it('each class is what tfjs deserialises its class_name to', () => {
    // tfjs-layers looks a saved layer up by its static className alone (registerClass's package
    // argument only names it in another map that loading does not read), so the className itself
    // carries the Patchbay prefix.
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    for (const [name, cls] of CUSTOM_LAYERS) {
      expect(name.startsWith('Patchbay')).toBe(true);
      expect(map[name]?.[0]).toBe(cls);
    }
  });
});

describe('GroupNormalization matches PyTorch nn.GroupNorm', () => {
  it.each(REFERENCE.groupNormalization.map((c) => [c.name, c] as const))('%s: output and gradients for x, gamma and beta', (_name, c) => {
    const layer = createCustomLayer('PatchbayGroupNormalization', { groups: c.groups, epsilon: c.epsilon })!;
    const x = tf.tensor(c.x, c.shape);
    const upstream = tf.tensor(c.upstream, c.shape);
    layer.build(c.shape);
    layer.setWeights([tf.tensor(c.gamma), tf.tensor(c.beta)]);
    const loss = (input: tfType.Tensor) => tf.sum(tf.mul(layer.apply(input) as tfType.Tensor, upstream)) as tfType.Scalar;

    const y = layer.apply(x) as tfType.Tensor;
    const dx = tf.grad(loss)(x);
    // read() hands out the tf.Variable itself (typed as a Tensor), which variableGrads differentiates by.
    const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tfType.Variable);
    const { value, grads } = tf.variableGrads(() => loss(x), [gamma!, beta!]);
    const errors = {
      y: maxError(y, c.y),
      dx: maxError(dx, c.dx),
      dgamma: maxError(grads[gamma!.name]!, c.dgamma),
      dbeta: maxError(grads[beta!.name]!, c.dbeta),
    };
    // float32 against float64: the largest error here is 3.4e-7 (dx, epsilon 1e-3).
    for (const [what, error] of Object.entries(errors)) expect(error, what).toBeLessThan(5e-6);
    tf.dispose([x, upstream, y, dx, value, ...Object.values(grads)]);
    layer.weights.forEach((w) => w.dispose());
  });

  it('the reference tells group counts apart (a test that could fail)', () => {
    const c = REFERENCE.groupNormalization[0]!;
    const layer = createCustomLayer('PatchbayGroupNormalization', { groups: 1, epsilon: c.epsilon })!;
    layer.build(c.shape);
    layer.setWeights([tf.tensor(c.gamma), tf.tensor(c.beta)]);
    const y = layer.apply(tf.tensor(c.x, c.shape)) as tfType.Tensor;
    expect(maxError(y, c.y)).toBeGreaterThan(1e-2);
  });

  it('refuses groups that do not divide the channels, in the layer and in the spec', () => {
    const layer = createCustomLayer('PatchbayGroupNormalization', { groups: 3 })!;
    expect(() => layer.apply(tf.input({ shape: [4, 4, 8] }))).toThrow(/8 channels into 3 groups/);
    const p = GroupNormalizationSpec.params.parse({ groups: 3 });
    const problem = GroupNormalizationSpec.infer(p, [[null, 4, 4, 8]]);
    expect(isProblem(problem) && problem).toMatchObject({
      code: 'PB300',
      param: 'groups',
      message: 'Received 3 groups for 8 channels, expected a number of groups that divides the channel count.',
    });
    expect(isProblem(problem) && problem.help).toMatch(/^Use 2 groups/);
    expect(GroupNormalizationSpec.infer(p, [[null, 5]])).toMatchObject({ code: 'PB300' });
    expect(GroupNormalizationSpec.infer(p, [[null]])).toMatchObject({ code: 'PB301' });
    expect(GroupNormalizationSpec.infer(GroupNormalizationSpec.params.parse({ groups: 2 }), [[null, 3, null]])).toMatchObject({ code: 'PB305' });
  });

  it('counts a gamma and a beta per channel (2·C), for any rank', () => {
    const p = GroupNormalizationSpec.params.parse({ groups: 4 });
    for (const shape of [
      [null, 32, 32, 128],
      [null, 10, 128],
      [null, 128],
    ] as Shape[]) {
      expect(GroupNormalizationSpec.countParams(p, [shape], shape)).toEqual({ trainable: 256, nonTrainable: 0 });
    }
  });
});

describe('L2 normalise matches PyTorch F.normalize', () => {
  it.each(REFERENCE.l2Normalize.map((c) => [c.name, c] as const))('%s: output and gradient', (_name, c) => {
    const layer = createCustomLayer('PatchbayL2Normalize', { axis: c.axis, epsilon: c.epsilon })!;
    const x = tf.tensor(c.x, c.shape);
    const upstream = tf.tensor(c.upstream, c.shape);
    const y = layer.apply(x) as tfType.Tensor;
    const dx = tf.grad((input: tfType.Tensor) => tf.sum(tf.mul(layer.apply(input) as tfType.Tensor, upstream)))(x);
    // The gradient of a row below epsilon is upstream / epsilon: finite, as PyTorch's.
    expect(Array.from(dx.dataSync()).every(Number.isFinite)).toBe(true);
    expect(maxError(y, c.y), 'y').toBeLessThan(2e-6);
    expect(maxError(dx, c.dx), 'dx').toBeLessThan(2e-6);
    tf.dispose([x, upstream, y, dx]);
  });

  it('refuses the batch axis and axes the input does not have', () => {
    for (const axis of [0, 3, -3]) {
      expect(L2NormalizeSpec.infer(L2NormalizeSpec.params.parse({ axis }), [[null, 4, 5]]), `axis ${axis}`).toMatchObject({ code: 'PB300', param: 'axis' });
    }
    for (const axis of [1, 2, -1, -2]) expect(L2NormalizeSpec.infer(L2NormalizeSpec.params.parse({ axis }), [[null, 4, 5]])).toEqual([null, 4, 5]);
  });
});

describe('a model with custom layers', () => {
  it('saves and loads back with tf.loadLayersModel: same classes, configs and outputs', async () => {
    const model = buildModel(planOf(), { seed: 3 });
    const weights = randomWeights(model, 11);
    model.setWeights(weights);
    let saved: tfType.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const topology = JSON.stringify(saved!.modelTopology);
    expect(topology).toContain('"class_name":"PatchbayGroupNormalization"');
    expect(topology).toContain('"class_name":"PatchbayL2Normalize"');

    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const describeLayers = (m: tfType.LayersModel) => m.layers.map((l) => `${l.name}:${l.constructor.name}:${JSON.stringify(l.getConfig())}`);
    expect(describeLayers(loaded)).toEqual(describeLayers(model));
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 5);
    const a = model.predict(x) as tfType.Tensor[];
    const b = loaded.predict(x) as tfType.Tensor[];
    for (let i = 0; i < a.length; i++) expect(tf.max(tf.abs(tf.sub(a[i]!, b[i]!))).dataSync()[0]).toBe(0);
    // The embedding is L2-normalised: every row has length 1.
    expect(Array.from(tf.norm(a[0]!, 'euclidean', -1).dataSync()).every((n) => Math.abs(n - 1) < 1e-5)).toBe(true);
    tf.dispose([x, ...a, ...b, ...weights]);
    model.dispose();
    loaded.dispose();
  });

  it('trains: one step moves every GroupNorm gamma and beta, and no tensor is left behind', () => {
    const model = buildModel(planOf(), { seed: 4 });
    const optimizer = tf.train.sgd(0.1);
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 6);
    const before = model.trainableWeights.map((w) => w.read().clone());
    const count = tf.memory().numTensors;
    tf.tidy(() => {
      optimizer.minimize(() => {
        const [embedding, tokens] = model.apply(x, { training: true }) as tfType.Tensor[];
        return tf.add(tf.sum(tf.mul(embedding!, tf.range(0, 6).reshape([1, 6]))), tf.sum(tf.square(tokens!))) as tfType.Scalar;
      });
    });
    // The optimizer keeps no state for sgd, so what the step made was all disposed.
    expect(tf.memory().numTensors).toBe(count);
    const norms = model.trainableWeights.flatMap((w, i) => (/\/(gamma|beta)(_\d+)?$/.test(w.name) ? [[w, before[i]!] as const] : []));
    expect(norms.length).toBe(8); // four GroupNorms, a gamma and a beta each
    for (const [w, old] of norms) expect(tf.max(tf.abs(tf.sub(w.read(), old))).dataSync()[0], w.name).toBeGreaterThan(0);
    tf.dispose([x, ...before]);
    model.dispose();
  });
});

describe('the exported module', () => {
  const dir = join(ROOT, '.tmp', 'custom-layers-export');
  let restore: () => void = () => {};
  afterAll(() => restore());

  it('declares the classes, builds the same model and reads the weights the app saved', async () => {
    const plan = planOf();
    const source = emit(plan);
    expect(source).toContain('export class PatchbayGroupNormalization extends tf.layers.Layer {');
    expect(source).toContain('export class PatchbayL2Normalize extends tf.layers.Layer {');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.ts'), source);

    const inApp = buildModel(plan);
    const weights = randomWeights(inApp, 21);
    inApp.setWeights(weights);
    let saved: tfType.io.ModelArtifacts | undefined;
    await inApp.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );

    // Importing the module registers its own copies of the classes, under the same names.
    const module = (await import(/* @vite-ignore */ join(dir, 'model.ts'))) as {
      createModel: () => tfType.LayersModel;
      PatchbayGroupNormalization: unknown;
      PatchbayL2Normalize: unknown;
    };
    restore = () => {
      for (const cls of CUSTOM_LAYERS.values()) tf.serialization.registerClass(cls as never);
    };
    const exported = module.createModel();
    exported.setWeights(weights);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    expect(loaded.layers.filter((l) => l.constructor === module.PatchbayGroupNormalization).length).toBe(4); // two in the repeated block, the final norm, the token norm
    expect(loaded.layers.filter((l) => l.constructor === module.PatchbayL2Normalize).length).toBe(1);

    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 9);
    const outputs = [inApp, exported, loaded].map((m) => m.predict(x) as tfType.Tensor[]);
    for (const other of outputs.slice(1)) {
      for (let i = 0; i < 2; i++) expect(tf.max(tf.abs(tf.sub(outputs[0]![i]!, other[i]!))).dataSync()[0]).toBeLessThanOrEqual(1e-6);
    }
    tf.dispose([x, ...outputs.flat(), ...weights]);
    [inApp, exported, loaded].forEach((m) => m.dispose());
  });
});
