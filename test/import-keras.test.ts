import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, lower, loadGraph, summarize } from '../src/compiler/index';
import { IMPORTABLE_LAYERS, importModel } from '../src/compiler/import-keras';
import { NOT_INVERTIBLE, PATCHBAY_LAYER_TYPES, toSnakeCase } from '../src/compiler/import-patchbay-layers';
import { emit } from '../src/compiler/emit';
import type { AnySpec } from '../src/nodes/spec';
import { NODE_SPECS } from '../src/nodes/registry';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import type { Plan } from '../src/compiler/plan';
import { run } from '../src/cli/main';
import { buildModel } from '../src/runtime/build';
import { TEMPLATES, templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';
import { identifiers, structure, tokenize } from './helpers/ts-tokens';
import { useCpuBackend } from './helpers/tf';

/**
 * Import of tfjs and Keras model.json files as graphs: every template network, saved by tfjs, comes
 * back with the same summary (layers, shapes, counts) or with its unmappable layers named; the
 * weights saved with a model load by name into the imported graph and give the same outputs;
 * Keras-style configs written by hand (Sequential, functional in Keras 3's layout) import; layers
 * that cannot be mapped are reported by name with the reason and nothing is imported.
 */
let tf: typeof tfType;
const dir = mkdtempSync(join(tmpdir(), 'patchbay-import-'));
beforeAll(async () => {
  tf = await useCpuBackend();
  await import('../src/runtime/custom-layers');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every network of every template, at its default preset. */
function templatePlans(): Array<{ id: string; plan: Plan }> {
  return TEMPLATES.flatMap((t) => {
    const result = templateDocument(t.info.id);
    if ('error' in result) throw new Error(result.error);
    const doc = result.doc;
    if (doc.program) {
      const { program } = lowerProgram(analyzeProgram(doc)!);
      return program ? program.networks.map((n) => ({ id: `${t.info.id}/${n.id}`, plan: n.plan })) : [];
    }
    const { plan } = lower(analyze(doc));
    return plan ? [{ id: t.info.id, plan }] : [];
  });
}

/** Layers, shapes and counts, without the names the two graphs spell differently (blocks are flattened on import). */
function summaryOf(text: string) {
  const doc = loadGraph(text).doc!;
  const s = summarize(analyze(doc));
  return { trainable: s.trainableParams, nonTrainable: s.nonTrainableParams };
}

/** A model's layers as its model.json lists them (class, config with initialisers and their seeds, inputs), and its inputs and outputs. */
function topologyOf(model: tfType.LayersModel) {
  const { config } = model.toJSON(undefined, false) as unknown as { config: { layers: unknown[]; input_layers: unknown; output_layers: unknown } };
  return { layers: config.layers, inputs: config.input_layers, outputs: config.output_layers };
}

describe('tfjs model.json of every template network imports with the same summary', () => {
  // Every template network imports: no exceptions. Each of its layers, Patchbay's own included,
  // comes back as a node whose params rebuild the very same layer.
  it.each(templatePlans().map((t) => [t.id, t.plan] as const))('%s', (_id, plan) => {
    const model = buildModel(plan, { seed: 1 });
    const original = topologyOf(model);
    const topology = model.toJSON(undefined, false);
    const outputShape = model.outputs.map((o) => o.shape);
    model.dispose();
    const result = importModel(JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [] }));
    expect(result.problems).toEqual([]);
    const imported = lower(analyze(result.doc!));
    expect(imported.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(imported.plan!.count).toEqual(plan.count);
    // Rebuilt with the same seed, the graph is the same model: every layer's class, every config value
    // (a param that fell back to its default would differ here), initialiser seeds, names and wiring.
    const rebuilt = buildModel(imported.plan!, { seed: 1 });
    expect(rebuilt.outputs.map((o) => o.shape)).toEqual(outputShape);
    expect(topologyOf(rebuilt)).toEqual(original);
    rebuilt.dispose();
  });

  it('every Patchbay layer class has a mapping, read back from its spec', () => {
    expect(NOT_INVERTIBLE).toEqual([]);
    const custom = NODE_SPECS.flatMap((spec) => {
      try {
        const lowering = spec.lower(spec.params.parse({}) as never);
        return lowering.kind === 'layer' && lowering.custom ? [[lowering.factory, spec.type]] : [];
      } catch {
        return [];
      }
    });
    expect(custom.map(([factory]) => factory).sort()).toEqual(PATCHBAY_CLASSES);
    expect([...PATCHBAY_LAYER_TYPES]).toEqual(custom);
    for (const [factory] of custom) expect(IMPORTABLE_LAYERS).toContain(factory);
  });
});

/** Every custom layer class of src/runtime/layers, as a saved model names it. */
const PATCHBAY_CLASSES = [
  'PatchbayActNorm',
  'PatchbayAffineCoupling',
  'PatchbayCapsuleLength',
  'PatchbayClassToken',
  'PatchbayDigitCapsules',
  'PatchbayFlowLogit',
  'PatchbayFlowPrior',
  'PatchbayFlowSplit',
  'PatchbayFlowSqueeze',
  'PatchbayGelu',
  'PatchbayGlomLevels',
  'PatchbayGlomUpdate',
  'PatchbayGroupNormalization',
  'PatchbayInvertibleConv1x1',
  'PatchbayL2Normalize',
  'PatchbayMultiHeadSelfAttention',
  'PatchbayPatchesToImage',
  'PatchbayPositionEmbedding',
  'PatchbayPrimaryCapsules',
  'PatchbayRandomTranslation',
  'PatchbaySpatialAttention',
  'PatchbaySquash',
  'PatchbayTakeToken',
  'PatchbayTimeResBlock',
  'PatchbayTimestepEmbedding',
  'PatchbayUNet',
];

/** A one-layer model of `spec` on inputs of these shapes, as tfjs saves it (the layer is named "layer"), and its layer list. */
function savedExample(spec: AnySpec, inputs: number[][], params: Record<string, unknown>) {
  const doc = graph(
    [...inputs.map((shape, i) => ({ id: `x${i}`, type: 'Input', params: { shape } })), { id: 'layer', type: spec.type, params }, { id: 'out', type: 'Output' }],
    [...inputs.map((_s, i) => [`x${i}`, 'layer', spec.inputs[Math.min(i, spec.inputs.length - 1)]!.name] as [string, string, string]), ['layer', 'out']],
  );
  const { plan, diagnostics } = lower(analyze(doc));
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const model = buildModel(plan!, { seed: 1 });
  const original = topologyOf(model);
  const topology = model.toJSON(undefined, false) as unknown as { config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } };
  model.dispose();
  return { topology, original, layer: topology.config.layers.find((l) => l.config.name === 'layer')! };
}

/** Params the specs' examples leave at their defaults, set here so that every param is seen to round-trip. */
const NON_DEFAULT: Record<string, Record<string, unknown>> = {
  PrimaryCapsules: { epsilon: 1e-9 },
  DigitCapsules: { weightStddev: 0.1, epsilon: 1e-8 },
  CapsuleLength: { epsilon: 1e-6 },
  Squash: { epsilon: 1e-6 },
  GlomUpdate: { sharpness: 4 },
  TimeResBlock: { dropout: 0.1 },
  UNet: { dropout: 0.1, heads: 2 },
};

describe("Patchbay's own layers round-trip every param", () => {
  const types = new Set(PATCHBAY_LAYER_TYPES.values());
  const cases = NODE_SPECS.filter((s) => types.has(s.type)).flatMap((spec) => spec.examples.map((e, i) => [`${spec.type} example ${i}`, spec, e] as const));

  it('every param of every custom layer takes a value other than its default in some case', () => {
    const uncovered = NODE_SPECS.filter((s) => types.has(s.type)).flatMap((spec) => {
      const defaults = spec.params.parse({}) as Record<string, unknown>;
      const seen = spec.examples.map((e) => spec.params.parse({ ...e.params, ...NON_DEFAULT[spec.type] }) as Record<string, unknown>);
      return Object.keys(spec.params.shape)
        .filter((k) => seen.every((p) => JSON.stringify(p[k]) === JSON.stringify(defaults[k])))
        .map((k) => `${spec.type}.${k}`);
    });
    expect(uncovered).toEqual([]);
  });

  it.each(cases)('%s: saved by tfjs, imported, rebuilt: the same layer', (_name, spec, example) => {
    const params = spec.params.parse({ ...example.params, ...NON_DEFAULT[spec.type] }) as Record<string, unknown>;
    const { topology, original } = savedExample(spec, example.inputs, params);
    const result = importModel(JSON.stringify({ modelTopology: topology }));
    expect(result.problems).toEqual([]);
    const node = result.doc!.nodes.find((n) => n.id === 'layer')!;
    expect(node.type).toBe(spec.type);
    expect(node.params).toEqual(params);
    const rebuilt = buildModel(lower(analyze(result.doc!)).plan!, { seed: 1 });
    expect(topologyOf(rebuilt)).toEqual(original);
    rebuilt.dispose();
  });
});

/** A template's network at a preset: the graph's plan, or for a training program the named network's. */
function networkPlan(template: string, preset: string, network?: string): Plan {
  const result = templateDocument(template, preset);
  if ('error' in result) throw new Error(result.error);
  if (!network) return lower(analyze(result.doc)).plan!;
  const { program } = lowerProgram(analyzeProgram(result.doc)!);
  return program!.networks.find((n) => n.id === network)!.plan;
}

describe('weights saved with a model come with the import', () => {
  it.each([
    ['convmixer --preset mnist', 'convmixer', 'mnist', undefined],
    ['mlp-mixer --preset mnist', 'mlp-mixer', 'mnist', undefined],
    // Attention, class token, position embedding, take token and GELU, Patchbay's own layers.
    ['vit --preset mnist', 'vit', 'mnist', undefined],
    // A training program's network: primary and digit capsules (routing), capsule length.
    ["capsnet --preset small, the program's model network", 'capsnet', 'small', 'model'],
  ])('%s: same weights by name, same outputs', (_title, template, preset, network) => {
    const plan = networkPlan(template, preset, network);
    const model = buildModel(plan, { seed: 3 });
    const manifest = model.weights.map((w) => ({ name: w.originalName, shape: w.shape, dtype: 'float32' }));
    const imported = importModel(
      JSON.stringify({ modelTopology: model.toJSON(undefined, false), weightsManifest: [{ paths: ['weights.bin'], weights: manifest }] }),
    );
    expect(imported.problems).toEqual([]);
    expect(imported.weightNames).toEqual(manifest.map((m) => m.name));
    const rebuilt = buildModel(lower(analyze(imported.doc!)).plan!, { seed: 99 });
    const byName = new Map(model.weights.map((w) => [w.originalName, w.read()]));
    expect(rebuilt.weights.map((w) => w.originalName).sort()).toEqual([...byName.keys()].sort());
    for (const w of rebuilt.weights) w.write(byName.get(w.originalName)!);
    const x = tf.randomUniform([2, ...(model.inputs[0]!.shape.slice(1) as number[])], 0, 1, 'float32', 5);
    // Every output (CapsNet's model gives its capsules and their lengths), bit for bit.
    const a = [model.predict(x)].flat() as tfType.Tensor[];
    const b = [rebuilt.predict(x)].flat() as tfType.Tensor[];
    expect(b.map((t) => t.shape)).toEqual(a.map((t) => t.shape));
    a.forEach((t, i) => expect(tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]).toBe(0));
    tf.dispose([x, ...a, ...b]);
    model.dispose();
    rebuilt.dispose();
  });
});

/** Keras 2's Sequential: the input shape on the first layer, activations as names, VarianceScaling initialisers. */
const KERAS_SEQUENTIAL = {
  class_name: 'Sequential',
  config: {
    name: 'small_cnn',
    layers: [
      {
        class_name: 'Conv2D',
        config: {
          name: 'conv',
          batch_input_shape: [null, 12, 12, 1],
          filters: 4,
          kernel_size: [3, 3],
          strides: [1, 1],
          padding: 'same',
          data_format: 'channels_last',
          activation: 'relu',
          use_bias: true,
          kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_in', distribution: 'truncated_normal' } },
        },
      },
      { class_name: 'BatchNormalization', config: { name: 'bn', axis: -1, momentum: 0.9, epsilon: 1e-5, center: true, scale: true } },
      { class_name: 'MaxPooling2D', config: { name: 'pool', pool_size: [2, 2], strides: [2, 2], padding: 'valid', data_format: 'channels_last' } },
      { class_name: 'Flatten', config: { name: 'flat', data_format: 'channels_last' } },
      { class_name: 'Dropout', config: { name: 'drop', rate: 0.25 } },
      {
        class_name: 'Dense',
        config: { name: 'out', units: 3, activation: 'softmax', use_bias: true, kernel_initializer: { class_name: 'Orthogonal', config: {} } },
      },
    ],
  },
  keras_version: '2.15.0',
  backend: 'tensorflow',
};

/** Keras 3's functional layout: inbound_nodes hold `__keras_tensor__` args; a residual Add. */
const kt = (name: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 8], dtype: 'float32', keras_history: [name, 0, 0] } });
const KERAS_FUNCTIONAL = {
  module: 'keras.src.models.functional',
  class_name: 'Functional',
  config: {
    name: 'residual_mlp',
    layers: [
      {
        module: 'keras.layers',
        class_name: 'InputLayer',
        config: { batch_shape: [null, 8], dtype: 'float32', name: 'features' },
        name: 'features',
        inbound_nodes: [],
      },
      {
        module: 'keras.layers',
        class_name: 'Dense',
        config: {
          name: 'hidden',
          units: 8,
          activation: 'gelu',
          use_bias: true,
          kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null } },
        },
        name: 'hidden',
        inbound_nodes: [{ args: [kt('features')], kwargs: {} }],
      },
      {
        module: 'keras.layers',
        class_name: 'Add',
        config: { name: 'skip' },
        name: 'skip',
        inbound_nodes: [{ args: [[kt('hidden'), kt('features')]], kwargs: {} }],
      },
      {
        module: 'keras.layers',
        class_name: 'LayerNormalization',
        config: { name: 'norm', axis: -1, epsilon: 1e-6, center: true, scale: true },
        name: 'norm',
        inbound_nodes: [{ args: [kt('skip')], kwargs: {} }],
      },
      {
        module: 'keras.layers',
        class_name: 'Dense',
        config: { name: 'logits', units: 2, activation: 'softmax', use_bias: true },
        name: 'logits',
        inbound_nodes: [{ args: [kt('norm')], kwargs: {} }],
      },
    ],
    input_layers: [['features', 0, 0]],
    output_layers: [['logits', 0, 0]],
  },
};

describe('Keras configs written by hand', () => {
  it('imports a Sequential model, with a note for the initialiser Patchbay lacks', () => {
    const result = importModel(JSON.stringify(KERAS_SEQUENTIAL));
    expect(result.problems).toEqual([]);
    const doc = result.doc!;
    expect(doc.nodes.map((n) => n.type)).toEqual(['Input', 'Conv2D', 'BatchNormalization', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense']);
    expect(doc.nodes[1]!.params).toMatchObject({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'heNormal' });
    expect(result.notes.join(' ')).toMatch(/"out": its kernel initializer \(Orthogonal\)/);
    const s = summarize(analyze(doc));
    expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    // conv 3·3·1·4 + 4, bn 8 (+8 moving), dense 6·6·4·3 + 3
    expect(s.trainableParams).toBe(40 + 8 + 435);
    expect(s.nonTrainableParams).toBe(8);
  });

  it('imports a functional model in Keras 3 layout, residual included', () => {
    const result = importModel(JSON.stringify(KERAS_FUNCTIONAL));
    expect(result.problems).toEqual([]);
    const doc = result.doc!;
    expect(doc.nodes.map((n) => `${n.type}:${n.name ?? ''}`)).toEqual([
      'Input:features',
      'Dense:hidden',
      'Add:skip',
      'LayerNormalization:norm',
      'Dense:logits',
      'Output:',
    ]);
    expect(doc.edges.filter((e) => e.target === 'skip').map((e) => e.source)).toEqual(['hidden', 'features']);
    const s = summarize(analyze(doc));
    expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(s.trainableParams).toBe(8 * 8 + 8 + 16 + 8 * 2 + 2);
  });

  it('reports every layer it cannot map, by name and reason, and imports nothing', () => {
    const config = structuredClone(KERAS_SEQUENTIAL);
    config.config.layers.splice(3, 0, { class_name: 'LSTM', config: { name: 'memory', units: 4 } } as never);
    (config.config.layers[3 + 1] as { config: Record<string, unknown> }).config.data_format = 'channels_first';
    const result = importModel(JSON.stringify(config));
    expect(result.doc).toBeNull();
    expect(result.problems).toEqual([
      { layer: 'memory', className: 'LSTM', reason: 'Patchbay has no "LSTM" layer' },
      { layer: 'flat', className: 'Flatten', reason: 'its data_format is "channels_first"; Patchbay\'s images are channels_last' },
    ]);
  });

  it('refuses a norm over an axis other than the last', () => {
    const config = structuredClone(KERAS_SEQUENTIAL);
    (config.config.layers[1] as { config: Record<string, unknown> }).config.axis = 1;
    const result = importModel(JSON.stringify(config));
    expect(result.doc).toBeNull();
    expect(result.problems[0]).toMatchObject({ layer: 'bn', reason: 'it normalises axis 1 of a rank-4 input; Patchbay normalises the last axis' });
  });

  it('says plainly when the file is not a model', () => {
    expect(importModel('{').problems[0]!.reason).toBe('The file is not valid JSON.');
    expect(importModel('{"weightsManifest": []}').problems[0]!.reason).toMatch(/no model config/);
  });
});

describe('patchbay import', () => {
  it('writes a graph that loads, and names what it cannot map', async () => {
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(KERAS_FUNCTIONAL));
    expect(await run(['import', join(dir, 'model.json'), '--out', join(dir, 'graph.json')], io)).toBe(0);
    expect(summaryOf(readFileSync(join(dir, 'graph.json'), 'utf8')).trainable).toBe(8 * 8 + 8 + 16 + 8 * 2 + 2);
    expect(lines.join('\n')).toMatch(/Imported "residual_mlp": 6 nodes, 106 trainable params/);

    const bad = structuredClone(KERAS_SEQUENTIAL);
    bad.config.layers.push({ class_name: 'GRU', config: { name: 'recurrent\n"x"' } } as never);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    lines.length = 0;
    expect(await run(['import', join(dir, 'bad.json'), '--out', join(dir, 'bad-graph.json')], io)).toBe(1);
    expect(lines.join('\n')).toContain('Layer "recurrent\\n"x"" (GRU): Patchbay has no "GRU" layer.');
    expect(lines.join('\n')).toContain('Nothing was imported: 1 layer cannot be mapped.');
  });
});

describe("hostile configs of Patchbay's own layers are refused, each with the reason", () => {
  const types = new Set(PATCHBAY_LAYER_TYPES.values());
  const withParams = NODE_SPECS.filter((s) => types.has(s.type) && Object.keys(s.params.shape).length > 0);
  const cases = withParams.flatMap((spec) => Object.keys(spec.params.shape).map((key) => [`${spec.type}.${key}`, spec, key] as const));

  it.each(cases)('%s: a huge number, a string where a value goes, an object: refused, naming the key', (_name, spec, key) => {
    const example = spec.examples[0]!;
    const params = spec.params.parse(example.params) as Record<string, unknown>;
    const { topology, layer } = savedExample(spec, example.inputs, params);
    const fileKey = toSnakeCase(key);
    expect(Object.keys(layer.config)).toContain(fileKey);
    for (const [value, reason] of [
      [1e300, new RegExp(`^its ${fileKey}( \\(item 1\\))? is 1e\\+300, (more than a .* layer takes \\(at most 2147483647\\)|expected .*)$`)],
      [2 ** 31, new RegExp(`^its ${fileKey}( \\(item 1\\))? is 2147483648, (more than|expected)`)],
      ['7', new RegExp(`^its ${fileKey} is "7", expected `)],
      ['globalThis.pwned = 1', new RegExp(`^its ${fileKey} is "globalThis\\.pwned = 1", expected `)],
      [{ valueOf: 3 }, new RegExp(`^its ${fileKey} is \\{"valueOf":3\\}, expected `)],
      [null, new RegExp(`^its ${fileKey} is null, expected `)],
    ] as const) {
      layer.config[fileKey] = Array.isArray(params[key]) && typeof value === 'number' ? [value] : value;
      const result = importModel(JSON.stringify({ modelTopology: topology }));
      expect(result.doc, `${fileKey} = ${String(value)}`).toBeNull();
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toMatchObject({ layer: 'layer', className: layer.class_name });
      expect(result.problems[0]!.reason).toMatch(reason);
    }
  });

  it('prototype keys in a config are not params and reach nothing', () => {
    const spec = NODE_SPECS.find((s) => s.type === 'MultiHeadSelfAttention')!;
    const params = spec.params.parse({ numHeads: 2, keyDim: 3, causal: true }) as Record<string, unknown>;
    const { topology, layer } = savedExample(spec, [[5, 8]], params);
    // As JSON.parse reads them: own keys named __proto__ and constructor, never a prototype.
    const hostile = JSON.parse('{"__proto__": {"num_heads": 7, "polluted": 1}, "constructor": {"prototype": {"polluted": 1}}, "toString": "x"}') as object;
    const text = JSON.stringify({ modelTopology: topology }).replace(
      '"class_name":"PatchbayMultiHeadSelfAttention","config":{',
      (m) => `${m}${JSON.stringify(hostile).slice(1, -1)},`,
    );
    expect(text).toContain('"__proto__":{"num_heads":7');
    const result = importModel(text);
    expect(result.problems).toEqual([]);
    expect(result.doc!.nodes.find((n) => n.id === 'layer')!.params).toEqual(params);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // And without the layer's own num_heads, the default is used, not the one under __proto__.
    delete layer.config.num_heads;
    const bare = importModel(
      JSON.stringify({ modelTopology: topology }).replace('"config":{"name":"layer"', `"config":{"__proto__":{"num_heads":7},"name":"layer"`),
    );
    expect(bare.doc!.nodes.find((n) => n.id === 'layer')!.params.numHeads).toBe(4);
  });

  it('wires a layer with more inputs than its node has ports to nothing, and says so', () => {
    const spec = NODE_SPECS.find((s) => s.type === 'GELU')!;
    const { topology, layer } = savedExample(spec, [[6]], spec.params.parse({}) as Record<string, unknown>);
    const inbound = (layer as unknown as { inbound_nodes: unknown[][][] }).inbound_nodes;
    inbound[0]!.push(inbound[0]![0]!);
    const result = importModel(JSON.stringify({ modelTopology: topology }));
    expect(result.doc).toBeNull();
    expect(result.problems).toEqual([{ layer: 'layer', className: 'PatchbayGelu', reason: "it takes 2 inputs; Patchbay's GELU takes 1 (in)" }]);
  });
});

describe('no string from an imported file becomes code in the export', () => {
  it('hostile layer and model names in a tfjs model.json with Patchbay layers export the same code as harmless ones', () => {
    const plan = networkPlan('clip', 'mnist', 'text');
    const model = buildModel(plan, { seed: 1 });
    const topology = JSON.stringify(model.toJSON(undefined, false));
    model.dispose();
    const names = (JSON.parse(topology) as { config: { layers: Array<{ name: string }> } }).config.layers.map((l) => l.name);
    const renamed = (rename: (name: string, i: number) => string, modelName: string) => {
      const json = JSON.parse(topology) as { config: Record<string, unknown> };
      const map = new Map(names.map((n, i) => [n, rename(n, i)]));
      const walk = (v: unknown): unknown =>
        typeof v === 'string' && map.has(v)
          ? map.get(v)
          : Array.isArray(v)
            ? v.map(walk)
            : v && typeof v === 'object'
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
              : v;
      const config = walk(json.config) as Record<string, unknown>;
      config.name = modelName;
      const result = importModel(JSON.stringify({ modelTopology: { ...json, config } }));
      expect(result.problems).toEqual([]);
      const { plan: imported, diagnostics } = lower(analyze(result.doc!));
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      return emit(imported!);
    };
    const harmless = renamed((n) => n, 'text tower');
    const payloads = [
      '\n;globalThis.pwned = 1;//',
      '*/ globalThis.pwned = 1; /*',
      "'; globalThis.pwned = 1; '",
      '`${globalThis.pwned = 1}`',
      '\u2028eval(1)',
      '__proto__',
      'constructor',
    ];
    const hostile = renamed((_n, i) => `${payloads[i % payloads.length]} ${i}`, payloads[0]!);
    expect(harmless).toContain('PatchbayTakeToken');
    expect(structure(tokenize(hostile))).toEqual(structure(tokenize(harmless)));
    for (const name of identifiers(tokenize(hostile))) expect(['globalThis', 'eval'], name).not.toContain(name);
    expect(hostile.split('\n').length).toBe(hostile.split(/\r\n|[\n\r\u2028\u2029]/).length);
  });
});
