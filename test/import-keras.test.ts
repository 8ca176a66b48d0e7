import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, lower, loadGraph, summarize } from '../src/compiler/index';
import { IMPORTABLE_LAYERS, importModel } from '../src/compiler/import-keras';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import type { Plan } from '../src/compiler/plan';
import { run } from '../src/cli/main';
import { buildModel } from '../src/runtime/build';
import { TEMPLATES, templateDocument } from '../templates/index';
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

describe('tfjs model.json of every template network imports with the same summary', () => {
  it.each(templatePlans().map((t) => [t.id, t.plan] as const))('%s', (_id, plan) => {
    const model = buildModel(plan, { seed: 1 });
    const topology = model.toJSON(undefined, false) as object;
    const outputShape = model.outputs.map((o) => o.shape);
    const layersWithWeights = model.layers.filter((l) => l.weights.length > 0).length;
    model.dispose();
    const result = importModel(JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [] }));
    if (process.env.SHOW_IMPORT) console.log(_id, result.doc ? 'imported' : result.problems.map((p) => p.className).join(','));
    if (!result.doc) {
      // Only layers the import has no mapping for may stop it, each named.
      expect(result.problems.length).toBeGreaterThan(0);
      for (const p of result.problems) {
        expect(IMPORTABLE_LAYERS).not.toContain(p.className);
        expect(p.reason).toContain(`no "${p.className}" layer`);
      }
      return;
    }
    const imported = lower(analyze(result.doc));
    expect(imported.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(imported.plan!.count).toEqual(plan.count);
    const rebuilt = buildModel(imported.plan!);
    expect(rebuilt.outputs.map((o) => o.shape)).toEqual(outputShape);
    expect(rebuilt.layers.filter((l) => l.weights.length > 0).length).toBe(layersWithWeights);
    rebuilt.dispose();
  });
});

describe('weights saved with a model come with the import', () => {
  it.each([
    ['convmixer', 'mnist'],
    ['mlp-mixer', 'mnist'],
  ])('%s --preset %s: same weights by name, same outputs', (template, preset) => {
    const result = templateDocument(template, preset);
    if ('error' in result) throw new Error(result.error);
    const { plan } = lower(analyze(result.doc));
    const model = buildModel(plan!, { seed: 3 });
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
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 5);
    const a = model.predict(x) as tfType.Tensor;
    const b = rebuilt.predict(x) as tfType.Tensor;
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
    tf.dispose([x, a, b]);
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
