import { z } from 'zod';
import { diagnostic, hasErrors, type Diagnostic } from './diagnostics';
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, DocumentSchema, type GraphBody, type GraphDocument } from './schema';
import { DOCUMENT_MIGRATIONS, type DocumentMigration } from './migrations';
import { findExcessiveNesting, formatBytes, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, nestsDeeperThan } from './limits';

/** What the loader needs to know about node types; the node registry provides it. */
export interface NodeTypeInfo {
  version: number;
  /** Up-only param migrations: `migrations[v]` turns params of version v into version v + 1. */
  migrations?: Record<number, (params: Record<string, unknown>) => Record<string, unknown>>;
}
export type NodeTypeLookup = (type: string) => NodeTypeInfo | undefined;

export interface LoadResult {
  /** The loaded document, or null when nothing trustworthy could be read. */
  doc: GraphDocument | null;
  diagnostics: Diagnostic[];
}

export interface LoadOptions {
  nodeTypes?: NodeTypeLookup;
  /** Overridable for tests of the migration machinery. */
  migrations?: readonly DocumentMigration[];
  currentVersion?: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse → migrate → validate. Never throws on user input. */
export function loadDocumentText(text: string, options: LoadOptions = {}): LoadResult {
  if (text.length > MAX_DOCUMENT_BYTES) return fail(tooLarge(text.length));
  // Before JSON.parse: some engines parse recursively, and everything after it walks recursively.
  const excess = findExcessiveNesting(text);
  if (excess) return fail(tooDeep(`line ${excess.line}, column ${excess.column}`));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return fail(
      diagnostic('PB100', {
        message: `Received text that is not valid JSON (${reason}).`,
        help: 'Open a .json file saved by Patchbay; if you edited it by hand, check for a missing comma or bracket.',
      }),
    );
  }
  return loadDocumentValue(raw, options);
}

export function loadDocumentValue(raw: unknown, options: LoadOptions = {}): LoadResult {
  const current = options.currentVersion ?? DOCUMENT_VERSION;
  const migrations = options.migrations ?? DOCUMENT_MIGRATIONS;
  if (!isRecord(raw)) {
    return fail(
      diagnostic('PB101', {
        message: `Received ${describeValue(raw)}, expected a JSON object with "format": "${DOCUMENT_FORMAT}".`,
        help: 'This file is not a Patchbay graph. Open a file saved with "Save" in Patchbay.',
      }),
    );
  }
  if (raw.format !== DOCUMENT_FORMAT) {
    return fail(
      diagnostic('PB101', {
        message: `Received a JSON object whose "format" is ${raw.format === undefined ? 'missing' : JSON.stringify(raw.format)}, expected "${DOCUMENT_FORMAT}".`,
        help: "This JSON file is not a Patchbay graph (it may be a tfjs model.json or another tool's file).",
        path: 'format',
      }),
    );
  }
  const version = raw.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return fail(
      diagnostic('PB103', {
        message: `Received "version": ${JSON.stringify(version)}, expected a whole number from 1 to ${current}.`,
        help: 'The file is damaged; restore "version" to the number it was saved with.',
        path: 'version',
      }),
    );
  }
  if (version > current) {
    return fail(
      diagnostic('PB102', {
        message: `This file was saved by a newer Patchbay (document version ${version}); this one reads up to version ${current}.`,
        help: 'Update Patchbay to open it. Nothing was loaded, so nothing can be lost by a partial read.',
        path: 'version',
      }),
    );
  }

  // structuredClone, the migrations and zod all recurse: refuse what would overflow the stack.
  if (nestsDeeperThan(raw)) return fail(tooDeep());

  const diagnostics: Diagnostic[] = [];
  let doc: Record<string, unknown> = structuredClone(raw);
  for (let v = version; v < current; v++) {
    const step = migrations.find((m) => m.from === v);
    if (!step) {
      return fail(
        diagnostic('PB103', {
          message: `No migration from document version ${v} to ${v + 1}.`,
          help: 'This is a bug in Patchbay: please report it with the file.',
          path: 'version',
        }),
      );
    }
    doc = step.migrate(doc);
    doc.version = v + 1;
  }

  // Tests of the migration machinery load into a made-up current version; the schema follows it.
  const schema = (current === DOCUMENT_VERSION ? DocumentSchema : DocumentSchema.extend({ version: z.literal(current) })) as typeof DocumentSchema;
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    return { doc: null, diagnostics: [...diagnostics, ...zodIssues(parsed.error)] };
  }
  // Said after validation, so that what went wrong with a file comes first.
  if (version < current) {
    diagnostics.push(
      diagnostic('PB108', {
        message: `Upgraded the file from document version ${version} to ${current}.`,
        help: 'Saving writes the new version; older Patchbay releases will not open the saved file.',
      }),
    );
  }
  const result = parsed.data;
  diagnostics.push(...migrateNodeParams(result, options.nodeTypes));
  diagnostics.push(...checkIntegrity(result));
  return { doc: hasStructuralErrors(diagnostics) ? null : result, diagnostics };
}

function fail(d: Diagnostic): LoadResult {
  return { doc: null, diagnostics: [d] };
}

/** For a file of `bytes` bytes (or characters, for text in memory): over MAX_DOCUMENT_BYTES. */
export function tooLarge(bytes: number): Diagnostic {
  return diagnostic('PB111', {
    message: `The file is ${formatBytes(bytes)}; Patchbay opens graph files of up to ${formatBytes(MAX_DOCUMENT_BYTES)} (a 20,000-node graph is about 4 MB).`,
    help: 'Check that this is the graph you meant to open; nothing was read.',
  });
}

function tooDeep(where?: string): Diagnostic {
  return diagnostic('PB110', {
    message: `The file nests lists or objects more than ${MAX_DOCUMENT_DEPTH} levels deep${where ? ` (at ${where})` : ''}; a Patchbay graph needs fewer than 10.`,
    help: 'The file is damaged or was not written by Patchbay; nothing was loaded.',
  });
}

/** Duplicate ids make a document ambiguous, so they refuse the load; everything else is kept. */
function hasStructuralErrors(diagnostics: Diagnostic[]): boolean {
  return hasErrors(diagnostics.filter((d) => d.code === 'PB106'));
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a JSON array';
  return `a JSON ${typeof v}`;
}

function zodIssues(error: z.ZodError): Diagnostic[] {
  return error.issues.slice(0, 20).map((issue) => {
    const path = formatPath(issue.path);
    return diagnostic('PB103', {
      message: `${path || 'The document'}: ${issue.message}.`,
      help: 'Fix or remove this field; Patchbay did not load the file, so your current graph is untouched.',
      path,
    });
  });
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function bodies(doc: GraphDocument): { body: GraphBody; prefix: string; blockId?: string }[] {
  return [{ body: doc, prefix: '' }, ...doc.blocks.map((b, i) => ({ body: b as GraphBody, prefix: `blocks[${i}].`, blockId: b.id }))];
}

/** Bring every node's params up to its type's current version. */
function migrateNodeParams(doc: GraphDocument, lookup: NodeTypeLookup | undefined): Diagnostic[] {
  if (!lookup) return [];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const { body, prefix, blockId } of bodies(doc)) {
    body.nodes.forEach((node, i) => {
      const info = lookup(node.type);
      if (!info) return;
      const saved = doc.nodeTypes[node.type] ?? 1;
      if (saved > info.version) {
        if (!seen.has(node.type)) {
          out.push(
            diagnostic('PB105', {
              message: `${node.type} params were saved as version ${saved}; this Patchbay knows version ${info.version}.`,
              help: 'The params are kept as saved; check them in the inspector or update Patchbay.',
              nodeId: node.id,
              blockId,
              path: `${prefix}nodes[${i}]`,
            }),
          );
          seen.add(node.type);
        }
        return;
      }
      for (let v = saved; v < info.version; v++) {
        const step = info.migrations?.[v];
        if (step) node.params = step(node.params);
      }
    });
  }
  for (const type of Object.keys(doc.nodeTypes)) {
    const info = lookup(type);
    if (info && doc.nodeTypes[type]! < info.version) doc.nodeTypes[type] = info.version;
  }
  return out;
}

/**
 * Only what makes a document ambiguous is checked here (duplicate ids). Unknown node types, missing
 * blocks and dangling edges are kept as they are and reported by the compiler, which sees every edit.
 */
function checkIntegrity(doc: GraphDocument): Diagnostic[] {
  const out: Diagnostic[] = [];
  const blockIds = new Set<string>();
  doc.blocks.forEach((b, i) => {
    if (blockIds.has(b.id)) {
      out.push(
        diagnostic('PB106', { message: `Two block definitions share the id "${b.id}".`, help: 'Give each block a unique id.', path: `blocks[${i}].id` }),
      );
    }
    blockIds.add(b.id);
  });
  for (const { body, prefix, blockId } of bodies(doc)) {
    const ids = new Set<string>();
    body.nodes.forEach((node, i) => {
      if (ids.has(node.id)) {
        out.push(
          diagnostic('PB106', {
            message: `Two nodes share the id "${node.id}".`,
            help: 'Give each node a unique id.',
            path: `${prefix}nodes[${i}].id`,
            blockId,
          }),
        );
      }
      ids.add(node.id);
    });
    const edgeIds = new Set<string>();
    body.edges.forEach((edge, i) => {
      if (edgeIds.has(edge.id)) {
        out.push(
          diagnostic('PB106', {
            message: `Two edges share the id "${edge.id}".`,
            help: 'Give each edge a unique id.',
            path: `${prefix}edges[${i}].id`,
            blockId,
          }),
        );
      }
      edgeIds.add(edge.id);
    });
  }
  return out;
}

/** Serialise for saving: stable key order, two-space indent. */
export function saveDocument(doc: GraphDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
