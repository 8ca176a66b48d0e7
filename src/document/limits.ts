/**
 * Limits on what the loader accepts, and the checks that enforce them without recursion.
 *
 * A hostile file can nest arrays or objects 100,000 levels deep: `JSON.parse` survives that in V8,
 * but every recursive walk after it (structuredClone, zod, JSON.stringify when autosaving, React
 * rendering a value) overflows the stack. So depth is measured first, with loops, on the text and
 * on values, and a document deeper than MAX_DOCUMENT_DEPTH is refused before anything recursive
 * touches it.
 */

/**
 * The deepest nesting a document may have. A real document is about 8 deep (document → blocks →
 * block → nodes → node → params → a list param → its items); 64 leaves room for other tools'
 * metadata in `meta` and stays far below the few thousand levels where browsers' recursive walks
 * overflow (Firefox and Safari have smaller stacks than V8).
 */
export const MAX_DOCUMENT_DEPTH = 64;

/**
 * The largest document file opened, in bytes (UTF-16 code units for text already in memory). A
 * 20,000-node graph is about 4 MB; 64 MB is fifteen times that, and keeps a stray multi-gigabyte file
 * from being read into memory at all.
 */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

export interface DepthExcess {
  /** 1-based line and column of the bracket that went one level too deep. */
  line: number;
  column: number;
}

/**
 * Scans JSON text for nesting deeper than `limit`, skipping brackets inside strings. Linear, no
 * recursion, no allocation; it does not validate the JSON (JSON.parse does that afterwards).
 */
export function findExcessiveNesting(text: string, limit = MAX_DOCUMENT_DEPTH): DepthExcess | null {
  let depth = 0;
  let inString = false;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return { line, column: i - lineStart + 1 };
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
    else if (c === 0x0a /* \n */) {
      line++;
      lineStart = i + 1;
    }
  }
  return null;
}

/**
 * Whether a value (already parsed) nests deeper than `limit`; arrays and plain objects count as a
 * level each. Iterative, with a visited set so that a cyclic object cannot loop it forever.
 */
export function nestsDeeperThan(value: unknown, limit = MAX_DOCUMENT_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    if (depth + 1 > limit) return true;
    seen.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** "64 MB", "1.5 GB": sizes for messages. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 ? String(value) : value >= 100 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${units[unit]}`;
}
