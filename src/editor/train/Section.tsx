import type { ReactNode } from 'react';

export function Section({ title, children, right, testId }: { title: string; children: ReactNode; right?: ReactNode; testId?: string }) {
  return (
    <section className="pb-train-section" aria-label={title} data-testid={testId}>
      <div className="pb-row pb-train-head">
        <h3>{title}</h3>
        <span className="pb-spacer" />
        {right}
      </div>
      {children}
    </section>
  );
}
