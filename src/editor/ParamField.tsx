/**
 * The generic param field: one form control for any param, read from its zod schema (kind, bounds,
 * description, default) or from a block param. Used by the inspector and the Train tab.
 */
import { useEffect, useId, useState } from 'react';
import type { z } from 'zod';
import { isParamRef } from '../document/schema';
import { findExcessiveNesting } from '../document/limits';

/** What a zod param schema turns into on the form. */
export type Field =
  | { kind: 'number'; int: boolean; min?: number; max?: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; options: string[] }
  | { kind: 'string' }
  /** Pairs, tuples, arrays and unions: written as JSON-ish text, `3` or `[3, 5]`. */
  | { kind: 'json' };

export interface FieldInfo {
  field: Field;
  description?: string;
  defaultValue?: unknown;
  optional: boolean;
}

type AnyZod = z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } }; description?: string };

/** Unwraps default/optional/nullable/pipe and reads the field kind, description and default. */
export function describeField(schema: z.ZodType): FieldInfo {
  let s = schema as AnyZod;
  let description = s.description;
  let defaultValue: unknown;
  let optional = false;
  for (let guard = 0; guard < 10; guard++) {
    const def = s._zod.def;
    if (def.type === 'default' || def.type === 'prefault') {
      const v = def.defaultValue;
      defaultValue = typeof v === 'function' ? (v as () => unknown)() : v;
      s = def.innerType as AnyZod;
    } else if (def.type === 'optional' || def.type === 'nullable' || def.type === 'readonly' || def.type === 'catch') {
      optional ||= def.type === 'optional';
      s = def.innerType as AnyZod;
    } else if (def.type === 'pipe') {
      s = def.in as AnyZod;
    } else break;
    description ??= s.description;
  }
  const def = s._zod.def;
  let field: Field;
  switch (def.type) {
    case 'number': {
      const n = s as unknown as { isInt?: boolean; minValue?: number | null; maxValue?: number | null };
      const min = n.minValue ?? undefined;
      const max = n.maxValue ?? undefined;
      field = { kind: 'number', int: !!n.isInt, min: Number.isFinite(min) ? min : undefined, max: Number.isFinite(max) ? max : undefined };
      break;
    }
    case 'boolean':
      field = { kind: 'boolean' };
      break;
    case 'enum':
      field = { kind: 'enum', options: (s as unknown as { options: string[] }).options.map(String) };
      break;
    case 'literal':
      field = { kind: 'enum', options: ((def.values as unknown[]) ?? []).map(String) };
      break;
    case 'string':
      field = { kind: 'string' };
      break;
    default:
      field = { kind: 'json' };
  }
  return { field, description, defaultValue, optional };
}

/** A value as the field shows it: strings as they are, anything else as compact JSON. */
export const show = (v: unknown): string => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v).replace(/,/g, ', '));

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** The deepest list a parameter field accepts (kernel sizes and shapes are one level). */
const MAX_PARAM_DEPTH = 16;

function parseText(field: Field, text: string): Parsed {
  const t = text.trim();
  if (field.kind === 'number') {
    if (t === '') return { ok: false, error: 'Enter a number.' };
    const v = Number(t);
    if (!Number.isFinite(v)) return { ok: false, error: `“${text}” is not a number.` };
    return { ok: true, value: v };
  }
  if (field.kind === 'string') return { ok: true, value: text };
  if (t === '') return { ok: false, error: 'Enter a value, like 3 or [3, 5].' };
  // A value nested deeper would make the document one the loader refuses (PB110) after a reload.
  if (findExcessiveNesting(t, MAX_PARAM_DEPTH))
    return { ok: false, error: `This value nests lists more than ${MAX_PARAM_DEPTH} levels deep; a parameter needs one or two.` };
  const candidates = [t, /^[^[{"]/.test(t) && t.includes(',') ? `[${t}]` : null].filter((x): x is string => x !== null);
  for (const c of candidates) {
    try {
      return { ok: true, value: JSON.parse(c) };
    } catch {
      /* try the next reading */
    }
  }
  return { ok: false, error: `Write a number or a list, like 3 or [3, 5].` };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface FieldProps {
  label: string;
  info: FieldInfo;
  value: unknown;
  /** A problem with the current value (schema or compiler), shown under the field. */
  problem?: string | null;
  onChange: (value: unknown) => void;
  onDone?: () => void;
  readOnly?: boolean;
}

export function ParamField({ label, info, value, problem, onChange, onDone, readOnly }: FieldProps) {
  const id = useId();
  const { field } = info;
  const shown = value === undefined ? info.defaultValue : value;
  const [draft, setDraft] = useState(show(shown));
  const [local, setLocal] = useState<string | null>(null);

  useEffect(() => {
    const parsed = parseText(field, draft);
    if (!parsed.ok || !same(parsed.value, shown)) {
      setDraft(show(shown));
      setLocal(null);
    }
    // Only when the stored value changes (undo, another edit), not on every keystroke.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(shown)]);

  const error = local ?? problem ?? null;
  const help = info.description;
  const describedBy = `${id}-help`;
  let control;
  if (isParamRef(value)) {
    control = <input id={id} value={`⟨${value.$param}⟩ from the block`} readOnly />;
  } else if (field.kind === 'boolean') {
    control = (
      <input
        id={id}
        type="checkbox"
        checked={shown === true}
        disabled={readOnly}
        aria-describedby={describedBy}
        onChange={(e) => {
          onChange(e.target.checked);
          onDone?.();
        }}
      />
    );
  } else if (field.kind === 'enum') {
    control = (
      <select
        id={id}
        value={String(shown ?? '')}
        disabled={readOnly}
        aria-describedby={describedBy}
        onChange={(e) => {
          onChange(e.target.value);
          onDone?.();
        }}
      >
        {!field.options.includes(String(shown)) && <option value={String(shown ?? '')}>{show(shown) || '—'}</option>}
        {field.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else {
    control = (
      <input
        id={id}
        type={field.kind === 'number' ? 'number' : 'text'}
        inputMode={field.kind === 'number' ? 'decimal' : undefined}
        step={field.kind === 'number' ? (field.int ? 1 : 'any') : undefined}
        min={field.kind === 'number' ? field.min : undefined}
        value={draft}
        readOnly={readOnly}
        spellCheck={false}
        aria-invalid={!!error || undefined}
        aria-describedby={describedBy}
        onChange={(e) => {
          setDraft(e.target.value);
          const parsed = parseText(field, e.target.value);
          if (!parsed.ok) {
            setLocal(parsed.error);
            return;
          }
          setLocal(null);
          if (!same(parsed.value, shown)) onChange(parsed.value);
        }}
        onBlur={() => onDone?.()}
      />
    );
  }
  return (
    <div className={`pb-field${field.kind === 'boolean' ? ' pb-field-check' : ''}${error ? ' pb-field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {control}
      {error && (
        <div className="pb-field-error" role="alert">
          {error}
        </div>
      )}
      {help && (
        <div className="pb-field-help" id={describedBy}>
          {help}
        </div>
      )}
    </div>
  );
}

/** camelCase param names as sentence-case labels: `kernelSize` → `Kernel size`. */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
