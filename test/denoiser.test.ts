/**
 * Which application of a program is its denoiser: sampleDiffusion feeds [x_t, t] (then the
 * condition), so the denoiser must take x_t first and Diffuse's t second; and the unconditional one
 * is looked for in every diffusing procedure, not only the first.
 */
import { describe, expect, it } from 'vitest';
import type { PlanProgram, PlanProcedure, ProgramStep } from '../src/compiler/program';
import { denoiserSetup, unconditionalDenoiser } from '../src/runtime/program/denoiser';

/** A training procedure that diffuses Data's image at t and applies `network` to `inputs` (value names). */
function diffusing(id: string, network: string, inputs: string[]): PlanProcedure {
  const steps: ProgramStep[] = [
    { kind: 'data', nodeId: 'data', shape: [4, 4, 1], classes: 10, outputs: { image: 'data:image', label: 'data:label' } },
    { kind: 'op', nodeId: 't', op: 'DiffusionTimestep', config: { timesteps: 100 }, inputs: ['data:image'], output: 't:out', loss: false },
    { kind: 'op', nodeId: 'eps', op: 'DiffusionNoise', config: {}, inputs: ['data:image'], output: 'eps:out', loss: false },
    {
      kind: 'op',
      nodeId: 'diffuse',
      op: 'Diffuse',
      config: { schedule: 'linear', timesteps: 100 },
      inputs: ['data:image', 'eps:out', 't:out'],
      output: 'diffuse:out',
      loss: false,
    },
    { kind: 'apply', nodeId: 'net', network, weights: 'online', inputs, outputs: { out: 'net:out' } },
  ];
  return { id, label: id, kind: 'train', steps };
}

const programOf = (...procedures: PlanProcedure[]) => ({ networks: [], procedures, count: { trainable: 0, nonTrainable: 0 } }) as PlanProgram;

describe('denoiserSetup', () => {
  it('takes a network fed [x_t, t]', () => {
    expect(denoiserSetup(programOf(diffusing('train', 'model', ['diffuse:out', 't:out'])))).toMatchObject({ network: 'model', inputs: 2 });
  });

  it('refuses a network fed x_t at another position, or something else than the timestep second', () => {
    expect(denoiserSetup(programOf(diffusing('train', 'model', ['t:out', 'diffuse:out'])))).toBeNull();
    expect(denoiserSetup(programOf(diffusing('train', 'model', ['data:image', 'diffuse:out', 't:out'])))).toBeNull();
    expect(denoiserSetup(programOf(diffusing('train', 'model', ['diffuse:out', 'eps:out'])))).toBeNull();
  });
});

describe('prediction', () => {
  /** The diffusing procedure with a loss comparing the network's output with `target` (a value name). */
  const withLoss = (op: string, target: string): PlanProcedure => {
    const proc = diffusing('train', 'model', ['diffuse:out', 't:out']);
    proc.steps.push({ kind: 'op', nodeId: 'loss', op, config: {}, inputs: ['net:out', target], output: 'loss:out', loss: true });
    return proc;
  };

  it("is x₀ when a loss compares the denoiser's output with the x₀ Diffuse noises, ε otherwise", () => {
    expect(denoiserSetup(programOf(withLoss('MeanSquaredError', 'data:image')))?.prediction).toBe('x0');
    expect(denoiserSetup(programOf(withLoss('MaskedMeanSquaredError', 'data:image')))?.prediction).toBe('x0');
    expect(denoiserSetup(programOf(withLoss('MeanSquaredError', 'eps:out')))?.prediction).toBe('epsilon');
    expect(denoiserSetup(programOf(diffusing('train', 'model', ['diffuse:out', 't:out'])))?.prediction).toBe('epsilon');
  });
});

describe('unconditionalDenoiser', () => {
  it('moves past a first procedure whose denoiser takes a condition to a later unconditional one', () => {
    const program = programOf(
      diffusing('conditional', 'sr', ['diffuse:out', 't:out', 'data:image']),
      diffusing('unconditional', 'model', ['diffuse:out', 't:out']),
    );
    expect(denoiserSetup(program)).toMatchObject({ network: 'sr', procedure: 'conditional', inputs: 3 });
    expect(unconditionalDenoiser(program)).toMatchObject({ network: 'model', procedure: 'unconditional', inputs: 2 });
    expect(unconditionalDenoiser(programOf(diffusing('conditional', 'sr', ['diffuse:out', 't:out', 'data:image'])))).toBeNull();
  });
});
