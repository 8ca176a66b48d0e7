import { describe, expect, it } from 'vitest';
import { analyze, createAnalyzer } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { summarize, formatSummary } from '../src/compiler/summary';
import type { GraphDocument } from '../src/document/schema';
import { getLibraryBlock } from '../src/nodes/blocks/index';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';

const errorsOf = (doc: GraphDocument) => analyze(doc).diagnostics.filter((d) => d.severity === 'error');

describe('diagnostics say what was received, what was expected and how to fix it', () => {
  it('an unconnected input', () => {
    const d = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [4] } },
          { id: 'add', type: 'Add' },
        ],
        [['in', 'add', 'inputs']],
      ),
    ).find((x) => x.nodeId === 'add');
    expect(d).toMatchObject({ code: 'PB200', nodeId: 'add', port: 'inputs' });
    expect(d!.message).toMatch(/Received 1 connection into "inputs" of Add "add", expected at least 2/);
  });

  it('a layer with nothing plugged in', () => {
    const ds = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input' },
          { id: 'conv', type: 'Conv2D' },
        ],
        [],
      ),
    );
    expect(ds).toContainEqual(expect.objectContaining({ code: 'PB200', nodeId: 'conv', port: 'in', message: 'Input "in" of Conv2D "conv" is not connected.' }));
  });

  it('a rank mismatch', () => {
    const [d] = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [784] } },
          { id: 'conv', type: 'Conv2D' },
        ],
        [['in', 'conv']],
      ),
    );
    expect(d).toMatchObject({ code: 'PB301', nodeId: 'conv', port: 'in' });
    expect(d!.message).toBe('Received an input of shape (None, 784) (rank 2), expected rank 4.');
    expect(d!.help).toMatch(/Reshape/);
  });

  it('a shape mismatch in a merge', () => {
    const [d] = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [8] } },
          { id: 'a', type: 'Dense', params: { units: 4 } },
          { id: 'b', type: 'Dense', params: { units: 5 } },
          { id: 'sum', type: 'Add' },
        ],
        [
          ['in', 'a'],
          ['in', 'b'],
          ['a', 'sum', 'inputs'],
          ['b', 'sum', 'inputs'],
        ],
      ),
    );
    expect(d).toMatchObject({ code: 'PB302', nodeId: 'sum' });
    expect(d!.message).toMatch(/\(None, 4\) and \(None, 5\).*axis 1 differs: 4 vs 5/);
  });

  it('a cycle, naming its nodes', () => {
    const ds = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [8] } },
          { id: 'sum', type: 'Add' },
          { id: 'a', type: 'Dense', params: { units: 8 } },
          { id: 'b', type: 'Dense', params: { units: 8 } },
          { id: 'after', type: 'Dense' },
        ],
        [
          ['in', 'sum', 'inputs'],
          ['sum', 'a'],
          ['a', 'b'],
          ['b', 'sum', 'inputs'],
          ['b', 'after'],
        ],
      ),
    );
    const cycle = ds.filter((d) => d.code === 'PB202');
    expect(cycle.map((d) => d.nodeId).sort()).toEqual(['a', 'b', 'sum']);
    expect(cycle[0]!.message).toMatch(/is on a cycle: (sum → a → b → sum|a → b → sum → a|b → sum → a → b)/);
  });

  it('a kernel larger than its input', () => {
    const [d] = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [4, 4, 1] } },
          { id: 'conv', type: 'Conv2D', params: { kernelSize: 5 } },
        ],
        [['in', 'conv']],
      ),
    );
    expect(d).toMatchObject({ code: 'PB303', nodeId: 'conv', param: 'kernelSize' });
    expect(d!.message).toMatch(/5×5 window on an input of spatial size 4×4/);
    expect(d!.help).toMatch(/at most 4, or set padding to "same"/);
  });

  it('an impossible reshape', () => {
    const [d] = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [7, 7, 3] } },
          { id: 'r', type: 'Reshape', params: { targetShape: [10, 10] } },
        ],
        [['in', 'r']],
      ),
    );
    expect(d).toMatchObject({ code: 'PB304', nodeId: 'r', param: 'targetShape' });
    expect(d!.message).toMatch(/147 values per example.*\[10, 10\] \(100 values\)/);
  });

  it('bad params', () => {
    const [d] = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [8] } },
          { id: 'd', type: 'Dense', params: { units: 0 } },
        ],
        [['in', 'd']],
      ),
    );
    expect(d).toMatchObject({ code: 'PB300', nodeId: 'd', param: 'units' });
    expect(d!.message).toMatch(/received units = 0/);
  });

  it('a second edge into a single input, and an edge to a port that does not exist', () => {
    const ds = errorsOf(
      graph(
        [
          { id: 'a', type: 'Input', params: { shape: [8] } },
          { id: 'b', type: 'Input', params: { shape: [8] } },
          { id: 'd', type: 'Dense' },
        ],
        [
          ['a', 'd'],
          ['b', 'd'],
          ['a', 'd', 'bias'],
        ],
      ),
    );
    expect(ds).toContainEqual(expect.objectContaining({ code: 'PB203', nodeId: 'd', port: 'in' }));
    expect(ds).toContainEqual(expect.objectContaining({ code: 'PB201', nodeId: 'd', port: 'bias' }));
  });

  it('a graph without input or output', () => {
    expect(errorsOf(graph([{ id: 'd', type: 'Dense' }], [])).map((d) => d.code)).toContain('PB204');
  });

  it('stays quiet downstream of a failure: one problem, one message', () => {
    const ds = errorsOf(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [784] } },
          { id: 'conv', type: 'Conv2D' },
          { id: 'pool', type: 'MaxPooling2D' },
          { id: 'head', type: 'Dense' },
        ],
        [
          ['in', 'conv'],
          ['conv', 'pool'],
          ['pool', 'head'],
        ],
      ),
    );
    expect(ds.map((d) => d.nodeId)).toEqual(['conv']);
  });
});

describe('blocks', () => {
  const mixer = getLibraryBlock('MixerBlock')!;

  it('report a problem inside the block on the block node', () => {
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [16, 8] } },
        { id: 'm', type: 'Block', block: 'MixerBlock', params: { tokenMlpDim: 0 } },
      ],
      [['in', 'm', 'x']],
      { blocks: [mixer] },
    );
    const [d] = errorsOf(doc);
    expect(d).toMatchObject({ code: 'PB300', nodeId: 'm', param: 'tokenMlpDim' });
  });

  it('a repeat whose input rank does not fit says which repetition', () => {
    const down = {
      ...getLibraryBlock('PatchEmbed')!,
      id: 'Down',
    };
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [8, 8, 3] } },
        { id: 'd', type: 'Block', block: 'Down', params: { dim: 4, patchSize: 2, tokens: true }, repeat: 2 },
      ],
      [['in', 'd', 'x']],
      { blocks: [down] },
    );
    const [d] = errorsOf(doc);
    expect(d).toMatchObject({ code: 'PB301', nodeId: 'd' });
    expect(d!.message).toMatch(/\(repetition 2 of 2\)/);
  });

  it('a missing block definition', () => {
    const doc = graph(
      [
        { id: 'in', type: 'Input' },
        { id: 'b', type: 'Block', block: 'Nope' },
      ],
      [['in', 'b', 'x']],
    );
    expect(errorsOf(doc)).toContainEqual(expect.objectContaining({ code: 'PB109', nodeId: 'b' }));
  });

  it('counts separate weights per repetition and shows inner shapes', () => {
    const r = templateDocument('convmixer', 'mnist');
    if ('error' in r) throw new Error(r.error);
    const doc = r.doc;
    const before = analyze(doc);
    const mixerNode = doc.nodes.find((n) => n.id === 'mixer')!;
    const after = analyze({ ...doc, nodes: doc.nodes.map((n) => (n === mixerNode ? { ...n, repeat: 5 } : n)) });
    const perBlock = 64 * 25 + 64 + 4 * 64 + 64 * 64 + 64 + 4 * 64; // depthwise + BN + pointwise + BN
    expect(after.count.trainable + after.count.nonTrainable - (before.count.trainable + before.count.nonTrainable)).toBe(perBlock);
    expect(after.count.trainable).toBe(31_498);
    expect(before.main.nodes.get('mixer')!.inner!.nodes.get('depthwise')!.outputs!.out).toEqual([null, 14, 14, 64]);
  });
});

describe('incremental inference', () => {
  it('gives the same answer as a fresh pass after edits, and reuses untouched nodes', () => {
    const r = templateDocument('mlp-mixer', 'mnist');
    if ('error' in r) throw new Error(r.error);
    let doc = r.doc;
    const analyzeIncrementally = createAnalyzer();
    const first = analyzeIncrementally(doc);
    const edit = (id: string, params: Record<string, unknown>) => {
      doc = { ...doc, nodes: doc.nodes.map((n) => (n.id === id ? { ...n, params: { ...n.params, ...params } } : n)) };
    };
    edit('head', { units: 7 });
    const second = analyzeIncrementally(doc);
    expect(second.main.nodes.get('stem')).toBe(first.main.nodes.get('stem'));
    expect(second.main.nodes.get('head')).not.toBe(first.main.nodes.get('head'));
    expect(second.count).toEqual(analyze(doc).count);
    edit('stem', { patchSize: 7 });
    const third = analyzeIncrementally(doc);
    expect(third.main.nodes.get('mixer')!.outputs!.y).toEqual([null, 16, 64]);
    expect(third.count).toEqual(analyze(doc).count);
    expect(third.diagnostics).toEqual(analyze(doc).diagnostics);
  });
});

describe('lowering and summary', () => {
  it('refuses to lower a graph with errors and returns the reasons', () => {
    const { plan, diagnostics } = lower(
      analyze(
        graph(
          [
            { id: 'in', type: 'Input', params: { shape: [784] } },
            { id: 'conv', type: 'Conv2D' },
          ],
          [['in', 'conv']],
        ),
      ),
    );
    expect(plan).toBeNull();
    expect(diagnostics[0]!.code).toBe('PB301');
  });

  it('prints a Keras-style table with totals', () => {
    const r = templateDocument('convmixer', 'mnist');
    if ('error' in r) throw new Error(r.error);
    const text = formatSummary(summarize(analyze(r.doc)));
    expect(text).toMatch(/convmixer \(ConvMixer block ×4\)\s+\(None, 14, 14, 64\)\s+25,344/);
    expect(text).toMatch(/Trainable params: 25,418/);
    expect(text).toMatch(/Non-trainable params: 1,152/);
  });
});

describe('expanding blocks', () => {
  it.each([
    ['convmixer', '768/32'],
    ['mlp-mixer', 'mnist'],
    ['convmixer', 'mnist'],
  ])('%s %s expands into plain layers with the same model', async (id, preset) => {
    const { expandAllBlocks } = await import('../src/compiler/expand');
    const r = templateDocument(id, preset);
    if ('error' in r) throw new Error(r.error);
    const before = analyze(r.doc);
    const expanded = expandAllBlocks(r.doc);
    if ('error' in expanded) throw new Error(expanded.error);
    const after = analyze(expanded.doc);
    // PB310 aside: ConvMixer-768/32's training step at batch 32 does not fit a tab (references.test.ts).
    expect(after.diagnostics.filter((d) => d.code !== 'PB310')).toEqual([]);
    expect(expanded.doc.nodes.some((n) => n.type === 'Block')).toBe(false);
    expect(expanded.doc.blocks).toEqual([]);
    expect(after.count).toEqual(before.count);
    const out = (a: typeof before) => a.main.nodes.get(a.outputs[0]!.nodeId)!.outputs!.out;
    expect(out(after)).toEqual(out(before));
  });

  it('the expanded ConvMixer 768/32 has one node per layer (activations are fused into the convolutions)', async () => {
    const { expandAllBlocks } = await import('../src/compiler/expand');
    const r = templateDocument('convmixer', '768/32');
    if ('error' in r) throw new Error(r.error);
    const expanded = expandAllBlocks(r.doc);
    if ('error' in expanded) throw new Error(expanded.error);
    expect(expanded.doc.nodes.length).toBe(4 + 2 + 32 * 5);
  });
});
