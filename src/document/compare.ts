/**
 * Comparing runs: the Pareto front of accuracy against cost, and tables as CSV. Shared by
 * `patchbay sweep` and the editor's comparison view.
 */

/**
 * Which items no other beats on both accuracy (higher is better) and cost (lower is better): an item
 * is off the front when another is at least as accurate and at most as costly, and better on one.
 * Items without an accuracy or a cost are never on the front and never beat another.
 */
export function paretoFront<T>(items: readonly T[], accuracy: (item: T) => number | null | undefined, cost: (item: T) => number | null | undefined): boolean[] {
  const known = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const points = items.map((item) => ({ a: accuracy(item), c: cost(item) }));
  return points.map((p, i) => {
    if (!known(p.a) || !known(p.c)) return false;
    return !points.some((o, j) => j !== i && known(o.a) && known(o.c) && o.c <= p.c! && o.a >= p.a! && (o.c < p.c! || o.a > p.a!));
  });
}

/**
 * One CSV cell: quoted when it holds a comma, a quote or a line break. Text that starts with =, +, -,
 * @, a tab or a carriage return gets a leading apostrophe, so that a spreadsheet shows it as text and
 * never runs it as a formula; numbers stay numbers (a negative number is not text).
 */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'number' && !Number.isFinite(value) ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows of cells as CSV text (header first), one line each, ending with a line break. */
export const csvText = (rows: readonly (readonly unknown[])[]): string => rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
