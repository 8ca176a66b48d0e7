/**
 * Writes src/compiler/generated/program-sources.ts: the TypeScript of the runtime functions an
 * exported trainer calls (op helpers, the seeded generator and seed derivation, learning-rate and
 * moving-average schedules, the optimizer and update rules, the eigensolver, the evaluation
 * measures), each top-level declaration as text with the names of the others it uses. The compiler
 * may not import the runtime (lint holds that), so it gets them as text; generating the text from
 * the one real source means the exported trainer runs the same code as the app, with no second copy
 * to keep in step by hand.
 *
 *   npx tsx scripts/gen-program-sources.ts          (or npm run gen:program)
 *
 * test/program-export.test.ts fails when the generated file differs from what this would write.
 *
 * A declaration can be copied only if everything it names is tfjs (`tfType`, imported as
 * `import type * as tfType from '@tensorflow/tfjs'`), its own file's, or another copied file's;
 * anything else (a document type, a compiler import) stops the generator with the name and file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyntaxKind } from 'typescript/unstable/ast';
import { createScanner } from 'typescript/unstable/ast/scanner';

const ROOT = resolve(import.meta.dirname, '..');
export const GENERATED_PROGRAM_FILE = join(ROOT, 'src', 'compiler', 'generated', 'program-sources.ts');

/** The files copied from, and the declarations wanted from each (with what they use, transitively). */
export const PROGRAM_SOURCE_ROOTS: ReadonlyArray<{ file: string; names: readonly string[] }> = [
  { file: 'src/runtime/seeds.ts', names: ['derivedSeed', 'seedStep'] },
  { file: 'src/runtime/data/dataset.ts', names: ['seededRandom', 'shuffledIndices'] },
  { file: 'src/runtime/training/schedule.ts', names: ['learningRateAt'] },
  {
    file: 'src/runtime/program/ops.ts',
    names: [
      'randomTranslate',
      'randomAffine',
      'randomFlip',
      'gaussianNoise',
      'randomErase',
      'stopGradient',
      'flattenExamples',
      'meanOf',
      'weightedSum',
      'crossEntropy',
      'meanSquaredError',
      'negativeCosine',
      'normalizedMse',
      'infoNce',
      'distillation',
      'emaDecayAt',
    ],
  },
  { file: 'src/runtime/program/clip.ts', names: ['captionTokens', 'promptTokens', 'zeroShotLogits', 'tokenize'] },
  { file: 'src/runtime/program/capsules.ts', names: ['maskCapsules', 'marginLoss', 'reconstructionLoss'] },
  { file: 'src/runtime/program/glom.ts', names: ['corruptImage', 'glomConsensusLoss', 'meanImageBaselineMse'] },
  {
    file: 'src/runtime/program/diffusion.ts',
    names: [
      'diffusionTimestep',
      'diffusionNoise',
      'diffusionForward',
      'diffusionTarget',
      'scaleShift',
      'meanSquaredBetween',
      'diffusionSchedule',
      'sampleDiffusion',
      'diffusionHybridLoss',
    ],
  },
  {
    file: 'src/runtime/program/image-to-image.ts',
    names: ['lowResolution', 'squareMask', 'composite', 'maskedMeanSquaredError', 'classColour', 'luminance', 'conditionalScores'],
  },
  { file: 'src/runtime/linalg.ts', names: ['symmetricEigen', 'directPredWeights'] },
  { file: 'src/runtime/program/flows.ts', names: ['flowOutputs', 'flowNll', 'dequantize', 'flowLikelihood', 'gaussianBaselineNll', 'sampleFlow'] },
  { file: 'src/runtime/program/metrics.ts', names: ['accuracyOf', 'knnAccuracy', 'linearProbeAccuracy', 'collapseStd'] },
  {
    file: 'src/runtime/program/updates.ts',
    names: ['trainableVariables', 'Minimizer', 'followAverage', 'clampParameter', 'directPredUpdate', 'setMetric', 'argmaxRows', 'collectRows', 'asCollected'],
  },
];

const TF_TYPES = "import type * as tfType from '@tensorflow/tfjs';";

interface Declaration {
  name: string;
  file: string;
  source: string;
  /** Names of other declarations (here or in other copied files) it refers to. */
  uses: string[];
  usesTfTypes: boolean;
}

/** A top-level declaration's first line (column 0): what it declares, and its name. */
const DECLARATION = /^(?:export )?(?:declare )?(?:abstract )?(?:async )?(?:function\*?|class|interface|type|const|let|enum) ([A-Za-z_$][\w$]*)/;
const IMPORT = /^import\b[^;]*;$/;

/** Identifiers a piece of code names, outside strings and comments, except property names after a dot. */
function referencedNames(code: string): Set<string> {
  const scanner = createScanner(true, 0, code);
  const out = new Set<string>();
  const templates: number[] = [];
  let depth = 0;
  let previous = SyntaxKind.Unknown;
  for (let kind = scanner.scan(); kind !== SyntaxKind.EndOfFile; kind = scanner.scan()) {
    if (kind === SyntaxKind.OpenBraceToken) depth++;
    if (kind === SyntaxKind.CloseBraceToken) {
      if (templates.length && templates[templates.length - 1] === depth) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === SyntaxKind.TemplateTail) templates.pop();
      } else depth--;
    }
    if (kind === SyntaxKind.TemplateHead) templates.push(depth);
    if (kind === SyntaxKind.Identifier && previous !== SyntaxKind.DotToken) out.add(scanner.getTokenText());
    previous = kind;
  }
  return out;
}

interface ParsedDeclaration {
  name: string;
  file: string;
  source: string;
  usesTfTypes: boolean;
  refs: Set<string>;
}

/**
 * Splits a runtime file into its imports and its top-level declarations. Each declaration starts at
 * a column-0 line such as `export function name(` and runs to the next one, with the doc comment
 * right above it (a file header, set off by a blank line, stays behind). Any other column-0 line
 * that starts a statement (a call, an assignment) is refused: it would be lost or misplaced.
 */
function readFile(file: string): { declarations: Map<string, ParsedDeclaration>; imports: Map<string, string | null> } {
  const lines = readFileSync(join(ROOT, file), 'utf8').replace(/\r\n/g, '\n').split('\n');
  const imports = new Map<string, string | null>();
  const starts: Array<{ line: number; from: number; name: string }> = [];
  let comment: number | null = null;
  lines.forEach((line, i) => {
    if (line.startsWith('/**') || line.startsWith('/*')) comment = i;
    else if (line.trim() === '') comment = null;
    if (IMPORT.test(line)) {
      if (line === TF_TYPES) return;
      const from = line.match(/from '([^']+)';$/)?.[1] ?? '';
      const target = from.startsWith('.')
        ? relative(ROOT, resolve(ROOT, dirname(file), `${from}.ts`))
            .split('\\')
            .join('/')
        : null;
      const carried = target && PROGRAM_SOURCE_ROOTS.some((r) => r.file === target) ? target : null;
      const named = line.match(/\{([^}]*)\}/)?.[1];
      for (const part of named ? named.split(',') : []) {
        const local = part
          .trim()
          .replace(/^type /, '')
          .split(/\s+as\s+/)
          .pop()!
          .trim();
        if (local) imports.set(local, carried);
      }
      const star = line.match(/\* as (\w+)/)?.[1];
      if (star) imports.set(star, null);
      return;
    }
    const m = DECLARATION.exec(line);
    if (m) {
      starts.push({ line: i, from: comment ?? i, name: m[1]! });
      comment = null;
      return;
    }
    if (/^[A-Za-z_$(]/.test(line) && !line.startsWith('import'))
      throw new Error(`${file}:${i + 1}: the generator copies top-level declarations only; move this statement into one: ${line.slice(0, 80)}`);
  });
  const declarations = new Map<string, ParsedDeclaration>();
  starts.forEach((s, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]!.from : lines.length;
    const source = lines.slice(s.from, end).join('\n').trim();
    const code = lines.slice(s.line, end).join('\n');
    declarations.set(s.name, { name: s.name, file, source, usesTfTypes: /\btfType\b/.test(code), refs: referencedNames(code) });
  });
  return { declarations, imports };
}

/** Every wanted declaration and what it uses, in file order then declaration order. */
export function collectProgramSources(): Declaration[] {
  const files = new Map(PROGRAM_SOURCE_ROOTS.map((r) => [r.file, readFile(r.file)]));
  const resolveName = (file: string, name: string): { file: string; name: string } | 'foreign' | null => {
    const f = files.get(file)!;
    if (f.declarations.has(name)) return { file, name };
    if (f.imports.has(name)) {
      const from = f.imports.get(name);
      return from ? { file: from, name } : 'foreign';
    }
    return null;
  };
  const wanted = new Map<string, Declaration>();
  const key = (file: string, name: string) => `${file}#${name}`;
  const stack = PROGRAM_SOURCE_ROOTS.flatMap((r) => r.names.map((name) => ({ file: r.file, name })));
  while (stack.length) {
    const { file, name } = stack.pop()!;
    if (wanted.has(key(file, name))) continue;
    const decl = files.get(file)!.declarations.get(name);
    if (!decl) throw new Error(`${file} declares no top-level "${name}" (scripts/gen-program-sources.ts lists it).`);
    const uses: string[] = [];
    const foreign: string[] = [];
    for (const ref of decl.refs) {
      if (ref === name) continue;
      const target = resolveName(file, ref);
      if (target === 'foreign') foreign.push(ref);
      else if (target) {
        uses.push(target.name);
        stack.push(target);
      }
    }
    if (foreign.length)
      throw new Error(
        `${file}: ${name} uses ${foreign.join(', ')}, imported from a module an exported trainer cannot carry. Declare what it needs in a copied file instead.`,
      );
    wanted.set(key(file, name), { name, file, source: decl.source, uses: [...new Set(uses)].sort(), usesTfTypes: decl.usesTfTypes });
  }
  // One module holds them all: a name may be declared twice only with the same text (`type Tf = …`).
  const out: Declaration[] = [];
  const byName = new Map<string, Declaration>();
  for (const r of PROGRAM_SOURCE_ROOTS) {
    for (const [name] of files.get(r.file)!.declarations) {
      const d = wanted.get(key(r.file, name));
      if (!d) continue;
      const seen = byName.get(name);
      if (seen) {
        if (seen.source !== d.source) throw new Error(`${d.file} and ${seen.file} both declare ${name}, differently; one exported module cannot hold both.`);
        seen.uses = [...new Set([...seen.uses, ...d.uses])].sort();
        continue;
      }
      byName.set(name, d);
      out.push(d);
    }
  }
  return out;
}

/** A template literal that reads back as exactly `text`. */
const templateLiteral = (text: string) => `\`${text.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;

/** The text of src/compiler/generated/program-sources.ts for the runtime files as they are now. */
export function generateProgramSources(): string {
  const entries = collectProgramSources().map((d) =>
    [
      `  ${d.name}: {`,
      `    file: '${d.file}',`,
      `    uses: [${d.uses.map((n) => `'${n}'`).join(', ')}],`,
      `    tfTypes: ${d.usesTfTypes},`,
      `    source: ${templateLiteral(d.source)},`,
      '  },',
    ].join('\n'),
  );
  return [
    '// Generated by scripts/gen-program-sources.ts from the runtime files it lists. Do not edit: change the runtime,',
    '// then run `npm run gen:program`. test/program-export.test.ts fails while this file is stale.',
    '',
    'export interface ProgramSource {',
    '  /** The runtime file the declaration is copied from. */',
    '  file: string;',
    '  /** The other declarations here that it names; an export that copies it copies them too. */',
    '  uses: readonly string[];',
    "  /** Whether it names tfjs types as `tfType` (the module then imports `import type * as tfType from '@tensorflow/tfjs'`). */",
    '  tfTypes: boolean;',
    '  source: string;',
    '}',
    '',
    '/** Each copied top-level declaration by name, in the order an exported module writes them. */',
    'export const PROGRAM_SOURCES: Readonly<Record<string, ProgramSource>> = {',
    ...entries,
    '};',
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(GENERATED_PROGRAM_FILE, generateProgramSources());
  console.log(`Wrote ${relative(ROOT, GENERATED_PROGRAM_FILE)}.`);
}
