/** The Train tab's check of the model's ending: each problem in words, with its one-click fix. */
import { useEditor } from '../store';
import type { ModelProblem } from './model-check';

/** One undoable edit of the main graph (the check reads the main graph, whatever the canvas shows). */
function applyFix(problem: ModelProblem) {
  const s = useEditor.getState();
  s.commit(problem.fix(s.doc));
}

export function ModelCheck({ problems }: { problems: ModelProblem[] }) {
  const focusNode = useEditor((s) => s.focusNode);
  if (!problems.length) return null;
  return (
    <ul className="pb-train-check" aria-label="Model check" data-testid="train-check">
      {problems.map((p) => (
        <li key={p.id} className={`pb-train-problem${p.blocking ? ' pb-train-problem-blocking' : ''}`} data-problem={p.id}>
          <strong>{p.title}.</strong>
          <p className="pb-small-text">{p.detail}</p>
          <div className="pb-row">
            <button type="button" className="pb-small-btn pb-primary" onClick={() => applyFix(p)}>
              {p.fixLabel}
            </button>
            <button type="button" className="pb-link pb-small-text" onClick={() => focusNode(p.nodeId)}>
              Show the node
            </button>
          </div>
        </li>
      ))}
    </ul>
  );
}
