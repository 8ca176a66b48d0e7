import { useLayoutEffect, type RefObject } from 'react';

/** The CSS variable that holds the height of the Train tab's sticky run header (Start, progress). */
export const RUN_HEADER_HEIGHT = '--pb-run-header-height';

/**
 * Keeps RUN_HEADER_HEIGHT on the parent of the sticky run header equal to the header's height, so
 * that a sticky row further down the same scroll area (the column names of a table of pictures) can
 * stop just below it (`top: var(--pb-run-header-height)`) instead of sliding under it. The header
 * grows and shrinks as a run starts, reports progress and ends: a ResizeObserver follows it.
 */
export function useRunHeaderHeight(ref: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    const header = ref.current;
    const parent = header?.parentElement;
    if (!header || !parent) return;
    const update = () => parent.style.setProperty(RUN_HEADER_HEIGHT, `${header.offsetHeight}px`);
    update();
    const observer = new ResizeObserver(update);
    observer.observe(header);
    return () => {
      observer.disconnect();
      parent.style.removeProperty(RUN_HEADER_HEIGHT);
    };
  }, [ref]);
}
