import { describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { buildModel } from '../src/runtime/build';
import { layerOwners, profileModel } from '../src/runtime/profile';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';
import { graph } from './helpers/graphs';
import { getLibraryBlock } from '../src/nodes/blocks/index';

function planOf(id: string, preset: string) {
  const t = templateDocument(id, preset);
  if ('error' in t) throw new Error(t.error);
  const { plan } = lower(analyze(t.doc));
  if (!plan) throw new Error('no plan');
  return { plan, doc: t.doc };
}

describe('Profile: time per node with the tfjs profiler', () => {
  it('every tfjs layer of a model with blocks and repeats belongs to a node of the graph', async () => {
    await useCpuBackend();
    for (const [id, preset] of [
      ['convmixer', 'mnist'],
      ['mlp-mixer', 'mnist'],
    ] as const) {
      const { plan, doc } = planOf(id, preset);
      const model = buildModel(plan);
      const owners = layerOwners(plan);
      const ids = new Set(doc.nodes.map((n) => n.id));
      for (const layer of model.layers) {
        expect(owners.get(layer.name), `layer ${layer.name} of ${id}`).toBeDefined();
        expect(ids.has(owners.get(layer.name)!)).toBe(true);
      }
      model.dispose();
    }
  });

  it('a small graph on cpu: each computing node gets forward and training times from its own kernels, and nothing is trained', async () => {
    const tf = await useCpuBackend();
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [8, 8, 2] } },
        { id: 'conv', type: 'Conv2D', params: { filters: 4, kernelSize: 3 } },
        { id: 'bn', type: 'BatchNormalization' },
        { id: 'tokens', type: 'Reshape', params: { targetShape: [36, 4] } },
        { id: 'mixer', type: 'Block', block: 'MixerBlock', params: { tokenMlpDim: 4, channelMlpDim: 8 }, repeat: 2 },
        { id: 'pool', type: 'GlobalAveragePooling1D' },
        { id: 'head', type: 'Dense', params: { units: 3, activation: 'softmax' } },
      ],
      [
        ['in', 'conv'],
        ['conv', 'bn'],
        ['bn', 'tokens'],
        ['tokens', 'mixer', 'x'],
        ['mixer', 'pool', 'in', 'y'],
        ['pool', 'head'],
      ],
      { blocks: [getLibraryBlock('MixerBlock')!] },
    );
    const { plan, diagnostics } = lower(analyze(doc));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const model = buildModel(plan!, { seed: 0 });
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    const tensors = tf.memory().numTensors;
    const result = await profileModel(model, plan!, { batchSize: 2, passes: 2 });
    expect(tf.memory().numTensors).toBe(tensors);
    // Training mode moves BatchNormalization's averages; profiling puts them back.
    model.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(before[i]));
    expect(result).toMatchObject({ backend: 'cpu', batchSize: 2, passes: 2, timing: 'kernels' });
    const byId = new Map(result.nodes.map((n) => [n.nodeId, n]));
    expect([...byId.keys()].sort()).toEqual(['bn', 'conv', 'head', 'mixer', 'pool', 'tokens']);
    for (const t of result.nodes) {
      expect(t.forwardMs).toBeGreaterThanOrEqual(0);
      expect(t.trainMs).toBeGreaterThanOrEqual(0);
    }
    // Two repetitions of the Mixer block's 10 layers land on the one block node.
    expect(byId.get('mixer')!.layers).toBe(20);
    expect(byId.get('conv')!.kernels.map((k) => k.name)).toEqual(expect.arrayContaining([expect.stringMatching(/Conv2D/)]));
    expect(
      byId
        .get('head')!
        .kernels.map((k) => k.name)
        .join(' '),
    ).toMatch(/MatMul/);
    // Custom-gradient scopes (fusedMatMul__op) hold kernels recorded on their own: not counted twice.
    for (const t of result.nodes) expect(t.kernels.map((k) => k.name).join(' ')).not.toMatch(/__op/);
    expect(result.modelForwardMs).toBeGreaterThan(0);
    expect(result.modelTrainMs).toBeGreaterThan(0);
    model.dispose();
  });
});
