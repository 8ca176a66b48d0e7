import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../compiler/program';
import { formatDiagnostics } from '../document/diagnostics';
import type { GraphDocument } from '../document/schema';
import { quoted } from '../document/text';
import { encodePng, imageGrid, scatterPicture } from './png';
import { conditionalSampler } from './sample-conditional';
import { diffusionSampler } from './sample-diffusion';
import { hasSavedNetwork, loadSavedModel } from './saved-networks';

type Tf = typeof tfType;

export interface SampleArgs {
  /** The folder `patchbay train … --save DIR` wrote: one `<network>/model.json` + `weights.bin` each. */
  weights: string;
  count: number;
  seed: number;
  /** Sampler steps (diffusion); samplers without steps ignore it. */
  steps?: number;
  /** Diffusion: ddim (default) or ancestral. */
  sampler?: string;
  /** Diffusion: DDIM's η (0 deterministic … 1). */
  eta?: number;
  /** Flows: the standard deviation z and every split's factored part are drawn with (Glow's temperature; 1 by default). */
  temperature?: number;
  /** .png (a grid, or a scatter for 2-D points) or .json ({ shape, data }). */
  out: string;
  backend: 'wasm' | 'cpu';
}

/** What a sampler returns: images [N, H, W, C] in [0, 1], or points [N, D] as raw coordinates. */
export interface Samples {
  kind: 'images' | 'points';
  shape: number[];
  data: Float32Array;
  /** What the .png shows when it is not `data` as a grid (a conditional model's input, output and target per row), with its columns. */
  picture?: { kind: 'images'; shape: number[]; data: Float32Array; columns: number };
}

/**
 * One way of drawing samples from a trained program. `patchbay sample` asks each sampler in
 * SAMPLERS, in order, whether it can sample the program, and runs the first that can.
 */
export interface Sampler {
  /** What it is, for messages ("normalizing flow"). */
  name: string;
  /** The reason it cannot sample this program, or null when it can. */
  refuses(program: PlanProgram): string | null;
  /** Draws `args.count` samples with the trained networks (by network id, loaded from --weights). */
  sample(tf: Tf, program: PlanProgram, networks: ReadonlyMap<string, tfType.LayersModel>, args: SampleArgs): Promise<Samples>;
}

export class SampleUsageError extends Error {}

/** A normalizing flow: z (and each split's factored part) from a seeded normal, run backwards through the flow network. */
export const flowSampler: Sampler = {
  name: 'normalizing flow',
  refuses: (program) =>
    program.networks.some((n) => n.flow)
      ? null
      : 'it has no flow network (a network of only flow steps: couplings, ActNorm, 1×1 convs, squeezes, splits and a learned prior)',
  async sample(tf, program, networks, args) {
    const { sampleFlow } = await import('../runtime/program/flows');
    const net = program.networks.find((n) => n.flow)!;
    const model = networks.get(net.id);
    if (!model)
      throw new SampleUsageError(`No weights for the flow network "${net.id}" under ${args.weights}: expected ${join(args.weights, net.id, 'model.json')}.`);
    const zShape = model.outputs[0]!.shape.slice(1) as number[];
    const x = await sampleFlow(tf, model, args.count, zShape, args.seed, args.temperature ?? 1);
    const images = x.rank === 4;
    const shown = images ? tf.tidy(() => tf.clipByValue(x, 0, 1)) : x;
    const data = (await shown.data()) as Float32Array;
    const shape = x.shape.slice();
    tf.dispose([x, shown]);
    return { kind: images ? 'images' : 'points', shape, data: Float32Array.from(data) };
  },
};

/**
 * Every sampler `patchbay sample` knows, asked in order. A new kind of generative program joins
 * with one line here: a `Sampler` (e.g. the diffusion engineer's DDPM/DDIM sampler, which can read
 * `args.steps`).
 */
export const SAMPLERS: Sampler[] = [flowSampler, conditionalSampler, diffusionSampler];

/** Loads each network's saved weights that --weights holds (custom layers registered first). */
async function loadNetworks(tf: Tf, program: PlanProgram, dir: string): Promise<Map<string, tfType.LayersModel>> {
  await import('../runtime/custom-layers');
  const out = new Map<string, tfType.LayersModel>();
  for (const net of program.networks) {
    const file = join(dir, net.id, 'model.json');
    if (!hasSavedNetwork(join(dir, net.id))) continue;
    try {
      out.set(net.id, await loadSavedModel(tf, join(dir, net.id)));
    } catch (err) {
      throw new SampleUsageError(`Cannot read the weights in ${file}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** `patchbay sample`: draws samples from a trained program and writes a .png or a .json. */
export async function sampleCommand(doc: GraphDocument, args: SampleArgs, io: { out: (t: string) => void; err: (t: string) => void }): Promise<number> {
  if (!doc.program) throw new SampleUsageError(`"${quoted(doc.name)}" is a plain network, not a generative program: nothing to sample.`);
  if (!/\.(png|json)$/i.test(args.out)) throw new SampleUsageError(`--out must end in .png (a picture) or .json (the values), received "${args.out}".`);
  if (!existsSync(args.weights))
    throw new SampleUsageError(`Cannot read --weights "${args.weights}": no such folder (write one with patchbay train … --save DIR).`);
  const { program, diagnostics } = lowerProgram(analyzeProgram(doc)!);
  if (!program) {
    for (const line of formatDiagnostics(diagnostics)) io.err(line);
    io.err('Nothing was sampled: fix the errors above first.');
    return 1;
  }
  const sampler = SAMPLERS.find((s) => s.refuses(program) === null);
  if (!sampler)
    throw new SampleUsageError(`"${quoted(doc.name)}" cannot be sampled: ${SAMPLERS.map((s) => `not a ${s.name}, as ${s.refuses(program)}`).join('; ')}.`);
  const tf = await import('@tensorflow/tfjs');
  if (args.backend === 'wasm') await (await import('../runtime/wasm-backend')).useWasmBackend();
  else await tf.setBackend('cpu');
  await tf.ready();
  const networks = await loadNetworks(tf, program, args.weights);
  let samples: Samples;
  try {
    samples = await sampler.sample(tf, program, networks, args);
  } finally {
    for (const m of networks.values()) m.dispose();
  }
  if (!samples.data.every(Number.isFinite)) io.err('Warning: some samples are not finite numbers (the model may be untrained or diverged).');
  try {
    if (args.out.toLowerCase().endsWith('.json')) writeFileSync(args.out, JSON.stringify({ shape: samples.shape, data: Array.from(samples.data) }));
    else {
      const picture = samples.picture
        ? imageGrid(samples.picture.data, samples.picture.shape as [number, number, number, number], samples.picture.columns)
        : samples.kind === 'images'
          ? imageGrid(samples.data, samples.shape as [number, number, number, number])
          : scatterPicture(samples.data.filter((_, i) => samples.shape[1] === 2 || i % samples.shape[1]! < 2));
      writeFileSync(args.out, encodePng(picture.width, picture.height, picture.channels, picture.pixels));
    }
  } catch (err) {
    throw new SampleUsageError(`Cannot write "${args.out}": ${(err as Error).message}`);
  }
  io.err(`Wrote ${args.out}: ${samples.shape[0]} samples of a ${sampler.name}, shape [${samples.shape.join(', ')}].`);
  return 0;
}
