import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, summarize } from '../compiler/index';
import { formatCount } from '../compiler/cost';
import type { GraphDocument } from '../document/schema';
import { quoted } from '../document/text';
import { csvText, paretoFront } from '../document/compare';
import { parseSweepParam, sweepVariants, SweepUsageError, variantLabel, type SweepParam, type SweepValue } from '../document/sweep';
import { sweepMemoryNote } from './memory-note';

/**
 * `patchbay sweep`: variants of one graph (a grid, or random picks from it, over a few params), each
 * trained by `patchbay train` in a child process, several at once, then compared: final metrics,
 * parameters, MACs and step time, with the Pareto front of accuracy against MACs marked.
 */

export { applyVariant, grid, parseSweepParam, randomPicks, SweepUsageError, sweepTarget } from '../document/sweep';
export type { SweepParam, SweepTarget, SweepValue } from '../document/sweep';

export interface VariantResult {
  index: number;
  values: Record<string, SweepValue>;
  /** 'invalid': the variant's graph has errors, so it was not trained. */
  status: 'done' | 'failed' | 'invalid';
  message?: string;
  trainableParams: number;
  macs: number;
  testAccuracy: number | null;
  testLoss: number | null;
  trainLoss: number | null;
  /** Milliseconds per training step, measured by the run. */
  stepMs: number | null;
  seconds: number | null;
  /** On the Pareto front of test accuracy (higher) against MACs (lower). */
  pareto: boolean;
}

/** Marks the variants no other beats on both accuracy and MACs (at least as good on both, better on one). */
export function markPareto(results: VariantResult[]): void {
  const front = paretoFront(
    results,
    (r) => r.testAccuracy,
    (r) => r.macs,
  );
  results.forEach((r, i) => (r.pareto = front[i]!));
}

export interface SweepArgs {
  params: SweepParam[];
  data: string;
  random?: number;
  seed: number;
  parallel?: number;
  /** Passed on to each `patchbay train`. */
  trainArgs: string[];
  csv?: string;
  json: boolean;
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const BIN = fileURLToPath(new URL('../../bin/patchbay.js', import.meta.url));

/** One `patchbay train --json` in a child process; its JSON report, or why there is none. */
function trainChild(file: string, args: string[]): Promise<{ report?: Record<string, unknown>; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'train', file, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ error: err.message }));
    child.on('close', (code) => {
      try {
        const report = JSON.parse(stdout) as Record<string, unknown>;
        resolve(code === 0 ? { report } : { report, error: String(report.message ?? stderr.trim() ?? `exit ${code}`) });
      } catch {
        resolve({ error: stderr.trim().split('\n').slice(-3).join(' ') || `patchbay train exited with ${code}` });
      }
    });
  });
}

export async function sweepCommand(doc: GraphDocument, args: SweepArgs, io: Io): Promise<number> {
  if (doc.program) throw new SweepUsageError('"patchbay sweep" trains classifier graphs; this document is a training program.');
  if (args.params.length === 0) throw new SweepUsageError('"patchbay sweep" needs at least one --param NAME=V1,V2,….');
  const combos = sweepVariants(doc, args.params, { random: args.random, seed: args.seed });
  const parallel = Math.max(1, Math.min(args.parallel ?? 2, combos.length));
  const threads = Math.max(1, Math.floor(availableParallelism() / parallel));
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-sweep-'));
  if (!args.json)
    io.err(
      `Sweeping ${combos.length} variant${combos.length === 1 ? '' : 's'} of "${quoted(doc.name)}", ${parallel} at a time (${threads} wasm thread${threads === 1 ? '' : 's'} each).`,
    );

  const results: VariantResult[] = combos.map(({ index, values, doc: variant }) => {
    const analysis = analyze(variant);
    const summary = summarize(analysis);
    const error = analysis.diagnostics.find((d) => d.severity === 'error');
    if (!error) writeFileSync(join(dir, `variant-${index}.json`), JSON.stringify(variant));
    return {
      index,
      values,
      status: error ? 'invalid' : 'failed',
      message: error ? error.message : undefined,
      trainableParams: summary.trainableParams,
      macs: summary.macs,
      testAccuracy: null,
      testLoss: null,
      trainLoss: null,
      stepMs: null,
      seconds: null,
      pareto: false,
    };
  });

  if (!args.json) {
    const flag = args.trainArgs.indexOf('--batch-size');
    const valid = combos.filter((c) => results.find((r) => r.index === c.index)!.status !== 'invalid');
    const note = sweepMemoryNote(
      valid.map((c) => ({ label: describeValues(c.values), doc: c.doc })),
      flag >= 0 ? Number(args.trainArgs[flag + 1]) : undefined,
    );
    if (note) io.err(note);
  }

  const queue = results.filter((r) => r.status !== 'invalid');
  const childArgs = ['--data', args.data, '--threads', String(threads), ...args.trainArgs];
  try {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          const { report, error } = await trainChild(join(dir, `variant-${r.index}.json`), childArgs);
          const test = report?.test as { accuracy: number; loss: number } | null | undefined;
          const train = report?.train as { loss: number } | null | undefined;
          const stepsPerSecond = typeof report?.stepsPerSecond === 'number' ? report.stepsPerSecond : 0;
          Object.assign(r, {
            status: error ? 'failed' : 'done',
            message: error,
            testAccuracy: test?.accuracy ?? null,
            testLoss: test?.loss ?? null,
            trainLoss: train?.loss ?? null,
            stepMs: stepsPerSecond > 0 ? 1000 / stepsPerSecond : null,
            seconds: typeof report?.seconds === 'number' ? report.seconds : null,
          });
          if (!args.json) io.err(`  ${describeValues(r.values)}: ${r.status === 'done' ? `test accuracy ${pct(r.testAccuracy)}` : `failed: ${r.message}`}`);
        }
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  markPareto(results);

  if (args.csv) {
    try {
      writeFileSync(args.csv, toCsv(results, args.params));
    } catch (err) {
      throw new SweepUsageError(`Cannot write "${args.csv}": ${(err as Error).message}`);
    }
  }
  if (args.json) io.out(JSON.stringify({ name: doc.name, data: args.data, variants: results }, null, 2));
  else io.out(formatTable(results, args.params));
  return results.some((r) => r.status === 'done') ? 0 : 1;
}

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(2)}%`);
const describeValues = (values: Record<string, SweepValue>) => variantLabel(values).replace(/ · /g, ' ');

/** The comparison, best test accuracy first; * marks the Pareto front of accuracy against MACs. */
export function formatTable(results: VariantResult[], params: SweepParam[]): string {
  const header = [...params.map((p) => quoted(p.name, 30)), 'Test acc.', 'Test loss', 'Params', 'MACs', 'Step', 'Pareto'];
  const sorted = [...results].sort((a, b) => (b.testAccuracy ?? -1) - (a.testAccuracy ?? -1));
  const rows = sorted.map((r) => [
    ...params.map((p) => quoted(String(r.values[p.name]), 30)),
    r.status === 'done' ? pct(r.testAccuracy) : r.status === 'invalid' ? 'invalid' : 'failed',
    r.testLoss === null ? '–' : r.testLoss.toFixed(4),
    r.trainableParams.toLocaleString('en-US'),
    formatCount(r.macs),
    r.stepMs === null ? '–' : `${r.stepMs.toFixed(1)} ms`,
    r.pareto ? '*' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < params.length || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const notes = sorted.filter((r) => r.status !== 'done' && r.message).map((r) => `${describeValues(r.values)}: ${quoted(r.message!, 300)}`);
  return [
    line(header),
    ...rows.map(line),
    '',
    '* on the Pareto front: no other variant is both at least as accurate and at most as costly (MACs).',
    ...notes,
  ].join('\n');
}

export function toCsv(results: VariantResult[], params: SweepParam[]): string {
  const header = [...params.map((p) => p.name), 'status', 'testAccuracy', 'testLoss', 'trainLoss', 'trainableParams', 'macs', 'stepMs', 'seconds', 'pareto'];
  const rows = results.map((r) => [
    ...params.map((p) => r.values[p.name]),
    r.status,
    r.testAccuracy,
    r.testLoss,
    r.trainLoss,
    r.trainableParams,
    r.macs,
    r.stepMs,
    r.seconds,
    r.pareto,
  ]);
  return csvText([header, ...rows]);
}

/**
 * Every value of a repeatable option (`--param a=1,2 --param b=3`): main.ts's parseArgs keeps only
 * the last, and its values' type stays the one every other command reads.
 */
export function repeatedOption(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === `--${name}` && i + 1 < argv.length) out.push(argv[++i]!);
    else if (arg.startsWith(`--${name}=`)) out.push(arg.slice(name.length + 3));
  }
  return out;
}

/** Reads `patchbay sweep`'s options (parsed by main.ts) into SweepArgs; usage errors as SweepUsageError. */
export function sweepArgs(values: Record<string, unknown>): SweepArgs {
  if (typeof values.data !== 'string')
    throw new SweepUsageError('"patchbay sweep" needs --data (mnist, moons, spirals, gaussians, shapes, shapes-rgb or a .csv file).');
  const whole = (name: string, min: number): number | undefined => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new SweepUsageError(`--${name} takes a whole number of at least ${min}, received "${quoted(String(v), 40)}".`);
    return n;
  };
  // Options that each training run takes as they are.
  const trainArgs: string[] = [];
  for (const name of ['label', 'epochs', 'batch-size', 'backend', 'limit'])
    if (typeof values[name] === 'string') trainArgs.push(`--${name}`, values[name] as string);
  const params = ((values.param as string[] | undefined) ?? []).map(parseSweepParam);
  const names = new Set<string>();
  for (const p of params) {
    if (names.has(p.name)) throw new SweepUsageError(`--param ${quoted(p.name, 60)} is given twice; list all its values in one: ${quoted(p.name, 60)}=V1,V2.`);
    names.add(p.name);
  }
  return {
    params,
    data: values.data,
    random: whole('random', 1),
    seed: whole('seed', 0) ?? 0,
    parallel: whole('parallel', 1),
    trainArgs,
    csv: typeof values.csv === 'string' ? values.csv : undefined,
    json: values.json === true,
  };
}
