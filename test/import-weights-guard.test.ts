/**
 * A model.json whose config describes a far bigger graph than its weights (hostile, or simply
 * mismatched) is refused on the counts, before any model is built: here a CapsNet whose digit
 * capsules layer claims 100,000 capsules (a transform tensor of ~7·10¹⁰ floats) beside the small
 * network's weights. Building it would exhaust memory; the import must answer at once instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weightsMismatch } from '../src/compiler/import-keras';
import { analyzeProgram, lowerProgram } from '../src/compiler/program';
import { importCommand } from '../src/cli/import';
import { buildModel } from '../src/runtime/build';
import { templateDocument } from '../templates/index';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await import('../src/runtime/custom-layers');
  dir = mkdtempSync(join(tmpdir(), 'pb-import-guard-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capsnetModelJson(): { json: Record<string, unknown>; shapes: number[][] } {
  const made = templateDocument('capsnet', 'small');
  if ('error' in made) throw new Error(made.error);
  const { program } = lowerProgram(analyzeProgram(made.doc)!);
  const model = buildModel(program!.networks.find((n) => n.id === 'model')!.plan, { seed: 1 });
  const topology = model.toJSON(undefined, false) as { config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } };
  const shapes = model.weights.map((w) => w.shape as number[]);
  const weights = model.weights.map((w) => ({ name: w.originalName, shape: w.shape, dtype: 'float32' }));
  model.dispose();
  return { json: { format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths: ['weights.bin'], weights }] }, shapes };
}

describe('imported weights are checked against the graph on its counts, before anything is built', () => {
  it('the small network itself fits its weights', () => {
    const { json, shapes } = capsnetModelJson();
    const path = join(dir, 'fits.json');
    writeFileSync(path, JSON.stringify(json));
    const lines: string[] = [];
    return importCommand(path, { json: true }, { out: (t) => lines.push(t), err: () => {} }).then((code) => {
      expect(code).toBe(0);
      const summary = JSON.parse(lines.join('\n')) as { weights: { fitInOrder: boolean; problem?: string } };
      expect(summary.weights.fitInOrder).toBe(true);
      expect(summary.weights.problem).toBeUndefined();
      expect(shapes.length).toBeGreaterThan(0);
    });
  });

  it('a config claiming 100,000 digit capsules is refused with the counts, and nothing is allocated', async () => {
    const { json } = capsnetModelJson();
    const layers = (json.modelTopology as { config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } }).config.layers;
    const digits = layers.find((l) => l.class_name === 'PatchbayDigitCapsules')!;
    digits.config.capsules = 100_000;
    const path = join(dir, 'huge.json');
    writeFileSync(path, JSON.stringify(json));
    const before = tf.memory().numBytes;
    const lines: string[] = [];
    const code = await importCommand(path, { json: true }, { out: (t) => lines.push(t), err: () => {} });
    expect(code).toBe(0); // the graph itself imports (a person may want it, without these weights)
    const summary = JSON.parse(lines.join('\n')) as { weights: { fitInOrder: boolean; matchByName: number; problem?: string } };
    expect(summary.weights.fitInOrder).toBe(false);
    expect(summary.weights.matchByName).toBe(0);
    expect(summary.weights.problem).toMatch(/the file holds [\d,]+ weight values, but the imported graph has [\d,]+ parameters/);
    expect(tf.memory().numBytes).toBe(before);
  });

  it('weightsMismatch compares the totals of trainable and non-trainable parameters', () => {
    const plan = { count: { trainable: 10, nonTrainable: 2 } };
    expect(weightsMismatch([[3, 3], [3]], plan)).toBeNull();
    expect(weightsMismatch([[3, 3]], plan)).toBe('the file holds 9 weight values, but the imported graph has 12 parameters, so they do not belong to it');
  });
});
