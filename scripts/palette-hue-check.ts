/**
 * Did Palette colourise's samples take their digit's class colour? Reads the outputs that
 * `patchbay sample palette --preset colourise --weights DIR --count N --out FILE.json` wrote (the
 * first N held-out MNIST digits, in order) and, for each, measures the colour the sample gave the
 * stroke: the least-squares gain Σ grey·sample / Σ grey² per channel over the digit's pixels (its
 * grey in [0, 1]; the true target is grey × its class colour, so the true gain is that colour).
 * Reports, beside chance (1 in 10):
 * - hueRight: the share whose hue (the angle of the gain's Rec. 601 (Cb, Cr)) is nearest their
 *   class's of the 10 hues Colour by class spreads 36° apart;
 * - colourRight: the share whose gain is nearest (in RGB) their class's colour of the 10;
 * - meanChroma: the gains' mean chroma, against the preset's 0.28 (smaller: washed-out colours);
 * - mistakes: "true→taken" for each wrong hue.
 *
 *   npx tsx scripts/palette-hue-check.ts samples.json [LUMINANCE CHROMA]   (defaults 0.5 0.28, the preset's)
 */
import { readFileSync } from 'node:fs';
import { loadMnistNode } from '../src/runtime/data/mnist-node';
import { classColours, LUMA } from '../src/runtime/program/image-to-image';

const [file, luma = '0.5', chroma = '0.28'] = process.argv.slice(2);
if (!file) throw new Error('Usage: npx tsx scripts/palette-hue-check.ts samples.json [LUMINANCE CHROMA]');
const { shape, data } = JSON.parse(readFileSync(file, 'utf8')) as { shape: number[]; data: number[] };
if (shape.length !== 4 || shape[3] !== 3) throw new Error(`Expected RGB samples [N, 28, 28, 3], read [${shape.join(', ')}].`);
const classes = 10;
const colours = classColours(classes, Number(luma), Number(chroma));
const pixels = shape[1]! * shape[2]!;
const ds = await loadMnistNode();

/** The (Cb, Cr) of an RGB colour by Rec. 601: B − Y and R − Y scaled as classColours makes them. */
const chromaOf = (c: number[]) => {
  const y = LUMA[0] * c[0]! + LUMA[1] * c[1]! + LUMA[2] * c[2]!;
  return [(c[2]! - y) / 1.772, (c[0]! - y) / 1.402] as const;
};
const step = (2 * Math.PI) / classes;
let [hueRight, colourRight, chromaSum] = [0, 0, 0];
const mistakes: string[] = [];
for (let i = 0; i < shape[0]!; i++) {
  const gain = [0, 0, 0];
  let norm = 0;
  for (let p = 0; p < pixels; p++) {
    const g = ds.test.x[i * pixels + p]!;
    norm += g * g;
    for (let c = 0; c < 3; c++) gain[c]! += g * data[(i * pixels + p) * 3 + c]!;
  }
  for (let c = 0; c < 3; c++) gain[c]! /= norm;
  const truth = ds.test.y[i]!;
  const [cb, cr] = chromaOf(gain);
  chromaSum += Math.hypot(cb, cr);
  const hue = (((Math.round(Math.atan2(cr, cb) / step) % classes) + classes) % classes) as number;
  if (hue === truth) hueRight++;
  else mistakes.push(`${truth}→${hue}`);
  let [nearest, best] = [0, Infinity];
  for (let k = 0; k < classes; k++) {
    const d = (gain[0]! - colours[k * 3]!) ** 2 + (gain[1]! - colours[k * 3 + 1]!) ** 2 + (gain[2]! - colours[k * 3 + 2]!) ** 2;
    if (d < best) [nearest, best] = [k, d];
  }
  if (nearest === truth) colourRight++;
}
const n = shape[0]!;
console.log(JSON.stringify({ samples: n, hueRight: hueRight / n, colourRight: colourRight / n, meanChroma: chromaSum / n, mistakes: mistakes.join(' ') }));
