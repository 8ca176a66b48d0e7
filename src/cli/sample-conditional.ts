import { join } from 'node:path';
import type { PlanProgram } from '../compiler/program';
import { conditionalMeasure, denoiserSetup } from '../runtime/program/denoiser';
import { programDataset } from './program-data';
import { SampleUsageError, type Sampler, type Samples } from './sample';
import { hasSavedNetwork, readSavedNetwork } from './saved-networks';

/**
 * `patchbay sample` for a conditional diffusion program (SR3, Palette): the first `count` held-out
 * MNIST digits are made into conditions by the program's own evaluation ops (the low-resolution
 * copy, the masked square, the grey image of the coloured digit), and the denoiser (its moving-average copy when the run saved one)
 * samples an output for each with DDIM. The .json holds the outputs; the .png shows input, output
 * and target side by side, one digit per row (colourisation's grey input on all three channels).
 */
export const conditionalSampler: Sampler = {
  name: 'conditional diffusion model',
  refuses: (program: PlanProgram) => {
    if (!conditionalMeasure(program)) return 'it has no super-resolution, inpainting or colourisation measure to take held-out conditions from';
    return denoiserSetup(program)?.inputs === 3 ? null : 'no network denoises x_t given a condition';
  },
  async sample(tf, program, _networks, args): Promise<Samples> {
    if ((args.sampler ?? 'ddim') !== 'ddim')
      throw new SampleUsageError("A conditional diffusion program samples with DDIM (η as its measure's, or --eta): leave out --sampler.");
    const setup = denoiserSetup(program)!;
    const folder = [join(args.weights, `${setup.network}-ema`), join(args.weights, setup.network)].find(hasSavedNetwork);
    if (!folder)
      throw new SampleUsageError(
        `No weights for the network "${setup.network}" under ${args.weights}: expected ${join(args.weights, setup.network, 'model.json')}.`,
      );
    const ds = await programDataset(program, 'mnist');
    if ('error' in ds) throw new SampleUsageError(ds.error);
    if (args.count > ds.test.count) throw new SampleUsageError(`--count can be at most ${ds.test.count}, the held-out digits.`);
    const { ProgramRun } = await import('../runtime/program/run');
    const run = new ProgramRun(tf, program, args.seed);
    try {
      try {
        await run.loadNetwork(setup.network, readSavedNetwork(folder));
      } catch (err) {
        throw new SampleUsageError(`Cannot use the weights in ${join(folder, 'model.json')}: ${(err as Error).message}`);
      }
      const got = await run.conditionalExamples(ds, args.count, { seed: args.seed, steps: args.steps, eta: args.eta, weights: 'online' });
      const size = got.output.length / args.count;
      const picture = new Float32Array(got.output.length * 3);
      for (let i = 0; i < args.count; i++)
        [got.input, got.output, got.target].forEach((a, k) => picture.set(a.subarray(i * size, (i + 1) * size), (3 * i + k) * size));
      return {
        kind: 'images',
        shape: got.shape,
        data: got.output,
        picture: { kind: 'images', shape: [3 * args.count, ...got.shape.slice(1)], data: picture, columns: 3 },
      };
    } finally {
      run.dispose();
    }
  },
};
