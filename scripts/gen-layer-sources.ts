/**
 * Writes src/compiler/generated/layer-sources.ts: the TypeScript of each custom layer class in
 * src/runtime/layers/, as text, for the emitter to copy into exported modules. The compiler may not
 * import tfjs or the runtime (lint holds that), so it gets the classes as text; generating that text
 * from the one real source means there is no second copy to keep in step by hand.
 *
 *   npx tsx scripts/gen-layer-sources.ts          (or npm run gen:layers)
 *
 * test/custom-layers.test.ts fails when the generated file differs from what this would write.
 *
 * Each layer file must be self-contained, because its text lands in a module that imports only tfjs:
 * its one import is `import * as tf from '@tensorflow/tfjs';`, it declares one class extending
 * tf.layers.Layer whose `static className` is the class's own name, registers it with
 * tf.serialization.registerClass, and every top-level name it declares starts with that class name
 * (so that two layers copied into one module cannot declare the same name).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
export const LAYERS_DIR = join(ROOT, 'src', 'runtime', 'layers');
export const GENERATED_FILE = join(ROOT, 'src', 'compiler', 'generated', 'layer-sources.ts');
/**
 * The names alone, for the lowering (which must not let a node take one): the editor lowers on every
 * edit, and importing the sources' text for their names would put it all in the editor's initial load.
 */
export const GENERATED_NAMES_FILE = join(ROOT, 'src', 'compiler', 'generated', 'layer-names.ts');

/**
 * Patchbay's own classes for tfjs layers the app builds differently (by the tfjs factory each stands
 * in for): the export constructs them too, so that an exported trainer computes what the app does.
 */
export const STOCK_REPLACEMENT_FILES: Readonly<Record<string, string>> = {
  layerNormalization: join(ROOT, 'src', 'runtime', 'fast-layer-normalization.ts'),
};

const TF_IMPORT = "import * as tf from '@tensorflow/tfjs';";

interface LayerSource {
  className: string;
  file: string;
  declares: string[];
  source: string;
}

/** Reads one layer file and checks that its text can stand in an exported module; throws saying what is wrong. */
export function readLayerSource(path: string): LayerSource {
  const file = relative(ROOT, path).split('\\').join('/');
  const text = readFileSync(path, 'utf8').replace(/\r\n/g, '\n');
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  const imports = text.match(/^import\b.*$/gm) ?? [];
  if (imports.length !== 1 || imports[0] !== TF_IMPORT)
    fail(`a custom layer file imports only tfjs, as \`${TF_IMPORT}\` (found ${imports.length ? imports.join(' ') : 'no import'}).`);
  const classes = [...text.matchAll(/^export class (\w+) extends tf\.layers\.Layer \{$/gm)].map((m) => m[1]!);
  if (classes.length !== 1) fail(`expected one \`export class Name extends tf.layers.Layer {\`, found ${classes.length}.`);
  const className = classes[0]!;
  const declared = text.match(/^\s+static className = '([^']*)';$/m)?.[1];
  if (declared !== className) fail(`the class ${className} needs \`static className = '${className}';\` (the export declares the class under that name).`);
  if (!text.includes(`\ntf.serialization.registerClass(${className});\n`))
    fail(`register the class at the end: \`tf.serialization.registerClass(${className});\`.`);
  const declares = [...text.matchAll(/^(?:export )?(?:declare )?(?:abstract )?(?:class|interface|type|function|const|let|var|enum) (\w+)/gm)].map((m) => m[1]!);
  const stray = declares.filter((name) => !name.startsWith(className));
  if (stray.length) fail(`top-level names must start with ${className} so that layers copied into one module cannot clash: ${stray.join(', ')}.`);
  const source = text.slice(text.indexOf(TF_IMPORT) + TF_IMPORT.length).trim();
  return { className, file, declares: [className, ...declares.filter((n) => n !== className)], source };
}

/**
 * Reads a stock-layer replacement (a subclass of a tfjs layer class, serialised under the stock
 * name, so it is neither registered nor named by its own className): one tfjs import, one exported
 * class, and every top-level name starting with the class's name (either case of its first letter).
 */
export function readReplacementSource(path: string): LayerSource {
  const file = relative(ROOT, path).split('\\').join('/');
  const text = readFileSync(path, 'utf8').replace(/\r\n/g, '\n');
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  const imports = text.match(/^import\b.*$/gm) ?? [];
  if (imports.length !== 1 || imports[0] !== TF_IMPORT || !text.startsWith(TF_IMPORT))
    fail(`a stock-layer replacement starts with its one import, \`${TF_IMPORT}\` (found ${imports.length ? imports.join(' ') : 'no import'}).`);
  const classes = [...text.matchAll(/^export class (\w+) extends \w+ \{$/gm)].map((m) => m[1]!);
  if (classes.length !== 1) fail(`expected one \`export class Name extends Base {\`, found ${classes.length}.`);
  const className = classes[0]!;
  const lower = className[0]!.toLowerCase() + className.slice(1);
  const declares = [...text.matchAll(/^(?:export )?(?:declare )?(?:abstract )?(?:class|interface|type|function|const|let|var|enum) (\w+)/gm)].map((m) => m[1]!);
  const stray = declares.filter((name) => !name.startsWith(className) && !name.startsWith(lower));
  if (stray.length) fail(`top-level names must start with ${className} or ${lower} so that they cannot clash with the export's own: ${stray.join(', ')}.`);
  const source = text.slice(TF_IMPORT.length).trim();
  return { className, file, declares: [className, ...declares.filter((n) => n !== className)], source };
}

/** A template literal that reads back as exactly `text`. */
const templateLiteral = (text: string) => `\`${text.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;

/** The layer files as they are now, checked: no name declared twice. */
function readAllLayers(dir: string, replacementFiles: Readonly<Record<string, string>>) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const layers = files.map((f) => readLayerSource(join(dir, f)));
  const replacements = Object.entries(replacementFiles).map(([factory, path]) => ({ factory, layer: readReplacementSource(path) }));
  const seen = new Map<string, string>();
  for (const layer of [...layers, ...replacements.map((r) => r.layer)]) {
    for (const name of layer.declares) {
      if (seen.has(name)) throw new Error(`${layer.file} declares ${name}, which ${seen.get(name)} declares too.`);
      seen.set(name, layer.file);
    }
  }
  return { layers, replacements };
}

/** The text of src/compiler/generated/layer-sources.ts for the layer files as they are now. */
export function generateLayerSources(dir = LAYERS_DIR, replacementFiles = STOCK_REPLACEMENT_FILES): string {
  const { layers, replacements } = readAllLayers(dir, replacementFiles);
  const entry = (key: string, l: LayerSource) =>
    [
      `  ${key}: {`,
      `    file: '${l.file}',`,
      `    declares: [${l.declares.map((n) => `'${n}'`).join(', ')}],`,
      `    source: ${templateLiteral(l.source)},`,
      '  },',
    ].join('\n');
  return [
    '// Generated by scripts/gen-layer-sources.ts from src/runtime/layers/*.ts. Do not edit: change the layer,',
    '// then run `npm run gen:layers`. test/custom-layers.test.ts fails while this file is stale.',
    '',
    'export interface CustomLayerSource {',
    '  /** The runtime file the class is declared in. */',
    '  file: string;',
    '  /** The top-level names the source declares, the class first; exported code must use them for nothing else. */',
    '  declares: readonly string[];',
    "  /** The class's TypeScript, for a module that has already written `import * as tf from '@tensorflow/tfjs';`. */",
    '  source: string;',
    '}',
    '',
    "/** Each custom layer class by its className (the spec's `factory`). */",
    'export const CUSTOM_LAYER_SOURCES: Readonly<Record<string, CustomLayerSource>> = {',
    ...layers.map((l) => entry(l.className, l)),
    '};',
    '',
    '/**',
    " * Patchbay's own classes for tfjs layers, by the tfjs factory each stands in for: the app builds these",
    ' * (src/runtime/build.ts), so the export constructs them too and computes what the app does.',
    ' */',
    'export const STOCK_LAYER_REPLACEMENTS: Readonly<Record<string, CustomLayerSource>> = {',
    ...replacements.map((r) => entry(r.factory, r.layer)),
    '};',
    '',
  ].join('\n');
}

/** The text of src/compiler/generated/layer-names.ts: every name the custom layers and stock replacements declare. */
export function generateLayerNames(dir = LAYERS_DIR, replacementFiles = STOCK_REPLACEMENT_FILES): string {
  const { layers, replacements } = readAllLayers(dir, replacementFiles);
  const names = [...layers, ...replacements.map((r) => r.layer)].flatMap((l) => l.declares);
  return [
    '// Generated by scripts/gen-layer-sources.ts from src/runtime/layers/*.ts. Do not edit: change the layer,',
    '// then run `npm run gen:layers`. test/custom-layers.test.ts fails while this file is stale.',
    '',
    "/** The top-level names the custom layers' and stock replacements' sources declare (layer-sources.ts), without their text. */",
    'export const CUSTOM_LAYER_DECLARED_NAMES: readonly string[] = [',
    ...names.map((n) => `  '${n}',`),
    '];',
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(GENERATED_FILE, generateLayerSources());
  writeFileSync(GENERATED_NAMES_FILE, generateLayerNames());
  console.log(`Wrote ${relative(ROOT, GENERATED_FILE)} and ${relative(ROOT, GENERATED_NAMES_FILE)}.`);
}
