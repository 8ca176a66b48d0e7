/**
 * Training programs: the checks, the update rules against hand-computed references, the eigen
 * solver, stop-gradient, tensors that must not leak, and the classifier written as an explicit
 * program against today's classifier loop.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeProgram, lowerProgram, type PlanProgram } from '../src/compiler/program';
import { DOCUMENT_VERSION, type GraphDocument, type GraphNode, type NetworkDef, type ProcedureDef } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import type { Dataset } from '../src/runtime/data/dataset';
import { directPredWeights, symmetricEigen } from '../src/runtime/linalg';
import { affineSource, emaDecayAt, runOp } from '../src/runtime/program/ops';
import { ProgramRun, runProgram } from '../src/runtime/program/run';
import { trainClassifier } from '../src/runtime/training/train';
import { graphBuilder } from '../templates/program-builder';
import { useCpuBackend } from './helpers/tf';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

/** A seeded toy dataset of 6×6×1 "images" in 3 classes (a bright row, column or diagonal). */
function toyImages(count: number, seed = 1): Dataset {
  let s = seed;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const make = (n: number) => {
    const x = new Float32Array(n * 36);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      y[i] = c;
      const k = Math.floor(random() * 6);
      for (let j = 0; j < 6; j++) {
        const [r, col] = c === 0 ? [k, j] : c === 1 ? [j, k] : [j, j];
        x[i * 36 + r * 6 + col] = 1;
      }
      for (let j = 0; j < 36; j++) x[i * 36 + j]! += 0.1 * random();
    }
    return { x, y, count: n };
  };
  return { name: 'toy', inputShape: [6, 6, 1], classNames: ['row', 'column', 'diagonal'], train: make(count), test: make(Math.floor(count / 2)) };
}

function net(id: string, build: (g: ReturnType<typeof graphBuilder>) => void): NetworkDef {
  const g = graphBuilder();
  build(g);
  return { id, label: id, description: '', nodes: g.nodes, edges: g.edges };
}

function proc(id: string, kind: 'train' | 'evaluate', build: (g: ReturnType<typeof graphBuilder>) => void, epochs?: number): ProcedureDef {
  const g = graphBuilder();
  build(g);
  return { id, label: id, kind, ...(epochs ? { epochs } : {}), nodes: g.nodes, edges: g.edges };
}

function programDoc(main: (g: ReturnType<typeof graphBuilder>) => void, networks: NetworkDef[], procedures: ProcedureDef[]): GraphDocument {
  const g = graphBuilder();
  main(g);
  return {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    name: 'program',
    nodeTypes: {},
    nodes: g.nodes,
    edges: g.edges,
    blocks: [],
    networks,
    program: { procedures },
    meta: {},
  };
}

function compile(doc: GraphDocument): PlanProgram {
  const analysis = analyzeProgram(doc)!;
  const { program, diagnostics } = lowerProgram(analysis);
  expect(diagnostics).toEqual([]);
  return program!;
}

/** An MLP classifier on the toy images: image → flatten → dense 16 relu → dense 3 softmax. */
function classifierNetwork(g: ReturnType<typeof graphBuilder>, softmax = true) {
  const x = g.add('image', 'Input', { shape: [6, 6, 1] });
  const f = g.add('flat', 'Flatten', {}, [[x]]);
  const h = g.add('hidden', 'Dense', { units: 16, activation: 'relu' }, [[f]]);
  const o = g.add('head', 'Dense', { units: 3, activation: softmax ? 'softmax' : 'linear' }, [[h]]);
  g.add('probs', 'Output', {}, [[o]]);
}

/** A tiny SimSiam on the toy images: encoder → projector (BN) → predictor, optional stop-gradient. */
function tinySimSiam(stop: boolean, weights: 'online' | 'ema' = 'online'): GraphDocument {
  return programDoc(
    (g) => {
      const x = g.add('image', 'Input', { shape: [6, 6, 1] });
      const f = g.add('flat', 'Flatten', {}, [[x]]);
      const h = g.add('hidden', 'Dense', { units: 32, activation: 'relu' }, [[f]]);
      const z = g.add('proj', 'Dense', { units: 8, useBias: false }, [[h]]);
      g.add('z', 'Output', {}, [[z]]);
    },
    [
      net('predictor', (g) => {
        const z = g.add('z', 'Input', { shape: [8] });
        const h = g.add('hidden', 'Dense', { units: 8, activation: 'relu' }, [[z]]);
        const p = g.add('out', 'Dense', { units: 8 }, [[h]]);
        g.add('p', 'Output', {}, [[p]]);
      }),
    ],
    [
      proc('train', 'train', (g) => {
        const data = g.add('data', 'Data', { shape: [6, 6, 1], classes: 3 });
        const views = [1, 2].map((i) => g.add(`noise${i}`, 'GaussianNoise', { stddev: 0.2 }, [[data, 'image']]));
        const branch = (i: number) => {
          const z = g.add(`enc${i}`, 'Network', { network: 'model' }, [[views[i - 1]!, 'out', 'image']]);
          const p = g.add(`pred${i}`, 'Network', { network: 'predictor' }, [[z, 'z', 'z']]);
          const target =
            weights === 'ema'
              ? g.add(`target${i}`, 'Network', { network: 'model', weights: 'ema', decay: 0.9, decaySchedule: 'constant' }, [[views[i - 1]!, 'out', 'image']])
              : z;
          const t = stop ? g.add(`stop${i}`, 'StopGradient', {}, [[target, 'z']]) : target;
          return { p, t, tPort: stop ? 'out' : 'z' };
        };
        const a = branch(1);
        const b = branch(2);
        const l1 = g.add('l12', 'NegativeCosine', {}, [
          [a.p, 'p', 'p'],
          [b.t, b.tPort, 'z'],
        ]);
        const l2 = g.add('l21', 'NegativeCosine', {}, [
          [b.p, 'p', 'p'],
          [a.t, a.tPort, 'z'],
        ]);
        const loss = g.add('loss', 'MeanOf', {}, [
          [l1, 'loss', 'inputs'],
          [l2, 'loss', 'inputs'],
        ]);
        g.add('min', 'Minimize', { optimizer: 'sgd', learningRate: 0.1, schedule: 'constant' }, [[loss, 'out', 'loss']]);
      }),
      proc('eval', 'evaluate', (g) => {
        const data = g.add('data', 'Data', { shape: [6, 6, 1], classes: 3 });
        const z = g.add('enc', 'Network', { network: 'model', weights: 'frozen' }, [[data, 'image', 'image']]);
        g.add('collapse', 'CollapseMonitor', {}, [[z, 'z', 'features']]);
      }),
    ],
  );
}

describe('the eigen solver', () => {
  it('finds the eigenpairs of known matrices', () => {
    const two = symmetricEigen([2, 1, 1, 2], 2);
    expect([...two.values]).toEqual([expect.closeTo(3, 12), expect.closeTo(1, 12)]);
    expect(Math.abs(two.vectors[0]!)).toBeCloseTo(Math.SQRT1_2, 12);
    const diag = symmetricEigen([1, 0, 0, 0, 5, 0, 0, 0, 3], 3);
    expect([...diag.values]).toEqual([5, 3, 1]);
  });

  it('A·v = λ·v with orthonormal vectors on a random symmetric 16×16 matrix', () => {
    const n = 16;
    let s = 7;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647 - 0.5;
    const b = Array.from({ length: n * n }, rnd);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = b[i * n + j]! + b[j * n + i]!;
    const { values, vectors } = symmetricEigen(a, n);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[j * n + k]!;
        expect(av).toBeCloseTo(values[k]! * vectors[i * n + k]!, 9);
      }
      for (let m = 0; m < n; m++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += vectors[i * n + k]! * vectors[i * n + m]!;
        expect(dot).toBeCloseTo(k === m ? 1 : 0, 9);
      }
    }
    for (let k = 1; k < n; k++) expect(values[k]!).toBeLessThanOrEqual(values[k - 1]!);
  });

  it('DirectPred: W = U·diag(√(s/max s) + ε)·Uᵀ', () => {
    // F = U diag(4, 1) Uᵀ with U a 30° rotation: p = (√1 + 0.1, √(1/4) + 0.1) = (1.1, 0.6).
    const c = Math.cos(Math.PI / 6);
    const sn = Math.sin(Math.PI / 6);
    const u = [
      [c, -sn],
      [sn, c],
    ];
    const f = [0, 1, 2, 3].map((k) => 4 * u[k >> 1]![0]! * u[k & 1]![0]! + 1 * u[k >> 1]![1]! * u[k & 1]![1]!);
    const w = directPredWeights(f, 2, 0.1);
    const expected = [0, 1, 2, 3].map((k) => 1.1 * u[k >> 1]![0]! * u[k & 1]![0]! + 0.6 * u[k >> 1]![1]! * u[k & 1]![1]!);
    expected.forEach((e, k) => expect(w[k]).toBeCloseTo(e, 6));
  });
});

describe('update rules', () => {
  it("BYOL's τ_k rises from τ_base to 1 on a cosine", () => {
    expect(emaDecayAt(0.99, 'cosine', 0, 100)).toBeCloseTo(0.99, 12);
    expect(emaDecayAt(0.99, 'cosine', 50, 100)).toBeCloseTo(0.995, 12);
    expect(emaDecayAt(0.99, 'cosine', 100, 100)).toBeCloseTo(1, 12);
    expect(emaDecayAt(0.996, 'constant', 70, 100)).toBe(0.996);
  });

  it('the moving-average copy follows ξ ← τ·ξ + (1 − τ)·θ after each step', async () => {
    const program = compile(tinySimSiam(true, 'ema'));
    const run = new ProgramRun(tf, program, 3);
    try {
      const online = run.networks.get('model')!.model;
      const before = online.getWeights().map((w) => w.arraySync() as number[][]);
      await run.train(
        program.procedures[0]!,
        toyImages(16),
        { seed: 3, batchSize: 16, epochs: 1 },
        { id: 'train', label: 'train', kind: 'train', steps: 0, seconds: 0, curves: {} },
      );
      const after = online.getWeights().map((w) => w.arraySync() as number[][]);
      const target = run.networks
        .get('model')!
        .ema!.getWeights()
        .map((w) => w.arraySync() as number[][]);
      // One step: the copy started equal to the online weights, then moved 10 % of the way to the new ones.
      const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
      before.forEach((w, i) => {
        const expected = flat(w).map((v, k) => 0.9 * v + 0.1 * flat(after[i])[k]!);
        flat(target[i]).forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 5));
      });
      expect(flat(after[0]).some((v, k) => Math.abs(v - flat(before[0])[k]!) > 1e-6)).toBe(true);
    } finally {
      run.dispose();
    }
  });

  it('stop-gradient passes values and stops gradients', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = runOp(tf, 'StopGradient', {}, [x], { seed: 1, step: 0, nodeId: 's' });
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    const g = tf.grad((v: tfType.Tensor) => tf.sum(tf.mul(runOp(tf, 'StopGradient', {}, [v], { seed: 1, step: 0, nodeId: 's' }), v)))(x);
    // d/dv Σ sg(v)·v = sg(v) = v, not 2v.
    expect(Array.from(g.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([x, y, g]);
  });

  it('random affine: the inverse map rotates and scales about the centre; no rotation, zoom or shift is the identity', () => {
    // A quarter turn of a 5×5 image: output (r, c) comes from (4 − c, r).
    const quarter = affineSource(5, 5, Math.PI / 2, 1, 0, 0);
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) expect(quarter(r, c)).toEqual([4 - c, r]);
    // Zoom 2 about the centre: the centre stays, a pixel 2 away comes from 1 away; a shift moves the source back.
    const zoom = affineSource(5, 5, 0, 2, 0, 0);
    expect(zoom(2, 2)).toEqual([2, 2]);
    expect(zoom(0, 2)).toEqual([1, 2]);
    expect(affineSource(5, 5, 0, 1, 1, -1)(3, 1)).toEqual([2, 2]);
    expect(affineSource(5, 5, 0, 1, 3, 0)(0, 0)).toBeNull();
    const x = tf.randomUniform([3, 7, 7, 1], 0, 1, 'float32', 2);
    const same = runOp(tf, 'RandomAffine', { degrees: 0, minScale: 1, maxScale: 1, pixels: 0 }, [x], { seed: 1, step: 0, nodeId: 'a' });
    expect(Array.from(same.dataSync())).toEqual(Array.from(x.dataSync()));
    const a = runOp(tf, 'RandomAffine', { degrees: 30, minScale: 0.8, maxScale: 1.2, pixels: 2 }, [x], { seed: 1, step: 4, nodeId: 'a' });
    const b = runOp(tf, 'RandomAffine', { degrees: 30, minScale: 0.8, maxScale: 1.2, pixels: 2 }, [x], { seed: 1, step: 4, nodeId: 'a' });
    const c = runOp(tf, 'RandomAffine', { degrees: 30, minScale: 0.8, maxScale: 1.2, pixels: 2 }, [x], { seed: 1, step: 5, nodeId: 'a' });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    // Every output value is an input value of the same example, or the zero fill.
    const input = x.arraySync() as number[][][][];
    (a.arraySync() as number[][][][]).forEach((img, i) => {
      const values = new Set(input[i]!.flat(2));
      for (const v of img.flat(2)) expect(v === 0 || values.has(v)).toBe(true);
    });
    tf.dispose([x, same, a, b, c]);
  });

  it('augmentations are seeded: the same step and node repeat, another node differs', () => {
    const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 5);
    const a = runOp(tf, 'RandomTranslate', { pixels: 2 }, [x], { seed: 1, step: 3, nodeId: 'v1' });
    const b = runOp(tf, 'RandomTranslate', { pixels: 2 }, [x], { seed: 1, step: 3, nodeId: 'v1' });
    const c = runOp(tf, 'RandomTranslate', { pixels: 2 }, [x], { seed: 1, step: 3, nodeId: 'v2' });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    // Each example is its input shifted by whole pixels within ±2, zero-filled: find the shift.
    const input = x.arraySync() as number[][][][];
    const output = a.arraySync() as number[][][][];
    output.forEach((img, i) => {
      const shifts = [];
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) {
          const same = img.every((row, r) => row.every((px, c) => px[0] === (input[i]![r - dy]?.[c - dx]?.[0] ?? 0)));
          if (same) shifts.push([dy, dx]);
        }
      expect(shifts.length, `example ${i}`).toBeGreaterThan(0);
    });
    tf.dispose([x, a, b, c]);
  });
});

describe('checks', () => {
  it('names the network, procedure and problem', () => {
    const doc = tinySimSiam(true);
    doc.program!.procedures[0]!.nodes.find((n) => n.id === 'pred1')!.params.network = 'nope';
    const analysis = analyzeProgram(doc)!;
    expect(analysis.diagnostics).toContainEqual(expect.objectContaining({ code: 'PB400', procedure: 'train', nodeId: 'pred1', param: 'network' }));
  });

  it('an optimizer whose loss reaches only stopped or frozen weights is refused', () => {
    const doc = tinySimSiam(true);
    const nodes = doc.program!.procedures[0]!.nodes as GraphNode[];
    for (const id of ['enc1', 'enc2', 'pred1', 'pred2']) nodes.find((n) => n.id === id)!.params.weights = 'frozen';
    expect(analyzeProgram(doc)!.diagnostics).toContainEqual(expect.objectContaining({ code: 'PB404', nodeId: 'min' }));
  });

  it('a metric in a training procedure, and a training procedure without Minimize', () => {
    const doc = tinySimSiam(true);
    const train = doc.program!.procedures[0]!;
    train.nodes = train.nodes.filter((n) => n.id !== 'min');
    train.nodes.push({ id: 'acc', type: 'Accuracy', params: {} });
    const codes = analyzeProgram(doc)!.diagnostics.map((d) => d.code);
    expect(codes).toContain('PB402');
    expect(codes).toContain('PB401');
  });

  it('with the stop-gradient, the optimizer trains the encoder through the predictor branch only', () => {
    const program = compile(tinySimSiam(true));
    const min = program.procedures[0]!.steps.find((s) => s.kind === 'minimize')!;
    expect(min.kind === 'minimize' && min.networks.sort()).toEqual(['model', 'predictor']);
  });
});

describe('running a program', () => {
  it('leaks no tensors from step to step', async () => {
    const program = compile(tinySimSiam(true, 'ema'));
    const run = new ProgramRun(tf, program, 1);
    const counts: number[] = [];
    try {
      await runProgram(tf, run, toyImages(96), { seed: 1, batchSize: 16, epochs: 1, onStep: (r) => void counts.push(r.tensors) });
    } finally {
      run.dispose();
    }
    expect(counts).toHaveLength(6);
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it("an evaluation reports its progress after each batch of the split it reads (a big network's score takes minutes)", async () => {
    const run = new ProgramRun(tf, compile(tinySimSiam(true)), 1);
    const progress: Array<{ split: string; done: number; total: number }> = [];
    try {
      // 600 test examples: batches of 256, 256 and 88.
      await runProgram(tf, run, toyImages(1200), { seed: 1, batchSize: 64, epochs: 1, onEvaluating: (p) => void progress.push({ ...p }) });
    } finally {
      run.dispose();
    }
    expect(progress).toEqual([
      { split: 'test', done: 256, total: 600 },
      { split: 'test', done: 512, total: 600 },
      { split: 'test', done: 600, total: 600 },
    ]);
  });

  it('a learned scalar trains, stays clamped, and leaves nothing behind when the run is disposed', async () => {
    // CLIP's shape in miniature: InfoNCE between two views' embeddings with a learned log scale.
    const doc = tinySimSiam(true);
    const train = doc.program!.procedures[0]!;
    train.nodes = train.nodes.filter((n) => !['l12', 'l21', 'loss', 'min'].includes(n.id));
    train.edges = train.edges.filter((e) => !['l12', 'l21', 'loss', 'min'].includes(e.target));
    train.nodes.push(
      { id: 'scale', type: 'Parameter', params: { init: 1, min: 0, max: 1.2 } },
      { id: 'nce', type: 'InfoNCE', params: {} },
      { id: 'min', type: 'Minimize', params: { optimizer: 'sgd', learningRate: 0.5, schedule: 'constant' } },
    );
    train.edges.push(
      { id: 'a', source: 'enc1', sourcePort: 'z', target: 'nce', targetPort: 'a' },
      { id: 'b', source: 'enc2', sourcePort: 'z', target: 'nce', targetPort: 'b' },
      { id: 'c', source: 'scale', sourcePort: 'out', target: 'nce', targetPort: 'scale' },
      { id: 'd', source: 'nce', sourcePort: 'loss', target: 'min', targetPort: 'loss' },
    );
    const before = tf.memory().numTensors;
    const run = new ProgramRun(tf, compile(doc), 5);
    const scales: number[] = [];
    try {
      await runProgram(tf, run, toyImages(96), {
        seed: 5,
        batchSize: 16,
        epochs: 1,
        onStep: () => void scales.push(run.parameters.get('scale')!.dataSync()[0]!),
      });
    } finally {
      run.dispose();
    }
    expect(scales[0]).not.toBe(1);
    for (const v of scales) expect(v).toBeLessThanOrEqual(Math.fround(1.2));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('SimSiam without its stop-gradient collapses; with it, it does not', async () => {
    const collapse = async (stop: boolean) => {
      const run = new ProgramRun(tf, compile(tinySimSiam(stop)), 2);
      try {
        const result = await runProgram(tf, run, toyImages(480), { seed: 2, batchSize: 32, epochs: 16 });
        const losses = result.procedures[0]!.curves.loss!;
        return {
          std: result.metrics.collapseStd as number,
          reference: result.metrics.collapseReference as number,
          loss: losses.slice(-10).reduce((a, b) => a + b, 0) / 10,
        };
      } finally {
        run.dispose();
      }
    };
    const withStop = await collapse(true);
    const without = await collapse(false);
    // Without the stop-gradient the loss reaches its floor (−1) and every embedding points one way.
    expect(without.loss).toBeLessThan(-0.99);
    expect(without.std).toBeLessThan(0.2 * withStop.std);
    expect(withStop.loss).toBeGreaterThan(-0.99);
  });

  it('the classifier written as an explicit program gives the same losses as the classifier loop', async () => {
    const ds = toyImages(64);
    const doc = programDoc(
      (g) => classifierNetwork(g),
      [],
      [
        proc('train', 'train', (g) => {
          const data = g.add('data', 'Data', { shape: [6, 6, 1], classes: 3 });
          const probs = g.add('net', 'Network', { network: 'model' }, [[data, 'image', 'image']]);
          const loss = g.add('ce', 'CrossEntropy', { fromLogits: false }, [
            [probs, 'probs', 'prediction'],
            [data, 'label', 'label'],
          ]);
          g.add('min', 'Minimize', { optimizer: 'adam', learningRate: 0.01, schedule: 'cosine' }, [[loss, 'loss', 'loss']]);
        }),
      ],
    );
    const program = compile(doc);
    const run = new ProgramRun(tf, program, 4);
    const model = buildModel(program.networks[0]!.plan, { seed: 4 });
    try {
      const result = await runProgram(tf, run, ds, { seed: 4, batchSize: 16, epochs: 2 });
      const classic = await trainClassifier(tf, model, ds, {
        optimizer: 'adam',
        learningRate: 0.01,
        schedule: 'cosine',
        warmupSteps: 0,
        weightDecay: 0,
        momentum: 0.9,
        loss: 'categoricalCrossentropy',
        metrics: ['accuracy'],
        batchSize: 16,
        epochs: 2,
        seed: 4,
      });
      const a = result.procedures[0]!.curves.ce!;
      const b = classic.steps.map((s) => s.loss);
      expect(a).toHaveLength(8);
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
      expect(a[7]!).toBeLessThan(a[0]!);
    } finally {
      run.dispose();
      model.dispose();
    }
  });
});
