/**
 * The image flow's samples grid (editor/train/FlowSamples.tsx, runtime/worker/flow-grid.ts): which
 * programs get one (glow yes, RealNVP's 2-D flow and a diffusion program no), that its samples are
 * exactly `patchbay sample`'s (sampleFlow, clipped to [0, 1]) for the same seed and temperature, that
 * drawing leaves no tensor behind, and that a bad temperature gets a message.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import { drawFlowSamples, imageFlow, temperatureProblem } from '../src/runtime/program/flow-samples';
import { flowForward, sampleFlow } from '../src/runtime/program/flows';
import { ProgramRun } from '../src/runtime/program/run';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

function programOf(id: string): PlanProgram {
  const r = templateDocument(id);
  if ('error' in r) throw new Error(r.error);
  return lowerProgram(analyzeProgram(r.doc)!).program!;
}

describe('the image flow samples grid', () => {
  it('belongs to glow (its flow network and training procedure), not to RealNVP on 2-D points nor to ddpm', () => {
    const glow = programOf('glow');
    const setup = imageFlow(glow);
    expect(setup?.network).toBe(glow.networks.find((n) => n.flow)!.id);
    expect(glow.procedures.find((p) => p.id === setup!.procedure)?.kind).toBe('train');
    expect(imageFlow(programOf('realnvp'))).toBeNull();
    expect(imageFlow(programOf('ddpm'))).toBeNull();
  });

  it("draws patchbay sample's samples for the same seed and temperature, clipped to [0, 1], and disposes its tensors", async () => {
    const program = programOf('glow');
    const run = new ProgramRun(tf, program, 0);
    try {
      const model = run.networks.get(imageFlow(program)!.network)!.model;
      // ActNorm's data-dependent initialisation on a first batch, as training does.
      tf.dispose(Object.values(flowForward(tf, model, tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3))).flat());
      const before = tf.memory().numTensors;
      const grid = await drawFlowSamples(tf, model, { seed: 7, step: 2, temperature: 0.7 });
      expect(tf.memory().numTensors).toBe(before);
      expect(grid.shape).toEqual([16, 28, 28, 1]);
      expect(grid).toMatchObject({ seed: 7, step: 2, temperature: 0.7 });
      const direct = await sampleFlow(tf, model, 16, [7, 7, 8], 7, 0.7);
      const expected = (await direct.data()) as Float32Array;
      direct.dispose();
      let differ = 0;
      for (let i = 0; i < expected.length; i++) if (grid.images[i] !== Math.min(1, Math.max(0, expected[i]!))) differ++;
      expect(differ).toBe(0);
      // Not one flat colour: each sample varies.
      for (let n = 0; n < 16; n++) expect(new Set(grid.images.subarray(n * 784, (n + 1) * 784)).size).toBeGreaterThan(10);
      // Another temperature draws from the same noise, scaled: different pictures.
      const cooler = await drawFlowSamples(tf, model, { seed: 7, step: 2, temperature: 0.3 });
      expect(cooler.images).not.toEqual(grid.images);
    } finally {
      run.dispose();
    }
  });

  it('takes a temperature from 0 to 2 and explains anything else', () => {
    expect(temperatureProblem(1)).toBeNull();
    expect(temperatureProblem(0)).toBeNull();
    for (const bad of [-0.1, 2.5, Number.NaN]) expect(temperatureProblem(bad)).toMatch(/number from 0 to 2/);
  });
});
