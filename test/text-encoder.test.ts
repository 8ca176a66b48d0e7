/**
 * The Text encoder library block (CLIP's text tower): placed from the palette it brings the
 * Transformer block it holds, counts CLIP's formula (vocab·W + context·W + L·(12W² + 13W) + 2W + W·E),
 * builds with that many weights, and reads the end-of-text token: tokens after it change nothing,
 * tokens before it do.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { addItem } from '../src/editor/graph-ops';
import { buildModel } from '../src/runtime/build';
import { countWeights, useCpuBackend } from './helpers/tf';
import { graph } from './helpers/graphs';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

it('placed from the palette, counts as CLIP does, builds, and takes the end-of-text token', () => {
  const empty = graph([{ id: 'ids', type: 'Input', params: { shape: [8], dtype: 'int32' } }], []);
  const placed = addItem(empty, { kind: 'block', id: 'TextEncoder' }, { x: 0, y: 100 });
  expect(placed.doc.blocks.map((b) => b.id).sort()).toEqual(['TextEncoder', 'TransformerBlock']);
  const node = placed.doc.nodes.find((n) => n.id === placed.id)!;
  node.params = { ...node.params, vocabSize: 20, width: 16, numHeads: 2, mlpDim: 64, embedDim: 6 };
  const doc = {
    ...placed.doc,
    nodes: [...placed.doc.nodes, { id: 'out', type: 'Output', params: {} }],
    edges: [
      { id: 'a', source: 'ids', sourcePort: 'out', target: placed.id, targetPort: 'x' },
      { id: 'b', source: placed.id, sourcePort: 'y', target: 'out', targetPort: 'in' },
    ],
  };
  const analysis = analyze(doc);
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(analysis.main.nodes.get(placed.id)!.outputs!.y).toEqual([null, 6]);
  const w = 16;
  expect(analysis.count.trainable).toBe(20 * w + 8 * w + 2 * (12 * w * w + 13 * w) + 2 * w + w * 6);
  const { plan } = lower(analysis);
  const model = buildModel(plan!, { seed: 2 });
  expect(countWeights(model)).toEqual(analysis.count);
  // End of text (19, the largest id) at position 3.
  const texts = [
    [2, 5, 7, 19, 0, 0, 0, 0],
    [2, 5, 7, 19, 9, 3, 11, 4],
    [2, 6, 7, 19, 0, 0, 0, 0],
  ];
  const [a, b, c] = texts.map((t) => tf.tidy(() => Array.from((model.predict(tf.tensor2d([t], [1, 8], 'int32')) as tfType.Tensor).dataSync())));
  expect(Math.max(...a!.map((v, i) => Math.abs(v - b![i]!)))).toBeLessThan(1e-6);
  expect(Math.max(...a!.map((v, i) => Math.abs(v - c![i]!)))).toBeGreaterThan(1e-4);
  model.dispose();
});
