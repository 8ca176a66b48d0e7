/**
 * Every string that travels from a document (which may come from anyone) into generated code or a
 * terminal passes through one of these functions, each made for the exact place the text lands.
 * A shared document is untrusted: a graph name with a line break must not end a `//` comment, a
 * `*\/` must not end a doc comment, a quote must not end a string literal, and no document text
 * may ever become an identifier the emitter did not make itself. The Python exporter uses the same
 * rules through its own small set of functions beside these.
 */

import { INVISIBLE, LONE_SURROGATE, NAMED_ESCAPES, hex4, visible } from '../document/text';

export { visible };

/** Longest document text copied into a comment; the rest is elided, so a 10 MB name stays out of the file. */
export const COMMENT_TEXT_LIMIT = 200;

function clip(text: string, limit = COMMENT_TEXT_LIMIT): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit).join('')}…`;
}

/** Text for the rest of a `// …` line: one line, controls visible, nothing can end the comment. */
export function lineComment(text: string): string {
  return visible(clip(text));
}

/**
 * Text inside a `/** … *\/` doc comment: one line, controls visible, and `*\/` broken so that the
 * comment cannot end early. (`*\/` becomes `*\u200b/` would hide the change; a backslash shows it.)
 */
export function docComment(text: string): string {
  return visible(clip(text)).replace(/\*\//g, '*\\/');
}

/**
 * A single-quoted TypeScript string literal (also valid as a string literal type and as a quoted
 * property key). Escapes the backslash, the quote, every control and line-terminator character,
 * and lone surrogates; `${` and backticks need no escape in a single-quoted string.
 */
export function stringLiteral(text: string): string {
  const body = text
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(INVISIBLE, (ch) => NAMED_ESCAPES[ch] ?? hex4(ch))
    .replace(LONE_SURROGATE, hex4);
  return `'${body}'`;
}

/**
 * Text placed inside a template literal (`\`${name}_…\``): escapes the backslash, the backtick and
 * `${`, and controls. The emitter only puts layer names here, which are already letters, digits and
 * underscores; this is the second lock on the door.
 */
export function templateText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/`/g, '\\`')
    .replace(/\$\{/g, '\\${')
    .replace(INVISIBLE, (ch) => NAMED_ESCAPES[ch] ?? hex4(ch))
    .replace(LONE_SURROGATE, hex4);
}

/**
 * Words that cannot name a local binding in a strict-mode module, TypeScript's own reserved and
 * contextual words that trip readers, and globals the emitted code relies on.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  // ECMAScript reserved words and strict-mode future reserved words.
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'default',
  'delete',
  'do',
  'else',
  'enum',
  'export',
  'extends',
  'false',
  'finally',
  'for',
  'function',
  'if',
  'import',
  'in',
  'instanceof',
  'new',
  'null',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'true',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  'yield',
  'let',
  'static',
  'implements',
  'interface',
  'package',
  'private',
  'protected',
  'public',
  'await',
  'async',
  'arguments',
  'eval',
  // TypeScript keywords that are legal but confusing as names, and type names.
  'any',
  'as',
  'boolean',
  'constructor',
  'declare',
  'get',
  'is',
  'keyof',
  'module',
  'namespace',
  'never',
  'number',
  'object',
  'of',
  'readonly',
  'require',
  'set',
  'string',
  'symbol',
  'type',
  'undefined',
  'unique',
  'unknown',
  'infer',
  'satisfies',
  'accessor',
  'override',
  'abstract',
  'asserts',
  'global',
  'bigint',
  'out',
  'from',
  // Globals the emitted module uses.
  'NaN',
  'Infinity',
  'Math',
  'Number',
  'Object',
  'Array',
  'String',
  'Boolean',
  'Record',
  'Error',
  'Promise',
  'globalThis',
  'console',
  'window',
  'self',
  'JSON',
  'Symbol',
  'Function',
  'Float32Array',
  'Int32Array',
  // Globals an injected statement would reach for: never a value name, so a test can spot them.
  'process',
  'require',
  'fetch',
  'alert',
  'document',
  'setTimeout',
  'setInterval',
  'importScripts',
  'XMLHttpRequest',
  'WebSocket',
]);

/** True for an ASCII identifier that names no reserved word (what the emitter may print bare). */
export function isPlainIdentifier(text: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(text) && !RESERVED_WORDS.has(text);
}

/**
 * A camelCase identifier made from any text: only ASCII letters and digits survive, so nothing the
 * document says can reach the code as syntax. `stem conv-1` → `stemConv1`. Never empty, never a
 * leading digit, never a word in `RESERVED_WORDS` or in `taken` (those gain a trailing `_`).
 */
export function toIdentifier(text: string, taken: ReadonlySet<string> = new Set()): string {
  const words = text
    .replace(/[^A-Za-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
  let id = words.map((w, i) => (i === 0 ? w[0]!.toLowerCase() + w.slice(1) : w[0]!.toUpperCase() + w.slice(1))).join('') || 'node';
  // Identifiers stay readable: a 10,000-letter node name gives a name of at most 64 characters.
  if (id.length > 64) id = id.slice(0, 64);
  if (/^[0-9]/.test(id)) id = `n${id}`;
  while (RESERVED_WORDS.has(id) || taken.has(id)) id = `${id}_`;
  return id;
}

/** A property name: bare when it is a plain identifier, otherwise a quoted string. */
export function propertyKey(text: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(text) ? text : stringLiteral(text);
}

/** A property access on `object`: `p.dim`, or `p['odd name']`. */
export function propertyAccess(object: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${object}.${key}` : `${object}[${stringLiteral(key)}]`;
}
