/**
 * The Python side of ./escape: every string that travels from a document into the PyTorch export
 * passes through one of these, made for the place it lands. A shared document is untrusted, so a
 * name must not end a string or a comment, start a new line of code, or become a name the document
 * chose. The rules are stricter than Python needs: document text reaches the files as printable
 * ASCII only (anything else is an escape), so no line separator, form feed, NUL or look-alike
 * character can change how Python tokenises the file.
 */

/** Python's keywords and soft keywords (3.10+): never an identifier of ours. */
export const PYTHON_KEYWORDS: ReadonlySet<string> = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
  'match',
  'case',
  'type',
  '_',
]);

/**
 * Builtins an injected statement would reach for, and those the generated code calls: a document
 * can never name a value after one of them (shadowing `range` or `super` would change the code).
 */
export const PYTHON_BUILTINS: ReadonlySet<string> = new Set([
  'abs',
  'all',
  'any',
  'ascii',
  'bin',
  'bool',
  'breakpoint',
  'bytearray',
  'bytes',
  'callable',
  'chr',
  'classmethod',
  'compile',
  'complex',
  'copyright',
  'credits',
  'delattr',
  'dict',
  'dir',
  'divmod',
  'enumerate',
  'eval',
  'exec',
  'exit',
  'filter',
  'float',
  'format',
  'frozenset',
  'getattr',
  'globals',
  'hasattr',
  'hash',
  'help',
  'hex',
  'id',
  'input',
  'int',
  'isinstance',
  'issubclass',
  'iter',
  'len',
  'license',
  'list',
  'locals',
  'map',
  'max',
  'memoryview',
  'min',
  'next',
  'object',
  'oct',
  'open',
  'ord',
  'pow',
  'print',
  'property',
  'quit',
  'range',
  'repr',
  'reversed',
  'round',
  'set',
  'setattr',
  'slice',
  'sorted',
  'staticmethod',
  'str',
  'sum',
  'super',
  'tuple',
  'vars',
  'zip',
  'os',
  'sys',
  'subprocess',
  'shutil',
  'socket',
  'importlib',
  'builtins',
  'Exception',
  'ValueError',
  'RuntimeError',
  'KeyError',
  'NotImplemented',
  'Ellipsis',
]);

/** `nn.Module` attributes and methods: a submodule named like one would break the module. */
export const MODULE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'T_destination',
  'add_module',
  'apply',
  'bfloat16',
  'buffers',
  'children',
  'cpu',
  'cuda',
  'double',
  'dump_patches',
  'eval',
  'extra_repr',
  'float',
  'forward',
  'get_buffer',
  'get_extra_state',
  'get_parameter',
  'get_submodule',
  'half',
  'ipu',
  'load_state_dict',
  'modules',
  'named_buffers',
  'named_children',
  'named_modules',
  'named_parameters',
  'parameters',
  'register_backward_hook',
  'register_buffer',
  'register_forward_hook',
  'register_forward_pre_hook',
  'register_full_backward_hook',
  'register_load_state_dict_post_hook',
  'register_module',
  'register_parameter',
  'requires_grad_',
  'set_extra_state',
  'share_memory',
  'state_dict',
  'to',
  'to_empty',
  'train',
  'training',
  'type',
  'xpu',
  'zero_grad',
  'mtia',
  'compile',
]);

const hex = (code: number, width: number) => code.toString(16).padStart(width, '0');

/**
 * A double-quoted Python string literal holding exactly `text`. Everything outside printable ASCII
 * (and the backslash and the quote) is an escape: \n, \t, \xNN, \uNNNN or \UNNNNNNNN, so the
 * literal is one line of plain ASCII whatever the text holds (U+2028, NUL, a lone surrogate…).
 */
export function pyString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A surrogate pair is one code point in Python; a lone surrogate becomes its own escape.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        out += `\\U${hex(0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00), 8)}`;
        i++;
        continue;
      }
    }
    if (code === 0x5c) out += '\\\\';
    else if (code === 0x22) out += '\\"';
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x0d) out += '\\r';
    else if (code === 0x09) out += '\\t';
    else if (code >= 0x20 && code < 0x7f) out += text[i];
    else if (code < 0x100) out += `\\x${hex(code, 2)}`;
    else out += `\\u${hex(code, 4)}`;
  }
  return `${out}"`;
}

/** Longest document text copied into a comment; the rest is elided. */
const COMMENT_LIMIT = 200;

/**
 * Text for the rest of a `# …` line: printable ASCII only, everything else shown as an escape, so
 * that nothing in it can end the comment line.
 */
export function pyComment(text: string): string {
  const chars = Array.from(text);
  const clipped = chars.length > COMMENT_LIMIT ? `${chars.slice(0, COMMENT_LIMIT).join('')}...` : text;
  // The string escaper makes it one ASCII line; comments need no surrounding quotes.
  return pyString(clipped).slice(1, -1);
}

/** True for a name the exporter may print bare: ASCII, not a keyword, builtin, dunder or private name. */
export function isSafePyIdentifier(text: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(text) && !PYTHON_KEYWORDS.has(text) && !PYTHON_BUILTINS.has(text);
}

/**
 * A snake_case Python identifier made from any text: only ASCII letters and digits survive, so no
 * document text reaches the code as syntax. `stem conv-1` → `stem_conv_1`, `tokenMlp1` →
 * `token_mlp1`. Never empty, never a leading digit or underscore (no dunder or private names), never
 * a keyword, a builtin or a name in `taken` (those gain a trailing `_` and then a number).
 */
export function pyIdentifier(text: string, taken: ReadonlySet<string> = new Set(), fallback = 'node'): string {
  let id = text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  if (!id) id = fallback;
  // Identifiers stay readable: a 10,000-letter node name gives a name of at most 48 characters.
  if (id.length > 48) id = id.slice(0, 48).replace(/_+$/, '');
  if (/^[0-9]/.test(id)) id = `n${id}`;
  if (PYTHON_KEYWORDS.has(id) || PYTHON_BUILTINS.has(id)) id = `${id}_`;
  let name = id;
  for (let i = 2; taken.has(name); i++) name = `${id}_${i}`;
  return name;
}

/** A CamelCase Python class name from any text, under the same rules. */
export function pyClassName(text: string, taken: ReadonlySet<string> = new Set()): string {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[^A-Za-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
  let id = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') || 'Block';
  if (id.length > 48) id = id.slice(0, 48);
  if (/^[0-9]/.test(id)) id = `B${id}`;
  if (PYTHON_KEYWORDS.has(id) || PYTHON_BUILTINS.has(id)) id = `${id}Block`;
  let name = id;
  for (let i = 2; taken.has(name); i++) name = `${id}${i}`;
  return name;
}

/** A Python literal for a plain value from a document: numbers, booleans, None, strings, lists. */
export function pyLiteral(value: unknown): string {
  if (typeof value === 'string') return pyString(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'float("nan")';
    if (!Number.isFinite(value)) return value > 0 ? 'float("inf")' : 'float("-inf")';
    return Number.isInteger(value) ? String(value) : String(value);
  }
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) return value.length === 1 ? `(${pyLiteral(value[0])},)` : `(${value.map(pyLiteral).join(', ')})`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyString(k)}: ${pyLiteral(v)}`)
      .join(', ')}}`;
  }
  return 'None';
}
