/**
 * Sweeps: variants of one graph over a few params (a grid, or seeded random picks from it). One
 * implementation for `patchbay sweep` and the editor's sweeps: which document field a swept name
 * changes, the document with one variant's values set, and the combinations. Nothing here touches
 * the document it is given; every variant is a new document.
 */
import type { GraphDocument } from './schema';
import { quoted } from './text';

export class SweepUsageError extends Error {}

export type SweepValue = number | string | boolean;

export interface SweepParam {
  name: string;
  values: SweepValue[];
}

/** Where a swept name lands in the document. */
export type SweepTarget = { kind: 'training'; field: string } | { kind: 'param'; nodeId: string; param: string } | { kind: 'repeat'; nodeId: string };

/** Short names for the training setup, and the setup's own field names. */
export const TRAINING_NAMES: Record<string, string> = {
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

export function parseSweepValue(text: string): SweepValue {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

/** "32, 64,128" → [32, 64, 128]; empty items are dropped. */
export const parseSweepValues = (text: string): SweepValue[] =>
  text
    .split(',')
    .filter((v) => v.trim() !== '')
    .map(parseSweepValue);

/** "dim=32,64,128" → { name: 'dim', values: [32, 64, 128] }. */
export function parseSweepParam(spec: string): SweepParam {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq).trim() : '';
  const values = eq > 0 ? parseSweepValues(spec.slice(eq + 1)) : [];
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
    // The longest node id that prefixes the name, so that an id with a dot in it still works.
    const owner = doc.nodes.filter((n) => name.startsWith(`${n.id}.`)).sort((a, b) => b.id.length - a.id.length)[0];
    if (!owner) throw new SweepUsageError(`--param ${quoted(name, 80)}: the graph has no node "${quoted(name.slice(0, dot), 60)}".`);
    const param = name.slice(owner.id.length + 1);
    return param === 'repeat' ? { kind: 'repeat', nodeId: owner.id } : { kind: 'param', nodeId: owner.id, param };
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

/** The document with one variant's values set (a new document; `doc` is untouched). */
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

export interface Variant {
  /** Position in the sweep, 0-based. */
  index: number;
  /** The swept values by name, in the order the params were given. */
  values: Record<string, SweepValue>;
  doc: GraphDocument;
}

/**
 * The variants of a sweep: the grid over `params`, or `random` distinct picks from it (seeded), each
 * a new document. Unknown or ambiguous names throw SweepUsageError before any variant is made.
 */
export function sweepVariants(doc: GraphDocument, params: SweepParam[], options: { random?: number; seed?: number } = {}): Variant[] {
  const targets = params.map((p) => sweepTarget(doc, p.name));
  const all = grid(params);
  const combos = options.random ? randomPicks(all, options.random, options.seed ?? 0) : all;
  return combos.map((values, index) => ({
    index,
    values: Object.fromEntries(params.map((p, i) => [p.name, values[i]!])),
    doc: applyVariant(doc, targets, values),
  }));
}

/** A variant in words, as its run is labelled: "dim=32 · lr=0.001". */
export const variantLabel = (values: Record<string, SweepValue>): string =>
  Object.entries(values)
    .map(([k, v]) => `${quoted(k, 40)}=${quoted(String(v), 40)}`)
    .join(' · ');
