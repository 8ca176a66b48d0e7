/**
 * How large a preview picture's canvas is: apart from the drawing (draw.ts) because a node lays its
 * canvas out as it renders, while the drawing code loads after the first paint with the preview
 * refresh (preview-refresh.ts), before any preview exists.
 */
import type { PreviewPicture } from '../../runtime/preview-data';

/** The largest cells a grid of n square w:h thumbnails can have inside width × height, and its columns. */
export function gridFor(n: number, aspect: number, width: number, height: number, gap: number): { cols: number; rows: number; cell: number } {
  let best = { cols: n, rows: 1, cell: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cell = Math.floor(Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * aspect));
    if (cell > best.cell) best = { cols, rows, cell };
  }
  return best;
}

/**
 * The size a picture's canvas takes inside width × height (CSS pixels): an image keeps its aspect,
 * a channel grid takes the extent of its cells, heat maps and bars fill the box. No grey margins.
 */
export function pictureSize(picture: PreviewPicture, width: number, height: number): { width: number; height: number } {
  if (picture.kind === 'image') {
    const [h, w] = picture.shape as [number, number];
    const scale = Math.min(width / w, height / h);
    return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
  }
  if (picture.kind === 'channels') {
    const [n, h, w] = picture.shape as [number, number, number];
    const gap = Math.max(1, Math.round(width / 64));
    const { cols, rows, cell } = gridFor(n, w / h, width, height, gap);
    const cellH = Math.max(1, Math.round(cell * (h / w)));
    return { width: cols * cell + (cols - 1) * gap, height: rows * cellH + (rows - 1) * gap };
  }
  return { width, height };
}
