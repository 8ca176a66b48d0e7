import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Type-checks one emitted module alone under `--strict`, the way a person's own project would
 * compile it (no project tsconfig, Node types only). Throws with tsc's report when it fails.
 */
export function typecheckStrict(file: string): void {
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const flags = ['--noEmit', '--ignoreConfig', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'ESNext'];
  execFileSync(tsc, [...flags, '--moduleResolution', 'bundler', '--types', 'node', file], { encoding: 'utf8', cwd: ROOT });
}
