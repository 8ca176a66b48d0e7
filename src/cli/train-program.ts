import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeProgram, lowerProgram, proceduresCoveredBy } from '../compiler/program';
import { formatDiagnostics } from '../document/diagnostics';
import { memoryNote } from './memory-note';
import { TrainingSchema, type GraphDocument } from '../document/schema';
import { quoted } from '../document/text';
import { hasSavedNetwork, readSavedNetwork } from './saved-networks';
import type { Dataset } from '../runtime/data/dataset';
import { programDataset } from './program-data';
import { describeBackend, startBackend } from './backend';

export interface ProgramTrainArgs {
  data: string;
  epochs?: number;
  batchSize?: number;
  backend: 'wasm' | 'cpu';
  /** wasm threads (default: every core). */
  threads?: number;
  limit?: number;
  json: boolean;
  /** Write each network's weights (tfjs format) under this folder. */
  save?: string;
  /**
   * Start networks from weights a run saved with --save (DIR/<network>/model.json); train procedures
   * that would train only those networks are skipped (distillation's teacher from an earlier run).
   */
  weights?: string;
  /** With --weights: only these networks (default: every network saved there). */
  networks?: string[];
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
  const active = await startBackend(tf, args.backend, args.threads, io.err);
  const { ProgramRun, runProgram } = await import('../runtime/program/run');
  const loaded = await programDataset(program, args.data);
  if ('error' in loaded) throw new ProgramUsageError(`"${quoted(doc.name)}": ${loaded.error}`);
  const ds: Dataset = loaded;
  const run = new ProgramRun(tf, program, setup.seed);
  let skip: string[] = [];
  if (args.weights) {
    let loaded: string[];
    try {
      const ids = program.networks.map((n) => n.id);
      const unknown = (args.networks ?? []).filter((n) => !ids.includes(n));
      if (unknown.length)
        throw new ProgramUsageError(
          `--networks names ${unknown.map((n) => `"${quoted(n)}"`).join(', ')}, which this program does not have; its networks: ${ids.join(', ')}.`,
        );
      loaded = await loadSavedNetworks(tf, run, args.networks ?? ids, args.weights, args.networks !== undefined);
    } catch (err) {
      run.dispose();
      throw err;
    }
    skip = proceduresCoveredBy(program, new Set(loaded));
    if (!args.json) {
      io.err(`Networks ${loaded.join(', ')} start from ${quoted(args.weights)}.`);
      if (skip.length)
        io.err(`Skipped, as their networks come trained: ${skip.map((id) => `"${quoted(program.procedures.find((p) => p.id === id)!.label)}"`).join(', ')}.`);
    }
  }
  if (!args.json) {
    const note = memoryNote(doc, setup.batchSize);
    if (note) io.err(note);
    const nets = program.networks.map((n) => `${n.id} (${(n.plan.count.trainable + n.plan.count.nonTrainable).toLocaleString('en-US')})`).join(', ');
    io.err(
      `Running "${quoted(doc.name)}" on ${ds.name}: networks ${nets}; ${program.procedures.map((p) => `"${quoted(p.label)}"`).join(' → ')}; batch ${setup.batchSize}, backend ${describeBackend(active)}.`,
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
      skipProcedures: new Set(skip),
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
    threads: active.threads,
    seconds: result.seconds,
    procedures: result.procedures.map((p) => ({
      id: p.id,
      label: p.label,
      kind: p.kind,
      ...(p.skipped ? { skipped: true } : {}),
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

/**
 * Loads each network that has a folder under `dir` (as --save writes them); the ids of those loaded.
 * Throws a ProgramUsageError naming the folder when none is there or one does not fit.
 */
async function loadSavedNetworks(
  tf: typeof import('@tensorflow/tfjs'),
  run: import('../runtime/program/run').ProgramRun,
  ids: string[],
  dir: string,
  everyOne: boolean,
): Promise<string[]> {
  const loaded: string[] = [];
  for (const id of ids) {
    if (!hasSavedNetwork(join(dir, id))) {
      if (everyOne) throw new ProgramUsageError(`${quoted(join(dir, id))} has no model.json: --networks asks for network "${id}" from there.`);
      continue;
    }
    try {
      const weights = readSavedNetwork(join(dir, id));
      await run.loadNetwork(id, weights);
    } catch (err) {
      throw new ProgramUsageError(`Could not start network "${id}" from ${quoted(join(dir, id))}: ${err instanceof Error ? err.message : String(err)}`);
    }
    loaded.push(id);
  }
  if (!loaded.length)
    throw new ProgramUsageError(
      `${quoted(dir)} holds no saved network of this program: expected folders named ${ids.join(', ')}, each with model.json and weights.bin (as --save writes them).`,
    );
  return loaded;
}

async function saveNetworks(tf: typeof import('@tensorflow/tfjs'), run: import('../runtime/program/run').ProgramRun, dir: string): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  // A moving-average copy (the weights a diffusion model samples with) goes beside its network as "<id>-ema".
  const saved = [...run.networks].flatMap(([id, state]) => [{ id, model: state.model }, ...(state.ema ? [{ id: `${id}-ema`, model: state.ema }] : [])]);
  for (const { id, model } of saved) {
    const folder = join(dir, id);
    mkdirSync(folder, { recursive: true });
    await model.save(
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
