import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeProgram, lowerProgram } from '../compiler/program';
import { formatDiagnostics } from '../document/diagnostics';
import { TrainingSchema, type GraphDocument } from '../document/schema';
import { quoted } from '../document/text';
import type { Dataset } from '../runtime/data/dataset';
import { programDataset } from './program-data';

export interface ProgramTrainArgs {
  data: string;
  epochs?: number;
  batchSize?: number;
  backend: 'wasm' | 'cpu';
  limit?: number;
  json: boolean;
  /** Write each network's weights (tfjs format) under this folder. */
  save?: string;
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  status: (text: string) => void;
}

export class ProgramUsageError extends Error {}

const fixed = (x: number) => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(4));

/**
 * `patchbay train` for a document with a training program: every procedure in order (training
 * ones with live loss values, evaluations with their metrics), the same interpreter the browser
 * worker runs. With --json it ends with one object whose `metrics` holds the evaluation results.
 */
export async function trainProgramCommand(doc: GraphDocument, args: ProgramTrainArgs, io: Io): Promise<number> {
  const analysis = analyzeProgram(doc)!;
  const { program, diagnostics } = lowerProgram(analysis);
  if (!program) {
    for (const line of formatDiagnostics(diagnostics)) io.err(line);
    io.err('Nothing was trained: fix the errors above first.');
    return 1;
  }
  const setup = TrainingSchema.parse({ ...doc.training, ...(args.batchSize ? { batchSize: args.batchSize } : {}) });
  const tf = await import('@tensorflow/tfjs');
  if (args.backend === 'wasm') {
    const { useWasmBackend } = await import('../runtime/wasm-backend');
    await useWasmBackend();
  } else await tf.setBackend('cpu');
  await tf.ready();
  const { ProgramRun, runProgram } = await import('../runtime/program/run');
  const loaded = await programDataset(program, args.data);
  if ('error' in loaded) throw new ProgramUsageError(`"${quoted(doc.name)}": ${loaded.error}`);
  const ds: Dataset = loaded;
  const run = new ProgramRun(tf, program, setup.seed);
  if (!args.json) {
    const nets = program.networks.map((n) => `${n.id} (${(n.plan.count.trainable + n.plan.count.nonTrainable).toLocaleString('en-US')})`).join(', ');
    io.err(
      `Running "${quoted(doc.name)}" on ${ds.name}: networks ${nets}; ${program.procedures.map((p) => `"${quoted(p.label)}"`).join(' → ')}; batch ${setup.batchSize}, backend ${tf.getBackend()}.`,
    );
  }
  let result;
  try {
    result = await runProgram(tf, run, ds, {
      seed: setup.seed,
      batchSize: setup.batchSize,
      epochs: setup.epochs,
      epochsOverride: args.epochs,
      limit: args.limit,
      onProcedure: (p) => {
        if (!args.json) {
          io.status('');
          io.err(`${p.kind === 'train' ? 'Training' : 'Evaluating'}: ${quoted(p.label)}`);
        }
      },
      onStep: (s) => {
        if (args.json) return;
        const losses = Object.entries(s.losses)
          .map(([k, v]) => `${k} ${fixed(v)}`)
          .join('  ');
        io.status(`epoch ${s.epoch}  step ${s.step}/${s.totalSteps}  ${losses}  ${s.stepsPerSecond.toFixed(2)} steps/s`);
        if (s.step === s.totalSteps || s.step % 50 === 0) {
          io.status('');
          io.err(`  step ${s.step}/${s.totalSteps}: ${losses}`);
        }
      },
    });
    if (args.save && result.status === 'completed') await saveNetworks(tf, run, args.save);
  } finally {
    run.dispose();
  }
  const summary = {
    status: result.status,
    message: result.message,
    backend: tf.getBackend(),
    seconds: result.seconds,
    procedures: result.procedures.map((p) => ({
      id: p.id,
      label: p.label,
      kind: p.kind,
      steps: p.steps,
      seconds: p.seconds,
      finalLosses: Object.fromEntries(Object.entries(p.curves).map(([k, v]) => [k, lastMean(v)])),
    })),
    metrics: result.metrics,
  };
  if (args.json) io.out(JSON.stringify(summary, null, 2));
  else {
    io.status('');
    io.out(`Metrics: ${JSON.stringify(result.metrics)}`);
    io.out(`Took ${result.seconds.toFixed(0)} s on ${summary.backend}.`);
  }
  if (result.status === 'failed') {
    io.err(result.message ?? 'Training failed.');
    return 1;
  }
  return 0;
}

/** The mean of the last 20 values: a step's loss is noisy. */
function lastMean(values: number[]): number | null {
  if (!values.length) return null;
  const tail = values.slice(-20);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

async function saveNetworks(tf: typeof import('@tensorflow/tfjs'), run: import('../runtime/program/run').ProgramRun, dir: string): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  for (const [id, state] of run.networks) {
    const folder = join(dir, id);
    mkdirSync(folder, { recursive: true });
    await state.model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightsManifest = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }];
        writeFileSync(
          join(folder, 'model.json'),
          JSON.stringify({ format: 'layers-model', generatedBy: 'Patchbay', modelTopology: artifacts.modelTopology, weightsManifest }, null, 2),
        );
        const data = artifacts.weightData;
        const buffers = Array.isArray(data) ? data : data ? [data] : [];
        writeFileSync(join(folder, 'weights.bin'), Buffer.concat(buffers.map((b) => Buffer.from(b))));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  }
}
