/**
 * GLOM (issue 11): the update layer against the iteration computed with plain arrays (bottom-up,
 * top-down with position, consensus attention, the mean of the contributions), the starting levels,
 * patches laid back out in the order a patch convolution reads them, numeric gradient checks on tiny
 * cases, save and load of a model that applies one update layer twice, the template's iterations
 * sharing one network's weights (one SGD step moves them by the gradient summed over the
 * iterations), and a few training steps on MNIST beating the trivial answer.
 */
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeProgram, lowerProgram, networkCounts } from '../src/compiler/program';
import type { GraphDocument } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import { createCustomLayer } from '../src/runtime/custom-layers';
import type { Dataset } from '../src/runtime/data/dataset';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { meanImageBaselineMse } from '../src/runtime/program/glom';
import { answerGlomIslands, islandsOf, neighbourPairs } from '../src/runtime/program/glom-view';
import { runOp } from '../src/runtime/program/ops';
import { ProgramRun, runProgram } from '../src/runtime/program/run';
import { glomUpdateParams } from '../src/nodes/layers/glom';
import { templateDocument } from '../templates/index';
import { useCpuBackend } from './helpers/tf';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { registerWasmTrainingKernels } from '../src/runtime/wasm-kernels';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await useCpuBackend();
});

/** A deterministic sequence in [-1, 1). */
function values(count: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}

function layer(className: string, config: Record<string, unknown>, inputShapes: number[][]): tfType.layers.Layer {
  const l = createCustomLayer(className, config)!;
  const inputs = inputShapes.map((shape) => tf.input({ shape }));
  l.apply(inputs.length === 1 ? inputs[0]! : inputs);
  return l;
}

/** Every weight of the layer set to a deterministic draw (biases included, which start at zero). */
function randomiseWeights(l: tfType.layers.Layer, seed: number, scale = 0.5): number[][] {
  const ws = l.getWeights().map((w, i) => values(w.size, seed + i).map((v) => v * scale));
  l.setWeights(ws.map((w, i) => tf.tensor(w, l.getWeights()[i]!.shape)));
  return ws;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol);
};

type Vec = number[];
const add = (a: Vec, b: Vec) => a.map((x, i) => x + b[i]!);
const dot = (a: Vec, b: Vec) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/**
 * One GLOM iteration for one example, written from the layer's description with plain arrays:
 * x[c][l] the level embeddings, p[c] the patch embeddings, w the layer's weights in the order it
 * declares them (bottom-up kernel1, bias1, kernel2, bias2; top-down the same; position).
 */
function glomReference(x: Vec[][], p: Vec[], w: number[][], hidden: number, sharpness: number, radius: number): Vec[][] {
  const [C, L, D] = [x.length, x[0]!.length, x[0]![0]!.length];
  const mlp = (offset: number, g: number, v: Vec): Vec => {
    const [k1, b1, k2, b2] = w.slice(offset, offset + 4) as [number[], number[], number[], number[]];
    const h = Array.from({ length: hidden }, (_, j) => {
      const z = v.reduce((s, vi, i) => s + vi * k1[(g * D + i) * hidden + j]!, 0) + b1[g * hidden + j]!;
      return z / (1 + Math.exp(-1.702 * z));
    });
    return Array.from({ length: D }, (_, o) => h.reduce((s, hj, j) => s + hj * k2[(g * hidden + j) * D + o]!, 0) + b2[g * D + o]!);
  };
  const norm = (v: Vec) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    return v.map((e) => (e - mean) / Math.sqrt(variance + 1e-5));
  };
  const position = w[L > 1 ? 8 : 4]!;
  const side = Math.round(Math.sqrt(C));
  return x.map((levels, c) =>
    levels.map((prev, l) => {
      const below = l === 0 ? p[c]! : levels[l - 1]!;
      let sum = add(prev, mlp(0, l, norm(below)));
      if (l < L - 1) sum = add(sum, mlp(4, l, norm(add(levels[l + 1]!, position.slice(c * D, (c + 1) * D)))));
      const others = x
        .map((_, j) => j)
        .filter(
          (j) => j !== c && (radius === 0 || Math.max(Math.abs(Math.floor(j / side) - Math.floor(c / side)), Math.abs((j % side) - (c % side))) <= radius),
        );
      const cos = (a: Vec, b: Vec) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
      const scores = others.map((j) => Math.exp(sharpness * cos(prev, x[j]![l]!)));
      const total = scores.reduce((a, b) => a + b, 0);
      const agreement = Array.from({ length: D }, (_, d) => others.reduce((s, j, k) => s + (scores[k]! / total) * x[j]![l]![d]!, 0));
      sum = add(sum, agreement);
      return sum.map((v) => v / (l < L - 1 ? 4 : 3));
    }),
  );
}

describe('GLOM update: one iteration', () => {
  it.each([
    ['every column, 3 levels', 4, 3, 0],
    ['radius 1 on a 3×3 grid, 2 levels', 9, 2, 1],
    ['one level (no top-down network)', 4, 1, 0],
  ])('equals the iteration computed with plain arrays (%s)', (_name, C, L, radius) => {
    const [N, D, H, sharpness] = [2, 3, 5, 3];
    const l = layer('PatchbayGlomUpdate', { hiddenUnits: H, sharpness, radius }, [
      [C, L, D],
      [C, D],
    ]);
    expect(l.countParams()).toBe(glomUpdateParams(C, L, D, H));
    const w = randomiseWeights(l, 11);
    const xRaw = values(N * C * L * D, 3);
    const pRaw = values(N * C * D, 4);
    const out = l.apply([tf.tensor4d(xRaw, [N, C, L, D]), tf.tensor3d(pRaw, [N, C, D])]) as tfType.Tensor;
    const got = out.dataSync();
    for (let n = 0; n < N; n++) {
      const x = Array.from({ length: C }, (_, c) =>
        Array.from({ length: L }, (_, lv) => xRaw.slice(((n * C + c) * L + lv) * D, ((n * C + c) * L + lv + 1) * D)),
      );
      const p = Array.from({ length: C }, (_, c) => pRaw.slice((n * C + c) * D, (n * C + c + 1) * D));
      const ref = glomReference(x, p, w, H, sharpness, radius).flat(2);
      close(got.slice(n * C * L * D, (n + 1) * C * L * D), ref, 2e-5);
    }
  });

  it('agreement pulls columns together: identical columns stay identical, and a level converges towards its neighbours', () => {
    // With the bottom-up and top-down networks silenced (zero weights), an iteration is the mean of
    // the previous state and the consensus: the spread of a level across columns shrinks.
    const [C, L, D] = [9, 2, 4];
    const l = layer('PatchbayGlomUpdate', { hiddenUnits: 3, sharpness: 2 }, [
      [C, L, D],
      [C, D],
    ]);
    l.setWeights(l.getWeights().map((w) => tf.zerosLike(w)));
    let x: tfType.Tensor = tf.tensor4d(values(C * L * D, 5), [1, C, L, D]);
    const spread = (t: tfType.Tensor) => tf.mean(tf.square(tf.sub(t, tf.mean(t, 1, true)))).dataSync()[0]!;
    const before = spread(x);
    for (let i = 0; i < 3; i++) x = l.apply([x, tf.zeros([1, C, D])]) as tfType.Tensor;
    expect(spread(x)).toBeLessThan(before * 0.5);
  });

  it('refuses a local radius over columns that are not a square grid, and patches that do not match the levels', () => {
    expect(() =>
      layer('PatchbayGlomUpdate', { radius: 1 }, [
        [6, 2, 3],
        [6, 3],
      ]),
    ).toThrow('A local radius needs a square grid of columns, got 6 columns.');
    expect(() =>
      layer('PatchbayGlomUpdate', {}, [
        [4, 2, 3],
        [4, 5],
      ]),
    ).toThrow('GLOM update needs patch embeddings (batch, 4, 3) to match the levels, got [batch, 4, 5].');
  });
});

describe('the contrastive consensus loss', () => {
  /** The InfoNCE of the node's description with plain arrays: per column and level, positives on the diagonal. */
  function consensusReference(x: number[], [N, C, L, D]: number[], temperature: number): number {
    const side = Math.round(Math.sqrt(C));
    const at = (n: number, c: number, l: number) => {
      const v = x.slice(((n * C + c) * L + l) * D, ((n * C + c) * L + l + 1) * D);
      const norm = Math.sqrt(dot(v, v));
      return v.map((e) => e / norm);
    };
    let total = 0;
    for (let c = 0; c < C; c++) {
      const [r, k] = [Math.floor(c / side), c % side];
      const near = [
        [r - 1, k],
        [r + 1, k],
        [r, k - 1],
        [r, k + 1],
      ].filter(([a, b]) => a! >= 0 && a! < side && b! >= 0 && b! < side);
      for (let l = 0; l < L; l++) {
        const targets = Array.from({ length: N }, (_, m) => {
          const mean = Array.from({ length: D }, (_, d) => near.reduce((s, [a, b]) => s + at(m, a! * side + b!, l)[d]!, 0) / near.length);
          const norm = Math.sqrt(dot(mean, mean));
          return mean.map((e) => e / norm);
        });
        for (let n = 0; n < N; n++) {
          const logits = targets.map((t) => dot(at(n, c, l), t) / temperature);
          const max = Math.max(...logits);
          const logSum = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
          total += logSum - logits[n]!;
        }
      }
    }
    return total / (C * L * N);
  }

  it('equals the InfoNCE of neighbourhood means computed with plain arrays, and its gradient reaches every column', () => {
    const shape = [3, 9, 2, 4];
    const raw = values(3 * 9 * 2 * 4, 41);
    const x = tf.tensor4d(raw, shape as [number, number, number, number]);
    const loss = runOp(tf, 'GlomConsensusLoss', { temperature: 0.5, weight: 1 }, [x], { seed: 0, step: 0, nodeId: 'consensus' });
    expect(loss.shape).toEqual([]);
    expect(loss.dataSync()[0]).toBeCloseTo(consensusReference(raw, shape, 0.5), 5);
    const g = tf.grad((t: tfType.Tensor) => runOp(tf, 'GlomConsensusLoss', { temperature: 0.5, weight: 1 }, [t], { seed: 0, step: 0, nodeId: 'consensus' }))(x);
    const perColumn = tf.sum(tf.abs(g), [0, 2, 3]).dataSync();
    expect(Array.from(perColumn).every((v) => v > 0)).toBe(true);
    // The weight scales it; 0 turns it off.
    const scaled = runOp(tf, 'GlomConsensusLoss', { temperature: 0.5, weight: 0.25 }, [x], { seed: 0, step: 0, nodeId: 'consensus' }).dataSync()[0]!;
    expect(scaled).toBeCloseTo(0.25 * consensusReference(raw, shape, 0.5), 5);
    expect(runOp(tf, 'GlomConsensusLoss', { temperature: 0.5, weight: 0 }, [x], { seed: 0, step: 0, nodeId: 'consensus' }).dataSync()[0]).toBe(0);
  });

  it('is lower when each image’s columns agree with their neighbours and images differ', () => {
    // Every column of image n holds the same vector e_n: positives are exact, negatives orthogonal.
    const [N, C, L, D] = [3, 4, 1, 3];
    const islands = Array.from({ length: N * C * L * D }, (_, i) => (i % D === Math.floor(i / (C * L * D)) ? 1 : 0));
    const noise = values(N * C * L * D, 42);
    const lossOf = (v: number[]) =>
      runOp(tf, 'GlomConsensusLoss', { temperature: 0.1, weight: 1 }, [tf.tensor4d(v, [N, C, L, D])], { seed: 0, step: 0, nodeId: 'c' }).dataSync()[0]!;
    expect(lossOf(islands)).toBeLessThan(0.01);
    expect(lossOf(noise)).toBeGreaterThan(0.5);
  });
});

it('the mean image baseline: the mean squared distance of held-out rows to the mean training row', () => {
  // Training rows (0, 2) and (2, 4): mean (1, 3). Held-out (1, 3) and (3, 3): errors 0, 0 and 4, 0.
  const rows = (data: number[]) => ({ data: Float32Array.from(data), dim: 2, count: data.length / 2 });
  expect(meanImageBaselineMse(rows([0, 2, 2, 4]), rows([1, 3, 3, 3]))).toBeCloseTo(1, 10);
});

describe('GLOM levels and patches to image', () => {
  it('every column of every example starts each level from the same learned vector', () => {
    const l = layer('PatchbayGlomLevels', { levels: 3 }, [[5, 2]]);
    const [start] = randomiseWeights(l, 2);
    const y = (l.apply(tf.tensor3d(values(2 * 5 * 2, 9), [2, 5, 2])) as tfType.Tensor).dataSync();
    for (let k = 0; k < 2 * 5; k++) close(y.slice(k * 6, (k + 1) * 6), start!, 1e-7);
  });

  it('lays patches out in the order a patch convolution reads them: conv → reshape → patches to image gives the image back', () => {
    // A 2×2, stride 2 convolution whose filter f copies pixel (r, c, ch) of the patch, f = (r·2 + c)·2 + ch.
    const [p, ch, g] = [2, 2, 3];
    const per = p * p * ch;
    const kernel = new Float32Array(per * per);
    for (let f = 0; f < per; f++) kernel[f * per + f] = 1;
    const conv = tf.layers.conv2d({ filters: per, kernelSize: p, strides: p, useBias: false, weights: [tf.tensor4d(kernel, [p, p, ch, per])] });
    const image = tf.tensor4d(values(2 * g * p * g * p * ch, 8), [2, g * p, g * p, ch]);
    const rows = tf.reshape(conv.apply(image) as tfType.Tensor, [2, g * g, per]);
    const back = layer('PatchbayPatchesToImage', { patchSize: p, channels: ch }, [[g * g, per]]).apply(rows) as tfType.Tensor;
    expect(back.shape).toEqual(image.shape);
    close(back.dataSync(), image.dataSync(), 1e-6);
  });

  it('refuses columns that are not a square grid, or rows of the wrong width', () => {
    expect(() => layer('PatchbayPatchesToImage', { patchSize: 2 }, [[6, 4]])).toThrow('square grid');
    expect(() => layer('PatchbayPatchesToImage', { patchSize: 2 }, [[4, 5]])).toThrow('Patches to image needs 4 values per column (2×2×1), got 5.');
  });
});

/**
 * Checks d(Σ out·r)/d(each input) and /d(each weight) against central differences at a few
 * coordinates (float32: a large step and a loose tolerance, but a wrong gradient is far off).
 */
function gradientCheck(l: tfType.layers.Layer, inputs: tfType.Tensor[]) {
  const apply = (xs: tfType.Tensor[]) => l.apply(xs.length === 1 ? xs[0]! : xs) as tfType.Tensor;
  const outShape = apply(inputs).shape;
  const r = tf.tensor(
    values(
      outShape.reduce((a, b) => a * b, 1),
      9,
    ),
    outShape,
  );
  const objective = (xs: tfType.Tensor[]) => tf.sum(tf.mul(apply(xs), r)) as tfType.Scalar;
  const h = 1e-2;
  const compare = (analytic: ArrayLike<number>, at: (delta: number, k: number) => number) => {
    const picks = [0, Math.floor(analytic.length / 3), Math.floor((2 * analytic.length) / 3), analytic.length - 1];
    for (const k of picks) {
      const numeric = (at(h, k) - at(-h, k)) / (2 * h);
      expect(Math.abs(numeric - analytic[k]!), `coordinate ${k}: numeric ${numeric}, analytic ${analytic[k]}`).toBeLessThanOrEqual(
        2e-2 * Math.max(1, Math.abs(numeric)),
      );
    }
  };
  const grads = tf.grads((...xs: tfType.Tensor[]) => objective(xs))(inputs);
  inputs.forEach((input, i) => {
    const flat = input.dataSync();
    compare(grads[i]!.dataSync(), (delta, k) => {
      const moved = Float32Array.from(flat);
      moved[k]! += delta;
      return objective(inputs.map((x, j) => (j === i ? tf.tensor(moved, input.shape) : x))).dataSync()[0]!;
    });
  });
  for (const w of l.trainableWeights) {
    const variable = (w as unknown as { val: tfType.Variable }).val;
    const { grads: g } = tf.variableGrads(() => objective(inputs), [variable]);
    const original = variable.clone();
    const base = original.dataSync();
    compare(Object.values(g)[0]!.dataSync(), (delta, k) => {
      const moved = Float32Array.from(base);
      moved[k]! += delta;
      variable.assign(tf.tensor(moved, original.shape));
      const value = objective(inputs).dataSync()[0]!;
      variable.assign(original);
      return value;
    });
  }
}

describe('gradients, numerically checked on tiny cases', () => {
  it('GLOM update (both inputs and every weight)', () => {
    const l = layer('PatchbayGlomUpdate', { hiddenUnits: 4, sharpness: 2 }, [
      [4, 2, 3],
      [4, 3],
    ]);
    randomiseWeights(l, 21);
    gradientCheck(l, [tf.tensor4d(values(2 * 4 * 2 * 3, 22), [2, 4, 2, 3]), tf.tensor3d(values(2 * 4 * 3, 23), [2, 4, 3])]);
  });
  it('GLOM levels', () => {
    gradientCheck(layer('PatchbayGlomLevels', { levels: 2 }, [[3, 2]]), [tf.tensor3d(values(2 * 3 * 2, 24), [2, 3, 2])]);
  });
  it('Patches to image', () => {
    gradientCheck(layer('PatchbayPatchesToImage', { patchSize: 2, channels: 1 }, [[4, 4]]), [tf.tensor3d(values(2 * 4 * 4, 25), [2, 4, 4])]);
  });
});

describe('save and load', () => {
  it('a model that applies one update layer twice saves and loads back with tf.loadLayersModel: one set of weights, same outputs', async () => {
    const image = tf.input({ shape: [4, 4, 1] });
    const patches = tf.layers
      .reshape({ targetShape: [4, 3] })
      .apply(tf.layers.conv2d({ filters: 3, kernelSize: 2, strides: 2 }).apply(image)) as tfType.SymbolicTensor;
    const start = createCustomLayer('PatchbayGlomLevels', { levels: 2 })!.apply(patches) as tfType.SymbolicTensor;
    const update = createCustomLayer('PatchbayGlomUpdate', { hiddenUnits: 4, radius: 1 })!;
    const once = update.apply([start, patches]) as tfType.SymbolicTensor;
    const twice = update.apply([once, patches]) as tfType.SymbolicTensor;
    const rows = tf.layers.reshape({ targetShape: [4, 6] }).apply(twice) as tfType.SymbolicTensor;
    const pixels = tf.layers.dense({ units: 4 }).apply(rows) as tfType.SymbolicTensor;
    const out = createCustomLayer('PatchbayPatchesToImage', { patchSize: 2 })!.apply(pixels) as tfType.SymbolicTensor;
    const model = tf.model({ inputs: image, outputs: out });
    randomiseWeights(update, 31);
    // The update's weights are in the model once, however many times it is applied.
    expect(model.countParams()).toBe(2 * 2 * 1 * 3 + 3 + 2 * 3 + glomUpdateParams(4, 2, 3, 4) + 6 * 4 + 4);
    let saved: tfType.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const x = tf.tensor4d(values(2 * 16, 32), [2, 4, 4, 1]);
    close((loaded.predict(x) as tfType.Tensor).dataSync(), (model.predict(x) as tfType.Tensor).dataSync(), 1e-6);
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
  });
});

function glomDoc(preset = 'tiny'): GraphDocument {
  const r = templateDocument('glom', preset);
  if ('error' in r) throw new Error(r.error);
  return r.doc;
}

const compile = (doc: GraphDocument) => {
  const analysis = analyzeProgram(doc)!;
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { analysis, program: lowerProgram(analysis).program! };
};

const digits = (count: number, seed: number): Dataset => {
  const x = Float32Array.from(values(count * 784, seed), (v) => Math.max(0, v));
  const y = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { name: 'noise', inputShape: [28, 28, 1], classNames: Array.from({ length: 10 }, (_, i) => String(i)), train: { x, y, count }, test: { x, y, count } };
};

describe('the glom template: iterations share one network', () => {
  it('each procedure applies the update network three times, and its weights count once', () => {
    const doc = glomDoc('small');
    const { analysis, program } = compile(doc);
    for (const proc of program.procedures) expect(proc.steps.filter((s) => s.kind === 'apply' && s.network === 'update').length).toBe(3);
    expect(program.networks.filter((n) => n.id === 'update').length).toBe(1);
    const counts = Object.fromEntries(networkCounts(analysis).map((n) => [n.name, n.trainableParams]));
    expect(counts.update).toBe(glomUpdateParams(49, 3, 32, 32));
    // A fourth iteration adds applications, not weights.
    const more = structuredClone(doc);
    const train = more.program!.procedures.find((p) => p.id === 'train')!;
    train.nodes.push({ id: 'iteration4', type: 'Network', params: { network: 'update' }, position: { x: 0, y: 0 } });
    for (const e of train.edges) if (e.source === 'iteration3' && e.target === 'decoder') e.source = 'iteration4';
    train.edges.push({ id: 'i3-i4', source: 'iteration3', sourcePort: 'next', target: 'iteration4', targetPort: 'levels' });
    train.edges.push({ id: 'c-i4', source: 'columns', sourcePort: 'patches', target: 'iteration4', targetPort: 'patches' });
    const four = compile(more);
    expect(four.program.procedures[0]!.steps.filter((s) => s.kind === 'apply' && s.network === 'update').length).toBe(4);
    expect(networkCounts(four.analysis)).toEqual(networkCounts(analysis));
  });

  it('one SGD step moves the update weights by the learning rate times the gradient summed over all three iterations', async () => {
    const doc = glomDoc('tiny');
    const minimize = doc.program!.procedures[0]!.nodes.find((n) => n.id === 'minimize')!;
    const lr = 0.5;
    minimize.params = { ...minimize.params, optimizer: 'sgd', momentum: 0, learningRate: lr, schedule: 'constant' };
    const { program } = compile(doc);
    const run = new ProgramRun(tf, program, 7);
    const ds = digits(4, 40);
    const model = (id: string) => run.networks.get(id)!.model;
    const variables = model('update').trainableWeights.map((w) => (w as unknown as { val: tfType.Variable }).val);
    const before = variables.map((v) => v.clone());
    // The same batch the run draws (four examples: one batch, in the order the seeded shuffle gives it).
    const { shuffledIndices, seededRandom } = await import('../src/runtime/data/dataset');
    const order = shuffledIndices(4, seededRandom(7));
    const batch = tf.tensor4d(Float32Array.from(Array.from(order).flatMap((i) => Array.from(ds.train.x.subarray(i * 784, (i + 1) * 784)))), [4, 28, 28, 1]);
    const corrupted = runOp(tf, 'CorruptImage', { stddev: 0.3, dropPatches: 0.25, patchSize: 4 }, [batch], { seed: 7, step: 0, nodeId: 'corrupt' });
    const [patches, start] = model('model').apply(corrupted) as tfType.Tensor[];
    // Gradient through iteration k alone: the other iterations apply a copy of the network (its own
    // variables, the same values), so the gradient reaches the real weights only through iteration k.
    const copy = buildModel(program.networks.find((n) => n.id === 'update')!.plan, { seed: 7 });
    copy.setWeights(model('update').getWeights());
    const frozen = (x: tfType.Tensor) => copy.apply([x, patches!]) as tfType.Tensor;
    const lossThrough = (live: Set<number>) => () => {
      let x = start!;
      for (let k = 0; k < 3; k++) x = live.has(k) ? (model('update').apply([x, patches!]) as tfType.Tensor) : frozen(x);
      return tf.mean(tf.squaredDifference(model('decoder').apply(x) as tfType.Tensor, batch)) as tfType.Scalar;
    };
    const gradient = (live: Set<number>) => variables.map((v) => tf.variableGrads(lossThrough(live), [v]).grads[v.name]!.dataSync());
    const all = gradient(new Set([0, 1, 2]));
    const each = [0, 1, 2].map((k) => gradient(new Set([k])));
    all.forEach((g, i) =>
      close(
        g,
        g.map((_, j) => each[0]![i]![j]! + each[1]![i]![j]! + each[2]![i]![j]!),
        1e-5,
      ),
    );
    // Every iteration contributes: the last one's gradient alone is far from the total.
    const gap = Math.max(...all.flatMap((g, i) => Array.from(g, (v, j) => Math.abs(v - each[2]![i]![j]!))));
    expect(gap).toBeGreaterThan(1e-4);

    const manualLoss = lossThrough(new Set([0, 1, 2]))().dataSync()[0]!;
    const result = await runProgram(tf, run, ds, { seed: 7, batchSize: 4, epochs: 1, epochsOverride: 1, limit: 4 });
    // The step saw the batch and corruption computed here.
    expect(result.procedures[0]!.curves.reconstruction).toEqual([manualLoss]);
    variables.forEach((v, i) => {
      const moved = Array.from(before[i]!.dataSync(), (b, j) => (b - v.dataSync()[j]!) / lr);
      close(moved, all[i]!, 2e-4);
    });
    run.dispose();
  });
});

describe('the glom template learns', () => {
  it('40 training steps on MNIST bring the held-out reconstruction loss below both trivial answers: the corrupted input and the mean image (wasm backend, tiny preset)', async () => {
    const mnist = await loadMnistNode();
    // The wasm backend: these 40 steps take seconds there, minutes on the cpu backend.
    await useWasmBackend({ threads: 1 });
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    // A short run at a high, constant learning rate: 40 steps of 32 digits.
    const doc = glomDoc('tiny');
    const minimize = doc.program!.procedures[0]!.nodes.find((n) => n.id === 'minimize')!;
    minimize.params = { ...minimize.params, learningRate: 1e-2, schedule: 'constant' };
    const { program } = compile(doc);
    const run = new ProgramRun(tf, program, 1);
    const result = await runProgram(tf, run, mnist, { seed: 1, batchSize: 32, epochs: 1, epochsOverride: 1, limit: 1280 });
    run.dispose();
    await tf.setBackend('cpu');
    expect(result.status).toBe('completed');
    const metrics = result.metrics as { reconstructionLoss: number; baselines: { corruptedInput: number; meanImage: number } };
    expect(metrics.baselines.corruptedInput).toBeGreaterThan(0.03);
    expect(metrics.baselines.meanImage).toBeGreaterThan(0.03);
    expect(metrics.reconstructionLoss).toBeLessThan(Math.min(metrics.baselines.corruptedInput, metrics.baselines.meanImage));
  }, 120_000);
});

describe('the island maps', () => {
  it('join neighbours at or above the threshold: a 3×3 grid whose left column disagrees with the rest', () => {
    // Horizontal pairs (3 rows × 2), then vertical pairs (2 rows × 3); the pairs across column 0 | 1 are low.
    const across = [0.2, 0.99, 0.2, 0.99, 0.2, 0.99];
    const down = [0.99, 0.99, 0.99, 0.99, 0.99, 0.99];
    const islands = islandsOf([...across, ...down], 0, 3, 0.95);
    expect(new Set(islands).size).toBe(2);
    expect(new Set([0, 3, 6].map((i) => islands[i])).size).toBe(1);
    expect(new Set([1, 2, 4, 5, 7, 8].map((i) => islands[i])).size).toBe(1);
    expect(islands[0]).not.toBe(islands[1]);
    expect(new Set(islandsOf([...across, ...down], 0, 3, 0.999)).size).toBe(9);
  });

  it('report the cosine similarity of neighbouring columns after the iterations, and the reconstructions, leaking nothing', async () => {
    const { program } = compile(glomDoc('tiny'));
    const run = new ProgramRun(tf, program, 5);
    const ds = digits(3, 50);
    const models = new Map([...run.networks].map(([id, s]) => [id, s.model]));
    const request = { columnsNetwork: 'model', updateNetwork: 'update', decoderNetwork: 'decoder', iterations: 3, testCount: 2 };
    const before = tf.memory().numTensors;
    const a = await answerGlomIslands(tf, models, ds, request);
    expect(tf.memory().numTensors).toBe(before);
    expect([a.grid, a.levels, a.labels, a.reconstructions.length]).toEqual([7, 3, [0, 1], 2 * 784]);
    expect(a.similarities.length).toBe(2 * 3 * neighbourPairs(7));
    // The same chain by hand: example 1, level 2, the vertical pair (row 3, column 4) – (row 4, column 4).
    const [patches, start] = models.get('model')!.predict(tf.tensor4d(ds.test.x.slice(0, 2 * 784), [2, 28, 28, 1])) as tfType.Tensor[];
    let levels = start!;
    for (let i = 0; i < 3; i++) levels = models.get('update')!.predict([levels, patches!]) as tfType.Tensor;
    const v = levels.arraySync() as number[][][][];
    const [p, q] = [v[1]![3 * 7 + 4]![2]!, v[1]![4 * 7 + 4]![2]!];
    const cosine = dot(p, q) / Math.sqrt(dot(p, p) * dot(q, q));
    expect(a.similarities[(1 * 3 + 2) * neighbourPairs(7) + 7 * 6 + 3 * 7 + 4]).toBeCloseTo(cosine, 5);
    close(a.reconstructions, (models.get('decoder')!.predict(levels) as tfType.Tensor).dataSync(), 1e-6);
    await expect(answerGlomIslands(tf, models, ds, { ...request, updateNetwork: 'nope' })).rejects.toThrow('The trained program has no network "nope".');
    run.dispose();
  });
});
