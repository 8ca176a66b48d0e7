/**
 * Folding imported layers into library blocks (src/compiler/fold-blocks): the ConvMixer and
 * MLP-Mixer mnist presets, exported as tfjs model.json and imported flat, fold back into their
 * blocks repeated 4 times with the same parameters, and the tfjs weights saved from the original
 * graph load into the folded graph by position and give the same outputs. A run that differs from
 * the block in one param, or whose inner layer is read from outside, stays as it was.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main';
import { toModelJson } from '../src/runtime/tfjs-format';
import { analyze, lower } from '../src/compiler/index';
import { importModel } from '../src/compiler/import-keras';
import { foldLibraryBlocks } from '../src/compiler/fold-blocks';
import type { GraphDocument } from '../src/document/schema';
import { templateDocument } from '../templates/index';

async function runtime() {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await import('../src/runtime/custom-layers');
  const { tfjsTopologyOf } = await import('../src/runtime/tfjs-topology');
  const { buildModel } = await import('../src/runtime/build');
  const { artifactsOf, loadArtifactsInto } = await import('../src/runtime/saved-weights');
  return { tf, tfjsTopologyOf, buildModel, artifactsOf, loadArtifactsInto };
}

/** A template's preset as tfjs writes it (model.json text), imported flat. */
async function importedFlat(template: string, preset: string) {
  const { tfjsTopologyOf } = await runtime();
  const result = templateDocument(template, preset);
  if ('error' in result) throw new Error(result.error);
  const plan = lower(analyze(result.doc)).plan!;
  const imported = importModel(JSON.stringify({ modelTopology: tfjsTopologyOf(plan) }));
  expect(imported.problems).toEqual([]);
  return { plan, flat: imported.doc! };
}

const blockNodes = (doc: GraphDocument) => doc.nodes.filter((n) => n.type === 'Block').map((n) => [n.block, n.repeat ?? 1, n.params]);

describe('foldLibraryBlocks', () => {
  it('folds the imported ConvMixer mnist into ConvMixer block × 4, and the original weights give the same outputs', async () => {
    const { tf, buildModel, artifactsOf, loadArtifactsInto } = await runtime();
    const { plan, flat } = await importedFlat('convmixer', 'mnist');
    const { doc, folded } = foldLibraryBlocks(flat);
    expect(blockNodes(doc)).toEqual([['ConvMixerBlock', 4, { kernelSize: 5, activation: 'gelu' }]]);
    expect(folded).toHaveLength(1);
    expect(folded[0]!.layers).toHaveLength(4 * 5);
    expect(doc.nodes.find((n) => n.type === 'Block')!.name).toBe('convmixer');
    expect(doc.nodes.length).toBe(flat.nodes.length - 4 * 5 + 1);
    const foldedPlan = lower(analyze(doc)).plan!;
    expect(foldedPlan.count).toEqual(plan.count);

    const original = buildModel(plan, { seed: 3 });
    const weights = await artifactsOf(tf, original);
    const rebuilt = buildModel(foldedPlan, { seed: 99 });
    await loadArtifactsInto(tf, rebuilt, weights);
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 7);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(original.predict(x) as typeof x, rebuilt.predict(x) as typeof x))).dataSync()[0]!);
    expect(diff).toBeLessThanOrEqual(1e-6);
    tf.dispose([x]);
    original.dispose();
    rebuilt.dispose();
  });

  it('folds the imported MLP-Mixer mnist into Mixer block × 4 with the same parameters', async () => {
    const { plan, flat } = await importedFlat('mlp-mixer', 'mnist');
    const { doc } = foldLibraryBlocks(flat);
    expect(blockNodes(doc).map(([b, r]) => [b, r])).toEqual([['MixerBlock', 4]]);
    expect(lower(analyze(doc)).plan!.count).toEqual(plan.count);
  });

  it('leaves a run that differs from the block in one param as it was', async () => {
    const { flat } = await importedFlat('convmixer', 'mnist');
    // The third block's pointwise conv with relu where its depthwise conv has gelu.
    const pointwise = flat.nodes.filter((n) => n.type === 'Conv2D' && (n.params.kernelSize === 1 || String(n.params.kernelSize) === '1,1'));
    expect(pointwise).toHaveLength(4);
    const changed: GraphDocument = { ...flat, nodes: flat.nodes.map((n) => (n === pointwise[2] ? { ...n, params: { ...n.params, activation: 'relu' } } : n)) };
    const { doc } = foldLibraryBlocks(changed);
    expect(blockNodes(doc).map(([b, r]) => [b, r])).toEqual([
      ['ConvMixerBlock', 2],
      ['ConvMixerBlock', 1],
    ]);
    expect(doc.nodes.some((n) => n.id === pointwise[2]!.id && n.params.activation === 'relu')).toBe(true);
    expect(lower(analyze(doc)).plan!.count).toEqual(lower(analyze(changed)).plan!.count);
  });

  it('does not fold a run whose inner layer is read from outside', async () => {
    const { flat } = await importedFlat('convmixer', 'mnist');
    const firstBn = flat.nodes.find(
      (n) =>
        n.type === 'BatchNormalization' && flat.edges.some((e) => e.target === n.id && flat.nodes.find((m) => m.id === e.source)?.type === 'DepthwiseConv2D'),
    )!;
    const tapped: GraphDocument = {
      ...flat,
      nodes: [...flat.nodes, { id: 'tap', type: 'Output', params: {}, position: { x: 0, y: 0 } }],
      edges: [...flat.edges, { id: 'tap-edge', source: firstBn.id, sourcePort: 'out', target: 'tap', targetPort: 'in' }],
    };
    const { doc } = foldLibraryBlocks(tapped);
    expect(blockNodes(doc).map(([b, r]) => [b, r])).toEqual([['ConvMixerBlock', 3]]);
    expect(doc.nodes.some((n) => n.id === firstBn.id)).toBe(true);
  });

  it("patchbay import folds too, and says whether the file's weights fit the folded graph in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-fold-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const { tf, buildModel, artifactsOf } = await runtime();
    const result = templateDocument('convmixer', 'mnist');
    if ('error' in result) throw new Error(result.error);
    const model = buildModel(lower(analyze(result.doc)).plan!);
    const saved = toModelJson(await artifactsOf(tf, model));
    model.dispose();
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(saved));
    expect(await run(['import', join(dir, 'model.json'), '--out', join(dir, 'graph.json'), '--json'], io)).toBe(0);
    const summary = JSON.parse(lines.join('\n'));
    expect(summary.folded).toEqual([{ block: 'ConvMixerBlock', repeat: 4, layers: 20 }]);
    expect(summary.nodes).toBe(7);
    expect(summary.weights).toMatchObject({ inFile: 56, fitInOrder: true });

    // The same manifest with two weights swapped does not fit in order, and the line says so.
    const swapped = structuredClone(saved);
    const w = swapped.weightsManifest[0]!.weights;
    [w[0], w[1]] = [w[1]!, w[0]!];
    writeFileSync(join(dir, 'swapped.json'), JSON.stringify(swapped));
    lines.length = 0;
    expect(await run(['import', join(dir, 'swapped.json'), '--out', join(dir, 'graph2.json')], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/20 layers became ConvMixerBlock x 4\. The 56 weights in the file do not fit it in order \(\d+ match by name\)\./);
  });
});
