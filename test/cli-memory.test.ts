/**
 * PB310 on the command line: `train` and `sweep` are not bound by a browser tab's memory, so they
 * train a step past it anyway and say so in one line on stderr (not in --json output, which has no
 * warnings list); `check` tells a terminal reader whose limit it is.
 *
 * The model: Input 2 → Dense 1,000,000 → Dense 2, about 4 MB of activations per example, so a
 * batch of 2,000 is estimated at ~8 GB; --limit 4 trains only 4 moons, a quick step in fact.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { memoryNote } from '../src/cli/memory-note';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'patchbay.js');
const run = promisify(execFile);

async function patchbay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'patchbay-cli-memory-'));
const file = join(tmp, 'wide.json');
writeFileSync(
  file,
  JSON.stringify({
    ...graph(
      [
        { id: 'in', type: 'Input', params: { shape: [2] } },
        { id: 'wide', type: 'Dense', params: { units: 1_000_000, activation: 'relu' } },
        { id: 'head', type: 'Dense', params: { units: 2, activation: 'softmax' } },
      ],
      [
        ['in', 'wide'],
        ['wide', 'head'],
      ],
    ),
    training: { batchSize: 2000 },
  }),
);
const NOTE =
  /^Memory \(PB310\): a training step at batch 2000 needs about [\d.]+ GB by the compiler's estimate, more than the 4\.29 GB a browser tab gives the editor, which refuses to start it; training here anyway, since the command line is not bound by a tab's memory\.$/m;
const SHORT = ['--data', 'moons', '--limit', '4', '--epochs', '1', '--backend', 'cpu'];

describe('PB310 on the command line', () => {
  it('train says it trains past a tab’s memory anyway, in one stderr line; --json output is unchanged', async () => {
    const plain = await patchbay('train', file, ...SHORT);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(NOTE);
    expect(plain.stderr.match(/PB310/g)).toHaveLength(1);
    const json = await patchbay('train', file, ...SHORT, '--json');
    expect(json.code).toBe(0);
    expect(json.stdout).not.toMatch(/PB310|browser tab/);
    expect(JSON.parse(json.stdout)).not.toHaveProperty('warnings');
    // At a batch that fits there is no line.
    const small = await patchbay('train', file, ...SHORT, '--batch-size', '16');
    expect(small.code).toBe(0);
    expect(small.stderr).not.toMatch(/PB310/);
  }, 120_000);

  it('sweep names the variants past a tab’s memory in one line and trains them', async () => {
    const { code, stderr } = await patchbay('sweep', file, '--param', 'wide.units=1000000,8', ...SHORT);
    expect(code).toBe(0);
    const lines = stderr.split('\n').filter((l) => l.includes('PB310'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Memory \(PB310\): a training step of wide\.units=1000000 needs about [\d.]+ GB by the compiler's estimate/);
    expect(lines[0]).not.toMatch(/units=8\b/);
    expect(stderr).toMatch(/wide\.units=1000000: test accuracy/);
    expect(lines[0]).toMatch(/training here anyway, since the command line is not bound by a tab's memory\.$/);
  }, 180_000);

  it('check says whose limit it is, for a terminal', async () => {
    const { stderr } = await patchbay('check', file);
    expect(stderr).toMatch(/PB310/);
    expect(stderr).toContain("more than the 4.29 GB a training run in the editor's browser tab can use (the command line is not bound by it)");
    expect(stderr).not.toContain('a browser tab can give it');
  }, 60_000);

  it("a program's note is its whole training step's (CLIP ViT-B/32: both towers, 13.2 GB at 128); its mnist preset has none", () => {
    const doc = (preset: string) => {
      const r = templateDocument('clip', preset);
      if ('error' in r) throw new Error(r.error);
      return r.doc;
    };
    expect(memoryNote(doc('ViT-B/32'))).toMatch(/^Memory \(PB310\): a training step at batch 128 needs about 13\.2 GB/);
    expect(memoryNote(doc('ViT-B/32'), 22)).toBeNull();
    expect(memoryNote(doc('mnist'))).toBeNull();
  });
});
