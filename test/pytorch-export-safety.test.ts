/**
 * A shared document is untrusted: no string in it may become Python in the PyTorch export. Hostile
 * and random strings go into every string field that reaches the exporter (graph name, node ids and
 * names, block ids, labels, descriptions, param names, ports, Input names); each export must parse
 * (Python's ast), and Python's own tokenizer must find exactly the token structure of the same graph
 * with harmless strings (strings may change names, literals and comments, never tokens), only
 * printable ASCII, and no changed name that is a builtin, a module the code uses, or a dunder.
 * Needs /usr/bin/python3 (torch not needed: the files are parsed, not run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { emitPytorch } from '../src/compiler/emit-pytorch';
import { pyClassName, pyComment, pyIdentifier, pyString } from '../src/compiler/escape-python';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { DOCUMENT_VERSION, type GraphDocument } from '../src/document/schema';

const PYTHON = '/usr/bin/python3';
const hasPython = spawnSync(PYTHON, ['-c', 'import ast, tokenize'], { encoding: 'utf8' }).status === 0;
if (!hasPython) console.warn(`Skipping the PyTorch export safety checks: ${PYTHON} is missing.`);

const PAYLOADS = [
  '\n__import__("os").system("echo pwned")#',
  '\r__import__("os").system("echo pwned")#',
  '\u2028__import__("os").system("echo pwned")#',
  '\u2029x = 1',
  '\u0085\u000b\u000c\u001c\u001d\u001e exec("pwned")',
  '"; exec("pwned"); "',
  "'; exec('pwned'); '",
  '"""; exec("pwned"); """',
  "'''; exec('pwned'); '''",
  '\\',
  '\\N{LATIN SMALL LETTER A}',
  '{exec("pwned")}',
  '# comment',
  '\u0000\u0001\u007f',
  '\ud800',
  '\u202e})(evil#',
  '😀',
  'class',
  'import',
  'lambda',
  'self',
  'super',
  'torch',
  'nn',
  'F',
  'forward',
  'training',
  'parameters',
  '__init__',
  '__class__',
  '_private',
  'None',
  'True',
  'match',
  'exec',
  'eval',
  'os',
  'create_model',
  'layer',
  'x',
];

const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...PAYLOADS),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...PAYLOADS), fc.string({ unit: 'binary', maxLength: 6 })).map((p) => p.join('')),
);
const identifier = fc.oneof(
  fc.constantFrom('class', 'self', 'x', 'torch', 'forward', 'lambda', 'None', 'dim'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/),
);
const blockId = fc.oneof(fc.constantFrom('class', 'Model', 'nn', 'F', 'None', 'create_model'), fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,10}$/));

interface Strings {
  graphName: string;
  ids: string[];
  names: string[];
  blockIds: [string, string];
  labels: string[];
  paramNames: [string, string];
  ports: [string, string];
}

/** A graph through every exporter path that prints document text: two blocks (one repeated, one with a `when`), an Add, Input and Output names. */
function documentWith(s: Strings): GraphDocument {
  const [units, useSecond] = s.paramNames;
  const [inPort, outPort] = s.ports;
  const [input, first, add, rep, output, bIn, bDense1, bDense2, bOut] = s.ids as [string, string, string, string, string, string, string, string, string];
  const L = s.labels;
  return {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    networks: [],
    name: s.graphName,
    nodeTypes: {},
    meta: {},
    training: {
      optimizer: 'adam',
      learningRate: 1e-3,
      schedule: 'constant',
      warmupSteps: 0,
      weightDecay: 0,
      momentum: 0.9,
      loss: 'categoricalCrossentropy',
      metrics: [L[5]!],
      batchSize: 8,
      epochs: 1,
      seed: 0,
    },
    blocks: [
      {
        id: s.blockIds[0],
        label: L[0]!,
        description: L[1]!,
        category: L[2]!,
        params: [
          { name: units, kind: 'int', default: 8, min: 1, description: L[3]! },
          { name: useSecond, kind: 'boolean', default: true, description: L[4]! },
        ],
        nodes: [
          { id: bIn, type: 'BlockInput', name: s.names[5], params: { name: inPort } },
          { id: bDense1, type: 'Dense', name: s.names[6], params: { units: { $param: units }, activation: 'gelu' } },
          { id: bDense2, type: 'Dense', name: s.names[7], params: { units: { $param: units } }, when: { $param: useSecond } },
          { id: bOut, type: 'BlockOutput', name: s.names[8], params: { name: outPort } },
        ],
        edges: [
          { id: 'a', source: bIn, sourcePort: 'out', target: bDense1, targetPort: 'in' },
          { id: 'b', source: bDense1, sourcePort: 'out', target: bDense2, targetPort: 'in' },
          { id: 'c', source: bDense2, sourcePort: 'out', target: bOut, targetPort: 'in' },
        ],
      },
      {
        id: s.blockIds[1],
        label: L[6]!,
        description: L[7]!,
        category: L[8]!,
        params: [],
        nodes: [
          { id: 'in', type: 'BlockInput', params: { name: 'x' } },
          { id: 'norm', type: 'LayerNormalization', name: s.names[4], params: {} },
          { id: 'out', type: 'BlockOutput', params: { name: 'y' } },
        ],
        edges: [
          { id: 'a', source: 'in', sourcePort: 'out', target: 'norm', targetPort: 'in' },
          { id: 'b', source: 'norm', sourcePort: 'out', target: 'out', targetPort: 'in' },
        ],
      },
    ],
    nodes: [
      { id: input, type: 'Input', name: s.names[0], params: { shape: [8] } },
      { id: first, type: 'Block', block: s.blockIds[0], name: s.names[1], params: { [units]: 8, [useSecond]: true } },
      { id: add, type: 'Add', name: s.names[2], params: {} },
      { id: rep, type: 'Block', block: s.blockIds[1], repeat: 2, name: s.names[3], params: {} },
      { id: output, type: 'Output', name: s.names[8], params: {} },
    ],
    edges: [
      { id: 'e1', source: input, sourcePort: 'out', target: first, targetPort: inPort },
      { id: 'e2', source: first, sourcePort: outPort, target: add, targetPort: 'inputs' },
      { id: 'e3', source: input, sourcePort: 'out', target: add, targetPort: 'inputs' },
      { id: 'e4', source: add, sourcePort: 'out', target: rep, targetPort: 'x' },
      { id: 'e5', source: rep, sourcePort: 'y', target: output, targetPort: 'in' },
    ],
  };
}

const HARMLESS: Strings = {
  graphName: 'graph',
  ids: ['input', 'first', 'add', 'rep', 'output', 'bIn', 'bDense1', 'bDense2', 'bOut'],
  names: ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'],
  blockIds: ['Pair', 'Rep'],
  labels: Array.from({ length: 9 }, (_, i) => `label ${i}`),
  paramNames: ['units', 'useSecond'],
  ports: ['x', 'y'],
};

const stringsArb: fc.Arbitrary<Strings> = fc.record({
  graphName: hostile,
  ids: fc.uniqueArray(
    hostile.filter((s) => s.length > 0),
    { minLength: 9, maxLength: 9 },
  ),
  names: fc.array(hostile, { minLength: 9, maxLength: 9 }),
  blockIds: fc.uniqueArray(blockId, { minLength: 2, maxLength: 2 }) as fc.Arbitrary<[string, string]>,
  labels: fc.array(
    hostile.filter((s) => s.length > 0),
    { minLength: 9, maxLength: 9 },
  ),
  paramNames: fc.uniqueArray(identifier, { minLength: 2, maxLength: 2 }) as fc.Arbitrary<[string, string]>,
  ports: fc.uniqueArray(identifier, { minLength: 2, maxLength: 2 }) as fc.Arbitrary<[string, string]>,
});

function exported(doc: GraphDocument): Record<string, string> {
  const analysis = analyze(doc);
  const { plan, diagnostics } = lower(analysis);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return emitPytorch(plan!, doc.training).files;
}

const root = mkdtempSync(join(tmpdir(), 'patchbay-pysafe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('Python escaping', () => {
  it('makes one printable-ASCII string literal of any text', () => {
    expect(pyString('a"b\\c\n\u2028\u0000é😀\ud800')).toBe('"a\\"b\\\\c\\n\\u2028\\x00\\xe9\\U0001f600\\ud800"');
    expect(pyComment('x\ny\u2029z')).toBe('x\\ny\\u2029z');
  });

  it('makes identifiers that are never keywords, builtins, dunders or taken names', () => {
    expect(pyIdentifier('class')).toBe('class_');
    expect(pyIdentifier('__init__')).toBe('init');
    expect(pyIdentifier('exec')).toBe('exec_');
    expect(pyIdentifier('stem conv-1')).toBe('stem_conv_1');
    expect(pyIdentifier('tokenMlp1')).toBe('token_mlp1');
    expect(pyIdentifier('9lives')).toBe('n9lives');
    expect(pyIdentifier('😀')).toBe('node');
    expect(pyIdentifier('x', new Set(['x', 'x_2']))).toBe('x_3');
    expect(pyClassName('conv mixer-block')).toBe('ConvMixerBlock');
    expect(pyClassName('None')).toBe('NoneBlock');
  });
});

describe.skipIf(!hasPython)('no document string becomes code in the PyTorch export', () => {
  it('hostile strings in every field give the same Python tokens as harmless ones', () => {
    const reference = exported(documentWith(HARMLESS));
    const refDir = join(root, 'reference');
    mkdirSync(refDir, { recursive: true });
    for (const [name, text] of Object.entries(reference)) writeFileSync(join(refDir, name), text);
    const samples = [
      // Every payload in every field at least once, then random ones.
      ...PAYLOADS.map((p, i) => ({
        ...HARMLESS,
        graphName: p,
        ids: HARMLESS.ids.map((id, j) => (j === i % 9 ? `${p}${j}` : id)),
        names: HARMLESS.names.map(() => p),
        labels: HARMLESS.labels.map(() => p),
      })),
      ...fc.sample(stringsArb, { numRuns: 40, seed: 13 }),
    ];
    const args: string[] = [];
    samples.forEach((s, i) => {
      const files = exported(documentWith(s));
      const dir = join(root, `sample${i}`);
      mkdirSync(dir, { recursive: true });
      for (const [name, text] of Object.entries(files)) {
        if (!name.endsWith('.py')) continue;
        writeFileSync(join(dir, name), text);
        args.push(join(refDir, name), join(dir, name));
      }
    });
    const output = execFileSync(PYTHON, [join(import.meta.dirname, 'pytorch', 'check_tokens.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const results = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results.length).toBe(args.length / 2);
    for (const r of results) {
      expect(r.error, `${String(r.file)}: ${String(r.error)}`).toBeUndefined();
      expect(r.sameStructure, `${String(r.file)}: ${JSON.stringify(r.at)}`).toBe(true);
      expect(r.ascii, String(r.file)).toBe(true);
      expect(r.plainStrings, String(r.file)).toBe(true);
      expect(r.badNames, String(r.file)).toEqual([]);
    }
  }, 120_000);
});

/**
 * The token and capsule layers (ViT, CLIP, CapsNet) with every id and name from the document: their
 * emitters write sizes and the escaped attribute and value names, never a name as it stands.
 */
function tokenLayersWith(ids: string[], names: string[]): GraphDocument {
  const [text, tokenIds, image, cls, pos, attn, gelu, take, primary, digits, squash, length, out1, out2] = ids as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const node = (id: string, type: string, i: number, params: Record<string, unknown> = {}) => ({ id, type, name: names[i], params });
  const edge = (i: number, source: string, target: string, targetPort = 'in') => ({ id: `e${i}`, source, sourcePort: 'out', target, targetPort });
  return {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    networks: [],
    name: names[0]!,
    nodeTypes: {},
    meta: {},
    blocks: [],
    nodes: [
      node(text, 'Input', 1, { shape: [5, 8] }),
      node(tokenIds, 'Input', 2, { shape: [6], dtype: 'int32' }),
      node(image, 'Input', 3, { shape: [6, 6, 2] }),
      node(cls, 'ClassToken', 4),
      node(pos, 'PositionEmbedding', 5),
      node(attn, 'MultiHeadSelfAttention', 6, { numHeads: 2, causal: true }),
      node(gelu, 'GELU', 7, { approximate: 'quick' }),
      node(take, 'TakeToken', 8, { mode: 'endOfText' }),
      node(primary, 'PrimaryCapsules', 9, { capsules: 2, capsuleDim: 4, kernelSize: 3, strides: 2, padding: 'same' }),
      node(digits, 'DigitCapsules', 10, { capsules: 3, capsuleDim: 4, routings: 2 }),
      node(squash, 'Squash', 11),
      node(length, 'CapsuleLength', 12),
      node(out1, 'Output', 13),
      node(out2, 'Output', 14),
    ],
    edges: [
      edge(1, text, cls),
      edge(2, cls, pos),
      edge(3, pos, attn),
      edge(4, attn, gelu),
      edge(5, gelu, take),
      edge(6, tokenIds, take, 'ids'),
      edge(7, take, out1),
      edge(8, image, primary),
      edge(9, primary, digits),
      edge(10, digits, squash),
      edge(11, squash, length),
      edge(12, length, out2),
    ],
  };
}

describe.skipIf(!hasPython)('no document string becomes code in the token and capsule layers', () => {
  it('hostile ids and names give the same Python tokens as harmless ones', () => {
    const harmless = tokenLayersWith(
      Array.from({ length: 14 }, (_, i) => `node${i}`),
      Array.from({ length: 15 }, (_, i) => `name ${i}`),
    );
    const refDir = join(root, 'token-reference');
    mkdirSync(refDir, { recursive: true });
    for (const [name, text] of Object.entries(exported(harmless))) writeFileSync(join(refDir, name), text);
    const samples: Array<{ ids: string[]; names: string[] }> = [
      ...PAYLOADS.map((p, i) => ({
        ids: Array.from({ length: 14 }, (_, j) => (j === i % 14 ? `${p}${j}` : `node${j}`)),
        names: Array.from({ length: 15 }, () => p),
      })),
      ...fc.sample(
        fc.record({
          ids: fc.uniqueArray(
            hostile.filter((s) => s.length > 0),
            { minLength: 14, maxLength: 14 },
          ),
          names: fc.array(hostile, { minLength: 15, maxLength: 15 }),
        }),
        { numRuns: 20, seed: 13 },
      ),
    ];
    const args: string[] = [];
    samples.forEach((s, i) => {
      const dir = join(root, `token-sample${i}`);
      mkdirSync(dir, { recursive: true });
      for (const [name, text] of Object.entries(exported(tokenLayersWith(s.ids, s.names)))) {
        if (!name.endsWith('.py')) continue;
        writeFileSync(join(dir, name), text);
        args.push(join(refDir, name), join(dir, name));
      }
    });
    const output = execFileSync(PYTHON, [join(import.meta.dirname, 'pytorch', 'check_tokens.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const results = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results.length).toBe(args.length / 2);
    for (const r of results) {
      expect(r.error, `${String(r.file)}: ${String(r.error)}`).toBeUndefined();
      expect(r.sameStructure, `${String(r.file)}: ${JSON.stringify(r.at)}`).toBe(true);
      expect(r.ascii, String(r.file)).toBe(true);
      expect(r.plainStrings, String(r.file)).toBe(true);
      expect(r.badNames, String(r.file)).toEqual([]);
    }
  }, 120_000);
});

/**
 * The generative layers' export (pytorch-layers-generative): a flow chain, whose model class also
 * gets forward_flow and inverse over its layers' attributes, and a diffusion graph (timestep
 * embedding, residual block, spatial attention, UNet), with every node id and name and the graph's
 * name hostile.
 */
function generativeDocuments(graphName: string, ids: string[], names: string[]): GraphDocument[] {
  const doc = (nodes: GraphDocument['nodes'], edges: Array<[number, number, string]>): GraphDocument => ({
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    networks: [],
    name: graphName,
    nodeTypes: {},
    meta: {},
    blocks: [],
    nodes,
    edges: edges.map(([s, t, port], i) => ({ id: `e${i}`, source: nodes[s]!.id, sourcePort: 'out', target: nodes[t]!.id, targetPort: port })),
  });
  const node = (i: number, type: string, params: Record<string, unknown>) => ({ id: ids[i]!, type, name: names[i], params });
  return [
    doc(
      [
        node(0, 'Input', { shape: [4, 4, 2] }),
        node(1, 'ActNorm', {}),
        node(2, 'InvertibleConv1x1', {}),
        node(3, 'AffineCoupling', { parity: 1, hidden: 4 }),
        node(4, 'Squeeze', {}),
        node(5, 'Output', {}),
      ],
      [
        [0, 1, 'in'],
        [1, 2, 'in'],
        [2, 3, 'in'],
        [3, 4, 'in'],
        [4, 5, 'in'],
      ],
    ),
    doc(
      [
        node(0, 'Input', { shape: [8, 8, 2] }),
        node(1, 'Input', { shape: [1] }),
        node(2, 'TimestepEmbedding', { dim: 8 }),
        node(3, 'UNet', { channels: 4, channelMult: [1, 2], attentionResolutions: [4], groups: 2, outChannels: 4 }),
        node(4, 'TimeResBlock', { filters: 4, groups: 2 }),
        node(5, 'SpatialAttention', { groups: 2 }),
        node(6, 'Output', {}),
      ],
      [
        [1, 2, 'in'],
        [0, 3, 'in'],
        [2, 3, 'emb'],
        [3, 4, 'in'],
        [2, 4, 'emb'],
        [4, 5, 'in'],
        [5, 6, 'in'],
      ],
    ),
  ];
}

describe.skipIf(!hasPython)('no document string becomes code in the generative layers’ PyTorch export', () => {
  it('flow and diffusion graphs with hostile ids and names give the same Python tokens as harmless ones', () => {
    const harmless = generativeDocuments(
      'graph',
      Array.from({ length: 7 }, (_, i) => `node${i}`),
      Array.from({ length: 7 }, (_, i) => `name${i}`),
    ).map(exported);
    expect(harmless[0]!['model.py']).toContain('def forward_flow(self, x):');
    const args: string[] = [];
    PAYLOADS.forEach((p, i) => {
      const hostile = generativeDocuments(
        p,
        Array.from({ length: 7 }, (_, j) => `${p}${j}`),
        Array.from({ length: 7 }, () => p),
      ).map(exported);
      hostile.forEach((files, d) => {
        for (const name of ['model.py', 'weights.py']) {
          const ref = join(root, `generative-ref${d}-${name}`);
          const dir = join(root, `generative${i}-${d}`);
          mkdirSync(dir, { recursive: true });
          writeFileSync(ref, harmless[d]![name]!);
          writeFileSync(join(dir, name), files[name]!);
          args.push(ref, join(dir, name));
        }
      });
    });
    const output = execFileSync(PYTHON, [join(import.meta.dirname, 'pytorch', 'check_tokens.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const results = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results.length).toBe(args.length / 2);
    for (const r of results) {
      expect(r.error, `${String(r.file)}: ${String(r.error)}`).toBeUndefined();
      expect(r.sameStructure, `${String(r.file)}: ${JSON.stringify(r.at)}`).toBe(true);
      expect(r.ascii, String(r.file)).toBe(true);
      expect(r.plainStrings, String(r.file)).toBe(true);
      expect(r.badNames, String(r.file)).toEqual([]);
    }
  }, 120_000);
});

/**
 * GLOM's layers (pytorch-layers-glom): patch embeddings into levels, two updates (one with a local
 * radius), a decoder and the patches laid back out as an image, with every node id and name and the
 * graph's name hostile.
 */
function glomDocument(graphName: string, ids: string[], names: string[]): GraphDocument {
  const node = (i: number, type: string, params: Record<string, unknown>) => ({ id: ids[i]!, type, name: names[i], params });
  const nodes = [
    node(0, 'Input', { shape: [9, 4] }),
    node(1, 'GlomLevels', { levels: 2 }),
    node(2, 'GlomUpdate', { hiddenUnits: 3, radius: 1 }),
    node(3, 'GlomUpdate', { hiddenUnits: 5, sharpness: 2 }),
    node(4, 'Reshape', { targetShape: [9, 8] }),
    node(5, 'PatchesToImage', { patchSize: 2, channels: 2 }),
    node(6, 'Output', {}),
  ];
  const edges: Array<[number, number, string]> = [
    [0, 1, 'in'],
    [1, 2, 'in'],
    [0, 2, 'patches'],
    [2, 3, 'in'],
    [0, 3, 'patches'],
    [3, 4, 'in'],
    [4, 5, 'in'],
    [5, 6, 'in'],
  ];
  return {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    networks: [],
    name: graphName,
    nodeTypes: {},
    meta: {},
    blocks: [],
    nodes,
    edges: edges.map(([s, t, port], i) => ({ id: `e${i}`, source: nodes[s]!.id, sourcePort: 'out', target: nodes[t]!.id, targetPort: port })),
  };
}

describe.skipIf(!hasPython)('no document string becomes code in the GLOM layers’ PyTorch export', () => {
  it('a GLOM graph with hostile ids and names gives the same Python tokens as a harmless one', () => {
    const harmless = exported(
      glomDocument(
        'graph',
        Array.from({ length: 7 }, (_, i) => `node${i}`),
        Array.from({ length: 7 }, (_, i) => `name${i}`),
      ),
    );
    expect(harmless['model.py']).toContain('GlomUpdate(9, 2, 4, 3, sharpness=8, radius=1)');
    const args: string[] = [];
    const samples = [
      ...PAYLOADS.map((p) => ({ graphName: p, ids: Array.from({ length: 7 }, (_, j) => `${p}${j}`), names: Array.from({ length: 7 }, () => p) })),
      ...fc.sample(
        fc.record({
          graphName: hostile,
          ids: fc.uniqueArray(
            hostile.filter((s) => s.length > 0),
            { minLength: 7, maxLength: 7 },
          ),
          names: fc.array(hostile, { minLength: 7, maxLength: 7 }),
        }),
        { numRuns: 10, seed: 11 },
      ),
    ];
    samples.forEach((s, i) => {
      const files = exported(glomDocument(s.graphName, s.ids, s.names));
      for (const name of ['model.py', 'weights.py']) {
        const ref = join(root, `glom-ref-${name}`);
        const dir = join(root, `glom${i}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(ref, harmless[name]!);
        writeFileSync(join(dir, name), files[name]!);
        args.push(ref, join(dir, name));
      }
    });
    const output = execFileSync(PYTHON, [join(import.meta.dirname, 'pytorch', 'check_tokens.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const results = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results.length).toBe(args.length / 2);
    for (const r of results) {
      expect(r.error, `${String(r.file)}: ${String(r.error)}`).toBeUndefined();
      expect(r.sameStructure, `${String(r.file)}: ${JSON.stringify(r.at)}`).toBe(true);
      expect(r.ascii, String(r.file)).toBe(true);
      expect(r.plainStrings, String(r.file)).toBe(true);
      expect(r.badNames, String(r.file)).toEqual([]);
    }
  }, 120_000);
});
