/**
 * Previews beyond one Input on the main network: which procedure feeds a network (and its timestep
 * range), the inputs it gives on a pinned example (DDPM's x_t and t, SimSiam's projector input), a
 * denoiser previewed at every node, the tensors inside an opened block instance, and what the editor
 * pins for the graph on show (target.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import type { GraphDocument } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import { previewModel } from '../src/runtime/preview';
import { procedureFeedOf } from '../src/runtime/preview-feed';
import { procedureInputs } from '../src/runtime/preview-procedure';
import { diffusionSchedule } from '../src/runtime/program/diffusion';
import { MAIN_TAB } from '../src/editor/store';
import { previewTargetOf, timestepOf } from '../src/editor/preview/target';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

function docOf(id: string): GraphDocument {
  const t = templateDocument(id);
  if ('error' in t) throw new Error(t.error);
  return t.doc;
}

function programOf(doc: GraphDocument): PlanProgram {
  const { program } = lowerProgram(analyzeProgram(doc)!);
  if (!program) throw new Error('no program');
  return program;
}

/** A digit-like example: a bright bar on black, 28 × 28 × 1. */
const digit = Float32Array.from({ length: 28 * 28 }, (_, i) => (Math.floor(i / 28) > 6 && Math.floor(i / 28) < 20 && i % 28 > 12 && i % 28 < 16 ? 1 : 0));

const models = (program: PlanProgram) => {
  const built = new Map<string, tf.LayersModel>();
  return (network: string) => {
    let m = built.get(network);
    if (!m) built.set(network, (m = buildModel(program.networks.find((n) => n.id === network)!.plan, { seed: 3 })));
    return m;
  };
};

const dataOf = (ts: tf.Tensor[]) => ts.map((t) => Float32Array.from(t.dataSync()));

beforeAll(async () => {
  await useCpuBackend();
});

describe('which procedure feeds a network', () => {
  it('DDPM: the train procedure feeds the UNet x_t and t, with T = 1000', () => {
    const program = programOf(docOf('ddpm'));
    expect(procedureFeedOf(program, 'model')).toEqual({ procedure: 'train', apply: 'unet', timesteps: 1000 });
  });

  it("SimSiam's projector and predictor are fed through the networks before them; no timestep", () => {
    const program = programOf(docOf('simsiam'));
    expect(procedureFeedOf(program, 'projector')).toMatchObject({ procedure: 'pretrain', timesteps: null });
    expect(procedureFeedOf(program, 'predictor')).toMatchObject({ procedure: 'pretrain', timesteps: null });
    expect(procedureFeedOf(program, 'nothing')).toBeNull();
  });
});

describe('the inputs a procedure gives a network on the pinned example', () => {
  it('DDPM: t is the pinned timestep and x_t = √ᾱ_t·(2x − 1) + √(1 − ᾱ_t)·ε with the same ε at every timestep', () => {
    const program = programOf(docOf('ddpm'));
    const feed = procedureFeedOf(program, 'model')!;
    const schedule = diffusionSchedule('cosine', 1000);
    const x0 = Array.from(digit, (v) => 2 * v - 1);
    const noiseAt = (t: number) => {
      const [xt, ts] = dataOf(procedureInputs(tf, program, feed, { example: digit, label: 7, timestep: t, seed: 0, modelOf: models(program) }));
      expect(Array.from(ts!)).toEqual([t]);
      expect(xt!.length).toBe(28 * 28);
      const a = schedule.sqrtAlphasCumprod[t]!;
      const b = schedule.sqrtOneMinusAlphasCumprod[t]!;
      return Array.from(xt!, (v, i) => (v - a * x0[i]!) / b);
    };
    const e100 = noiseAt(100);
    const e500 = noiseAt(500);
    e500.forEach((v, i) => expect(v).toBeCloseTo(e100[i]!, 3));
    // ε is standard normal noise.
    const mean = e500.reduce((s, v) => s + v, 0) / e500.length;
    const std = Math.sqrt(e500.reduce((s, v) => s + (v - mean) ** 2, 0) / e500.length);
    expect(Math.abs(mean)).toBeLessThan(0.15);
    expect(std).toBeGreaterThan(0.85);
    expect(std).toBeLessThan(1.15);
    // Out of range: clamped to 0 … T − 1.
    const [, last] = dataOf(procedureInputs(tf, program, feed, { example: digit, label: 0, timestep: 5000, seed: 0, modelOf: models(program) }));
    expect(Array.from(last!)).toEqual([999]);
  });

  it("SimSiam's projector gets the encoder's output on the example itself (augmentations left out)", () => {
    const program = programOf(docOf('simsiam'));
    const modelOf = models(program);
    const [features] = dataOf(
      procedureInputs(tf, program, procedureFeedOf(program, 'projector')!, { example: digit, label: 1, timestep: 0, seed: 0, modelOf }),
    );
    const direct = tf.tidy(() => (modelOf('model').predict(tf.tensor(digit, [1, 28, 28, 1])) as tf.Tensor).dataSync());
    expect(features!.length).toBe(direct.length);
    features!.forEach((v, i) => expect(v).toBeCloseTo(direct[i]!, 4));
  });
});

describe('previews of a network with several inputs, and inside a block', () => {
  it("DDPM's UNet: every node shows a preview, the Inputs the values fed", async () => {
    const doc = docOf('ddpm');
    const program = programOf(doc);
    const plan = program.networks.find((n) => n.id === 'model')!.plan;
    const model = buildModel(plan, { seed: 0 });
    const inputs = dataOf(
      procedureInputs(tf, program, procedureFeedOf(program, 'model')!, { example: digit, label: 0, timestep: 500, seed: 0, modelOf: () => model }),
    );
    const answer = await previewModel(plan, model, inputs);
    const previewed = new Set(answer.previews.map((p) => p.nodeId));
    const outputs = doc.nodes.filter((n) => n.type !== 'Output').map((n) => n.id);
    for (const id of outputs) expect(previewed.has(id), id).toBe(true);
    const t = answer.previews.find((p) => p.nodeId === 'timestep')!;
    expect(t.stats.mean).toBe(500);
    expect(answer.previews.find((p) => p.nodeId === 'image')!.shape).toEqual([28, 28, 1]);
    model.dispose();
  });

  it('ConvMixer: inside the mixer block the inner nodes show that instance, its input the stem’s output', async () => {
    const doc = docOf('convmixer');
    const { plan } = lower(analyze(doc));
    const model = buildModel(plan!, { seed: 0 });
    const main = await previewModel(plan!, model, digit);
    const inner = await previewModel(plan!, model, digit, undefined, { node: 'mixer', repeat: 0 });
    const byId = new Map(inner.previews.map((p) => [p.nodeId, p]));
    const body = doc.blocks.find((b) => b.id === 'ConvMixerBlock')!.nodes.map((n) => n.id);
    for (const id of body) expect(byId.has(id), id).toBe(true);
    // The block's input is the stem's output, and no main-graph node is among them.
    const stem = main.previews.find((p) => p.nodeId === 'stem')!;
    expect(byId.get('x')!.stats.mean).toBeCloseTo(stem.stats.mean, 6);
    expect(byId.has('head')).toBe(false);
    // The first repeat's output differs from its input (it is not the stem passed through).
    expect(byId.get('y')!.stats.std).not.toBeCloseTo(byId.get('x')!.stats.std, 6);
    // Each repeat's input is the repeat before it's output; the last repeat's output is the block node's own preview.
    const repeats = plan!.main.steps.find((s) => s.nodeId === 'mixer' && s.kind === 'block');
    const count = repeats && repeats.kind === 'block' ? repeats.repeat : 0;
    expect(count).toBeGreaterThan(1);
    let before = byId.get('y')!;
    for (let r = 1; r < count; r++) {
      const next = new Map((await previewModel(plan!, model, digit, undefined, { node: 'mixer', repeat: r })).previews.map((p) => [p.nodeId, p]));
      expect(next.get('x')!.stats.mean, `repeat ${r}`).toBeCloseTo(before.stats.mean, 6);
      before = next.get('y')!;
    }
    expect(before.stats.mean).toBeCloseTo(main.previews.find((p) => p.nodeId === 'mixer')!.stats.mean, 6);
    model.dispose();
  });
});

describe('what the editor previews for the graph on show', () => {
  const data = { dataChoice: 'mnist' as const, csv: undefined, images: undefined };

  it("DDPM's network: fed by its train procedure at the middle timestep, the pinned digit from MNIST", () => {
    const target = previewTargetOf({ doc: docOf('ddpm'), tab: MAIN_TAB, blockView: null }, data);
    expect(target).toMatchObject({ kind: 'ready', network: 'model', timesteps: 1000, sampleShape: [28, 28, 1], feed: { kind: 'procedure' } });
    if (target.kind !== 'ready') return;
    expect(target.source.kind).toBe('named');
    expect(target.note).toMatch(/^Inputs as ".+" feeds them, at the pinned timestep$/);
    expect(timestepOf(null, 1000)).toBe(500);
    expect(timestepOf(2000, 1000)).toBe(999);
    expect(timestepOf(-3, 1000)).toBe(0);
  });

  it("a program's other network, a procedure tab, a block instance, several Inputs without a program, no Input", () => {
    const ssl = docOf('simsiam');
    expect(previewTargetOf({ doc: ssl, tab: { kind: 'network', id: 'projector' }, blockView: null }, data)).toMatchObject({
      kind: 'ready',
      network: 'projector',
      sampleShape: [28, 28, 1],
      feed: { kind: 'procedure' },
    });
    // The main network with one Input still takes the pinned example as it is.
    expect(previewTargetOf({ doc: ssl, tab: MAIN_TAB, blockView: null }, data)).toMatchObject({ kind: 'ready', feed: undefined });
    expect(previewTargetOf({ doc: ssl, tab: { kind: 'procedure', id: 'pretrain' }, blockView: null }, data)).toEqual({ kind: 'none' });

    const opened = { doc: docOf('convmixer'), tab: MAIN_TAB, blockView: { nodeId: 'mixer', blockId: 'ConvMixerBlock' } };
    const mixer = previewTargetOf(opened, data);
    expect(mixer).toMatchObject({ kind: 'ready', inside: { node: 'mixer', repeat: 0 }, key: 'model|mixer' });
    if (mixer.kind !== 'ready') return;
    expect(mixer.note).toBe(`Inside "mixer" (ConvMixer block), repeat 1 of ${mixer.repeats}`);
    // A repeat past the last shows the last.
    expect(previewTargetOf(opened, data, 99)).toMatchObject({
      inside: { repeat: mixer.repeats - 1 },
      note: `Inside "mixer" (ConvMixer block), repeat ${mixer.repeats} of ${mixer.repeats}`,
    });

    // Two Inputs, no program: the digit where it fits, a made-up value for the other.
    const ddpm = docOf('ddpm');
    const plain = { ...ddpm, program: undefined };
    const two = previewTargetOf({ doc: plain, tab: MAIN_TAB, blockView: null }, data);
    expect(two).toMatchObject({
      kind: 'ready',
      sampleShape: [28, 28, 1],
      feed: { kind: 'inputs', inputs: [{ kind: 'example' }, { kind: 'made-up', shape: [1] }] },
      note: 'Made-up values for "timestep"',
    });

    const none = { ...plain, nodes: plain.nodes.filter((n) => n.type !== 'Input'), edges: [] };
    const problem = previewTargetOf({ doc: none, tab: MAIN_TAB, blockView: null }, data);
    expect(problem.kind).toBe('problem');
  });
});

describe("every network of every template's program", () => {
  it('is fed by a procedure or takes the pinned example, and previews every node', async () => {
    const { TEMPLATES } = await import('../templates/index');
    const failures: string[] = [];
    const fed: string[] = [];
    for (const t of TEMPLATES) {
      const doc = docOf(t.info.id);
      if (!doc.program) continue;
      const program = programOf(doc);
      const modelOf = models(program);
      for (const net of program.networks) {
        const feed = procedureFeedOf(program, net.id);
        const single = net.plan.main.steps.filter((s) => s.kind === 'input').length === 1;
        if (!feed && !single) {
          failures.push(`${t.info.id}/${net.id}: no procedure feeds it`);
          continue;
        }
        if (feed) fed.push(`${t.info.id}/${net.id}`);
        const shape = feed ? program.procedures.find((p) => p.id === feed.procedure)!.steps.find((s) => s.kind === 'data')! : undefined;
        const example = Float32Array.from({ length: shape && shape.kind === 'data' ? shape.shape.reduce((a, d) => a * d, 1) : 28 * 28 }, (_, i) => (i % 7) / 7);
        try {
          const inputs = feed ? dataOf(procedureInputs(tf, program, feed, { example, label: 3, timestep: 10, seed: 0, modelOf })) : [example];
          const answer = await previewModel(net.plan, modelOf(net.id), inputs);
          const nodes = (net.id === 'model' ? doc.nodes : doc.networks.find((n) => n.id === net.id)!.nodes).filter((n) => n.type !== 'Output');
          const previewed = new Set([...answer.previews.map((p) => p.nodeId), ...answer.skipped.map((p) => p.nodeId)]);
          for (const n of nodes) if (!previewed.has(n.id)) failures.push(`${t.info.id}/${net.id}: no preview for "${n.id}"`);
        } catch (err) {
          failures.push(`${t.info.id}/${net.id}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // Networks with several Inputs and programs' other networks went through their procedures.
    expect(fed).toEqual(expect.arrayContaining(['ddpm/model', 'sr3/model', 'palette/model', 'simsiam/predictor', 'capsnet/decoder', 'clip/text']));
  }, 120_000);
});

describe("the worker's preview service", () => {
  it('answers inside an opened block and a run refreshes that block instance; a procedure feed leaves the run alone', async () => {
    const { PreviewService } = await import('../src/runtime/worker/previews');
    const service = new PreviewService(() => Promise.reject(new Error('no data here')));
    const doc = docOf('convmixer');
    const { plan } = lower(analyze(doc));
    const none = { model: undefined, planJson: undefined };
    const inside = { node: 'mixer', repeat: 1 };
    const { answer } = await service.answer(plan!, 0, { kind: 'values', values: digit }, none, { inside });
    expect(answer.previews.map((p) => p.nodeId).sort()).toEqual(['bn1', 'bn2', 'depthwise', 'pointwise', 'residual', 'x', 'y']);
    // A run of the same plan refreshes the same repeat of the same instance.
    const trained = buildModel(plan!, { seed: 0 });
    service.refreshDue(1, true, trained);
    const live = await service.live(plan!, trained, 1);
    expect(live?.inside).toEqual(inside);
    expect(live!.answer.previews.map((p) => p.nodeId).sort()).toEqual(['bn1', 'bn2', 'depthwise', 'pointwise', 'residual', 'x', 'y']);
    // Back on the main graph: the run refreshes the main nodes.
    await service.answer(plan!, 0, { kind: 'values', values: digit }, none);
    service.refreshDue(2, true, trained);
    const main = await service.live(plan!, trained, 2);
    expect(main?.inside).toBeUndefined();
    expect(main!.answer.previews.some((p) => p.nodeId === 'head')).toBe(true);
    trained.dispose();

    // DDPM through its procedure: both Inputs previewed, the timestep as pinned.
    const ddpm = docOf('ddpm');
    const program = programOf(ddpm);
    const unet = program.networks.find((n) => n.id === 'model')!.plan;
    const fed = await service.answer(unet, 0, { kind: 'values', values: digit }, none, {
      feed: { kind: 'procedure', program, feed: procedureFeedOf(program, 'model')!, timestep: 123 },
    });
    expect(fed.answer.previews.find((p) => p.nodeId === 'timestep')!.stats.mean).toBe(123);
    expect(fed.answer.previews.find((p) => p.nodeId === 'denoised')).toBeDefined();
    // Several Inputs without a procedure: the example and a value of the other Input's shape.
    const plain = await service.answer(unet, 0, { kind: 'values', values: digit }, none, {
      feed: { kind: 'inputs', inputs: [{ kind: 'example' }, { kind: 'values', values: Float32Array.of(7) }] },
    });
    expect(plain.answer.previews.find((p) => p.nodeId === 'timestep')!.stats.mean).toBe(7);
    // Asked with one example for two Inputs: said in words, not a tfjs error.
    await expect(service.answer(unet, 0, { kind: 'values', values: digit }, none)).rejects.toThrow('This network takes 2 inputs');
  });
});

describe("a target network's moving-average weights", () => {
  it("BYOL's projector fed through the target encoder gets the run's moving-average copy's features, and the note says when there is none yet", async () => {
    const { heldModelOf, PreviewService } = await import('../src/runtime/worker/previews');
    const { ProgramRun } = await import('../src/runtime/program/run');
    const program = programOf(docOf('byol'));
    // The target branch: the projector applied to the target encoder's features ('ema' weights).
    const feed = { procedure: 'pretrain', apply: 'targetProjector1', timesteps: null };
    const run = new ProgramRun(tf, program, 0);
    const online = (network: string) => run.networks.get(network)!.model;
    const encoder = program.networks.find((n) => n.id === 'model')!.plan;
    // A moving-average copy unlike the online encoder (another seed), as a run's would be after some steps.
    const average = buildModel(encoder, { seed: 7 });
    const ctx = { example: digit, label: 0, timestep: 0, seed: 0 };
    const [throughAverage] = dataOf(procedureInputs(tf, program, feed, { ...ctx, modelOf: (n) => (n === 'model' ? average : online(n)) }));
    const [throughOnline] = dataOf(procedureInputs(tf, program, feed, { ...ctx, modelOf: online }));
    expect(throughAverage).not.toEqual(throughOnline);
    const missing: string[] = [];
    const [fed] = dataOf(
      procedureInputs(tf, program, feed, {
        ...ctx,
        modelOf: online,
        averageOf: (n) => (n === 'model' ? average : undefined),
        noAverage: (n) => missing.push(n),
      }),
    );
    expect(fed).toEqual(throughAverage);
    expect(missing).toEqual([]);

    // The worker's service, the run's networks held for this graph: before the run made its copy, the note says so.
    const service = new PreviewService(() => Promise.reject(new Error('no data here')));
    const sources = { program: { networks: run.networks, program, graph: 'id:byol' } };
    const projector = program.networks.find((n) => n.id === 'projector')!.plan;
    const ask = () =>
      service.answer(projector, 0, { kind: 'values', values: digit }, heldModelOf('projector', projector, 'id:byol', sources), {
        network: 'projector',
        feed: { kind: 'procedure', program, feed, timestep: 0 },
        heldOf: (n) => heldModelOf(n, undefined, 'id:byol', sources),
      });
    const before = await ask();
    expect(before.answer.feedNote).toMatch(/^No moving-average copy of "model" yet/);
    const inputBefore = before.answer.previews.find((p) => p.nodeId === projector.main.steps[0]!.nodeId)!;
    run.networks.get('model')!.ema = average;
    const after = await ask();
    expect(after.answer.feedNote).toBeUndefined();
    const inputAfter = after.answer.previews.find((p) => p.nodeId === projector.main.steps[0]!.nodeId)!;
    // The projector's input is the moving average's features now, not the online encoder's.
    expect(inputAfter.stats.mean).toBeCloseTo(throughAverage!.reduce((a, b) => a + b, 0) / throughAverage!.length, 5);
    expect(inputBefore.stats.mean).toBeCloseTo(throughOnline!.reduce((a, b) => a + b, 0) / throughOnline!.length, 5);
    await service.answer(projector, 0, null, { model: undefined, planJson: undefined });
    run.dispose();
  });
});
