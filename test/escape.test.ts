import { describe, expect, it } from 'vitest';
import { docComment, lineComment, propertyAccess, propertyKey, stringLiteral, templateText, toIdentifier, visible } from '../src/compiler/escape';
import { quoted, terminalSafe } from '../src/document/text';
import { identifiers, tokenize } from './helpers/ts-tokens';

/** Evaluates a JavaScript expression the way a module would read it. */
const evaluate = (expression: string): unknown => new Function(`"use strict"; return (${expression});`)();

const NASTY = [
  'plain',
  "it's",
  'a\\b',
  'line\nbreak',
  'cr\rreturn',
  'ls\u2028ps\u2029',
  '*/',
  '/* */',
  '`${x}`',
  '\x1b[2J',
  '\u0000\u00011',
  'tab\there',
  '\ud800lone',
  '😀 emoji',
  '\u202eRLO',
  'x'.repeat(10_000),
];

describe('stringLiteral', () => {
  it.each(NASTY.map((s) => [s.slice(0, 20), s]))('round-trips %j as one string token', (_label, text) => {
    const literal = stringLiteral(text);
    const tokens = tokenize(`const s = ${literal};`);
    expect(tokens.map((t) => t.text).slice(0, 3)).toEqual(['const', 's', '=']);
    expect(tokens).toHaveLength(5);
    expect(evaluate(literal)).toBe(text);
  });

  it('never writes a raw line terminator or control character', () => {
    // oxlint-disable-next-line no-control-regex -- looking for control characters is the test
    for (const text of NASTY) expect(stringLiteral(text)).not.toMatch(/[\u0000-\u001f\u2028\u2029\u007f]/);
  });
});

describe('comments', () => {
  it('a line comment stays one line whatever the text holds', () => {
    for (const text of NASTY) {
      const source = `// ${lineComment(text)}\nconst after = 1;`;
      expect(identifiers(tokenize(source))).toEqual(['after']);
      expect(source.split(/\r\n|[\n\r\u2028\u2029]/)).toHaveLength(2);
    }
  });

  it('a doc comment cannot be closed early', () => {
    for (const text of [...NASTY, '*/ evil(); /*', '**/', '*\u2028/']) {
      const source = `/** ${docComment(text)} */\nconst after = 1;`;
      expect(identifiers(tokenize(source))).toEqual(['after']);
    }
  });

  it('long text is cut, so a megabyte name does not fill the file', () => {
    expect(lineComment('x'.repeat(1_000_000)).length).toBeLessThan(300);
    expect(docComment('y'.repeat(1_000_000)).endsWith('…')).toBe(true);
  });
});

describe('names', () => {
  it('identifiers keep letters and digits only, never a reserved word or a leading digit', () => {
    expect(toIdentifier('stem conv-1')).toBe('stemConv1');
    expect(toIdentifier('1st')).toBe('n1st');
    expect(toIdentifier('class')).toBe('class_');
    expect(toIdentifier('globalThis')).toBe('globalThis_');
    expect(toIdentifier("x');evil('")).toBe('xEvil');
    expect(toIdentifier('')).toBe('node');
    expect(toIdentifier('a'.repeat(500)).length).toBeLessThanOrEqual(64);
    expect(toIdentifier('dim', new Set(['dim']))).toBe('dim_');
  });

  it('property keys and accesses quote what is not a plain identifier', () => {
    expect(propertyKey('units')).toBe('units');
    expect(propertyKey('odd name')).toBe("'odd name'");
    expect(propertyAccess('p', 'dim')).toBe('p.dim');
    expect(propertyAccess('p', "x']; evil(); p['")).toBe("p['x\\']; evil(); p[\\'']");
    expect(evaluate(`({ ${propertyKey("a'b")}: 1 })`)).toEqual({ "a'b": 1 });
  });

  it('template text cannot open a substitution or end the template', () => {
    const text = templateText('${globalThis.x}`;evil();`');
    expect(evaluate(`\`${text}\``)).toBe('${globalThis.x}`;evil();`');
  });
});

describe('terminal text', () => {
  it('makes escapes and line breaks inside document text visible', () => {
    expect(visible('a\x1b[2Jb\nc')).toBe('a\\u001b[2Jb\\nc');
    expect(quoted('x'.repeat(500))).toHaveLength(121);
  });

  it('the last guard keeps line feeds and tabs but shows every other control', () => {
    expect(terminalSafe('line one\nline\ttwo \x1b]0;title\x07 \r')).toBe('line one\nline\ttwo \\u001b]0;title\\u0007 \\r');
  });
});
