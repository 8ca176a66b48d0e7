/**
 * Core benchmarks: validate + infer on large graphs, re-inference after one param edit, and the
 * tfjs build of ConvMixer 768/32. Run with `npm run bench`. Figures are medians of repeated runs on
 * this machine; compare ratios within one run, not across machines.
 */
import { performance } from 'node:perf_hooks';
import { analyze, createAnalyzer } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { templateDocument } from '../templates/index';
import { branchyGraph, chainGraph, editParam } from './graphs';

function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void, runs: number): number {
  fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

const ms = (x: number) => `${x.toFixed(3)} ms`;
const rows: string[][] = [['graph', 'nodes', 'full validate+infer', 'per node', 'edit, same shapes', 'edit, shapes change after it']];

for (const make of [chainGraph, branchyGraph]) {
  for (const size of [100, 1_000, 5_000]) {
    const graph = make(size);
    const full = time(() => analyze(graph), size >= 5_000 ? 10 : 30);
    if (analyze(graph).diagnostics.length) throw new Error(`benchmark graph ${graph.name} has diagnostics`);
    // Incremental: one analyzer kept across edits, as the editor keeps it.
    const incremental = createAnalyzer();
    incremental(graph);
    const middle = Math.floor(size / 2) - (Math.floor(size / 2) % 3) + 2; // an Activation node
    let flip = false;
    const sameShape = time(() => {
      flip = !flip;
      incremental(editParam(graph, middle, { activation: flip ? 'tanh' : 'relu' }));
    }, 50);
    const dense = graph.nodes.findIndex((n, i) => i > size / 2 && n.type === 'Dense');
    let units = 64;
    const shapeChange = time(() => {
      units = units === 64 ? 32 : 64;
      incremental(editParam(graph, dense, { units }));
    }, 20);
    rows.push([graph.name.replace(/ of \d+/, ''), String(size), ms(full), `${((full / size) * 1000).toFixed(2)} µs`, ms(sameShape), ms(shapeChange)]);
  }
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log('Validate + infer (our own shape inference, no tfjs), median:');
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
console.log('(edits change one node in the middle; with a Dense width change, everything after it is re-inferred, as a Add-joined graph needs)\n');

// tfjs build of ConvMixer 768/32 (21.1M params, CPU backend: weight initialisation dominates).
const tf = await import('@tensorflow/tfjs');
const { buildModel } = await import('../src/runtime/build');
await tf.setBackend('cpu');
const preset = templateDocument('convmixer', '768/32');
if ('error' in preset) throw new Error(preset.error);
const t0 = performance.now();
const analysis = analyze(preset.doc);
const { plan } = lower(analysis);
const compileMs = performance.now() - t0;
const builds: number[] = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const model = buildModel(plan!);
  builds.push(performance.now() - t);
  model.dispose();
}
console.log(
  `ConvMixer 768/32: analyze + lower ${ms(compileMs)}; tfjs build (cpu backend, ${analysis.count.trainable.toLocaleString('en-US')} trainable params) median of 3: ${ms(median(builds))}`,
);
