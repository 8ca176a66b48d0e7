/**
 * CLIP training step: the `clip` template's `mnist` preset run by Patchbay's program interpreter
 * (tfjs-wasm, the template's batch of 128: captions for the labels, the image tower (ViT 7×7 patches,
 * width 64, 2 layers) and the causal text tower, InfoNCE both ways at exp(learnable temperature),
 * AdamW with decoupled weight decay on the kernels at the template's warm-up-cosine rate, the
 * temperature clamped) against the same step in PyTorch on this CPU (bench/torch_clip.py over
 * Patchbay's own PyTorch export of both towers, 2 and 1 threads). The captions' ids are the template's
 * tokenizer's (every template × class caption, tokenised here and read by the script), so both sides
 * embed the same valid ids with the end-of-text token where CLIP puts it. See bench/program-vs-torch.ts.
 * Run with `npx tsx bench/clip-step.bench.ts` (STEPS=… timed steps, 6 by default; THREADS=… wasm threads, 1).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillTemplate, tokenize, type CaptionSettings } from '../src/runtime/program/clip';
import { benchProgramStep, minimizeOf, opOf, optimizerArgs, stepsOf } from './program-vs-torch';

await benchProgramStep({
  template: 'clip',
  preset: 'mnist',
  script: 'torch_clip.py',
  title: (params, batch) => `CLIP (template 'clip', preset 'mnist', ${params.toLocaleString('en')} params with the temperature) training step, batch ${batch}`,
  torchArgs: (_program, proc, dir) => {
    const captions = opOf(proc, 'Captions').config as unknown as CaptionSettings;
    const classes = stepsOf(proc, 'data')[0]!.classes;
    // Row template·classes + class, as the Captions node gathers them (src/runtime/program/clip.ts).
    const table = captions.templates.flatMap((t) =>
      Array.from({ length: classes }, (_, c) =>
        Array.from(
          tokenize(captions.vocabulary, captions.contextLength, fillTemplate(t, captions.classWords[c] ?? String(c), captions.classDigits[c] ?? String(c))),
        ),
      ),
    );
    const file = join(dir, 'captions.json');
    writeFileSync(file, JSON.stringify({ classes, templates: captions.templates.length, ids: table }));
    const loss = opOf(proc, 'InfoNCE');
    const parameters = stepsOf(proc, 'parameter');
    if (parameters.length !== 1 || loss.inputs[2] !== parameters[0]!.output)
      throw new Error("The clip template's InfoNCE no longer reads one learned temperature; the bench's PyTorch step writes that.");
    const t = parameters[0]!;
    // The towers: the network applied to the Data node's images, and the one applied to the captions.
    const applies = stepsOf(proc, 'apply');
    const image = applies.find((a) => a.inputs[0] === stepsOf(proc, 'data')[0]!.outputs.image);
    const text = applies.find((a) => a.inputs[0] === opOf(proc, 'Captions').output);
    if (!image || !text || applies.length !== 2) throw new Error("The clip template's procedure no longer applies an image tower and a text tower.");
    return [
      '--image-network',
      image.network,
      '--text-network',
      text.network,
      '--captions',
      file,
      '--scale-init',
      t.init,
      '--scale-min',
      t.min,
      '--scale-max',
      t.max,
      '--exp-scale',
      loss.config.expScale ? 1 : 0,
      ...optimizerArgs(minimizeOf(proc)),
    ];
  },
});
