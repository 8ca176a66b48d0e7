/**
 * PB310 for a training program is one estimate of its largest training step: every network's
 * weights, the gradients and optimizer state of those a Minimize trains, moving-average copies'
 * weights, and activations for each application that gradients flow through (a network applied to
 * two views keeps two sets). Checked by hand against the networks' own counts, on CLIP ViT-B/32
 * (two towers in one step), SimSiam (one encoder, two views) and BYOL (moving-average targets).
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { largestBatchThatFits, startRefusal, TRAINING_MEMORY_LIMIT } from '../src/compiler/memory';
import { analyzeProgram, type ProgramAnalysis } from '../src/compiler/program';
import { programStepMemories } from '../src/compiler/program-memory';
import type { GraphDocument } from '../src/document/schema';
import { templateDocument, TEMPLATES } from '../templates/index';

function templateDoc(id: string, preset?: string, batchSize?: number): GraphDocument {
  const r = templateDocument(id, preset);
  if ('error' in r) throw new Error(r.error);
  return batchSize === undefined ? r.doc : ({ ...r.doc, training: { ...r.doc.training, batchSize } } as GraphDocument);
}

const net = (a: ProgramAnalysis, id: string) => a.networks.find((n) => n.id === id)!.analysis;
const pb310 = (a: ProgramAnalysis) => a.diagnostics.filter((d) => d.code === 'PB310');

describe('CLIP ViT-B/32: both towers in one step', () => {
  const analysis = analyzeProgram(templateDoc('clip', 'ViT-B/32'))!;
  const image = net(analysis, 'model');
  const text = net(analysis, 'text');
  // By hand: all weights once, and for both towers (trained by one AdamW) their gradients and two moments: 4 copies of the
  // trainable weights; activations of one application of each tower per example, float32.
  const paramsBytes = 4 * (image.count.nonTrainable + text.count.nonTrainable) + 16 * (image.count.trainable + text.count.trainable);
  const perExample = 4 * (image.main.cost.activations + text.main.cost.activations);
  const fits = Math.floor((TRAINING_MEMORY_LIMIT - paramsBytes) / perExample);

  it('one warning for the step, none per tower, with the sum of both', () => {
    const warnings = pb310(analysis);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ procedure: 'contrastive' });
    expect(warnings[0]!.network).toBeUndefined();
    expect(warnings[0]!.nodeId).toBeUndefined();
    const [step] = programStepMemories(analysis.networks, analysis.procedures, 128);
    expect(step).toMatchObject({ paramsBytes, activationBytesPerExample: perExample, totalBytes: paramsBytes + 128 * perExample });
    expect(warnings[0]!.message).toContain('applying “Image tower” once, “Text tower” once');
    expect(warnings[0]!.help).toMatch(
      new RegExp(`^Lower the batch size to ${fits} or less \\(a step then needs about [\\d.]+ GB, under the [\\d.]+ GB limit\\)`),
    );
    expect(largestBatchThatFits(step!)).toBe(fits);
  });

  it('the batch it proposes fits and one more does not; the towers’ own proposals (70 and 76) do not', () => {
    expect(fits).toBeLessThan(70);
    expect(pb310(analyzeProgram(templateDoc('clip', 'ViT-B/32', fits))!)).toEqual([]);
    expect(pb310(analyzeProgram(templateDoc('clip', 'ViT-B/32', fits + 1))!)).toHaveLength(1);
    expect(pb310(analyzeProgram(templateDoc('clip', 'ViT-B/32', 70))!)).toHaveLength(1);
  });

  it('the Start refusal reads as one sentence after the colon', () => {
    expect(startRefusal(pb310(analysis)[0]!)).toMatch(/^Start is refused: a training step of “Contrastive training” at batch 128 needs about/);
  });
});

describe('networks applied twice, and moving-average copies', () => {
  it('SimSiam keeps the activations of each network once per view', () => {
    const analysis = analyzeProgram(templateDoc('simsiam', 'mnist'))!;
    const [step] = programStepMemories(analysis.networks, analysis.procedures, 128);
    const perView = ['model', 'projector', 'predictor'].reduce((s, id) => s + net(analysis, id).main.cost.activations, 0);
    expect(step!.activationBytesPerExample).toBe(2 * 4 * perView);
    expect(step!.kept).toEqual(expect.arrayContaining([{ network: 'model', times: 2 }]));
  });

  it('BYOL: the targets add their weights once, no optimizer state and no activations of their own', () => {
    const analysis = analyzeProgram(templateDoc('byol', 'mnist'))!;
    const [step] = programStepMemories(analysis.networks, analysis.procedures, 128);
    expect(step!.movingAverages.sort()).toEqual(['model', 'projector']);
    const all = (id: string) => net(analysis, id).count.trainable + net(analysis, id).count.nonTrainable;
    const weights = 4 * (all('model') + all('projector') + all('predictor'));
    const trained = 12 * ['model', 'projector', 'predictor'].reduce((s, id) => s + net(analysis, id).count.trainable, 0);
    expect(step!.paramsBytes).toBe(weights + trained + 4 * (all('model') + all('projector')));
    // The online networks on both views; the target applications run outside the tape.
    const online = ['model', 'projector', 'predictor'].reduce((s, id) => s + net(analysis, id).main.cost.activations, 0);
    expect(step!.activationBytesPerExample).toBe(2 * 4 * online);
  });

  it('a network trained with SGD holds one accumulator, not two moments', () => {
    const doc = templateDoc('simsiam', 'mnist');
    const sgd = structuredClone(doc);
    for (const p of sgd.program!.procedures) for (const n of p.nodes) if (n.type === 'Minimize') n.params = { ...n.params, optimizer: 'sgd' };
    const [adamStep] = programStepMemories(analyzeProgram(doc)!.networks, analyzeProgram(doc)!.procedures, 128);
    const sgdAnalysis = analyzeProgram(sgd)!;
    const [sgdStep] = programStepMemories(sgdAnalysis.networks, sgdAnalysis.procedures, 128);
    const trainable = ['model', 'projector', 'predictor'].reduce((s, id) => s + net(sgdAnalysis, id).count.trainable, 0);
    expect(adamStep!.paramsBytes - sgdStep!.paramsBytes).toBe(4 * trainable);
  });
});

describe("every template's default preset", () => {
  it('is not refused Start (PB310), classifiers and programs alike', () => {
    const refused: string[] = [];
    for (const t of TEMPLATES) {
      const doc = templateDoc(t.info.id);
      const diagnostics = analyzeProgram(doc)?.diagnostics ?? [];
      const plain = doc.program ? [] : analyze(doc).diagnostics;
      if ([...diagnostics, ...plain].some((d) => d.code === 'PB310' && !d.nodeId)) refused.push(`${t.info.id} ${t.info.defaultPreset ?? ''}`);
    }
    expect(refused).toEqual([]);
    // The programs the brief names are among them.
    for (const id of ['capsnet', 'simsiam', 'byol', 'directpred', 'ddpm', 'sr3', 'palette', 'clip', 'glom', 'realnvp', 'glow'])
      expect(TEMPLATES.map((t) => t.info.id)).toContain(id);
  });
});
