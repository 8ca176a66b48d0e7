/**
 * Weights whose model.json has no topology (a PyTorch export's save_tfjs_weights without
 * tfjs-topology.json) load by their tfjs names into a model built from the graph's plan; weights of
 * another graph are refused with the names that are missing. Such a model.json cannot open as a
 * graph, and the import says why and what to do.
 */
import { describe, expect, it } from 'vitest';
import { analyze, lower } from '../src/compiler/index';
import { importModel } from '../src/compiler/import-keras';
import { fromModelJson, toModelJson } from '../src/runtime/tfjs-format';
import { templateDocument } from '../templates/index';

async function runtime() {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await import('../src/runtime/custom-layers');
  const { buildModel } = await import('../src/runtime/build');
  const { artifactsOf, loadArtifactsInto } = await import('../src/runtime/saved-weights');
  return { tf, buildModel, artifactsOf, loadArtifactsInto };
}

const planOf = (template: string, preset: string) => {
  const r = templateDocument(template, preset);
  if ('error' in r) throw new Error(r.error);
  return lower(analyze(r.doc)).plan!;
};

describe('weights without a topology', () => {
  it('load by name into the graph they were saved from, and give the same outputs', async () => {
    const { tf, buildModel, artifactsOf, loadArtifactsInto } = await runtime();
    const plan = planOf('convmixer', 'mnist');
    const trained = buildModel(plan, { seed: 5 });
    const saved = await artifactsOf(tf, trained);
    // As save_tfjs_weights writes it without tfjs-topology.json, read back as the editor reads it.
    const text = JSON.stringify({ ...toModelJson(saved), modelTopology: null });
    const weights = fromModelJson(text, new Map([['weights.bin', saved.weightData]]));
    expect(weights.modelTopology).toBeNull();
    const fresh = buildModel(plan, { seed: 6 });
    await loadArtifactsInto(tf, fresh, weights);
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(trained.predict(x) as typeof x, fresh.predict(x) as typeof x))).dataSync()[0]!);
    expect(diff).toBe(0);

    const other = buildModel(planOf('mlp-mixer', 'mnist'));
    await expect(loadArtifactsInto(tf, other, weights)).rejects.toThrow(
      /The saved weights do not fit this graph: \d+ of its \d+ weights are not in the file \(first: /,
    );
    tf.dispose([x]);
    for (const m of [trained, fresh, other]) m.dispose();

    expect(importModel(text).problems[0]!.reason).toContain('its modelTopology is null');
  });
});
