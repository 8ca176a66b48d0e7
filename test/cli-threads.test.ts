/**
 * `patchbay train --threads`: wasm runs on every core by default (at most 8) and on the number
 * asked for, `--json` reports it next to the backend, and a bad count is a usage error.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'patchbay.js');
const run = promisify(execFile);

async function patchbay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const SHORT_RUN = ['train', 'convmixer', '--data', 'mnist', '--limit', '32', '--batch-size', '16', '--epochs', '1', '--json'];

describe('patchbay train --threads', () => {
  it('uses every core by default and reports backend and threads', async () => {
    const { code, stdout, stderr } = await patchbay(...SHORT_RUN);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'completed', backend: 'wasm', threads: Math.min(availableParallelism(), 8), steps: 2 });
  });

  it('runs on the threads asked for', async () => {
    const one = await patchbay(...SHORT_RUN, '--threads', '1');
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ backend: 'wasm', threads: 1 });
  });

  it('refuses a thread count that is not a whole number of at least 1', async () => {
    expect(await patchbay(...SHORT_RUN, '--threads', '0')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--threads takes a whole number of at least 1, received "0"/),
    });
    expect(await patchbay(...SHORT_RUN, '--threads', 'all')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--threads takes a whole number/) });
  });
});
