import type { z } from 'zod';
import { getSpec } from '../nodes/registry';
import { diagnostic, type Diagnostic } from '../document/diagnostics';
import { isParamRef, type BlockDef, type BlockParam, type GraphNode } from '../document/schema';
import type { AnySpec } from '../nodes/spec';

/** Replaces every `{ $param }` inside a value with the block argument it names. */
export function resolveRefs(value: unknown, args: Readonly<Record<string, unknown>>): unknown {
  if (isParamRef(value)) return args[value.$param];
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, args));
  return value;
}

export function containsRef(value: unknown): boolean {
  return isParamRef(value) || (Array.isArray(value) && value.some(containsRef));
}

export function resolveParams(params: Record<string, unknown>, args: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  if (!args) return params;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = resolveRefs(v, args);
  return out;
}

/** A value as a person reads it in a message: numbers as numbers (JSON would print Infinity as null). */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  try {
    const text = JSON.stringify(v) ?? String(v);
    return text.length > 80 ? `${text.slice(0, 77)}…` : text;
  } catch {
    return String(v);
  }
}

export type ParsedParams = { ok: true; params: Record<string, unknown>; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/** Parses a node's params with its spec's schema, turning zod issues into PB300 diagnostics. */
export function parseParams(spec: AnySpec, node: GraphNode, params: Record<string, unknown>, blockId?: string): ParsedParams {
  const parsed = spec.params.safeParse(params);
  if (parsed.success) {
    const known = spec.params.shape as Record<string, unknown>;
    const unknown = Object.keys(params).filter((k) => !(k in known));
    const warnings = unknown.map((k) =>
      diagnostic('PB311', {
        severity: 'warning',
        message: `${node.type} "${node.id}" has a param "${k}" that ${node.type} does not take; it is kept in the file but ignored.`,
        help: `${node.type} takes ${
          Object.keys(known)
            .map((x) => `"${x}"`)
            .join(', ') || 'no params'
        }. Remove "${k}" or check its spelling.`,
        nodeId: node.id,
        param: k,
        blockId,
      }),
    );
    return { ok: true, params: parsed.data as Record<string, unknown>, warnings };
  }
  return { ok: false, diagnostics: parsed.error.issues.map((issue) => paramIssue(issue, node, params, blockId)) };
}

/** What a zod issue expected, in words: "a whole number ≥ 1", not "Too small: expected number to be >=1". */
export function expectedText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
    case 'too_big': {
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const inclusive = issue.inclusive !== false;
      if (issue.origin === 'array' || issue.origin === 'string') {
        const what = issue.origin === 'array' ? 'value' : 'character';
        const n = inclusive ? bound : issue.code === 'too_small' ? bound + 1 : bound - 1;
        return `${issue.code === 'too_small' ? 'at least' : 'at most'} ${n} ${what}${n === 1 ? '' : 's'}`;
      }
      const sign = issue.code === 'too_small' ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<';
      return `a number ${sign} ${bound}`;
    }
    case 'invalid_type':
      return issue.expected === 'int'
        ? 'a whole number'
        : issue.expected === 'array'
          ? 'a list'
          : issue.expected === 'boolean'
            ? 'true or false'
            : issue.expected === 'string'
              ? 'text'
              : `a ${issue.expected}`;
    case 'invalid_value':
      return issue.values.length === 1 ? describe(issue.values[0]) : `one of ${issue.values.map((v) => describe(v)).join(', ')}`;
    case 'invalid_union':
      return "a value of another form (see the param's description)";
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message.replace(/^Invalid input: /, '').replace(/^expected /, '');
  }
}

function paramIssue(issue: z.core.$ZodIssue, node: GraphNode, params: Record<string, unknown>, blockId?: string): Diagnostic {
  const param = issue.path.length ? String(issue.path[0]) : undefined;
  const received = param === undefined ? describe(params) : describe(params[param]);
  const where =
    issue.path.length > 1
      ? ` (at ${issue.path
          .slice(1)
          .map((k) => (typeof k === 'number' ? `item ${k + 1}` : String(k)))
          .join(', ')})`
      : '';
  const detail = expectedText(issue);
  return diagnostic('PB300', {
    message: `${node.type} "${node.id}": received ${param ?? 'params'} = ${received}, expected ${detail}${where}.`,
    help: param ? `Change "${param}" in the inspector.` : "Check the node's params in the inspector.",
    nodeId: node.id,
    param,
    blockId,
  });
}

/** Checks one block argument against its declared kind. Returns a message, or null when fine. */
export function checkBlockArg(param: BlockParam, value: unknown): string | null {
  switch (param.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'a whole number';
      if (param.min !== undefined && value < param.min) return `a whole number ≥ ${param.min}`;
      return null;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'a number';
      if (param.min !== undefined && value < param.min) return `a number ≥ ${param.min}`;
      return null;
    case 'string':
      return typeof value === 'string' ? null : 'text';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'true or false';
    case 'enum':
      return typeof value === 'string' && (param.options ?? []).includes(value) ? null : `one of ${(param.options ?? []).map((o) => `"${o}"`).join(', ')}`;
  }
}

/** The arguments a block instance passes, before derived params are read from shapes. */
export function blockArgs(
  def: BlockDef,
  node: GraphNode,
  outerArgs: Readonly<Record<string, unknown>> | undefined,
  blockId?: string,
): { args: Record<string, unknown>; diagnostics: Diagnostic[] } {
  const args: Record<string, unknown> = {};
  const diagnostics: Diagnostic[] = [];
  const given = resolveParams(node.params, outerArgs);
  for (const param of def.params) {
    if (param.derive) continue;
    const value = given[param.name] ?? param.default;
    const problem = checkBlockArg(param, value);
    if (problem) {
      diagnostics.push(
        diagnostic('PB300', {
          message: `${def.label} "${node.id}": received ${param.name} = ${describe(value)}, expected ${problem}.`,
          help: `Change "${param.name}" in the inspector.`,
          nodeId: node.id,
          param: param.name,
          blockId,
        }),
      );
    }
    args[param.name] = value;
  }
  return { args, diagnostics };
}

const KIND_WORDS: Record<BlockParam['kind'], string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  enum: 'a choice of options',
};

const problemsOfBlock = new WeakMap<BlockDef, Diagnostic[]>();

/** Every `{ $param }` inside a param value (arrays included). */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (isParamRef(value)) out.push(value.$param);
  else if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  return out;
}

/**
 * Checks that every `{ $param }` in a block body names a param of the block, and that every `when`
 * names one of its boolean params. A reference to nothing would otherwise fall back silently to the
 * layer's default in the summary, and reach the export as code (`p.<whatever the file says>`).
 */
export function blockReferenceProblems(def: BlockDef): Diagnostic[] {
  const known = problemsOfBlock.get(def);
  if (known) return known;
  const params = new Map(def.params.map((p) => [p.name, p]));
  const names = def.params.map((p) => `"${p.name}"`).join(', ') || 'none';
  const out: Diagnostic[] = [];
  for (const node of def.nodes) {
    for (const [key, value] of Object.entries(node.params)) {
      for (const ref of refsIn(value)) {
        if (params.has(ref)) continue;
        out.push(
          diagnostic('PB308', {
            message: `${node.type} "${node.id}" links ${key} to a block param "${ref}", but block "${def.id}" has no such param (its params: ${names}).`,
            help: `Link "${key}" to one of the block's params in the inspector, or add a param named "${ref}" to the block.`,
            nodeId: node.id,
            param: key,
            blockId: def.id,
          }),
        );
      }
    }
    const spec = getSpec(node.type);
    const shape = spec ? (spec.params.shape as Record<string, z.ZodType>) : {};
    for (const [key, value] of Object.entries(node.params)) {
      // An enum param linked straight to a layer param: every option must be a value the layer takes.
      const param = isParamRef(value) ? params.get(value.$param) : undefined;
      if (param?.kind !== 'enum' || !shape[key]) continue;
      const refused = (param.options ?? []).filter((o) => !shape[key]!.safeParse(o).success);
      if (refused.length === 0) continue;
      out.push(
        diagnostic('PB312', {
          message: `Block param "${param.name}" offers ${refused.map((o) => describe(o)).join(', ')} for ${key} of ${node.type} "${node.id}", which ${node.type} does not take.`,
          help: `Remove ${refused.length === 1 ? 'that option' : 'those options'} from "${param.name}", or unlink "${key}".`,
          nodeId: node.id,
          param: key,
          blockId: def.id,
        }),
      );
    }
    if (node.when) {
      const target = params.get(node.when.$param);
      if (!target || target.kind !== 'boolean' || target.derive) {
        out.push(
          diagnostic('PB309', {
            message: `${node.type} "${node.id}" applies only when block param "${node.when.$param}" is true, but ${target ? `that param ${target.derive ? 'is read from a shape' : `holds ${KIND_WORDS[target.kind]}`}` : `block "${def.id}" has no such param`}; expected a true/false param.`,
            help: 'Choose a true/false param of the block for the condition, or remove the condition.',
            nodeId: node.id,
            blockId: def.id,
          }),
        );
      }
    }
  }
  problemsOfBlock.set(def, out);
  return out;
}

/** `{ $param }` only means something inside a block body; in the main graph it is a mistake. */
export function mainGraphReferenceProblems(nodes: readonly GraphNode[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const node of nodes) {
    for (const [key, value] of Object.entries(node.params)) {
      if (refsIn(value).length === 0) continue;
      out.push(
        diagnostic('PB308', {
          message: `${node.type} "${node.id}" links ${key} to a block param, but it is in the main graph, which has no block params.`,
          help: `Give "${key}" a value in the inspector.`,
          nodeId: node.id,
          param: key,
        }),
      );
    }
    if (node.when) {
      out.push(
        diagnostic('PB309', {
          severity: 'warning',
          message: `${node.type} "${node.id}" has a condition ("when ${node.when.$param}"), which only works inside a block; it is ignored here.`,
          help: 'Remove the condition, or group the node into a block with a true/false param.',
          nodeId: node.id,
        }),
      );
    }
  }
  return out;
}
