import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** How a person's own project would compile an emitted module: no project tsconfig, --strict, Node types only. */
export const STRICT_TSC_FLAGS = [
  '--noEmit',
  '--ignoreConfig',
  '--strict',
  '--skipLibCheck',
  '--target',
  'ES2022',
  '--module',
  'ESNext',
  '--moduleResolution',
  'bundler',
  '--types',
  'node',
];

/**
 * Type-checks emitted modules under STRICT_TSC_FLAGS, all of them in one tsc run (one process for a
 * test's whole set keeps CI time down). Throws with tsc's report (it prints its errors on stdout) when
 * it fails or prints anything at all.
 */
export function typecheckStrict(files: string | string[]): void {
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const list = typeof files === 'string' ? [files] : files;
  if (!list.length) throw new Error('typecheckStrict was given no file to check.');
  let report: string;
  try {
    report = execFileSync(tsc, [...STRICT_TSC_FLAGS, ...list], { encoding: 'utf8', cwd: ROOT });
  } catch (err) {
    const { stdout, stderr, message } = err as { stdout?: string; stderr?: string; message: string };
    report = `${stdout ?? ''}${stderr ?? ''}` || message;
  }
  if (report) throw new Error(`tsc --strict rejected ${list.length === 1 ? list[0] : `${list.length} modules`}:\n${report}`);
}
