import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGraph } from '../src/compiler/index';
import { analyze } from '../src/compiler/infer';
import { loadDocumentText, loadDocumentValue, saveDocument } from '../src/document/load';
import type { DocumentMigration } from '../src/document/migrations';
import { DOCUMENT_MIGRATIONS } from '../src/document/migrations';
import { DOCUMENT_VERSION } from '../src/document/schema';
import { templateDocument } from '../templates/index';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'documents');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const convmixer = () => {
  const r = templateDocument('convmixer', 'mnist');
  if ('error' in r) throw new Error(r.error);
  return r.doc;
};

describe('loading never throws and says what is wrong', () => {
  it('loads a saved template and round-trips it unchanged', () => {
    const text = saveDocument(convmixer());
    const { doc, diagnostics } = loadGraph(text);
    expect(diagnostics).toEqual([]);
    expect(saveDocument(doc!)).toBe(text);
  });

  it.each([
    ['malformed JSON', '{"format": "patchbay.graph", ', 'PB100', /not valid JSON/],
    ['an empty file', '', 'PB100', /not valid JSON/],
    ['a JSON array', '[1, 2]', 'PB101', /a JSON array/],
    ['a JSON number', '42', 'PB101', /a JSON number/],
    ['foreign JSON (a tfjs model.json)', '{"modelTopology": {}, "weightsManifest": []}', 'PB101', /"format" is missing/],
    ['another format', '{"format": "reactflow"}', 'PB101', /"reactflow"/],
    ['a newer document version', '{"format": "patchbay.graph", "version": 99, "nodes": [], "edges": []}', 'PB102', /newer Patchbay \(document version 99\)/],
    ['a version that is not a number', '{"format": "patchbay.graph", "version": "1", "nodes": [], "edges": []}', 'PB103', /"version": "1"/],
    ['nodes that are not a list', '{"format": "patchbay.graph", "version": 1, "nodes": {}, "edges": []}', 'PB103', /^nodes:/],
    ['a node without a type', '{"format": "patchbay.graph", "version": 1, "nodes": [{"id": "a"}], "edges": []}', 'PB103', /nodes\[0\]\.type/],
  ])('%s', (_name, text, code, message) => {
    const { doc, diagnostics } = loadDocumentText(text);
    expect(doc).toBeNull();
    expect(diagnostics[0]!.code).toBe(code);
    expect(diagnostics[0]!.message).toMatch(message);
    expect(diagnostics[0]!.help.length).toBeGreaterThan(0);
  });

  it('refuses duplicate node ids, naming the place', () => {
    const doc = convmixer();
    doc.nodes[1]!.id = doc.nodes[0]!.id;
    const { doc: loaded, diagnostics } = loadGraph(JSON.stringify(doc));
    expect(loaded).toBeNull();
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: 'PB106', path: 'nodes[1].id' }));
  });

  it('keeps unknown node types and unknown fields, reports them, and saves them back', () => {
    const text = fixture('unknown-things.json');
    const { doc, diagnostics } = loadGraph(text);
    expect(doc).not.toBeNull();
    expect(diagnostics).toEqual([]);
    const analysis = analyze(doc!);
    expect(analysis.diagnostics).toContainEqual(expect.objectContaining({ code: 'PB104', nodeId: 'attn', severity: 'error' }));
    const saved = JSON.parse(saveDocument(doc!));
    expect(saved.nodes[1]).toEqual(JSON.parse(text).nodes[1]);
    expect(saved.futureField).toEqual({ kept: true });
    expect(saved.nodes[0].colour).toBe('teal');
    expect(saved.edges[0].style).toBe('dashed');
  });

  it('keeps bad params and dangling edges; the compiler names them', () => {
    const text = fixture('bad-params.json');
    const { doc } = loadGraph(text);
    const analysis = analyze(doc!);
    expect(analysis.diagnostics).toContainEqual(expect.objectContaining({ code: 'PB300', nodeId: 'dense', param: 'units' }));
    expect(analysis.diagnostics).toContainEqual(expect.objectContaining({ code: 'PB107', message: expect.stringContaining('"ghost"') }));
    expect(JSON.parse(saveDocument(doc!)).nodes[1].params.units).toBe(-3);
  });

  it('warns when a node type was saved by a newer version, and keeps its params', () => {
    const doc = convmixer();
    doc.nodeTypes.Dense = 7;
    const { doc: loaded, diagnostics } = loadGraph(JSON.stringify(doc));
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: 'PB105', severity: 'warning', nodeId: 'head' }));
    expect(loaded!.nodes.find((n) => n.id === 'head')!.params).toEqual(doc.nodes.find((n) => n.id === 'head')!.params);
  });
});

describe('migrations', () => {
  it('there is one migration per older version, 1 to the current one', () => {
    expect(DOCUMENT_MIGRATIONS.map((m) => m.from)).toEqual(Array.from({ length: DOCUMENT_VERSION - 1 }, (_, i) => i + 1));
  });

  it('a version 1 file, as Patchbay 0.1 saved it, still loads', () => {
    const { doc, diagnostics } = loadGraph(fixture('v1.json'));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(doc!.version).toBe(DOCUMENT_VERSION);
    expect(doc!.nodes.map((n) => n.type)).toEqual(['Input', 'Conv2D', 'Flatten', 'Dense', 'Output']);
    // Version 2 gives "program" a meaning; what a version 1 file kept there moves into meta.
    expect(doc!.program).toBeUndefined();
    expect(doc!.networks).toEqual([]);
    expect(doc!.meta.programFromVersion1).toEqual({ note: 'free data a version 1 file kept at the top level' });
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: 'PB108', severity: 'info' }));
  });

  it('every registered document migration has a fixture that loads to the current version', () => {
    for (const m of DOCUMENT_MIGRATIONS) {
      const { doc, diagnostics } = loadGraph(fixture(`v${m.from}.json`));
      expect(doc?.version).toBe(DOCUMENT_VERSION);
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    }
  });

  // The machinery, exercised with a chain of test migrations: v1 → v2 renames edges' ports,
  // v2 → v3 moves the graph name into meta.
  const chain: DocumentMigration[] = [
    {
      from: 1,
      description: 'edges: from/to → source/target',
      migrate: (raw) => ({ ...raw, edges: (raw.edges as Array<{ from: string; to: string }>).map((e, i) => ({ id: `e${i}`, source: e.from, target: e.to })) }),
    },
    { from: 2, description: 'title → name', migrate: ({ title, ...raw }) => ({ ...raw, name: title }) },
  ];

  it('runs up-only migrations in order and reports the upgrade', () => {
    const old = {
      format: 'patchbay.graph',
      version: 1,
      title: 'Old',
      nodes: [
        { id: 'a', type: 'Input', params: { shape: [4] } },
        { id: 'b', type: 'Dense' },
      ],
      edges: [{ from: 'a', to: 'b' }],
    };
    const { doc, diagnostics } = loadDocumentValue(old, { migrations: chain, currentVersion: 3 });
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: 'PB108', message: expect.stringContaining('from document version 1 to 3') }));
    // What the loader returns went through both steps, in order, and validated.
    expect(doc).toMatchObject({ version: 3, name: 'Old', edges: [{ id: 'e0', source: 'a', sourcePort: 'out', target: 'b', targetPort: 'in' }] });
    expect(doc).not.toHaveProperty('title');
    // Out of order, the second step would find no title and the first no from/to: the order matters.
    const reversed = loadDocumentValue(old, { migrations: [...chain].reverse(), currentVersion: 3 });
    expect(reversed.doc).toMatchObject({ name: 'Old' });
  });

  it('says so when a migration step is missing', () => {
    const { doc, diagnostics } = loadDocumentValue({ format: 'patchbay.graph', version: 1, nodes: [], edges: [] }, { migrations: [], currentVersion: 2 });
    expect(doc).toBeNull();
    expect(diagnostics[0]!.message).toMatch(/No migration from document version 1 to 2/);
  });

  it("migrates node params with the node type's own migrations", () => {
    const raw = { format: 'patchbay.graph', version: 1, nodeTypes: { Dense: 1 }, nodes: [{ id: 'd', type: 'Dense', params: { size: 5 } }], edges: [] };
    const lookup = (type: string) =>
      type === 'Dense' ? { version: 2, migrations: { 1: ({ size, ...rest }: Record<string, unknown>) => ({ ...rest, units: size }) } } : undefined;
    const { doc } = loadDocumentValue(raw, { nodeTypes: lookup });
    expect(doc!.nodes[0]!.params).toEqual({ units: 5 });
    expect(doc!.nodeTypes.Dense).toBe(2);
  });
});
