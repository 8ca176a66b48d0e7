/**
 * The small preview on a node: its output on the pinned example (a 64 × 40 canvas) beside its range
 * and mean. Each node reads its own preview from the previews slice, so a refresh redraws only the
 * nodes on screen (React Flow leaves nodes off screen unmounted in large graphs) whose preview changed.
 */
import { useEffect, useRef } from 'react';
import { formatFigure, type NodePreview as Preview } from '../../runtime/preview-data';
import { loadOnce } from '../lazy-part';
import { pictureSize } from './picture-size';
import { usePreviews, usePreviewsOnShow } from './previews';
import './previews.css';

export const NODE_PREVIEW_WIDTH = 64;
export const NODE_PREVIEW_HEIGHT = 40;

const dpr = () => Math.min(2, Math.max(1, globalThis.devicePixelRatio || 1));

/**
 * The drawing code is not part of the first paint: the preview refresh fetches it with the first
 * previews (preview-refresh.ts), so that a canvas is drawn as it mounts.
 */
let drawing: typeof import('./draw') | undefined;
export const loadDrawing = loadOnce('the preview pictures', () => import('./draw').then((m) => (drawing = m)));

/** What a preview shows, in words (the canvas's label and tooltip). */
export function previewTitle(p: Preview): string {
  const kind =
    p.picture.kind === 'image'
      ? 'Image'
      : p.picture.kind === 'channels'
        ? `First ${p.picture.channelsShown} of ${p.picture.channelsTotal} channels`
        : p.picture.kind === 'heat'
          ? 'Heat map (rows × channels)'
          : p.picture.kind === 'probabilities'
            ? 'Class probabilities'
            : 'Values';
  return `${kind} on the pinned example: [${p.shape.join(', ')}], min ${formatFigure(p.stats.min)}, max ${formatFigure(p.stats.max)}, mean ${formatFigure(p.stats.mean)}`;
}

/** A canvas that draws one preview picture at a CSS size, sharp on any screen. */
export function PreviewCanvas({ preview, width, height, testId }: { preview: Preview; width: number; height: number; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const draw = (d: typeof import('./draw')) => {
      if (ref.current) d.drawPicture(ref.current, preview.picture, d.themeColours(ref.current));
    };
    if (drawing) return draw(drawing);
    let current = true;
    // Only before the refresh fetched it (a run's refresh first); a failed download is the refresh's to say.
    loadDrawing().then(
      (d) => current && draw(d),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [preview]);
  const scale = dpr();
  const size = pictureSize(preview.picture, width, height);
  return (
    <canvas
      ref={ref}
      width={Math.round(size.width * scale)}
      height={Math.round(size.height * scale)}
      style={size}
      className="pb-preview-canvas"
      role="img"
      aria-label={previewTitle(preview)}
      data-testid={testId}
      data-kind={preview.picture.kind}
    />
  );
}

export function NodePreview({ id }: { id: string }) {
  const onShow = usePreviewsOnShow();
  const preview = usePreviews((s) => (onShow ? s.previews.get(id) : undefined));
  const skipped = usePreviews((s) => (onShow ? s.skipped.get(id) : undefined));
  if (skipped && !preview)
    return (
      <div className="pb-node-preview pb-node-preview-skipped" data-testid={`preview-${id}`} title={skipped}>
        not previewed
      </div>
    );
  if (!preview) return null;
  return (
    <div
      className="pb-node-preview"
      data-testid={`preview-${id}`}
      data-kind={preview.picture.kind}
      data-mean={preview.stats.mean}
      data-std={preview.stats.std}
      title={previewTitle(preview)}
    >
      <PreviewCanvas preview={preview} width={NODE_PREVIEW_WIDTH} height={NODE_PREVIEW_HEIGHT} />
    </div>
  );
}
