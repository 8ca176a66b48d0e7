import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { layerCost } from '../src/compiler/cost';
import { analyze } from '../src/compiler/infer';
import { formatSummary, summarize } from '../src/compiler/summary';
import { run } from '../src/cli/main';
import type { GraphDocument } from '../src/document/schema';
import { getLibraryBlock } from '../src/nodes/blocks/index';
import { getSpec, NODE_SPECS } from '../src/nodes/registry';
import { defineSpec, NO_PARAMS, type AnySpec } from '../src/nodes/spec';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';

/** Input(s) → one node of `type`; the node's analysed result. */
function analyzed(type: string, params: Record<string, unknown>, inputs: number[][]) {
  const spec = getSpec(type)!;
  // A variadic first port takes every input; otherwise input i goes to port i.
  const port = (i: number) => (spec.inputs[0]!.variadic ? spec.inputs[0]!.name : spec.inputs[i]!.name);
  const doc = graph(
    [...inputs.map((shape, i) => ({ id: `in${i}`, type: 'Input', params: { shape } })), { id: 'x', type, params }],
    inputs.map((_, i): [string, string, string] => [`in${i}`, 'x', port(i)]),
  );
  const analysis = analyze(doc);
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return analysis.main.nodes.get('x')!;
}

/**
 * [type, params, input shapes without the batch, MACs, activation elements kept per example], each
 * worked out by hand from the layer's definition (comments show the arithmetic).
 */
const CASES: [string, Record<string, unknown>, number[][], number, number][] = [
  ['Input', { shape: [28, 28, 1] }, [], 0, 28 * 28],
  ['Output', {}, [[10]], 0, 0],
  // positions × in × out
  ['Dense', { units: 10 }, [[784]], 784 * 10, 10],
  ['Dense', { units: 32, useBias: false }, [[49, 16]], 49 * 16 * 32, 49 * 32],
  ['Dense', { units: 8 }, [[4, 4, 3]], 16 * 3 * 8, 16 * 8],
  // output elements × kh·kw·in
  ['Conv2D', { filters: 8, kernelSize: 3 }, [[28, 28, 1]], 26 * 26 * 8 * 9, 26 * 26 * 8],
  ['Conv2D', { filters: 16, kernelSize: 2, strides: 2 }, [[28, 28, 1]], 14 * 14 * 16 * 4, 14 * 14 * 16],
  ['Conv2D', { filters: 4, kernelSize: [3, 5], strides: [2, 1], padding: 'same' }, [[9, 11, 3]], 5 * 11 * 4 * 15 * 3, 5 * 11 * 4],
  ['Conv2D', { filters: 4, kernelSize: 3, dilationRate: 2 }, [[12, 12, 2]], 8 * 8 * 4 * 9 * 2, 8 * 8 * 4],
  // output elements × kh·kw
  ['DepthwiseConv2D', { kernelSize: 3, depthMultiplier: 2 }, [[12, 12, 4]], 10 * 10 * 8 * 9, 10 * 10 * 8],
  ['DepthwiseConv2D', { kernelSize: 5, padding: 'same' }, [[14, 14, 8]], 14 * 14 * 8 * 25, 14 * 14 * 8],
  // depthwise (positions × mid × kh·kw) + pointwise (positions × mid × filters); keeps the depthwise result too
  ['SeparableConv2D', { filters: 8, kernelSize: 3 }, [[12, 12, 4]], 100 * 4 * 9 + 100 * 4 * 8, 100 * 4 + 100 * 8],
  ['SeparableConv2D', { filters: 6, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2 }, [[9, 9, 3]], 25 * 6 * 9 + 25 * 6 * 6, 25 * 6 + 25 * 6],
  // input elements × kh·kw·filters; valid output (7 − 1)·2 + 3 = 15
  ['Conv2DTranspose', { filters: 2, kernelSize: 3, strides: 2 }, [[7, 7, 4]], 7 * 7 * 4 * 9 * 2, 15 * 15 * 2],
  // element-wise work: no MACs, the output is kept
  ['Activation', { activation: 'gelu' }, [[7, 7, 4]], 0, 196],
  ['Dropout', { rate: 0.25 }, [[32]], 0, 32],
  ['Embedding', { inputDim: 50, outputDim: 8 }, [[12]], 0, 12 * 8],
  ['MaxPooling2D', { poolSize: 2 }, [[28, 28, 3]], 0, 14 * 14 * 3],
  ['AveragePooling2D', { poolSize: 3, strides: 2, padding: 'same' }, [[9, 10, 2]], 0, 5 * 5 * 2],
  ['GlobalAveragePooling1D', {}, [[49, 16]], 0, 16],
  ['GlobalAveragePooling2D', {}, [[7, 7, 16]], 0, 16],
  ['BatchNormalization', {}, [[7, 7, 4]], 0, 196],
  ['LayerNormalization', {}, [[49, 16]], 0, 49 * 16],
  ['GroupNormalization', { groups: 4 }, [[6, 5, 8]], 0, 240],
  ['L2Normalize', {}, [[16]], 0, 16],
  ['Permute', { dims: [2, 1] }, [[49, 16]], 0, 49 * 16],
  ['UpSampling2D', { size: 2 }, [[7, 7, 4]], 0, 14 * 14 * 4],
  ['ZeroPadding2D', { padding: 1 }, [[5, 5, 2]], 0, 7 * 7 * 2],
  [
    'Add',
    {},
    [
      [7, 7, 4],
      [7, 7, 4],
    ],
    0,
    196,
  ],
  [
    'Multiply',
    {},
    [
      [7, 7, 4],
      [7, 7, 4],
    ],
    0,
    196,
  ],
  [
    'Concatenate',
    {},
    [
      [7, 7, 4],
      [7, 7, 6],
    ],
    0,
    7 * 7 * 10,
  ],
  // attention, N = 5 tokens, width 8 = 2 heads × 4: N·(3·8·8 + 8·8) projections + 2·N²·8 (q·kᵀ and weights·v);
  // keeps q, k, v (3·N·8), scores and softmax (2·2·N²), the heads' output (N·8) and the output (N·8)
  ['MultiHeadSelfAttention', { numHeads: 2 }, [[5, 8]], 5 * (3 * 64 + 64) + 2 * 25 * 8, 3 * 40 + 2 * 2 * 25 + 40 + 40],
  ['ClassToken', {}, [[4, 6]], 0, 5 * 6],
  ['PositionEmbedding', {}, [[5, 6]], 0, 5 * 6],
  ['TakeToken', {}, [[5, 6]], 0, 6],
  ['GELU', { approximate: 'quick' }, [[6, 8]], 0, 48],
  ['RandomTranslation', {}, [[28, 28, 1]], 0, 28 * 28],
  ['GELU', {}, [[6, 8]], 0, 48],
  ['ClassToken', {}, [[4, 6]], 0, 5 * 6],
  ['PositionEmbedding', {}, [[5, 6]], 0, 5 * 6],
  ['TakeToken', {}, [[5, 6]], 0, 6],
  // a one-hot row (tokens) times the tokens × width matrix
  ['TakeToken', { mode: 'endOfText' }, [[7, 4], [7]], 7 * 4, 4],
  // tokens × (q, k, v and output projections: 4 · width · inner) + q·kᵀ and weights·v (2 · tokens² · inner);
  // kept: q, k, v, scores and softmax per head, heads' outputs, output
  ['MultiHeadSelfAttention', { numHeads: 2 }, [[5, 8]], 5 * 4 * 8 * 8 + 2 * 25 * 8, 3 * 5 * 8 + 2 * 2 * 25 + 5 * 8 + 5 * 8],
  [
    'MultiHeadSelfAttention',
    { numHeads: 3, keyDim: 4, causal: true, useBias: false },
    [[6, 10]],
    6 * (3 * 10 * 12 + 12 * 10) + 2 * 36 * 12,
    3 * 6 * 12 + 2 * 3 * 36 + 6 * 12 + 6 * 10,
  ],
  // a 9×9 stride-2 convolution to 6×6 positions × 4 capsules × 8 values, k·k·channels each
  ['PrimaryCapsules', { capsules: 4, capsuleDim: 8, kernelSize: 9, strides: 2 }, [[20, 20, 6]], 6 * 6 * 4 * 8 * 81 * 6, 6 * 6 * 4 * 8],
  ['Squash', {}, [[6, 8]], 0, 48],
  // pairs I·J·D = 12·3·4: û = W·u (× d = 8), 3 weighted sums, 2 agreements; kept: û, 3 iterations of I·J couplings, output
  ['DigitCapsules', { capsules: 3, capsuleDim: 4, routings: 3 }, [[12, 8]], 12 * 3 * 4 * (8 + 3 + 2), 12 * 3 * 4 + 3 * 12 * 3 + 3 * 4],
  ['CapsuleLength', {}, [[10, 16]], 0, 10],
  ['GlomLevels', { levels: 3 }, [[4, 5]], 0, 4 * 3 * 5],
  // C = 4 columns, L = 3 levels of D = 5, H = 6: 5 networks (2 matMuls each per column), 3 levels of 4×4 similarities and sums;
  // kept: each network's input and 2 hidden tensors, 3 levels' scores and softmax, the output
  [
    'GlomUpdate',
    { hiddenUnits: 6 },
    [
      [4, 3, 5],
      [4, 5],
    ],
    5 * 4 * 2 * 5 * 6 + 3 * 4 * 4 * 5 * 2,
    5 * 4 * (5 + 12) + 2 * 3 * 16 + 4 * 3 * 5,
  ],
  ['PatchesToImage', { patchSize: 2 }, [[9, 4]], 0, 36],
  ['TimestepEmbedding', { dim: 16 }, [[1]], 0, 16],
  // n = 36 positions, 4 → 8 channels, embedding 12: two 3×3 convolutions, the embedding's dense, the 1×1 skip
  ['TimeResBlock', { filters: 8, groups: 4 }, [[6, 6, 4], [12]], 36 * 9 * 4 * 8 + 12 * 8 + 36 * 9 * 8 * 8 + 36 * 4 * 8, 6 * 6 * 8],
  // n = 16 positions, 8 channels: q, k, v (n·c·3c), scores and weighted sum (2·n²·c), projection (n·c²); kept: the n² scores and five n·c tensors
  ['SpatialAttention', { groups: 4 }, [[4, 4, 8]], 16 * 8 * 24 + 2 * 256 * 8 + 16 * 64, 256 + 5 * 16 * 8],
  // One level of 4 channels on 4×4, embedding 8 (time MLP 16 wide): time MLP 8·16 + 16·16; stem 16·9·1·4; one res block 4→4
  // (16·9·16 + 16·4 + 16·9·16); middle: two of those and attention (16·4·12 + 2·16²·4 + 16·16); up: two res blocks 8→4
  // (16·9·8·4 + 16·4 + 16·9·16 + 16·8·4 each); out conv 16·9·4·1
  [
    'UNet',
    { channels: 4, channelMult: [1], resBlocks: 1, attentionResolutions: [], groups: 2 },
    [[4, 4, 1], [8]],
    8 * 16 + 16 * 16 + 16 * 9 * 4 + 4672 + 2 * 4672 + (16 * 4 * 12 + 2 * 256 * 4 + 256) + 2 * (16 * 9 * 8 * 4 + 64 + 16 * 9 * 16 + 16 * 8 * 4) + 16 * 9 * 4,
    16,
  ],
  // RealNVP coupling on 2-D points: s and t are 1 → 24 → 24 → 24 → 1 MLPs; kept: their 3 hidden layers each and the output
  ['AffineCoupling', { parity: 0, hidden: 24, depth: 3 }, [[2]], 2 * (24 + 2 * 576 + 24), 2 * 3 * 24 + 2],
  // Glow coupling on 4×4×2: at 16 positions 3×3 2 → 8, 1×1 8 → 8, 3×3 8 → 4; kept: two hidden maps, shift and scale, output
  ['AffineCoupling', { parity: 0, hidden: 8, mask: 'checkerboard' }, [[4, 4, 2]], 16 * (9 * 2 * 8 + 64 + 9 * 8 * 4), 16 * (16 + 4 + 2)],
  ['ActNorm', {}, [[4, 4, 3]], 0, 48],
  ['InvertibleConv1x1', {}, [[3, 3, 4]], 9 * 16, 36],
  ['Squeeze', {}, [[4, 4, 1]], 0, 16],
  // Glow's split on 4×4×4: at 16 positions a 3×3 conv of the 2 kept channels gives the mean and log-scale of the 2
  // factored ones (2 → 4 maps); kept: those 4 maps and the 2-channel output
  ['FlowSplit', {}, [[4, 4, 4]], 16 * 9 * 2 * 4, 16 * (4 + 2)],
  // 3 channels: 1 kept, 2 factored (1 → 4 maps at 4 positions)
  ['FlowSplit', {}, [[2, 2, 3]], 4 * 9 * 1 * 4, 4 * (4 + 1)],
  // a learned mean and log-scale per channel: element-wise; kept: the 3·3·4 output
  ['FlowPrior', {}, [[3, 3, 4]], 0, 36],
  // the logit of every pixel: element-wise; kept: the 4·4·1 output
  ['FlowLogit', { alpha: 1e-6 }, [[4, 4, 1]], 0, 16],
  // views: tfjs shares the input's data
  ['Flatten', {}, [[7, 7, 4]], 0, 0],
  ['Reshape', { targetShape: [49, 16] }, [[7, 7, 16]], 0, 0],
];

/** Types only a block body holds; the block tests below cover them. */
const BLOCK_PORTS = ['BlockInput', 'BlockOutput'];

describe('MACs and activation memory of each layer type, against hand-computed values', () => {
  it.each(CASES)('%s %j on %j', (type, params, inputs, macs, activations) => {
    const result = type === 'Input' ? analyzedInput(params) : analyzed(type, params, inputs);
    expect(result.cost).toMatchObject({ macs, activations, unestimated: [] });
  });

  it('every registered layer type has a cost function and a hand-computed case here', () => {
    const withoutCost = NODE_SPECS.filter((s) => !s.cost).map((s) => s.type);
    expect(withoutCost, 'these layer specs need a cost(): see NodeSpec.cost in src/nodes/spec.ts').toEqual([]);
    const covered = new Set([...CASES.map((c) => c[0]), ...BLOCK_PORTS]);
    const uncovered = NODE_SPECS.map((s) => s.type).filter((t) => !covered.has(t));
    expect(uncovered, 'add a hand-computed case to CASES in test/cost.test.ts').toEqual([]);
  });

  it('a size unknown until run time makes the count unknown, not zero', () => {
    const dense = getSpec('Dense')!;
    const cost = layerCost(dense, dense.params.parse({ units: 4 }), [[null, null, 8]], [null, null, 4]);
    expect(cost.unestimated).toEqual(['Dense']);
  });

  it('a layer without a cost function is named, not counted as free', () => {
    const spec = defineSpec({
      type: 'Mystery',
      version: 1,
      label: 'Mystery',
      category: 'Core',
      description: '',
      inputs: [{ name: 'in' }],
      outputs: [{ name: 'out' }],
      params: z.object({}),
      keyParams: [],
      infer: (_p, [x]) => x!,
      countParams: () => NO_PARAMS,
      lower: () => ({ kind: 'identity' }),
      examples: [],
    }) as unknown as AnySpec;
    expect(layerCost(spec, {}, [[null, 3]], [null, 3])).toMatchObject({ macs: 0, activations: 3, unestimated: ['Mystery'] });
  });
});

function analyzedInput(params: Record<string, unknown>) {
  const analysis = analyze(graph([{ id: 'x', type: 'Input', params }], []));
  return analysis.main.nodes.get('x')!;
}

describe('blocks cost what their bodies cost, every repetition', () => {
  it('Mixer block ×3 on 49 tokens × 16 channels', () => {
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [49, 16] } },
        { id: 'm', type: 'Block', block: 'MixerBlock', params: { tokenMlpDim: 8, channelMlpDim: 32 }, repeat: 3 },
      ],
      [['in', 'm', 'x']],
      { blocks: [getLibraryBlock('MixerBlock')!] },
    );
    const cost = analyze(doc).main.nodes.get('m')!.cost!;
    // token MLP: 16 channels × (49·8 + 8·49); channel MLP: 49 tokens × (16·32 + 32·16)
    expect(cost.macs).toBe(3 * (16 * (49 * 8 + 8 * 49) + 49 * (16 * 32 + 32 * 16)));
    // kept per repetition: 2 LayerNorms (784 each), 2 Permutes (784), token MLP (16·8, 16·49), 2 Adds (784),
    // channel MLP (49·32, 49·16); the ports are views
    expect(cost.activations).toBe(3 * (784 * 2 + 784 * 2 + 16 * 8 + 16 * 49 + 784 * 2 + 49 * 32 + 49 * 16));
  });

  it('a repeated block whose first repetition changes the shape counts each repetition at its own size', () => {
    const widen = {
      id: 'Widen',
      label: 'Widen',
      description: '',
      category: 'Blocks',
      params: [],
      nodes: [
        { id: 'x', type: 'BlockInput', params: { name: 'x' }, position: { x: 0, y: 0 } },
        { id: 'd', type: 'Dense', params: { units: 8 }, position: { x: 0, y: 100 } },
        { id: 'y', type: 'BlockOutput', params: { name: 'y' }, position: { x: 0, y: 200 } },
      ],
      edges: [
        { id: 'a', source: 'x', sourcePort: 'out', target: 'd', targetPort: 'in' },
        { id: 'b', source: 'd', sourcePort: 'out', target: 'y', targetPort: 'in' },
      ],
    } as GraphDocument['blocks'][number];
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [4] } },
        { id: 'w', type: 'Block', block: 'Widen', repeat: 3 },
      ],
      [['in', 'w', 'x']],
      { blocks: [widen] },
    );
    const analysis = analyze(doc);
    expect(analysis.main.nodes.get('w')!.cost).toMatchObject({ macs: 4 * 8 + 8 * 8 + 8 * 8, activations: 3 * 8 });
    expect(analysis.main.cost).toMatchObject({ macs: 160, activations: 4 + 24 });
  });
});

const preset = (id: string, name: string) => {
  const t = templateDocument(id, name);
  if ('error' in t) throw new Error(t.error);
  return t.doc;
};

describe('paper presets against published totals', () => {
  it('Mixer-B/16: 12.6 G MACs, as published with the reference model', () => {
    const { macs } = summarize(analyze(preset('mlp-mixer', 'B/16')));
    // stem 196·768·768, then 12 × (768·196·384·2 + 196·768·3072·2), head 768·1000
    expect(macs).toBe(196 * 768 * 768 + 12 * (768 * 196 * 384 * 2 + 196 * 768 * 3072 * 2) + 768 * 1000);
    expect(Math.abs(macs - 12.6e9) / 12.6e9).toBeLessThan(0.005);
  });

  it('ViT-B/16: 17.6 G MACs, as published with the reference model', () => {
    const { macs, cost } = summarize(analyze(preset('vit', 'B/16')));
    const tokens = 197; // 196 patches and the class token
    const attention = 4 * tokens * 768 * 768 + 2 * tokens * tokens * 768;
    const mlp = 2 * tokens * 768 * 3072;
    // stem on the 196 patches, 12 blocks, head
    expect(macs).toBe(196 * 768 * 16 * 16 * 3 + 12 * (attention + mlp) + 768 * 1000);
    expect(Math.abs(macs - 17.6e9) / 17.6e9).toBeLessThan(0.005);
    expect(cost.unestimated).toEqual([]);
  });

  it('ConvMixer-1536/20 counts its depthwise convolutions and says so', () => {
    const summary = summarize(analyze(preset('convmixer', '1536/20')));
    const grid = 32 * 32 * 1536; // 224 / 7 = 32 patches a side
    const depthwise = 20 * grid * 9 * 9;
    expect(summary.cost.macsByType.DepthwiseConv2D).toBe(depthwise);
    expect(summary.macs).toBe(grid * 7 * 7 * 3 + depthwise + 20 * grid * 1536 + 1536 * 1000);
    // Without them: the 48.6 G some published tables give.
    expect((summary.macs - depthwise) / 1e9).toBeCloseTo(48.55, 2);
    expect(formatSummary(summary)).toMatch(
      /Depthwise convolutions are counted \(2\.55 G MACs, 5\.0% of the total\); some published ConvMixer figures leave them out\./,
    );
    expect(formatSummary(summarize(analyze(preset('mlp-mixer', 'B/16'))))).not.toMatch(/Depthwise/);
  });
});

describe('the summary shows costs', () => {
  const doc = preset('convmixer', 'mnist');

  it('per node and in total, with activation memory for a training batch', () => {
    const summary = summarize(analyze(doc));
    const head = summary.nodes.find((r) => r.type === 'Dense')!;
    expect(head).toMatchObject({ macs: 64 * 10, activationBytes: 10 * 4, paramBytes: (64 * 10 + 10) * 4 });
    expect(summary.macs).toBe(summary.nodes.reduce((a, r) => a + r.macs, 0));
    expect(summary.activationBytes).toBe(summary.nodes.reduce((a, r) => a + r.activationBytes, 0));
    expect(summary.cost.batchSize).toBe(doc.training?.batchSize);
    expect(summary.cost.batchActivationBytes).toBe(summary.activationBytes * summary.cost.batchSize);
    const text = formatSummary(summary);
    expect(text).toMatch(/Layer \(type\) +Output shape +Param # +MACs +Activations +Connected to/);
    expect(text).toMatch(/^MACs: 4\.52 M per example \(convolutions, dense layers and matrix products; element-wise work not counted\)$/m);
    expect(text).toMatch(new RegExp(`^Activations: .* per example; .* for a training batch of ${summary.cost.batchSize}$`, 'm'));
  });

  it('patchbay summary --json has macs and activationBytes per node and in total', async () => {
    let out = '';
    const code = await run(['summary', 'convmixer', '--json'], { out: (s: string) => (out += s), err: () => {} } as never);
    expect(code).toBe(0);
    const json = JSON.parse(out) as { macs: number; activationBytes: number; nodes: { macs: number; activationBytes: number }[] };
    expect(json.macs).toBe(summarize(analyze(doc)).macs);
    expect(json.macs).toBeGreaterThan(0);
    expect(json.activationBytes).toBeGreaterThan(0);
    for (const node of json.nodes) expect(node).toEqual(expect.objectContaining({ macs: expect.any(Number), activationBytes: expect.any(Number) }));
  });
});
