import { create } from 'zustand';
import type { Progress } from './file-reading';

/** The file being opened (read in the file worker), for the progress line on the canvas. */
export const useOpening = create<{ opening: (Progress & { name: string }) | null }>()(() => ({ opening: null }));

/** "Opening huge.json: Reading 2 of 4 MB", with a bar, while a graph file is read off the main thread (the last of the canvas's notes). */
export function OpenProgress() {
  const opening = useOpening((s) => s.opening);
  if (!opening) return null;
  return (
    <div className="pb-toast pb-toast-progress" role="status" data-testid="open-progress">
      <div className="pb-toast-main pb-progress-box">
        <strong>Opening {opening.name}</strong>
        <span className="pb-muted">{opening.message}…</span>
        <div className="pb-progress" aria-hidden="true">
          <div className="pb-progress-fill" style={{ width: `${Math.round((opening.fraction ?? 0) * 100)}%` }} />
        </div>
      </div>
    </div>
  );
}
