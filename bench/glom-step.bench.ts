/**
 * GLOM training step: the `glom` template's `small` preset (its digits preset and its default; the
 * template has no preset named `mnist`) run by Patchbay's program interpreter (tfjs-wasm, the
 * template's batch of 64: corrupt the digits (a quarter of the 4×4 patches blanked, noise σ 0.3),
 * embed the patches into columns of 3 levels of width 32, apply the shared GLOM update network 3
 * times, decode the levels to pixels, mean squared error against the clean digits (the consensus
 * term is in the procedure at weight 0, which computes nothing), Adam at the template's cosine rate)
 * against the same step in PyTorch on this CPU (bench/torch_glom.py over Patchbay's own PyTorch
 * export of the three networks, 2 and 1 threads). See bench/program-vs-torch.ts.
 * Run with `npx tsx bench/glom-step.bench.ts` (STEPS=… timed steps, 6 by default; THREADS=… wasm threads, 1).
 */
import { benchProgramStep, minimizeOf, opOf, optimizerArgs, stepsOf } from './program-vs-torch';

await benchProgramStep({
  template: 'glom',
  preset: 'small',
  script: 'torch_glom.py',
  title: (params, batch) => `GLOM (template 'glom', preset 'small', ${params.toLocaleString('en')} params) training step, batch ${batch}`,
  torchArgs: (_program, proc) => {
    const data = stepsOf(proc, 'data')[0]!;
    const corrupt = opOf(proc, 'CorruptImage');
    const applies = stepsOf(proc, 'apply');
    // The chain: the columns network on the corrupted image, the update network applied to its own
    // output some times over, the decoder on the last levels.
    const columns = applies.find((a) => a.inputs[0] === corrupt.output);
    const decoder = applies.find((a) => a !== columns && a.inputs.length === 1);
    const updates = applies.filter((a) => a !== columns && a !== decoder);
    const update = updates[0]?.network;
    if (!columns || !decoder || !update || updates.some((a) => a.network !== update))
      throw new Error("The glom template's procedure no longer applies columns, one update network and a decoder; the bench's PyTorch step writes those.");
    // The loss: a weighted sum of the reconstruction error (against the clean image) and the consensus term.
    const reconstruction = opOf(proc, 'MeanSquaredError');
    const consensus = opOf(proc, 'GlomConsensusLoss');
    const total = opOf(proc, 'WeightedSum');
    const weights = total.config.weights as number[];
    const weightOf = (output: string) => weights[total.inputs.indexOf(output)] ?? 0;
    if (minimizeOf(proc).loss !== total.output || reconstruction.inputs[1] !== data.outputs.image || total.inputs.length !== 2)
      throw new Error("The glom template's loss is no longer the weighted sum of the reconstruction error and the consensus term.");
    return [
      '--columns-network',
      columns.network,
      '--update-network',
      update,
      '--decoder-network',
      decoder.network,
      '--iterations',
      updates.length,
      '--stddev',
      corrupt.config.stddev as number,
      '--drop-patches',
      corrupt.config.dropPatches as number,
      '--patch-size',
      corrupt.config.patchSize as number,
      '--reconstruction-weight',
      weightOf(reconstruction.output),
      '--consensus-weight',
      weightOf(consensus.output) * (consensus.config.weight as number),
      '--temperature',
      consensus.config.temperature as number,
      ...optimizerArgs(minimizeOf(proc)),
    ];
  },
});
