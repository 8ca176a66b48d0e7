import { useEditor } from '../store';

/** A message in the editor's toast stack, for what the Train tab's jobs report. */
export const toast = (kind: 'error' | 'info', title: string, lines?: string[]) => useEditor.getState().toast({ kind, title, lines });
