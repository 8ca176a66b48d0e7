import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, summarize } from '../compiler/index';
import { formatCount } from '../compiler/cost';
import type { GraphDocument } from '../document/schema';
import { quoted } from '../document/text';

/**
 * `patchbay sweep`: variants of one graph (a grid, or random picks from it, over a few params), each
 * trained by `patchbay train` in a child process, several at once, then compared: final metrics,
 * parameters, MACs and step time, with the Pareto front of accuracy against MACs marked.
 */

export class SweepUsageError extends Error {}

export type SweepValue = number | string | boolean;

export interface SweepParam {
  name: string;
  values: SweepValue[];
}

/** Where a swept name lands in the document. */
export type SweepTarget = { kind: 'training'; field: string } | { kind: 'param'; nodeId: string; param: string } | { kind: 'repeat'; nodeId: string };

/** Short names for the training setup, and the setup's own field names. */
const TRAINING_NAMES: Record<string, string> = {
  lr: 'learningRate',
  learningRate: 'learningRate',
  batch: 'batchSize',
  batchSize: 'batchSize',
  'batch-size': 'batchSize',
  epochs: 'epochs',
  optimizer: 'optimizer',
  schedule: 'schedule',
  weightDecay: 'weightDecay',
  momentum: 'momentum',
  seed: 'seed',
};

function parseValue(text: string): SweepValue {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

/** "dim=32,64,128" → { name: 'dim', values: [32, 64, 128] }. */
export function parseSweepParam(spec: string): SweepParam {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq).trim() : '';
  const values =
    eq > 0
      ? spec
          .slice(eq + 1)
          .split(',')
          .filter((v) => v.trim() !== '')
          .map(parseValue)
      : [];
  if (!name || values.length === 0)
    throw new SweepUsageError(`--param takes NAME=V1,V2,… (for example dim=32,64 or lr=1e-3,3e-3), received "${quoted(spec, 80)}".`);
  return { name, values };
}

/**
 * What `name` changes: a training field (lr, batchSize, epochs…), `depth`/`repeat` (the repeat count
 * of the one repeated block), `node.param`, or a bare param name set on exactly one node. A bare
 * name on several nodes is refused: sweeping `units` would also change the classifier head.
 */
export function sweepTarget(doc: GraphDocument, name: string): SweepTarget {
  if (TRAINING_NAMES[name]) return { kind: 'training', field: TRAINING_NAMES[name]! };
  if (name === 'depth' || name === 'repeat') {
    const repeated = doc.nodes.filter((n) => n.type === 'Block' && (n.repeat ?? 1) > 1);
    if (repeated.length !== 1)
      throw new SweepUsageError(
        repeated.length
          ? `"${name}" is ambiguous: ${repeated.length} blocks repeat (${repeated.map((n) => `"${quoted(n.id, 40)}"`).join(', ')}); write NODE.repeat.`
          : `"${name}" needs a repeated block, and this graph has none.`,
      );
    return { kind: 'repeat', nodeId: repeated[0]!.id };
  }
  const dot = name.indexOf('.');
  if (dot > 0) {
    const nodeId = name.slice(0, dot);
    const param = name.slice(dot + 1);
    if (!doc.nodes.some((n) => n.id === nodeId)) throw new SweepUsageError(`--param ${quoted(name, 80)}: the graph has no node "${quoted(nodeId, 60)}".`);
    return param === 'repeat' ? { kind: 'repeat', nodeId } : { kind: 'param', nodeId, param };
  }
  const owners = doc.nodes.filter((n) => Object.prototype.hasOwnProperty.call(n.params, name));
  if (owners.length === 1) return { kind: 'param', nodeId: owners[0]!.id, param: name };
  if (owners.length === 0)
    throw new SweepUsageError(
      `--param ${quoted(name, 80)}: no node sets "${quoted(name, 60)}" and it is not a training setting (lr, batchSize, epochs, optimizer, schedule, weightDecay, momentum, seed) or depth. Write NODE.PARAM to set a param on one node.`,
    );
  throw new SweepUsageError(
    `--param ${quoted(name, 80)} is ambiguous: ${owners.length} nodes set it (${owners.map((n) => `${quoted(n.id, 40)}.${quoted(name, 40)}`).join(', ')}). Name one.`,
  );
}

/** The document with one variant's values set. */
export function applyVariant(doc: GraphDocument, targets: SweepTarget[], values: SweepValue[]): GraphDocument {
  let out: GraphDocument = { ...doc, nodes: [...doc.nodes], training: { ...(doc.training ?? {}) } as GraphDocument['training'] };
  targets.forEach((target, i) => {
    const value = values[i];
    if (target.kind === 'training') out = { ...out, training: { ...out.training, [target.field]: value } as GraphDocument['training'] };
    else
      out.nodes = out.nodes.map((n) =>
        n.id !== target.nodeId ? n : target.kind === 'repeat' ? { ...n, repeat: Number(value) } : { ...n, params: { ...n.params, [target.param]: value } },
      );
  });
  return out;
}

/** Every combination, first param slowest. */
export function grid(params: SweepParam[]): SweepValue[][] {
  return params.reduce<SweepValue[][]>((combos, p) => combos.flatMap((c) => p.values.map((v) => [...c, v])), [[]]);
}

/** `count` distinct combinations drawn from the grid with a seeded generator (mulberry32). */
export function randomPicks(combos: SweepValue[][], count: number, seed: number): SweepValue[][] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const pool = [...combos];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, Math.min(count, pool.length));
}

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
  const scored = results.filter((r) => r.testAccuracy !== null);
  for (const r of results) {
    r.pareto =
      r.testAccuracy !== null &&
      !scored.some((o) => o !== r && o.macs <= r.macs && o.testAccuracy! >= r.testAccuracy! && (o.macs < r.macs || o.testAccuracy! > r.testAccuracy!));
  }
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
  const targets = args.params.map((p) => sweepTarget(doc, p.name));
  const all = grid(args.params);
  const combos = args.random ? randomPicks(all, args.random, args.seed) : all;
  const parallel = Math.max(1, Math.min(args.parallel ?? 2, combos.length));
  const threads = Math.max(1, Math.floor(availableParallelism() / parallel));
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-sweep-'));
  if (!args.json)
    io.err(
      `Sweeping ${combos.length} variant${combos.length === 1 ? '' : 's'} of "${quoted(doc.name)}", ${parallel} at a time (${threads} wasm thread${threads === 1 ? '' : 's'} each).`,
    );

  const results: VariantResult[] = combos.map((values, index) => {
    const variant = applyVariant(doc, targets, values);
    const analysis = analyze(variant);
    const summary = summarize(analysis);
    const error = analysis.diagnostics.find((d) => d.severity === 'error');
    if (!error) writeFileSync(join(dir, `variant-${index}.json`), JSON.stringify(variant));
    return {
      index,
      values: Object.fromEntries(args.params.map((p, i) => [p.name, values[i]!])),
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
const describeValues = (values: Record<string, SweepValue>) =>
  Object.entries(values)
    .map(([k, v]) => `${quoted(k, 40)}=${quoted(String(v), 40)}`)
    .join(' ');

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

/** A CSV cell: quoted when it holds a comma, a quote or a line break; a leading =, +, - or @ is prefixed so that a spreadsheet does not read a formula. */
function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
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
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
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
