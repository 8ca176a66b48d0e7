/**
 * The `vit` template, the Transformer block and the ViT encoder block: the released models'
 * parameter counts (from the CLI, as a user reads them), the paper's count formula for any preset,
 * shapes and counts equal to what tfjs builds, CLIP-style causal text blocks, a nested library block
 * placed from the palette, and a few training steps that lower the loss without leaking tensors.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { addItem } from '../src/editor/graph-ops';
import { getLibraryBlock } from '../src/nodes/blocks/index';
import { buildModel } from '../src/runtime/build';
import { findTemplate, templateDocument } from '../templates/index';
import { countWeights, useCpuBackend } from './helpers/tf';
import { graph } from './helpers/graphs';
import { causalTextGraph, vitEncoderGraph } from './helpers/vit-graphs';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

/**
 * The ViT count from the paper's architecture (papers.md §1): patch embedding P²·C·D + D, class token
 * D, positions (N+1)·D, per block 12D² + 13D (two LayerNorms 4D, q/k/v 3D² + 3D, projection D² + D,
 * MLP 2·D·M + M + D with M = 4D), final LayerNorm 2D, head D·n + n.
 */
function vitParams(image: number, channels: number, patch: number, dim: number, mlp: number, depth: number, classes: number): number {
  const tokens = (image / patch) ** 2 + 1;
  const block = 4 * dim + 4 * dim * dim + 4 * dim + 2 * dim * mlp + mlp + dim;
  return patch * patch * channels * dim + dim + dim + tokens * dim + depth * block + 2 * dim + dim * classes + classes;
}

function planOf(doc: Parameters<typeof analyze>[0]) {
  const { plan, diagnostics } = lower(analyze(doc));
  expect(diagnostics).toEqual([]);
  return plan!;
}

describe('vit template', () => {
  it('patchbay summary vit --preset B/16 --json: 86,567,656 trainable params, as the released ViT-B/16', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'patchbay.js'), 'summary', 'vit', '--preset', 'B/16', '--json'], { cwd: ROOT });
    const summary = JSON.parse(stdout);
    expect(summary.trainableParams).toBe(86_567_656);
    expect(summary.nonTrainableParams).toBe(0);
    expect(summary.inputs).toEqual([{ name: 'image', shape: [null, 224, 224, 3] }]);
    expect(summary.outputs).toEqual([{ name: 'probabilities', shape: [null, 1000] }]);
    // Only PB310: a training step at the paper's batch of 64 keeps about 12 GB of activations, more than a tab has.
    expect(summary.diagnostics.map((d: { code: string }) => d.code)).toEqual(['PB310', 'PB310']);
  });

  it.each([
    ['Ti/16', 5_717_416, 192],
    ['S/16', 22_050_664, 384],
    ['B/16', 86_567_656, 768],
  ] as const)('%s has %d trainable params, the formula with D = %d', (preset, expected, dim) => {
    const r = templateDocument('vit', preset);
    if ('error' in r) throw new Error(r.error);
    const analysis = analyze(r.doc);
    // PB310 aside (S/16 and B/16 at the paper's batch of 64 do not fit a tab's memory: references.test.ts).
    expect(analysis.diagnostics.filter((d) => d.code !== 'PB310')).toEqual([]);
    expect(analysis.count).toEqual({ trainable: expected, nonTrainable: 0 });
    expect(vitParams(224, 3, 16, dim, 4 * dim, 12, 1000)).toBe(expected);
  });

  it('the mnist preset is the default, and tfjs builds exactly what the summary counts', () => {
    const template = findTemplate('vit')!;
    expect(template.info.defaultPreset).toBe('mnist');
    expect(template.presets.map((p) => p.name)).toEqual(['mnist', 'Ti/16', 'S/16', 'B/16']);
    expect(template.doc.training).toMatchObject({ optimizer: 'adamw', schedule: 'warmup-cosine' });
    const r = templateDocument('vit');
    if ('error' in r) throw new Error(r.error);
    const plan = planOf(r.doc);
    const model = buildModel(plan, { seed: 1 });
    expect(countWeights(model)).toEqual(plan.count);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    model.dispose();
  });
});

describe('ViT encoder block (a Transformer block nested inside)', () => {
  it('counts the formula, builds the same count in tfjs, and gives a probability per class', () => {
    const plan = planOf(vitEncoderGraph());
    // 16×16 image, 4×4 patches: 16 tokens + class; width 16, MLP 32, 6 blocks, 5 classes.
    const expected = vitParams(16, 1, 4, 16, 32, 6, 5);
    expect(plan.count).toEqual({ trainable: expected, nonTrainable: 0 });
    const model = buildModel(plan, { seed: 2 });
    expect(countWeights(model).trainable).toBe(expected);
    const y = model.predict(tf.randomNormal([3, 16, 16, 1], 0, 1, 'float32', 3)) as tfType.Tensor;
    expect(y.shape).toEqual([3, 5]);
    const sums = tf.sum(y, 1).dataSync();
    sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
    model.dispose();
  });

  it('placed from the palette, it brings the Transformer block it holds, and compiles', () => {
    const empty = graph([{ id: 'image', type: 'Input', params: { shape: [16, 16, 1] } }], []);
    const { doc, id } = addItem(empty, { kind: 'block', id: 'VitEncoder' }, { x: 0, y: 100 });
    expect(doc.blocks.map((b) => b.id).sort()).toEqual(['TransformerBlock', 'VitEncoder']);
    const wired = { ...doc, edges: [{ id: 'w', source: 'image', sourcePort: 'out', target: id, targetPort: 'x' }] };
    const analysis = analyze(wired);
    expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(analysis.main.nodes.get(id)!.outputs!.y).toEqual([null, 4 * 4 + 1, 64]);
    // Placing it again reuses the document's definitions instead of adding copies.
    const again = addItem(doc, { kind: 'block', id: 'VitEncoder' }, { x: 0, y: 300 }).doc;
    expect(again.blocks.map((b) => b.id).sort()).toEqual(['TransformerBlock', 'VitEncoder']);
  });
});

describe('Conv stem block (a hybrid ViT)', () => {
  const stemGraph = (enabled: boolean) =>
    graph(
      [
        { id: 'image', type: 'Input', params: { shape: [28, 28, 1] } },
        { id: 'stem', type: 'Block', block: 'ConvStem', params: { filters: 8, enabled } },
        { id: 'patches', type: 'Block', block: 'PatchEmbed', params: { dim: 16, patchSize: 7, tokens: true } },
        { id: 'out', type: 'Output' },
      ],
      [
        ['image', 'stem', 'x'],
        ['stem', 'patches', 'x', 'y'],
        ['patches', 'out', 'in', 'y'],
      ],
      { blocks: [structuredClone(getLibraryBlock('ConvStem')!), structuredClone(getLibraryBlock('PatchEmbed')!)] },
    );

  it('on: a 3×3 convolution before the patches (9·1·8 + 8 weights); off: the image passes straight to the patch embedding', () => {
    const on = planOf(stemGraph(true));
    const off = planOf(stemGraph(false));
    expect(on.count.trainable).toBe(9 * 8 + 8 + (49 * 8 * 16 + 16));
    expect(off.count.trainable).toBe(49 * 1 * 16 + 16);
    const model = buildModel(off, { seed: 1 });
    expect(model.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(1);
    expect(countWeights(model)).toEqual(off.count);
    model.dispose();
  });
});

describe('Transformer block with CLIP settings (causal, QuickGELU, epsilon 1e-5)', () => {
  it('counts, builds, and is causal: the output at a position does not change when later tokens do', () => {
    const plan = planOf(causalTextGraph());
    // Embedding 20·12, positions 8·12, two blocks of 12D² + 13D with M = 48 = 4D, final LayerNorm 2D.
    const d = 12;
    expect(plan.count.trainable).toBe(20 * d + 8 * d + 2 * (12 * d * d + 13 * d) + 2 * d);
    const model = buildModel(plan, { seed: 4 });
    expect(countWeights(model)).toEqual(plan.count);
    const configs = model.layers.map((l) => l.getConfig());
    expect(configs.filter((c) => c.causal === true)).toHaveLength(2);
    expect(configs.filter((c) => c.approximate === 'quick')).toHaveLength(2);
    expect(configs.filter((c) => c.epsilon === 1e-5)).toHaveLength(5);

    // End of text (the largest id, 19) at position 3: changing the tokens after it leaves the output as it was.
    const a = tf.tensor2d([[1, 5, 7, 19, 2, 2, 2, 2]], [1, 8], 'int32');
    const b = tf.tensor2d([[1, 5, 7, 19, 9, 3, 11, 4]], [1, 8], 'int32');
    const c = tf.tensor2d([[1, 6, 7, 19, 2, 2, 2, 2]], [1, 8], 'int32');
    const [ya, yb, yc] = [a, b, c].map((ids) => (model.predict(ids) as tfType.Tensor).dataSync());
    expect(Math.max(...ya!.map((v, i) => Math.abs(v - yb![i]!)))).toBeLessThan(1e-6);
    expect(Math.max(...ya!.map((v, i) => Math.abs(v - yc![i]!)))).toBeGreaterThan(1e-4);
    model.dispose();
  });
});

describe('training', () => {
  it('a few steps of a small ViT lower the loss on a fixed batch and leave no tensor behind', async () => {
    const model = buildModel(planOf(vitEncoderGraph()), { seed: 0 });
    model.compile({ optimizer: tf.train.adam(3e-3), loss: 'categoricalCrossentropy' });
    const xs = tf.randomUniform([8, 16, 16, 1], 0, 1, 'float32', 5);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5);
    const first = (await model.trainOnBatch(xs, ys)) as number;
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 5; i++) last = (await model.trainOnBatch(xs, ys)) as number;
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
