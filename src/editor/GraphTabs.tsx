/**
 * Tabs over the canvas for a document with several networks or a training program: one per network
 * (the main one under the document's name), then one per procedure. A plain document has none.
 * A tab with errors says so with a mark, so a problem in a graph not on show is not missed.
 */
import { useEffect, useMemo, useRef } from 'react';
import { useEditor } from './store';
import { allDiagnosticsOf, hasTabs, sameTab, tabOfDiagnostic, tabsOf } from './program-view';

export function GraphTabs() {
  const doc = useEditor((s) => s.doc);
  const current = useEditor((s) => s.tab);
  const openTab = useEditor((s) => s.openTab);
  const tabs = tabsOf(doc);
  const strip = useRef<HTMLElement>(null);
  // The tab on show stays in view when the strip is narrower than its tabs.
  useEffect(() => {
    strip.current?.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [current]);
  const withErrors = useMemo(() => {
    const out = new Set<string>();
    if (!hasTabs(doc)) return out;
    for (const d of allDiagnosticsOf(doc)) if (d.severity === 'error') out.add(`${tabOfDiagnostic(d).kind}:${tabOfDiagnostic(d).id}`);
    return out;
  }, [doc]);
  if (!tabs.length) return null;
  const firstProcedure = tabs.findIndex((t) => t.tab.kind === 'procedure');
  return (
    <nav className="pb-graph-tabs" aria-label="Networks and procedures" ref={strip}>
      <div role="tablist" className="pb-graph-tablist">
        {tabs.map((t, i) => {
          const on = sameTab(t.tab, current);
          const broken = withErrors.has(`${t.tab.kind}:${t.tab.id}`);
          return (
            <span key={`${t.tab.kind}:${t.tab.id}`} className="pb-graph-tab-wrap">
              {i === firstProcedure && i > 0 && <span className="pb-graph-tab-sep" aria-hidden="true" />}
              <button
                type="button"
                role="tab"
                aria-selected={on}
                data-testid={`graph-tab-${t.tab.kind}-${t.tab.id}`}
                className={`pb-graph-tab pb-graph-tab-${t.tab.kind}${on ? ' pb-graph-tab-on' : ''}`}
                title={
                  t.tab.kind === 'network' ? `Network “${t.tab.id}”` : `${t.detail === 'train' ? 'Training procedure' : 'Evaluation procedure'} “${t.tab.id}”`
                }
                onClick={() => openTab(t.tab)}
              >
                <span className="pb-graph-tab-kind" aria-hidden="true">
                  {t.tab.kind === 'network' ? 'net' : t.detail === 'train' ? 'train' : 'eval'}
                </span>
                <span className="pb-graph-tab-label">{t.label}</span>
                {broken && <span className="pb-graph-tab-error" title="Has errors (Issues tab)" aria-label="has errors" />}
              </button>
            </span>
          );
        })}
      </div>
    </nav>
  );
}
