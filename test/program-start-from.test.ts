/**
 * Starting a training program from a past run's networks: which train procedures the loaded
 * networks make unnecessary, the runtime refusing weights that do not fit, and the command line's
 * --weights / --networks (distillation's teacher from an earlier run: its procedure is skipped and it
 * scores what it scored in that run).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeProgram, lowerProgram, proceduresCoveredBy, type PlanProgram } from '../src/compiler/program';
import { ProgramRun } from '../src/runtime/program/run';
import { artifactsOf } from '../src/runtime/saved-weights';
import { templateDocument } from '../templates';
import { useCpuBackend } from './helpers/tf';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'patchbay.js');
const exec = promisify(execFile);

async function patchbay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function programOf(id: string): PlanProgram {
  const t = templateDocument(id);
  if ('error' in t) throw new Error(t.error);
  const program = lowerProgram(analyzeProgram(t.doc)!).program;
  if (!program) throw new Error(`${id} does not lower`);
  return program;
}

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

describe('proceduresCoveredBy', () => {
  it("skips distillation's teacher procedure when the teacher comes trained, and nothing that also trains another network", () => {
    const program = programOf('distillation');
    expect(proceduresCoveredBy(program, new Set())).toEqual([]);
    expect(proceduresCoveredBy(program, new Set(['teacher']))).toEqual(['teach']);
    expect(proceduresCoveredBy(program, new Set(['teacher', 'model']))).toEqual(['teach', 'distil']);
    expect(proceduresCoveredBy(program, new Set(['teacher', 'model', 'studentAlone']))).toEqual(['teach', 'distil', 'alone']);
  });

  it('keeps a procedure that trains a loaded network together with one that is not loaded', () => {
    const program = programOf('simsiam');
    expect(proceduresCoveredBy(program, new Set(['model']))).toEqual([]);
    expect(proceduresCoveredBy(program, new Set(['model', 'projector', 'predictor']))).toEqual(['pretrain']);
  });

  it("keeps a procedure whose update rule sets a network that is not loaded (DirectPred's predictor)", () => {
    const program = programOf('directpred');
    expect(proceduresCoveredBy(program, new Set(['model', 'projector']))).toEqual([]);
  });
});

describe('ProgramRun.loadNetwork', () => {
  it("loads one network's saved weights and refuses another network's", async () => {
    const program = programOf('distillation');
    const source = new ProgramRun(tf, program, 1);
    const target = new ProgramRun(tf, program, 2);
    const teacher = await artifactsOf(tf, source.networks.get('teacher')!.model);
    await target.loadNetwork('teacher', teacher);
    const a = source.networks.get('teacher')!.model.getWeights();
    const b = target.networks.get('teacher')!.model.getWeights();
    expect(a.length).toBeGreaterThan(0);
    for (let i = 0; i < a.length; i++) expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(a[i]!.dataSync()));
    // The student differs from the teacher (784-800-800-10 against 784-1200-1200-10).
    await expect(target.loadNetwork('model', teacher)).rejects.toThrow(/do not fit network "model"/);
    await expect(target.loadNetwork('nope', teacher)).rejects.toThrow(/no network "nope"/);
    source.dispose();
    target.dispose();
  });
});

describe('patchbay train --weights', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'patchbay-from-'));
  const quick = ['--data', 'mnist', '--limit', '64', '--epochs', '1', '--backend', 'cpu', '--json'];

  it("takes the teacher from an earlier run's --save folder: its procedure is skipped and it scores as it did", async () => {
    const saved = join(tmp, 'first');
    const first = await patchbay('train', 'distillation', ...quick, '--save', saved);
    expect(first.code, first.stderr).toBe(0);
    const before = JSON.parse(first.stdout);

    const second = await patchbay('train', 'distillation', ...quick, '--weights', saved, '--networks', 'teacher');
    expect(second.code, second.stderr).toBe(0);
    const after = JSON.parse(second.stdout);
    const byId = Object.fromEntries(after.procedures.map((p: { id: string }) => [p.id, p]));
    expect(byId.teach).toMatchObject({ skipped: true, steps: 0 });
    expect(byId.distil.steps).toBeGreaterThan(0);
    expect(byId.alone.steps).toBeGreaterThan(0);
    // The same teacher weights on the same held-out digits.
    expect(after.metrics.teacherTestAccuracy).toBe(before.metrics.teacherTestAccuracy);
  });

  it('says what is wrong with a folder that holds no network, and with a network the program lacks', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    const none = await patchbay('train', 'distillation', ...quick, '--weights', empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/holds no saved network of this program: expected folders named model, teacher, studentAlone/);
    const unknown = await patchbay('train', 'distillation', ...quick, '--weights', empty, '--networks', 'critic');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--networks names "critic", which this program does not have/);
  });
});
