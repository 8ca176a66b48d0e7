/**
 * A grid of images on one canvas: samples of a generative model (the diffusion samples grid; SR3 and
 * Palette can show theirs the same way). Values are numbers in [0, 1], [count, height, width,
 * channels] in row-major order (1 channel grey, 3 colour); the canvas is painted from them pixel by
 * pixel, never from markup, and scaled up without smoothing so each pixel stays a crisp square.
 */
import { useEffect, useRef } from 'react';

export interface SampleGridProps {
  /** [count, height, width, channels] values in [0, 1]; anything outside is clipped, NaN is drawn red. */
  images: Float32Array;
  shape: readonly number[];
  /** Images per row (by default as square a grid as fits the count). */
  columns?: number;
  /** Screen pixels per image pixel. */
  scale?: number;
  /** Image pixels between images. */
  gap?: number;
  /** What the grid shows, for screen readers and the tooltip. */
  label: string;
  testId?: string;
  className?: string;
}

/**
 * Paints the grid at one canvas pixel per image pixel. The gaps stay transparent: the canvas's CSS
 * background (the panel's colour) shows through, so the images read as separate tiles in either theme.
 */
export function paintGrid(canvas: HTMLCanvasElement, images: Float32Array, shape: readonly number[], columns: number, gap: number): void {
  const [count, height, width, channels] = shape as [number, number, number, number];
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const image = ctx.createImageData(canvas.width, canvas.height);
  const px = image.data;
  const colour = channels >= 3;
  // Plain loops without allocations: the first grid is painted by code V8 has not optimised yet, and
  // a Uint8ClampedArray rounds and clips v·255 by itself.
  for (let n = 0; n < count; n++) {
    const top = Math.floor(n / columns) * (height + gap);
    const left = (n % columns) * (width + gap);
    for (let y = 0; y < height; y++) {
      let at = (n * height + y) * width * channels;
      let out = 4 * ((top + y) * canvas.width + left);
      for (let x = 0; x < width; x++, at += channels, out += 4) {
        const r = images[at]!;
        const g = colour ? images[at + 1]! : r;
        const b = colour ? images[at + 2]! : r;
        if (Number.isNaN(r) || Number.isNaN(g) || Number.isNaN(b)) {
          // NaN (a diverged model) in red, so it is not mistaken for black.
          px[out] = 220;
          px[out + 1] = 40;
          px[out + 2] = 40;
        } else {
          px[out] = r * 255;
          px[out + 1] = g * 255;
          px[out + 2] = b * 255;
        }
        px[out + 3] = 255;
      }
    }
  }
  ctx.putImageData(image, 0, 0);
}

/** The size in image pixels of a grid of `count` images. */
export function gridSize(shape: readonly number[], columns: number, gap: number): { width: number; height: number } {
  const [count, height, width] = shape as [number, number, number];
  const rows = Math.max(1, Math.ceil(count / columns));
  return { width: columns * width + (columns - 1) * gap, height: rows * height + (rows - 1) * gap };
}

export function SampleGrid({ images, shape, columns, scale = 3, gap = 2, label, testId, className }: SampleGridProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  const cols = Math.max(1, columns ?? Math.ceil(Math.sqrt(shape[0] ?? 1)));
  const size = gridSize(shape, cols, gap);
  useEffect(() => {
    if (ref.current) paintGrid(ref.current, images, shape, cols, gap);
  }, [images, shape, cols, gap]);
  return (
    <canvas
      ref={ref}
      width={size.width}
      height={size.height}
      style={{ width: size.width * scale, maxWidth: '100%' }}
      className={`pb-sample-grid${className ? ` ${className}` : ''}`}
      role="img"
      aria-label={label}
      title={label}
      data-testid={testId}
    />
  );
}
