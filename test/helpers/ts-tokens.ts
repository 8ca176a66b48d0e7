/**
 * Tokenizes TypeScript with TypeScript's own scanner (typescript/unstable/ast/scanner), re-scanning
 * template literals the way the parser does, so that tests can see exactly which tokens a module
 * holds outside strings and comments.
 */
import { SyntaxKind } from 'typescript/unstable/ast';
import { createScanner, tokenIsIdentifierOrKeyword } from 'typescript/unstable/ast/scanner';

export interface Token {
  kind: SyntaxKind;
  text: string;
}

export function tokenize(source: string): Token[] {
  const scanner = createScanner(true, 0, source);
  const tokens: Token[] = [];
  // Brace depth at which each open template substitution (`${`) started.
  const templates: number[] = [];
  let depth = 0;
  for (let kind = scanner.scan(); kind !== SyntaxKind.EndOfFile; kind = scanner.scan()) {
    if (kind === SyntaxKind.OpenBraceToken) depth++;
    if (kind === SyntaxKind.CloseBraceToken) {
      if (templates.length && templates[templates.length - 1] === depth) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === SyntaxKind.TemplateTail) templates.pop();
      } else depth--;
    }
    if (kind === SyntaxKind.TemplateHead) templates.push(depth);
    if (scanner.isUnterminated()) throw new Error(`Unterminated token at ${scanner.getTokenStart()}: ${scanner.getTokenText().slice(0, 80)}`);
    tokens.push({ kind, text: scanner.getTokenText() });
  }
  if (templates.length) throw new Error('Unterminated template literal');
  return tokens;
}

/** Kinds whose text is data the document may choose: names and literals. */
const ATOMS = new Set<SyntaxKind>([
  SyntaxKind.Identifier,
  SyntaxKind.StringLiteral,
  SyntaxKind.NumericLiteral,
  SyntaxKind.NoSubstitutionTemplateLiteral,
  SyntaxKind.TemplateHead,
  SyntaxKind.TemplateMiddle,
  SyntaxKind.TemplateTail,
]);

/**
 * The shape of a module's code: every token's kind, with names and literals reduced to their kind
 * and every other token kept as its text. Two modules with the same structure differ only in data.
 * A property name is a name whatever it is spelled as: `p.units`, `p.class`, `p['odd']`, and the
 * keys `units:`, `class:`, `'odd':` all read as `.Name` / `Name :`.
 */
export function structure(tokens: readonly Token[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    const nameLike = tokenIsIdentifierOrKeyword(t.kind) || t.kind === SyntaxKind.StringLiteral;
    if (
      t.kind === SyntaxKind.OpenBracketToken &&
      next?.kind === SyntaxKind.StringLiteral &&
      tokens[i + 2]?.kind === SyntaxKind.CloseBracketToken &&
      prev?.kind === SyntaxKind.Identifier
    ) {
      out.push('.', 'Name');
      i += 2;
    } else if (nameLike && (prev?.kind === SyntaxKind.DotToken || next?.kind === SyntaxKind.ColonToken)) out.push('Name');
    else if (t.kind === SyntaxKind.Identifier) out.push('Name');
    else out.push(ATOMS.has(t.kind) ? SyntaxKind[t.kind]! : t.text);
  }
  return out;
}

/** Identifiers that name bindings or globals: every identifier token except property names (`.x`, `x:`). */
export function identifiers(tokens: readonly Token[]): string[] {
  return tokens
    .filter((t, i) => t.kind === SyntaxKind.Identifier && tokens[i - 1]?.kind !== SyntaxKind.DotToken && tokens[i + 1]?.kind !== SyntaxKind.ColonToken)
    .map((t) => t.text);
}
