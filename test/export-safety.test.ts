/**
 * A shared document is untrusted: no string in it may become code in an export. This property test
 * puts hostile and random strings into every string field of a document that reaches the emitter
 * (graph name, node ids and names, block ids, labels, descriptions, categories, param names and
 * descriptions, enum options, port names, edge ids, meta), exports it, and proves with TypeScript's
 * own scanner that the module's code has exactly the structure of the same graph with harmless
 * strings (the strings can change names and literals, never tokens), that no dangerous global is
 * named, and with tsc that every module still type-checks under --strict.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emit } from '../src/compiler/emit';
import { emitProgram } from '../src/compiler/emit-program';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { DOCUMENT_VERSION, type GraphDocument } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import { countWeights, useCpuBackend } from './helpers/tf';
import { typecheckStrict } from './helpers/tsc';
import { identifiers, structure, tokenize } from './helpers/ts-tokens';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, '.tmp', 'export-safety');

/** Strings an attacker would try, and strings that are merely awkward. */
const PAYLOADS = [
  '\n;globalThis.pwned = 1;//',
  '\r;globalThis.pwned = 1;//',
  '\u2028;globalThis.pwned = 1;//',
  '\u2029;globalThis.pwned = 1;//',
  '*/ globalThis.pwned = 1; /*',
  "'; globalThis.pwned = 1; '",
  '"; globalThis.pwned = 1; "',
  '`; globalThis.pwned = 1; `',
  '${globalThis.pwned = 1}',
  '\\',
  '\\u0027',
  '\x1b[2J\x1b[H',
  '\u202e})(evil//',
  '\u0000\u0001\u007f\u0085',
  '\ud800',
  'constructor',
  '__proto__',
  '</script><script>alert(1)</script>',
];

const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...PAYLOADS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...PAYLOADS), fc.string({ unit: 'binary', maxLength: 8 })).map((parts) => parts.join('')),
  fc.constantFrom(...PAYLOADS).map((p) => p.repeat(500)),
);

const WORDS = ['class', 'tf', 'p', 'name', 'i', 'fillShape', 'createModel', 'constructor', 'eval', 'arguments', 'let', 'await', 'x', 'dim', 'default', 'of'];
const identifier = fc.oneof(fc.constantFrom(...WORDS), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/));
const blockId = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,12}$/);

interface Strings {
  graphName: string;
  meta: string;
  ids: string[];
  names: string[];
  blockIds: [string, string];
  labels: string[];
  paramNames: string[];
  ports: string[];
  edgeIds: string[];
}

const stringsArb: fc.Arbitrary<Strings> = fc.record({
  graphName: hostile,
  meta: hostile,
  ids: fc.uniqueArray(
    hostile.filter((s) => s.length > 0),
    { minLength: 9, maxLength: 9 },
  ),
  names: fc.array(hostile, { minLength: 9, maxLength: 9 }),
  blockIds: fc.uniqueArray(blockId, { minLength: 2, maxLength: 2 }) as fc.Arbitrary<[string, string]>,
  labels: fc.array(
    hostile.filter((s) => s.length > 0),
    { minLength: 12, maxLength: 12 },
  ),
  paramNames: fc.uniqueArray(identifier, { minLength: 5, maxLength: 5 }),
  ports: fc.uniqueArray(identifier, { minLength: 3, maxLength: 3 }),
  edgeIds: fc.uniqueArray(
    hostile.filter((s) => s.length > 0),
    { minLength: 12, maxLength: 12 },
  ),
});

/**
 * A graph that reaches every emitter path that prints document text: a block with an int, an enum,
 * a boolean (a `when` condition) and a derived param, two outputs (destructuring), nested use of
 * block params; a second block repeated ×2 (template-literal layer names); Input, Add and Output.
 */
function documentWith(s: Strings): GraphDocument {
  const [units, act, useSecond, derived, width] = s.paramNames as [string, string, string, string, string];
  const [inPort, outA, outB] = s.ports as [string, string, string];
  const [input, pair, add, rep, output, bIn, bDense1, bDense2, bOutA] = s.ids as [string, string, string, string, string, string, string, string, string];
  const e = s.edgeIds;
  const L = s.labels;
  return {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    networks: [],
    name: s.graphName,
    nodeTypes: {},
    meta: { note: s.meta, [s.meta]: s.meta },
    blocks: [
      {
        id: s.blockIds[0],
        label: L[0]!,
        description: L[1]!,
        category: L[2]!,
        params: [
          { name: units, kind: 'int', default: 8, min: 1, description: L[3]! },
          { name: act, kind: 'enum', options: ['relu', 'gelu'], default: 'relu', description: L[6]! },
          // Options land in a string-literal type; a layer param linked to them would refuse most (PB312).
          { name: `${act}Note`, kind: 'enum', options: [L[4]!, L[5]!], default: L[4]!, description: L[5]! },
          { name: useSecond, kind: 'boolean', default: true, description: L[7]! },
          { name: derived, kind: 'int', derive: { input: inPort, axis: -1 }, description: L[8]! },
        ],
        nodes: [
          { id: bIn, type: 'BlockInput', name: s.names[5], params: { name: inPort } },
          { id: bDense1, type: 'Dense', name: s.names[6], params: { units: { $param: units }, activation: { $param: act } } },
          { id: bDense2, type: 'Dense', name: s.names[7], params: { units: { $param: derived } }, when: { $param: useSecond } },
          { id: bOutA, type: 'BlockOutput', name: s.names[8], params: { name: outA } },
          { id: 'second output', type: 'BlockOutput', params: { name: outB } },
        ],
        edges: [
          { id: e[0]!, source: bIn, sourcePort: 'out', target: bDense1, targetPort: 'in' },
          { id: e[1]!, source: bDense1, sourcePort: 'out', target: bDense2, targetPort: 'in' },
          { id: e[2]!, source: bDense2, sourcePort: 'out', target: bOutA, targetPort: 'in' },
          { id: e[3]!, source: bDense1, sourcePort: 'out', target: 'second output', targetPort: 'in' },
        ],
      },
      {
        id: s.blockIds[1],
        label: L[9]!,
        description: L[10]!,
        category: L[11]!,
        params: [{ name: width, kind: 'int', default: 8, min: 1, description: L[3]! }],
        nodes: [
          { id: 'in', type: 'BlockInput', params: { name: 'x' } },
          { id: 'dense', type: 'Dense', name: s.names[4], params: { units: { $param: width } } },
          { id: 'out', type: 'BlockOutput', params: { name: 'y' } },
        ],
        edges: [
          { id: 'a', source: 'in', sourcePort: 'out', target: 'dense', targetPort: 'in' },
          { id: 'b', source: 'dense', sourcePort: 'out', target: 'out', targetPort: 'in' },
        ],
      },
    ],
    nodes: [
      { id: input, type: 'Input', name: s.names[0], params: { shape: [8] } },
      { id: pair, type: 'Block', block: s.blockIds[0], name: s.names[1], params: { [units]: 8, [act]: 'relu', [`${act}Note`]: L[4]!, [useSecond]: true } },
      { id: add, type: 'Add', name: s.names[2], params: {} },
      { id: rep, type: 'Block', block: s.blockIds[1], repeat: 2, name: s.names[3], params: { [width]: 8 } },
      { id: output, type: 'Output', name: s.names[8], params: {} },
    ],
    edges: [
      { id: e[4]!, source: input, sourcePort: 'out', target: pair, targetPort: inPort },
      { id: e[5]!, source: pair, sourcePort: outA, target: add, targetPort: 'inputs' },
      { id: e[6]!, source: pair, sourcePort: outB, target: add, targetPort: 'inputs' },
      { id: e[7]!, source: add, sourcePort: 'out', target: rep, targetPort: 'x' },
      { id: e[8]!, source: rep, sourcePort: 'y', target: output, targetPort: 'in' },
    ],
  };
}

const HARMLESS: Strings = {
  graphName: 'graph',
  meta: 'meta',
  ids: ['input', 'pair', 'add', 'rep', 'output', 'bIn', 'bDense1', 'bDense2', 'bOutA'],
  names: ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'],
  blockIds: ['Pair', 'Rep'],
  labels: Array.from({ length: 12 }, (_, i) => `label ${i}`),
  paramNames: ['units', 'act', 'useSecond', 'derived', 'width'],
  ports: ['x', 'a', 'b'],
  edgeIds: Array.from({ length: 12 }, (_, i) => `e${i}`),
};

/**
 * Globals an injected statement would reach for. The emitter never names them, and never makes a
 * value name equal to one (node names like "eval" become `eval_`), so seeing one means injection.
 */
const DANGEROUS = new Set(['globalThis', 'eval', 'Function', 'window', 'self', 'document', 'process', 'require', 'fetch', 'alert', 'import', 'setTimeout']);

function exported(doc: GraphDocument): string {
  const analysis = analyze(doc);
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const { plan, diagnostics } = lower(analysis);
  expect(diagnostics).toEqual([]);
  return emit(plan!);
}

describe('no document string becomes code in the TypeScript export', () => {
  const baseline = structure(tokenize(exported(documentWith(HARMLESS))));

  it('the harmless graph exports what it should (the structure compared against is real)', () => {
    const source = exported(documentWith(HARMLESS));
    expect(source).toContain('export function pair(');
    expect(source).toContain('const { a: ');
    expect(source).toContain('if (p.useSecond)');
    expect(source).toContain('for (let i = 0; i < 2; i++)');
    expect(baseline.length).toBeGreaterThan(200);
  });

  it('hostile strings in every field change names and literals, never the code', () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    let n = 0;
    fc.assert(
      fc.property(stringsArb, (strings) => {
        const source = exported(documentWith(strings));
        const tokens = tokenize(source);
        expect(structure(tokens)).toEqual(baseline);
        for (const name of identifiers(tokens)) expect(DANGEROUS.has(name), `identifier ${name}`).toBe(false);
        // Every line of the file is one of ours: no document text added a line.
        expect(source.split('\n').length).toBe(source.split(/\r\n|[\n\r\u2028\u2029]/).length);
        if (n < 25) writeFileSync(join(OUT, `case${n++}.ts`), source);
      }),
      { numRuns: 120, seed: 7 },
    );
    // The same modules type-check under --strict: nothing was broken, nothing was added.
    typecheckStrict(Array.from({ length: n }, (_, i) => join(OUT, `case${i}.ts`)));
  });

  it('a payload in the graph name would have run before escaping: the scanner sees it as code', () => {
    // The test's own eyes: the same text written raw into a line comment yields an injected statement.
    const raw = `// Generated from "${PAYLOADS[0]}"\nexport const x = 1;\n`;
    expect(identifiers(tokenize(raw))).toContain('globalThis');
  });
});

describe('no node name can shadow what the emitted code calls', () => {
  it('nodes and blocks named tf, fillShape, createModel, p, name and i still export a working module', async () => {
    const block = (id: string): GraphDocument['blocks'][number] => ({
      id,
      label: id,
      description: '',
      category: 'Blocks',
      params: [
        { name: 'p', kind: 'int', default: 4, min: 1 },
        { name: 'tf', kind: 'int', derive: { input: 'x', axis: -1 } },
      ],
      nodes: [
        { id: 'x', type: 'BlockInput', params: { name: 'x' } },
        { id: 'name', type: 'Dense', name: 'name', params: { units: { $param: 'p' } } },
        { id: 'i', type: 'Dense', name: 'i', params: { units: { $param: 'tf' } } },
        { id: 'y', type: 'BlockOutput', params: { name: 'y' } },
      ],
      edges: [
        { id: 'a', source: 'x', sourcePort: 'out', target: 'name', targetPort: 'in' },
        { id: 'b', source: 'name', sourcePort: 'out', target: 'i', targetPort: 'in' },
        { id: 'c', source: 'i', sourcePort: 'out', target: 'y', targetPort: 'in' },
      ],
    });
    const doc: GraphDocument = {
      format: 'patchbay.graph',
      version: DOCUMENT_VERSION,
      networks: [],
      name: 'shadows',
      nodeTypes: {},
      meta: {},
      blocks: [block('fillShape'), block('fill-shape'), block('createModel')],
      nodes: [
        { id: 'in', type: 'Input', name: 'tf', params: { shape: [6, 2] } },
        { id: 'reshape', type: 'Reshape', name: 'fillShape', params: { targetShape: [-1] } },
        { id: 'b1', type: 'Block', block: 'fillShape', name: 'createModel', params: { p: 3 } },
        { id: 'b2', type: 'Block', block: 'fill-shape', name: 'fillShape', repeat: 2, params: { p: 12 } },
        { id: 'b3', type: 'Block', block: 'createModel', name: 'p', params: { p: 5 } },
        { id: 'out', type: 'Output', name: 'i', params: {} },
      ],
      edges: [
        { id: 'e1', source: 'in', sourcePort: 'out', target: 'reshape', targetPort: 'in' },
        { id: 'e2', source: 'reshape', sourcePort: 'out', target: 'b1', targetPort: 'x' },
        { id: 'e3', source: 'b1', sourcePort: 'y', target: 'b2', targetPort: 'x' },
        { id: 'e4', source: 'b2', sourcePort: 'y', target: 'b3', targetPort: 'x' },
        { id: 'e5', source: 'b3', sourcePort: 'y', target: 'out', targetPort: 'in' },
      ],
    };
    const analysis = analyze(doc);
    const { plan } = lower(analysis);
    const source = emit(plan!);
    // Three block functions with three distinct names, none of them the helper's or the factory's.
    const functions = [...source.matchAll(/^export function (\w+)\(/gm)].map((m) => m[1]);
    expect(new Set(functions).size).toBe(functions.length);
    expect(functions.filter((f) => f === 'fillShape' || f === 'createModel')).toEqual(['createModel']);
    expect(source).toContain('function fillShape(input: tf.SymbolicTensor');
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, 'shadows.ts');
    writeFileSync(file, source);
    const tf = await useCpuBackend();
    const module = (await import(/* @vite-ignore */ file)) as { createModel: () => import('@tensorflow/tfjs').LayersModel };
    const model = module.createModel();
    const built = buildModel(plan!);
    try {
      expect(countWeights(model)).toEqual(analysis.count);
      expect(countWeights(built)).toEqual(analysis.count);
      // Each block ends in a Dense as wide as its input (the derived param): 6×2 flattened is 12.
      expect(model.outputs[0]!.shape).toEqual([null, 12]);
      model.setWeights(built.getWeights());
      const x = tf.randomNormal([2, 6, 2], 0, 1, 'float32', 3);
      const [a, b] = [model.predict(x), built.predict(x)] as import('@tensorflow/tfjs').Tensor[];
      expect(tf.max(tf.abs(tf.sub(a!, b!))).dataSync()[0]).toBeLessThan(1e-5);
      tf.dispose([x, a!, b!]);
    } finally {
      model.dispose();
      built.dispose();
    }
  });
});

// ── Training programs ─────────────────────────────────────────────────────────────────────────────

const programId = fc.oneof(
  fc.constantFrom(
    'tf',
    'nets',
    'seed',
    'step',
    'batch',
    'createModel',
    'createTrainer',
    'Networks',
    'eval',
    'seedStep',
    'randomFlip',
    'constructor',
    'default',
  ),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,10}$/),
);

interface ProgramStrings {
  name: string;
  networkId: string;
  procedureIds: [string, string];
  labels: string[];
  /** Node ids: 2 in the second network, 11 in the procedures. */
  ids: string[];
}

const programStringsArb: fc.Arbitrary<ProgramStrings> = fc.record({
  name: hostile,
  networkId: programId.filter((id) => id !== 'model'),
  procedureIds: fc.uniqueArray(programId, { minLength: 2, maxLength: 2 }) as fc.Arbitrary<[string, string]>,
  labels: fc.array(
    hostile.filter((s) => s.trim().length > 0),
    { minLength: 5, maxLength: 5 },
  ),
  ids: fc.uniqueArray(
    hostile.filter((s) => s.length > 0),
    { minLength: 13, maxLength: 13 },
  ),
});

/**
 * A program that reaches every path of the program exporter that prints document text: a second
 * network (label, description, Input/Output ids that become Network ports), a training procedure
 * with augmentation, online, moving-average and frozen applications, a stop-gradient, losses and a
 * Minimize; an evaluation with accuracy and the collapse monitor.
 */
function programWith(s: ProgramStrings): GraphDocument {
  const [nIn, nOut, data, noise, online, head, target, targetHead, stop, loss, mean, minimize, evalData] = s.ids as [
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
  const L = s.labels;
  const edge = (source: string, sourcePort: string, target: string, targetPort: string, i: number) => ({ id: `e${i}`, source, sourcePort, target, targetPort });
  return {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    name: s.name,
    nodeTypes: {},
    meta: {},
    blocks: [],
    nodes: [
      { id: 'x', type: 'Input', params: { shape: [6] } },
      { id: 'dense', type: 'Dense', params: { units: 3 } },
      { id: 'y', type: 'Output', params: {} },
    ],
    edges: [edge('x', 'out', 'dense', 'in', 0), edge('dense', 'out', 'y', 'in', 1)],
    networks: [
      {
        id: s.networkId,
        label: L[0]!,
        description: L[1]!,
        nodes: [
          { id: nIn, type: 'Input', params: { shape: [3] } },
          { id: 'dense', type: 'Dense', params: { units: 3 } },
          { id: nOut, type: 'Output', params: {} },
        ],
        edges: [edge(nIn, 'out', 'dense', 'in', 0), edge('dense', 'out', nOut, 'in', 1)],
      },
    ],
    program: {
      mainNetwork: { label: L[4]!, description: L[1]! },
      procedures: [
        {
          id: s.procedureIds[0],
          label: L[2]!,
          kind: 'train',
          nodes: [
            { id: data, type: 'Data', params: { shape: [6], classes: 3 } },
            { id: noise, type: 'GaussianNoise', params: { stddev: 0.1 } },
            { id: online, type: 'Network', params: { network: 'model' } },
            { id: head, type: 'Network', params: { network: s.networkId } },
            { id: target, type: 'Network', params: { network: 'model', weights: 'ema', decay: 0.9, decaySchedule: 'cosine' } },
            { id: targetHead, type: 'Network', params: { network: s.networkId, weights: 'frozen' } },
            { id: stop, type: 'StopGradient', params: {} },
            { id: loss, type: 'NegativeCosine', params: {} },
            { id: mean, type: 'MeanOf', params: {} },
            { id: minimize, type: 'Minimize', params: { optimizer: 'sgd', learningRate: 0.1, schedule: 'cosine', weightDecay: 1e-4, clipNorm: 1 } },
          ],
          edges: [
            edge(data, 'image', noise, 'in', 0),
            edge(noise, 'out', online, 'x', 1),
            edge(online, 'y', head, nIn, 2),
            edge(data, 'image', target, 'x', 3),
            edge(target, 'y', targetHead, nIn, 4),
            edge(targetHead, nOut, stop, 'in', 5),
            edge(head, nOut, loss, 'p', 6),
            edge(stop, 'out', loss, 'z', 7),
            edge(loss, 'loss', mean, 'inputs', 8),
            edge(loss, 'loss', mean, 'inputs', 9),
            edge(mean, 'out', minimize, 'loss', 10),
          ],
        },
        {
          id: s.procedureIds[1],
          label: L[3]!,
          kind: 'evaluate',
          nodes: [
            { id: evalData, type: 'Data', params: { shape: [6], classes: 3 } },
            { id: online, type: 'Network', params: { network: 'model', weights: 'frozen' } },
            { id: head, type: 'Accuracy', params: { metric: 'testAccuracy' } },
            { id: target, type: 'CollapseMonitor', params: { metric: 'collapse.std' } },
          ],
          edges: [
            edge(evalData, 'image', online, 'x', 0),
            edge(online, 'y', head, 'prediction', 1),
            edge(evalData, 'label', head, 'label', 2),
            edge(online, 'y', target, 'features', 3),
          ],
        },
      ],
    },
  };
}

const HARMLESS_PROGRAM: ProgramStrings = {
  name: 'program',
  networkId: 'head',
  procedureIds: ['pretrain', 'evaluate'],
  labels: ['Head', 'A head.', 'Training', 'Evaluation', 'unused'],
  ids: ['in', 'out', 'data', 'noise', 'online', 'head', 'target', 'targetHead', 'stop', 'loss', 'mean', 'minimize', 'evalData'],
};

function exportedProgram(doc: GraphDocument): string {
  const analysis = analyzeProgram(doc)!;
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const { program, diagnostics } = lowerProgram(analysis);
  expect(diagnostics).toEqual([]);
  return emitProgram(program!);
}

describe("no document string becomes code in a training program's export", () => {
  const baseline = structure(tokenize(exportedProgram(programWith(HARMLESS_PROGRAM))));

  it('the harmless program exports a trainer (the structure compared against is real)', () => {
    const source = exportedProgram(programWith(HARMLESS_PROGRAM));
    expect(source).toContain('export function createHead(): tf.LayersModel');
    expect(source).toContain('async function pretrainStep(batch: Batch');
    expect(source).toContain("averageOf('model', nets.model, createModel)");
    expect(source).toContain('stopGradient(tf, targetHead)');
    expect(baseline.length).toBeGreaterThan(1000);
  });

  it('hostile network labels and descriptions (the main network as well), procedure labels, node ids and ids change names and literals, never the code', () => {
    const dir = join(OUT, 'program');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    let n = 0;
    fc.assert(
      fc.property(programStringsArb, (strings) => {
        const source = exportedProgram(programWith(strings));
        const tokens = tokenize(source);
        expect(structure(tokens)).toEqual(baseline);
        for (const name of identifiers(tokens)) expect(DANGEROUS.has(name), `identifier ${name}`).toBe(false);
        expect(source.split('\n').length).toBe(source.split(/\r\n|[\n\r\u2028\u2029]/).length);
        if (n < 8) writeFileSync(join(dir, `case${n++}.ts`), source);
      }),
      { numRuns: 40, seed: 11 },
    );
    typecheckStrict(Array.from({ length: n }, (_, i) => join(dir, `case${i}.ts`)));
  });
});
