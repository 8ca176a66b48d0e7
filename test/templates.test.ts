import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { getLibraryBlock } from '../src/nodes/blocks/index';
import { buildModel } from '../src/runtime/build';
import { TEMPLATES, templateDocument } from '../templates/index';
import { countWeights, useCpuBackend } from './helpers/tf';

/**
 * Trainable parameter counts of the papers' released models (PyTorch convention: BatchNorm
 * running statistics excluded), from timm and the formulas in shared/notes/papers.md.
 */
const PAPER_COUNTS: Record<string, number> = {
  'convmixer mnist': 25_418,
  'convmixer 256/8': 594_186,
  'convmixer 1536/20': 51_625_960,
  'convmixer 768/32': 21_110_248,
  'convmixer 1024/20': 24_383_464,
  'mlp-mixer mnist': 148_110,
  'mlp-mixer S/32': 19_104_624,
  'mlp-mixer S/16': 18_528_264,
  'mlp-mixer B/32': 60_293_428,
  'mlp-mixer B/16': 59_880_472,
  'mlp-mixer L/16': 208_196_168,
  // ViT: timm's vit_*_patch16_224 (papers.md §1); the mnist toy: 7×7 patches, width 64, 4 blocks, MLP 128 (papers.md's toy).
  'vit mnist': 139_018,
  'vit Ti/16': 5_717_416,
  'vit S/16': 22_050_664,
  'vit B/16': 86_567_656,
};

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

// Templates with a training program are covered by test/program-templates.test.ts.
const cases = TEMPLATES.filter((t) => !t.doc.program).flatMap((t) => t.presets.map((p) => [`${t.info.id} ${p.name}`, t.info.id, p.name] as const));

it('covers every preset with a paper count', () => {
  expect(cases.map(([key]) => key).sort()).toEqual(Object.keys(PAPER_COUNTS).sort());
});

describe.each(cases)('%s', (key, id, preset) => {
  it("has no diagnostics, the paper's parameter count, and builds in tfjs with that count", () => {
    const result = templateDocument(id, preset);
    if ('error' in result) throw new Error(result.error);
    const analysis = analyze(result.doc);
    // PB310 aside: some paper presets' training step at the paper's batch size does not fit a tab (references.test.ts says which).
    expect(analysis.diagnostics.filter((d) => d.code !== 'PB310')).toEqual([]);
    expect(analysis.count.trainable).toBe(PAPER_COUNTS[key]);
    const { plan } = lower(analysis);
    expect(plan).not.toBeNull();
    const model = buildModel(plan!);
    try {
      expect(countWeights(model)).toEqual(analysis.count);
      const output = analysis.outputs[0]!;
      expect(model.outputs[0]!.shape).toEqual(analysis.main.nodes.get(output.nodeId)!.outputs!.out);
    } finally {
      model.dispose();
      tf.disposeVariables();
    }
  });
});

it('templates carry the library blocks unchanged', () => {
  for (const t of TEMPLATES) {
    for (const block of t.doc.blocks) expect(block).toEqual(getLibraryBlock(block.id));
  }
});
