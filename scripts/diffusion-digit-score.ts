/**
 * How digit-like are a diffusion model's samples? Trains the ConvMixer template (its MNIST preset)
 * on the 8,000 MNIST training digits, then scores each samples file that `patchbay sample …
 * --out FILE.json` wrote, beside the same measures on 500 real held-out digits and on 500 images of
 * uniform noise:
 * - kid: the kernel distance (KID, unbiased squared MMD, cubic polynomial kernel) between the
 *   samples' features (the classifier's global average pool) and those of 500 other held-out digits:
 *   about 0 for real digits, hundreds for noise. This is the measure of "looks like digits";
 * - topClassShare: the share of the most common class (real digits ≈ 0.1–0.14; one digit only, or
 *   blobs and noise, which this classifier calls 8s, near 1);
 * - meanMaxConfidence, confidentShare (top probability above 0.9) and classCounts. The confidence
 *   alone does not say "digit": the classifier calls uniform noise an 8 with probability 1.
 *
 *   npx tsx scripts/diffusion-digit-score.ts samples.json [more.json …]   (EPOCHS=1 by default)
 *
 * The classifier's weights go to .tmp/convmixer-scorer (reused when present; delete to retrain).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { analyze, lower } from '../src/compiler/index';
import { TrainingSchema } from '../src/document/schema';
import { buildModel } from '../src/runtime/build';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { trainClassifier } from '../src/runtime/training/train';
import { useWasmBackend } from '../src/runtime/wasm-backend';
import { templateDocument } from '../templates/index';

const ROOT = join(import.meta.dirname, '..');
const CACHE = join(ROOT, '.tmp', 'convmixer-scorer');

await useWasmBackend();
const template = templateDocument('convmixer', 'mnist');
if ('error' in template) throw new Error(template.error);
const { plan } = lower(analyze(template.doc));
if (!plan) throw new Error('The ConvMixer template does not lower.');
const setup = TrainingSchema.parse({ ...template.doc.training, epochs: Number(process.env.EPOCHS ?? 1) });
const ds = await loadMnistNode();
const model = buildModel(plan, { seed: setup.seed });
let testAccuracy: number | null = null;
if (existsSync(join(CACHE, 'weights.json'))) {
  const saved = JSON.parse(readFileSync(join(CACHE, 'weights.json'), 'utf8')) as { testAccuracy: number; weights: Array<{ shape: number[]; data: number[] }> };
  model.setWeights(saved.weights.map((w) => tf.tensor(w.data, w.shape)));
  testAccuracy = saved.testAccuracy;
} else {
  const started = performance.now();
  const result = await trainClassifier(tf, model, ds, setup);
  testAccuracy = result.final?.test.accuracy ?? null;
  console.error(
    `Trained the ConvMixer scorer: ${setup.epochs} epoch(s), test accuracy ${testAccuracy}, ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  );
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(
    join(CACHE, 'weights.json'),
    JSON.stringify({ testAccuracy, weights: model.getWeights().map((w) => ({ shape: w.shape, data: Array.from(w.dataSync()) })) }),
  );
}

// The template's head is a softmax Dense: its outputs are probabilities already (a second softmax
// would squash every row towards uniform, top probability ≤ e / (e + 9) ≈ 0.23). Logits get one.
const lastLayer = model.layers[model.layers.length - 1]!;
const outputsProbabilities = (lastLayer.getConfig() as { activation?: string }).activation === 'softmax';
// The features the head classifies (the global average pool before it), for the kernel distance.
const pool = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D');
if (!pool) throw new Error('The ConvMixer template has no global average pool to take features from.');
const featureModel = tf.model({ inputs: model.inputs, outputs: pool.output as tf.SymbolicTensor });

/**
 * KID (Bińkowski et al. 2018): the unbiased squared MMD between two sets of features with the cubic
 * polynomial kernel k(x, y) = (x·y / d + 1)³, the kernel distance used in place of FID for small
 * sets (unbiased at any size, no matrix square root). 0 when both sets come from one distribution.
 */
function kid(x: tf.Tensor2D, y: tf.Tensor2D): number {
  return tf.tidy(() => {
    const d = x.shape[1];
    const k = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.pow(tf.add(tf.div(tf.matMul(a, b, false, true), d), 1), 3);
    const m = x.shape[0];
    const n = y.shape[0];
    // The mean over i ≠ j: the whole sum less the trace (the diagonal band).
    const offDiagonalMean = (g: tf.Tensor, size: number) =>
      (tf.sum(g).dataSync()[0]! - tf.sum(tf.linalg.bandPart(g, 0, 0)).dataSync()[0]!) / (size * (size - 1));
    return offDiagonalMean(k(x, x), m) + offDiagonalMean(k(y, y), n) - (2 * tf.sum(k(x, y)).dataSync()[0]!) / (m * n);
  });
}

const per = 28 * 28;
const reference = tf.tensor4d(ds.test.x.slice(0, 500 * per), [500, 28, 28, 1]);
const referenceFeatures = featureModel.predict(reference) as tf.Tensor2D;

function score(images: tf.Tensor4D) {
  const probs = tf.tidy(() => {
    const out = model.predict(images) as tf.Tensor;
    return outputsProbabilities ? out : tf.softmax(out);
  });
  const rows = probs.arraySync() as number[][];
  probs.dispose();
  const features = featureModel.predict(images) as tf.Tensor2D;
  const kernelDistance = kid(features, referenceFeatures);
  features.dispose();
  const top = rows.map((r) => Math.max(...r));
  const classCounts = Array.from({ length: 10 }, (_, c) => rows.filter((r) => r.indexOf(Math.max(...r)) === c).length);
  return {
    count: rows.length,
    kid: kernelDistance,
    topClassShare: Math.max(...classCounts) / rows.length,
    meanMaxConfidence: top.reduce((a, b) => a + b, 0) / top.length,
    confidentShare: top.filter((p) => p > 0.9).length / top.length,
    classCounts,
  };
}

// Other real digits than the reference (held-out 500–999), and uniform noise, which the classifier
// calls an 8 with full confidence: why its confidence alone does not say "digit".
const real = tf.tensor4d(ds.test.x.slice(500 * per, 1000 * per), [500, 28, 28, 1]);
const noise = tf.randomUniform([500, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
const report: Record<string, unknown> = {
  scorer: { template: 'convmixer mnist', epochs: setup.epochs, testAccuracy, kidReference: '500 held-out digits (0–499)' },
  realDigits: score(real),
  uniformNoise: score(noise),
};
for (const file of process.argv.slice(2)) {
  const { shape, data } = JSON.parse(readFileSync(file, 'utf8')) as { shape: number[]; data: number[] };
  const images = tf.tensor4d(data, shape as [number, number, number, number]);
  report[file] = score(images);
  images.dispose();
}
console.log(JSON.stringify(report, null, 2));
