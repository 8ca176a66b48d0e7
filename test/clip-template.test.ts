/**
 * The `clip` template from the command line: the released ViT-B/32 sizes (open_clip's
 * docs/model_profile.csv: 87,849,216 image + 63,428,096 text + 1 temperature), and the mnist preset's
 * tokenizer covering every caption it trains on while its zero-shot prompts share no template with training.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { TRAIN_TEMPLATES, VOCABULARY, ZERO_SHOT_TEMPLATES } from '../scripts/clip-template';
import { templateDocument } from '../templates/index';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

it('patchbay summary clip --preset ViT-B/32 --json reports the released model: totals and each tower', async () => {
  const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'patchbay.js'), 'summary', 'clip', '--preset', 'ViT-B/32', '--json'], { cwd: ROOT });
  const summary = JSON.parse(stdout) as { trainableParams: number; nonTrainableParams: number; networks: Array<{ name: string; trainableParams: number }> };
  expect(summary.trainableParams).toBe(151_277_313);
  expect(summary.nonTrainableParams).toBe(0);
  expect(summary.networks.map((n) => [n.name, n.trainableParams])).toEqual([
    ['model', 87_849_216],
    ['text', 63_428_096],
  ]);
});

it('the mnist preset trains on captions its tokenizer knows, and tests zero-shot with templates training never saw', () => {
  const r = templateDocument('clip');
  if ('error' in r) throw new Error(r.error);
  const nodes = r.doc.program!.procedures.flatMap((p) => p.nodes);
  const captions = nodes.find((n) => n.type === 'Captions')!;
  const prompts = nodes.find((n) => n.type === 'Prompts')!;
  expect(captions.params.templates).toEqual(TRAIN_TEMPLATES);
  expect(prompts.params.templates).toEqual(ZERO_SHOT_TEMPLATES);
  expect(ZERO_SHOT_TEMPLATES.filter((t) => TRAIN_TEMPLATES.includes(t))).toEqual([]);
  expect(captions.params.vocabulary).toEqual(VOCABULARY);
  // The text tower's embedding has a row for every id: the words plus padding, unknown, start and end of text.
  const embedding = r.doc.networks.find((n) => n.id === 'text')!.nodes.find((n) => n.type === 'Embedding')!;
  expect(embedding.params.inputDim).toBe(VOCABULARY.length + 4);
});
