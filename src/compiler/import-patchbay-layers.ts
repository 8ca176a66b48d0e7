/**
 * Import of Patchbay's own layers: the custom tfjs layers of src/runtime/layers as a model.json names
 * them (PatchbayMultiHeadSelfAttention, PatchbayUNet…). Every node spec that lowers to a custom layer
 * copies its params into the layer's config under the same names, and the layer's getConfig writes
 * them back, so the way back is the spec's own lowering read in reverse. It is derived here from the
 * registry rather than written out per layer, so that a param added to a spec and its layer imports
 * too; and each spec is checked to be invertible (its lowering copies every param under its own name,
 * always to the same class) on its defaults and its examples. A spec that is not is listed in
 * NOT_INVERTIBLE with the reason (a test requires that list to be empty), never mapped by a guess.
 *
 * tfjs writes a layer's config the Python way (convertTsToPythonic): keys and string values in
 * snake_case (numHeads → num_heads, "endOfText" → "end_of_text"), and turns them back when it loads
 * the file. The import reads them the same way, and also takes the camelCase keys a hand-written file
 * may use.
 *
 * Values from the file are untrusted: each goes through the spec's zod schema, so that a string where
 * a number goes, an option the layer lacks or a number out of range is refused with the reason, and
 * only values the schema allows reach the graph (enums stay enums: no text from the file becomes a
 * param the export prints as code). Numbers past MAX_IMPORTED_NUMBER are refused as well: no tensor
 * axis or count can be that large, and a file that says so is not a model.
 */
import type { ZodType } from 'zod';
import { NODE_SPECS } from '../nodes/registry';
import type { AnySpec } from '../nodes/spec';
import { describe, expectedText } from './params';

/** The largest number a Patchbay layer's config may hold on import: tfjs sizes are 32-bit ints. */
export const MAX_IMPORTED_NUMBER = 2 ** 31 - 1;

interface PatchbayLayer {
  spec: AnySpec;
  /** The spec's params, each serialised under its own name in the layer's config. */
  keys: string[];
}

/** A custom-layer spec whose lowering cannot be read backwards, and why. */
export interface NotInvertible {
  type: string;
  reason: string;
}

const layers = new Map<string, PatchbayLayer>();
const notInvertible: NotInvertible[] = [];

/** Checks that `spec`'s lowering is a rename-free copy of all its params into one custom class. */
function inverseOf(spec: AnySpec): { factory: string; keys: string[] } | { reason: string } | null {
  const shape = spec.params.shape as Record<string, ZodType>;
  const paramKeys = Object.keys(shape);
  let factory: string | undefined;
  for (const sample of [{}, ...spec.examples.map((e) => e.params)]) {
    const parsed = spec.params.safeParse(sample);
    if (!parsed.success) return factory ? { reason: 'one of its examples does not parse' } : null;
    const params = parsed.data as Record<string, unknown>;
    const lowering = spec.lower(params as never);
    if (lowering.kind !== 'layer' || !lowering.custom) return factory ? { reason: 'it lowers to a stock layer for some params' } : null;
    if (factory !== undefined && lowering.factory !== factory)
      return { reason: `it lowers to ${factory} for some params and to ${lowering.factory} for others` };
    factory = lowering.factory;
    const configKeys = Object.keys(lowering.config);
    const renamed = configKeys.filter((k) => !Object.hasOwn(shape, k) || lowering.config[k] !== params[k]);
    if (renamed.length) return { reason: `its lowering writes ${renamed.join(', ')} as something other than the param of that name` };
    const missing = paramKeys.filter((k) => !configKeys.includes(k));
    if (missing.length) return { reason: `its lowering leaves out ${missing.join(', ')}, so a saved layer cannot give it back` };
  }
  return factory ? { factory, keys: paramKeys } : null;
}

for (const spec of NODE_SPECS) {
  let inverse: ReturnType<typeof inverseOf>;
  try {
    inverse = inverseOf(spec);
  } catch (err) {
    // A spec whose defaults do not lower (a block port, Input…) is not a layer the file can hold.
    inverse = null;
    void err;
  }
  if (!inverse) continue;
  if ('reason' in inverse) notInvertible.push({ type: spec.type, reason: inverse.reason });
  else if (layers.has(inverse.factory))
    notInvertible.push({ type: spec.type, reason: `${inverse.factory} is already ${layers.get(inverse.factory)!.spec.type}'s layer` });
  else layers.set(inverse.factory, { spec, keys: inverse.keys });
}

/** The custom tfjs class names the import maps, each to its node type. */
export const PATCHBAY_LAYER_TYPES: ReadonlyMap<string, string> = new Map([...layers].map(([factory, l]) => [factory, l.spec.type]));

/** Custom-layer specs left unmapped because their lowering cannot be read backwards (should be none). */
export const NOT_INVERTIBLE: readonly NotInvertible[] = notInvertible;

/** tfjs's toSnakeCase (tfjs-layers generic_utils), as it names a config key in a saved model. */
export function toSnakeCase(name: string): string {
  const snake = name
    .replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
  return snake.startsWith('_') ? `private${snake}` : snake;
}

/** tfjs's toCamelCase, as it reads a string value back from a saved model ("end_of_text" → "endOfText"). */
function toCamelCase(text: string): string {
  if (text.length <= 1 || !text.includes('_')) return text;
  return text.replace(/_+(\w|$)/g, (_m, c: string) => c.toUpperCase());
}

/** A config value as tfjs hands it to the layer: strings camel-cased, in lists too; everything else as is. */
const asLoaded = (value: unknown): unknown => (typeof value === 'string' ? toCamelCase(value) : Array.isArray(value) ? value.map(asLoaded) : value);

/** A number in the file past MAX_IMPORTED_NUMBER (or not finite), with where it is. */
function hugeNumberIn(value: unknown, path: string): { path: string; value: number } | null {
  if (typeof value === 'number') return Math.abs(value) > MAX_IMPORTED_NUMBER || !Number.isFinite(value) ? { path, value } : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = hugeNumberIn(value[i], `${path} (item ${i + 1})`);
      if (found) return found;
    }
  }
  return null;
}

/**
 * A Patchbay custom layer's config as its node: the type and the params its schema accepts, or the
 * reason it is refused, written for a person ("its numHeads is "4", expected a number").
 */
export function mapPatchbayLayer(
  className: string,
  config: Record<string, unknown>,
): { type: string; params: Record<string, unknown> } | { reason: string } | null {
  const layer = layers.get(className);
  if (!layer) return null;
  const { spec, keys } = layer;
  // Only the spec's own keys, and only own properties: "__proto__" or "constructor" in the file are not params.
  const params: Record<string, unknown> = {};
  /** Each param's key as the file spells it, for messages. */
  const fileKeys = new Map<string, string>();
  for (const key of keys) {
    const fileKey = [toSnakeCase(key), key].find((k) => Object.hasOwn(config, k) && config[k] !== undefined);
    if (fileKey === undefined) continue;
    fileKeys.set(key, fileKey);
    params[key] = asLoaded(config[fileKey]);
  }
  for (const [key, fileKey] of fileKeys) {
    const huge = hugeNumberIn(params[key], fileKey);
    if (huge) return { reason: `its ${huge.path} is ${describe(huge.value)}, more than a ${spec.label} layer takes (at most ${MAX_IMPORTED_NUMBER})` };
  }
  const parsed = spec.params.safeParse(params);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => {
      const key = issue.path.length ? String(issue.path[0]) : 'config';
      const fileKey = fileKeys.get(key);
      const where = typeof issue.path[1] === 'number' ? ` (item ${issue.path[1] + 1})` : '';
      return `its ${fileKey ?? key}${where} is ${describe(fileKey === undefined ? undefined : config[fileKey])}, expected ${expectedText(issue)}`;
    });
    return { reason: reasons.join('; ') };
  }
  return { type: spec.type, params: parsed.data as Record<string, unknown> };
}
