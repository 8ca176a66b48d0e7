import { describe, expect, it } from 'vitest';
import { comparisonCsv, comparisonRows, sortRows } from '../src/editor/train/comparison';
import type { RunRecord } from '../src/editor/runs-db';

const evaluation = (accuracy: number, loss: number) => ({ accuracy, loss, confusion: [] }) as unknown as NonNullable<RunRecord['final']>['test'];

function run(id: string, o: { acc?: number; macs?: number; params?: number; values?: Record<string, number | string>; stepsPerSecond?: number }): RunRecord {
  return {
    id,
    graphKey: 'name:g',
    graphName: 'g',
    date: `2026-11-29T12:00:0${id.length}Z`,
    setup: { learningRate: 0.001, batchSize: 32, epochs: 1 } as RunRecord['setup'],
    backendChoice: 'auto',
    backend: null,
    curves: { loss: [2, 1.5], accuracy: [0.1, 0.3] },
    epochs: [],
    final: o.acc === undefined ? null : { trainLoss: 1.2, trainAccuracy: 0.5, test: evaluation(o.acc, 1.1) },
    seconds: 3.25,
    stepsPerSecond: o.stepsPerSecond ?? 4,
    status: o.acc === undefined ? 'failed' : 'completed',
    hasWeights: true,
    totalSteps: 2,
    sweep: o.values ? { id: 's', values: o.values, index: 0, count: 3 } : undefined,
    cost: o.macs === undefined ? undefined : { macs: o.macs, trainableParams: o.params ?? 0 },
  };
}

describe('the comparison table', () => {
  const runs = [
    run('a', { acc: 0.8, macs: 100, params: 900, values: { dim: 16 } }),
    run('bb', { acc: 0.9, macs: 400, params: 500, values: { dim: 32 } }),
    run('ccc', { acc: 0.85, macs: 400, params: 1000, values: { dim: 24 } }),
    run('dddd', { macs: 50, values: { dim: 8 } }),
  ];

  it('rows carry the final metrics, cost and step time; the front depends on the chosen cost', () => {
    const rows = comparisonRows(runs, 'macs');
    expect(rows.map((r) => r.label)).toEqual(['dim=16', 'dim=32', 'dim=24', 'dim=8']);
    expect(rows[0]).toMatchObject({ testAccuracy: 0.8, testLoss: 1.1, trainLoss: 1.2, macs: 100, trainableParams: 900, stepMs: 250, steps: 2 });
    // Against MACs: 24 is beaten by 32 (same MACs, less accurate); a failed run is never on the front.
    expect(rows.map((r) => r.pareto)).toEqual([true, true, false, false]);
    // Against parameters: 32 is the smallest and the most accurate, so it alone is on the front.
    expect(comparisonRows(runs, 'trainableParams').map((r) => r.pareto)).toEqual([false, true, false, false]);
  });

  it('sorts either way by a column, with runs lacking the value last', () => {
    const rows = comparisonRows(runs, 'macs');
    expect(sortRows(rows, 'testAccuracy', 'descending').map((r) => r.id)).toEqual(['bb', 'ccc', 'a', 'dddd']);
    expect(sortRows(rows, 'testAccuracy', 'ascending').map((r) => r.id)).toEqual(['a', 'ccc', 'bb', 'dddd']);
    expect(sortRows(rows, 'macs', 'ascending').map((r) => r.id)).toEqual(['dddd', 'a', 'bb', 'ccc']);
    // Labels sort by their numbers (dim=8 before dim=16).
    expect(sortRows(rows, 'label', 'ascending').map((r) => r.label)).toEqual(['dim=8', 'dim=16', 'dim=24', 'dim=32']);
  });

  it('CSV: one column per swept param, values only, and a swept value that looks like a formula stays text', () => {
    const hostile = [
      run('a', { acc: 0.5, macs: 10, values: { 'x,y': '=HYPERLINK("http://evil")' } }),
      run('bb', { acc: 0.6, macs: 20, values: { 'x,y': '-1' } }),
    ];
    const lines = comparisonCsv(comparisonRows(hostile, 'macs'), 'macs').trim().split('\n');
    expect(lines[0]).toBe(
      'run,date,status,"x,y",testAccuracy,testLoss,trainLoss,trainableParams,macs,stepMs,seconds,steps,learningRate,batchSize,paretoAccuracyVsMacs',
    );
    expect(lines[1]).toBe(
      `"x,y==HYPERLINK(""http://evil"")",2026-11-29T12:00:01Z,completed,"'=HYPERLINK(""http://evil"")",0.5,1.1,1.2,0,10,250,3.25,2,0.001,32,true`,
    );
    expect(lines[2]!.split(',')[4]).toBe("'-1");
  });
});
