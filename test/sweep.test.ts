import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  applyVariant,
  grid,
  markPareto,
  parseSweepParam,
  randomPicks,
  repeatedOption,
  SweepUsageError,
  sweepTarget,
  toCsv,
  type VariantResult,
} from '../src/cli/sweep';
import { templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';

const convmixer = () => {
  const t = templateDocument('convmixer', 'mnist');
  if ('error' in t) throw new Error(t.error);
  return t.doc;
};

describe('sweep: which document field a --param changes', () => {
  it('reads NAME=V1,V2 with numbers, booleans and words', () => {
    expect(parseSweepParam('lr=1e-3,3e-3')).toEqual({ name: 'lr', values: [0.001, 0.003] });
    expect(parseSweepParam('stem.batchNorm=true,false')).toEqual({ name: 'stem.batchNorm', values: [true, false] });
    expect(parseSweepParam('optimizer=adam,sgd')).toEqual({ name: 'optimizer', values: ['adam', 'sgd'] });
    expect(() => parseSweepParam('dim')).toThrow(/--param takes NAME=V1,V2/);
    expect(() => parseSweepParam('dim=')).toThrow(SweepUsageError);
  });

  it('training settings, depth, a param set on one node, NODE.PARAM; ambiguous and unknown names are refused', () => {
    const doc = convmixer();
    expect(sweepTarget(doc, 'lr')).toEqual({ kind: 'training', field: 'learningRate' });
    expect(sweepTarget(doc, 'batchSize')).toEqual({ kind: 'training', field: 'batchSize' });
    expect(sweepTarget(doc, 'depth')).toEqual({ kind: 'repeat', nodeId: 'mixer' });
    expect(sweepTarget(doc, 'dim')).toEqual({ kind: 'param', nodeId: 'stem', param: 'dim' });
    expect(sweepTarget(doc, 'kernelSize')).toEqual({ kind: 'param', nodeId: 'mixer', param: 'kernelSize' });
    expect(sweepTarget(doc, 'head.units')).toEqual({ kind: 'param', nodeId: 'head', param: 'units' });
    // "activation" is set on the stem, the mixer and the head: sweeping it everywhere would change the softmax head.
    expect(() => sweepTarget(doc, 'activation')).toThrow(
      /--param activation is ambiguous: 3 nodes set it \(stem\.activation, mixer\.activation, head\.activation\)/,
    );
    expect(() => sweepTarget(doc, 'width')).toThrow(/no node sets "width"/);
    expect(() => sweepTarget(doc, 'nope.units')).toThrow(/the graph has no node "nope"/);
  });

  it('a variant changes only what it names', () => {
    const doc = convmixer();
    const targets = ['dim', 'depth', 'lr'].map((n) => sweepTarget(doc, n));
    const variant = applyVariant(doc, targets, [32, 2, 0.01]);
    expect(variant.nodes.find((n) => n.id === 'stem')!.params.dim).toBe(32);
    expect(variant.nodes.find((n) => n.id === 'mixer')!.repeat).toBe(2);
    expect(variant.training?.learningRate).toBe(0.01);
    expect(variant.training?.batchSize).toBe(doc.training?.batchSize);
    // The original is untouched.
    expect(doc.nodes.find((n) => n.id === 'stem')!.params.dim).toBe(64);
    expect(doc.nodes.find((n) => n.id === 'mixer')!.repeat).toBe(4);
  });

  it('grid, seeded random picks, and repeated --param options', () => {
    const combos = grid([
      { name: 'a', values: [1, 2] },
      { name: 'b', values: ['x', 'y', 'z'] },
    ]);
    expect(combos).toEqual([
      [1, 'x'],
      [1, 'y'],
      [1, 'z'],
      [2, 'x'],
      [2, 'y'],
      [2, 'z'],
    ]);
    const picks = randomPicks(combos, 4, 7);
    expect(picks).toHaveLength(4);
    expect(new Set(picks.map((p) => p.join())).size).toBe(4);
    expect(randomPicks(combos, 4, 7)).toEqual(picks);
    expect(randomPicks(combos, 10, 7)).toHaveLength(6);
    expect(repeatedOption(['sweep', 'g.json', '--param', 'a=1,2', '--data', 'moons', '--param=b=3'], 'param')).toEqual(['a=1,2', 'b=3']);
  });
});

const result = (index: number, testAccuracy: number | null, macs: number): VariantResult => ({
  index,
  values: { i: index },
  status: testAccuracy === null ? 'failed' : 'done',
  trainableParams: 0,
  macs,
  testAccuracy,
  testLoss: null,
  trainLoss: null,
  stepMs: null,
  seconds: null,
  pareto: false,
});

describe('sweep: comparison', () => {
  it('the Pareto front of accuracy against MACs', () => {
    const rs = [result(0, 0.9, 100), result(1, 0.95, 200), result(2, 0.9, 150), result(3, 0.97, 400), result(4, 0.96, 400), result(5, null, 10)];
    markPareto(rs);
    // 2 is beaten by 0 (same accuracy, fewer MACs), 4 by 3; a failed run is never on the front.
    expect(rs.filter((r) => r.pareto).map((r) => r.index)).toEqual([0, 1, 3]);
  });

  it('CSV quotes commas and quotes, and keeps a spreadsheet from reading a formula', () => {
    const r = { ...result(0, 0.5, 10), values: { name: '=cmd,"x"' } };
    const csv = toCsv([r], [{ name: 'name', values: [] }]);
    expect(csv.split('\n')[0]).toBe('name,status,testAccuracy,testLoss,trainLoss,trainableParams,macs,stepMs,seconds,pareto');
    expect(csv.split('\n')[1]).toBe(`"'=cmd,""x""",done,0.5,,,0,10,,,false`);
  });
});

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

describe('patchbay sweep', () => {
  it('trains two variants of a graph on the two moons and compares them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-sweep-test-'));
    const file = join(dir, 'moons.json');
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [2] } },
        { id: 'hidden', type: 'Dense', params: { units: 8, activation: 'relu' } },
        { id: 'out', type: 'Dense', params: { units: 2, activation: 'softmax' } },
      ],
      [
        ['in', 'hidden'],
        ['hidden', 'out'],
      ],
      { training: { optimizer: 'adam', learningRate: 0.02, batchSize: 32, epochs: 1 } as never },
    );
    writeFileSync(file, JSON.stringify(doc));
    const csv = join(dir, 'sweep.csv');
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'bin/patchbay.js'), 'sweep', file, '--param', 'hidden.units=4,16', '--data', 'moons', '--limit', '256', '--json', '--csv', csv],
      { cwd: ROOT },
    );
    const out = JSON.parse(stdout) as { variants: VariantResult[] };
    expect(out.variants.map((v) => v.values)).toEqual([{ 'hidden.units': 4 }, { 'hidden.units': 16 }]);
    // 2·u + u weights and biases, then u·2 + 2; MACs 2·u + u·2.
    expect(out.variants.map((v) => v.trainableParams)).toEqual([2 * 4 + 4 + 4 * 2 + 2, 2 * 16 + 16 + 16 * 2 + 2]);
    expect(out.variants.map((v) => v.macs)).toEqual([16, 64]);
    for (const v of out.variants) {
      expect(v.status).toBe('done');
      expect(v.testAccuracy).toBeGreaterThan(0);
      expect(v.testAccuracy).toBeLessThanOrEqual(1);
      expect(v.stepMs).toBeGreaterThan(0);
    }
    // The cheaper variant is always on the front; the larger one only if it is more accurate.
    expect(out.variants[0]!.pareto).toBe(true);
    expect(out.variants[1]!.pareto).toBe(out.variants[1]!.testAccuracy! > out.variants[0]!.testAccuracy!);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^4,done,/);
  }, 120_000);

  it('a bad --param is a usage error that says what to write', async () => {
    const err = await run(process.execPath, [join(ROOT, 'bin/patchbay.js'), 'sweep', 'convmixer', '--param', 'width=4,8', '--data', 'mnist'], {
      cwd: ROOT,
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/--param width: no node sets "width" and it is not a training setting .* Write NODE\.PARAM/);
  });
});
