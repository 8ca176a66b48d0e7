/**
 * The helper every export test relies on (test/helpers/tsc.ts) can fail: a module with a type error,
 * or one that --strict alone rejects, is refused with tsc's own report, and a clean one passes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { typecheckStrict } from './helpers/tsc';

const OUT = join(import.meta.dirname, '..', '.tmp', 'tsc-helper');

it('typecheckStrict passes a clean module and refuses, with the report, a type error and an implicit any', () => {
  mkdirSync(OUT, { recursive: true });
  const write = (name: string, source: string) => {
    const file = join(OUT, name);
    writeFileSync(file, source);
    return file;
  };
  const clean = write('clean.ts', 'export const double = (x: number): number => 2 * x;\n');
  const wrongType = write('wrong-type.ts', "export const n: number = 'one';\n");
  const implicitAny = write('implicit-any.ts', 'export function double(x) {\n  return 2 * x;\n}\n');
  expect(() => typecheckStrict(clean)).not.toThrow();
  expect(() => typecheckStrict([clean, wrongType])).toThrow(/rejected 2 modules:[\s\S]*wrong-type\.ts.*TS2322/);
  expect(() => typecheckStrict(implicitAny)).toThrow(/implicit-any\.ts.*TS7006/);
  expect(() => typecheckStrict([])).toThrow(/no file/);
});
