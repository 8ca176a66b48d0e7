/**
 * How digit-like are a diffusion model's samples? Trains the ConvMixer template (its MNIST preset)
 * on the 8,000 MNIST training digits, then classifies each samples file that `patchbay sample …
 * --out FILE.json` wrote and reports, beside the same measures on 500 real held-out digits and on
 * 500 images of uniform noise:
 * - meanMaxConfidence: the classifier's top softmax probability, averaged over the samples;
 * - confidentShare: the share of samples whose top probability is above 0.9;
 * - classCounts: how many samples fall in each class (a model that draws one digit only collapses).
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

function score(images: tf.Tensor4D) {
  const probs = tf.tidy(() => tf.softmax(model.predict(images) as tf.Tensor));
  const rows = probs.arraySync() as number[][];
  probs.dispose();
  const top = rows.map((r) => Math.max(...r));
  const classCounts = Array.from({ length: 10 }, (_, c) => rows.filter((r) => r.indexOf(Math.max(...r)) === c).length);
  return {
    count: rows.length,
    meanMaxConfidence: top.reduce((a, b) => a + b, 0) / top.length,
    confidentShare: top.filter((p) => p > 0.9).length / top.length,
    classCounts,
  };
}

const per = 28 * 28;
const real = tf.tensor4d(ds.test.x.slice(0, 500 * per), [500, 28, 28, 1]);
const noise = tf.randomUniform([500, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
const report: Record<string, unknown> = {
  scorer: { template: 'convmixer mnist', epochs: setup.epochs, testAccuracy },
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
