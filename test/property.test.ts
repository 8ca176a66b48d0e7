import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadGraph } from '../src/compiler/index';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { saveDocument } from '../src/document/load';
import type { GraphDocument, GraphNode } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';
import { useCpuBackend } from './helpers/tf';

beforeAll(async () => {
  await useCpuBackend();
});

type Op = { type: string; params: Record<string, unknown>; rank: (r: number) => number };
const small = (min: number, max: number) => fc.integer({ min, max });
const act = fc.constantFrom('relu', 'gelu', 'tanh', 'linear', 'swish');

/** Layers by the input rank they accept (batch included) and the rank they produce. */
const OPS: Record<number, fc.Arbitrary<Op>[]> = {
  4: [
    fc
      .record({ filters: small(1, 6), kernelSize: small(1, 4), strides: small(1, 2), padding: fc.constantFrom('valid', 'same'), activation: act })
      .map((params) => ({ type: 'Conv2D', params, rank: () => 4 })),
    fc
      .record({ kernelSize: small(1, 4), depthMultiplier: small(1, 2), padding: fc.constantFrom('valid', 'same') })
      .map((params) => ({ type: 'DepthwiseConv2D', params, rank: () => 4 })),
    fc
      .record({ filters: small(1, 5), kernelSize: small(1, 3), padding: fc.constantFrom('valid', 'same') })
      .map((params) => ({ type: 'SeparableConv2D', params, rank: () => 4 })),
    fc
      .record({ filters: small(1, 4), kernelSize: small(1, 3), strides: small(1, 2), padding: fc.constantFrom('valid', 'same') })
      .map((params) => ({ type: 'Conv2DTranspose', params, rank: () => 4 })),
    fc.record({ poolSize: small(1, 3), padding: fc.constantFrom('valid', 'same') }).map((params) => ({ type: 'MaxPooling2D', params, rank: () => 4 })),
    fc.record({ poolSize: small(1, 3) }).map((params) => ({ type: 'AveragePooling2D', params, rank: () => 4 })),
    fc.record({ size: small(1, 2) }).map((params) => ({ type: 'UpSampling2D', params, rank: () => 4 })),
    fc.record({ padding: small(0, 2) }).map((params) => ({ type: 'ZeroPadding2D', params, rank: () => 4 })),
    fc.constant({ type: 'GlobalAveragePooling2D', params: {}, rank: () => 2 }),
    fc.constant({ type: 'Flatten', params: {}, rank: () => 2 }),
    fc.constant({ type: 'Reshape', params: { targetShape: [-1, 2] }, rank: () => 3 }),
  ],
  3: [
    fc.record({ units: small(1, 6), activation: act }).map((params) => ({ type: 'Dense', params, rank: () => 3 })),
    fc.constant({ type: 'Permute', params: { dims: [2, 1] }, rank: () => 3 }),
    fc.constant({ type: 'LayerNormalization', params: {}, rank: () => 3 }),
    fc.constant({ type: 'GlobalAveragePooling1D', params: {}, rank: () => 2 }),
    fc.constant({ type: 'Flatten', params: {}, rank: () => 2 }),
  ],
  2: [
    fc.record({ units: small(1, 6), activation: act }).map((params) => ({ type: 'Dense', params, rank: () => 2 })),
    fc.record({ rate: fc.double({ min: 0, max: 0.9, noNaN: true }) }).map((params) => ({ type: 'Dropout', params, rank: () => 2 })),
    fc.constant({ type: 'Reshape', params: { targetShape: [-1, 1] }, rank: () => 3 }),
  ],
};
const ANY_RANK: fc.Arbitrary<Op>[] = [
  act.map((activation) => ({ type: 'Activation', params: { activation }, rank: (r: number) => r })),
  fc.constant({ type: 'BatchNormalization', params: {}, rank: (r: number) => r }),
  // Custom layers (src/runtime/layers) take part like tfjs's own; odd channel counts make GroupNorm refuse 2 groups.
  fc.constantFrom(1, 2).map((groups) => ({ type: 'GroupNormalization', params: { groups }, rank: (r: number) => r })),
  fc.constant({ type: 'L2Normalize', params: {}, rank: (r: number) => r }),
];

/** A random graph: a chain of rank-appropriate layers with side branches joined by Concatenate. */
const randomGraph: fc.Arbitrary<GraphDocument> = fc
  .record({
    input: fc.oneof(
      fc.tuple(small(3, 9), small(3, 9), small(1, 3)).map((s) => [...s]),
      fc.tuple(small(2, 6), small(1, 5)).map((s) => [...s]),
      fc.tuple(small(1, 8)).map((s) => [...s]),
    ),
    seeds: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { minLength: 1, maxLength: 7 }),
    ops: fc.infiniteStream(fc.tuple(...[2, 3, 4].map((r) => fc.oneof(...OPS[r]!, ...ANY_RANK)))),
  })
  .map(({ input, seeds, ops }) => {
    const nodes: Array<Partial<GraphNode> & { id: string; type: string }> = [{ id: 'in', type: 'Input', params: { shape: input } }];
    const wires: Array<[string, string, string?]> = [];
    let rank = input.length + 1;
    let last = 'in';
    const stream = ops[Symbol.iterator]();
    seeds.forEach(([, , branch], i) => {
      const choice = stream.next().value as [Op, Op, Op];
      const op = choice[rank - 2]!;
      const id = `n${i}`;
      nodes.push({ id, type: op.type, params: op.params });
      wires.push([last, id]);
      if (branch && op.rank(rank) === rank) {
        // A side branch (an activation) joined back with the main path on the last axis.
        nodes.push({ id: `${id}b`, type: 'Activation', params: { activation: 'relu' } }, { id: `${id}j`, type: 'Concatenate', params: {} });
        wires.push([last, `${id}b`], [id, `${id}j`, 'inputs'], [`${id}b`, `${id}j`, 'inputs']);
        last = `${id}j`;
        rank = op.rank(rank);
        return;
      }
      rank = op.rank(rank);
      last = id;
    });
    return graph(nodes, wires, { name: 'random' });
  });

describe('property: random graphs', () => {
  it('compile, and tfjs builds every layer with the shape we inferred', () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(randomGraph, (doc) => {
        const analysis = analyze(doc);
        const { plan, diagnostics } = lower(analysis);
        if (!plan) {
          // Invalid graphs (a kernel larger than the image, say) must say why, on a node.
          invalid++;
          expect(diagnostics.length).toBeGreaterThan(0);
          for (const d of diagnostics) expect(d.nodeId, `${d.code}: ${d.message}`).toBeTruthy();
          return;
        }
        valid++;
        const model = buildModel(plan);
        try {
          for (const step of plan.main.steps) {
            if (step.kind !== 'layer') continue;
            const layer = model.getLayer(step.name);
            expect(layer.outputShape, `${step.name} (${step.factory})`).toEqual(step.outputShape);
          }
          expect(model.outputs[0]!.shape).toEqual(plan.main.outputs[0]!.shape);
        } finally {
          model.dispose();
        }
      }),
      { numRuns: 150, seed: 20261126 },
    );
    // The generator must mostly make valid graphs, or the property says little.
    expect(valid).toBeGreaterThan(invalid);
  });
});

/** Mutations that each break a document in a way a user or a bad tool might. */
const corruptions: fc.Arbitrary<(text: string, doc: Record<string, any>) => string> = fc.oneof(
  fc.nat().map((cut) => (text: string) => text.slice(0, cut % Math.max(1, text.length - 1))),
  fc.constantFrom(
    (_t: string, d: Record<string, any>) => JSON.stringify({ ...d, version: 1000 }),
    (_t: string, d: Record<string, any>) => JSON.stringify({ ...d, format: 'keras' }),
    (_t: string, d: Record<string, any>) => JSON.stringify({ ...d, nodes: 'none' }),
    (_t: string, d: Record<string, any>) => JSON.stringify(d.nodes),
  ),
  fc.tuple(fc.nat(), fc.anything()).map(([i, junk]) => (_t: string, d: Record<string, any>) => {
    const node = d.nodes[i % d.nodes.length];
    const key = Object.keys(node.params)[0] ?? 'units';
    node.params[key] = junk === undefined || typeof junk === 'number' ? -1 : { junk };
    return JSON.stringify(d);
  }),
  fc.nat().map((i) => (_t: string, d: Record<string, any>) => {
    d.edges[i % d.edges.length].target = 'missing-node';
    return JSON.stringify(d);
  }),
  fc.nat().map((i) => (_t: string, d: Record<string, any>) => {
    delete d.nodes[i % d.nodes.length].type;
    return JSON.stringify(d);
  }),
  fc.nat().map((i) => (_t: string, d: Record<string, any>) => {
    d.nodes[i % d.nodes.length].type = 'NoSuchLayer';
    return JSON.stringify(d);
  }),
  fc.nat().map((i) => (_t: string, d: Record<string, any>) => {
    d.nodes[(i + 1) % d.nodes.length].id = d.nodes[i % d.nodes.length].id;
    return JSON.stringify(d);
  }),
);

describe('property: corrupt documents', () => {
  const base = (() => {
    const r = templateDocument('mlp-mixer', 'mnist');
    if ('error' in r) throw new Error(r.error);
    return r.doc;
  })();
  const text = saveDocument(base);

  it('never throw and always yield a diagnostic', () => {
    fc.assert(
      fc.property(corruptions, (corrupt) => {
        const broken = corrupt(text, JSON.parse(text));
        const { doc, diagnostics } = loadGraph(broken);
        const all = doc ? [...diagnostics, ...analyze(doc).diagnostics] : diagnostics;
        expect(all.length).toBeGreaterThan(0);
        for (const d of all) {
          expect(d.message.length).toBeGreaterThan(10);
          expect(typeof d.help).toBe('string');
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
