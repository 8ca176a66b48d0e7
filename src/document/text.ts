/**
 * Document text shown where it could act instead of being read: a terminal (an ANSI escape in a
 * graph name must not clear the screen) or generated code (see compiler/escape.ts, which builds on
 * these). Lives in document/ because diagnostics format themselves with it.
 */

/**
 * Characters shown as escapes instead of themselves: C0 and C1 controls, DEL, the line terminators,
 * the bidirectional overrides and isolates (which can make code read differently from how it runs,
 * "Trojan source"), zero-width characters and the byte-order mark.
 */
// oxlint-disable-next-line no-control-regex -- matching control characters is the point
export const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** Lone surrogates cannot be written as UTF-8; show them as escapes too. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export const hex4 = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

// No `\0`: followed by a digit it would read as an octal escape, which strict mode refuses.
export const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v' };

/** Makes invisible and control characters visible as escapes (`\n`, `\u001b`), keeping all else. */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (ch) => NAMED_ESCAPES[ch] ?? hex4(ch)).replace(LONE_SURROGATE, hex4);
}

/**
 * The last guard before a terminal: every control character but the line feed and the tab made
 * visible, so no text the CLI prints (a graph name, a node id, a CSV cell) can move the cursor,
 * clear the screen or retitle the window.
 */
export function terminalSafe(text: string): string {
  return text.replace(INVISIBLE, (ch) => (ch === '\n' || ch === '\t' ? ch : (NAMED_ESCAPES[ch] ?? hex4(ch)))).replace(LONE_SURROGATE, hex4);
}

/** Longest document text a message quotes; longer text is cut with an ellipsis. */
export const QUOTE_LIMIT = 120;

/** Document text quoted in a message or a terminal line: controls visible, and at most `limit` characters. */
export function quoted(text: string, limit = QUOTE_LIMIT): string {
  const chars = Array.from(text);
  return visible(chars.length <= limit ? text : `${chars.slice(0, limit).join('')}…`);
}
