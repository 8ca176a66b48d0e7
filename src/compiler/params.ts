import type { z } from 'zod';
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

const describe = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

export type ParsedParams = { ok: true; params: Record<string, unknown>; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/** Parses a node's params with its spec's schema, turning zod issues into PB300 diagnostics. */
export function parseParams(spec: AnySpec, node: GraphNode, params: Record<string, unknown>, blockId?: string): ParsedParams {
  const parsed = spec.params.safeParse(params);
  if (parsed.success) {
    const known = spec.params.shape as Record<string, unknown>;
    const unknown = Object.keys(params).filter((k) => !(k in known));
    const warnings = unknown.map((k) => diagnostic('PB300', {
      severity: 'warning',
      message: `${node.type} "${node.id}" has a param "${k}" that ${node.type} does not take; it is kept in the file but ignored.`,
      help: `${node.type} takes ${Object.keys(known).map((x) => `"${x}"`).join(', ') || 'no params'}. Remove "${k}" or check its spelling.`,
      nodeId: node.id,
      param: k,
      blockId,
    }));
    return { ok: true, params: parsed.data as Record<string, unknown>, warnings };
  }
  return { ok: false, diagnostics: parsed.error.issues.map((issue) => paramIssue(issue, node, params, blockId)) };
}

function paramIssue(issue: z.core.$ZodIssue, node: GraphNode, params: Record<string, unknown>, blockId?: string): Diagnostic {
  const param = issue.path.length ? String(issue.path[0]) : undefined;
  const received = param === undefined ? describe(params) : describe(params[param]);
  const detail = issue.message.replace(/^Invalid input: /, '').replace(/^expected /, '');
  return diagnostic('PB300', {
    message: `${node.type} "${node.id}": received ${param ?? 'params'} = ${received}, expected ${detail}.`,
    help: param ? `Change "${param}" in the inspector.` : 'Check the node\'s params in the inspector.',
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
export function blockArgs(def: BlockDef, node: GraphNode, outerArgs: Readonly<Record<string, unknown>> | undefined, blockId?: string): { args: Record<string, unknown>; diagnostics: Diagnostic[] } {
  const args: Record<string, unknown> = {};
  const diagnostics: Diagnostic[] = [];
  const given = resolveParams(node.params, outerArgs);
  for (const param of def.params) {
    if (param.derive) continue;
    const value = given[param.name] ?? param.default;
    const problem = checkBlockArg(param, value);
    if (problem) {
      diagnostics.push(diagnostic('PB300', {
        message: `${def.label} "${node.id}": received ${param.name} = ${describe(value)}, expected ${problem}.`,
        help: `Change "${param.name}" in the inspector.`,
        nodeId: node.id,
        param: param.name,
        blockId,
      }));
    }
    args[param.name] = value;
  }
  return { args, diagnostics };
}
