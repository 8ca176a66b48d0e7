import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatDiagnostic, formatDiagnostics, hasErrors, type Diagnostic } from '../document/diagnostics';
import { quoted } from '../document/text';
import type { GraphDocument } from '../document/schema';
import { MAX_DOCUMENT_BYTES } from '../document/limits';
import { tooLarge } from '../document/load';
import { applyPreset, presetsOf } from '../document/templates';
import { analyze, emit, formatSummary, loadGraph, lower, summarize } from '../compiler/index';
import { TEMPLATES, templateDocument } from '../../templates/index';
import { analyzeProgram, lowerProgram, networkCounts, type PlanProgram, type ProgramAnalysis } from '../compiler/program';
import { forTerminal } from '../compiler/memory';
import { emitProgram } from '../compiler/emit-program';
import { trainCommand, TrainUsageError } from './train';

const USAGE = `Usage: patchbay <command> [options]

Commands:
  templates                                   List templates and their presets
  summary <file.json | template> [--preset NAME] [--json]
                                              Layers, output shapes and parameter counts
  check <file.json | template> [--preset NAME] [--json]
                                              Diagnostics; exits 1 when there are errors
  export <file.json | template> [--preset NAME] [--out model.ts]
                                              The model as a TypeScript module
  export <file.json | template> [--preset NAME] --format pytorch --out DIR
                                              model.py, weights.py, train.py (torchrun) and a README
  data <mnist | mnist-full | moons | spirals | gaussians | shapes | shapes-rgb | file.csv> --out data.npz
                                              The app's train/test split for train.py
  import <model.json> [--out graph.json] [--json]
                                              A tfjs Layers or Keras model.json as a graph
  train <file.json | template> [--preset NAME] --data DATA [--label COLUMN]
        [--epochs N] [--batch-size B] [--backend wasm|cpu] [--threads N] [--limit N] [--json] [--save DIR]
        [--weights DIR [--networks A,B]]          (programs) start networks from a --save folder
                                              DATA: mnist, mnist-full (MNIST's own 60,000 /
                                              10,000 split), moons, spirals, gaussians, shapes,
                                              shapes-rgb, or a .csv file (header row, numeric
                                              columns, the label last or named by --label)
                                              Train in Node and print the final metrics;
                                              --threads: wasm threads (default: every core)
  sweep <file.json | template> [--preset NAME] --param NAME=V1,V2,… [--param …] --data DATA
        [--random N [--seed S]] [--parallel N] [--epochs N] [--limit N] [--batch-size B] [--csv FILE] [--json]
                                              Train every variant (a grid, or N random picks) with
                                              "patchbay train", N at a time, and compare accuracy,
                                              params, MACs and step time; * marks the Pareto front.
                                              NAME: lr, batchSize, epochs, depth, a param set on one
                                              node (dim, kernelSize…) or NODE.PARAM
  sample <file.json | template> [--preset NAME] --weights DIR --count N [--seed S] [--steps K] [--sampler ddim|ancestral] [--eta E] [--temperature T] --out FILE
                                              Samples of a trained generative program (DIR from
                                              train --save): FILE.png a grid, FILE.json the values

Exit codes: 0 success, 1 the graph has errors, 2 bad usage or unreadable input.`;

/** An expected failure: print the message, no stack trace, and exit with the code. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Rewrites one progress line on a terminal. */
  status?: (text: string) => void;
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} takes a whole number of at least 1, received "${value}".`, 2);
  return n;
}

async function train(doc: GraphDocument, values: Record<string, string | boolean | undefined>, io: Io): Promise<number> {
  if (values.data === undefined) throw new CliError('"patchbay train" needs --data (mnist, moons, spirals, gaussians, shapes, shapes-rgb or a .csv file).', 2);
  const backend = values.backend as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new CliError(`--backend takes wasm or cpu, received "${backend}".`, 2);
  if (doc.program) {
    const { trainProgramCommand, ProgramUsageError } = await import('./train-program');
    try {
      return await trainProgramCommand(
        doc,
        {
          data: values.data as string,
          epochs: positiveInt('epochs', values.epochs as string | undefined),
          batchSize: positiveInt('batch-size', values['batch-size'] as string | undefined),
          backend,
          threads: positiveInt('threads', values.threads as string | undefined),
          limit: positiveInt('limit', values.limit as string | undefined),
          json: values.json === true,
          save: values.save as string | undefined,
          weights: values.weights as string | undefined,
          networks: typeof values.networks === 'string' ? values.networks.split(',').map((n) => n.trim()) : undefined,
        },
        { out: io.out, err: io.err, status: io.status ?? (() => {}) },
      );
    } catch (err) {
      if (err instanceof ProgramUsageError) throw new CliError(err.message, 2);
      throw err;
    }
  }
  return trainCommand(
    doc,
    {
      data: values.data as string,
      label: values.label as string | undefined,
      epochs: positiveInt('epochs', values.epochs as string | undefined),
      batchSize: positiveInt('batch-size', values['batch-size'] as string | undefined),
      backend,
      threads: positiveInt('threads', values.threads as string | undefined),
      limit: positiveInt('limit', values.limit as string | undefined),
      json: values.json === true,
    },
    { out: io.out, err: io.err, status: io.status ?? (() => {}) },
  );
}

async function sample(doc: GraphDocument, values: Record<string, string | boolean | undefined>, io: Io): Promise<number> {
  const { sampleCommand, SampleUsageError } = await import('./sample');
  if (typeof values.weights !== 'string') throw new CliError('"patchbay sample" needs --weights DIR (the folder train --save wrote).', 2);
  if (typeof values.out !== 'string') throw new CliError('"patchbay sample" needs --out FILE (.png or .json).', 2);
  const backend = values.backend as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new CliError(`--backend takes wasm or cpu, received "${backend}".`, 2);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed takes a whole number of at least 0, received "${String(values.seed)}".`, 2);
  const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
  if (temperature !== undefined && !(temperature >= 0 && Number.isFinite(temperature)))
    throw new CliError(
      `--temperature takes a number of at least 0 (flows: 1 samples the model, Glow's samples use about 0.7), received "${String(values.temperature)}".`,
      2,
    );
  try {
    return await sampleCommand(
      doc,
      {
        weights: values.weights,
        count: positiveInt('count', values.count as string | undefined) ?? 16,
        seed,
        steps: positiveInt('steps', values.steps as string | undefined),
        sampler: values.sampler as string | undefined,
        eta: values.eta === undefined ? undefined : Number(values.eta),
        temperature,
        out: values.out,
        backend,
      },
      io,
    );
  } catch (err) {
    if (err instanceof SampleUsageError) throw new CliError(err.message, 2);
    throw err;
  }
}

function loadSource(source: string, preset: string | undefined, io: Io): GraphDocument {
  const looksLikeFile = source.endsWith('.json') || source.includes('/') || existsSync(source);
  if (!looksLikeFile) {
    const result = templateDocument(source, preset);
    if ('error' in result) throw new CliError(result.error, 2);
    return result.doc;
  }
  if (!existsSync(source)) throw new CliError(`Cannot read "${source}": no such file.`, 2);
  let text: string;
  try {
    // Refused before reading, so that a multi-gigabyte file is never loaded into memory.
    const { size } = statSync(source);
    if (size > MAX_DOCUMENT_BYTES) throw new CliError(`Cannot load "${source}":\n${formatDiagnostic(tooLarge(size))}`, 2);
    text = readFileSync(source, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`Cannot read "${source}": ${(err as Error).message}`, 2);
  }
  const { doc, diagnostics } = loadGraph(text);
  // Warnings about the file; an upgrade from an older version (info) is not worth a line.
  for (const line of formatDiagnostics(diagnostics.filter((d) => d.severity === 'warning'))) io.err(line);
  if (!doc) {
    throw new CliError(`Cannot load "${source}":\n${formatDiagnostics(diagnostics).join('\n')}`, 2);
  }
  if (preset === undefined) return doc;
  const found = presetsOf(doc).find((p) => p.name === preset);
  if (!found)
    throw new CliError(
      `"${source}" has no preset "${preset}". Presets: ${
        presetsOf(doc)
          .map((p) => p.name)
          .join(', ') || 'none'
      }.`,
      2,
    );
  try {
    return applyPreset(doc, found);
  } catch (err) {
    throw new CliError(`Cannot use "${source}" with the preset "${preset}": ${(err as Error).message}`, 2);
  }
}

function printDiagnostics(diagnostics: Diagnostic[], io: Io): void {
  // PB310's limit is a browser tab's; a terminal reader is told whose it is (the --json output keeps the compiler's words).
  for (const line of formatDiagnostics(diagnostics.map(forTerminal))) io.err(line);
}

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        preset: { type: 'string' },
        json: { type: 'boolean', default: false },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h', default: false },
        data: { type: 'string' },
        label: { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        backend: { type: 'string', default: 'wasm' },
        threads: { type: 'string' },
        limit: { type: 'string' },
        save: { type: 'string' },
        format: { type: 'string' },
        networks: { type: 'string' },
        weights: { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        steps: { type: 'string' },
        sampler: { type: 'string' },
        eta: { type: 'string' },
        temperature: { type: 'string' },
        param: { type: 'string' },
        random: { type: 'string' },
        parallel: { type: 'string' },
        csv: { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, source, ...extra] = positionals;
  if (values.help || command === 'help') {
    io.out(USAGE);
    return 0;
  }
  try {
    if (extra.length) throw new CliError(`Unexpected argument "${extra[0]}".\n\n${USAGE}`, 2);
    switch (command) {
      case 'templates':
        return templates(io, values.json);
      case 'summary':
      case 'check':
      case 'export':
      case 'train': {
        if (!source) throw new CliError(`"patchbay ${command}" needs a graph file or a template id.\n\n${USAGE}`, 2);
        const doc = loadSource(source, values.preset, io);
        if (command === 'summary') return summary(doc, io, values.json);
        if (command === 'check') return check(doc, io, values.json);
        if (command === 'train') return await train(doc, values, io);
        if (values.format !== undefined && values.format !== 'typescript') {
          if (values.format !== 'pytorch') throw new CliError(`--format takes typescript or pytorch, received "${values.format}".`, 2);
          return await (await import('./export-pytorch')).exportPytorchCommand(doc, values.out, io);
        }
        return exportModule(doc, io, values.out);
      }
      case 'import':
        if (!source) throw new CliError(`"patchbay import" needs a model.json.\n\n${USAGE}`, 2);
        return await (await import('./import')).importCommand(source, { out: values.out, json: values.json }, io);
      case 'data':
        if (!source)
          throw new CliError(`"patchbay data" needs a dataset (mnist, moons, spirals, gaussians, shapes, shapes-rgb) or a .csv file.\n\n${USAGE}`, 2);
        return await (await import('./data')).dataCommand(source, { out: values.out, label: values.label }, io);
      case 'sweep': {
        if (!source) throw new CliError(`"patchbay sweep" needs a graph file or a template id.\n\n${USAGE}`, 2);
        const doc = loadSource(source, values.preset, io);
        const { repeatedOption, sweepArgs, sweepCommand, SweepUsageError } = await import('./sweep');
        try {
          return await sweepCommand(doc, sweepArgs({ ...values, param: repeatedOption(argv, 'param') }), io);
        } catch (err) {
          if (err instanceof SweepUsageError) throw new CliError(err.message, 2);
          throw err;
        }
      }
      case 'sample': {
        if (!source) throw new CliError(`"patchbay sample" needs a graph file or a template id.\n\n${USAGE}`, 2);
        return await sample(loadSource(source, values.preset, io), values, io);
      }
      case undefined:
        io.err(USAGE);
        return 2;
      default:
        throw new CliError(`Unknown command "${command}".\n\n${USAGE}`, 2);
    }
  } catch (err) {
    if (err instanceof TrainUsageError) {
      io.err(err.message);
      return 2;
    }
    if (err instanceof CliError) {
      io.err(err.message);
      return err.exitCode;
    }
    throw err;
  }
}

function templates(io: Io, json: boolean): number {
  if (json) {
    io.out(
      JSON.stringify(
        TEMPLATES.map((t) => ({ ...t.info, presets: t.presets.map((p) => ({ name: p.name, description: p.description })) })),
        null,
        2,
      ),
    );
    return 0;
  }
  for (const t of TEMPLATES) {
    io.out(`${t.info.id}  ${t.info.title}: ${t.info.description}`);
    for (const p of t.presets) io.out(`  --preset ${p.name.padEnd(8)} ${p.description}${p.name === t.info.defaultPreset ? ' (default)' : ''}`);
  }
  return 0;
}

function summary(doc: GraphDocument, io: Io, json: boolean): number {
  const program = analyzeProgram(doc);
  if (program) return programSummary(program, doc, io, json);
  const result = summarize(analyze(doc));
  if (json) io.out(JSON.stringify(result, null, 2));
  else {
    io.out(formatSummary(result));
    printDiagnostics(result.diagnostics, io);
  }
  return hasErrors(result.diagnostics) ? 1 : 0;
}

/** A program's summary: totals over every network and learned scalar, then one table per network. */
function programSummary(program: ProgramAnalysis, doc: GraphDocument, io: Io, json: boolean): number {
  const networks = networkCounts(program);
  if (json) {
    io.out(
      JSON.stringify(
        {
          name: doc.name,
          trainableParams: program.count.trainable,
          nonTrainableParams: program.count.nonTrainable,
          networks,
          procedures: program.procedures.map((p) => ({ id: p.def.id, label: p.def.label, kind: p.def.kind })),
          summaries: program.networks.map((n) => ({ network: n.id, ...summarize(n.analysis) })),
          diagnostics: program.diagnostics,
        },
        null,
        2,
      ),
    );
  } else {
    io.out(
      `Program "${quoted(doc.name)}": ${program.count.trainable.toLocaleString('en-US')} trainable and ${program.count.nonTrainable.toLocaleString('en-US')} non-trainable params in ${networks.length} network${networks.length === 1 ? '' : 's'}; procedures ${program.procedures.map((p) => `"${quoted(p.def.label)}" (${p.def.kind})`).join(', ')}.`,
    );
    for (const n of program.networks) io.out(`\nNetwork ${quoted(n.id)}:\n${formatSummary(summarize(n.analysis))}`);
    printDiagnostics(program.diagnostics, io);
  }
  return hasErrors(program.diagnostics) ? 1 : 0;
}

function check(doc: GraphDocument, io: Io, json: boolean): number {
  const diagnostics = analyzeProgram(doc)?.diagnostics ?? analyze(doc).diagnostics;
  if (json) io.out(JSON.stringify(diagnostics, null, 2));
  else if (diagnostics.length === 0) io.out(`"${quoted(doc.name)}": no problems found.`);
  else {
    printDiagnostics(diagnostics, io);
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    io.err(`${errors} error${errors === 1 ? '' : 's'}, ${diagnostics.length - errors} warning${diagnostics.length - errors === 1 ? '' : 's'}.`);
  }
  return hasErrors(diagnostics) ? 1 : 0;
}

function exportModule(doc: GraphDocument, io: Io, out: string | undefined): number {
  // A program exports every network and its trainer (emitProgram); a plain graph its model (emit).
  const lowered = doc.program ? programPlan(doc) : lower(analyze(doc));
  if (!lowered.plan) {
    printDiagnostics(lowered.diagnostics, io);
    io.err('Nothing was exported: fix the errors above first.');
    return 1;
  }
  const { plan } = lowered;
  const source = 'networks' in plan ? emitProgram(plan) : emit(plan);
  if (!out) {
    io.out(source.trimEnd());
    return 0;
  }
  try {
    writeFileSync(out, source);
  } catch (err) {
    throw new CliError(`Cannot write "${out}": ${(err as Error).message}`, 2);
  }
  io.err(
    `Wrote ${out} (${plan.count.trainable.toLocaleString('en-US')} trainable params${'networks' in plan ? `, ${plan.networks.length} networks and a trainer` : ''}).`,
  );
  return 0;
}

function programPlan(doc: GraphDocument): { plan: PlanProgram | null; diagnostics: Diagnostic[] } {
  const { program, diagnostics } = lowerProgram(analyzeProgram(doc)!);
  return { plan: program, diagnostics };
}
