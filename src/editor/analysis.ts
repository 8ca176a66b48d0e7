/** Compiler output derived from the document with memoised selectors; nothing here is stored. */
import { useEditor } from './store';
import { createAnalyzer, type Analysis } from '../compiler/infer';
import { lower } from '../compiler/lower';
import { summarize, type Summary } from '../compiler/summary';
import type { GraphDocument } from '../document/schema';
import { onlyPositionsDiffer } from './layout-only';

const analyzer = createAnalyzer();
let last: { doc: GraphDocument; analysis: Analysis } | null = null;

/**
 * The analysis of a document. A document that differs from the last one only in node positions
 * (a drag) keeps the last analysis: the same results, diagnostics and plan objects, so nothing
 * downstream recomputes, re-renders or asks the worker for new previews. Its `doc` is then the
 * earlier version, which differs only in positions.
 */
export function analysisOf(doc: GraphDocument): Analysis {
  if (last?.doc !== doc) last = { doc, analysis: last && onlyPositionsDiffer(last.doc, doc) ? last.analysis : analyzer(doc) };
  return last.analysis;
}

export const useAnalysis = (): Analysis => analysisOf(useEditor((s) => s.doc));

const summaryCache = new WeakMap<Analysis, Summary>();
export function summaryOf(analysis: Analysis): Summary {
  let s = summaryCache.get(analysis);
  if (!s) summaryCache.set(analysis, (s = summarize(analysis)));
  return s;
}

/** 25418 → "25,418". (toLocaleString is slow enough to show up when 1,000 nodes render.) */
export const formatCount = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
export function compactCount(n: number): string {
  if (n < 10_000) return formatCount(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 2 : 1)}M`;
}

const planCache = new WeakMap<Analysis, ReturnType<typeof lower>>();
/** The lowered plan (what the training worker receives), or the errors that stop it. */
export function planOf(analysis: Analysis): ReturnType<typeof lower> {
  let out = planCache.get(analysis);
  if (!out) planCache.set(analysis, (out = lower(analysis)));
  return out;
}
