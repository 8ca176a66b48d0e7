/**
 * Hostile and huge inputs are refused with a message, never a stack overflow or an out-of-memory:
 * deeply nested documents, oversized files (loader and CLI). The archive caps are in
 * test/archive.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadGraph } from '../src/compiler/index';
import { findExcessiveNesting, formatBytes, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, nestsDeeperThan } from '../src/document/limits';
import { loadDocumentText, loadDocumentValue, saveDocument } from '../src/document/load';
import { fromModelJson } from '../src/runtime/tfjs-format';
import { templateDocument } from '../templates/index';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'patchbay-hostile-'));

/** A valid empty document whose `meta.a` holds `depth` nested lists (or objects). */
function deepDocument(depth: number, kind: 'array' | 'object' = 'array'): string {
  const inner = kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return `{"format":"patchbay.graph","version":1,"nodes":[],"edges":[],"meta":{"a":${inner}}}`;
}

describe('nesting depth', () => {
  it('measures depth on text, ignoring brackets inside strings and escaped quotes', () => {
    expect(findExcessiveNesting('[[[]]]', 3)).toBeNull();
    expect(findExcessiveNesting('[[[[]]]]', 3)).toEqual({ line: 1, column: 4 });
    expect(findExcessiveNesting('{"a": "[[[[[[\\"[[[[", "b": [1]}', 2)).toBeNull();
    expect(findExcessiveNesting('{\n "a": [\n  [[1]]]}', 3)).toEqual({ line: 3, column: 4 });
  });

  it('measures depth on values without recursion, even 1,000,000 levels deep', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(nestsDeeperThan(deep, MAX_DOCUMENT_DEPTH)).toBe(true);
    expect(nestsDeeperThan({ a: [[1]] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [[1]] }, 2)).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(nestsDeeperThan(cyclic, 5)).toBe(false);
  });

  it.each([
    ['lists', 'array'],
    ['objects', 'object'],
  ] as const)('refuses 100,000 levels of %s in meta with PB110 (no stack overflow)', (_name, kind) => {
    const { doc, diagnostics } = loadGraph(deepDocument(100_000, kind));
    expect(doc).toBeNull();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ code: 'PB110', severity: 'error' });
    expect(diagnostics[0]!.message).toMatch(/more than 64 levels deep \(at line 1, column \d+\)/);
  });

  it('refuses a deep value handed to loadDocumentValue (e.g. from IndexedDB) the same way', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const { doc, diagnostics } = loadDocumentValue({ format: 'patchbay.graph', version: 1, nodes: [], edges: [], meta: { deep } });
    expect(doc).toBeNull();
    expect(diagnostics[0]!.code).toBe('PB110');
  });

  it('accepts nesting up to the limit, and keeps it when saving', () => {
    // The document itself and meta take two levels.
    const text = deepDocument(MAX_DOCUMENT_DEPTH - 2);
    const { doc, diagnostics } = loadGraph(text);
    // A migration note (PB108) is fine: the files are written at version 1.
    expect(diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(JSON.parse(saveDocument(doc!)).meta).toEqual(JSON.parse(text).meta);
    expect(loadGraph(deepDocument(MAX_DOCUMENT_DEPTH - 1)).diagnostics[0]!.code).toBe('PB110');
  });

  it('real documents are far below the limit', () => {
    const r = templateDocument('mlp-mixer', 'B/16');
    if ('error' in r) throw new Error(r.error);
    expect(findExcessiveNesting(saveDocument(r.doc), 10)).toBeNull();
  });
});

describe('other JSON the page reads', () => {
  it('an imported model.json nested 100,000 deep is refused with a message before it is cloned anywhere', () => {
    const text = `{"modelTopology": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "weightsManifest": []}`;
    expect(() => fromModelJson(text, new Map())).toThrow('model.json nests lists or objects more than 64 levels deep; it is not a tfjs model.json.');
  });
});

describe('file size', () => {
  it('refuses text over the limit with PB111 before parsing it', () => {
    const text = `{"format":"patchbay.graph","version":1,"nodes":[],"edges":[],"name":"${'x'.repeat(MAX_DOCUMENT_BYTES)}"}`;
    const { doc, diagnostics } = loadDocumentText(text);
    expect(doc).toBeNull();
    expect(diagnostics[0]).toMatchObject({ code: 'PB111' });
    expect(diagnostics[0]!.message).toMatch(/The file is 64 MB; Patchbay opens graph files of up to 64 MB/);
  });

  it('formats sizes for people', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(70 * 1024 * 1024)).toBe('70 MB');
    expect(formatBytes(1024 ** 3)).toBe('1 GB');
  });
});

describe('the CLI refuses hostile files with a message and no stack trace', () => {
  const run = promisify(execFile);
  async function patchbay(...args: string[]) {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin', 'patchbay.js'), ...args], { cwd: ROOT });
      return { code: 0, stdout, stderr };
    } catch (err) {
      return err as { code: number; stdout: string; stderr: string };
    }
  }

  it('check on a document nested 100,000 levels deep exits 2 with PB110', async () => {
    const file = join(tmp, 'deep.json');
    writeFileSync(file, deepDocument(100_000));
    const { code, stderr } = await patchbay('check', file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/error PB110: The file nests lists or objects more than 64 levels deep/);
    expect(stderr).not.toMatch(/RangeError|Maximum call stack|\n\s+at /);
  });

  it('check on a 70 MB file exits 2 with PB111 without reading it', async () => {
    const file = join(tmp, 'huge.json');
    writeFileSync(file, '');
    truncateSync(file, 70 * 1024 * 1024);
    const { code, stderr } = await patchbay('check', file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/error PB111: The file is 70 MB; Patchbay opens graph files of up to 64 MB/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
