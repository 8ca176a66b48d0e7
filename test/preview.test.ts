import { describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { buildModel } from '../src/runtime/build';
import {
  ACTIVATION_SAMPLE,
  activationsOf,
  deadUnitsOf,
  HISTOGRAM_BINS,
  histogramOf,
  isRectified,
  looksLikeProbabilities,
  pictureOf,
  previewKindOf,
  samplePositions,
  statsOf,
} from '../src/runtime/preview-data';
import { activationsByNode, gradientsByNode, nodeOutputs, previewBuild, previewModel, RefreshSchedule, weightsByNode } from '../src/runtime/preview';
import { trainClassifier } from '../src/runtime/training/train';
import { TrainingSchema } from '../src/document/schema';
import { graph } from './helpers/graphs';
import { templateDocument, TEMPLATES } from '../templates/index';
import { useCpuBackend } from './helpers/tf';

function planOf(id: string, preset: string) {
  const t = templateDocument(id, preset);
  if ('error' in t) throw new Error(t.error);
  const { plan } = lower(analyze(t.doc));
  if (!plan) throw new Error('no plan');
  return { plan, doc: t.doc };
}

describe('preview data: which picture a shape gets', () => {
  it('picks image, channel grid, heat map, bars and probabilities by shape', () => {
    expect(previewKindOf([28, 28, 1])).toBe('image');
    expect(previewKindOf([32, 32, 3])).toBe('image');
    expect(previewKindOf([14, 14, 64])).toBe('channels');
    expect(previewKindOf([14, 14, 2])).toBe('channels');
    expect(previewKindOf([49, 64])).toBe('heat');
    expect(previewKindOf([4, 49, 16])).toBe('channels');
    expect(previewKindOf([2, 4, 49, 16])).toBe('heat');
    expect(previewKindOf([64], new Float32Array(64).fill(0.5))).toBe('bars');
    expect(previewKindOf([4], [0.1, 0.2, 0.3, 0.4])).toBe('probabilities');
    expect(previewKindOf([4], [0.1, 0.2, 0.3, 0.5])).toBe('bars');
    expect(previewKindOf([2], [-0.5, 1.5])).toBe('bars');
    expect(looksLikeProbabilities([1])).toBe(false);
  });
});

describe('preview data: statistics and histograms by hand', () => {
  it('min, max, mean, std and norm of [1, 2, 3, 4] and of values with NaN', () => {
    const s = statsOf([1, 2, 3, 4]);
    expect(s).toMatchObject({ count: 4, min: 1, max: 4, mean: 2.5, nonFinite: 0 });
    // Population variance: ((1.5² + 0.5²) · 2) / 4 = 1.25.
    expect(s.std).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(s.norm).toBeCloseTo(Math.sqrt(30), 12);
    const t = statsOf([-2, NaN, 2, Infinity]);
    expect(t).toMatchObject({ count: 2, min: -2, max: 2, mean: 0, std: 2, nonFinite: 2 });
    expect(statsOf([])).toMatchObject({ count: 0, min: 0, max: 0, mean: 0 });
  });

  it('bins are equal slices of [min, max], the maximum in the last one', () => {
    const h = histogramOf([0, 0.1, 0.25, 0.5, 0.74, 0.75, 1], 4);
    expect(h).toEqual({ lo: 0, hi: 1, counts: [2, 1, 2, 2] });
    const constant = histogramOf([3, 3, 3], 5);
    expect(constant.counts).toEqual([0, 0, 3, 0, 0]);
    expect(histogramOf([NaN, 1, 2], 2).counts).toEqual([1, 1]);
  });
});

describe('preview data: reduced pictures', () => {
  it('an image is average-pooled per channel to at most 32 × 32', () => {
    const values = Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => i % 3);
    const p = pictureOf([64, 64, 3], values);
    expect(p.kind).toBe('image');
    expect(p.shape).toEqual([32, 32, 3]);
    expect(Array.from(p.values.slice(0, 6))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('a channel grid keeps the first 8 channels, channels first, each pooled by averaging', () => {
    // 4 × 4 × 10, value = channel index + 100·row.
    const values = Float32Array.from({ length: 4 * 4 * 10 }, (_, i) => (i % 10) + 100 * Math.floor(i / 40));
    const p = pictureOf([4, 4, 10], values);
    expect(p).toMatchObject({ kind: 'channels', shape: [8, 4, 4], channelsShown: 8, channelsTotal: 10 });
    expect(p.values[0]).toBe(0);
    expect(p.values[16 * 3 + 4]).toBe(103); // channel 3, row 1, column 0
    const big = pictureOf(
      [32, 32, 4],
      Float32Array.from({ length: 32 * 32 * 4 }, (_, i) => Math.floor(i / (32 * 4)) % 2),
    );
    expect(big.shape).toEqual([4, 16, 16]);
    // Rows 0 and 1 (values 0 and 1) pool into one cell: 0.5.
    expect(big.values[0]).toBe(0.5);
  });

  it('a heat map pools rows and columns; a long vector pools into 64 bars', () => {
    const heat = pictureOf(
      [100, 2],
      Float32Array.from({ length: 200 }, (_, i) => Math.floor(i / 2)),
    );
    expect(heat.kind).toBe('heat');
    expect(heat.shape).toEqual([32, 2]);
    // Rows 0..2 (cell 0 covers [0, 3)): mean 1.
    expect(heat.values[0]).toBe(1);
    const bars = pictureOf(
      [128],
      Float32Array.from({ length: 128 }, (_, i) => i),
    );
    expect(bars).toMatchObject({ kind: 'bars', shape: [64] });
    expect(bars.values[0]).toBe(0.5);
    expect(bars.values[63]).toBe(126.5);
    expect(() => pictureOf([3, 3], [1, 2])).toThrow(/needs 9 values/);
  });
});

describe('previews of a model', () => {
  it('every ConvMixer node gets its output on one forward; the values are those of the model itself', async () => {
    const tf = await useCpuBackend();
    const { plan, doc } = planOf('convmixer', 'mnist');
    const model = buildModel(plan, { seed: 1 });
    const outputs = nodeOutputs(plan, model);
    expect([...outputs.keys()].sort()).toEqual(doc.nodes.map((n) => n.id).sort());
    const example = Float32Array.from({ length: 28 * 28 }, (_, i) => ((i * 7) % 13) / 13);
    const tensors = tf.memory().numTensors;
    const answer = await previewModel(plan, model, example);
    // Nothing is left behind: the input and every node's output are disposed.
    expect(tf.memory().numTensors).toBe(tensors);
    expect(answer.previews.map((p) => p.nodeId).sort()).toEqual(doc.nodes.map((n) => n.id).sort());
    const byId = new Map(answer.previews.map((p) => [p.nodeId, p]));
    expect(byId.get('input')!.picture.kind).toBe('image');
    expect(byId.get('mixer')!.shape).toEqual([14, 14, 64]);
    expect(byId.get('mixer')!.picture.kind).toBe('channels');
    expect(byId.get('pool')!.picture.kind).toBe('bars');
    expect(byId.get('head')!.picture.kind).toBe('probabilities');
    // The Output node and the head show the model's own prediction.
    const predicted = model.predict(tf.tensor(example, [1, 28, 28, 1])) as import('@tensorflow/tfjs').Tensor;
    const probabilities = await predicted.data();
    predicted.dispose();
    const head = byId.get('output')!;
    for (let i = 0; i < 10; i++) expect(head.picture.values[i]).toBeCloseTo(probabilities[i]!, 5);
    expect(head.stats.mean).toBeCloseTo(0.1, 5);
    // The block's output is its last repeat's: the pooled features are its spatial mean.
    const mixer = tf.model({ inputs: model.inputs, outputs: outputs.get('mixer')! });
    const features = mixer.predict(tf.tensor(example, [1, 28, 28, 1])) as import('@tensorflow/tfjs').Tensor;
    const mean = await features.mean([1, 2]).data();
    expect(byId.get('pool')!.picture.values[5]).toBeCloseTo(mean[5]!, 5);
    expect(byId.get('mixer')!.stats.mean).toBeCloseTo((await features.mean().data())[0]!, 5);
    features.dispose();
    model.dispose();
  });

  it('a fresh build keeps the run weights of the layers an edit left alone', async () => {
    await useCpuBackend();
    const { plan } = planOf('convmixer', 'mnist');
    const trained = buildModel(plan, { seed: 5 });
    const same = previewBuild(plan, 0, trained);
    expect(same.weights.source).toBe('run');
    expect(same.weights.fromRun).toBe(same.weights.layers);
    // Kernel size 5 → 3: the depthwise convolutions change shape and start fresh; the rest keeps the run's.
    const edited = JSON.parse(JSON.stringify(plan).replaceAll('"kernelSize":5', '"kernelSize":3'));
    const mixed = previewBuild(edited, 0, trained);
    expect(mixed.weights.source).toBe('mixed');
    expect(mixed.weights.fromRun).toBe(mixed.weights.layers - 4);
    const head = (m: import('@tensorflow/tfjs').LayersModel) => m.getLayer('head').getWeights()[0]!.dataSync();
    expect(Array.from(head(mixed.model))).toEqual(Array.from(head(trained)));
    const fresh = previewBuild(plan, 0, undefined);
    expect(fresh.weights.source).toBe('fresh');
    expect(Array.from(head(fresh.model))).not.toEqual(Array.from(head(trained)));
    for (const m of [trained, same.model, mixed.model, fresh.model]) m.dispose();
  });

  it('weights by node: a block gathers all its layers, a layer lists its variables; figures match the weights', async () => {
    await useCpuBackend();
    const { plan } = planOf('convmixer', 'mnist');
    const model = buildModel(plan, { seed: 2 });
    const weights = await weightsByNode(plan, model);
    const head = weights.find((w) => w.nodeId === 'head')!;
    expect(head.variables.map((v) => [v.name, v.shape])).toEqual([
      ['kernel', [64, 10]],
      ['bias', [10]],
    ]);
    const kernel = Array.from(model.getLayer('head').getWeights()[0]!.dataSync() as Float32Array);
    expect(head.variables[0]!.stats.norm).toBeCloseTo(Math.sqrt(kernel.reduce((a, v) => a + v * v, 0)), 4);
    expect(head.all.count).toBe(650);
    const mixer = weights.find((w) => w.nodeId === 'mixer')!;
    expect(mixer.all.count).toBe(24320);
    expect(mixer.variables).toEqual([]);
    expect(mixer.all.histogram.counts.reduce((a, b) => a + b, 0)).toBe(24320);
    model.dispose();
  });
});

describe("gradients by node: the training step's own", () => {
  it("a softmax Dense layer's gradients are xᵀ(p − y) / n and (p − y) / n, by hand, as the step applied them", async () => {
    const tf = await useCpuBackend();
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [2] } },
        { id: 'head', type: 'Dense', params: { units: 3, activation: 'softmax' } },
      ],
      [['in', 'head']],
    );
    const { plan } = lower(analyze(doc));
    const model = buildModel(plan!, { seed: 3 });
    const x = [0.5, -1, 2, 0.25];
    const labels = [2, 0];
    const probs = Array.from(await (model.predict(tf.tensor(x, [2, 2])) as import('@tensorflow/tfjs').Tensor).data());
    // d(mean cross-entropy)/d(logits) = (p − y) / n; kernel gradient xᵀ·that, bias gradient its column sums.
    const d = probs.map((p, i) => (p - (labels[Math.floor(i / 3)] === i % 3 ? 1 : 0)) / 2);
    const kernel = [0, 1].flatMap((r) => [0, 1, 2].map((c) => x[r]! * d[c]! + x[2 + r]! * d[3 + c]!));
    const bias = [0, 1, 2].map((c) => d[c]! + d[3 + c]!);
    const expected = [...kernel, ...bias];
    const ds = {
      name: 'two',
      inputShape: [2],
      classNames: ['a', 'b', 'c'],
      train: { x: Float32Array.from(x), y: Uint8Array.from(labels), count: 2 },
      test: { x: Float32Array.from(x), y: Uint8Array.from(labels), count: 2 },
    };
    const setup = TrainingSchema.parse({ optimizer: 'sgd', learningRate: 0.1, momentum: 0, batchSize: 2, epochs: 2, schedule: 'constant', seed: 1 });
    const tensors = tf.memory().numTensors;
    const asked: Array<[number, boolean]> = [];
    const taken: Array<Map<string, import('@tensorflow/tfjs').Tensor>> = [];
    await trainClassifier(tf, model, ds, setup, {
      hooks: {
        // Only the first step's: the second is asked about (as the last) but not kept.
        gradientTap: {
          wanted: (step, last) => (asked.push([step, last]), step === 1),
          take: (grads) => taken.push(grads),
        },
      },
    });
    expect(asked).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(taken).toHaveLength(1);
    const grads = await gradientsByNode(plan!, model, taken[0]!);
    tf.dispose([...taken[0]!.values()]);
    // Nothing else stays behind: the tap's copies were the only tensors it made.
    expect(tf.memory().numTensors).toBe(tensors);
    const head = grads.get('head')!;
    expect(head.count).toBe(9);
    expect(head.stats.norm).toBeCloseTo(Math.sqrt(expected.reduce((a, v) => a + v * v, 0)), 5);
    expect(head.stats.min).toBeCloseTo(Math.min(...expected), 5);
    expect(head.stats.max).toBeCloseTo(Math.max(...expected), 5);
    expect(head.stats.mean).toBeCloseTo(expected.reduce((a, v) => a + v, 0) / 9, 6);
    model.dispose();
  });
});

describe("the worker's run refreshes", () => {
  it("refresh only after a step chosen before it; that step's gradients and the held-out outputs come back, and the kept gradients are freed", async () => {
    const tf = await useCpuBackend();
    const { PreviewService } = await import('../src/runtime/worker/previews');
    const { plan } = planOf('convmixer', 'mnist');
    const service = new PreviewService(() => Promise.reject(new Error('no data here')));
    const digit = new Float32Array(784).fill(0.2);
    const none = { model: undefined, planJson: undefined };
    await service.answer(plan, 0, { kind: 'values', values: digit }, none);
    const model = buildModel(plan, { seed: 0 });
    const gradients = () => new Map(model.trainableWeights.map((w) => [(w.read() as import('@tensorflow/tfjs').Variable).name, tf.onesLike(w.read())]));
    const batch = { x: new Float32Array(3 * 784).fill(0.5), count: 3, inputShape: [28, 28, 1] };
    const tensors = tf.memory().numTensors;
    // Not chosen before the step: no refresh, and the gradients handed over are freed all the same.
    expect(await service.live(plan, model, 1, { batch, gradients: gradients() })).toBeNull();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(service.refreshDue(1, false, model)).toBe(true);
    const live = (await service.live(plan, model, 1, { batch, gradients: gradients() }))!;
    expect(tf.memory().numTensors).toBe(tensors);
    // Every gradient was 1: each node's gradient histogram is all ones, its norm √count.
    const head = live.weights.find((w) => w.nodeId === 'head')!;
    expect(head.gradients).toMatchObject({ count: 650, stats: { min: 1, max: 1 } });
    expect(head.gradients!.stats.norm).toBeCloseTo(Math.sqrt(650), 4);
    expect(live.activations.map((a) => a.nodeId).sort()).toEqual(['head', 'input', 'mixer', 'output', 'pool', 'stem']);
    expect(live.activations.every((a) => a.examples === 3)).toBe(true);
    // Just refreshed, 1 step later: not due (at least 10 steps apart) unless it is the run's last.
    expect(service.refreshDue(2, false, model)).toBe(false);
    expect(service.refreshDue(2, true, model)).toBe(true);
    model.dispose();
  });
});

describe('a run whose pinned example is of another graph', () => {
  it('refreshes without previews instead of throwing (which ended the run): the histograms still come', async () => {
    await useCpuBackend();
    const { PreviewService } = await import('../src/runtime/worker/previews');
    const { plan } = planOf('convmixer', 'mnist');
    // Another graph on show while ConvMixer trains: its Input takes 10 values, and the pin follows it.
    const other = lower(
      analyze(
        graph(
          [
            { id: 'in', type: 'Input', params: { shape: [10] } },
            { id: 'd', type: 'Dense', params: { units: 2 } },
          ],
          [['in', 'd']],
        ),
      ),
    ).plan!;
    const service = new PreviewService(() => Promise.reject(new Error('no data here')));
    await service.answer(other, 0, { kind: 'values', values: new Float32Array(10).fill(1) }, { model: undefined, planJson: undefined });
    const model = buildModel(plan, { seed: 0 });
    const batch = { x: new Float32Array(2 * 784).fill(0.5), count: 2, inputShape: [28, 28, 1] };
    expect(service.refreshDue(1, false, model)).toBe(true);
    const live = (await service.live(plan, model, 1, { batch }))!;
    expect(live.answer.previews).toEqual([]);
    expect(live.weights.map((w) => w.nodeId)).toContain('head');
    expect(live.activations.map((a) => a.nodeId).sort()).toEqual(['head', 'input', 'mixer', 'output', 'pool', 'stem']);
    model.dispose();
  });
});

describe('activations over a held-out batch', () => {
  it('dead units, zeros, figures and the histogram match the values read back whole; a sample meets every channel', async () => {
    const tf = await useCpuBackend();
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [4] } },
        { id: 'hidden', type: 'Dense', params: { units: 6, activation: 'relu' } },
        { id: 'head', type: 'Dense', params: { units: 3, activation: 'softmax' } },
      ],
      [
        ['in', 'hidden'],
        ['hidden', 'head'],
      ],
    );
    const { plan } = lower(analyze(doc));
    const model = buildModel(plan!, { seed: 5 });
    // Units 1 and 4 can never fire on non-negative inputs: non-positive weights and a negative bias.
    const [k, b] = model.getLayer('hidden').getWeights();
    const kernel = Array.from(await k!.data());
    const bias = Array.from(await b!.data());
    for (const u of [1, 4]) {
      for (let r = 0; r < 4; r++) kernel[r * 6 + u] = -Math.abs(kernel[r * 6 + u]!);
      bias[u] = -0.5;
    }
    // Unit 0 always fires.
    bias[0] = 10;
    model.getLayer('hidden').setWeights([tf.tensor(kernel, [4, 6]), tf.tensor(bias, [6])]);
    const n = 40;
    const xs = Float32Array.from({ length: n * 4 }, (_, i) => (Math.sin(i * 1.7) + 1) / 2);
    const tensors = tf.memory().numTensors;
    const out = await activationsByNode(plan!, model, { x: xs, count: n, inputShape: [4] });
    expect(tf.memory().numTensors).toBe(tensors);
    const hidden = out.find((a) => a.nodeId === 'hidden')!;
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('hidden').output as import('@tensorflow/tfjs').SymbolicTensor });
    const values = Array.from(await (probe.predict(tf.tensor(xs, [n, 4])) as import('@tensorflow/tfjs').Tensor).data());
    const byHand = statsOf(values);
    expect(hidden.examples).toBe(n);
    expect(hidden.units).toBe(6);
    expect(hidden.dead).toBe(2);
    expect(hidden.zeros).toBe(values.filter((v) => v === 0).length);
    expect(hidden.zeros).toBeGreaterThanOrEqual(2 * n);
    expect(isRectified(hidden)).toBe(true);
    expect(hidden.stats.min).toBe(0);
    expect(hidden.stats.max).toBeCloseTo(byHand.max, 5);
    expect(hidden.stats.mean).toBeCloseTo(byHand.mean, 5);
    expect(hidden.stats.std).toBeCloseTo(byHand.std, 4);
    expect(hidden.sampled).toBe(n * 6);
    expect(hidden.histogram.counts).toEqual(histogramOf(values, HISTOGRAM_BINS, byHand).counts);
    // The softmax is never exactly 0: not rectified, no dead units.
    const head = out.find((a) => a.nodeId === 'head')!;
    expect(head.dead).toBe(0);
    expect(isRectified(head)).toBe(false);
    // The Input over the batch is the batch itself.
    expect(out.find((a) => a.nodeId === 'in')!.stats.mean).toBeCloseTo(statsOf(xs).mean, 5);
    model.dispose();
  });

  it('ConvMixer: every node measured over 64 digits-like examples, sampled to ACTIVATION_SAMPLE values', async () => {
    await useCpuBackend();
    const { plan, doc } = planOf('convmixer', 'mnist');
    const model = buildModel(plan, { seed: 0 });
    const xs = Float32Array.from({ length: 64 * 784 }, (_, i) => ((i * 7919) % 255) / 255);
    const out = await activationsByNode(plan, model, { x: xs, count: 64, inputShape: [28, 28, 1] });
    expect(out.map((a) => a.nodeId).sort()).toEqual(doc.nodes.map((n) => n.id).sort());
    for (const a of out) {
      expect(a.examples, a.nodeId).toBe(64);
      expect(
        a.histogram.counts.reduce((s, c) => s + c, 0),
        a.nodeId,
      ).toBe(Math.min(a.stats.count, ACTIVATION_SAMPLE));
    }
    model.dispose();
  }, 60_000);

  it('sample positions are distinct, sorted, repeatable and spread over every channel of a channels-last tensor', () => {
    const p = samplePositions(64 * 14 * 14 * 64, ACTIVATION_SAMPLE);
    expect(p.length).toBe(ACTIVATION_SAMPLE);
    expect(new Set(p).size).toBe(ACTIVATION_SAMPLE);
    for (let i = 1; i < p.length; i++) expect(p[i]!).toBeGreaterThan(p[i - 1]!);
    expect(Array.from(samplePositions(64 * 14 * 14 * 64, ACTIVATION_SAMPLE))).toEqual(Array.from(p));
    const channels = new Set(Array.from(p, (i) => i % 64));
    expect(channels.size).toBe(64);
    expect(Array.from(samplePositions(5, 10))).toEqual([0, 1, 2, 3, 4]);
  });

  it('figures from the device reductions, by hand; NaN falls back to the sample', () => {
    const a = activationsOf('n', 2, { count: 4, min: 0, max: 3, sum: 4, squares: 10, nonFinite: 0, zeros: 2, peaks: [0, 3] }, [0, 0, 1, 3]);
    // mean 1, E[x²] 2.5, variance 1.5.
    expect(a.stats).toMatchObject({ count: 4, min: 0, max: 3, mean: 1, nonFinite: 0 });
    expect(a.stats.std).toBeCloseTo(Math.sqrt(1.5), 10);
    expect(a.stats.norm).toBeCloseTo(Math.sqrt(10), 10);
    expect([a.units, a.dead, a.zeros, a.sampled]).toEqual([2, 1, 2, 4]);
    expect(deadUnitsOf([0, -0, 1e-30, 0])).toBe(3);
    const bad = activationsOf('n', 1, { count: 3, min: NaN, max: NaN, sum: NaN, squares: NaN, nonFinite: 1, zeros: 0, peaks: [NaN] }, [1, NaN, 3]);
    expect(bad.stats).toMatchObject({ count: 2, min: 1, max: 3, mean: 2, nonFinite: 1 });
  });
});

describe('previews of every template', () => {
  it("every node of each template's main network gets a preview (blocks, custom layers, programs' top-level network)", async () => {
    await useCpuBackend();
    let checked = 0;
    const skipped: string[] = [];
    for (const t of TEMPLATES) {
      const { plan, doc } = planOf(t.info.id, t.presets[0]!.name);
      const inputs = plan.main.steps.filter((s) => s.kind === 'input');
      // DDPM's network takes the image and the timestep (SR3's and Palette's a condition too): previews need one input (the pin bar says so).
      if (inputs.length !== 1 || inputs[0]!.kind !== 'input') {
        skipped.push(t.info.id);
        continue;
      }
      const model = buildModel(plan, { seed: 0 });
      const size = inputs[0]!.shape.reduce((a, d) => a * d, 1);
      const answer = await previewModel(plan, model, new Float32Array(size).fill(0.3));
      expect(answer.previews.map((p) => p.nodeId).sort(), t.info.id).toEqual(doc.nodes.map((n) => n.id).sort());
      for (const p of answer.previews) expect(p.stats.nonFinite, `${t.info.id} ${p.nodeId}`).toBe(0);
      model.dispose();
      checked++;
    }
    expect(skipped.sort()).toEqual(['ddpm', 'palette', 'sr3']);
    expect(checked).toBe(TEMPLATES.length - skipped.length);
  }, 60_000);
});

describe('refresh schedule during a run', () => {
  it('waits at least the minimum steps and 1/share times the last refresh', () => {
    const s = new RefreshSchedule(10, 0.02);
    expect(s.due(1, 0)).toBe(true);
    s.done(1, 0, 20); // 20 ms: the next one waits 1,000 ms after it ended
    expect(s.due(11, 500)).toBe(false);
    expect(s.due(5, 2000)).toBe(false);
    expect(s.due(11, 1020)).toBe(true);
    expect(s.count).toBe(1);
    expect(s.totalMs).toBe(20);
  });
});

describe('activations of an int32 input', () => {
  it('token ids are summarised as numbers (an Embedding network)', async () => {
    await useCpuBackend();
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [4], dtype: 'int32' } },
        { id: 'emb', type: 'Embedding', params: { inputDim: 10, outputDim: 3 } },
      ],
      [['in', 'emb']],
    );
    const { plan, diagnostics } = lower(analyze(doc));
    if (!plan) throw new Error(diagnostics.map((d) => d.message).join('; '));
    const model = buildModel(plan, { seed: 1 });
    expect(model.inputs[0]!.dtype).toBe('int32');
    const out = await activationsByNode(plan, model, { x: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 9]), count: 2, inputShape: [4] });
    const ids = out.find((a) => a.nodeId === 'in')!;
    expect(ids.stats).toMatchObject({ min: 0, max: 9, mean: 30 / 8 });
    expect(ids.zeros).toBe(1);
    expect(out.find((a) => a.nodeId === 'emb')!.units).toBe(3);
    model.dispose();
  });
});

describe("a run's weights answer only its own graph's previews", () => {
  it("SimSiam's encoder `model` lends nothing to another graph's `model` of a same-named, same-shaped layer, nor that graph's classifier model to SimSiam's encoder", async () => {
    const tf = await useCpuBackend();
    const { heldModelOf, PreviewService } = await import('../src/runtime/worker/previews');
    const { analyzeProgram, lowerProgram } = await import('../src/compiler/program');
    const { ProgramRun } = await import('../src/runtime/program/run');
    const t = templateDocument('simsiam');
    if ('error' in t) throw new Error(t.error);
    const simsiam = lowerProgram(analyzeProgram(t.doc)!).program!;
    const run = new ProgramRun(tf, simsiam, 0);
    // Another graph whose main network is `model` too, with a first layer named and shaped as SimSiam's encoder's.
    const otherPlan = lower(
      analyze(
        graph(
          [
            { id: 'image', type: 'Input', params: { shape: [28, 28, 1] } },
            { id: 'conv1', type: 'Conv2D', params: { filters: 16, kernelSize: 3, strides: 2, padding: 'same', useBias: false } },
            { id: 'flatten', type: 'Flatten' },
            { id: 'head', type: 'Dense', params: { units: 10, activation: 'softmax' } },
          ],
          [
            ['image', 'conv1'],
            ['conv1', 'flatten'],
            ['flatten', 'head'],
          ],
        ),
      ),
    ).plan!;
    const programHeld = { program: { networks: run.networks, program: simsiam, graph: 'id:simsiam' } };
    // Were it SimSiam's graph, the encoder would lend it its same-named, same-shaped layers.
    const sameGraph = heldModelOf('model', otherPlan, 'id:simsiam', programHeld);
    expect(sameGraph.model).toBe(run.networks.get('model')!.model);
    const otherGraph = heldModelOf('model', otherPlan, 'id:other', programHeld);
    expect(otherGraph.model).toBeUndefined();
    const service = new PreviewService(() => Promise.reject(new Error('no data here')));
    const digit = { kind: 'values' as const, values: new Float32Array(784).fill(0.3) };
    expect((await service.answer(otherPlan, 0, digit, sameGraph)).answer.weights.fromRun).toBeGreaterThan(0);
    expect((await service.answer(otherPlan, 0, digit, otherGraph)).answer.weights).toMatchObject({ source: 'fresh', fromRun: 0 });
    // The reverse: a classifier run of the other graph, then SimSiam's encoder on show.
    const classifier = buildModel(otherPlan, { seed: 0 });
    const classifierHeld = { classifier: { model: classifier, planJson: JSON.stringify(otherPlan), graph: 'id:other' } };
    const encoder = simsiam.networks.find((n) => n.id === 'model')!.plan;
    expect(heldModelOf('model', encoder, 'id:simsiam', classifierHeld).model).toBeUndefined();
    expect(heldModelOf('model', encoder, 'id:other', classifierHeld).model).toBe(classifier);
    // The classifier's own graph keeps its run's weights.
    expect(heldModelOf('model', otherPlan, 'id:other', { ...classifierHeld, ...programHeld })).toEqual({
      model: classifier,
      planJson: JSON.stringify(otherPlan),
    });
    await service.answer(otherPlan, 0, null, otherGraph);
    classifier.dispose();
    run.dispose();
  });
});
